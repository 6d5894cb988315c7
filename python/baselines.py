#!/usr/bin/env python3
"""Shallow baselines (scikit-learn) on a cdae HDF5 dataset file (docs/datasets.md):
the same file, splits and scores as the cdae families of scripts/benchmark_fmnist.sh,
one runs.tsv row per method.

Methods (higher score = more anomalous; every one fitted on the train split only):
  iforest     Isolation Forest, 100 trees, 256 samples per tree (scikit-learn's
              defaults), on the raw features of the unlabelled train samples.
  ocsvm       One-class SVM, RBF kernel (gamma "scale"), nu 0.1, on a PCA of the raw
              features keeping 95% of their variance; PCA and SVM fitted on the
              unlabelled train samples (Deep SAD's shallow OC-SVM rows, without
              its choice of gamma on labelled test samples).
  supervised  A binary classifier, unlabelled train samples (as normal) vs the
              labelled known class (label 1 in the train split): RBF SVC (C 1,
              gamma "scale", balanced class weights) on the same PCA features;
              score = its decision function (Deep SAD's "supervised" row).
              Needs labelled anomalies: refused at gamma_l 0.
"Unlabelled train samples" = split 0 with label != 1: the normal class, and the
polluting anomalies when the import asked for --pollution. The labelled known
defects are never seen by iforest and ocsvm.

AUROC on the test split, normal (label 0) against: every anomaly (label >= 1,
"auroc_all"), the classes never labelled (label >= 2, "auroc_unseen"; n/a when
there are none), the known class (label 1, "auroc_known"). latent_auroc_known is
n/a. train_s: fit time; score_s: scoring the test split; wall_s: the whole run
(loading included).

Shared fits (--score-cache DIR): iforest and ocsvm see only the unlabelled train
samples, which are the same for every known class and gamma_l of a normal class
and seed, so the 90 pairs x 3 gamma_l of Deep SAD's protocol need only one fit per
normal class. With a cache directory their test-split scores are stored under a
hash of the method, the seed, this file, the unlabelled samples and the test
samples, and a later run on exactly the same arrays reuses them; AUROCs are always
computed from the current file's labels. A reused row keeps the train_s and score_s
of the fit that made the scores (the method's cost); its wall_s is this run's.

  python3 python/baselines.py data.h5 --methods "iforest ocsvm"        # rows with a header, to stdout
  python3 python/baselines.py data.h5 --methods supervised --normal 0 --known 1 --gamma-l 0.05 \\
      --seed 0 --config 1a2b3c4d --runs bench_out/fmnist/runs.tsv           # what benchmark_fmnist.sh runs
"""
import argparse
import hashlib
import os
import sys
import time

import h5py
import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC, OneClassSVM

HEADER = ["normal", "known", "gamma_l", "family", "contrastive", "seed", "config", "auroc_all", "auroc_unseen",
          "auroc_known", "latent_auroc_known", "train_s", "score_s", "wall_s"]
METHODS = ("iforest", "ocsvm", "supervised")
PCA_VARIANCE = 0.95
OCSVM_NU = 0.1
TRAIN, TEST = 0, 2
UNLABELLED_ONLY = ("iforest", "ocsvm")  # methods whose fit never sees the labelled defects


class DataError(Exception):
    """A dataset file that does not follow docs/datasets.md."""


