#!/usr/bin/env bash
# The multi-class evaluation end to end: a contrastive smoke run on 2 ranks,
# `cdae-infer --classes` on 2 ranks, then the figures of python/plot_results.py.
# Checks every class folder (hist.dat, first/worst pictures), eval.h5,
# summary.tsv (AUROC in [0,1] wherever the data exist), and that every PNG
# opens and every SVG parses.
#   bash tests/e2e/test_eval_classes.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
MPI="mpirun --oversubscribe --bind-to none -np 2"
N=24      # samples per class
PICS=2    # first and worst pictures per class
set_out=(--set path_save_model=$T/model --set path_scratch=$T/scratch --set inference.results=$T/res
         --set inference.weights=$T/model/best.h5 --set inference.n_samples=$N)
fail() { echo "FAIL: $*"; exit 1; }

start=$SECONDS
$MPI "$BIN/cdae-train" --config "$SRC/configs/smoke.json" "${set_out[@]}" > "$T/train.log" 2>&1 \
  || { tail -n 20 "$T/train.log"; fail "cdae-train"; }
[ -s "$T/model/best.h5" ] || fail "no best.h5 after training"
$MPI "$BIN/cdae-infer" --config "$SRC/configs/smoke.json" "${set_out[@]}" --classes --pictures $PICS \
  > "$T/infer.log" 2>&1 || { tail -n 20 "$T/infer.log"; fail "cdae-infer --classes"; }
grep -q 'vs all other outliers' "$T/infer.log" || { cat "$T/infer.log"; fail "no summary table on stdout"; }

$PY - "$T/res" "$N" "$PICS" <<'PY' || fail "evaluation outputs (see above)"
import glob, math, os, sys
import h5py, numpy as np
res, N, PICS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
expected = ["2.0", "2.1", "1.9", "1.0", "0", "-2", "3", "random"]  # the default list of smoke.json
folder = lambda c: os.path.join(res, "res_random" if c == "random" else f"res_dtheta={c}")
errors = []
def check(cond, msg):
    if not cond: errors.append(msg)

with h5py.File(os.path.join(res, "eval.h5"), "r") as f:
    attr = lambda k: f.attrs[k].decode() if isinstance(f.attrs[k], bytes) else str(f.attrs[k])
    classes = attr("classes").split(",")
    check(classes == expected, f"eval.h5 classes attribute {classes} != {expected}")
    check(attr("normal_class") == "2.0" and attr("defect_class") == "2.1",
          f"normal/defect attributes {attr('normal_class')}/{attr('defect_class')}")
    losses, latent = {}, {}
    for c in classes:
        g = f"classes/{c}"
        check(g in f, f"eval.h5 has no /{g}")
        if g not in f: continue
        l = f[g + "/losses"][()]
        check(l.shape == (N,), f"{c}: losses shape {l.shape}")
        check(np.isfinite(l).all(), f"{c}: non-finite losses")
        check(f[g + "/angle0"].shape == (N,), f"{c}: angle0 shape")
        losses[c] = l
        latent[c] = "latent_dist_normal" in f[g] and "latent_dist_defect" in f[g]
        if latent[c]:
            for k in ("latent_dist_normal", "latent_dist_defect"):
                v = f[g + "/" + k][()]
                check(v.shape == (N,) and np.isfinite(v).all() and (v >= 0).all(), f"{c}: {k}")
# best.h5 of a contrastive run carries both centroids, so every class has latent distances.
check(all(latent.values()), f"latent distances missing for {[c for c, v in latent.items() if not v]}")

for c in expected:
    d = folder(c)
    check(os.path.isdir(d), f"no folder {d}")
    if not os.path.isdir(d): continue
    h = np.loadtxt(os.path.join(d, "hist.dat"))
    check(h.shape == (100, 2), f"{c}: hist.dat shape {h.shape}")  # max(N // 10, 100) bins
    integral = (h[:, 1] * (h[1, 0] - h[0, 0])).sum()
    check(abs(integral - 1) < 1e-6, f"{c}: hist.dat integrates to {integral}")
    pics = sorted(os.path.basename(p) for p in glob.glob(os.path.join(d, "*.png")))
    idx = {int(p.split("_")[0]) for p in pics}
    worst = set(int(i) for i in np.argsort(-losses.get(c, np.zeros(N)), kind="stable")[:PICS])
    want = set(range(PICS)) | worst
    check(idx == want, f"{c}: pictures for samples {sorted(idx)}, expected first and worst {sorted(want)}")
    for p in pics:  # {index:06d}_{loss:.5f}.png with the sample's own loss
        i, l = p[:-4].split("_")
        check(abs(float(l) - losses[c][int(i)]) < 1e-5 + 1e-6 * abs(float(l)), f"{c}: picture {p} loss")

