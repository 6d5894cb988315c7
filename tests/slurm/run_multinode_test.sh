#!/bin/bash
# Real-scheduler test of slurm/train-multinode.sbatch on a private Slurm
# cluster of two nodes, each in its own network namespace.
#
#   bash tests/slurm/run_multinode_test.sh BUILD_DIR SOURCE_DIR
#
# Needs root and network namespaces (iproute2, util-linux); exits 77 (skipped)
# saying why otherwise. The network: namespaces <id>-sw (a bridge, 10.231.0.1,
# slurmctld as host "ctl"), <id>-n1 and <id>-n2 (10.231.0.11/12, one slurmd
# each as hosts n1 and n2, own UTS namespace and /etc/hosts), joined by veth
# pairs to the bridge. Nothing is routed out of them; munge is shared through
# its socket in the temp dir. Everything is removed at the end, on failure too.
# Steps (smoke config, dropout off, dist.timeout_s=15, 2 ranks per node):
#   1. 5 epochs on one node (train.sbatch, 4 ranks), on two nodes with srun
#      --mpi=pmix and with mpirun: same parameters (relative 1e-5, as the
#      N-rank test), srun and mpirun bitwise equal; the log says where each
#      rank ran; only rank 0 prints and writes.
#   2. 40 epochs on two nodes (srun), one rank on n2 stopped for 8 s (< the
#      timeout): completes; MPI traffic crosses the link (TCP n1 <-> n2).
#   3. the same with mpirun, USR1 mid-run: exit 75, requeue, resume from
#      resume.h5, bitwise equal to 2.
#   4. the same with srun, n2's ranks killed (SIGKILL) mid-run: the job ends
#      within 60 s naming n2 and its ranks; the checkpoints load; resubmitted,
#      it resumes from the last checkpoint and ends bitwise equal to 2.
#   5. the same with mpirun, n2's link cut mid-run (a partition): the
#      collective watchdog ends the ranks, the job ends within 60 s naming n2;
#      resubmitted on ONE node (2 ranks) it resumes and ends close to 2.
# The time from each loss to the job's end is printed ("MEASURED: ...").
# Env: CDAE_SLURM_TEST_KEEP=1 keeps the temp dir.
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR SOURCE_DIR}" && pwd) || exit 1
SRC=$(cd "${2:?usage: $0 BUILD_DIR SOURCE_DIR}" && pwd) || exit 1
source "$SRC/tests/slurm/lib.sh"
CFG=$SRC/configs/smoke.json
PY=/usr/bin/python3
COMPARE="$PY $SRC/tests/slurm/compare_models.py"
TIMEOUT_S=15      # dist.timeout_s of every run
STALL_S=8         # a stopped rank shorter than that must not end the job
EPOCHS=40         # runs of steps 2-5
CHECKPOINT=5      # checkpoint_every
LOSS_AT=12        # epoch after which a node is lost (two checkpoints written)
MAX_END_S=60      # a loss must end the job within this
LOGS=()

