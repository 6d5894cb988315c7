#!/usr/bin/env bash
# scripts/gpu-check.sh build-test, run by CI on its own build: the script the
# GPU machine runs is exercised up to its first GPU call. Its configure must
# be exactly CI's (scripts/build.sh on this very build directory finds
# nothing to rebuild), the GPU steps must say "no GPU visible" and be
# skipped, the CPU run must pass, and the script must exit 0.
# Usage: bash test_gpu_check.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
if ! grep -q '^CDAE_WITH_CUDA:BOOL=ON' "$BIN/CMakeCache.txt"; then
  echo "SKIP: $BIN was configured without CUDA; gpu-check.sh would reconfigure it with CUDA on"
  exit 77
fi
export CUDA_VISIBLE_DEVICES=""
rc=0
CDAE_BUILD_DIR="$BIN" CDAE_PYTHON="$PY" CDAE_GPU_CHECK_INSIDE_CTEST=1 \
  bash "$SRC/scripts/gpu-check.sh" build-test "$T/out" > "$T/gpu-check.log" 2>&1 || rc=$?
sed 's/^/    | /' "$T/gpu-check.log" | tail -n 30
S="$T/out/summary.txt"

check "gpu-check.sh exits 0" test "$rc" -eq 0
check "the configure and build step passed" grep -qE '^configure \+ build .* ok ' "$S"
check "CI's build directory needed no rebuild (the same configure)" grep -q 'ninja: no work to do' "$T/out/build.log"
check "the configure asked for CUDA and NCCL" grep -q 'cdae: CUDA ON .*NCCL ON' "$T/out/configure.log"
check "the CPU run passed" grep -qE '^5 steps: 1 CPU rank +ok ' "$S"
for s in "NCCL one rank vs MPI" "5 steps: NCCL, 1 rank" "5 steps: MPI, 2 ranks on the GPU" "2 ranks on 1 GPU, auto: refused"; do
  check "GPU step '$s' skipped for want of a GPU" grep -qE "^$s.* skipped +- +no GPU visible" "$S"
done
check "no step failed" bash -c '! grep -qE "FAIL|TIMEOUT" "$1"' _ "$S"
check "env.txt says that no GPU is visible" grep -q 'no GPU visible' "$T/out/env.txt"
finish