def load_dataset(path):
    """(x as float64 (N, D), labels, split, class_names) of a cdae HDF5 dataset file."""
    if not os.path.isfile(path):
        raise DataError(f"dataset file '{path}' does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"dataset file '{path}' is not a readable HDF5 file ({e})") from e
    with f:
        for name in ("samples", "labels", "split"):
            if name not in f:
                raise DataError(f"dataset file '{path}' has no /{name} (layout: docs/datasets.md)")
        samples, labels, split = f["samples"][()], f["labels"][()], f["split"][()]
        names = f.attrs.get("class_names", "")
    names = names.decode() if isinstance(names, bytes) else str(names)
    n = samples.shape[0] if samples.ndim else 0
    if samples.ndim < 2:
        raise DataError(f"dataset file '{path}': /samples has shape {samples.shape}, expected (N, ...)")
    for name, values in (("labels", labels), ("split", split)):
        if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
            raise DataError(f"dataset file '{path}': /{name} is {values.dtype} {values.shape}, "
                            f"expected integers ({n},) like /samples' rows")
    x = samples.reshape(n, -1).astype(np.float64)
    if samples.dtype == np.uint8:
        x /= 255.0  # as cdae reads uint8 samples
    if not np.all(np.isfinite(x)):
        raise DataError(f"dataset file '{path}': /samples holds non-finite values")
    return x, labels.astype(np.int64), split.astype(np.int64), names.split(",") if names else []


def training_data(x, labels, split, path):
    """(unlabelled train samples, labelled known defects of the train split)."""
    train = split == TRAIN
    unlabelled, known = x[train & (labels != 1)], x[train & (labels == 1)]
    if len(unlabelled) < 2:
        raise DataError(f"dataset file '{path}': {len(unlabelled)} unlabelled train samples, at least 2 needed")
    return unlabelled, known


def fit_pca(x, seed):
    return PCA(n_components=PCA_VARIANCE, svd_solver="full", random_state=seed).fit(x)


def fit(method, unlabelled, known, seed, path):
    """A function scoring samples (higher = more anomalous), fitted on the train split."""
    if method == "iforest":
        model = IsolationForest(n_estimators=100, random_state=seed, n_jobs=1).fit(unlabelled)
        return lambda x: -model.score_samples(x)
    if method == "ocsvm":
        pca = fit_pca(unlabelled, seed)
        model = OneClassSVM(kernel="rbf", nu=OCSVM_NU, gamma="scale").fit(pca.transform(unlabelled))
        return lambda x: -model.decision_function(pca.transform(x))
    if method == "supervised":
        if len(known) == 0:
            raise DataError(f"dataset file '{path}': the train split has no labelled known defect (label 1); "
                            "the supervised baseline needs some (gamma_l > 0)")
        pca = fit_pca(unlabelled, seed)
        features = pca.transform(np.concatenate([unlabelled, known]))
        target = np.concatenate([np.zeros(len(unlabelled)), np.ones(len(known))])
        model = SVC(kernel="rbf", C=1.0, gamma="scale", class_weight="balanced", random_state=seed)
        model.fit(features, target)
        return lambda x: model.decision_function(pca.transform(x))
    raise ValueError(f"unknown method '{method}' (accepted: {', '.join(METHODS)})")


def auroc(scores, labels, anomalous):
    """AUROC of normal (label 0) vs the labels `anomalous` selects; None without both groups."""
    keep = (labels == 0) | anomalous
    positives = anomalous[keep]
    if positives.all() or not positives.any():
        return None
    return float(roc_auc_score(positives, scores[keep]))


def test_aurocs(scores, labels):
    """(all anomalies, unseen classes, known class) on the test split's scores."""
    return (auroc(scores, labels, labels >= 1), auroc(scores, labels, labels >= 2), auroc(scores, labels, labels == 1))


def cache_key(method, seed, unlabelled, test_x):
    """Names exactly what a fit of `method` sees: its code, seed and input arrays."""
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    h.update(f"{method} {seed} {unlabelled.shape} {test_x.shape}".encode())
    h.update(np.ascontiguousarray(unlabelled).tobytes())
    h.update(np.ascontiguousarray(test_x).tobytes())
    return f"{method}-s{seed}-{h.hexdigest()[:20]}"


def cached_scores(cache, key):
    """(scores, train_s, score_s) stored under key, or None."""
    path = os.path.join(cache, key + ".npz")
    if not os.path.isfile(path):
        return None
    with np.load(path) as z:
        return z["scores"], float(z["train_s"]), float(z["score_s"])


def store_scores(cache, key, scores, train_s, score_s):
    """Written to a temporary name and renamed, so a killed run leaves no half file."""
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, key + ".npz")
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, scores=scores, train_s=train_s, score_s=score_s)
    os.replace(tmp, path)


