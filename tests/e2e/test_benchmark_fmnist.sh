#!/usr/bin/env bash
# scripts/benchmark_fmnist.sh on a tiny stand-in for Fashion-MNIST (IDX files
# made here: ten classes of 8x8 patterns), so that its bookkeeping is tested
# without the dataset package: one row per (pair, gamma_l, family) with the
# plain AE at gamma_l 0, AUROCs that are numbers in [0, 1], means in
# summary.tsv equal to those of the rows, finished runs kept on a rerun (and
# their files kept when another setting runs), the docs' table made from the
# rows, and bad arguments refused. Then the pair lists of `ten` and `all`
# (--list, --classes), the shallow baselines (python/baselines.py and its
# self-test) as rows beside the families, several seeds as separate runs with
# their spread in summary.tsv, and a resumed run keeping the finished baselines.
# Usage: bash test_benchmark_fmnist.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"

"$PY" - "$T" <<'EOF'
import struct, sys, random
random.seed(0)
def write_idx(path, dims, values, type_code=0x08):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, type_code, len(dims)))
        for d in dims: f.write(struct.pack(">I", d))
        f.write(bytes(values))
def images(n_per_class):
    pixels, labels = [], []
    for c in range(10):
        for _ in range(n_per_class):
            # class c: a bright row c % 8 and column c // 2, plus noise
            img = [random.randint(0, 40) for _ in range(64)]
            for k in range(8):
                img[(c % 8) * 8 + k] = 200 + random.randint(0, 55)
                img[k * 8 + c // 2] = 180 + random.randint(0, 75)
            pixels += img; labels.append(c)
    return pixels, labels
p, l = images(40); write_idx(sys.argv[1] + "/train-images", [len(l), 8, 8], p); write_idx(sys.argv[1] + "/train-labels", [len(l)], l)
p, l = images(10); write_idx(sys.argv[1] + "/test-images", [len(l), 8, 8], p); write_idx(sys.argv[1] + "/test-labels", [len(l)], l)
EOF

IMPORT_ARGS="idx --train-images $T/train-images --train-labels $T/train-labels --test-images $T/test-images --test-labels $T/test-labels"
B=(bash "$SRC/scripts/benchmark_fmnist.sh" --no-setup --out "$T/bench" --import "$IMPORT_ARGS"
   --set epochs=2 --set batch_size_train=8 --set batch_size_val=4
   --set contrastive_loss.n_outliers=2 --set contrastive_loss.n_outliers_val=1 --set 'model.channels=[4]'
   --set model.latent=4 --set 'model.hidden=[16,8]' --set progress_seconds=0)   # a list: cxxopts cuts it at the comma
export CDAE_BIN=$BIN CDAE_PYTHON=$PY

check "two pairs, gamma_l 0 and 0.2, conv and dense: 8 runs" \
  "${B[@]}" 0:1 3:5 --gammas "0 0.2" --families "conv dense"

check "runs.tsv: the plain AE at gamma_l 0, the contrastive kind above, AUROCs in [0, 1]" "$PY" - "$T/bench" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/runs.tsv"), delimiter="\t"))
assert len(rows) == 8, len(rows)
keys = {(r["normal"], r["known"], r["gamma_l"], r["family"]) for r in rows}
assert keys == {(n, k, g, f) for n, k in (("0", "1"), ("3", "5")) for g in ("0", "0.2") for f in ("conv", "dense")}, keys
for r in rows:
    assert (r["contrastive"] == "none") == (r["gamma_l"] == "0"), r
    if r["gamma_l"] != "0": assert r["contrastive"].startswith("margin+recovery_margin="), r
    for c in ("auroc_all", "auroc_unseen", "auroc_known"):
        assert 0.0 <= float(r[c]) <= 1.0, (c, r)
    assert float(r["train_s"]) > 0 and float(r["wall_s"]) >= float(r["train_s"]), r
EOF

check "summary.tsv holds the means of the rows" "$PY" - "$T/bench" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/runs.tsv"), delimiter="\t"))
summary = list(csv.DictReader(open(sys.argv[1] + "/summary.tsv"), delimiter="\t"))
assert len(summary) == 4, summary
for s in summary:
    group = [r for r in rows if float(r["gamma_l"]) == float(s["gamma_l"]) and r["family"] == s["family"]
             and r["contrastive"] == s["contrastive"] and r["config"] == s["config"]]
    assert int(s["pairs"]) == len(group) == 2, (s, group)
    for c in ("auroc_all", "auroc_unseen", "auroc_known"):
        mean = sum(float(r[c]) for r in group) / len(group)
        assert abs(float(s["mean_" + c]) - mean) < 1e-4, (c, s, mean)
EOF

echo "CHECK: a rerun keeps the finished runs"
"${B[@]}" 0:1 3:5 --gammas "0 0.2" --families "conv dense" > "$T/rerun.log" 2>&1
if [ "$(grep -c ', kept$' "$T/rerun.log")" -eq 8 ] && [ "$(wc -l < "$T/bench/runs.tsv")" -eq 9 ]; then
  echo "PASS: rerun"
else
  echo "FAIL: rerun:"; sed 's/^/    /' "$T/rerun.log" | tail -20; failures=$((failures + 1))
fi

echo "CHECK: another override is another run"
"${B[@]}" 0:1 --gammas 0.2 --set model.latent=3 > "$T/other.log" 2>&1
if ! grep -q ', kept$' "$T/other.log" && [ "$(wc -l < "$T/bench/runs.tsv")" -eq 10 ] &&
   [ "$(ls -d "$T"/bench/runs/n0_k1_g0.2_conv_s0_* | wc -l)" -eq 2 ]; then
  echo "PASS: another override"
else
  echo "FAIL: another override:"; sed 's/^/    /' "$T/other.log" | tail -20; failures=$((failures + 1))
fi

check "python/benchmark_table.py renders the rows" bash -c \
  "'$PY' '$SRC/python/benchmark_table.py' '$T/bench/runs.tsv' > '$T/table.md' && grep -q '^| 0.2 | conv |' '$T/table.md' &&
   grep -q '^| 0 T-shirt/top | 1 Trouser |' '$T/table.md'"

check "--list: 'all' is the 90 ordered pairs, 'ten' the neighbours; nothing is run" "$PY" - "$SRC" "$T" <<'EOF'
import os, subprocess, sys
src, t = sys.argv[1], sys.argv[2]
def plan(*args):
    out = subprocess.run(["bash", src + "/scripts/benchmark_fmnist.sh", "--no-setup", "--list", "--out", t + "/listed",
                          *args], capture_output=True, text=True, check=True).stdout.splitlines()
    runs = [l.split() for l in out if l.startswith("seed ")]  # seed S normal N known K gamma_l G METHOD: STATE
    return {(r[3], r[5]) for r in runs}, runs, out[-1]
pairs, runs, last = plan("all", "--families", "conv dense", "--gammas", "0 0.05")
assert pairs == {(str(n), str(k)) for n in range(10) for k in range(10) if n != k}, sorted(pairs)
assert len(runs) == 90 * 2 * 2 and "# 360 runs (90 pairs x 2 gamma_l x 1 seeds" in last, (len(runs), last)
pairs, runs, _ = plan("ten", "all", "--classes", "3", "--families", "", "--baselines", "ocsvm supervised",
                      "--gammas", "0 0.2", "--seeds", "0 1")
assert pairs == {("0", "1"), ("1", "2"), ("2", "0"), ("0", "2"), ("1", "0"), ("2", "1")}, pairs
# ocsvm at both gamma_l, supervised only where there are labelled anomalies; each seed its own runs
assert len(runs) == 6 * 2 * (2 + 1), len(runs)
assert not any(r[8] == "supervised:" and r[7] == "0" for r in runs), runs
assert {r[1] for r in runs} == {"0", "1"}, runs
pairs, _, _ = plan("ten", "--classes", "4", "--families", "dense")
assert pairs == {("0", "1"), ("1", "2"), ("2", "3"), ("3", "0")}, pairs
assert not os.path.exists(t + "/listed"), "--list wrote files"
EOF

check "python/baselines.py (score cache too), benchmark_errors.py and benchmark_table.py's seed statistics (self-test)" "$PY" "$SRC/python/test_baselines.py"

BASE=(bash "$SRC/scripts/benchmark_fmnist.sh" --no-setup --out "$T/base" --import "$IMPORT_ARGS" --families "")
echo "CHECK: baselines only: all pairs of 3 classes (iforest), one pair with 2 seeds (ocsvm, supervised)"
if "${BASE[@]}" all --classes 3 --baselines iforest --gammas 0 > "$T/base1.log" 2>&1 &&
   "${BASE[@]}" 0:1 --baselines "ocsvm supervised" --gammas "0 0.2" --seeds "0 1" > "$T/base2.log" 2>&1 &&
   grep -q 'ETA [0-9]* s\]' "$T/base2.log"; then
  echo "PASS: baselines"
else
  echo "FAIL: baselines:"; tail -n 20 "$T"/base*.log | sed 's/^/    /'; failures=$((failures + 1))
fi

check "baseline rows: the runs.tsv columns, AUROCs in [0, 1], latent n/a, one row per seed, one iforest fit per normal class" "$PY" - "$T/base" <<'EOF'
import csv, os, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/runs.tsv"), delimiter="\t"))
header = open(sys.argv[1] + "/runs.tsv").readline().rstrip("\n").split("\t")
assert header[:7] == ["normal", "known", "gamma_l", "family", "contrastive", "seed", "config"] and len(header) == 14, header
keys = [(r["normal"], r["known"], r["gamma_l"], r["family"], r["seed"]) for r in rows]
want = [(str(n), str(k), "0", "iforest", "0") for n in range(3) for k in range(3) if n != k]
want += [("0", "1", g, f, s) for s in "01" for g in ("0", "0.2") for f in ("ocsvm", "supervised")
         if (f, g) != ("supervised", "0")]
assert keys == want, keys
for r in rows:
    assert len(r) == 14 and None not in r.values(), r
    assert r["contrastive"] == "none" and r["latent_auroc_known"] == "n/a", r
    for c in ("auroc_all", "auroc_unseen", "auroc_known"):
        assert 0.0 <= float(r[c]) <= 1.0, (c, r)
    assert min(float(r["wall_s"]), float(r["train_s"]), float(r["score_s"])) >= 0, r
# iforest sees only the unlabelled samples: one fit per normal class, its scores reused for the
# other known classes, and a reused row keeps the fit's own train and score times.
cache = os.listdir(sys.argv[1] + "/score-cache")
assert sorted(f.split("-")[0] for f in cache if f.startswith("iforest")) == ["iforest"] * 3, cache
fits = {}
for r in rows:
    if r["family"] == "iforest":
        fits.setdefault(r["normal"], set()).add((r["train_s"], r["score_s"]))
assert all(len(t) == 1 for t in fits.values()), fits
summary = list(csv.DictReader(open(sys.argv[1] + "/summary.tsv"), delimiter="\t"))
s = [x for x in summary if x["family"] == "supervised"]
assert len(s) == 1 and (s[0]["pairs"], s[0]["seeds"], s[0]["runs"]) == ("1", "2", "2"), s
seeds = [float(r["auroc_all"]) for r in rows if r["family"] == "supervised"]
assert abs(float(s[0]["mean_auroc_all"]) - sum(seeds) / 2) < 1e-4, (s, seeds)
assert abs(float(s[0]["std_auroc_all"]) - abs(seeds[0] - seeds[1]) / 2 ** 0.5) < 1e-4, (s, seeds)
EOF

echo "CHECK: an interrupted baseline benchmark resumes: finished runs kept, the rest run"
cp "$T/base/runs.tsv" "$T/base/full.tsv"
head -n 5 "$T/base/full.tsv" > "$T/base/runs.tsv"   # as if stopped after 4 of the 6 iforest runs
if "${BASE[@]}" all --classes 3 --baselines iforest --gammas 0 > "$T/resume.log" 2>&1 &&
   [ "$(grep -c ', kept$' "$T/resume.log")" -eq 4 ] && [ "$(grep -c 'ETA' "$T/resume.log")" -eq 2 ] &&
   [ "$(wc -l < "$T/base/runs.tsv")" -eq 7 ]; then
  echo "PASS: resume"
else
  echo "FAIL: resume:"; sed 's/^/    /' "$T/resume.log" | tail -20; failures=$((failures + 1))
fi
cp "$T/base/full.tsv" "$T/base/runs.tsv"

echo "CHECK: benchmark_table.py puts the baselines beside the families, with the seeds' spread"
{ cat "$T/bench/runs.tsv"; tail -n +2 "$T/base/runs.tsv"; } > "$T/mixed.tsv"
if "$PY" "$SRC/python/benchmark_table.py" "$T/mixed.tsv" > "$T/mixed.md" &&
   grep -qE '^\| 0.2 \| supervised \| [0-9a-f]+ \| none \| 1 \| 2 \| \*\*[0-9.]+\*\* ± ' "$T/mixed.md" &&
   [ "$(awk -F' [|] ' '/^\| 0.2 \|/ { printf "%s ", $2 }' "$T/mixed.md")" = "conv conv dense ocsvm supervised " ]; then
  echo "PASS: table"
else
  echo "FAIL: table:"; sed 's/^/    /' "$T/mixed.md" | head -20; failures=$((failures + 1))
fi

expect_failure "the known class must differ from the normal one" "the known class must not be the normal one" \
  "${B[@]}" 3:3
expect_failure "an unknown family names its config" "no config configs/fmnist-nope.json" "${B[@]}" 0:1 --families nope
expect_failure "a malformed pair" "pair '1:2:3' is not NORMAL:KNOWN" "${B[@]}" 1:2:3
expect_failure "no pair" "no NORMAL:KNOWN pair given" "${B[@]}"
expect_failure "an unknown argument" "unknown argument '--bogus'" "${B[@]}" 0:1 --bogus
expect_failure "an unknown baseline" "unknown baseline 'kde'" "${B[@]}" 0:1 --baselines kde
expect_failure "nothing to run" "no family and no baseline to run" "${B[@]}" 0:1 --families ""
expect_failure "a class count below 2" "--classes '1' is not a class count" "${B[@]}" all --classes 1
expect_failure "a bad seed" "--seeds: 'x' is not a non-negative integer seed" "${B[@]}" 0:1 --seeds "0 x"
finish
