#!/usr/bin/env python3
"""The Fashion-MNIST benchmark's runs.tsv (scripts/benchmark_fmnist.sh) as the
Markdown tables of docs/results.md: the means per setting beside Deep SAD's
published means, then one row per (normal, known) pair.

  python3 python/benchmark_table.py bench_out/fmnist/runs.tsv
  python3 python/benchmark_table.py RUNS.tsv --summary-tsv SUMMARY.tsv --means-only   # what the script runs
"""
import argparse
import csv
from collections import defaultdict

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Ruff et al., "Deep Semi-Supervised Anomaly Detection", ICLR 2020, Table 1
# (Fashion-MNIST, mean AUROC over the 90 (normal, known) pairs, gamma_p = 0).
DEEP_SAD = {0.0: 89.2, 0.01: 90.0, 0.05: 90.5}
SUPERVISED = {0.01: 74.4, 0.05: 76.8}


def number(text):
    try:
        return float(text)
    except ValueError:  # "n/a" (no such class in the split) or empty
        return float("nan")


def mean(rows, column):
    values = [number(r[column]) for r in rows]
    values = [v for v in values if v == v]
    return sum(values) / len(values) if values else float("nan")


def pct(rows, column):
    return 100.0 * mean(rows, column)


def write_summary(path, groups, settings, gammas):
    """summary.tsv: one row per setting with the means over its pairs."""
    cols = ["auroc_all", "auroc_unseen", "auroc_known", "wall_s"]
    with open(path, "w") as f:
        f.write("gamma_l\tfamily\tcontrastive\tconfig\tpairs\t" + "\t".join("mean_" + c for c in cols) + "\n")
        for g in gammas:
            for fam, cfg in settings:
                rs = groups.get((fam, cfg, g), [])
                if rs:
                    kinds = ",".join(sorted({r["contrastive"] for r in rs}))
                    m = [mean(rs, c) for c in cols]
                    f.write(f"{g:g}\t{fam}\t{kinds}\t{cfg}\t{len(rs)}\t" + "\t".join(f"{x:.4f}" for x in m[:3])
                            + f"\t{m[3]:.1f}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="?", default="bench_out/fmnist/runs.tsv")
    p.add_argument("--summary-tsv", help="also write the means per setting to this TSV file")
    p.add_argument("--means-only", action="store_true", help="print the means table only")
    args = p.parse_args()
    rows = list(csv.DictReader(open(args.runs), delimiter="\t"))
    # One setting = family, gamma_l and config (a hash of the config file,
    # the overrides, the data source and the ranks): other settings are not mixed in.
    groups = defaultdict(list)
    for r in rows:
        groups[(r["family"], r["config"], float(r["gamma_l"]))].append(r)
    settings = sorted({(f, c) for f, c, _ in groups})
    gammas = sorted({g for _, _, g in groups})
    if args.summary_tsv:
        write_summary(args.summary_tsv, groups, settings, gammas)

    print("Means over the pairs (AUROC x 100; all = the whole test split, normal vs the nine anomaly classes):\n")
    print("| gamma_l | family | config | contrastive | pairs | AUROC all | AUROC unseen | AUROC known | Deep SAD | "
          "supervised | mean wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for g in gammas:
        for f, c in settings:
            rs = groups.get((f, c, g), [])
            if not rs:
                continue
            kinds = sorted({r["contrastive"] for r in rs})
            print(f"| {g:g} | {f} | {c} | {', '.join(kinds)} | {len(rs)} | **{pct(rs, 'auroc_all'):.1f}** | "
                  f"{pct(rs, 'auroc_unseen'):.1f} | {pct(rs, 'auroc_known'):.1f} | {DEEP_SAD.get(g, float('nan')):.1f} | "
                  f"{SUPERVISED.get(g, float('nan')):.1f} | {sum(number(r['wall_s']) for r in rs) / len(rs):.0f} |"
                  .replace("nan", "-"))
    print()
    if args.means_only:
        return
    for f, c in settings:
        print(f"Per pair, {f} (config {c}; AUROC all / unseen x 100):\n")
        print("| normal | known | " + " | ".join(f"gamma_l {g:g}" for g in gammas) + " |")
        print("|---|---|" + "---|" * len(gammas))
        pairs = sorted({(int(r["normal"]), int(r["known"])) for r in rows if (r["family"], r["config"]) == (f, c)})
        for n, k in pairs:
            cells = []
            for g in gammas:
                m = [r for r in groups.get((f, c, g), []) if int(r["normal"]) == n and int(r["known"]) == k]
                cells.append(f"{pct(m, 'auroc_all'):.1f} / {pct(m, 'auroc_unseen'):.1f}" if m else "-")
            name = lambda i: f"{i} {CLASSES[i]}" if i < len(CLASSES) else str(i)
            print(f"| {name(n)} | {name(k)} | " + " | ".join(cells) + " |")
        print()
    total = sum(number(r["wall_s"]) for r in rows)
    print(f"{len(rows)} runs, {total / 60:.1f} minutes of training and scoring in all.")


if __name__ == "__main__":
    main()
