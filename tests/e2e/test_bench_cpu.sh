#!/usr/bin/env bash
# The CPU comparison tooling of issue 22 runs and writes complete tables on a
# tiny config: scripts/bench_cpu.sh --quick (smoke, 1 epoch: cdae and PyTorch
# eager, fp32 and bf16, 1 x 1, 2 x 1 (2 gloo DDP processes) and 1 x 2),
# scripts/bench_scaling.sh --quick, python/gemm_peak.py and
# python/bench_reference.py's torch.compile variant and its JSON fields, and
# python/profile_seed_layers.py (every form's forward checked against the plain
# convolution, a row per timed product).
# Nothing timed is asserted (only that times are positive); the figures are
# measured by hand, see docs/performance.md.
# Usage: bash test_bench_cpu.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
export CDAE_BIN=$BIN CDAE_PYTHON=$PY

check "bench_cpu.sh --quick" bash "$SRC/scripts/bench_cpu.sh" --quick "$T/table"
check "the table: 10 rows, cdae rows complete, every PyTorch row measured or skipped with a reason" \
  "$PY" - "$T/table" <<'PY'
import csv, json, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/bench_cpu.tsv"), delimiter="\t"))
cols = ["config", "side", "variant", "precision", "ranks", "threads", "ms_median", "ms_min", "ms_max",
        "gflop_per_epoch", "gflops", "pct_of_gemm_peak", "vs_fastest_pytorch", "status"]
assert all(c in rows[0] for c in cols), rows[0].keys()
got = sorted((r["side"], r["precision"], r["ranks"] + "x" + r["threads"]) for r in rows)
want = sorted([(s, p, l) for s in ("cdae", "pytorch") for p in ("fp32", "bf16") for l in ("1x1", "2x1")]
              + [("cdae", "fp32", "1x2"), ("pytorch", "fp32", "1x2")])
assert got == want, got
for r in rows:
    assert r["config"] == "smoke", r
    if r["side"] == "cdae" or r["precision"] == "fp32":
        assert r["status"] == "ok", r
    elif r["status"] != "ok":
        assert r["status"].startswith("skipped: ") and len(r["status"]) > 12, r
        continue
    assert 0 < float(r["ms_min"]) <= float(r["ms_median"]) <= float(r["ms_max"]), r
    assert float(r["gflops"]) > 0 and float(r["gflop_per_epoch"]) > 0 and float(r["pct_of_gemm_peak"]) > 0, r
    assert float(r["vs_fastest_pytorch"]) > 0, r
flop = {round(float(r["gflop_per_epoch"]), 6) for r in rows}
assert len(flop) == 1, f"cdae-bench and bench_reference.py count different FLOP: {flop}"
md = open(f"{out}/bench_cpu.md").read().splitlines()
table = [l for l in md if l.startswith("| ")]
assert table[0].startswith("| config | side | precision | ranks x threads |") and len(table) == 1 + 10, md
j = json.load(open(f"{out}/bench_cpu.json"))
assert j["gemm"]["fp32_1t"]["best_gflops"] > 0 and len(j["rows"]) == 10, j["gemm"]
print("table rows:", len(rows))
PY

check "bench_cpu.sh --quick, ROUNDS=2 at 1 x 1 fp32" env ROUNDS=2 LAYOUTS=1x1 PRECISIONS=fp32 GEMM=0 \
  bash "$SRC/scripts/bench_cpu.sh" --quick "$T/rounds"
check "rounds: a row per side, the median of its rounds' medians, each round's ratio; combine_rounds on made-up runs" \
  "$PY" - "$T/rounds" "$SRC/python" <<'PY'
import csv, json, os, statistics, sys
out = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import bench_cpu as B
rows = list(csv.DictReader(open(f"{out}/bench_cpu.tsv"), delimiter="\t"))
assert [(r["side"], r["rounds"]) for r in rows] == [("cdae", "2"), ("pytorch", "2")], rows
j = json.load(open(f"{out}/bench_cpu.json"))
assert [(r["side"], r["round"]) for r in j["runs"]] == [("cdae", 1), ("pytorch", 1), ("cdae", 2), ("pytorch", 2)], j["runs"]
for r in j["rows"]:
    meds = [x["ms_median"] for x in j["runs"] if x["side"] == r["side"]]
    assert r["round_medians_ms"] == meds and abs(r["ms_median"] - statistics.median(meds)) < 1e-9, r
cdae = j["rows"][0]
want = [pt["ms_median"] / c["ms_median"] for c, pt in zip(j["runs"][0::2], j["runs"][1::2])]
assert len(cdae["round_ratios"]) == 2 and all(abs(a - b) < 1e-9 for a, b in zip(cdae["round_ratios"], want)), cdae
assert abs(cdae["vs_fastest_pytorch"] - j["rows"][1]["ms_median"] / cdae["ms_median"]) < 1e-9, cdae
assert "by round" in open(f"{out}/bench_cpu.md").read()

def run(side, variant, rnd, ms, status="ok"):
    r = dict(config="c", side=side, variant=variant, precision="fp32", ranks=2, threads=1, epochs=5, warmup=1,
             round=rnd, gflop_per_epoch=1.0, wall_s=1.0, status=status)
    if status == "ok":
        r.update(ms_median=ms, ms_min=ms - 1, ms_max=ms + 1)
    return r
runs = [run("cdae", "cdae", 1, 100), run("pytorch", "eager", 1, 300), run("pytorch", "compile", 1, 250),
        run("cdae", "cdae", 2, 140), run("pytorch", "eager", 2, 280), run("pytorch", "compile", 2, 290),
        run("cdae", "cdae", 3, 110), run("pytorch", "eager", 3, 0, "timeout after 9 s"),
        run("pytorch", "compile", 3, 230)]
