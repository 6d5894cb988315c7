#!/usr/bin/env python3
"""The Fashion-MNIST benchmark's runs.tsv (scripts/benchmark_fmnist.sh) as the
Markdown tables of docs/results.md: the means per setting (cdae families and the
shallow baselines of python/baselines.py side by side) beside Deep SAD's
published means, then one row per (normal, known) pair.

A setting is (family or baseline, config, gamma_l). With several seeds its mean
is the mean over the seeds of each seed's mean over the pairs, +- the standard
deviation (n - 1) of those per-seed means; per pair, the mean over the seeds and
[min, max] of the seeds' AUROC (all).

  python3 python/benchmark_table.py bench_out/fmnist/runs.tsv
  python3 python/benchmark_table.py RUNS.tsv --summary-tsv SUMMARY.tsv --means-only   # what the script runs
  python3 python/benchmark_table.py RUNS.tsv --reference none --class-names 0,1,2,3,4,5,6,7,8,9   # digits
"""
import argparse
import csv
import math
import statistics
from collections import defaultdict

FASHION_MNIST = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
BASELINES = ("iforest", "ocsvm", "supervised")  # python/baselines.py; listed after the cdae families
# Ruff et al., "Deep Semi-Supervised Anomaly Detection", ICLR 2020, Table 1
# (Fashion-MNIST, mean AUROC over the 90 (normal, known) pairs, gamma_p = 0).
DEEP_SAD = {0.0: 89.2, 0.01: 90.0, 0.05: 90.5}
SUPERVISED = {0.01: 74.4, 0.05: 76.8}
AUROCS = ("auroc_all", "auroc_unseen", "auroc_known")


def number(text):
    try:
        return float(text)
    except ValueError:  # "n/a" (no such class in the split) or empty
        return float("nan")


def mean(rows, column):
    values = [number(r[column]) for r in rows]
    values = [v for v in values if v == v]
    return sum(values) / len(values) if values else float("nan")


def by_seed(rows):
    seeds = defaultdict(list)
    for r in rows:
        seeds[r["seed"]].append(r)
    return seeds


def seed_spread(rows, column):
    """(mean over seeds of the per-seed means over the pairs, their std (n - 1) or nan for one seed)."""
    means = [m for m in (mean(rs, column) for rs in by_seed(rows).values()) if m == m]
    if not means:
        return float("nan"), float("nan")
    return statistics.fmean(means), statistics.stdev(means) if len(means) > 1 else float("nan")


def pairs_of(rows):
    return sorted({(int(r["normal"]), int(r["known"])) for r in rows})


def incomplete(rows):
    """Seeds that lack some of the setting's pairs (their means cover other pairs)."""
    pairs = set(pairs_of(rows))
    return sorted(s for s, rs in by_seed(rows).items() if set(pairs_of(rs)) != pairs)


def setting_order(settings):
    """cdae families first (by name), then the baselines in BASELINES order."""
    rank = lambda s: (BASELINES.index(s[0]) + 1 if s[0] in BASELINES else 0, s)
    return sorted(settings, key=rank)


def pct(value):
    return 100.0 * value


def fmt(value, std=float("nan"), bold=False):
    if value != value:
        return "-"
    text = f"**{pct(value):.1f}**" if bold else f"{pct(value):.1f}"
    return text + (f" ± {pct(std):.1f}" if std == std else "")


def wall(seconds):
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def run_seconds(rows):
    """Mean train_s + score_s: what a method costs on a split. Not wall_s, which for a
    baseline whose scores came from baselines.py's cache (one fit per normal class and
    seed) is only the harness's loading time."""
    costs = [number(r["train_s"]) + number(r["score_s"]) for r in rows]
    costs = [c for c in costs if c == c]
    return sum(costs) / len(costs) if costs else math.nan


def write_summary(path, groups, settings, gammas):
    """summary.tsv: one row per setting, the means over its pairs (over seeds: see the module's doc)."""
    with open(path, "w") as f:
        f.write("gamma_l\tfamily\tcontrastive\tconfig\tpairs\tseeds\truns\t" +
                "\t".join("mean_" + c for c in AUROCS) + "\tmean_s\t" + "\t".join("std_" + c for c in AUROCS) + "\n")
        for g in gammas:
            for fam, cfg in settings:
                rs = groups.get((fam, cfg, g), [])
                if not rs:
                    continue
                kinds = ",".join(sorted({r["contrastive"] for r in rs}))
                spreads = [seed_spread(rs, c) for c in AUROCS]
                cell = lambda v: "n/a" if v != v else f"{v:.4f}"
                f.write(f"{g:g}\t{fam}\t{kinds}\t{cfg}\t{len(pairs_of(rs))}\t{len(by_seed(rs))}\t{len(rs)}\t" +
                        "\t".join(cell(m) for m, _ in spreads) + f"\t{run_seconds(rs):.1f}\t" +
                        "\t".join(cell(s) for _, s in spreads) + "\n")


