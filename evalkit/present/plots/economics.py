"""Capacity and cost figures: latency against load from the load tests (with the SLO and the
chosen operating point), cost per 1M output tokens, and quality against cost.

>>> import evalkit as ek
>>> a = ek.analyze(ek.load())
>>> alt_text(quality_vs_cost(a.recovery, a.economics.cost, baseline=a.baseline)).startswith("Scatter")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..text import mpl
from .theme import alt_text, finish, legend_below, model_colors, new_figure, themed

__all__ = ["capacity_curves", "cost_bars", "quality_vs_cost", "alt_text"]


def capacity_curves(benchmarks: pd.DataFrame, capacity: pd.DataFrame, slo: Any, *,
                    ax: Any = None, status: str = "successful",
                    models: Sequence[str] | None = None) -> Any:
    """For each SLO-constrained metric, its percentile against the achieved request rate of
    every benchmark (saturation runs hollow), one line per model; the SLO target as a line and
    each model's capacity point circled. ``models`` (baseline first) fixes the colours, as in
    every other figure; default: the order of ``capacity``, then of ``benchmarks``."""
    targets = list(slo.constraints.items())
    order = [*(models or []), *capacity.get("model", pd.Series(dtype=str)).astype(str),
             *benchmarks["model"].astype(str)]
    models = list(dict.fromkeys(order))
    colors = model_colors(models)
    rps = benchmarks[(benchmarks["metric"] == "requests_per_second")
                     & (benchmarks["status"] == status) & (benchmarks["stat"] == "mean")]
    with themed():
        fig, axes = new_figure(ax, (5.0 * max(len(targets), 1), 4.4), ncols=max(len(targets), 1))
        axes = np.atleast_1d(axes)
        for axx, (metric, (stat, limit)) in zip(axes, targets, strict=False):
            val = benchmarks[(benchmarks["metric"] == metric) & (benchmarks["status"] == status)
                             & (benchmarks["stat"] == stat)]
            configured = False
            for m in models:
                x = rps[rps["model"] == m].set_index("benchmark")["value"]
                if x.empty:  # registry properties: no measured rate, the configured one
                    x = benchmarks[benchmarks["model"] == m].drop_duplicates(
                        "benchmark").set_index("benchmark")["rate"]
                    configured = configured or not x.dropna().empty
                y = val[val["model"] == m].set_index("benchmark")["value"]
                both = pd.concat([x.rename("x"), y.rename("y")], axis=1).dropna()
                if both.empty:
                    continue
                strat = benchmarks[benchmarks["model"] == m].drop_duplicates(
                    "benchmark").set_index("benchmark")["strategy"]
                both = both.assign(sat=[strat.get(b) == "throughput" for b in both.index])
                both = both.sort_values("x")
                ok = both[~both["sat"]]
                axx.plot(ok["x"], ok["y"], "o-", color=colors[m], label=mpl(m))
                sat = both[both["sat"]]
                axx.plot(sat["x"], sat["y"], "o", mfc="none", color=colors[m])
                cap = capacity[capacity["model"] == m] if len(capacity) else capacity
                if len(cap) and pd.notna(cap.iloc[0].get("benchmark")):
                    b = cap.iloc[0]["benchmark"]
                    if b in both.index:
                        axx.plot(both.loc[b, "x"], both.loc[b, "y"], "o", ms=14, mfc="none",
                                 mec="black", mew=1.5)
            unit = "s" if metric == "request_latency" else "ms"
            axx.axhline(limit, color="black", ls="--", lw=1, label=f"SLO {stat} ≤ {limit:g} {unit}")
            axx.set_xlabel("achieved requests/s" + (" (configured rate where none was "
                                                     "measured)" if configured else ""))
            axx.set_ylabel(f"{metric} {stat} ({unit})")
            axx.set_title(metric, fontsize=10, loc="left")
            legend_below(axx, ncol=2)
    return finish(fig, title="Capacity from load tests: latency against load (circled: the "
                  "highest rate meeting the SLO with no errors; hollow: saturation runs)",
                  alt="Line charts of latency percentiles against achieved request rate for "
                      f"{', '.join(models)}, with the SLO target as a dashed line and each "
                      "model's operating point circled.")


def cost_bars(cost: Any, *, ax: Any = None) -> Any:
    """$ per 1M output tokens per model: at capacity (solid) and at observed traffic (hatched,
    labelled as such), with GPUs and $/GPU-hour under each bar."""
    f = cost.frame.dropna(subset=["usd_per_1m_output_tokens"])
    models = list(dict.fromkeys(cost.frame["model"].astype(str)))
    colors = model_colors(models)
    with themed():
        fig, ax = new_figure(ax, (8.0, 4.4))
        bases = [b for b in ("capacity", "observed") if (f["basis"] == b).any()]
        width = 0.8 / max(len(bases), 1)
        x = np.arange(len(models))
        for i, basis in enumerate(bases):
            part = f[f["basis"] == basis].set_index("model")
            vals = [part["usd_per_1m_output_tokens"].get(m, np.nan) for m in models]
            ax.bar(x + (i - (len(bases) - 1) / 2) * width, vals, width,
                   color=[colors[m] for m in models], hatch="//" if basis == "observed" else None,
                   edgecolor="black", label="at capacity (load test at the SLO)"
                   if basis == "capacity" else "at observed traffic (NOT capacity)")
        labels = []
        for m in models:
            r = cost.frame[cost.frame["model"] == m].iloc[0]
            labels.append(f"{mpl(m)}\n{r['gpus']:g} GPU × ${r['usd_per_gpu_hour']:.2f}/h"
                          if np.isfinite(r["gpus"]) and np.isfinite(r["usd_per_gpu_hour"])
                          else mpl(m))
        ax.set_xticks(x, labels)
        ax.set_ylabel("$ per 1M output tokens")
        if not len(f):
            ax.text(0.5, 0.5, "no cost: GPU count or price unknown (see the data issues)",
                    ha="center", va="center", transform=ax.transAxes)
        legend_below(ax)
    return finish(fig, title="Cost per 1M output tokens = GPUs × $/GPU-h / (tokens/s × 3600) "
                  "× 1e6",
                  alt="Bar chart: dollars per million output tokens per model, at capacity "
                      "and at observed traffic.")


def quality_vs_cost(recovery: Any, cost: Any, *, baseline: str, ax: Any = None,
                    basis: str = "capacity") -> Any:
    """Each model at (its $ per 1M output tokens, its recovery %), the baseline at 100 %, with
    the recovery interval as a vertical error bar. Falls back to observed traffic (labelled)
    when no capacity cost exists."""
    f = cost.frame
    if not (f["basis"] == basis).any() and (f["basis"] == "observed").any():
        basis = "observed"
    part = f[f["basis"] == basis].set_index("model")
    models = [baseline, *recovery.candidates]
    colors = model_colors(models)
    with themed():
        fig, ax = new_figure(ax, (7.5, 4.6))
        plotted = 0
        for m in models:
            x = part["usd_per_1m_output_tokens"].get(m, np.nan)
            if m == baseline:
                y, lo, hi = 100.0, 100.0, 100.0
            else:
                r = recovery.summary.set_index("candidate_model").loc[m]
                y, lo, hi = r["recovery"], r["ci_low"], r["ci_high"]
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            plotted += 1
            yerr = [[y - lo], [hi - y]] if np.isfinite(lo) and np.isfinite(hi) else None
            ax.errorbar([x], [y], yerr=yerr, fmt="o", ms=9, capsize=4, color=colors[m],
                        label=mpl(m))
        ax.axhline(100, color="black", lw=1)
        ax.set_xlabel(f"$ per 1M output tokens ({'at capacity' if basis == 'capacity' else 'at OBSERVED traffic, not capacity'})")
        ax.set_ylabel(f"recovery (% of {mpl(baseline)})")
        if not plotted:
            ax.text(0.5, 0.5, "no cost to plot against (see the data issues)", ha="center",
                    va="center", transform=ax.transAxes)
        legend_below(ax)
    return finish(fig, title="Quality against cost (recovery with its interval; the baseline "
                  "at 100 %)",
                  alt=f"Scatter plot: recovery (% of {baseline}) against dollars per million "
                      f"output tokens for {', '.join(models)}, with the recovery interval as "
                      "error bars.")
