"""What the plotting scripts share: matplotlib on the Agg backend (no display
needed), the class colours (normal blue, the known defect red, the others from
a fixed list) and the error type they report to the user."""
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: F401  (re-exported)
except ImportError as e:  # pragma: no cover - environment problem
    sys.exit(f"{sys.argv[0]}: error: {e} (use a Python with numpy and matplotlib, e.g. /usr/bin/python3)")

NORMAL_COLOUR = "#1f5fbf"
DEFECT_COLOUR = "#d62728"
OTHER_COLOURS = ["#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
                 "#393b79", "#637939"]


class InputError(Exception):
    """A missing or malformed input file: reported as one line, exit status 1."""
