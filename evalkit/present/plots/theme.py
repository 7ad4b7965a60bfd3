"""One look for every figure: seaborn's colour-blind-safe palette with one colour per model
(the same model has the same colour in every figure of a report), seaborn's whitegrid style,
no mathtext (a ``$`` in a name stays a dollar sign), and figures made without pyplot state.

Every plotting function in :mod:`evalkit.present.plots` takes its data first, an optional
``ax=``, and returns the Figure, titled, with units on every axis and an alt text
(:func:`alt_text`) that the HTML report puts on the image.

>>> colors = model_colors(["fp16", "w4a16"])
>>> colors["fp16"] != colors["w4a16"]
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

#: the colour-blind-safe palette every figure uses (seaborn's "colorblind", 10 colours)
PALETTE = "colorblind"
#: verdict colours (from the same palette: green, blue, vermilion, grey)
VERDICT_COLORS = {"better": 2, "non-inferior": 0, "inferior": 3, "inconclusive": 7}


def _palette(n: int) -> list[Any]:
    import seaborn as sns

    return list(sns.color_palette(PALETTE, n_colors=max(n, 1)))


def model_colors(models: Sequence[str]) -> dict[str, Any]:
    """One colour per model, in the order given (baseline first), stable across figures."""
    pal = _palette(10)
    return {str(m): pal[i % len(pal)] for i, m in enumerate(dict.fromkeys(map(str, models)))}


def verdict_color(verdict: str) -> Any:
    return _palette(10)[VERDICT_COLORS.get(str(verdict), 7)]


def _rc() -> dict[str, Any]:
    import seaborn as sns

    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.85))
    rc.update({"text.parse_math": False, "axes.titleweight": "bold", "axes.titlesize": 11,
               "figure.dpi": 100, "savefig.dpi": 100, "legend.frameon": False})
    return rc


@contextlib.contextmanager
def themed() -> Iterator[None]:
    """The report's style for the figures drawn inside the block (restored afterwards)."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        yield


def new_figure(ax: Any, size: tuple[float, float], *, nrows: int = 1, ncols: int = 1,
               **kw: Any) -> tuple[Any, Any]:
    """``(figure, axes)``: ``ax``'s figure when one is given, else a new Figure (no pyplot)
    with constrained layout; sizes are capped so no figure is ever thousands of pixels."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    w, h = min(size[0], 14.0), min(size[1], 16.0)
    fig = Figure(figsize=(w, h), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kw)
    return fig, axes


def finish(fig: Any, *, title: str, alt: str) -> Any:
    """Title the figure and record its alt text; returns it."""
    fig.suptitle(title, fontsize=12, fontweight="bold", x=0.01, ha="left")
    fig.set_label(alt)
    return fig


def alt_text(fig: Any) -> str:
    """The alt text :func:`finish` recorded."""
    return str(fig.get_label() or "figure")


def legend_below(ax: Any, ncol: int | None = None, **kw: Any) -> None:
    """A legend under the axes, never over the data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.18),
                  ncol=ncol or min(len(labels), 4), fontsize=8, **kw)