def run_method(method, data, seed, path, cache=None):
    """(aurocs, train_s, score_s, reused) of one method on the loaded dataset."""
    x, labels, split, _ = data
    unlabelled, known = training_data(x, labels, split, path)
    test = split == TEST
    if not test.any() or not (labels[test] == 0).any():
        raise DataError(f"dataset file '{path}': the test split has no normal sample (label 0) to score against")
    key = cache_key(method, seed, unlabelled, x[test]) if cache and method in UNLABELLED_ONLY else None
    hit = cached_scores(cache, key) if key else None
    if hit is not None:
        scores, train_s, score_s = hit
        return test_aurocs(scores, labels[test]), train_s, score_s, True
    np.random.seed(seed)
    t0 = time.perf_counter()
    score = fit(method, unlabelled, known, seed, path)
    t1 = time.perf_counter()
    scores = score(x[test])
    t2 = time.perf_counter()
    if key:
        store_scores(cache, key, scores, t1 - t0, t2 - t1)
    return test_aurocs(scores, labels[test]), t1 - t0, t2 - t1, False


def cell(value):
    return "n/a" if value is None else f"{value:.4f}"


def format_row(fields, aurocs, train_s, score_s, wall_s):
    return "\t".join([*fields, *map(cell, aurocs), "n/a", f"{train_s:.1f}", f"{score_s:.1f}", f"{wall_s:.1f}"])


def train_gamma(labels, split):
    """gamma_l = m / (n + m) of the train split, for rows written without --gamma-l."""
    train = split == TRAIN
    return f"{np.count_nonzero(train & (labels == 1)) / max(1, np.count_nonzero(train)):.4g}"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="the HDF5 dataset file (cdae-import's output)")
    p.add_argument("--methods", default="iforest ocsvm supervised",
                   help=f"space-separated, of {', '.join(METHODS)} (default: all three)")
    p.add_argument("--seed", type=int, default=0, help="seed of the methods' randomness, and the seed column")
    p.add_argument("--normal", default=None, help="the normal column (default: the file's first class name)")
    p.add_argument("--known", default=None, help="the known column (default: the file's second class name)")
    p.add_argument("--gamma-l", default=None, help="the gamma_l column (default: m / (n + m) of the train split)")
    p.add_argument("--config", default="-", help="the config column (benchmark_fmnist.sh: a hash of this file, "
                   "the method and the import)")
    p.add_argument("--score-cache", metavar="DIR", help="reuse iforest and ocsvm test scores fitted on the same "
                   "unlabelled samples, test samples and seed (see above); stored in DIR")
    p.add_argument("--runs", help="append the rows to this runs.tsv (header written if the file is new or "
                   "empty) instead of printing them with a header")
    args = p.parse_args(argv)
    args.methods = args.methods.split()
    bad = [m for m in args.methods if m not in METHODS]
    if bad or not args.methods:
        p.error(f"--methods '{' '.join(bad)}': accepted {', '.join(METHODS)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        started = time.perf_counter()
        data = load_dataset(args.data)
        loaded = time.perf_counter() - started
        _, labels, split, names = data
        normal = args.normal if args.normal is not None else (names[0] if names else "0")
        known = args.known if args.known is not None else (names[1] if len(names) > 1 else "1")
        gamma = args.gamma_l if args.gamma_l is not None else train_gamma(labels, split)
        rows = []
        for method in args.methods:
            t0 = time.perf_counter()
            aurocs, train_s, score_s, reused = run_method(method, data, args.seed, args.data, args.score_cache)
            wall_s = time.perf_counter() - t0 + loaded
            fields = [normal, known, gamma, method, "none", str(args.seed), args.config]
            rows.append(format_row(fields, aurocs, train_s, score_s, wall_s))
            all_, unseen, known_ = map(cell, aurocs)
            print(f"# {method}: AUROC all {all_}, unseen {unseen}, known {known_}; "
                  f"train {train_s:.1f} s, score {score_s:.1f} s"
                  + (" (scores of the same fit, reused from the cache)" if reused else ""), file=sys.stderr)
    except DataError as e:
        print(f"baselines.py: error: {e}", file=sys.stderr)
        return 1
    if args.runs:
        new = not os.path.exists(args.runs) or os.path.getsize(args.runs) == 0
        with open(args.runs, "a") as f:
            f.write(("\t".join(HEADER) + "\n" if new else "") + "".join(r + "\n" for r in rows))
    else:
        print("\t".join(HEADER))
        print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
