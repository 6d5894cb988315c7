#!/usr/bin/env bash
# A newcomer's machine has no CUDA toolkit: the CUDA build must not need one.
# cdae compiles against the CUDA runtime headers and libcudart inside the
# torch wheel (CMakeLists.txt, cdae_use_wheel_cuda_runtime). Checked two ways:
#   1. CI's own build (BUILD_DIR) refers to no CUDA toolkit: nothing under
#      /usr/local/cuda* in its CMake cache, compile or link commands;
#   2. in a private mount namespace where every /usr/local/cuda*, the nvcc
#      wrappers and /usr/local/include (where this machine's toolkit also put
#      its headers) are hidden, with CUDA_HOME, LIBRARY_PATH and CPATH unset,
#      a fresh configure with CUDA and NCCL ON succeeds and the translation
#      units with CUDA and NCCL code compile.
# Skips (77) where mount namespaces cannot be made (not root, no unshare).
# Usage: bash test_no_cuda_toolkit.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"

# ---------------------------------------------------------------- 1. CI's build
if grep -q '^CDAE_WITH_CUDA:BOOL=ON' "$BIN/CMakeCache.txt"; then
  no_toolkit_in() { ! grep -l '/usr/local/cuda' "$@"; }
  check "CI's build: no /usr/local/cuda in the CMake cache" no_toolkit_in "$BIN/CMakeCache.txt"
  check "CI's build: no /usr/local/cuda in its compile and link commands" \
    no_toolkit_in "$BIN/compile_commands.json" "$BIN/build.ninja"
  check "CI's build: the CUDA runtime is the wheel's" \
    grep -q "the wheel's runtime .*libcudart" "$BIN/configure.log"
else
  echo "# $BIN was configured without CUDA: part 1 does not apply"
fi

# ---------------------------------------------------------------- 2. no toolkit at all
if [ "$(id -u)" -ne 0 ] || ! unshare --mount true 2>/dev/null; then
  echo "SKIP: part 2 needs root and unshare --mount (mount namespaces)"
  [ "$failures" -eq 0 ] && exit 77
  finish
fi
VENV=${CDAE_VENV:-$SRC/.venv}
cat > "$T/hidden.sh" <<'EOF'
set -euo pipefail
src=$1 build=$2 venv=$3
mount --make-rprivate /
empty=$(mktemp -d)
for d in /usr/local/cuda-* /usr/local/include; do
  [ -d "$d" ] && mount --bind "$empty" "$d"
done
for f in /usr/local/bin/nvcc /usr/local/bin/ptxas /usr/local/bin/nvlink /usr/local/bin/fatbinary; do
  [ -e "$f" ] && mount --bind /dev/null "$f"
done
unset CUDA_HOME CUDA_PATH LIBRARY_PATH CPATH CUDACXX
export PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v cuda | paste -sd:)
if nvcc --version > /dev/null 2>&1; then echo "nvcc: $(command -v nvcc) works"; else echo "nvcc: none"; fi
ls /usr/local/cuda/include/cuda_runtime_api.h 2>/dev/null && { echo "the toolkit is still visible"; exit 3; }
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCDAE_VENV="$venv" \
  -DCDAE_WITH_CUDA=ON -DCDAE_WITH_NCCL=ON -DCDAE_PCH=OFF -DCDAE_BUILD_TESTS=OFF > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
grep -E '^-- cdae:' "$build.configure.log"
ninja -C "$build" CMakeFiles/cdae.dir/src/dist/nccl_communicator.cpp.o CMakeFiles/cdae.dir/src/dist/world.cpp.o
EOF
rc=0
timeout 600 unshare --mount bash "$T/hidden.sh" "$SRC" "$T/build" "$VENV" > "$T/hidden.log" 2>&1 || rc=$?
sed 's/^/    | /' "$T/hidden.log" | tail -n 12
check "no toolkit: the configure and the CUDA/NCCL translation units pass" test "$rc" -eq 0
check "no toolkit: no nvcc was found" grep -q '^nvcc: none' "$T/hidden.log"
check "no toolkit: CUDA and NCCL are ON" grep -q 'cdae: CUDA ON .*NCCL ON' "$T/hidden.log"
finish
