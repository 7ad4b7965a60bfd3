"""Serving figures from the long ``series`` frame (matplotlib imported inside functions).

Histogram quantiles (TTFT, inter-token latency) are interpolated within the histogram's
buckets, so they are estimates bounded by the bucket edges; titles and labels say so.

>>> from evalkit.prometheus import load_snapshot_series     # doctest: +SKIP
>>> fig = plot_serving(load_snapshot_series(demo_path()))   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from ...core import frames

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_serving", "plot_ttft_quantiles", "PANELS", "axis_for"]

ESTIMATE_NOTE = "histogram quantiles: bucket-interpolated estimates"

#: (title, metrics, y label, scale) of each row of :func:`plot_serving`. ``y label`` and
#: ``scale`` hold for the metric's usual unit (:data:`evalkit.promql.UNITS`); when the frame's
#: ``unit`` column says otherwise (GPU utilisation as a 0–1 fraction from
#: ``DCGM_FI_PROF_GR_ENGINE_ACTIVE``), the axis follows the data: see :func:`axis_for`.
PANELS: list[tuple[str, tuple[str, ...], str, float]] = [
    ("TTFT P50/P90/P99 (bucket-interpolated estimate)", ("ttft_p50", "ttft_p90", "ttft_p99"),
     "seconds", 1.0),
    ("Generated tokens/s", ("generation_tokens_per_s",), "tokens/s", 1.0),
    ("Request rate", ("requests_per_s",), "requests/s", 1.0),
    ("KV-cache usage", ("kv_cache_usage",), "% of KV cache", 100.0),
    ("GPU utilisation (mean over the model's GPUs)", ("gpu_utilization",), "%", 1.0),
]
_FRACTION = "fraction (0-1)"
PARTIAL_NOTE = " — PARTIAL DATA (Prometheus warnings)"
_STYLE = {"p50": "-", "p90": "--", "p99": ":"}


def _units(series: pd.DataFrame, metrics: Sequence[str]) -> list[str]:
    if "unit" not in series.columns:
        return []
    sub = series[series["metric"].isin(list(metrics))]
    return [str(u) for u in dict.fromkeys(sub["unit"].dropna().astype(str)) if u]


def axis_for(units: Sequence[str], ylabel: str, scale: float) -> tuple[str, dict[str, float]]:
    """The y label and the scale of each unit for a panel declared as ``ylabel`` × ``scale``.

    On a percent axis (``ylabel`` starting with ``%``) a ``"fraction (0-1)"`` series is drawn
    × 100 and a ``"%"`` series as is, whatever the panel's default scale, so GPU utilisation
    from ``DCGM_FI_PROF_GR_ENGINE_ACTIVE`` (0–1) and from ``DCGM_FI_DEV_GPU_UTIL`` (%) land on
    the same axis; the label says when a fraction was converted. Other units keep ``scale``.

    >>> axis_for(["fraction (0-1)"], "%", 1.0)
    ('% (0-1 fraction × 100)', {'fraction (0-1)': 100.0})
    >>> axis_for(["%"], "%", 1.0)
    ('%', {'%': 1.0})
    """
    if not ylabel.lstrip().startswith("%"):
        return ylabel, {u: scale for u in units}
    scales = {u: 100.0 if u == _FRACTION else (1.0 if u == "%" else scale) for u in units}
    converted = _FRACTION in scales and scale != 100.0  # a fraction on a panel declared in %
    return (f"{ylabel} (0-1 fraction × 100)" if converted else ylabel), scales


def _models(series: pd.DataFrame, models: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(series["model"].astype(str)))
    if models is None:
        return present
    missing = [m for m in models if m not in present]
    if missing:
        from ...core.errors import UnknownModelError

        raise UnknownModelError(f"model(s) {missing} not in the series frame; it has {present}")
    return list(models)


def _unwrap(series: Any, partial: bool) -> tuple[pd.DataFrame, bool]:
    """A ``series`` frame, or a :class:`~evalkit.prometheus.ServingSeries` holding one."""
    if isinstance(series, pd.DataFrame):
        return series, partial
    return series.series, partial or bool(getattr(series, "partial", False))


def plot_serving(series: Any, *, models: Sequence[str] | None = None,
                 panels: Sequence[tuple[str, tuple[str, ...], str, float]] | None = None,
                 height: float = 2.4, width: float = 5.5, partial: bool = False) -> Figure:
    """Serving metrics over time, one column per model (shared y axis per row).

    Rows: TTFT P50/P90/P99, generated tokens/s, request rate, KV-cache usage, GPU
    utilisation (see :data:`PANELS`). Rows whose metrics are absent are left out.

    Parameters
    ----------
    series : the ``series`` frame of :func:`evalkit.prometheus.serving_metrics`.
    models : which models, in column order (default: all, in frame order).

    Returns
    -------
    matplotlib Figure.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"timestamp": pd.to_datetime([0, 60], unit="s", utc=True),
    ...                   "model": "m", "metric": "ttft_p50", "value": [0.1, 0.2], "unit": "s"})
    >>> fig = plot_serving(s)
    >>> len(fig.axes)
    1
    """
    import matplotlib.pyplot as plt

    series, partial = _unwrap(series, partial)
    frames.validate(series, "series")
    cols = _models(series, models)
    panels = list(panels if panels is not None else PANELS)
    present = set(series["metric"].astype(str))
    rows = [p for p in panels if any(m in present for m in p[1])]
    if not rows or not cols:
        fig, ax = plt.subplots(figsize=(width, height))
        ax.text(0.5, 0.5, "no serving metrics in this data", ha="center", va="center")
        ax.set_axis_off()
        return fig
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(width * len(cols), height * len(rows)),
                             sharex=True, sharey="row", squeeze=False)
    for c, model in enumerate(cols):
        sub = series[series["model"].astype(str) == model]
        for r, (title, metrics, ylabel, scale) in enumerate(rows):
            ax = axes[r][c]
            ylabel, scales = axis_for(_units(series, metrics), ylabel, scale)
            for metric in metrics:
                d = sub[sub["metric"] == metric].sort_values("timestamp")
                if d.empty:
                    continue
                ls = _STYLE.get(metric.rsplit("_", 1)[-1], "-")
                label = metric.rsplit("_", 1)[-1].upper() if len(metrics) > 1 else None
                factor = d["unit"].astype(str).map(scales).fillna(scale).to_numpy(dtype=float)
                ax.plot(d["timestamp"], d["value"].to_numpy(dtype=float) * factor, ls, lw=1.2,
                        label=label)
            if r == 0:
                ax.set_title(f"{model}\n{title}", fontsize=10)
            else:
                ax.set_title(title, fontsize=10)
            if c == 0:
                ax.set_ylabel(ylabel)
            if len(metrics) > 1 and ax.lines:
                ax.legend(fontsize=8, loc="upper right")
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.tick_params(axis="x", labelrotation=30)
    partial_note = PARTIAL_NOTE if partial else ""
    fig.suptitle(f"Serving metrics per model ({ESTIMATE_NOTE}){partial_note}", fontsize=11)
    fig.tight_layout()
    return fig


def plot_ttft_quantiles(series: Any, *, models: Sequence[str] | None = None,
                        metric_prefix: str = "ttft", ax: Any = None,
                        partial: bool = False) -> Figure:
    """TTFT (or ``metric_prefix="itl"``) P50/P90/P99 of all models on one axis; the title
    says PARTIAL DATA when ``partial`` (or the ServingSeries given) is partial.

    >>> import pandas as pd
    >>> s = pd.DataFrame({"timestamp": pd.to_datetime([0, 60], unit="s", utc=True),
    ...                   "model": "m", "metric": "ttft_p99", "value": [0.5, 0.7], "unit": "s"})
    >>> "estimate" in plot_ttft_quantiles(s).axes[0].get_title()
    True
    """
    import matplotlib.pyplot as plt

    series, partial = _unwrap(series, partial)
    frames.validate(series, "series")
    cols = _models(series, models)
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4))
    else:
        fig = ax.figure
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, model in enumerate(cols):
        for q, ls in _STYLE.items():
            d = series[(series["model"].astype(str) == model)
                       & (series["metric"] == f"{metric_prefix}_{q}")].sort_values("timestamp")
            if not d.empty:
                ax.plot(d["timestamp"], d["value"], ls, color=colors[i % len(colors)], lw=1.2,
                        label=f"{model} {q.upper()}")
    name = "Time to first token" if metric_prefix == "ttft" else "Inter-token latency"
    partial_note = PARTIAL_NOTE if partial else ""
    ax.set_title(f"{name} P50/P90/P99 ({ESTIMATE_NOTE}){partial_note}", fontsize=10)
    ax.set_ylabel("seconds (bucket-interpolated estimate)")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8, ncol=2)
    fig.autofmt_xdate()
    return fig
