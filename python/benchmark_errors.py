#!/usr/bin/env python3
"""Where a benchmark's remaining errors are: per (normal class, anomaly class) AUROC
from the runs' own per-class tables, for one family (or baseline-free) setting.

  python3 python/benchmark_errors.py bench_out/fmnist --family dense --gamma 0.05 [--seed 0]
                                     [--config HASH] [--worst 10] [--plain-gamma 0]

Reads OUT/runs.tsv (scripts/benchmark_fmnist.sh) and, for every matching cdae run,
OUT/runs/n<N>_k<K>_g<G>_<family>_s<seed>_<config>/results/summary.tsv (cdae-infer's
per-class table). Prints, as Markdown:
  0. the AUROC (all) of every pair as a normal x known matrix;
  1. the worst pairs by AUROC (all), each with its three hardest anomaly classes;
  2. the normal x anomaly-class matrix of AUROC x 100 for the classes never labelled
     (for each normal class, an anomaly class's mean over the pairs where it was not the
     known class): which classes the detector cannot tell from which normal class;
  3. with --plain-gamma: per pair, the unseen-class AUROC against the same pair's plain
     autoencoder (that gamma_l, normally 0): how many pairs lose, and by how much.
"""
import argparse
import csv
import os
import sys
from collections import defaultdict


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def same_gamma(a, b):
    return abs(float(a) - float(b)) < 1e-12


def runs_of(out, family, gamma, seed, config):
    rows = [r for r in read_tsv(os.path.join(out, "runs.tsv"))
            if r["family"] == family and same_gamma(r["gamma_l"], gamma) and r["seed"] == seed
            and (config is None or r["config"] == config)]
    configs = sorted({r["config"] for r in rows})
    if len(configs) > 1:
        raise SystemExit(f"benchmark_errors.py: {family} at gamma_l {gamma} has several configs "
                         f"({', '.join(configs)}): choose one with --config")
    return rows


def summary_path(out, row):
    return os.path.join(out, "runs", f"n{row['normal']}_k{row['known']}_g{row['gamma_l']}_{row['family']}"
                                     f"_s{row['seed']}_{row['config']}", "results", "summary.tsv")


def class_aurocs(out, row):
    """({anomaly class name: (label, AUROC)}, the normal class's name) of one run's per-class table."""
    run = summary_path(out, row)
    if not os.path.isfile(run):
        raise SystemExit(f"benchmark_errors.py: no per-class table {run} for the run in runs.tsv")
    classes, normal = {}, None
    for r in read_tsv(run):
        if r["label"] == "0":
            normal = r["class"]
        elif r["label"].lstrip("-").isdigit() and r["auroc_vs_normal"] != "n/a":
            classes[r["class"]] = (int(r["label"]), float(r["auroc_vs_normal"]))
    return classes, normal


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="the benchmark's output folder (runs.tsv and runs/)")
    p.add_argument("--family", default="dense")
    p.add_argument("--gamma", default="0.05")
    p.add_argument("--seed", default="0")
    p.add_argument("--config", default=None, help="the config hash, when runs.tsv holds several")
    p.add_argument("--worst", type=int, default=10, help="worst pairs listed (default 10)")
    p.add_argument("--plain-gamma", default=None, help="compare the unseen classes with this gamma_l's runs")
    args = p.parse_args(argv)

    rows = runs_of(args.out, args.family, args.gamma, args.seed, args.config)
    if not rows:
        raise SystemExit(f"benchmark_errors.py: no {args.family} run at gamma_l {args.gamma}, seed {args.seed} "
                         f"in {args.out}/runs.tsv")
    per_run, names = [], {}
    for r in rows:
        classes, normal = class_aurocs(args.out, r)
        per_run.append((r, classes))
        for name, (label, _) in classes.items():
            if label == 1:
                names[r["known"]] = name
        names[r["normal"]] = normal or names.get(r["normal"])

    print(f"## {args.family}, gamma_l {args.gamma}, seed {args.seed}: {len(rows)} pairs, "
          f"mean AUROC all {100 * sum(float(r['auroc_all']) for r in rows) / len(rows):.2f}\n")
    normals = sorted({r["normal"] for r in rows}, key=lambda s: (len(s), s))
    knowns = sorted({r["known"] for r in rows}, key=lambda s: (len(s), s))
    by_pair = {(r["normal"], r["known"]): float(r["auroc_all"]) for r in rows}
    print("### AUROC (all) x 100 of every pair: normal class per row, known class per column\n")
    print("| normal \\ known | " + " | ".join(f"{k} {names.get(k) or ''}".strip() for k in knowns) + " | mean |")
    print("|---|" + "---|" * (len(knowns) + 1))
    for n in normals:
        values = [by_pair.get((n, k)) for k in knowns]
        present = [v for v in values if v is not None]
        print(f"| {n} {names.get(n) or ''} | " + " | ".join("-" if v is None else f"{100 * v:.1f}" for v in values)
              + f" | {100 * sum(present) / len(present):.1f} |")
    print()
    print(f"### The {min(args.worst, len(rows))} worst pairs (AUROC x 100)\n")
    print("| normal | known | all | unseen | known | hardest anomaly classes |")
    print("|---|---|---|---|---|---|")
    for r, classes in sorted(per_run, key=lambda rc: float(rc[0]["auroc_all"]))[:args.worst]:
        hardest = sorted(((a, n) for n, (label, a) in classes.items() if label >= 1))[:3]
        print(f"| {r['normal']} {names.get(r['normal']) or ''} | {r['known']} {names.get(r['known']) or ''} | "
              f"{100 * float(r['auroc_all']):.1f} | {100 * float(r['auroc_unseen']):.1f} | "
              f"{100 * float(r['auroc_known']):.1f} | "
              + ", ".join(f"{n} {100 * a:.1f}" for a, n in hardest) + " |")

    # normal x anomaly class, over the pairs where the class was not the known one.
    cells = defaultdict(list)
    for r, classes in per_run:
        for name, (label, a) in classes.items():
            if label >= 2:
                cells[(r["normal"], name)].append(a)
    anomaly_names = sorted({n for _, n in cells}, key=lambda n: [k for k, v in names.items() if v == n] or [n])
    print("\n### Unseen classes: AUROC x 100 of each anomaly class against each normal class\n")
    print("(mean over the pairs where that class was not the known one)\n")
    print("| normal \\ anomaly | " + " | ".join(anomaly_names) + " |")
    print("|---|" + "---|" * len(anomaly_names))
    for n in normals:
        values = [cells.get((n, a)) for a in anomaly_names]
        print(f"| {n} {names.get(n) or ''} | "
              + " | ".join(f"{100 * sum(v) / len(v):.1f}" if v else "-" for v in values) + " |")

    if args.plain_gamma is not None:
        plain = {(r["normal"], r["known"]): float(r["auroc_unseen"])
                 for r in runs_of(args.out, args.family, args.plain_gamma, args.seed, None)}
        diffs = [(float(r["auroc_unseen"]) - plain[(r["normal"], r["known"])], r["normal"], r["known"])
                 for r in rows if (r["normal"], r["known"]) in plain]
        if diffs:
            losses = sorted(d for d in diffs if d[0] < 0)
            print(f"\n### Unseen classes against the plain autoencoder (gamma_l {args.plain_gamma})\n")
            print(f"{len(diffs)} pairs: mean change {100 * sum(d[0] for d in diffs) / len(diffs):+.2f} points; "
                  f"{len(diffs) - len(losses)} gain or tie, {len(losses)} lose"
                  + (": " + ", ".join(f"{n}:{k} {100 * d:+.2f}" for d, n, k in losses) if losses else "") + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
