#!/usr/bin/env bash
# The CPU speed comparison of issue 22 in one command, one measurement after the
# other in this shell: cdae-bench against PyTorch eager and torch.compile
# (python/bench_reference.py: the same model, batch, losses and Adam), fp32 and
# bf16, at 1 rank x 1 thread, 2 ranks x 1 thread (PyTorch: 2 DDP processes on
# gloo) and 1 x 2 threads (cdae and PyTorch eager, fp32), on the smoke config,
# the cpu preset and the seed config; the GEMM peak first (python/gemm_peak.py).
# Prints progress lines with an ETA, then a Markdown table (the ratios of cdae
# to the fastest PyTorch variant with the same precision and cores, GFLOP/s and
# the share of the measured GEMM peak), and writes OUT/bench_cpu.{tsv,md,json}
# and every run's output to OUT/logs/. The work is in python/bench_cpu.py.
#   bash scripts/bench_cpu.sh [--quick] [OUT]          # default OUT: bench_out/
# Defaults take about 35-45 minutes on a 2-core AVX2 VM (the seed config is
# most of it: ~3 min per epoch on one core); nothing else should run meanwhile.
# Environment (KEY = SMOKE, CPU or SEED for the three configs; a per-config
# setting wins over the plain one):
#   CONFIGS            config files (default: smoke, cpu-contrastive, seed)
#   EPOCHS[_KEY]       timed epochs (defaults SMOKE 20, CPU 10, SEED 1)
#   WARMUP[_KEY]       untimed epochs first (defaults SMOKE 3, CPU 2, SEED 1;
#                      torch.compile always gets >= 1, its compile time apart)
#   LAYOUTS[_KEY]      ranks x threads (default "1x1 2x1 1x2"; SEED "1x1 2x1");
#                      layouts with threads > 1 run fp32 cdae and eager only
#                      unless ALL_1X2=1
#   PRECISIONS[_KEY]   default "fp32 bf16"; bf16 is left out for the seed config
#                      on CPUs without AVX-512 BF16/AMX (a scalar fallback: hours
#                      per epoch) unless set explicitly
#   PT_VARIANTS[_KEY]  PyTorch variants, "eager compile" (default); add "eager_thp"
#                      for eager with THP_MEM_ALLOC_ENABLE=1 (LibTorch's huge pages,
#                      which cdae turns on for itself), reported apart
#   ROUNDS             times each group of runs (one config, precision and layout:
#                      cdae, then the PyTorch variants) is repeated, interleaved;
#                      the table gives the median of the rounds' medians and each
#                      round's own ratio (default 1; 3 on a noisy machine)
#   RUN_TIMEOUT        seconds per run (default 600 + 4 x the planning estimate)
#   GEMM=0             skip the GEMM peak; GEMM_N, GEMM_REPS, GEMM_MAX_S
#   FORCE_MEMORY=1     run the seed config even if MemAvailable is below its
#                      ~19 GB (1.5 GB + 0.16 GB per training sequence)
#   QUICK=1 / --quick  smoke only, 1 epoch, no warm-up, eager only, tiny GEMM:
#                      checks that everything runs (the e2e test)
#   DRY_RUN=1          print the planned runs with time estimates, run nothing
#   CDAE_BIN (default build/), CDAE_PYTHON (default .venv/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${CDAE_PYTHON:-$PWD/.venv/bin/python3}   # the venv of scripts/setup.sh
[ -x "$PY" ] || PY=python3
export CDAE_PYTHON=$PY OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec "$PY" python/bench_cpu.py table "$@"