rows = B.combine_rounds(runs)
B.add_ratios(rows)
assert [(r["variant"], r["ms_median"]) for r in rows] == [("cdae", 110), ("eager", 290), ("compile", 250)], rows
assert rows[0]["ms_min"] == 99 and rows[0]["ms_max"] == 141 and rows[0]["status"] == "ok", rows[0]
assert rows[1]["status"] == "timeout after 9 s (1 of 3 rounds)" and rows[1]["round_medians_ms"] == [300, 280], rows[1]
assert rows[0]["fastest_pytorch"] == "compile" and abs(rows[0]["vs_fastest_pytorch"] - 250 / 110) < 1e-12, rows[0]
assert [round(x, 9) for x in B.round_ratios(runs, rows[0])] == [2.5, 2.0, round(230 / 110, 9)]
assert len(B.combine_rounds(runs[:3])) == 3 and B.combine_rounds(runs[:1])[0]["rounds"] == 1
os.makedirs(out + "/made-up")
md = B.write_table(out + "/made-up", runs, {}, {}, [])  # a failed round stays visible next to the others' figures
assert "| 290.0 (279.0-301.0); rounds 300.0 / 280.0; timeout after 9 s (1 of 3 rounds) |" in md, md
print("rounds:", cdae["round_medians_ms"], cdae["round_ratios"])
PY

check "bench_scaling.sh --quick" bash "$SRC/scripts/bench_scaling.sh" --quick "$T/scaling"
check "the scaling table: batch 16 and 32, frames 37 and 53" "$PY" - "$T/scaling" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/bench_scaling.tsv"), delimiter="\t"))
assert [(r["sweep"], r["frames"], r["train"]) for r in rows] == [
    ("batch", "49", "16"), ("batch", "49", "32"), ("frames", "37", "16"), ("frames", "53", "16")], rows
assert all(r["status"] == "ok" and float(r["ms_median"]) > 0 and float(r["gflops"]) > 0 for r in rows), rows
assert float(rows[1]["flop_x"]) > 1 and float(rows[3]["flop_x"]) > 1, rows
PY

check "gemm_peak.py" bash -c "'$PY' '$SRC/python/gemm_peak.py' --n 256 --reps 2 --max-seconds 5 --json > '$T/gemm.json'"
check "gemm_peak.py JSON" "$PY" -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['threads'] == 1 and j['dtypes']['fp32']['best_gflops'] > 0, j
assert 'best_gflops' in j['dtypes']['bf16'] or 'skipped' in j['dtypes']['bf16'], j" "$T/gemm.json"

check "profile_seed_layers.py --check (conv1 and deconv1, every form)" bash -c "'$PY' \
  '$SRC/python/profile_seed_layers.py' --batch 1 --repeats 1 --peak 100 --layers conv1,deconv1 --check > '$T/layers.md'"
check "the layer profile: the forms checked, every product timed" "$PY" - "$T/layers.md" <<'PY'
import sys
text = open(sys.argv[1]).read()
for form in ("channels_last", "frames2d", "frame_gemm", "im2col"):
    assert f"# conv1 {form}: forward checked" in text, (form, text)
rows = [l.split("|")[1:4] for l in text.splitlines() if l.startswith("| conv1") or l.startswith("| deconv1")]
rows = [tuple(c.strip() for c in r) for r in rows]
for want in [("conv1", "ncdhw", "fwd"), ("conv1", "ncdhw", "wgrad"), ("conv1", "frame_gemm", "wgrad"),
             ("conv1", "im2col", "wgrad"), ("deconv1", "ncdhw", "dgrad"), ("deconv1", "channels_last", "wgrad")]:
    assert want in rows, (want, rows)
assert ("conv1", "ncdhw", "dgrad") not in rows, rows  # the data needs no gradient
PY

# torch.compile on the CPU (inductor writes C++ and needs a compiler): ~30-60 s
# on the smoke config, most of it compiling. Without a C++ compiler the variant
# must be reported as skipped, not crash.
check "bench_reference.py fp32 + compile-fp32" bash -c "'$PY' '$SRC/python/bench_reference.py' \
  --config '$SRC/configs/smoke.json' --device cpu --variants fp32,compile-fp32 --epochs 2 --warmup 0 --threads 1 \
  --json > '$T/compile.json'"
have_cxx=0
if command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1; then have_cxx=1; fi
check "bench_reference.py JSON: statistics, compile time apart" "$PY" - "$T/compile.json" "$have_cxx" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert j["procs"] == 1 and j["threads"] == 1 and j["gflop_per_epoch"] > 0 and j["parameters"] == 42355, j
e = j["variants"]["fp32"]
for k in ("median_ms", "min_ms", "max_ms", "mean_ms", "stdev_ms", "iqr_ms", "warmup_s", "gflops"):
    assert k in e, (k, e)
assert e["epochs"] == 2 and e["warmup"] == 0 and 0 < e["min_ms"] <= e["median_ms"] <= e["max_ms"], e
c = j["variants"]["compile-fp32"]
if "skipped" in c and sys.argv[2] == "0":
    print("compile-fp32 skipped (no C++ compiler):", c["skipped"])
else:
    assert "skipped" not in c, c
    # The warm-up epoch that torch.compile gets holds the compile time; the timed ones do not.
    assert c["warmup"] == 1 and c["compile_s"] > 0 and c["warmup_s"] * 1e3 > c["max_ms"], c
    print("compile-fp32: compile %.1f s, then %.1f ms/epoch (eager %.1f)" % (c["compile_s"], c["median_ms"],
                                                                             e["median_ms"]))
PY
finish
