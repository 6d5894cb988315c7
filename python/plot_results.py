#!/usr/bin/env python3
"""Figures of a cdae evaluation, from the files cdae writes.

    plot_results.py --eval EVAL.h5 [--eval-before EVAL_BEFORE.h5]
                    [--progress progress.dat] --out DIR [--title T]

Writes, as PNG and SVG:
  DIR/hist_overlay.{png,svg}     density histograms of the recovery loss of
                                 every class in EVAL.h5 on one shared x axis
                                 (as the reference's figure), the normal and the
                                 defect class emphasised;
  DIR/training_curves.{png,svg}  with --progress: loss_t/loss_v and
                                 loss_ct/loss_cv per epoch, the switch to the
                                 contrastive phase marked;
  DIR/before_after.{png,svg}     with --eval-before: the overlay before (left)
                                 and after (right) on the same x axis.

EVAL.h5 is the eval.h5 of `cdae-infer --classes` (/classes/<label>/losses,
root attributes classes, normal_class, defect_class); progress.dat has the
columns `epoch loss_t loss_v loss_ct loss_cv`. Needs numpy, h5py, matplotlib
(Debian: /usr/bin/python3 with python3-h5py python3-matplotlib).
"""
import argparse
import os
import sys

import numpy as np

try:
    import h5py
except ImportError as e:  # pragma: no cover - environment problem
    sys.exit(f"plot_results.py: error: {e} (use a Python with h5py, e.g. /usr/bin/python3)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_style import DEFECT_COLOUR, NORMAL_COLOUR, OTHER_COLOURS, InputError, plt  # noqa: E402


def _attr_str(attrs, name, default=""):
    if name not in attrs:
        return default
    v = attrs[name]
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        v = v.tolist()
        if isinstance(v, list):
            v = v[0] if v else ""
        if isinstance(v, bytes):
            return v.decode()
    return str(v)


def read_eval(path):
    """-> dict(classes=[(label, losses)], normal=str, defect=str, path=str)."""
    if not os.path.isfile(path):
        raise InputError(f"evaluation file '{path}' does not exist (it is written by `cdae-infer --classes` "
                         f"as inference.results/eval.h5)")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise InputError(f"'{path}' is not a readable HDF5 file: {e}")
    with f:
        if "classes" not in f or not isinstance(f["classes"], h5py.Group):
            raise InputError(f"'{path}' has no /classes group: not an eval.h5 of `cdae-infer --classes`")
        order = [c for c in _attr_str(f.attrs, "classes").split(",") if c]
        present = list(f["classes"].keys())
        labels = [c for c in order if c in present] + sorted(c for c in present if c not in order)
        classes = []
        for label in labels:
            g = f["classes"][label]
            if "losses" not in g:
                raise InputError(f"'{path}': /classes/{label} has no 'losses' dataset")
            losses = np.asarray(g["losses"][()], dtype=np.float64).ravel()
            finite = np.isfinite(losses)
            if not finite.all():
                print(f"# warning: {path}: class {label}: {int((~finite).sum())} non-finite losses left out",
                      file=sys.stderr)
                losses = losses[finite]
            if losses.size == 0:
                print(f"# warning: {path}: class {label} has no finite losses; not plotted", file=sys.stderr)
                continue
            classes.append((label, losses))
        if not classes:
            raise InputError(f"'{path}': no class with finite losses")
        return dict(classes=classes, normal=_attr_str(f.attrs, "normal_class"),
                    defect=_attr_str(f.attrs, "defect_class"), path=path)


def read_progress(path):
    """-> (epoch, loss_t, loss_v, loss_ct, loss_cv) arrays of the run's lineage, and the
    epochs where a later run continued from an earlier checkpoint.

    When a later phase continued from an earlier checkpoint (best.h5), the
    epochs after that checkpoint were logged twice; the later rows win.
    """
    if not os.path.isfile(path):
        raise InputError(f"progress file '{path}' does not exist (it is path_save_model/progress.dat)")
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) < 5:
                raise InputError(f"'{path}' line {n}: expected 'epoch loss_t loss_v loss_ct loss_cv', got '{line}'")
            try:
                rows.append([float(p) for p in parts[:5]])
            except ValueError:
                raise InputError(f"'{path}' line {n}: not numbers: '{line}'")
    if not rows:
        raise InputError(f"'{path}' has no rows")
    kept, restarts = [], []
    for r in rows:
        if kept and kept[-1][0] >= r[0]:
            restarts.append(r[0])  # a later run continued from a checkpoint of this epoch - 1
        while kept and kept[-1][0] >= r[0]:
            kept.pop()
        kept.append(r)
    a = np.array(kept)
    return a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], restarts


