#!/usr/bin/env bash
# The reference's published experiment, end to end, with the seed model:
#   1. conventional phase (configs/conventional.json, no defects) until the
#      best validation loss is below TARGET_LOSS (30; the reference reached ~25
#      at epoch ~2100), then stop it at an epoch boundary (SIGUSR1);
#   2. evaluate that checkpoint on every class (cdae-infer --classes);
#   3. contrastive phase (configs/contrastive.json, defects dtheta 2.1), which
#      continues from phase 1's best.h5 in the same path_save_model;
#   4. evaluate the contrastive checkpoint on every class;
#   5. figures: python/plot_results.py --eval-before ... (before/after overlay,
#      training curves with the phase switch).
# Prints the wall time of every step.
#
#   bash scripts/reproduce_reference.sh BUILD_DIR [WORK_DIR]
#
# Meant for a GPU machine (device auto). Environment:
#   NP              MPI ranks (default: number of GPUs from nvidia-smi, else 1)
#   MPIRUN          launcher (default "mpirun --bind-to none -np $NP"; not used when NP=1)
#   TARGET_LOSS     phase 1 stops once best.txt's loss_min < TARGET_LOSS (default 30;
#                   "none": phase 1 runs to CONV_EPOCHS)
#   CONV_EPOCHS     hard cap of phase 1 (default 20000, the config's)
#   CONTR_EPOCHS    phase 2 runs to this absolute epoch (default 20000, the config's;
#                   the reference's published state is ~8000 epochs after phase 1)
#   N_SAMPLES       samples per class at inference (default 1000, the reference's)
#   PRECISION       fp32 | tf32 | bf16 (default fp32, the reference's arithmetic)
#   POLL            seconds between checks of best.txt in phase 1 (default 20)
#   PYTHON          python with numpy, h5py, matplotlib (default /usr/bin/python3 if it has them)
#   EXTRA           more options for every cdae command, e.g. "--set seed=2"
#   TITLE           title of the figures
#   CONFIG_CONV     phase 1 config (default configs/conventional.json)
#   CONFIG_CONTR    phase 2 config (default configs/contrastive.json)
#   SET_CONV        more options for phase 1 only (training and its evaluation)
# The CPU-scale results of docs/results.md (part B) are this script with the cpu preset:
#   CONFIG_CONV=configs/cpu-conventional.json CONFIG_CONTR=configs/cpu-contrastive.json \
#   NP=2 TARGET_LOSS=none CONV_EPOCHS=1500 CONTR_EPOCHS=2100 ...
# Re-running with the same WORK_DIR resumes: a finished phase is skipped.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [WORK_DIR]" >&2; exit 2; }
BIN=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=${2:-$PWD/reproduce_out}
mkdir -p "$W"; W=$(cd "$W" && pwd)
for exe in cdae-train cdae-infer; do
  [ -x "$BIN/$exe" ] || { echo "error: $BIN/$exe not found (build first)" >&2; exit 2; }
done

if [ -z "${NP:-}" ]; then
  NP=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  [ "${NP:-0}" -ge 1 ] || NP=1
fi
TARGET_LOSS=${TARGET_LOSS:-30}
CONV_EPOCHS=${CONV_EPOCHS:-20000}
CONTR_EPOCHS=${CONTR_EPOCHS:-20000}
N_SAMPLES=${N_SAMPLES:-1000}
PRECISION=${PRECISION:-fp32}
POLL=${POLL:-20}
EXTRA=${EXTRA:-}
CONFIG_CONV=$(cd "$(dirname "${CONFIG_CONV:-$SRC/configs/conventional.json}")" && pwd)/$(basename "${CONFIG_CONV:-conventional.json}")
CONFIG_CONTR=$(cd "$(dirname "${CONFIG_CONTR:-$SRC/configs/contrastive.json}")" && pwd)/$(basename "${CONFIG_CONTR:-contrastive.json}")
SET_CONV=${SET_CONV:-}
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  "$SRC/.venv/bin/python3" -c 'import h5py, matplotlib' 2>/dev/null && PYTHON="$SRC/.venv/bin/python3"
fi
if [ "$NP" -gt 1 ]; then
  LAUNCH=${MPIRUN:-mpirun --bind-to none -np $NP}
else
  LAUNCH=""
fi
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

M=$W/model_sav
common=(--set path_save_model=$M --set path_scratch=$W/scratch --set precision=$PRECISION
        --set inference.weights=$M/best.h5 --set inference.n_samples=$N_SAMPLES)
# shellcheck disable=SC2206
extra=($EXTRA)
# shellcheck disable=SC2206
extra_conv=($EXTRA $SET_CONV)

