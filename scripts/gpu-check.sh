#!/usr/bin/env bash
# The GPU machine's check (see ../shared/DEVICE.md): CUDA + NCCL build against
# the LibTorch inside the installed PyTorch, configured by scripts/build.sh
# exactly as CI configures, the test suites, NCCL (1 rank) and MPI (2 ranks
# sharing the GPU) against 1 CPU rank, then cdae-bench next to the PyTorch
# variants in the same call.
#
#   bash scripts/gpu-check.sh [all|build-test|bench] [OUT_DIR]
#
# Without a GPU (CI runs its build-test phase, tests/e2e/test_gpu_check.sh)
# every step that needs one adds a row "skipped: no GPU visible" and the rest
# runs, so the script is exercised end to end up to its first GPU call.
# Environment: CDAE_BUILD_DIR (default build-gpu), CDAE_PYTHON (default
# .venv/bin/python3 where it exists, else python3), CDAE_GPU_CHECK_SECONDS.
# Exit status: 0 when no step failed or timed out, 1 otherwise.
#
# all (default) does both phases; if one call is too short for both, call
# build-test, then bench (which rebuilds first when the machine came back bare).
# Every step has a timeout and the whole script stops starting steps when its
# budget (CDAE_GPU_CHECK_SECONDS, default 540 = 9 min) is spent. Each step adds
# a row to the summary table as it ends. OUT_DIR receives at most 7 small text
# files: summary.txt, env.txt (versions, which libnccl is loaded), configure.log
# and build.log (full), tests.log, runs.log, bench.txt; checkpoints and
# pictures go to a temporary directory.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
phase=${1:-all}
out=${2:-${OUT:-build-gpu-out}}
case $phase in all | build-test | bench) ;; *) echo "usage: $0 [all|build-test|bench] [OUT_DIR]" >&2; exit 2 ;; esac
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/cdae-gpu-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 PYTHONUNBUFFERED=1
build="${CDAE_BUILD_DIR:-build-gpu}"
PY=${CDAE_PYTHON:-python3}
[ -z "${CDAE_PYTHON:-}" ] && [ -x .venv/bin/python3 ] && PY=$PWD/.venv/bin/python3
failed=0
budget=${CDAE_GPU_CHECK_SECONDS:-540}
summary="$out/summary.txt"

# ------------------------------------------------------------------ helpers
row() { printf '%-40s %-9s %6s  %s\n' "$1" "$2" "$3" "$4" | tee -a "$summary"; }

# step NAME SECONDS LOG COMMAND...: runs COMMAND with output appended to LOG,
# killed after SECONDS (fewer if the budget ends sooner); adds a summary row
# whose note is $note (set by the caller, empty by default). Returns COMMAND's status.
step() {
  local name=$1 limit=$2 log=$3 left rc started status
  shift 3
  left=$((budget - SECONDS - 10))
  if ((left < 20)); then
    row "$name" skipped - "the ${budget}s budget is spent"
    return 124
  fi
  ((limit > left)) && limit=$left
  echo "== $name (at most ${limit}s)" | tee -a "$log"
  started=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  rc=$?
  case $rc in
    0) status=ok ;;
    124 | 137) status=TIMEOUT ;;
    *) status="FAIL($rc)" ;;
  esac
  [ "$status" = ok ] || failed=1
  row "$name" "$status" "$((SECONDS - started))s" "${note:-}"
  note=""
  return $rc
}

# gpu_step NAME SECONDS LOG COMMAND...: step, where a GPU is visible; a
# "skipped" row where none is.
gpu_step() {
  if ((gpu)); then
    step "$@"
  else
    row "$1" skipped - "no GPU visible"
    note=""
  fi
}

# The first errors of a log, each with the lines around it (compilers put the
# cause before and the instantiation chain after), instead of a filtered tail.
first_errors() {
  local log=$1 n shown=0
  grep -n -m 3 -E 'error:|undefined reference|CMake Error' "$log" | cut -d: -f1 |
    while read -r n; do
      ((n <= shown)) && continue  # already inside the previous excerpt
      echo "---- $log, line $n"
      sed -n "$((n > 8 ? n - 8 : 1)),$((n + 25))p" "$log"
      shown=$((n + 25))
    done
}

# ms/epoch of the last JSON line of a file written by cdae-bench --json.
bench_note() {
  "$PY" - "$1" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
if lines:
    r = json.loads(lines[-1])
    print(f"{r['ms_per_epoch_median']:.2f} ms/epoch (min {r['ms_per_epoch_min']:.2f}, max {r['ms_per_epoch_max']:.2f}), "
          f"MFU {100 * r['mfu']:.1f}%, peak {r['peak_memory_mb']:.0f} MB")
PY
}

