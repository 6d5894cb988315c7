#!/usr/bin/env bash
# cdae-bench and the PyTorch side of the benchmark run on CPU and report
# sane figures (the figures themselves are recorded in docs/performance.md).
# Usage: bash test_bench.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
mpirun --oversubscribe --bind-to none -np 2 "$BIN/cdae-bench" --config "$SRC/configs/smoke.json" --epochs 3 --warmup 1 \
  --json > "$T/cdae.json"
"$BIN/cdae-bench" --config "$SRC/configs/smoke.json" --epochs 2 --warmup 1 | tee "$T/cdae.txt"
$PY "$SRC/python/bench_reference.py" --config "$SRC/configs/smoke.json" --device cpu --variants fp32 --epochs 2 \
  --warmup 1 --json > "$T/torch.json"
$PY - "$T" <<'PY'
import json, sys
T = sys.argv[1]
c = json.loads(open(f"{T}/cdae.json").read().strip().splitlines()[-1])
assert c["ranks"] == 2 and c["epochs"] == 3, c
assert 0 < c["ms_per_epoch_min"] <= c["ms_per_epoch_median"] <= c["ms_per_epoch_max"], c
split = c["split_ms"]
assert set(split) == {"data", "forward", "backward", "comm", "optimizer", "validation"}, split
assert all(v >= 0 for v in split.values()) and split["backward"] > 0, split
assert c["tflop_per_epoch"] > 0 and c["tflops"] > 0 and c["peak_memory_mb"] > 0, c
t = json.loads(open(f"{T}/torch.json").read().strip().splitlines()[-1])
assert t["variants"]["fp32"]["median_ms"] > 0, t
print(f"PASS: cdae-bench {c['ms_per_epoch_median']:.1f} ms/epoch on 2 ranks; PyTorch fp32 {t['variants']['fp32']['median_ms']:.1f} ms/epoch")
PY
grep -q "ms/epoch   median" "$T/cdae.txt"