def phase_switch(epoch, loss_ct):
    """First epoch with loss_ct != 0 after at least one epoch with loss_ct == 0, or None."""
    seen_zero = False
    for e, c in zip(epoch, loss_ct):
        if c == 0:
            seen_zero = True
        elif seen_zero:
            return e
    return None


def choose_scale(all_losses, requested):
    if requested != "auto":
        return requested
    lo, hi = all_losses.min(), all_losses.max()
    if lo > 0 and hi / lo > 30:
        return "log"
    return "linear"


def shared_edges(evals, scale, bins):
    all_losses = np.concatenate([l for e in evals for _, l in e["classes"]])
    if scale == "log":
        positive = all_losses[all_losses > 0]
        if positive.size == 0:
            raise InputError("log x axis requested but no loss is positive")
        lo, hi = positive.min(), positive.max()
        if lo == hi:
            lo, hi = lo / 1.5, hi * 1.5
        return np.geomspace(lo, hi, bins + 1)
    lo, hi = all_losses.min(), all_losses.max()
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def colours_for(ev):
    out, k = {}, 0
    for label, _ in ev["classes"]:
        if label == ev["normal"]:
            out[label] = NORMAL_COLOUR
        elif label == ev["defect"]:
            out[label] = DEFECT_COLOUR
        else:
            out[label] = OTHER_COLOURS[k % len(OTHER_COLOURS)]
            k += 1
    return out


def draw_overlay(ax, ev, edges, scale, title=None):
    """Density histograms of every class; on a log axis the density is per decade."""
    colours = colours_for(ev)
    coords = np.log10(edges) if scale == "log" else edges
    # Emphasised classes drawn last, on top.
    order = sorted(ev["classes"], key=lambda c: (c[0] in (ev["normal"], ev["defect"]),))
    for label, losses in order:
        x = np.clip(losses, edges[0], edges[-1])
        if scale == "log":
            x = np.log10(x)
        density, _ = np.histogram(x, bins=coords, density=True)
        emph = label in (ev["normal"], ev["defect"])
        tag = " (normal)" if label == ev["normal"] else " (defect)" if label == ev["defect"] else ""
        name = ("random" if label == "random" else f"Δθ = {label}°") + tag
        c = colours[label]
        if emph:
            ax.stairs(density, edges, fill=True, color=c, alpha=0.30, zorder=3)
            ax.stairs(density, edges, color=c, linewidth=2.2, label=name, zorder=4)
        else:
            ax.stairs(density, edges, color=c, linewidth=1.2, alpha=0.9, label=name, zorder=2)
    ax.set_xscale("log" if scale == "log" else "linear")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("recovery loss per sequence")
    ax.set_ylabel("density per decade of loss" if scale == "log" else "density")
    ax.set_ylim(bottom=0)
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    # Legend in the file's class order, whatever the drawing order.
    handles, names = ax.get_legend_handles_labels()
    rank = {(("random" if l == "random" else f"Δθ = {l}°") + (" (normal)" if l == ev["normal"] else
             " (defect)" if l == ev["defect"] else "")): k for k, (l, _) in enumerate(ev["classes"])}
    pairs = sorted(zip(handles, names), key=lambda hn: rank.get(hn[1], len(rank)))
    ax.legend([h for h, _ in pairs], [n for _, n in pairs], fontsize=8, loc="best", frameon=True)


def save(fig, out, stem, written):
    for ext in ("png", "svg"):
        path = os.path.join(out, f"{stem}.{ext}")
        fig.savefig(path, dpi=110 if ext == "png" else None, bbox_inches="tight")
        written.append(path)
    plt.close(fig)


def plot_overlay(ev, out, title, scale, bins, written):
    all_losses = np.concatenate([l for _, l in ev["classes"]])
    scale = choose_scale(all_losses, scale)
    edges = shared_edges([ev], scale, bins)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    draw_overlay(ax, ev, edges, scale, title or f"recovery loss by class ({os.path.basename(ev['path'])})")
    save(fig, out, "hist_overlay", written)


