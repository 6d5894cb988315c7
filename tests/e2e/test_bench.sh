#!/usr/bin/env bash
# cdae-bench and the PyTorch side of the benchmark run on CPU and report
# sane figures (the figures themselves are recorded in docs/performance.md);
# --profile-ops gives an operator table and a Chrome trace; large host tensors
# are on huge pages where the kernel offers them.
# Usage: bash test_bench.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
mpirun --oversubscribe --bind-to none -np 2 "$BIN/cdae-bench" --config "$SRC/configs/smoke.json" --epochs 3 --warmup 1 \
  --profile-ops 1 --profile-top 8 --profile-trace "$T/trace.json" --json > "$T/cdae.json"
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
# Large host tensors on transparent huge pages wherever the kernel offers them (app/host_memory.h).
# The kernel may have no free huge page at the moment (fragmented memory late in a
# long run): huge pages are then only required never to be reported where THP is off.
assert isinstance(c["host_huge_pages"], bool), c
assert not (c["host_huge_pages"] and c["transparent_huge_pages"] == "never"), c
ops = c["operators"]
assert ops["epochs"] == 1 and ops["self_ms_per_epoch"] > 0 and len(ops["top"]) == 8, ops
selfs = [r["self_ms_per_epoch"] for r in ops["top"]]
assert selfs == sorted(selfs, reverse=True) and sum(selfs) <= ops["self_ms_per_epoch"] * 1.0001, selfs
assert all(r["operator"] and r["calls"] >= 1 and r["total_ms_per_epoch"] >= r["self_ms_per_epoch"] * 0.9999
           for r in ops["top"]), ops["top"]
assert any("conv" in r["operator"] or "bmm" in r["operator"] or "col2im" in r["operator"] for r in ops["top"]), ops["top"]
trace = json.load(open(f"{T}/trace.json"))
assert any(e.get("name") == ops["top"][0]["operator"] for e in trace["traceEvents"]), "top operator not in the trace"
t = json.loads(open(f"{T}/torch.json").read().strip().splitlines()[-1])
assert t["variants"]["fp32"]["median_ms"] > 0, t
print(f"PASS: cdae-bench {c['ms_per_epoch_median']:.1f} ms/epoch on 2 ranks; PyTorch fp32 {t['variants']['fp32']['median_ms']:.1f} ms/epoch")
PY
grep -q "ms/epoch   median" "$T/cdae.txt"
grep -q "host tensors of 2 MB and more on huge pages" "$T/cdae.txt"