T0=$SECONDS
step_start=0
step() { step_start=$SECONDS; echo; echo "== $(date '+%F %T')  $*"; }
done_step() { echo "== wall time: $((SECONDS - step_start)) s  ($1)"; echo "$1 $((SECONDS - step_start))" >> "$W/wall_times.txt"; }
run() { echo "+ $*"; "$@"; }

echo "== cdae reproduction in $W: $NP rank(s), precision $PRECISION, phase 1 until loss_v < $TARGET_LOSS"
: > "$W/wall_times.txt"

# ---------------------------------------------------------------- phase 1
loss_min() { [ -s "$M/best.txt" ] && tail -n 1 "$M/best.txt" | awk '{print $2}' || echo 9999; }
below() { [ "$TARGET_LOSS" != none ] && awk -v a="$1" -v b="$TARGET_LOSS" 'BEGIN { exit !(a < b) }'; }
if [ -s "$W/phase1_best.h5" ]; then
  echo "== phase 1 already done ($W/phase1_best.h5)"
else
  step "phase 1: conventional ($CONFIG_CONV) until best loss_v < $TARGET_LOSS"
  # shellcheck disable=SC2086
  echo "+ $LAUNCH $BIN/cdae-train --config $CONFIG_CONV ${common[*]} --set epochs=$CONV_EPOCHS ${extra_conv[*]}"
  $LAUNCH "$BIN/cdae-train" --config "$CONFIG_CONV" "${common[@]}" --set epochs=$CONV_EPOCHS \
    "${extra_conv[@]}" > >(tee -a "$W/phase1.log") 2>&1 &
  pid=$!
  stopped=0
  while kill -0 $pid 2>/dev/null; do
    sleep "$POLL"
    if [ $stopped -eq 0 ] && below "$(loss_min)"; then
      echo "== best validation loss $(loss_min) < $TARGET_LOSS: stopping phase 1 at the next epoch boundary"
      kill -USR1 $pid 2>/dev/null || true
      stopped=1
    fi
  done
  rc=0; wait $pid || rc=$?
  # 0: ran to CONV_EPOCHS; 75: stopped by the signal (resume.h5 written).
  [ $rc -eq 0 ] || [ $rc -eq 75 ] || { echo "error: phase 1 exited with $rc" >&2; exit 1; }
  [ "$TARGET_LOSS" = none ] || below "$(loss_min)" ||
    echo "# warning: phase 1 ended with best loss $(loss_min), not below $TARGET_LOSS"
  # Phase 2 must continue from best.h5, not resume phase 1 exactly.
  rm -f "$M/resume.h5" "$M/resume.h5.prev"
  cp "$M/best.h5" "$W/phase1_best.h5"
  done_step phase1_conventional
fi

# evaluate PHASE CONFIG WEIGHTS NAME EXTRA...: every class scored, to $W/res_NAME and $W/infer_NAME.log.
evaluate() {
  local phase=$1 config=$2 weights=$3 name=$4; shift 4
  step "evaluate $phase (every class, $N_SAMPLES samples each)"
  # shellcheck disable=SC2086
  run $LAUNCH "$BIN/cdae-infer" --config "$config" "${common[@]}" "$@" \
    --weights "$weights" --set inference.results=$W/res_$name --classes | tee "$W/infer_$name.log"
  done_step infer_$name
}
evaluate "phase 1" "$CONFIG_CONV" "$W/phase1_best.h5" before "${extra_conv[@]}"

# ---------------------------------------------------------------- phase 2
if [ -s "$W/phase2_best.h5" ]; then
  echo "== phase 2 already done ($W/phase2_best.h5)"
else
  step "phase 2: contrastive ($CONFIG_CONTR) from phase 1's best.h5 to epoch $CONTR_EPOCHS"
  # shellcheck disable=SC2086
  run $LAUNCH "$BIN/cdae-train" --config "$CONFIG_CONTR" "${common[@]}" --set epochs=$CONTR_EPOCHS \
    "${extra[@]}" 2>&1 | tee -a "$W/phase2.log"
  cp "$M/best.h5" "$W/phase2_best.h5"
  done_step phase2_contrastive
fi

evaluate "phase 2" "$CONFIG_CONTR" "$W/phase2_best.h5" after "${extra[@]}"

step "figures"
run "$PYTHON" "$SRC/python/plot_results.py" --eval "$W/res_after/eval.h5" --eval-before "$W/res_before/eval.h5" \
  --progress "$M/progress.dat" --out "$W/figures" --title "${TITLE:-conventional -> contrastive (defect 2.1)}"
done_step figures

echo
echo "== summary before (phase 1):"; cat "$W/res_before/summary.tsv"
echo "== summary after (phase 2):";  cat "$W/res_after/summary.tsv"
echo "== wall times (s):"; cat "$W/wall_times.txt"
echo "== total: $((SECONDS - T0)) s; figures in $W/figures, checkpoints in $M"
