"""Serving figures from the long ``series`` frame: latency quantiles, tokens/s, request rate,
KV cache and GPU utilisation over time, every model on the same axes in its own colour.

Histogram quantiles (TTFT, inter-token latency) are interpolated within the histogram's
buckets, so they are estimates bounded by the bucket edges; titles and labels say so. A series
flagged partial (Prometheus answered with warnings) says PARTIAL DATA in its title.

>>> import pandas as pd
>>> s = pd.DataFrame({"timestamp": pd.to_datetime([0, 60], unit="s", utc=True),
...                   "model": "m", "metric": "ttft_p99", "value": [0.5, 0.7], "unit": "s"})
>>> "estimate" in alt_text(ttft(s))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ...core import frames
from ...core.errors import UnknownModelError
from ..text import mpl
from .theme import alt_text, finish, legend_below, model_colors, new_figure, themed

__all__ = ["ttft", "throughput", "requests", "occupancy", "axis_for", "alt_text"]

ESTIMATE_NOTE = "bucket-interpolated estimates"
PARTIAL_NOTE = " — PARTIAL DATA (Prometheus warnings)"
_STYLE = {"p50": "-", "p90": "--", "p99": ":"}
_FRACTION = "fraction (0-1)"


def axis_for(units: Sequence[str], ylabel: str, scale: float) -> tuple[str, dict[str, float]]:
    """The y label and the scale of each unit for a panel declared as ``ylabel`` × ``scale``.

    On a percent axis (``ylabel`` starting with ``%``) a ``"fraction (0-1)"`` series is drawn
    × 100 and a ``"%"`` series as is, so GPU utilisation from ``DCGM_FI_PROF_GR_ENGINE_ACTIVE``
    (0–1) and from ``DCGM_FI_DEV_GPU_UTIL`` (%) share an axis; the label says when a fraction
    was converted.

    >>> axis_for(["fraction (0-1)"], "%", 1.0)
    ('% (0-1 fraction × 100)', {'fraction (0-1)': 100.0})
    >>> axis_for(["%"], "%", 1.0)
    ('%', {'%': 1.0})
    """
    if not ylabel.lstrip().startswith("%"):
        return ylabel, {u: scale for u in units}
    scales = {u: 100.0 if u == _FRACTION else (1.0 if u == "%" else scale) for u in units}
    converted = _FRACTION in scales and scale != 100.0
    return (f"{ylabel} (0-1 fraction × 100)" if converted else ylabel), scales


def _unwrap(series: Any, partial: bool) -> tuple[pd.DataFrame, bool]:
    """A ``series`` frame, or a :class:`~evalkit.prometheus.ServingSeries` holding one."""
    if not isinstance(series, pd.DataFrame):
        partial = partial or bool(getattr(series, "partial", False))
        series = series.series
    frames.validate(series, "series")
    return series, partial


def _models(series: pd.DataFrame, models: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(series["model"].astype(str)))
    if models is None:
        return present
    missing = [m for m in models if m not in present]
    if missing:
        raise UnknownModelError(f"model(s) {missing} not in the series frame; it has {present}")
    return list(models)


def _lines(ax: Any, series: pd.DataFrame, models: list[str], metrics: Sequence[str],
           ylabel: str, scale: float = 1.0) -> str:
    colors = model_colors(models)
    units = [str(u) for u in dict.fromkeys(
        series.loc[series["metric"].isin(list(metrics)), "unit"].dropna().astype(str)) if u]
    ylabel, scales = axis_for(units, ylabel, scale)
    for m in models:
        for metric in metrics:
            d = series[(series["model"].astype(str) == m)
                       & (series["metric"] == metric)].sort_values("timestamp")
            if d.empty:
                continue
            q = metric.rsplit("_", 1)[-1]
            factor = d["unit"].astype(str).map(scales).fillna(scale).to_numpy(dtype=float)
            label = mpl(m) + (f" {q.upper()}" if len(metrics) > 1 else "")
            ax.plot(d["timestamp"].dt.tz_localize(None), d["value"].to_numpy(float) * factor,
                    _STYLE.get(q, "-"), color=colors[m], lw=1.3, label=label)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("time (UTC)")
    ax.tick_params(axis="x", labelrotation=20)
    return ylabel


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this data", ha="center", va="center",
            transform=ax.transAxes)
    ax.set_axis_off()


def ttft(series: Any, *, models: Sequence[str] | None = None, quantity: str = "ttft",
         ax: Any = None, partial: bool = False) -> Any:
    """TTFT (or ``quantity="itl"``: inter-token latency) P50/P90/P99 over time, every model
    on one axis (line style: the quantile; colour: the model)."""
    series, partial = _unwrap(series, partial)
    cols = _models(series, models)
    name = "Time to first token" if quantity == "ttft" else "Inter-token latency"
    metrics = [f"{quantity}_{q}" for q in _STYLE]
    with themed():
        fig, ax = new_figure(ax, (9.0, 4.4))
        if series["metric"].isin(metrics).any():
            _lines(ax, series, cols, metrics, f"seconds ({ESTIMATE_NOTE})")
            legend_below(ax, ncol=3)
        else:
            _empty(ax, f"{name} series")
    note = PARTIAL_NOTE if partial else ""
    return finish(fig, title=f"{name} P50 / P90 / P99 ({ESTIMATE_NOTE}){note}",
                  alt=f"Line chart: {name} P50, P90 and P99 in seconds over time for "
                      f"{', '.join(cols)}; histogram quantiles are {ESTIMATE_NOTE}.")


def throughput(series: Any, *, models: Sequence[str] | None = None, ax: Any = None,
               partial: bool = False) -> Any:
    """Generated and prompt tokens per second over time, every model on one axis."""
    series, partial = _unwrap(series, partial)
    cols = _models(series, models)
    with themed():
        fig, ax = new_figure(ax, (9.0, 4.2))
        metrics = [m for m in ("generation_tokens_per_s", "prompt_tokens_per_s")
                   if (series["metric"] == m).any()]
        if metrics:
            _lines(ax, series, cols, ["generation_tokens_per_s"], "generated tokens/s")
            legend_below(ax)
        else:
            _empty(ax, "token throughput")
    note = PARTIAL_NOTE if partial else ""
    return finish(fig, title=f"Generated tokens per second (rate over the query window){note}",
                  alt=f"Line chart: generated tokens per second over time for "
                      f"{', '.join(cols)}.")


def requests(series: Any, *, models: Sequence[str] | None = None, ax: Any = None,
             partial: bool = False) -> Any:
    """Finished requests per second, and requests running/waiting, over time."""
    series, partial = _unwrap(series, partial)
    cols = _models(series, models)
    with themed():
        fig, axes = new_figure(ax, (9.0, 6.0), nrows=2, sharex=True) if ax is None else (
            ax.figure, [ax, ax])
        if (series["metric"] == "requests_per_s").any():
            _lines(axes[0], series, cols, ["requests_per_s"], "requests/s")
            axes[0].set_title("request rate (finished requests/s)", fontsize=10, loc="left")
        else:
            _empty(axes[0], "request rate")
        if series["metric"].isin(["requests_running", "requests_waiting"]).any():
            _lines(axes[1], series, cols, ["requests_running"], "requests (running)")
            axes[1].set_title("requests running on the engine", fontsize=10, loc="left")
            legend_below(axes[1])
        else:
            _empty(axes[1], "running requests")
    note = PARTIAL_NOTE if partial else ""
    return finish(fig, title=f"Request rate and concurrency{note}",
                  alt=f"Two line charts: finished requests per second and requests running, "
                      f"over time, for {', '.join(cols)}.")


def occupancy(series: Any, *, models: Sequence[str] | None = None, ax: Any = None,
              partial: bool = False) -> Any:
    """KV-cache usage (%) and GPU utilisation (%, mean over each model's GPUs) over time."""
    series, partial = _unwrap(series, partial)
    cols = _models(series, models)
    with themed():
        fig, axes = new_figure(ax, (9.0, 6.0), nrows=2, sharex=True) if ax is None else (
            ax.figure, [ax, ax])
        for axx, metric, label, scale, title in (
                (axes[0], "kv_cache_usage", "% of KV cache", 100.0, "KV-cache usage"),
                (axes[1], "gpu_utilization", "%", 1.0, "GPU utilisation (mean over the GPUs)")):
            if (series["metric"] == metric).any():
                _lines(axx, series, cols, [metric], label, scale)
                axx.set_title(title, fontsize=10, loc="left")
            else:
                _empty(axx, title)
        legend_below(axes[1])
    note = PARTIAL_NOTE if partial else ""
    return finish(fig, title=f"KV cache and GPU utilisation{note}",
                  alt=f"Two line charts: KV-cache usage (%) and GPU utilisation (%) over time "
                      f"for {', '.join(cols)}.")
