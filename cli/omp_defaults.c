/* omp_defaults.c - the OpenMP wait policy of the gradcam command.
 *
 * libgomp's default lets a thread that waits at a barrier spin for a long
 * while before it sleeps.  On a machine shared with other work that is the
 * worst case: the spinning thread burns the time slice the thread it waits
 * for needs.  Measured on the 2-core benchmark machine at load ~9 (resnet50
 * forward, 2 threads, median): 150 ms passive, 190 ms GOMP_SPINCOUNT=1000,
 * 320 ms at 10000, 900-1400 ms with libgomp's default or active spinning.
 * On an idle machine passive waiting costs microseconds per parallel region.
 * So the command waits passively unless the user chose a policy
 * (OMP_WAIT_POLICY or GOMP_SPINCOUNT set).
 *
 * libgomp reads its environment once, in a constructor that runs before
 * any of ours (and libc resets the environment after .preinit_array runs,
 * so that is too early); the only way to change it is to start again: this
 * constructor sets the variable and re-executes the program, which costs a
 * few milliseconds once.  If that fails the command just runs as it is.
 * The library never touches the environment: programs that embed it keep
 * their own policy. */
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void omp_wait_default(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc < 1 || !argv || getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 0)) return;
    execv("/proc/self/exe", argv); /* returns only on failure */
}
