#!/usr/bin/env bash
# Does bf16 autocast train like fp32? Trains one config twice from the same
# seed, fp32 and bf16 (weights and Adam in float32 both times), then compares
# the two loss curves epoch by epoch (training and validation loss, each
# smoothed over a window of 10 epochs, as the per-batch noise of generated
# data is larger than any precision effect) and prints the largest relative
# gap and the wall time of each run.
#   bash scripts/compare_precision.sh [CONFIG] [EPOCHS] [OUT]
#   (defaults: configs/cpu-conventional.json, 300, bench_out/precision)
# Environment: NP (ranks, default 2), CDAE_BIN (default build), CDAE_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/cpu-conventional.json}
epochs=${2:-300}
out=${3:-bench_out/precision}
BIN=${CDAE_BIN:-build}
PY=${CDAE_PYTHON:-$PWD/.venv/bin/python3}   # the venv of scripts/setup.sh
NP=${NP:-2}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for precision in fp32 bf16; do
  rm -rf "${out:?}/$precision"
  echo "== $precision: $epochs epochs of $config on $NP ranks"
  start=$(date +%s.%N)
  mpirun --oversubscribe --bind-to none -np "$NP" "$BIN/cdae-train" --config "$config" \
    --set precision=$precision --set epochs="$epochs" --set path_save_model="$out/$precision/model" \
    --set path_scratch="$out/$precision/scratch" --set checkpoint_every=1000 --set picture_every=1000 \
    > "$out/$precision.log" 2>&1 || { echo "training failed, see $out/$precision.log" >&2; tail -5 "$out/$precision.log" >&2; exit 1; }
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "   %.1f s\n", b - a }' | tee "$out/$precision/wall_s"
done
"$PY" - "$out" <<'EOF'
import sys
out = sys.argv[1]
def curve(precision):
    rows = {}
    for line in open(f"{out}/{precision}/model/progress.dat"):
        f = line.split()
        if not f or not f[0].lstrip("-").isdigit():
            continue
        rows[int(f[0])] = [float(x) for x in f[1:]]
    return rows
a, b = curve("fp32"), curve("bf16")
epochs = sorted(set(a) & set(b))
names = {0: "loss_t", 1: "loss_v"}  # progress.dat: epoch loss_t loss_v loss_ct loss_cv
w = min(10, len(epochs))
print(f"{len(epochs)} epochs in both curves")
for col, name in names.items():
    worst, at = 0.0, None
    for k in range(0, len(epochs) - w + 1):
        win = epochs[k:k + w]
        ma = sum(a[e][col] for e in win) / w
        mb = sum(b[e][col] for e in win) / w
        gap = abs(mb - ma) / ma
        if gap > worst:
            worst, at = gap, win[0]
    last = epochs[-w:]
    fa = sum(a[e][col] for e in last) / w
    fb = sum(b[e][col] for e in last) / w
    print(f"{name}: largest gap of the {w}-epoch means {100 * worst:.1f}% (from epoch {at}); "
          f"last {w} epochs fp32 {fa:.4f}, bf16 {fb:.4f} ({100 * (fb - fa) / fa:+.1f}%)")
EOF
