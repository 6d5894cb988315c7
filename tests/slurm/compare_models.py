#!/usr/bin/env python3
"""Compares the /model datasets of two cdae checkpoints.

    compare_models.py A.h5 B.h5 [--tolerance T]

Per dataset: |a - b| / |b| (Frobenius norms), the measure of the N-rank
equivalence test (tests/mpi/test_dist_equivalence.cpp). Prints the largest
one; exits 1 when a dataset is missing on one side or differs by more than
the tolerance (default 0: bitwise equal).
"""
import argparse
import sys

import h5py
import numpy as np


def datasets(group, prefix=""):
    out = {}
    for name, item in group.items():
        if isinstance(item, h5py.Group):
            out.update(datasets(item, prefix + name + "/"))
        else:
            out[prefix + name] = np.asarray(item[()], dtype=np.float64)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--tolerance", type=float, default=0.0)
    args = parser.parse_args()
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        a, b = datasets(fa["model"]), datasets(fb["model"])
        epochs = (int(fa.attrs["epoch"]), int(fb.attrs["epoch"]))
    missing = sorted(set(a) ^ set(b))
    if missing:
        print(f"datasets on one side only: {missing}")
        return 1
    worst, worst_name = 0.0, ""
    for name in sorted(a):
        diff = np.linalg.norm(a[name] - b[name]) / max(np.linalg.norm(b[name]), 1e-30)
        if diff > worst:
            worst, worst_name = diff, name
    print(f"{len(a)} datasets, epochs {epochs[0]} and {epochs[1]}: largest relative difference "
          f"{worst:.3g}{' (' + worst_name + ')' if worst_name else ''}, tolerance {args.tolerance:g}")
    return 0 if worst <= args.tolerance and epochs[0] == epochs[1] else 1


if __name__ == "__main__":
    sys.exit(main())
