#!/usr/bin/env bash
# How cdae's cost grows (issue 22, item 4): cdae-bench ms/epoch at 2 ranks x 1
# thread against the training batch and against the frame size, as a table
# (OUT/bench_scaling.{tsv,md}, every run's output in OUT/logs/).
#   bash scripts/bench_scaling.sh [--quick] [OUT]      # default OUT: bench_out/
# Batch sweep: the cpu preset (configs/cpu-contrastive.json, 49x49x21 frames)
# with a training batch B of 16, 32, 64, 108 sequences = B - 4 normal + the
# config's 4 defects (the defect count fixed); validation 8 + 2 fixed.
# Frame sweep: a preset reproduces only some frame sizes (the strides must
# come back to the input size), and none takes 37, 49 and 101 together: the
# small preset (configs/smoke.json) takes 37, 53 and 101 (not 49), the cpu
# preset 33, 49 and 97 (not 37 or 101), the seed preset 61 + 8k (101, not 37 or
# 49). Defaults: smoke.json at 37, 53, 101 and cpu-contrastive.json at 33, 49,
# 97, each with its own batch. About 3-5 minutes on 2 cores.
# Environment: EPOCHS (10), WARMUP (2), LAYOUT (2x1), PRECISION (fp32),
#   BATCH_CONFIG (configs/cpu-contrastive.json), BATCHES ("16 32 64 108"),
#   FRAMES ("configs/smoke.json:37,53,101 configs/cpu-contrastive.json:33,49,97"),
#   RUN_TIMEOUT, QUICK=1 / --quick (1 epoch, batches 16 32, smoke at 37 and 53),
#   CDAE_BIN (default build/), CDAE_PYTHON (default .venv/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${CDAE_PYTHON:-$PWD/.venv/bin/python3}   # the venv of scripts/setup.sh
[ -x "$PY" ] || PY=python3
export CDAE_PYTHON=$PY OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec "$PY" python/bench_cpu.py scaling "$@"
