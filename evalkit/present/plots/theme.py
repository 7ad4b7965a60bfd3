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

#: the colour-blind-safe palette every figure uses: seaborn's "colorblind" (10 colours),
#: written out so drawing a figure never imports seaborn (≈ 1 s; a test keeps them equal)
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4",
           "#949494", "#ece133", "#56b4e9")
#: verdict colours (from the same palette: green, blue, vermilion, grey)
VERDICT_COLORS = {"better": 2, "non-inferior": 0, "inferior": 3, "inconclusive": 7}
#: seaborn's ``axes_style("whitegrid")`` and ``plotting_context("notebook", font_scale=0.85)``
#: as rcParams (a test keeps them equal to seaborn's), without seaborn's colormap default
STYLE: dict[str, Any] = {
    "figure.facecolor": "white", "axes.labelcolor": ".15", "xtick.direction": "out",
    "ytick.direction": "out", "xtick.color": ".15", "ytick.color": ".15",
    "axes.axisbelow": True, "grid.linestyle": "-", "text.color": ".15",
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                        "sans-serif"],
    "lines.solid_capstyle": "round", "patch.edgecolor": "w", "patch.force_edgecolor": True,
    "xtick.top": False, "ytick.right": False, "axes.grid": True, "axes.facecolor": "white",
    "axes.edgecolor": ".8", "grid.color": ".8", "axes.spines.left": True,
    "axes.spines.bottom": True, "axes.spines.right": True, "axes.spines.top": True,
    "xtick.bottom": False, "ytick.left": False, "axes.linewidth": 1.25, "grid.linewidth": 1,
    "lines.linewidth": 1.5, "lines.markersize": 6, "patch.linewidth": 1,
    "xtick.major.width": 1.25, "ytick.major.width": 1.25, "xtick.minor.width": 1,
    "ytick.minor.width": 1, "xtick.major.size": 6, "ytick.major.size": 6,
    "xtick.minor.size": 4, "ytick.minor.size": 4, "font.size": 10.2, "axes.labelsize": 10.2,
    "axes.titlesize": 10.2, "xtick.labelsize": 9.35, "ytick.labelsize": 9.35,
    "legend.fontsize": 9.35, "legend.title_fontsize": 10.2,
}


def _palette(n: int) -> list[Any]:
    from matplotlib.colors import to_rgb

    return [to_rgb(PALETTE[i % len(PALETTE)]) for i in range(max(n, 1))]


def model_colors(models: Sequence[str]) -> dict[str, Any]:
    """One colour per model, in the order given (baseline first), stable across figures."""
    pal = _palette(10)
    return {str(m): pal[i % len(pal)] for i, m in enumerate(dict.fromkeys(map(str, models)))}


def verdict_color(verdict: str) -> Any:
    return _palette(10)[VERDICT_COLORS.get(str(verdict), 7)]


def _rc() -> dict[str, Any]:
    rc: dict[str, Any] = dict(STYLE)
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


def png_bytes(fig: Any, dpi: int = 100, compress_level: int = 6) -> bytes:
    """The figure as an opaque PNG at ``dpi``: one layout pass and one render through Agg,
    encoded by Pillow (as ``savefig`` does). ``savefig`` runs a figure's layout engine twice —
    a silent pass, then the real one — which costs a fifth of a report's figure time.

    >>> fig, ax = new_figure(None, (2, 1))
    >>> png_bytes(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    size = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="png", compress_level=compress_level,
                              dpi=(dpi, dpi))
    return buf.getvalue()


def alt_text(fig: Any) -> str:
    """The alt text :func:`finish` recorded."""
    return str(fig.get_label() or "figure")


def legend_below(ax: Any, ncol: int | None = None, **kw: Any) -> None:
    """A legend under the axes, never over the data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.18),
                  ncol=ncol or min(len(labels), 4), fontsize=8, **kw)