[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces and run munged/slurmctld/slurmd"
for tool in ip nsenter unshare; do
  command -v "$tool" >/dev/null || skip "needs '$tool' (iproute2, util-linux) for the network namespaces"
done
[ -x "$BUILD/cdae-train" ] || { echo "FAIL: $BUILD/cdae-train missing"; exit 1; }
install_slurm_packages
$PY -c 'import h5py, numpy' 2>/dev/null || { echo "FAIL: $PY cannot import h5py and numpy (scripts/setup.sh installs them)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1

# --- network namespaces ---------------------------------------------------
ID=cdae$$
NS_SW=$ID-sw
NODES=(n1 n2)
declare -A NS=([n1]=$ID-n1 [n2]=$ID-n2) ADDR=([n1]=10.231.0.11 [n2]=10.231.0.12)
T=$(mktemp -d /tmp/cdae-multinode-test.XXXXXX)
made_ns=()

cleanup() {
  local ns pid
  [ -n "${ctld_up:-}" ] && ctl scancel --quiet --user=root 2>/dev/null
  stop_daemons
  # Whatever still runs inside the namespaces (ranks, slurmstepd) goes too.
  for ns in "${made_ns[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  done
  for ns in "${made_ns[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ "${CDAE_SLURM_TEST_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

netns_path() { echo "/run/netns/$1"; }
add_namespace() {
  local out
  out=$(ip netns add "$1" 2>&1) || skip "cannot create network namespace $1 (ip netns add: $out)"
  made_ns+=("$1")
  ip -n "$1" link set lo up
}
make_network() {
  local node
  add_namespace "$NS_SW"
  ip -n "$NS_SW" link add br0 type bridge || skip "cannot create a bridge in a namespace"
  ip -n "$NS_SW" addr add 10.231.0.1/24 dev br0
  ip -n "$NS_SW" link set br0 up
  for node in "${NODES[@]}"; do
    add_namespace "${NS[$node]}"
    # One end in the switch namespace, the other in the node's: nothing is
    # created in (or routed to) the host's own namespace.
    ip -n "$NS_SW" link add "to-$node" type veth peer name eth0 netns "${NS[$node]}" ||
      skip "cannot create a veth pair between namespaces"
    ip -n "$NS_SW" link set "to-$node" master br0 up
    ip -n "${NS[$node]}" addr add "${ADDR[$node]}/24" dev eth0
    ip -n "${NS[$node]}" link set eth0 up
  done
  printf '127.0.0.1 localhost\n10.231.0.1 ctl\n' >"$T/hosts"
  for node in "${NODES[@]}"; do echo "${ADDR[$node]} $node" >>"$T/hosts"; done
}

# in_namespace NS HOST COMMAND...: runs COMMAND (exec, so $! is its pid) in
# network namespace NS, with host name HOST and the cluster's /etc/hosts.
# nsenter rather than `ip netns exec`, which remounts /sys and so hides the
# cgroup file systems slurmd wants.
in_namespace() {
  local ns=$1 host=$2; shift 2
  exec nsenter --net="$(netns_path "$ns")" unshare --uts --mount --propagation private \
    bash -c 'hostname "$1" && mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' in_namespace "$host" "$T/hosts" "$@"
}
ctl() { nsenter --net="$(netns_path "$NS_SW")" "$@"; }
# The pids of cdae-train processes in NODE's namespace.
ranks_on() {
  local pid
  for pid in $(ip netns pids "${NS[$1]}"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = cdae-train ] && echo "$pid"
  done
}

make_network
ctl bash -c "exec 3<>/dev/tcp/${ADDR[n2]}/9" 2>&1 | grep -q refused ||
  fail "n2 (${ADDR[n2]}) not reachable from the switch namespace"
pass "network: namespaces $NS_SW, ${NS[n1]}, ${NS[n2]}; bridge 10.231.0.1/24, n1 ${ADDR[n1]}, n2 ${ADDR[n2]}"

# --- the cluster ------------------------------------------------------------
start_munged
mkdir -p "$T/state" "$T/work"
for node in "${NODES[@]}"; do mkdir -p "$T/spool/$node" "$T/tmpfs/$node"; done
{
  echo "ClusterName=cdaemulti"
  echo "SlurmctldHost=ctl(10.231.0.1)"
  slurm_conf_common
  # Per node (%n): two slurmd share this file system. TmpFS holds PMIx's
  # per-step directories, whose names would otherwise collide.
  echo "SlurmdSpoolDir=$T/spool/%n"
  echo "TmpFS=$T/tmpfs/%n"
  echo "SlurmdPidFile=$T/slurmd.%n.pid"
  echo "SlurmdLogFile=$T/slurmd.%n.log"
  for node in "${NODES[@]}"; do
    echo "NodeName=$node NodeAddr=${ADDR[$node]} CPUs=2 RealMemory=1000 State=UNKNOWN"
  done
  echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
} >"$T/slurm.conf"
export SLURM_CONF=$T/slurm.conf CDAE_BIN=$BUILD
(in_namespace "$NS_SW" ctl slurmctld -D -f "$SLURM_CONF") >>"$T/slurmctld.out" 2>&1 &
PIDS+=($!); ctld_up=1
for node in "${NODES[@]}"; do
  (in_namespace "${NS[$node]}" "$node" slurmd -D -N "$node" -f "$SLURM_CONF") >>"$T/slurmd.$node.out" 2>&1 &
  PIDS+=($!)
done
wait_nodes_idle 2
ctl srun --mpi=list 2>&1 | grep -qw pmix || fail "srun has no pmix plugin (srun --mpi=list)"
pass "cluster up: slurmctld on ctl, slurmd on n1 and n2 ($(nproc --all) cores, 2 CPUs per node)"

# submit NAME [sbatch options] -- SCRIPT [cdae-train --set ...]: prints the job id.
# Every run: smoke config, dropout off, dist.timeout_s=$TIMEOUT_S, output in $T/NAME.
submit() {
  local name=$1 opts=(); shift
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  local script=$2; shift 2
  ctl sbatch --parsable -J "$name" -c 1 -t 30 --chdir="$T/work" -o "$T/$name.out" "${opts[@]}" \
    "$SRC/slurm/$script" "$CFG" --set path_save_model="$T/$name" --set path_scratch="$T/$name/scratch" \
    --set model.dropout=0 --set dist.timeout_s=$TIMEOUT_S --set checkpoint_every=$CHECKPOINT "$@"
}
TWO_NODES=(--nodes=2 --ntasks-per-node=2)
epoch_lines() { grep -cE '^epoch +[0-9]+ +loss_t' "$1"; }
# run_to_end NAME JOB SECONDS: waits, fails unless COMPLETED
run_to_end() {
  local st; st=$(wait_job "$2" "$3")
  [ "$st" = COMPLETED ] || fail "job $2 ($1) ended $st (ExitCode $(jobfield "$2" ExitCode))"
}
# time_to_end JOB: seconds (0.1 s) until JOB leaves RUNNING, at most 180
time_to_end() {
  local t0; t0=$(date +%s.%N)
  for _ in $(seq 900); do
    [ "$(jobfield "$1" JobState)" = RUNNING ] || break
    sleep 0.2
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}
within() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# --- 1. the same 5 epochs on one node, two nodes with srun, with mpirun ----------
LOGS=("$T/one.out")
t0=$SECONDS
# 4 ranks as on two nodes (--overcommit: n1 has 2 CPUs), so that the sums
# run in the same order and only the placement differs.
jid=$(submit one --nodes=1 --ntasks=4 --overcommit --nodelist=n1 -- train.sbatch --set epochs=5) ||
  fail "sbatch refused the one-node job"
run_to_end one "$jid" 300
grep -q '^# ranks 0-3 on n1$' "$T/one.out" || fail "one-node job: $(grep '^# ranks' "$T/one.out")"
pass "one node, 4 ranks (train.sbatch): job $jid, $((SECONDS - t0)) s"
for launcher in srun mpirun; do
  LOGS=("$T/two-$launcher.out")
  t0=$SECONDS
  jid=$(CDAE_LAUNCHER=$launcher submit "two-$launcher" "${TWO_NODES[@]}" -- train-multinode.sbatch --set epochs=5) ||
    fail "sbatch refused the two-node job"
  run_to_end "two-$launcher" "$jid" 300
  log=$T/two-$launcher.out
  grep -q '^# ranks 0-1 on n1, 2-3 on n2$' "$log" ||
    fail "the log does not say where each rank ran ('# ranks 0-1 on n1, 2-3 on n2'): $(grep '^# ranks' "$log")"
  [ "$(epoch_lines "$log")" -eq 5 ] && [ "$(grep -c '^# cdae-train' "$log")" -eq 1 ] ||
    fail "expected 5 epoch lines and one header from rank 0 alone, got $(epoch_lines "$log") and $(grep -c '^# cdae-train' "$log")"
  [ "$(wc -l <"$T/two-$launcher/progress.dat")" -eq 5 ] || fail "progress.dat has not exactly 5 rows (one writer)"
  $COMPARE "$T/one/last.h5" "$T/two-$launcher/last.h5" --tolerance 1e-5 ||
    fail "two nodes ($launcher) and one node end with different parameters"
  pass "two nodes x 2 ranks ($launcher): job $jid, $((SECONDS - t0)) s; '$(grep '^# ranks' "$log")'; parameters as on one node"
done
h5diff -q "$T/two-srun/last.h5" "$T/two-mpirun/last.h5" /model /model ||
  fail "srun and mpirun runs differ (h5diff /model)"
pass "srun --mpi=pmix and mpirun give bitwise equal parameters"

# --- 2. uninterrupted, with a slow but alive rank -------------------------------
LOGS=("$T/whole.out")
t0=$SECONDS
jid=$(submit whole "${TWO_NODES[@]}" -- train-multinode.sbatch --set epochs=$EPOCHS) || fail "sbatch refused the job"
wait_epoch "$T/whole.out" 3 "$jid" || fail "job $jid never reached epoch 3"
peers=$(ip netns exec "${NS[n1]}" ss -tnpH state established 2>/dev/null | grep cdae-train | grep -c "${ADDR[n2]}")
[ "$peers" -gt 0 ] || fail "no TCP connection from a rank on n1 to ${ADDR[n2]} (ss in ${NS[n1]})"
pass "ranks on n1 hold $peers TCP connection(s) to n2 (${ADDR[n2]}): MPI crosses the link"
stalled=$(ranks_on n2 | tail -n1)
kill -STOP "$stalled"
echo "stopped rank pid $stalled on n2 for $STALL_S s (dist.timeout_s=$TIMEOUT_S) at epoch $(last_epoch "$T/whole.out")"
sleep "$STALL_S"
kill -CONT "$stalled"
run_to_end whole "$jid" 300
grep -q 'has not completed' "$T/whole.out" && fail "the watchdog fired for a rank stalled $STALL_S s < $TIMEOUT_S s"
[ "$(epoch_lines "$T/whole.out")" -eq "$EPOCHS" ] || fail "expected $EPOCHS epoch lines"
pass "$EPOCHS epochs on two nodes with a rank stopped for $STALL_S s: completed, no timeout ($((SECONDS - t0)) s)"

# --- 3. USR1, requeue, exact resume (mpirun) ---------------------------------------
LOGS=("$T/requeued.out")
jid=$(CDAE_LAUNCHER=mpirun submit requeued "${TWO_NODES[@]}" -- train-multinode.sbatch --set epochs=$EPOCHS) ||
  fail "sbatch refused the job"
wait_epoch "$T/requeued.out" "$LOSS_AT" "$jid" || fail "job $jid never reached epoch $LOSS_AT"
ctl scancel --signal=USR1 --batch "$jid" || fail "scancel --signal=USR1 failed"
echo "USR1 to job $jid at epoch $(last_epoch "$T/requeued.out")"
run_to_end requeued "$jid" 400
grep -q 'exit 75' "$T/requeued.out" || fail "log shows no checkpoint exit 75"
[ "$(jobfield "$jid" Restarts)" -ge 1 ] || fail "job $jid was not requeued"
grep -q '^# resuming exactly from .*resume.h5' "$T/requeued.out" || fail "the requeued job did not resume from resume.h5"
h5diff -q "$T/whole/last.h5" "$T/requeued/last.h5" /model /model || fail "requeued run differs from the uninterrupted one"
pass "mpirun job $jid: USR1, exit 75, requeued, resumed from resume.h5, bitwise equal to the uninterrupted run"

# check_checkpoints NAME: prints the epoch of last.h5 when last.h5 and
# resume.h5 load, hold finite parameters and are not from after the loss;
# otherwise prints what is wrong and returns 1.
check_checkpoints() {
  local f e
  for f in last.h5 resume.h5; do
    e=$($PY - "$T/$1/$f" 2>&1 <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    bad = []
    f["model"].visititems(lambda n, o: bad.append(n) if isinstance(o, h5py.Dataset) and not np.all(np.isfinite(o[()])) else None)
    assert not bad, f"non-finite datasets {bad}"
    print(int(f.attrs["epoch"]))
EOF
    ) || { echo "$1/$f does not load: $e"; return 1; }
    [ "$e" -le "$(last_epoch "$T/$1.out")" ] || { echo "$1/$f is from epoch $e, after the last printed epoch"; return 1; }
  done
  echo "$e"
}
# resume_epoch LOG: the epoch the resumed run starts from
resume_epoch() { sed -n 's/^# resuming exactly from .*(epoch \([0-9]*\),.*/\1/p' "$1" | tail -n1; }

# --- 4. a node's ranks killed (srun) ---------------------------------------------
LOGS=("$T/killed.out")
jid=$(submit killed "${TWO_NODES[@]}" -- train-multinode.sbatch --set epochs=$EPOCHS) || fail "sbatch refused the job"
wait_epoch "$T/killed.out" "$LOSS_AT" "$jid" || fail "job $jid never reached epoch $LOSS_AT"
victims=$(ranks_on n2)
kill -9 $victims
echo "killed the ranks on n2 (pids $(echo $victims)) at epoch $(last_epoch "$T/killed.out")"
took=$(time_to_end "$jid")
echo "MEASURED: ranks of n2 killed -> job $jid ended ($(jobfield "$jid" JobState)) in $took s (srun)"
grep -v '^epoch' "$T/killed.out" | tail -n 12 | sed 's/^/    | /'
within "$took" "$MAX_END_S" || fail "the job took $took s to end (limit $MAX_END_S s)"
[ "$(jobfield "$jid" JobState)" != COMPLETED ] || fail "job $jid completed although ranks were killed"
grep -qE 'n2: tasks? 2-3' "$T/killed.out" || fail "the log does not name n2 and ranks 2-3"
e=$(check_checkpoints killed) || fail "$e"
pass "killed ranks 2-3 on n2: job ended in $took s naming them; checkpoints of epoch $e intact"
LOGS=("$T/killed.out")
jid=$(submit killed "${TWO_NODES[@]}" -- train-multinode.sbatch --set epochs=$EPOCHS) || fail "sbatch refused the job"
run_to_end killed "$jid" 300
r=$(resume_epoch "$T/killed.out")
[ -n "$r" ] || fail "the resubmitted job did not resume from resume.h5"
h5diff -q "$T/whole/last.h5" "$T/killed/last.h5" /model /model || fail "the resumed run differs from the uninterrupted one"
pass "resubmitted: resumed at epoch $r from the last checkpoint, bitwise equal to the uninterrupted run"

# --- 5. a node cut off (mpirun), resumed on one node -------------------------------
LOGS=("$T/cut.out")
jid=$(CDAE_LAUNCHER=mpirun submit cut "${TWO_NODES[@]}" -- train-multinode.sbatch --set epochs=$EPOCHS) ||
  fail "sbatch refused the job"
wait_epoch "$T/cut.out" "$LOSS_AT" "$jid" || fail "job $jid never reached epoch $LOSS_AT"
ip -n "$NS_SW" link set to-n2 down
echo "cut n2's link at epoch $(last_epoch "$T/cut.out")"
took=$(time_to_end "$jid")
echo "MEASURED: n2's link cut -> job $jid ended ($(jobfield "$jid" JobState)) in $took s (mpirun, dist.timeout_s=$TIMEOUT_S)"
grep -v '^epoch' "$T/cut.out" | grep -v '^ *$' | tail -n 12 | sed 's/^/    | /'
within "$took" "$MAX_END_S" || fail "the job took $took s to end (limit $MAX_END_S s)"
grep -q "cdae: error on rank [01] (node n1): .* has not completed after $TIMEOUT_S s" "$T/cut.out" ||
  fail "no watchdog message from a rank on n1"
grep -q "node n2 (ranks 2-3) does not answer" "$T/cut.out" || fail "the log does not name n2 and its ranks"
e=$(check_checkpoints cut) || fail "$e"
ip -n "$NS_SW" link set to-n2 up
pass "cut n2's link: job ended in $took s, n2 (ranks 2-3) named; checkpoints of epoch $e intact"
LOGS=("$T/cut.out")
jid=$(submit cut --nodes=1 --ntasks-per-node=2 --nodelist=n1 -- train-multinode.sbatch --set epochs=$EPOCHS) ||
  fail "sbatch refused the job"
run_to_end cut "$jid" 300
r=$(resume_epoch "$T/cut.out")
[ -n "$r" ] || fail "the job on one node did not resume from resume.h5"
# Up to the resume the printed epochs are those of the uninterrupted run;
# after it 2 ranks sum in another order than 4, so parameters are close, not equal.
diff <(grep '^epoch' "$T/whole.out" | head -n "$r") <(grep '^epoch' "$T/cut.out" | head -n "$r") >/dev/null ||
  fail "the epochs before the loss differ from the uninterrupted run's"
$COMPARE "$T/whole/last.h5" "$T/cut/last.h5" --tolerance 1e-3 || fail "the run resumed on one node ends far from the uninterrupted one"
pass "resubmitted on one node (2 ranks): resumed at epoch $r, ends close to the uninterrupted 2-node run"
echo "PASS: multi-node slurm test"
