#!/bin/bash
# A single-node Slurm cluster on this machine, for tests: munged (Debian's
# munge) + slurmctld + slurmd (Debian's slurm-wlm), configured in STATE_DIR,
# on ports 16817/16818, one partition "debug" with this host's CPUs.
#
#   tools/slurm/local_cluster.sh start STATE_DIR   # prints "export SLURM_CONF=..." on success
#   tools/slurm/local_cluster.sh stop STATE_DIR    # stops the daemons this script started
#
# Needs root (slurmd runs jobs as their user, munged runs as user munge).
# Exit status 3 means "cannot run here" with the reason on stderr (tests skip).
set -u
CMD=${1:?usage: local_cluster.sh start|stop STATE_DIR}
S=${2:?usage: local_cluster.sh start|stop STATE_DIR}
mkdir -p "$S"
S=$(cd "$S" && pwd)
CONF="$S/slurm.conf"
cannot() { echo "local_cluster: cannot start Slurm here: $*" >&2; exit 3; }

stop() {
  for d in slurmd slurmctld; do
    [ -f "$S/$d.pid" ] || continue
    pid=$(cat "$S/$d.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$S/$d.pid"
  done
  if [ -f "$S/munged.started" ]; then  # only a munged this script started
    pid=$(cat /run/munge/munged.pid 2>/dev/null)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -f "$S/munged.started"
  fi
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi  # one is already running
  [ -f /etc/munge/munge.key ] || cannot "/etc/munge/munge.key is missing (apt install munge)"
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged || cannot "munged did not start"
  touch "$S/munged.started"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1; done
  cannot "munged does not answer"
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
  mkdir -p "$S/state" "$S/spool"
  cat > "$CONF" <<CONF
# written by tools/slurm/local_cluster.sh: a one-node test cluster
ClusterName=gradcamtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  [ "$(id -u)" -eq 0 ] || cannot "not root (slurmd and munged need root to start)"
  for b in slurmctld slurmd sbatch munged; do command -v "$b" >/dev/null || cannot "$b is not installed (apt install slurm-wlm munge)"; done
  stop
  start_munge
  write_conf
  export SLURM_CONF="$CONF"
  slurmctld -f "$CONF" -i || cannot "slurmctld failed: $(tail -n 3 "$S/slurmctld.log" 2>/dev/null)"
  slurmd -f "$CONF" || cannot "slurmd failed: $(tail -n 3 "$S/slurmd.log" 2>/dev/null)"
  for _ in $(seq 100); do
    if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "export SLURM_CONF=$CONF"
      return 0
    fi
    sleep 0.2
  done
  cannot "the node did not become idle: $(sinfo 2>&1 | tail -n 2 | tr '\n' ' ') $(tail -n 3 "$S/slurmd.log" 2>/dev/null)"
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: local_cluster.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
