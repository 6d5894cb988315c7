#!/usr/bin/env python3
"""Overlay of the per-class score densities of a `cdae-infer` dataset report.

    plot_scores.py RESULTS_DIR [--out PNG] [--title TITLE]

Reads, from RESULTS_DIR (the files src/eval/dataset_report.h writes):
  hist.tsv     required: '#' lines ("# binning linear|log", "# right_edge X",
               optionally "# dataset: NAME" and "# split: NAME"), the column
               header "left_edge<TAB>class...", then one line per bin with the
               left edge and each class's density (integrates to 1);
  summary.tsv  optional: the legend gives each class its n and AUROC against
               the normal class (column auroc_vs_normal);
  flags.tsv    optional: "# threshold: X" in its header is drawn as a
               vertical line, "# rule: ..." names it.
Writes RESULTS_DIR/score_histograms.png (or --out): one step histogram per
class on the common bins. The x axis is logarithmic when the bins are
log-spaced (hist.tsv does so when all scores are positive and span more than
two decades); the y axis is then the density per decade of score, so that
equal areas hold equal fractions of a class on that axis.

Needs numpy and matplotlib (Debian: /usr/bin/python3 with python3-matplotlib).
Exits with status 1 and a message naming the file when an input is missing or
malformed.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_style import DEFECT_COLOUR, NORMAL_COLOUR, OTHER_COLOURS, InputError, plt  # noqa: E402


def read_hist(path):
    """-> dict(names, edges, density [class][bin], log, dataset, split)."""
    if not os.path.isfile(path):
        raise InputError(f"'{path}' does not exist: it is written by `cdae-infer` when it scores a dataset "
                         f"split (give the results directory that holds hist.tsv)")
    meta, header, rows = {}, None, []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#"):
                key, _, value = line[1:].strip().partition(" ")
                meta[key.rstrip(":")] = value.strip()
            elif header is None:
                header = line.split("\t")
            else:
                fields = line.split("\t")
                if len(fields) != len(header):
                    raise InputError(f"'{path}' line {number}: {len(fields)} fields, the header has {len(header)}")
                try:
                    rows.append([float(v) for v in fields])
                except ValueError as e:
                    raise InputError(f"'{path}' line {number}: {e}")
    if header is None or header[0] != "left_edge" or len(header) < 2:
        raise InputError(f"'{path}' has no column header 'left_edge<TAB>class...': not a hist.tsv of cdae-infer")
    if not rows:
        raise InputError(f"'{path}' has no bins")
    if "right_edge" not in meta:
        raise InputError(f"'{path}' has no '# right_edge' line")
    table = np.array(rows)
    edges = np.append(table[:, 0], float(meta["right_edge"]))
    if np.any(np.diff(edges) <= 0):
        raise InputError(f"'{path}': bin edges are not increasing")
    log = meta.get("binning") == "log"
    if "binning" not in meta:  # older files: decide as the writer does
        log = edges[0] > 0 and edges[-1] / edges[0] > 100
    return dict(names=header[1:], edges=edges, density=table[:, 1:].T, log=log,
                dataset=meta.get("dataset", ""), split=meta.get("split", ""))


def read_summary(path):
    """-> {class name: dict(label, n, auroc)}; {} when the file is absent."""
    if not os.path.isfile(path):
        return {}
    out = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for column in ("class", "label", "n", "auroc_vs_normal"):
            if column not in header:
                raise InputError(f"'{path}' has no column '{column}': not a summary.tsv of a dataset report")
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            fields = dict(zip(header, line.rstrip("\n").split("\t")))
            out[fields["class"]] = dict(label=fields["label"], n=fields["n"], auroc=fields["auroc_vs_normal"])
    return out


def read_threshold(path):
    """-> (value, rule) from the '#' header of flags.tsv; (None, '') when absent."""
    if not os.path.isfile(path):
        return None, ""
    value, rule = None, ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break  # the header ends at the column line
            if line.startswith("# threshold:"):
                try:
                    value = float(line.split(":", 1)[1])
                except ValueError:
                    raise InputError(f"'{path}': unreadable threshold line: {line.strip()}")
            elif line.startswith("# rule:"):
                rule = line.split(":", 1)[1].strip()
    return value, rule


def legend_label(name, summary):
    info = summary.get(name)
    if info is None:
        return name
    text = f"{name} (n={info['n']}"
    if info["label"] == "0":
        text += ", normal"
    elif info["auroc"] not in ("", "n/a"):
        text += f", AUROC {info['auroc']}"
    return text + ")"


def colour_of(name, index, summary):
    label = summary.get(name, {}).get("label")
    if label == "0" or (label is None and name == "normal"):
        return NORMAL_COLOUR
    if label == "1" or (label is None and name == "defect"):
        return DEFECT_COLOUR
    return OTHER_COLOURS[index % len(OTHER_COLOURS)]


def plot(results_dir, out, title):
    hist = read_hist(os.path.join(results_dir, "hist.tsv"))
    summary = read_summary(os.path.join(results_dir, "summary.tsv"))
    threshold, rule = read_threshold(os.path.join(results_dir, "flags.tsv"))

    edges = hist["edges"]
    fig, ax = plt.subplots(figsize=(10, 5))
    others = 0
    for name, density in zip(hist["names"], hist["density"]):
        if hist["log"]:
            # Density per unit score -> per decade: the bin's mass over its width in log10.
            density = density * np.diff(edges) / np.diff(np.log10(edges))
        colour = colour_of(name, others, summary)
        if colour not in (NORMAL_COLOUR, DEFECT_COLOUR):
            others += 1
        emphasised = colour in (NORMAL_COLOUR, DEFECT_COLOUR)
        ax.stairs(density, edges, label=legend_label(name, summary), color=colour,
                  linewidth=2.0 if emphasised else 1.3)
    if hist["log"]:
        ax.set_xscale("log")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1.2, label=f"threshold {threshold:.4g}")
        if rule:  # too long for the legend
            fig.text(0.01, 0.01, f"flagged: {rule}", fontsize="small", color="dimgray")
    ax.set_xlabel("recovery loss (score)" + (", log scale" if hist["log"] else ""))
    ax.set_ylabel("density per decade" if hist["log"] else "density")
    if not title:
        title = "Score densities"
        if hist["dataset"]:
            title += f": {hist['dataset']}"
            if hist["split"]:
                title += f" ({hist['split']} split)"
    ax.set_title(title)
    # Outside the axes: the densities of several classes leave no free corner.
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="plot_scores.py",
        description="Overlay of the per-class score densities of a cdae-infer dataset report: reads "
                    "RESULTS_DIR/hist.tsv (required), summary.tsv (legend: n and AUROC against normal) and "
                    "flags.tsv (the threshold, drawn as a dashed line); writes RESULTS_DIR/score_histograms.png. "
                    "Log-scaled x when the bins are log-spaced (scores span more than two decades).")
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="the directory cdae-infer wrote hist.tsv to")
    parser.add_argument("--out", help="output PNG (default RESULTS_DIR/score_histograms.png)")
    parser.add_argument("--title", default="", help="plot title (default: from the dataset name in hist.tsv)")
    args = parser.parse_args(argv)
    out = args.out or os.path.join(args.results_dir, "score_histograms.png")
    try:
        print(plot(args.results_dir, out, args.title))
    except (InputError, OSError) as e:
        print(f"plot_scores.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