# ------------------------------------------------------------------ environment
TORCH_LIB=$("$PY" -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')
gpu=0
"$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.device_count() > 0 else 1)' 2>/dev/null && gpu=1
{
  echo "date: $(date -u +%FT%TZ)   phase: $phase   python: $PY"
  if ((gpu)); then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  else
    echo "no GPU visible: the steps that need one are skipped"
  fi
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "built with nccl", torch.cuda.nccl.version())'
  grep -hE '^#define NCCL_(MAJOR|MINOR|PATCH) ' /usr/include/nccl.h | awk '{printf "%s=%s ", $2, $3} END {print "(/usr/include/nccl.h)"}'
  cmake --version | head -n 1
  mpirun --version 2>&1 | head -n 1
  echo "libnccl that LibTorch loads (ldd $TORCH_LIB/libtorch_cuda.so):"
  if [ -f "$TORCH_LIB/libtorch_cuda.so" ]; then
    ldd "$TORCH_LIB/libtorch_cuda.so" | grep -i nccl || echo "  no libnccl among its dependencies: NCCL is linked into LibTorch"
  else
    echo "  $TORCH_LIB/libtorch_cuda.so not found: this PyTorch has no CUDA"
  fi
} >"$out/env.txt" 2>&1
echo "== environment"
cat "$out/env.txt"
: >"$summary"
row "step" "status" "time" "note"

# ------------------------------------------------------------------ build
configure_and_build() {
  # scripts/build.sh asks for CUDA and NCCL (ON, not detected): a LibTorch
  # without CUDA or a missing nccl.h fails here instead of producing a CPU
  # build that is timed. CDAE_CUDA=on whatever the caller's environment says.
  note="scripts/build.sh, as CI"
  if ! CDAE_CUDA=on CDAE_BUILD_DIR="$build" CDAE_JOBS="$(nproc)" step "configure + build (CUDA and NCCL on)" 450 \
    "$out/build.log" bash scripts/build.sh; then
    cp "$build/configure.log" "$out/configure.log" 2>/dev/null
    first_errors "$out/configure.log" 2>/dev/null
    first_errors "$out/build.log"
    return 1
  fi
  cp "$build/configure.log" "$out/configure.log"
  grep -E '^-- cdae:' "$out/configure.log"
  {
    echo "libnccl that cdae-train loads (ldd; one soname, so LibTorch gets the same one in this process):"
    ldd "$build/cdae-train" | grep -iE 'nccl|libtorch_cuda|cudart'
  } | tee -a "$out/env.txt"
}

