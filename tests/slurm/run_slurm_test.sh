#!/bin/bash
# Real-scheduler test of slurm/train.sbatch on a private one-node Slurm cluster.
#
#   bash tests/slurm/run_slurm_test.sh BUILD_DIR SOURCE_DIR
#
# Needs root (installs Debian's slurmctld/slurmd/slurm-client/munge/hdf5-tools
# if missing, runs the daemons); exits 77 (skipped) otherwise. Everything lives
# in a temp dir: own munged socket, slurm.conf on free ports, state and spool.
# Steps:
#   1. sbatch -n 2 train.sbatch configs/smoke.json: epoch lines, best.h5, last.h5
#   2. reference: the same config with more epochs, mpirun -np 2, no scheduler
#   3. the same run under sbatch, USR1 to the batch shell mid-run: must exit 75,
#      requeue itself (Restarts=1), resume and finish with last.h5 /model equal
#      (h5diff, exact) to the reference.
# Env: CDAE_SLURM_TEST_EPOCHS (epochs of steps 2-3; default: ~30 s worth, from
#      the timing of step 1), CDAE_SLURM_TEST_KEEP=1 keeps the temp dir.
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR SOURCE_DIR}" && pwd) || exit 1
SRC=$(cd "${2:?usage: $0 BUILD_DIR SOURCE_DIR}" && pwd) || exit 1
CFG=$SRC/configs/smoke.json
SBATCH_SCRIPT=$SRC/slurm/train.sbatch

source "$SRC/tests/slurm/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root to install and run munged/slurmctld/slurmd"
[ -x "$BUILD/cdae-train" ] || { echo "FAIL: $BUILD/cdae-train missing"; exit 1; }
[ -f "$CFG" ] || { echo "FAIL: $CFG missing"; exit 1; }
install_slurm_packages
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# --- private cluster ------------------------------------------------------
T=$(mktemp -d /tmp/cdae-slurm-test.XXXXXX)
cleanup() {
  if [ -n "${SLURM_CONF:-}" ] && [ -n "${ctld_pid:-}" ]; then
    scancel --full --quiet --user=root 2>/dev/null
    for _ in $(seq 30); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
  fi
  stop_daemons
  if [ "${CDAE_SLURM_TEST_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
LOGS=()
start_munged

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do
  port=$((20000 + RANDOM % 30000))
  port_free "$port" && port_free $((port + 1)) && break
done
host=$(hostname -s)
ncpu=$(nproc); [ "$ncpu" -lt 4 ] && ncpu=4   # oversubscribe small machines
mkdir -p "$T/state" "$T/spool" "$T/work"
{
  echo "ClusterName=cdaetest"
  echo "SlurmctldHost=$host(127.0.0.1)"
  echo "SlurmctldPort=$port"
  echo "SlurmdPort=$((port + 1))"
  slurm_conf_common
  echo "SlurmdSpoolDir=$T/spool"
  echo "SlurmdPidFile=$T/slurmd.pid"
  echo "SlurmdLogFile=$T/slurmd.log"
  echo "NodeName=$host NodeAddr=127.0.0.1 CPUs=$ncpu RealMemory=1000 State=UNKNOWN"
  echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
} >"$T/slurm.conf"
export SLURM_CONF=$T/slurm.conf
slurmctld -D -f "$SLURM_CONF" >>"$T/slurmctld.log" 2>&1 &
ctld_pid=$!; PIDS+=("$ctld_pid")
slurmd -D -f "$SLURM_CONF" >>"$T/slurmd.log" 2>&1 &
PIDS+=($!)
wait_nodes_idle 1
pass "private slurm cluster up (port $port, node $host, $ncpu CPUs)"

# srun --mpi=pmix works with Debian's Open MPI; fall back to mpirun otherwise.
if srun --mpi=list 2>&1 | grep -qw pmix; then
  export CDAE_LAUNCHER=srun
else
  echo "NOTE: srun has no pmix plugin here, using CDAE_LAUNCHER=mpirun"
  export CDAE_LAUNCHER=mpirun
fi
export CDAE_BIN=$BUILD

submit() { # submit NAME OUTDIR [--set ...]: prints job id
  local name=$1 out=$2; shift 2
  sbatch --parsable -J "$name" -n 2 -c 1 -t 30 --chdir="$T/work" -o "$T/$name.out" \
    "$SBATCH_SCRIPT" "$CFG" --set path_save_model="$out" --set path_scratch="$out/scratch" "$@"
}

# --- 1. smoke run -----------------------------------------------------------
LOGS=("$T/smoke.out")
t0=$SECONDS
jid=$(submit smoke "$T/smoke") || fail "sbatch refused the job"
st=$(wait_job "$jid" 300)
t_smoke=$((SECONDS - t0))
[ "$st" = COMPLETED ] || fail "smoke job $jid ended $st (ExitCode $(jobfield "$jid" ExitCode))"
n=$(grep -cE '^epoch +[0-9]+ +loss_t' "$T/smoke.out")
[ "$n" -gt 0 ] || fail "no epoch lines in the smoke log"
for f in best.h5 last.h5; do [ -s "$T/smoke/$f" ] || fail "smoke run wrote no $f"; done
[ -e "$T/smoke/resume.h5" ] && fail "resume.h5 left after a completed run"
pass "smoke job $jid via sbatch -n 2 ($CDAE_LAUNCHER): $n epoch lines, best.h5 + last.h5, ${t_smoke}s"

# --- 2. uninterrupted reference ---------------------------------------------
e_smoke=$(last_epoch "$T/smoke.out")
epochs=${CDAE_SLURM_TEST_EPOCHS:-$(( (e_smoke * 30 + t_smoke - 1) / (t_smoke > 0 ? t_smoke : 1) ))}
[ "$epochs" -lt $((2 * n + 3)) ] && epochs=$((2 * n + 3))
LOGS=("$T/ref.out")
echo "reference: $epochs epochs, mpirun -np 2, no scheduler"
(cd "$T/work" && OMP_NUM_THREADS=1 timeout 600 mpirun -np 2 --oversubscribe --bind-to none \
  "$BUILD/cdae-train" --config "$CFG" --set epochs="$epochs" \
  --set path_save_model="$T/ref" --set path_scratch="$T/ref/scratch") >"$T/ref.out" 2>&1 ||
  fail "reference run failed (exit $?)"
[ -s "$T/ref/last.h5" ] || fail "reference wrote no last.h5"
pass "reference run"

# --- 3. preempted run: USR1 to the batch shell, requeue, resume ----------------
LOGS=("$T/pre.out")
jid=$(submit pre "$T/pre" --set epochs="$epochs") || fail "sbatch refused the job"
target=$((epochs / 3 > 0 ? epochs / 3 : 1))
end=$((SECONDS + 300))
while [ $SECONDS -lt $end ]; do
  e=$(last_epoch "$T/pre.out")
  [ -n "$e" ] && [ "$e" -ge "$target" ] && break
  case $(jobfield "$jid" JobState) in RUNNING | PENDING | CONFIGURING) ;; *) break ;; esac
  sleep 0.5
