#!/usr/bin/env python3
"""Before/after table of two `cdae-infer --classes` runs (their summary.tsv).

    compare_summaries.py BEFORE/summary.tsv AFTER/summary.tsv [--tsv OUT.tsv]

Prints, per class: the median recovery loss before and after, its ratio to
the normal class's median, the AUROC against the normal class (recovery loss
and latent distance), and the defect's AUROC against all other outliers. The
first row of a summary is the normal class, the second the defect (the order
cdae-infer --classes writes). Standard library only.
"""
import argparse
import sys


def read_summary(path):
    rows, defect_line = [], {}
    with open(path) as f:
        header = None
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# defect"):
                # "# defect 3.0 vs all other outliers: auroc_loss 0.4910 auroc_latent n/a"
                words = line.split()
                defect_line = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i].startswith("auroc")}
                continue
            if not line or line.startswith("#"):
                continue
            cells = line.split("\t")
            if header is None:
                header = cells
                continue
            rows.append(dict(zip(header, cells)))
    if len(rows) < 2:
        sys.exit("%s: expected the normal class and the defect, found %d rows" % (path, len(rows)))
    return rows, defect_line


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--tsv", help="also write the table as TSV here")
    args = parser.parse_args(argv)
    before, defect_before = read_summary(args.before)
    after, defect_after = read_summary(args.after)
    normal_before, normal_after = float(before[0]["median"]), float(after[0]["median"])
    by_class = {r["class"]: r for r in before}
    header = ["class", "median_before", "median_after", "ratio_before", "ratio_after", "auroc_before",
              "auroc_after", "latent_auroc_after"]
    table = []
    for k, r in enumerate(after):
        b = by_class.get(r["class"])
        if b is None:
            continue
        role = " (normal)" if k == 0 else " (defect)" if k == 1 else ""
        mb, ma = float(b["median"]), float(r["median"])
        table.append([r["class"] + role, "%.3f" % mb, "%.3f" % ma, "%.2f" % (mb / normal_before),
                      "%.2f" % (ma / normal_after), b["auroc_vs_normal"], r["auroc_vs_normal"],
                      r["latent_auroc_vs_normal"]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    for row in [header] + table:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))
    print("defect %s vs all other outliers: AUROC(loss) %s -> %s, AUROC(latent) %s -> %s" % (
        after[1]["class"], defect_before.get("auroc_loss", "n/a"), defect_after.get("auroc_loss", "n/a"),
        defect_before.get("auroc_latent", "n/a"), defect_after.get("auroc_latent", "n/a")))
    if args.tsv:
        with open(args.tsv, "w") as f:
            for row in [header] + table:
                f.write("\t".join(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
