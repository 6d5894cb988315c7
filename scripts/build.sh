#!/usr/bin/env bash
# Configures and builds cdae the one way CI, the README and the GPU check all
# use (scripts/setup.sh installs first, then calls this; scripts/gpu-check.sh
# calls it on the GPU machine, where nothing can be installed).
#   bash scripts/build.sh                  # into build/ (CDAE_BUILD_DIR), -j$(nproc) (CDAE_JOBS)
#   CDAE_CUDA=off bash scripts/build.sh    # without the CUDA/NCCL code paths
# LibTorch is the one of the Python in .venv (CDAE_VENV), else of python3 on
# PATH; see CMakeLists.txt. CUDA and NCCL are asked for, not detected: a
# LibTorch without CUDA or a missing NCCL fails the configure instead of
# quietly building the CPU variant. The configure output is kept in
# BUILD/configure.log; its "cdae:" lines are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${CDAE_BUILD_DIR:-build}"
jobs="${CDAE_JOBS:-$(nproc)}"
case "${CDAE_CUDA:-on}" in
  on | ON | 1) cuda=ON ;;
  off | OFF | 0) cuda=OFF ;;
  *) echo "build.sh: CDAE_CUDA must be on or off, got '${CDAE_CUDA}'" >&2; exit 2 ;;
esac
args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCDAE_WITH_CUDA=$cuda -DCDAE_WITH_NCCL=$cuda)
[ -n "${CDAE_VENV:-}" ] && args+=(-DCDAE_VENV="$CDAE_VENV")
echo "== building cdae in $build (-j$jobs, CUDA and NCCL $cuda)"
mkdir -p "$build"
if ! cmake -S . -B "$build" "${args[@]}" >"$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2
  echo "build.sh: the configure of $build failed (output above, kept in $build/configure.log)" >&2
  exit 1
fi
grep -E '^-- cdae:' "$build/configure.log"
cmake --build "$build" -j "$jobs"
