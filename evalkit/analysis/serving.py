"""Serving summaries per model and metric over a whole window (frames in, frames out).

Analysis never fetches. The two inputs come from :mod:`evalkit.prometheus`:

- ``series``: the long frame of :func:`evalkit.prometheus.serving_metrics` (or
  :func:`~evalkit.prometheus.load_snapshot_series`): values over time;
- ``window``: the frame of :func:`evalkit.prometheus.serving_window` (or
  :func:`~evalkit.prometheus.load_snapshot_window`): one value per model and metric for the
  whole window, where each quantile is ``histogram_quantile(q, sum by (le)
  (increase(..._bucket[window])))``.

A window's P99 is NOT the mean (nor the max) of a P99-over-5-minutes series, so quantiles are
taken from ``window`` only; without it they are left empty and say so.

>>> import pandas as pd
>>> ts = pd.to_datetime(["2025-01-01T00:00Z", "2025-01-01T00:01Z"], utc=True)
>>> series = pd.DataFrame({"timestamp": ts, "model": "m", "metric": "kv_cache_usage",
...                        "value": [0.2, 0.4], "unit": "fraction (0-1)"})
>>> serving_summary(series)[["model", "metric", "value", "statistic"]].to_dict("records")
[{'model': 'm', 'metric': 'kv_cache_usage', 'value': 0.30000000000000004, 'statistic': 'time mean'}]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core import frames
from ..core.errors import InputError

__all__ = ["serving_summary", "QUANTILE_METRICS", "RATE_METRICS", "SUMMARY_COLUMNS"]

QUANTILE_METRICS = ("ttft_p50", "ttft_p90", "ttft_p99", "itl_p50", "itl_p90", "itl_p99")
RATE_METRICS = ("generation_tokens_per_s", "prompt_tokens_per_s", "requests_per_s")
SUMMARY_COLUMNS = ["model", "metric", "unit", "value", "statistic", "min", "max", "n",
                   "partial", "note"]

_WINDOW_STAT = {
    **{m: "window histogram_quantile (bucket-interpolated estimate)" for m in QUANTILE_METRICS},
    "ttft_mean": "window mean (increase of _sum / _count)",
    **{m: "window average rate" for m in RATE_METRICS},
}


def serving_summary(series: Any = None, window: Any = None, *, partial: bool = False,
                    ) -> pd.DataFrame:
    """One row per model and metric for the whole window.

    Parameters
    ----------
    series : long ``series`` frame (``timestamp, model, metric, value, unit``), a
        :class:`~evalkit.prometheus.ServingSeries` holding one, or ``None``.
    window : whole-window frame (same columns, one row per model and metric), a
        ``ServingSeries`` holding one, or ``None``.
    partial : mark every row partial (a ``ServingSeries`` input that is partial does too).

    Returns
    -------
    Columns ``model, metric, unit, value, statistic, min, max, n, partial, note``:

    - quantiles (``ttft_p50`` ... ``itl_p99``), ``ttft_mean`` and rates take ``value`` from
      ``window`` (``statistic`` says how); a quantile without a window answer has
      ``value`` NaN and a note — it is never the mean or max of a quantile series;
    - gauges (running/waiting requests, KV cache, GPU utilisation and memory, GPUs) and
      rates without a window answer: the time mean of ``series``;
    - ``min``/``max``/``n``: range and count of the non-NaN ``series`` values (context only);
    - ``partial``: True when an input was partial (Prometheus warnings).

    Examples
    --------
    >>> w = pd.DataFrame({"timestamp": pd.to_datetime(["2025-01-02"], utc=True), "model": ["m"],
    ...                   "metric": ["ttft_p99"], "value": [1.25], "unit": ["s"]})
    >>> row = serving_summary(None, w).iloc[0]
    >>> float(row["value"]), row["statistic"]
    (1.25, 'window histogram_quantile (bucket-interpolated estimate)')
    """
    parts = []
    for f, name in ((series, "series"), (window, "window")):
        if f is not None and not isinstance(f, pd.DataFrame):  # a ServingSeries
            partial = partial or bool(getattr(f, "partial", False))
            f = f.series
        if f is not None:
            frames.validate(f, "series", name=name)
            parts.append(f)
        if name == "series":
            series = f
        else:
            window = f
    if not parts:
        raise InputError("serving_summary needs a series frame, a window frame, or both")
    stats = pd.DataFrame(columns=["model", "metric", "unit", "mean", "min", "max", "n"])
    if series is not None and len(series):
        g = series.groupby(["model", "metric"], sort=True, observed=True)
        stats = g.agg(unit=("unit", "first"), mean=("value", "mean"), min=("value", "min"),
                      max=("value", "max"), n=("value", "count")).reset_index()
    win = pd.DataFrame(columns=["model", "metric", "unit", "wvalue"])
    if window is not None and len(window):
        win = (window.groupby(["model", "metric"], sort=True, observed=True)
               .agg(unit=("unit", "first"), wvalue=("value", "last")).reset_index())
    keys = pd.concat([stats[["model", "metric"]], win[["model", "metric"]]]).drop_duplicates()
    rows = []
    s_idx = stats.set_index(["model", "metric"]) if len(stats) else None
    w_idx = win.set_index(["model", "metric"]) if len(win) else None
    for model, metric in keys.itertuples(index=False):
        s = s_idx.loc[(model, metric)] if s_idx is not None and (model, metric) in s_idx.index else None
        w = w_idx.loc[(model, metric)] if w_idx is not None and (model, metric) in w_idx.index else None
        unit = (w["unit"] if w is not None else s["unit"]) if (w is not None or s is not None) else ""
        row = {"model": model, "metric": metric, "unit": unit, "partial": partial, "note": "",
               "min": s["min"] if s is not None else np.nan,
               "max": s["max"] if s is not None else np.nan,
               "n": int(s["n"]) if s is not None else 0}
        if w is not None:
            row["value"] = float(w["wvalue"])
            row["statistic"] = _WINDOW_STAT.get(metric, "window value")
            if np.isnan(row["value"]):
                row["note"] = "no observations in the window"
        elif metric in QUANTILE_METRICS or metric == "ttft_mean":
            row["value"] = np.nan
            row["statistic"] = "needs a window answer"
            row["note"] = ("a window quantile needs evalkit.prometheus.serving_window (or a "
                           "snapshot's window answers); a quantile series cannot be averaged")
        else:
            row["value"] = float(s["mean"]) if s is not None else np.nan
            row["statistic"] = "time mean"
        rows.append(row)
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out["n"] = out["n"].astype("int64")
    out["partial"] = out["partial"].astype(bool)
    return out.sort_values(["model", "metric"], kind="stable").reset_index(drop=True)
