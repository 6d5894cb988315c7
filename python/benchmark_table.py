#!/usr/bin/env python3
"""The Fashion-MNIST benchmark's runs.tsv (scripts/benchmark_fmnist.sh) as the
Markdown tables of docs/results.md: the means per setting beside Deep SAD's
published means, then one row per (normal, known) pair.

  python3 python/benchmark_table.py bench_out/fmnist/runs.tsv
"""
import csv
import sys
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


def pct(rows, column):
    values = [number(r[column]) for r in rows]
    values = [v for v in values if v == v]
    return 100.0 * sum(values) / len(values) if values else float("nan")


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    # One setting = family, gamma_l and config (a hash of the config file,
    # the overrides, the data source and the ranks): other settings are not mixed in.
    groups = defaultdict(list)
    for r in rows:
        groups[(r["family"], r["config"], float(r["gamma_l"]))].append(r)
    settings = sorted({(f, c) for f, c, _ in groups})
    gammas = sorted({g for _, _, g in groups})

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
    main(sys.argv[1] if len(sys.argv) > 1 else "bench_out/fmnist/runs.tsv")
