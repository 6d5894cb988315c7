#!/usr/bin/env bash
# The CUDA build on a machine without a GPU (CI's, a login node): the same
# binaries train on the CPU with device = "auto", and asking for a GPU ends at
# start with one line that names the setting and what was found, a non-zero
# status and nothing written. CUDA_VISIBLE_DEVICES="" hides any GPU, so the
# checks hold on a GPU machine too.
# Usage: bash test_no_gpu.sh BUILD_DIR SOURCE_DIR  (env CDAE_EXPECT_CUDA=ON|OFF: how the build was configured)
source "$(dirname "$0")/../support/lib.sh" "$@"
export CUDA_VISIBLE_DEVICES=""
CFG="$SRC/configs/smoke.json"

# ---------------------------------------------------------------- what was linked
if [ "${CDAE_EXPECT_CUDA:-OFF}" = ON ]; then
  for exe in cdae-train cdae-infer cdae-bench; do
    ldd "$BIN/$exe" > "$T/ldd.txt"
    check "$exe links libtorch_cuda and libnccl, all resolved" bash -c '
      grep -q "libtorch_cuda.so => /" "$1" && grep -q "libnccl.so.2 => /" "$1" && ! grep -q "not found" "$1"' _ "$T/ldd.txt"
  done
  grep -E 'libtorch_cuda|libnccl|libcudart' "$T/ldd.txt" | sed 's/^/    /'
else
  echo "# a build without CUDA (CDAE_EXPECT_CUDA=${CDAE_EXPECT_CUDA:-OFF}): the refusals are checked, the libraries not"
fi

# ---------------------------------------------------------------- auto picks the CPU
run_auto() {
  timeout 120 "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set epochs=2 --set device=auto > "$T/auto.log" 2>&1 &&
    grep -q 'device cpu' "$T/auto.log" && [ -s "$T/model/last.h5" ]
}
check "device = auto trains on the CPU" run_auto || true
grep -m1 '^# cdae-train' "$T/auto.log" | sed 's/^/    /'

# ---------------------------------------------------------------- GPU asked for: refused
# refused NAME PATTERN COMMAND...: exit status not 0, exactly one line of output
# per process that names PATTERN, no output directory made.
refused() {
  local name=$1 pattern=$2; shift 2
  local log="$T/refused.log" rc=0 ok=1 why=""
  rm -rf "$T/r"
  echo "CHECK: $name"
  timeout 120 "$@" --set path_save_model="$T/r/model" --set path_scratch="$T/r/scratch" \
    --set inference.results="$T/r/res" > "$log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || { ok=0; why="exit status 0"; }
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || { ok=0; why="timed out"; }
  grep -qF -- "$pattern" "$log" || { ok=0; why="$why; no '$pattern'"; }
  grep -q 'no GPU is visible' "$log" || { ok=0; why="$why; does not say what was found"; }
  [ ! -e "$T/r" ] || { ok=0; why="$why; wrote $(find "$T/r" | tr '\n' ' ')"; }
  if [ "$ok" -eq 1 ]; then
    echo "PASS: $name (exit $rc): $(grep -m1 'cdae: error' "$log")"
  else
    echo "FAIL: $name:$why"; sed 's/^/    | /' "$log" | tail -n 15; failures=$((failures + 1))
  fi
}
one_line() {  # one process alone prints nothing but its one error line
  local lines; lines=$(wc -l < "$T/refused.log")
  [ "$lines" -eq 1 ] || { sed 's/^/    | /' "$T/refused.log"; return 1; }
}

refused "cdae-train device = cuda" 'device = "cuda"' "$BIN/cdae-train" --config "$CFG" --set device=cuda
check "  ... in one line" one_line
refused "cdae-train dist.backend = nccl" 'dist.backend = "nccl"' "$BIN/cdae-train" --config "$CFG" --set device=auto --set dist.backend=nccl
check "  ... in one line" one_line
refused "cdae-infer device = cuda" 'device = "cuda"' "$BIN/cdae-infer" --config "$CFG" --set device=cuda
refused "cdae-bench device = cuda" 'device = "cuda"' "$BIN/cdae-bench" --config "$CFG" --set device=cuda
refused "2 ranks, device = cuda" 'device = "cuda"' $MPI -np 2 "$BIN/cdae-train" --config "$CFG" --set device=cuda
refused "2 ranks, dist.backend = nccl" 'dist.backend = "nccl"' \
  $MPI -np 2 "$BIN/cdae-train" --config "$CFG" --set device=auto --set dist.backend=nccl

finish
