#!/usr/bin/env bash
# The main job on a fresh machine: set-up, then the method end to end on 2
# local MPI ranks with the cpu preset (49x49 frames, 21 per sequence):
#   1. conventional phase: learn the normal class (2.0 degrees/frame) alone;
#   2. evaluate it on every class (the "before");
#   3. contrastive phase: continue from phase 1's best checkpoint with a few
#      known defects per batch pushed away in latent space;
#   4. evaluate again (the "after"), plots, and the before/after table.
# What to look for: the defect's median loss and its AUROC move far from the
# normal class's, which stays where it was.
#   bash scripts/demo.sh                 # ~4-5 minutes on 2 cores after the build
#   CDAE_DEMO_EPOCHS1=1500 CDAE_DEMO_EPOCHS2=900 bash scripts/demo.sh   # longer
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
out=${CDAE_DEMO_OUT:-demo_out}
epochs1=${CDAE_DEMO_EPOCHS1:-800}              # phase 1 runs epochs 0 .. epochs1-1
epochs2=${CDAE_DEMO_EPOCHS2:-700}              # phase 2 adds this many
samples=${CDAE_DEMO_SAMPLES:-200}              # per class at each evaluation
# Training in bf16 autocast where the CPU has bf16 instructions (1.5x faster on
# the cpu preset, the same loss curve within 4%: docs/performance.md); scoring in fp32.
precision=fp32
grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && precision=bf16
precision=${CDAE_DEMO_PRECISION:-$precision}
if [ -d "$out" ]; then echo "== removing the previous demo output $out/"; rm -rf "$out"; fi
mkdir -p "$out"
mpirun="mpirun --oversubscribe --bind-to none -np 2"
paths=(--set path_save_model=$out/model --set path_scratch=$out/scratch --set precision=$precision)
started=$SECONDS
step() { echo; echo "== [$((SECONDS - started)) s] $*"; }

step "phase 1 (conventional, epochs 0-$((epochs1 - 1)), $precision): $mpirun build/cdae-train --config configs/cpu-conventional.json"
$mpirun build/cdae-train --config configs/cpu-conventional.json "${paths[@]}" --set epochs=$epochs1 | tee "$out/phase1.log" |
  grep -E '^(# progress|# training|# warning|# cdae-train)|^epoch +[0-9]*00 '
cp "$out/model/best.h5" "$out/phase1_best.h5"

step "evaluate phase 1 on every class ($samples samples each)"
$mpirun build/cdae-infer --config configs/cpu-conventional.json --weights "$out/phase1_best.h5" --classes \
  --set inference.results=$out/before --set inference.n_samples=$samples > "$out/infer_before.log"

step "phase 2 (contrastive, from phase 1's best.h5, to epoch $((epochs1 + epochs2 - 1)), $precision): build/cdae-train --config configs/cpu-contrastive.json"
$mpirun build/cdae-train --config configs/cpu-contrastive.json "${paths[@]}" --set epochs=$((epochs1 + epochs2)) |
  tee "$out/phase2.log" | grep -E '^(# progress|# training|# warning|# continuing)|^epoch +[0-9]*00 '

step "evaluate phase 2 on every class"
$mpirun build/cdae-infer --config configs/cpu-contrastive.json --weights "$out/model/best.h5" --classes \
  --set inference.results=$out/after --set inference.n_samples=$samples > "$out/infer_after.log"

step "plots"
.venv/bin/python3 python/plot_results.py --eval "$out/after/eval.h5" --eval-before "$out/before/eval.h5" \
  --progress "$out/model/progress.dat" --out "$out/plots" --title "cpu preset: conventional -> contrastive" \
  > "$out/plots.log" 2>&1 || echo "(plots failed, see $out/plots.log; the numbers below stand)"

step "done"
echo
echo "Recovery loss per class, before (phase 1) and after (phase 2); ratio = median / the normal class's median:"
.venv/bin/python3 python/compare_summaries.py "$out/before/summary.tsv" "$out/after/summary.tsv" --tsv "$out/before_after.tsv"
echo
echo "Results in $out/:"
echo "  before/after histograms (PNG):        $out/plots/before_after.png"
echo "  training curves (PNG):                $out/plots/training_curves.png"
echo "  per-class tables:                     $out/before/summary.tsv, $out/after/summary.tsv, $out/before_after.tsv"
echo "  per-sample losses, latent distances:  $out/before/eval.h5, $out/after/eval.h5 (+ res_*/ per class)"
echo "  checkpoints, progress.dat:            $out/model/ (phase 1's best: $out/phase1_best.h5)"
echo "  training pictures:                    $out/scratch/"
