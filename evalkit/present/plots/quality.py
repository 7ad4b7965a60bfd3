"""Quality figures: frames in, matplotlib Figures out.

matplotlib is imported inside each function (``import evalkit`` stays light); nothing here calls
``plt.show()``, so every function works under the ``Agg`` backend and in papermill.

>>> from evalkit.present.plots import quality as qplots          # doctest: +SKIP
>>> fig = qplots.forest(ek.compare(scores, "fp16", "w4a16", samples=samples))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["score_bars", "forest", "trend"]


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _bars_from_compare(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["task", "metric", "filter", "baseline_model", "candidate_model", "baseline",
            "candidate", "baseline_stderr", "candidate_stderr"]
    c = df[[x for x in cols if x in df.columns]]
    base = c.drop_duplicates(["task", "metric", "filter"]).assign(
        model=lambda d: d.get("baseline_model", "baseline"), value=lambda d: d["baseline"],
        stderr=lambda d: d.get("baseline_stderr", np.nan))
    cand = c.assign(model=lambda d: d.get("candidate_model", "candidate"),
                    value=lambda d: d["candidate"],
                    stderr=lambda d: d.get("candidate_stderr", np.nan))
    return pd.concat([base, cand], ignore_index=True)[["task", "metric", "filter", "model",
                                                       "value", "stderr"]]


def _bars_from_scores(df: pd.DataFrame, headline: dict | None) -> pd.DataFrame:
    from ...analysis.base import headline_of, latest_jobs

    s = df[df["usable"].astype(bool)] if "usable" in df.columns else df
    if {"completed_at", "created_at", "job"} <= set(s.columns):
        latest = latest_jobs(s)[["model", "task", "job"]]
        s = s.merge(latest, on=["model", "task", "job"], how="inner")
    parts = []
    for task, g in s.groupby("task", sort=True):
        avail = list(dict.fromkeys(zip(g["metric"], g["filter"], strict=True)))
        m, f, _ = headline_of(str(task), avail, headline)
        if m is not None:
            parts.append(g[(g["metric"] == m) & (g["filter"] == f)])
    if not parts:
        return pd.DataFrame(columns=["task", "metric", "filter", "model", "value", "stderr"])
    return pd.concat(parts, ignore_index=True)[["task", "metric", "filter", "model", "value",
                                                "stderr"]]


def score_bars(data: pd.DataFrame, *, confidence: float = 0.95, headline: dict | None = None,
               ax: Any = None, title: str | None = None) -> Any:
    """Grouped bars: one group per task, one bar per model, with ±z·stderr error bars.

    Parameters
    ----------
    data : DataFrame
        Either :func:`evalkit.compare`'s result (baseline and every candidate) or a ``scores``
        frame (the headline metric per task, latest completed run per model, usable rows).
    confidence : float
        Error bars are value ± z·stderr, z = Φ⁻¹(1 − (1 − confidence)/2); a score without a
        stderr gets no bar (lm-eval wrote "N/A").
    headline : dict, optional
        Headline-metric overrides (``scores`` input only).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new Figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = score_bars(ek.compare(scores, "fp16", "w4a16"))   # doctest: +SKIP
    """
    is_compare = {"baseline", "candidate", "delta"} <= set(data.columns)
    long = _bars_from_compare(data) if is_compare else _bars_from_scores(data, headline)
    tasks = list(dict.fromkeys(long["task"]))
    models = list(dict.fromkeys(long["model"]))
    fig, ax = _new_axes(ax, (max(6.0, 1.6 * len(tasks) + 2), 4.2))
    z = _z(confidence)
    width = 0.8 / max(len(models), 1)
    x = np.arange(len(tasks))
    for i, model in enumerate(models):
        sub = long[long["model"] == model].drop_duplicates("task").set_index("task")
        vals = np.array([100 * sub["value"].get(t, np.nan) for t in tasks], float)
        err = np.array([100 * z * sub["stderr"].get(t, np.nan) for t in tasks], float)
        err = np.where(np.isfinite(err), err, 0.0)
        ax.bar(x + (i - (len(models) - 1) / 2) * width, vals, width, yerr=err, capsize=3,
               label=str(model), color=f"C{i}")
    labels = []
    for t in tasks:
        row = long[long["task"] == t].iloc[0]
        labels.append(f"{t}\n{row['metric']},{row['filter']}")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or f"Scores per task ({confidence:.0%} interval: ± z·lm-eval stderr)")
    return fig


def forest(compare_frame: pd.DataFrame, margin: float | None = None, *, ax: Any = None,
           title: str | None = None) -> Any:
    """Each task's interval for candidate − baseline against 0 and −margin.

    One line per row of :func:`evalkit.compare` (per candidate when there are several), from
    ``ci_low`` to ``ci_high`` with a dot at ``ci_centre``, in points; a hollow dot and no line
    when there is no interval. Vertical lines mark 0 and −margin; rows are coloured by verdict.
    The title names the method(s) used.

    Parameters
    ----------
    compare_frame : DataFrame
        :func:`evalkit.compare`'s result.
    margin : float, optional
        Non-inferiority margin on the 0–1 scale; defaults to the frame's ``margin`` column.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = forest(ek.compare(scores, "fp16", "w4a16", samples=samples), margin=0.02)  # doctest: +SKIP
    """
    df = compare_frame.reset_index(drop=True)
    if margin is None:
        margin = float(df["margin"].iloc[0]) if "margin" in df and len(df) else 0.02
    fig, ax = _new_axes(ax, (7.5, 0.45 * max(len(df), 1) + 1.8))
    colours = {"better": "C2", "non-inferior": "C0", "inferior": "C3", "inconclusive": "C7"}
    several = "candidate_model" in df and df["candidate_model"].nunique() > 1
    y = np.arange(len(df))[::-1]
    for yi, (_, r) in zip(y, df.iterrows(), strict=True):
        col = colours.get(str(r.get("verdict")), "C7")
        centre = r.get("ci_centre", np.nan)
        if not np.isfinite(centre):
            centre = r["paired_delta"] if np.isfinite(r.get("paired_delta", np.nan)) \
                else r["delta"]
        lo, hi = r.get("ci_low", np.nan), r.get("ci_high", np.nan)
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([100 * lo, 100 * hi], [yi, yi], color=col, lw=2.2)
            ax.plot(100 * centre, yi, "o", color=col)
        else:
            ax.plot(100 * centre, yi, "o", mfc="none", color=col)
    ax.axvline(0, color="k", lw=1)
    ax.axvline(-100 * margin, color="C3", lw=1, ls="--", label=f"−margin ({-100 * margin:g})")
    labels = []
    for _, r in df.iterrows():
        lab = f"{r['task']} ({r['filter']})" if r.get("filter") not in (None, "none") \
            else str(r["task"])
        if several:
            lab += f" · {r['candidate_model']}"
        labels.append(f"{lab}: {r.get('verdict', '')}")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("candidate − baseline (points)")
    conf = float(df["confidence"].iloc[0]) if "confidence" in df and len(df) else 0.95
    methods = ", ".join(dict.fromkeys(df["method"].astype(str))) if "method" in df else ""
    ax.set_title(title or f"{conf:.0%} intervals vs 0 and −{100 * margin:g} points\n{methods}",
                 fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def trend(trend_frame: pd.DataFrame, *, ax: Any = None, title: str | None = None) -> Any:
    """Quality over time: one line per (model, task) through its completed runs, with
    the intervals of :func:`evalkit.trend` as error bars.

    Examples
    --------
    >>> fig = trend(ek.trend(scores))   # doctest: +SKIP
    """
    df = trend_frame
    fig, ax = _new_axes(ax, (8.0, 4.2))
    for i, ((model, task), g) in enumerate(df.groupby(["model", "task"], sort=True)):
        g = g.sort_values("completed_at")
        x = pd.to_datetime(g["completed_at"]).dt.tz_localize(None)
        lo = 100 * (g["value"] - g["ci_low"]).fillna(0)
        hi = 100 * (g["ci_high"] - g["value"]).fillna(0)
        ax.errorbar(x, 100 * g["value"], yerr=[lo, hi], marker="o", capsize=3,
                    label=f"{model} · {task}", color=f"C{i % 10}")
    ax.set_ylabel("score (%)")
    ax.set_xlabel("run completed (UTC)")
    if len(df):
        ax.legend(fontsize=7, loc="best")
    ax.set_title(title or "Quality over time (every completed run)")
    fig.autofmt_xdate()
    return fig