done
[ "$(jobfield "$jid" JobState)" = RUNNING ] || fail "job $jid not running at epoch ${e:-none} (target $target)"
scancel --signal=USR1 --batch "$jid" || fail "scancel --signal=USR1 failed"
echo "signalled job $jid (USR1 to the batch shell) at epoch $e of $epochs"
st=$(wait_job "$jid" 600)
restarts=$(jobfield "$jid" Restarts)
[ "$st" = COMPLETED ] || fail "preempted job $jid ended $st (ExitCode $(jobfield "$jid" ExitCode))"
grep -q 'exit 75' "$T/pre.out" || fail "log shows no checkpoint exit 75"
[ "${restarts:-0}" -ge 1 ] || fail "job $jid was not requeued (Restarts=${restarts:-?})"
[ -e "$T/pre/resume.h5" ] && fail "resume.h5 left after the resumed run completed"
pass "job $jid checkpointed on USR1 (exit 75), requeued (Restarts=$restarts) and completed"

if h5diff "$T/ref/last.h5" "$T/pre/last.h5" /model /model >"$T/h5diff.out" 2>&1; then
  pass "last.h5 /model of the preempted run equals the uninterrupted run bitwise (h5diff)"
else
  cat "$T/h5diff.out" | head -n 20
  /usr/bin/python3 - "$T/ref/last.h5" "$T/pre/last.h5" <<'EOF' 2>/dev/null
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
def walk(g, out, pre=""):
    for k, v in g.items():
        if isinstance(v, h5py.Group): walk(v, out, pre + k + "/")
        else: out[pre + k] = v[...]
x, y = {}, {}
walk(a["model"], x); walk(b["model"], y)
d = max((float(np.max(np.abs(x[k].astype(float) - y[k].astype(float)))) for k in x if k in y and x[k].size), default=0)
print(f"max |difference| over {len(x)} datasets: {d:g}; missing: {sorted(set(x) ^ set(y))}")
EOF
  fail "last.h5 /model differs between the preempted and the uninterrupted run"
fi
echo "PASS: slurm integration test"
