#!/usr/bin/env bash
# One call on the GPU machine (see ../shared/DEVICE.md): configure and build the
# CUDA build against the LibTorch inside the installed PyTorch, run the test
# suites, check NCCL (1 rank) and MPI (2 ranks sharing the GPU) against 1 CPU
# rank, then benchmark cdae next to the PyTorch variants in the same call.
#   bash scripts/gpu-check.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-out}}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TD=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')/Torch
step() { echo; echo "== $*"; }

step "configure + build (build-gpu)"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$TD" 2>&1 | grep -E "cdae:|Error" || true
cmake --build build-gpu -j16 2>&1 | tail -n 3 || exit 1

step "test suites (CPU parts, on this machine's build)"
(cd build-gpu && ctest -L 'core|unit|mpi' --output-on-failure 2>&1 | tail -n 5) | tee "$out/ctest.txt"

step "5 contrastive steps, fp32, dropout off: 1 CPU rank vs NCCL 1 rank vs MPI 2 ranks on the GPU"
common=(--config configs/smoke.json --set epochs=5 --set model.dropout=0 --set progress_seconds=1000)
build-gpu/cdae-train "${common[@]}" --set device=cpu --set path_save_model="$out/cpu" --set path_scratch="$out/s" >"$out/cpu.log"
build-gpu/cdae-train "${common[@]}" --set device=cuda --set dist.backend=nccl --set path_save_model="$out/nccl" --set path_scratch="$out/s" >"$out/nccl.log"
mpirun --oversubscribe -np 2 build-gpu/cdae-train "${common[@]}" --set device=cuda --set dist.backend=mpi \
  --set path_save_model="$out/mpi2" --set path_scratch="$out/s" >"$out/mpi2.log"
python3 - "$out" <<'PY' | tee "$out/equivalence.txt"
import sys, h5py, numpy as np
d = sys.argv[1]
ref = h5py.File(f"{d}/cpu/last.h5", "r")
for run in ("nccl", "mpi2"):
    f = h5py.File(f"{d}/{run}/last.h5", "r")
    worst = 0.0
    for name, ds in ref["model"].items():
        a, b = f["model"][name][()].astype(np.float64), ds[()].astype(np.float64)
        worst = max(worst, np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
    print(f"{run:5s} vs 1 CPU rank: worst per-tensor relative difference {worst:.2e}")
PY

step "benchmark: cdae (fp32, tf32, bf16) and PyTorch (eager fp32/tf32/bf16, compile bf16), seed config"
for p in fp32 tf32 bf16; do
  build-gpu/cdae-bench --config configs/seed.json --set precision=$p --set device=cuda --epochs 30 --warmup 5 --json \
    | tee -a "$out/bench_cdae.jsonl"
done
python3 python/bench_reference.py --config configs/seed.json --device cuda --variants fp32,tf32,bf16,compile-bf16 \
  --epochs 30 --warmup 5 --json | tee "$out/bench_pytorch.json"

step "strong scaling: per-rank step time at 108/N sequences"
for n in 1 2 4 8 16; do
  bt=$((100 / n)); [ $bt -lt 2 ] && bt=2
  bo=$((8 / n)); bv=$((8 / n)); [ $bv -lt 2 ] && bv=2; bov=$((2 / n)); [ $bov -lt 1 ] && bov=1
  build-gpu/cdae-bench --config configs/seed.json --set precision=bf16 --set device=cuda --set batch_size_train=$bt \
    --set contrastive_loss.n_outliers=$bo --set batch_size_val=$bv --set contrastive_loss.n_outliers_val=$bov \
    --epochs 20 --warmup 5 --json | tee -a "$out/scaling.jsonl"
done

step "summary"
python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(f"{d}/bench_cdae.jsonl") if l.startswith("{")]
for r in rows:
    print(f"cdae   {r['precision']:5s} {r['ms_per_epoch_median']:8.2f} ms/epoch  MFU {100*r['mfu']:.1f}%  peak {r['peak_memory_mb']:.0f} MB")
try:
    py = json.load(open(f"{d}/bench_pytorch.json"))
    print(json.dumps(py, indent=1))
except Exception as e:
    print("pytorch side:", e)
PY
