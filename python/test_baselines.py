#!/usr/bin/env python3
"""Self-test of baselines.py and benchmark_table.py's seed statistics on a tiny
HDF5 dataset made here, and of benchmark_errors.py on a tiny runs tree (no cdae binaries, no network; seconds). Exits non-zero
on failure. Run by tests/e2e/test_benchmark_fmnist.sh."""
import csv
import io
import os
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import baselines as B  # noqa: E402
import benchmark_errors as E  # noqa: E402
import benchmark_table as T  # noqa: E402


def write_dataset(path, m_known=6, uint8=False):
    """Normal: a Gaussian blob at 0 in 6-D (train 80, val 10, test 30); known (label 1)
    at +5 in every dimension; an unseen class (label 2) at -5; test 20 of each."""
    rng = np.random.default_rng(0)
    blob = lambda n, shift: rng.normal(0, 1, (n, 6)) + shift
    e0, e1 = np.full(6, 5.0), np.full(6, -5.0)
    parts = [(blob(80, 0), 0, 0), (blob(m_known, e0), 1, 0), (blob(10, 0), 0, 1),
             (blob(30, 0), 0, 2), (blob(20, e0), 1, 2), (blob(20, e1), 2, 2)]
    x = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    split = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    with h5py.File(path, "w") as f:
        if uint8:
            f["samples"] = np.clip(x * 20 + 128, 0, 255).astype(np.uint8).reshape(-1, 1, 2, 3)
        else:
            f["samples"] = x.astype(np.float32)
        f["labels"] = labels.astype(np.int64)
        f["split"] = split.astype(np.uint8)
        f.attrs["class_names"] = "normal,known,other"


def run_main(argv):
    out = io.StringIO()
    with redirect_stdout(out):
        rc = B.main(argv)
    return rc, out.getvalue()


def test_methods_and_rows(tmp):
    path = os.path.join(tmp, "d.h5")
    write_dataset(path)
    rc, text = run_main([path, "--seed", "3"])
    assert rc == 0, rc
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    assert [r["family"] for r in rows] == ["iforest", "ocsvm", "supervised"], rows
    for r in rows:
        assert list(r) == B.HEADER, list(r)
        assert (r["normal"], r["known"], r["seed"], r["contrastive"]) == ("normal", "known", "3", "none"), r
        assert r["gamma_l"] == f"{6 / 86:.4g}", r["gamma_l"]  # m / (n + m) of the train split
        assert r["latent_auroc_known"] == "n/a", r
        for c in ("auroc_all", "auroc_unseen", "auroc_known"):
            assert 0.9 <= float(r[c]) <= 1.0, (c, r)  # the blobs are far apart in every dimension
        assert float(r["wall_s"]) >= float(r["train_s"]) >= 0, r
    # Deterministic for a seed (all but the timing columns).
    untimed = lambda t: [line.split("\t")[:-3] for line in t.splitlines()]
    assert untimed(run_main([path, "--seed", "3"])[1]) == untimed(text)
    # uint8 images are scaled by 1/255 as cdae reads them; the rows still score well.
    write_dataset(path, uint8=True)
    rc, text = run_main([path, "--methods", "iforest", "--normal", "0", "--known", "1", "--gamma-l", "0.05",
                         "--config", "abc"])
    row = list(csv.DictReader(io.StringIO(text), delimiter="\t"))[0]
    assert (row["normal"], row["known"], row["gamma_l"], row["config"]) == ("0", "1", "0.05", "abc"), row
    assert float(row["auroc_all"]) > 0.9, row
    print("methods and rows ok")


