# Shared by the Slurm tests (source "$(dirname "$0")/lib.sh"): packages,
# munge, the common part of slurm.conf, daemons, job state. The caller sets
# T (its temp dir) before calling start_munged and defines LOGS (files
# shown on failure).
#
# Client commands (sbatch, scontrol, ...) go through `ctl`, which the
# multi-node test points into the controller's network namespace.

skip() { echo "SKIPPED: $*"; exit 77; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; show_logs "${LOGS[@]}"; exit 1; }
show_logs() {
  local f
  for f in "$T"/slurmctld.log "$T"/slurmd*.log "$@"; do
    [ -f "$f" ] && { echo "----- tail $f"; tail -n 60 "$f"; }
  done
}
ctl() { "$@"; }

# Installs Debian's Slurm, munge and hdf5-tools where missing; skips (77)
# when no package repository is reachable.
install_slurm_packages() {
  local p pkgs=()
  for p in slurmctld slurmd slurm-client munge hdf5-tools "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p")
  done
  [ ${#pkgs[@]} -eq 0 ] && return
  echo "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${pkgs[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q "${pkgs[@]}" >/dev/null; } ||
    skip "cannot install ${pkgs[*]} (no apt repository reachable?)"
}

# Daemons started by the test, stopped in reverse order by stop_daemons.
PIDS=()
stop_daemons() {
  local i pid
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null
  done
  PIDS=()
}

# A private munged on $T/munge.sock (the host's key if there is one).
start_munged() {
  chmod 711 "$T"   # munged wants the socket's directory traversable
  cp /etc/munge/munge.key "$T/munge.key" 2>/dev/null ||
    dd if=/dev/urandom of="$T/munge.key" bs=1 count=1024 status=none
  chown root:root "$T/munge.key"; chmod 600 "$T/munge.key"
  munged -F --force --socket="$T/munge.sock" --key-file="$T/munge.key" \
    --pid-file="$T/munged.pid" --seed-file="$T/munged.seed" --log-file="$T/munged.log" \
    >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do [ -S "$T/munge.sock" ] && break; sleep 0.2; done
  munge -S "$T/munge.sock" -n | unmunge -S "$T/munge.sock" >/dev/null || fail "munged does not work"
}

# The slurm.conf lines both tests share: root daemons, munge, no cgroups,
# no accounting, requeue allowed. The callers add hosts, ports and paths.
slurm_conf_common() {
  cat <<EOF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.sock,cred_expire=10
StateSaveLocation=$T/state
SlurmctldPidFile=$T/slurmctld.pid
SlurmctldLogFile=$T/slurmctld.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
JobRequeue=1
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
EOF
}

# wait_nodes_idle N: until sinfo shows N idle nodes (60 s).
wait_nodes_idle() {
  local idle=0
  for _ in $(seq 60); do
    idle=$(ctl sinfo -h -N -o '%T' 2>/dev/null | grep -c '^idle$')
    [ "$idle" -ge "$1" ] && return 0
    sleep 1
  done
  fail "only $idle of $1 nodes idle after 60 s (sinfo: $(ctl sinfo -h -N -o '%N=%T' 2>&1 | tr '\n' ' '))"
}

jobfield() { ctl scontrol show job "$1" 2>/dev/null | grep -oE "(^| )$2=[^ ]*" | head -n1 | cut -d= -f2; }
job_running() { case $(jobfield "$1" JobState) in RUNNING | PENDING | CONFIGURING | REQUEUED) return 0 ;; *) return 1 ;; esac; }
# wait_job ID SECONDS: until the job is in a final state; prints it
wait_job() {
  local st end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    st=$(jobfield "$1" JobState)
    case $st in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE) echo "$st"; return ;;
      PENDING) # a requeued job waits cred_expire (10 s here) before it starts again
        [ $SECONDS -gt $((end - $2 + 60)) ] && [ "$(jobfield "$1" Reason)" = BeginTime ] &&
          ctl scontrol update JobId="$1" StartTime=now 2>/dev/null ;;
    esac
    sleep 1
  done
  echo "TIMEOUT_WAITING($st)"
}
last_epoch() { grep -oE '^epoch +[0-9]+ +loss_t' "$1" 2>/dev/null | tail -n1 | awk '{print $2}'; }
# wait_epoch LOG EPOCH JOB: until LOG shows EPOCH (or the job ends, or 300 s)
wait_epoch() {
  local e end=$((SECONDS + 300))
  while [ $SECONDS -lt $end ]; do
    e=$(last_epoch "$1")
    [ -n "$e" ] && [ "$e" -ge "$2" ] && return 0
    job_running "$3" || return 1
    sleep 0.2
  done
  return 1
}
