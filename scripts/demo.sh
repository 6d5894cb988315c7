#!/usr/bin/env bash
# The main job on a fresh machine: set-up, a short contrastive training of the
# small preset on 2 local MPI ranks (configs/smoke.json), then inference of
# every outlier class, and where to look at the results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
out=smoke_out
if [ -d "$out" ]; then echo "== removing the previous demo output $out/"; rm -rf "$out"; fi
mpirun="mpirun --oversubscribe --bind-to none -np 2"

echo "== training: $mpirun build/cdae-train --config configs/smoke.json"
$mpirun build/cdae-train --config configs/smoke.json

echo "== inference (reference mode): build/cdae-infer --config configs/smoke.json"
$mpirun build/cdae-infer --config configs/smoke.json | tail -n 3

echo "== inference of every class: build/cdae-infer --config configs/smoke.json --classes"
$mpirun build/cdae-infer --config configs/smoke.json --classes --set inference.results=$out/classes

if [ -x python/plot_results.py ] || [ -f python/plot_results.py ]; then
  /usr/bin/python3 python/plot_results.py --eval $out/classes/eval.h5 --progress $out/model/progress.dat \
    --out $out/plots || echo "(plots failed; the numbers above stand)"
fi

echo
echo "Results:"
echo "  checkpoints, progress.dat, best.txt:  $out/model/"
echo "  training pictures (every 10 epochs):   $out/scratch/"
echo "  per-sample pictures, hist.dat:         $out/results/"
echo "  all classes: summary.tsv, eval.h5:     $out/classes/"
[ -d $out/plots ] && echo "  plots (PNG, SVG):                      $out/plots/"
exit 0