def plot_before_after(before, after, out, title, scale, bins, written):
    all_losses = np.concatenate([l for e in (before, after) for _, l in e["classes"]])
    scale = choose_scale(all_losses, scale)
    edges = shared_edges([before, after], scale, bins)
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.8), sharex=True)
    draw_overlay(axes[0], before, edges, scale, "before (" + os.path.basename(os.path.dirname(
        os.path.abspath(before["path"]))) + ")")
    draw_overlay(axes[1], after, edges, scale, "after (" + os.path.basename(os.path.dirname(
        os.path.abspath(after["path"]))) + ")")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, out, "before_after", written)


def _smooth(x, y, n, cut):
    """Running mean of n epochs, computed separately before and after the epoch `cut`."""
    if n < 2 or len(y) < 5 * n:
        return None
    xs, ys = [], []
    parts = [slice(None)] if cut is None else [x < cut, x >= cut]
    for m in parts:
        xp, yp = x[m], y[m]
        if len(yp) < n:
            xs.append(xp), ys.append(yp)
            continue
        ym = np.convolve(yp, np.ones(n) / n, mode="valid")
        xs.append(xp[n // 2:n // 2 + len(ym)]), ys.append(ym)
        xs.append([np.nan]), ys.append([np.nan])  # no line across the switch
    return np.concatenate(xs), np.concatenate(ys)


def plot_training(progress, out, title, written):
    epoch, lt, lv, lct, lcv, restarts = progress
    switch = phase_switch(epoch, lct)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    window = len(epoch) // 100 if len(epoch) >= 1000 else 1
    for ax, series in ((a1, ((lt, "loss_t (train)", "#1f77b4"), (lv, "loss_v (validation)", "#ff7f0e"))),
                       (a2, ((lct, "loss_ct (train)", "#2ca02c"), (lcv, "loss_cv (validation)", "#d62728")))):
        for y, name, c in series:
            sm = _smooth(epoch, y, window, switch)
            ax.plot(epoch, y, color=c, linewidth=0.8, alpha=0.3 if sm else 1.0, label=None if sm else name)
            if sm:
                ax.plot(sm[0], sm[1], color=c, linewidth=1.6, label=f"{name}, mean of {window} epochs")
        values = np.concatenate([s[0] for s in series])
        if values.size and np.all(values > 0):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    if switch is not None:
        for ax in (a1, a2):
            ax.axvline(switch, color="k", linestyle="--", linewidth=1.0,
                       label=f"contrastive phase from epoch {int(switch)}")
    # A later run that continued from a checkpoint (the next phase), where the
    # contrastive term does not show it (e.g. it is 0 to the printed digits).
    for r in restarts:
        if switch is not None and abs(r - switch) <= 1:
            continue
        for ax in (a1, a2):
            ax.axvline(r, color="0.3", linestyle=":", linewidth=1.2,
                       label=f"run continued from a checkpoint (epoch {int(r)})")
    if not np.any(lct != 0) and not np.any(lcv != 0):
        a2.text(0.3, 0.75, "loss_ct = loss_cv = 0 at every epoch", transform=a2.transAxes, ha="center",
                va="center", color="0.4")
    a1.set_ylabel("recovery loss")
    a2.set_ylabel("contrastive loss")
    a2.set_xlabel("epoch")
    a1.legend(fontsize=8)
    a2.legend(fontsize=8)
    a1.set_title(title or "training curves")
    fig.tight_layout()
    save(fig, out, "training_curves", written)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--eval", required=True, help="eval.h5 of `cdae-infer --classes`")
    p.add_argument("--eval-before", help="eval.h5 of the checkpoint before the contrastive phase")
    p.add_argument("--progress", help="path_save_model/progress.dat")
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--title", help="figure title")
    p.add_argument("--xscale", choices=("auto", "log", "linear"), default="auto",
                   help="x axis of the histograms (auto: log when the losses span more than a factor 30)")
    p.add_argument("--bins", type=int, default=80, help="shared bins of the overlays (default 80)")
    a = p.parse_args(argv)
    if a.bins < 1:
        p.error("--bins must be >= 1")
    try:
        after = read_eval(a.eval)
        before = read_eval(a.eval_before) if a.eval_before else None
        progress = read_progress(a.progress) if a.progress else None
        try:
            os.makedirs(a.out, exist_ok=True)
        except OSError as e:
            raise InputError(f"cannot create output directory '{a.out}': {e}")
        written = []
        plot_overlay(after, a.out, a.title, a.xscale, a.bins, written)
        if progress is not None:
            plot_training(progress, a.out, a.title, written)
        if before is not None:
            plot_before_after(before, after, a.out, a.title, a.xscale, a.bins, written)
    except InputError as e:
        print(f"plot_results.py: error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
