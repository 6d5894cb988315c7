#!/usr/bin/env bash
# Two builds of cdae timed against each other in one run (two LibTorch
# versions, two commits, two compilers): cdae-bench of each build on the same
# configs, precisions and ranks, the builds taking turns at each setting so
# that both see the same machine state. Prints a table of ms/epoch medians and
# the ratio B/A, and writes it to OUT/compare_builds.tsv.
#   bash scripts/compare_builds.sh BUILD_A BUILD_B [OUT]      # OUT default bench_out/
# Environment: EPOCHS (timed epochs per run, default 20), ROUNDS (turns per
# setting, default 2; the median over all of a build's epochs is reported
# through the median of its runs' medians), CONFIGS (default
# "configs/cpu-contrastive.json configs/smoke.json"), SETTINGS (default
# "fp32:1 fp32:2 bf16:1": precision:ranks, 1 thread per rank).
set -euo pipefail
cd "$(dirname "$0")/.."
a=${1:?usage: $0 BUILD_A BUILD_B [OUT]}
b=${2:?usage: $0 BUILD_A BUILD_B [OUT]}
out=${3:-bench_out}
for d in "$a" "$b"; do
  [ -x "$d/cdae-bench" ] || { echo "compare_builds.sh: $d/cdae-bench not found (build it first)" >&2; exit 2; }
done
mkdir -p "$out"
EPOCHS=${EPOCHS:-20}
ROUNDS=${ROUNDS:-2}
CONFIGS=${CONFIGS:-"configs/cpu-contrastive.json configs/smoke.json"}
SETTINGS=${SETTINGS:-"fp32:1 fp32:2 bf16:1"}
PY=${CDAE_PYTHON:-$PWD/.venv/bin/python3}
[ -x "$PY" ] || PY=python3
cores=$(nproc)  # before OMP_NUM_THREADS=1, which nproc obeys
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1

bench() {  # BUILD RANKS CONFIG PRECISION -> the median ms/epoch of one run
  local build=$1 ranks=$2 config=$3 precision=$4 launch=()
  ((ranks > 1)) && launch=(mpirun --oversubscribe --bind-to none -np "$ranks")
  "${launch[@]}" "$build/cdae-bench" --config "$config" --set precision="$precision" \
    --epochs "$EPOCHS" --warmup 3 --json | grep '^{' | tail -n 1 |
    "$PY" -c 'import json, sys; print(json.loads(sys.stdin.read())["ms_per_epoch_median"])'
}
version() {  # the LibTorch a build was configured with, from its CMake cache
  local dir
  dir=$(grep -m1 -E '^Torch_DIR:' "$1/CMakeCache.txt" 2>/dev/null | sed 's/.*=//')
  [ -n "$dir" ] || dir=$(grep -m1 -oE 'LibTorch [0-9.]+ \(.*\)' "$1/configure.log" 2>/dev/null)
  echo "${dir:-?}"
}

tsv=$out/compare_builds.tsv
echo "# A = $a ($(version "$a")); B = $b ($(version "$b")); $EPOCHS epochs x $ROUNDS rounds; $cores cores" | tee "$tsv"
printf 'config\tprecision\tranks\tA_ms\tB_ms\tB_over_A\tA_runs\tB_runs\n' | tee -a "$tsv"
for config in $CONFIGS; do
  for setting in $SETTINGS; do
    precision=${setting%%:*} ranks=${setting##*:}
    runs_a=() runs_b=()
    for ((r = 0; r < ROUNDS; r++)); do
      runs_a+=("$(bench "$a" "$ranks" "$config" "$precision")")
      runs_b+=("$(bench "$b" "$ranks" "$config" "$precision")")
    done
    "$PY" - "$(basename "$config" .json)" "$precision" "$ranks" "${runs_a[*]}" "${runs_b[*]}" <<'EOF' | tee -a "$tsv"
import statistics, sys
config, precision, ranks, a, b = sys.argv[1:6]
a, b = [float(x) for x in a.split()], [float(x) for x in b.split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"{config}\t{precision}\t{ranks}\t{ma:.1f}\t{mb:.1f}\t{mb / ma:.2f}\t"
      f"{','.join(f'{x:.1f}' for x in a)}\t{','.join(f'{x:.1f}' for x in b)}")
EOF
  done
done
echo "== written to $tsv"