def test_append_and_refusals(tmp):
    path, runs = os.path.join(tmp, "d.h5"), os.path.join(tmp, "runs.tsv")
    write_dataset(path)
    assert run_main([path, "--methods", "ocsvm", "--runs", runs])[0] == 0
    assert run_main([path, "--methods", "iforest", "--runs", runs])[0] == 0
    lines = open(runs).read().splitlines()
    assert lines[0].split("\t") == B.HEADER and len(lines) == 3, lines
    # The supervised baseline needs labelled anomalies; a broken file is named.
    write_dataset(path, m_known=0)
    tool = [sys.executable, os.path.join(HERE, "baselines.py")]
    p = subprocess.run(tool + [path, "--methods", "supervised"], capture_output=True, text=True)
    assert p.returncode == 1 and "no labelled known defect" in p.stderr and path in p.stderr, p.stderr
    assert run_main([path, "--methods", "iforest"])[0] == 0  # the unsupervised ones do not
    with h5py.File(path, "a") as f:
        del f["split"]
    p = subprocess.run(tool + [path], capture_output=True, text=True)
    assert p.returncode == 1 and f"'{path}' has no /split" in p.stderr, p.stderr
    p = subprocess.run(tool + [path, "--methods", "kde"], capture_output=True, text=True)
    assert p.returncode == 2 and "--methods 'kde'" in p.stderr, p.stderr
    print("appending and refusals ok")


def aurocs_of(text):
    return [(r["family"], r["auroc_all"], r["auroc_unseen"], r["auroc_known"])
            for r in csv.DictReader(io.StringIO(text), delimiter="\t")]


def test_score_cache(tmp):
    """iforest and ocsvm scores are reused only for the same unlabelled and test samples,
    and the AUROCs always come from the file's own labels."""
    a, b, c = (os.path.join(tmp, n) for n in ("a.h5", "b.h5", "c.h5"))
    cache = os.path.join(tmp, "cache")
    write_dataset(a)
    for path in (b, c):
        write_dataset(path)
    with h5py.File(b, "a") as f:  # another known class: its labelled samples and the test labels differ
        labels, split = f["labels"][()], f["split"][()]
        samples = f["samples"][()]
        samples[(split == 0) & (labels == 1)] *= -1
        test = split == 2
        was_known, was_unseen, normal = test & (labels == 1), test & (labels == 2), np.flatnonzero(test & (labels == 0))
        labels[was_known], labels[was_unseen] = 2, 1
        labels[normal[:10]] = 2  # normal-looking "anomalies": AUROCs below 1 that tell labels apart
        f["samples"][...], f["labels"][...] = samples, labels
    with h5py.File(c, "a") as f:  # other unlabelled samples: no reuse
        samples, labels, split = f["samples"][()], f["labels"][()], f["split"][()]
        samples[(split == 0) & (labels == 0)] += 0.5
        f["samples"][...] = samples
    methods = ["--methods", "iforest ocsvm supervised"]
    assert run_main([a, *methods, "--score-cache", cache])[0] == 0
    assert sorted(f.split("-")[0] for f in os.listdir(cache)) == ["iforest", "ocsvm"], os.listdir(cache)
    rc, cached_b = run_main([b, *methods, "--score-cache", cache])
    assert rc == 0 and len(os.listdir(cache)) == 2, os.listdir(cache)  # both reused, nothing new stored
    plain_b = run_main([b, *methods])[1]
    assert aurocs_of(cached_b) == aurocs_of(plain_b), (cached_b, plain_b)
    assert all(float(r[2]) < 0.9 for r in aurocs_of(plain_b)), plain_b  # unseen: 10 of them look normal
    assert aurocs_of(cached_b) != aurocs_of(run_main([a, *methods])[1])  # labels of b, not of a
    tool = [sys.executable, os.path.join(HERE, "baselines.py")]
    p = subprocess.run(tool + [b, "--methods", "ocsvm", "--score-cache", cache], capture_output=True, text=True)
    assert p.returncode == 0 and "reused from the cache" in p.stderr, p.stderr
    assert run_main([c, *methods, "--score-cache", cache])[0] == 0
    assert len(os.listdir(cache)) == 4, os.listdir(cache)
    print("score cache ok")


