#!/usr/bin/env bash
# The CPU speed comparison, in one shell, one measurement after the other:
# cdae-bench against PyTorch eager (python/bench_reference.py, the same model,
# batch and losses) with the same threads, on the cpu preset and the smoke
# config; cdae under bf16 autocast; and the split of this machine's cores into
# ranks x threads. Prints one table (ms/epoch medians, the ratio to PyTorch
# eager fp32 with the same cores, GFLOP/s and the share of the fp32 peak of
# the cores used) and writes it to OUT/bench_cpu.tsv.
#   bash scripts/bench_cpu.sh [OUT]          # default bench_out/
# Environment: EPOCHS (timed epochs, default 10), CONFIGS (default
# "configs/cpu-contrastive.json configs/smoke.json"), FLOP_PER_CYCLE (fp32
# FLOP per core per cycle for the peak: default 64 with AVX-512, i.e. two
# 16-lane FMA pipes, else 32), CDAE_BIN (default build), CDAE_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench_out}
mkdir -p "$out"
BIN=${CDAE_BIN:-build}
PY=${CDAE_PYTHON:-/usr/bin/python3}
EPOCHS=${EPOCHS:-10}
CONFIGS=${CONFIGS:-"configs/cpu-contrastive.json configs/smoke.json"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cores=$(nproc)
# The clock for the peak: lscpu's maximum where it has one, else the current one.
mhz=$(lscpu 2>/dev/null | awk -F: '/^CPU max MHz/ { gsub(/ /, "", $2); print $2; exit }')
[ -n "$mhz" ] || mhz=$(awk -F: '/^cpu MHz/ { gsub(/ /, "", $2); print $2; exit }' /proc/cpuinfo)
[ -n "$mhz" ] || mhz=0
default_fpc=32; grep -qw avx512f /proc/cpuinfo && default_fpc=64
fpc=${FLOP_PER_CYCLE:-$default_fpc}
peak_core=$(awk -v m="$mhz" -v f="$fpc" 'BEGIN { printf "%.1f", m * 1e-3 * f }')
peak=$(awk -v c="$cores" -v p="$peak_core" 'BEGIN { printf "%.0f", c * p }')
model=$(awk -F: '/^model name/ { sub(/^ /, "", $2); print $2; exit }' /proc/cpuinfo)
echo "== $model, $cores cores at ${mhz} MHz: fp32 peak ${peak_core} GFLOP/s per core, ${peak} in all ($fpc FLOP/cycle/core); $EPOCHS timed epochs"

tsv=$out/bench_cpu.tsv
echo "config	side	precision	ranks	threads	ms_median	ms_min	gflops	percent_of_peak" > "$tsv"
# row CONFIG SIDE PRECISION RANKS THREADS JSON: appends the row, keeps the
# median; the share of the peak is of the cores used (ranks x threads).
row() {
  "$PY" - "$@" "$peak_core" >> "$tsv" <<'EOF'
import json, sys
cfg, side, prec, ranks, threads, text, peak_core = sys.argv[1:8]
peak = float(peak_core) * int(ranks) * int(threads)
j = json.loads(text.strip().splitlines()[-1])
if side == "cdae":
    med, lo, gf = j["ms_per_epoch_median"], j["ms_per_epoch_min"], 1e3 * j["tflops"]
else:
    v = j["variants"][prec] if "variants" in j else j[prec]
    med, lo, gf = v["median_ms"], v["min_ms"], float("nan")
pct = 100 * gf / peak if gf == gf and peak > 0 else float("nan")
print(f"{cfg}\t{side}\t{prec}\t{ranks}\t{threads}\t{med:.1f}\t{lo:.1f}\t{gf:.1f}\t{pct:.1f}")
EOF
}
cdae() {  # RANKS THREADS CONFIG [--set ...]
  local ranks=$1 threads=$2; shift 2
  if [ "$ranks" -eq 1 ]; then
    OMP_NUM_THREADS=$threads "$BIN/cdae-bench" --config "$@" --epochs "$EPOCHS" --warmup 2 --json
  else
    OMP_NUM_THREADS=$threads mpirun --oversubscribe --bind-to none -np "$ranks" \
      "$BIN/cdae-bench" --config "$@" --epochs "$EPOCHS" --warmup 2 --json
  fi
}
pytorch() {  # THREADS CONFIG
  OMP_NUM_THREADS=$1 "$PY" python/bench_reference.py --config "$2" --device cpu --variants fp32 \
    --epochs "$(( EPOCHS < 5 ? EPOCHS : 5 ))" --warmup 1 --json
}

for config in $CONFIGS; do
  name=$(basename "$config" .json)
  echo "== $name"
  echo "   cdae fp32, 1 rank x 1 thread";   row "$name" cdae fp32 1 1 "$(cdae 1 1 "$config")"
  echo "   PyTorch eager fp32, 1 thread";    row "$name" pytorch fp32 1 1 "$(pytorch 1 "$config")"
  echo "   cdae bf16, 1 rank x 1 thread";   row "$name" cdae bf16 1 1 "$(cdae 1 1 "$config" --set precision=bf16)"
  if [ "$cores" -ge 2 ]; then
    echo "   cdae fp32, 1 rank x 2 threads";  row "$name" cdae fp32 1 2 "$(cdae 1 2 "$config")"
    echo "   cdae fp32, 2 ranks x 1 thread";  row "$name" cdae fp32 2 1 "$(cdae 2 1 "$config")"
    echo "   cdae bf16, 2 ranks x 1 thread";  row "$name" cdae bf16 2 1 "$(cdae 2 1 "$config" --set precision=bf16)"
    echo "   PyTorch eager fp32, 2 threads";  row "$name" pytorch fp32 1 2 "$(pytorch 2 "$config")"
  fi
done

"$PY" - "$tsv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def eager(cfg, cores):
    for r in rows:
        if r["config"] == cfg and r["side"] == "pytorch" and int(r["threads"]) == cores:
            return float(r["ms_median"])
print(f"\n{'config':<16} {'side':<8} {'prec':<5} {'ranks x threads':>15} {'ms/epoch':>9} {'min':>8} "
      f"{'vs eager (same cores)':>22} {'GFLOP/s':>8} {'% peak':>7}")
for r in rows:
    cores = int(r["ranks"]) * int(r["threads"])
    e = eager(r["config"], cores)
    ratio = f"{e / float(r['ms_median']):.2f}x" if e else "-"
    print(f"{r['config']:<16} {r['side']:<8} {r['precision']:<5} {r['ranks'] + ' x ' + r['threads']:>15} "
          f"{float(r['ms_median']):>9.1f} {float(r['ms_min']):>8.1f} {ratio:>22} {r['gflops']:>8} {r['percent_of_peak']:>7}")
EOF
echo "table: $tsv"