test_phase() {
  note="NCCL_DEBUG=VERSION prints the NCCL that runs, in tests.log"
  NCCL_DEBUG=VERSION gpu_step "NCCL one rank vs MPI (gtest)" 150 "$out/tests.log" \
    mpirun --oversubscribe -np 1 "$build/cdae_mpi_tests" --gtest_filter='NcclOneRank.*:World.*'
  grep -m 1 'NCCL version' "$out/tests.log"
  # The CPU suites of this build; the NCCL tests above are not run again.
  if [ -n "${CDAE_GPU_CHECK_INSIDE_CTEST:-}" ]; then
    row "ctest core|unit|mpi" skipped - "the suite that runs this check runs them"
  else
    GTEST_FILTER='-NcclOneRank.*' step "ctest core|unit|mpi" 240 "$out/tests.log" \
      ctest --test-dir "$build" -L 'core|unit|mpi' -j "$(nproc)" --output-on-failure
  fi
  grep -E 'tests passed|tests failed|\(Failed\)|\(Timeout\)' "$out/tests.log" 2>/dev/null | tail -n 8

  local common=(--config configs/smoke.json --set epochs=5 --set model.dropout=0 --set progress_seconds=1000
    --set path_scratch="$work/scratch")
  step "5 steps: 1 CPU rank" 90 "$out/runs.log" \
    "$build/cdae-train" "${common[@]}" --set device=cpu --set path_save_model="$work/cpu"
  gpu_step "5 steps: NCCL, 1 rank" 90 "$out/runs.log" \
    "$build/cdae-train" "${common[@]}" --set device=cuda --set dist.backend=nccl --set path_save_model="$work/nccl"
  gpu_step "5 steps: MPI, 2 ranks on the GPU" 120 "$out/runs.log" \
    mpirun --oversubscribe -np 2 "$build/cdae-train" "${common[@]}" --set device=cuda --set dist.backend=mpi \
    --set path_save_model="$work/mpi2"
  # Placement with two ranks on the one GPU: backend auto must refuse NCCL on
  # both ranks with the reason, and the job must end (abort_job, MPI_Abort).
  gpu_step "2 ranks on 1 GPU, auto: refused" 60 "$out/runs.log" bash -c '
    log=$1; shift
    mpirun --oversubscribe -np 2 "$@" >"$log" 2>&1; rc=$?
    cat "$log"
    [ "$rc" -ne 0 ] && grep -q "would use the same GPU" "$log"' refusal "$work/auto.log" \
    "$build/cdae-train" "${common[@]}" --set device=cuda --set path_save_model="$work/auto"
  "$PY" - "$work" <<'PY' 2>&1 | tee -a "$out/runs.log" | while read -r line; do row "equivalence" "-" "-" "$line"; done
import os, sys, h5py, numpy as np
d = sys.argv[1]
if not os.path.exists(f"{d}/cpu/last.h5"):
    print("no CPU reference checkpoint"); sys.exit()
ref = h5py.File(f"{d}/cpu/last.h5", "r")
for run in ("nccl", "mpi2"):
    if not os.path.exists(f"{d}/{run}/last.h5"):
        print(f"{run}: no checkpoint"); continue
    f = h5py.File(f"{d}/{run}/last.h5", "r")
    worst = 0.0
    for name, ds in ref["model"].items():
        a, b = f["model"][name][()].astype(np.float64), ds[()].astype(np.float64)
        worst = max(worst, np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
    print(f"{run} vs 1 CPU rank: worst relative parameter difference {worst:.2e}")
PY
}

bench_phase() {
  local p v n bt bo bv bov
  for p in fp32 tf32 bf16; do
    note=""
    gpu_step "cdae-bench seed $p" 90 "$work/bench_$p.json" \
      "$build/cdae-bench" --config configs/seed.json --set precision=$p --set device=cuda --epochs 30 --warmup 5 --json
    cat "$work/bench_$p.json" >>"$out/bench.txt" 2>/dev/null
    row "  -> cdae $p" "" "" "$(bench_note "$work/bench_$p.json")"
  done
  for v in fp32 tf32 bf16 compile-bf16; do
    gpu_step "PyTorch seed $v" 200 "$work/py_$v.json" \
      "$PY" python/bench_reference.py --config configs/seed.json --device cuda --variants "$v" --epochs 30 --warmup 5 --json
    cat "$work/py_$v.json" >>"$out/bench.txt" 2>/dev/null
    row "  -> PyTorch $v" "" "" "$("$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        r = list(json.loads(l)["variants"].values())[0]
        print(r.get("skipped") or "%.1f ms/epoch (min %.1f, max %.1f)" % (r["median_ms"], r["min_ms"], r["max_ms"]))
' "$work/py_$v.json" 2>/dev/null)"
  done
  # Strong scaling: the per-rank step at 108/N sequences, for N GPUs.
  for n in 1 2 4 8 16; do
    bt=$((100 / n)); ((bt < 2)) && bt=2
    bo=$((8 / n)); bv=$((8 / n)); ((bv < 2)) && bv=2
    bov=$((2 / n)); ((bov < 1)) && bov=1
    gpu_step "scaling: per-rank step, N=$n" 60 "$work/scaling_$n.json" \
      "$build/cdae-bench" --config configs/seed.json --set precision=bf16 --set device=cuda \
      --set batch_size_train=$bt --set contrastive_loss.n_outliers=$bo --set batch_size_val=$bv \
      --set contrastive_loss.n_outliers_val=$bov --epochs 20 --warmup 5 --json
    cat "$work/scaling_$n.json" >>"$out/bench.txt" 2>/dev/null
    row "  -> N=$n ($bt+$bo train, $bv+$bov val per rank)" "" "" "$(bench_note "$work/scaling_$n.json")"
  done
}

# ------------------------------------------------------------------ run
built=0
if [ "$phase" != bench ] || [ ! -x "$build/cdae-bench" ]; then
  configure_and_build && built=1
else
  # A warm machine keeps build-gpu/: ninja only checks it is up to date.
  step "build (incremental)" 300 "$out/build.log" cmake --build "$build" -j "$(nproc)" && built=1 || first_errors "$out/build.log"
fi
if ((built)); then
  [ "$phase" != bench ] && test_phase
  [ "$phase" != build-test ] && bench_phase
fi

echo
echo "== summary ($SECONDS s; logs in $out)"
cat "$summary"
((built)) || failed=1
exit "$failed"