def test_benchmark_errors(tmp):
    """benchmark_errors.py reads the runs' per-class tables: worst pairs, the normal x
    class matrix over the pairs where a class was unseen, the change against gamma_l 0."""
    out = os.path.join(tmp, "bench")
    header = ["normal", "known", "gamma_l", "family", "contrastive", "seed", "config", "auroc_all",
              "auroc_unseen", "auroc_known", "latent_auroc_known", "train_s", "score_s", "wall_s"]
    names = ["A", "B", "C"]
    rows = []
    # pair (normal, known, gamma): AUROC of each class by name
    runs = {(0, 1, "0.05"): {"B": 0.99, "C": 0.70}, (0, 2, "0.05"): {"B": 0.90, "C": 0.98},
            (0, 1, "0"): {"B": 0.80, "C": 0.72}, (0, 2, "0"): {"B": 0.91, "C": 0.80}}
    for (n, k, g), auroc in runs.items():
        labels = {names[n]: 0, names[k]: 1}
        labels.update({c: 2 for c in names if c not in labels})
        unseen = [a for c, a in auroc.items() if labels[c] == 2]
        rows.append([str(n), str(k), g, "dense", "x", "0", "cfg", f"{sum(auroc.values()) / 2:.4f}",
                     f"{unseen[0]:.4f}", f"{auroc[names[k]]:.4f}", "n/a", "1", "1", "2"])
        d = os.path.join(out, "runs", f"n{n}_k{k}_g{g}_dense_s0_cfg", "results")
        os.makedirs(d)
        with open(os.path.join(d, "summary.tsv"), "w") as f:
            f.write("class\tlabel\tn\tmedian\tp95\tauroc_vs_normal\tap_vs_normal\tlatent_auroc_vs_normal\tflagged\n")
            f.write(f"{names[n]}\t0\t10\t1\t2\tn/a\tn/a\tn/a\t0\n")
            for c, a in auroc.items():
                f.write(f"{c}\t{labels[c]}\t10\t1\t2\t{a}\t0.5\t0.5\t1\n")
            f.write("all anomalies\t>=1\t20\t1\t2\t0.9\t0.5\t0.5\t1\n")
    with open(os.path.join(out, "runs.tsv"), "w") as f:
        f.write("\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in rows))
    text = io.StringIO()
    with redirect_stdout(text):
        assert E.main([out, "--family", "dense", "--gamma", "0.05", "--plain-gamma", "0", "--worst", "1"]) == 0
    text = text.getvalue()
    assert "2 pairs, mean AUROC all 89.25" in text, text
    assert "| 0 A | 84.5 | 94.0 | 89.2 |" in text, text  # the pair matrix: known 1 (B), known 2 (C), mean
    assert "| 0 A | 1 B | 84.5 | 70.0 | 99.0 | C 70.0, B 99.0 |" in text, text  # the worst pair, hardest first
    assert "| 0 A | 90.0 | 70.0 |" in text, text  # B unseen only in 0:2 (90), C only in 0:1 (70)
    assert "2 pairs: mean change -1.50 points; 0 gain or tie, 2 lose: 0:1 -2.00, 0:2 -1.00." in text, text
    print("benchmark errors ok")


def test_seed_statistics():
    row = lambda seed, n, k, a: {"seed": seed, "normal": n, "known": k, "auroc_all": a}
    rows = [row("0", "0", "1", "0.8"), row("0", "1", "0", "0.6"), row("1", "0", "1", "0.9"), row("1", "1", "0", "0.9")]
    m, s = T.seed_spread(rows, "auroc_all")
    assert abs(m - 0.8) < 1e-12 and abs(s - np.std([0.7, 0.9], ddof=1)) < 1e-12, (m, s)
    assert T.incomplete(rows) == []
    assert T.incomplete(rows[:3]) == ["1"], T.incomplete(rows[:3])  # seed 1 lacks pair 1:0
    m, s = T.seed_spread(rows[:2], "auroc_all")
    assert abs(m - 0.7) < 1e-12 and s != s, (m, s)  # one seed: no spread
    assert T.setting_order({("supervised", "a"), ("iforest", "b"), ("dense", "c"), ("conv", "d")}) == \
        [("conv", "d"), ("dense", "c"), ("iforest", "b"), ("supervised", "a")]
    assert T.select(rows, seeds="1") == rows[2:], T.select(rows, seeds="1")
    assert T.select(rows, pairs="ten") == [rows[0], rows[2]]  # 0:1 is one of the ten, 1:0 is not
    assert T.select(rows, seeds="0", pairs="1:0") == [rows[1]]
    print("seed statistics ok")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        test_methods_and_rows(tmp)
        test_append_and_refusals(tmp)
        test_score_cache(tmp)
        test_benchmark_errors(tmp)
    test_seed_statistics()
    print("all ok")
