#!/usr/bin/env bash
# All tests on a fresh machine: set-up, build, then every ctest suite (core,
# unit, multi-rank under mpirun with 1/2/3 ranks, end-to-end, Python reference,
# SLURM integration).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "${CDAE_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 1200 -j2 "$@"