rows = [l.rstrip("\n") for l in open(os.path.join(res, "summary.tsv"))]
check(rows[0] == "class\tn\tmedian\tp5\tp95\tauroc_vs_normal\tlatent_auroc_vs_normal", f"header {rows[0]!r}")
body = [r.split("\t") for r in rows[1:] if not r.startswith("#")]
check([r[0] for r in body] == expected, f"summary.tsv classes {[r[0] for r in body]}")
for r in body:
    c = r[0]
    check(int(r[1]) == N, f"{c}: n {r[1]}")
    med, p5, p95 = map(float, r[2:5])
    check(p5 <= med <= p95, f"{c}: percentiles {p5} {med} {p95}")
    check(abs(med - np.median(losses[c])) <= 1e-4 * max(1, abs(med)), f"{c}: median {med} vs {np.median(losses[c])}")
    for k, name in ((5, "auroc_vs_normal"), (6, "latent_auroc_vs_normal")):
        if k == 6 and not latent[c]: continue
        check(r[k] != "n/a" and 0 <= float(r[k]) <= 1, f"{c}: {name} = {r[k]}")
    # The loss AUROC against the normal, recomputed.
    pos, neg = losses[c][:, None], losses["2.0"][None, :]
    a = ((pos > neg) + 0.5 * (pos == neg)).mean()
    check(abs(float(r[5]) - a) < 6e-5, f"{c}: AUROC {r[5]} vs recomputed {a:.4f}")
tail = [r for r in rows if r.startswith("#")]
check(len(tail) == 1, "no '#' line with the defect against the other outliers")
if tail:
    parts = tail[0].split()
    for key in ("auroc_loss", "auroc_latent"):
        v = parts[parts.index(key) + 1] if key in parts else "missing"
        check(v != "n/a" and v != "missing" and 0 <= float(v) <= 1, f"defect vs outliers {key} = {v}")
if errors:
    print("\n".join(errors)); sys.exit(1)
print(f"# {len(expected)} classes x {N} samples: folders, hist.dat, pictures, eval.h5, summary.tsv OK")
PY

# Figures. The same eval.h5 stands in for "before" (the pairing is what is tested).
$PY "$SRC/python/plot_results.py" --eval "$T/res/eval.h5" --eval-before "$T/res/eval.h5" \
    --progress "$T/model/progress.dat" --out "$T/fig" --title "e2e" > "$T/plot.log" 2>&1 \
  || { cat "$T/plot.log"; fail "plot_results.py"; }
$PY - "$T/fig" "$T/plot.log" <<'PY' || fail "figures (see above)"
import os, sys, xml.etree.ElementTree as ET
import matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
out, log = sys.argv[1], sys.argv[2]
printed = [l.strip() for l in open(log) if l.strip()]
want = [f"{s}.{e}" for s in ("hist_overlay", "training_curves", "before_after") for e in ("png", "svg")]
got = sorted(os.listdir(out))
assert got == sorted(want), f"figures {got}, expected {sorted(want)}"
assert sorted(os.path.basename(p) for p in printed) == sorted(want), f"printed paths {printed}"
for name in want:
    p = os.path.join(out, name)
    if name.endswith(".png"):
        img = mpimg.imread(p)
        assert img.ndim == 3 and img.shape[0] > 0 and img.shape[1] > 0, (p, img.shape)
    else:
        root = ET.parse(p).getroot()
        assert root.tag.endswith("svg"), (p, root.tag)
print("# figures: every PNG opens, every SVG parses")
PY
# A missing input is a clear error, not a traceback.
if $PY "$SRC/python/plot_results.py" --eval "$T/nope.h5" --out "$T/fig2" > "$T/err.log" 2>&1; then
  fail "plot_results.py accepted a missing file"
fi
grep -q "nope.h5' does not exist" "$T/err.log" || { cat "$T/err.log"; fail "unclear error for a missing file"; }
! grep -q Traceback "$T/err.log" || fail "traceback for a missing file"

echo "PASS: multi-class evaluation and figures ($((SECONDS - start)) s)"