def print_means(groups, settings, gammas, reference):
    print("Means over the pairs (AUROC x 100; all = the whole test split, normal vs every anomaly class; "
          "with several seeds: mean ± std over the seeds of each seed's mean):\n")
    ref_head, ref_rule = (" Deep SAD | supervised |", "---|---|") if reference == "fmnist" else ("", "")
    print(f"| gamma_l | family | config | contrastive | pairs | seeds | AUROC all | AUROC unseen | AUROC known |"
          f"{ref_head} mean s (train + score) |")
    print(f"|---|---|---|---|---|---|---|---|---|{ref_rule}---|")
    warnings = []
    for g in gammas:
        for f, c in settings:
            rs = groups.get((f, c, g), [])
            if not rs:
                continue
            kinds = sorted({r["contrastive"] for r in rs})
            cells = [fmt(*seed_spread(rs, col), bold=col == "auroc_all") for col in AUROCS]
            ref = ""
            if reference == "fmnist":
                ref = f" {fmt(DEEP_SAD.get(g, math.nan) / 100)} | {fmt(SUPERVISED.get(g, math.nan) / 100)} |"
            print(f"| {g:g} | {f} | {c} | {', '.join(kinds)} | {len(pairs_of(rs))} | {len(by_seed(rs))} | "
                  f"{' | '.join(cells)} |{ref} {wall(run_seconds(rs))} |")
            if incomplete(rs):
                warnings.append(f"gamma_l {g:g} {f} ({c}): seed(s) {', '.join(incomplete(rs))} lack some of the "
                                f"{len(pairs_of(rs))} pairs, so the seeds' means are over different pairs")
    print()
    for w in warnings:
        print("Note: " + w)
    if warnings:
        print()


def print_pairs(rows, groups, settings, gammas, class_names):
    name = lambda i: f"{i} {class_names[i]}" if i < len(class_names) and class_names[i] != str(i) else str(i)
    for f, c in settings:
        rs_fc = [r for r in rows if (r["family"], r["config"]) == (f, c)]
        several = len(by_seed(rs_fc)) > 1
        print(f"Per pair, {f} (config {c}; AUROC all / unseen x 100" +
              ("; mean over the seeds, [min, max] of all" if several else "") + "):\n")
        print("| normal | known | " + " | ".join(f"gamma_l {g:g}" for g in gammas) + " |")
        print("|---|---|" + "---|" * len(gammas))
        for n, k in pairs_of(rs_fc):
            cells = []
            for g in gammas:
                m = [r for r in groups.get((f, c, g), []) if int(r["normal"]) == n and int(r["known"]) == k]
                if not m:
                    cells.append("-")
                    continue
                text = f"{fmt(mean(m, 'auroc_all'))} / {fmt(mean(m, 'auroc_unseen'))}"
                values = [v for v in (number(r["auroc_all"]) for r in m) if v == v]
                if several and values:
                    text += f" [{fmt(min(values))}, {fmt(max(values))}]"
                cells.append(text)
            print(f"| {name(n)} | {name(k)} | " + " | ".join(cells) + " |")
        print()


def select(rows, seeds=None, pairs=None):
    """The rows of the given seeds and (normal, known) pairs; None keeps all."""
    if seeds is not None:
        keep = set(seeds.split())
        rows = [r for r in rows if r["seed"] in keep]
    if pairs is not None:
        wanted = pairs.split()
        if wanted == ["ten"]:
            wanted = [f"{c}:{(c + 1) % 10}" for c in range(10)]
        keep = {tuple(w.split(":")) for w in wanted}
        rows = [r for r in rows if (r["normal"], r["known"]) in keep]
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="?", default="bench_out/fmnist/runs.tsv", help="runs.tsv of benchmark_fmnist.sh")
    p.add_argument("--summary-tsv", help="also write the means per setting to this TSV file")
    p.add_argument("--means-only", action="store_true", help="print the means table only")
    p.add_argument("--reference", choices=("fmnist", "none"), default="fmnist",
                   help="published figures beside the means: Deep SAD's Fashion-MNIST table, or none")
    p.add_argument("--class-names", default=FASHION_MNIST,
                   help="comma-separated names of the class ids in the per-pair tables (default: Fashion-MNIST's)")
    p.add_argument("--seeds", help="only these seeds (space-separated), e.g. \"0\"")
    p.add_argument("--pairs", help="only these NORMAL:KNOWN pairs (space-separated), or \"ten\" for "
                   "0:1 1:2 ... 9:0 (e.g. the 10 pairs of a runs.tsv that also holds all 90)")
    args = p.parse_args()
    with open(args.runs) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    rows = select(rows, args.seeds, args.pairs)
    if not rows:
        p.error(f"no run in {args.runs} matches --seeds / --pairs")
    # One setting = family, gamma_l and config (a hash of the config file,
    # the overrides, the data source and the ranks): other settings are not mixed in.
    groups = defaultdict(list)
    for r in rows:
        groups[(r["family"], r["config"], float(r["gamma_l"]))].append(r)
    settings = setting_order({(f, c) for f, c, _ in groups})
    gammas = sorted({g for _, _, g in groups})
    if args.summary_tsv:
        write_summary(args.summary_tsv, groups, settings, gammas)
    print_means(groups, settings, gammas, args.reference)
    if args.means_only:
        return
    print_pairs(rows, groups, settings, gammas, args.class_names.split(","))
    total = sum(v for v in (number(r["wall_s"]) for r in rows) if v == v)
    print(f"{len(rows)} runs, {total / 60:.1f} minutes of wall time in all.")


if __name__ == "__main__":
    main()
