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
 * There is no OpenMP call that sets the policy, and libgomp reads its
 * environment once, in a constructor that runs before any of ours (libc's
 * own initialiser, which runs before libgomp's, resets the environment
 * that a .preinit_array function could have changed).  The command used to
 * set the variable and re-execute itself through /proc/self/exe, which
 * broke valgrind and an explicit loader (ld-linux.so gradcam ...).  Instead
 * the executable defines getenv: the dynamic linker binds libgomp's getenv
 * call to the executable's definition, which answers as libc's would except
 * that OMP_WAIT_POLICY reads PASSIVE when neither it nor GOMP_SPINCOUNT is
 * set.  Nothing in the environment changes, so child processes see the
 * user's.  Where a libgomp reads the environment some other way the command
 * simply runs with libgomp's default (tests/cli/test_cli.sh checks the
 * policy through OMP_DISPLAY_ENV).  The library never touches any of this:
 * programs that embed it keep their own policy. */
#include <stddef.h>
#include <string.h>

extern char **environ;

static const char *env_lookup(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

char *getenv(const char *name)
{
    if (!name || !*name || strchr(name, '=')) return NULL;
    const char *v = env_lookup(name);
    if (!v && !strcmp(name, "OMP_WAIT_POLICY") && !env_lookup("GOMP_SPINCOUNT")) v = "PASSIVE";
    return (char *)v;
}
