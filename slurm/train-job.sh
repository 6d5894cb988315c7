# The body of slurm/train.sbatch and slurm/train-multinode.sbatch: both
# source this file after their #SBATCH lines, so a fix lands once.
#
#   source train-job.sh CONFIG.json [--set key=value ...]
#
# Starts every rank of cdae-train with the launcher (CDAE_LAUNCHER), forwards
# USR1/TERM to it once, requeues the job when cdae-train checkpointed on
# request (exit 75), and makes a broken run end instead of hang:
#   - a rank that dies ends the step (srun --kill-on-bad-exit, Open MPI's own
#     rule); the ranks left waiting for it end by MPI_Abort after
#     dist.timeout_s at the latest (cdae's collective watchdog);
#   - the launcher itself can keep waiting for a node it cannot reach (mpirun
#     waits for its daemon there for ever): once this node's ranks are gone and
#     the launcher still runs CDAE_LAUNCHER_GRACE seconds later, it is stopped;
#   - after a failure, every other node of the job is asked to run `true`
#     (srun --overlap, 5 s); the ones that do not answer are named with the
#     ranks they held, e.g. "node n2 (ranks 2-3) does not answer".
# Environment: CDAE_BIN, CDAE_LAUNCHER, CDAE_SRUN_MPI (see train.sbatch),
#   CDAE_LAUNCHER_GRACE=15.

export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
bin=${CDAE_BIN:-./build}
grace=${CDAE_LAUNCHER_GRACE:-15}
this_node=${SLURMD_NODENAME:-$(hostname -s)}

say() { echo "$(date '+%F %T') $*"; }

case ${CDAE_LAUNCHER:-srun} in
  srun)   launch=(srun --mpi="${CDAE_SRUN_MPI:-pmix}" --kill-on-bad-exit=1) ;;
  mpirun) launch=(mpirun -np "$SLURM_NTASKS" --bind-to none) ;;
  *)      read -ra launch <<< "$CDAE_LAUNCHER" ;;
esac

# The ranks each node holds, in node order: Slurm's block layout, which
# srun and Open MPI's mpirun both use unless told otherwise.
# SLURM_TASKS_PER_NODE looks like "2(x3),1".
ranks_of_node() {  # NODE -> "2-3"
  local nodes counts=() item n first=0 i
  mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
  for item in ${SLURM_TASKS_PER_NODE//,/ }; do
    if [[ $item =~ ^([0-9]+)\(x([0-9]+)\)$ ]]; then
      for ((n = 0; n < BASH_REMATCH[2]; n++)); do counts+=("${BASH_REMATCH[1]}"); done
    else
      counts+=("$item")
    fi
  done
  for i in "${!nodes[@]}"; do
    if [ "${nodes[i]}" = "$1" ]; then
      [ "${counts[i]:-1}" -eq 1 ] && echo "rank $first" || echo "ranks $first-$((first + counts[i] - 1))"
      return
    fi
    first=$((first + ${counts[i]:-1}))
  done
  echo "ranks unknown"
}

# How many cdae-train processes of this job run on this node.
ranks_here() {
  local pid n=0
  for pid in $(scontrol listpids "$SLURM_JOB_ID" 2>/dev/null | awk 'NR > 1 { print $1 }'); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = cdae-train ] && n=$((n + 1))
  done
  echo "$n"
}

# Called every 2 s while the launcher runs. A launcher whose ranks on this
# node have all ended waits for ranks elsewhere; after `grace` seconds it is
# waiting for a node it cannot reach, and is stopped.
seen_ranks='' orphaned_since='' stopped_launcher=''
check_launcher() {
  local n; n=$(ranks_here)
  if [ "$n" -gt 0 ]; then seen_ranks=1; orphaned_since=''; return; fi
  [ -n "$seen_ranks" ] || return   # not started yet
  [ -n "$orphaned_since" ] || orphaned_since=$SECONDS
  [ $((SECONDS - orphaned_since)) -ge "$grace" ] || return
  [ -n "$stopped_launcher" ] && return
  stopped_launcher=1
  say "cdae: the ranks on $this_node ended ${grace} s ago but ${launch[0]} still waits for the others: stopping it"
  kill -TERM "$pid" 2>/dev/null
  ( sleep 5; kill -KILL "$pid" 2>/dev/null ) &
}

# Names the nodes of this job that do not answer a trivial step within 5 s.
report_unreachable_nodes() {
  local node pids=() nodes=() i lost=0
  for node in $(scontrol show hostnames "$SLURM_JOB_NODELIST"); do
    [ "$node" = "$this_node" ] && continue
    # SIGKILL: on SIGTERM srun would wait KillWait (often 30 s) for the step.
    timeout -s KILL 5 srun --overlap --nodes=1 --ntasks=1 --nodelist="$node" --mpi=none --quiet true >/dev/null 2>&1 &
    pids+=($!); nodes+=("$node")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[i]}"; then
      say "cdae: node ${nodes[i]} ($(ranks_of_node "${nodes[i]}")) does not answer: lost or cut off from $this_node"
      lost=$((lost + 1))
    fi
  done
  [ "$lost" -eq 0 ] && say "cdae: every node of job $SLURM_JOB_ID answers; the failing rank is named above"
}

say "job $SLURM_JOB_ID restart ${SLURM_RESTART_COUNT:-0} on $SLURM_JOB_NODELIST: ${launch[*]} $bin/cdae-train --config $*"
"${launch[@]}" "$bin/cdae-train" --config "$@" &
pid=$!
forwarded='' cancelled=''
checkpoint() {
  [ -n "$forwarded" ] && return
  forwarded=1; say "$1: asking cdae-train to checkpoint"; kill -USR1 "$pid"
}
trap 'checkpoint USR1' USR1
trap 'cancelled=1; checkpoint TERM' TERM   # scancel / time limit: save, but do not requeue
while kill -0 "$pid" 2>/dev/null; do
  sleep 2 & wait $!   # a trapped signal interrupts this wait at once
  check_launcher
done
wait "$pid"; rc=$?

if [ "$rc" -eq 75 ] && [ -n "$cancelled" ]; then
  echo "cdae-train checkpointed after SIGTERM: not requeued; resubmit the same command to resume"
elif [ "$rc" -eq 75 ]; then
  say "cdae-train checkpointed (exit 75): requeueing job $SLURM_JOB_ID"
  scontrol requeue "$SLURM_JOB_ID" && exit 0
  echo "requeue failed: resubmit with the same command to resume"
elif [ "$rc" -ne 0 ]; then
  say "cdae-train failed (launcher exit $rc)"
  [ "$SLURM_JOB_NUM_NODES" -gt 1 ] && report_unreachable_nodes
  echo "resubmit the same command to continue from the last checkpoint (on fewer nodes if one is down)"
fi
exit "$rc"
