"""Quality figures: scores per task, improvement intervals, recovery per task, quality over
time. Frames in, Figures out (data first, ``ax=`` optional, no pyplot state); every interval
drawn is one evalkit computed — no plotting library estimates one itself.

Figures stay legible for 4 or 100 tasks: horizontal layouts, at most ``max_tasks`` rows
(the largest effects first, the rest named in the title), heights capped.

>>> import evalkit as ek
>>> a = ek.analyze(ek.load())
>>> fig = scores(a.comparison.frame)
>>> alt_text(fig).startswith("Horizontal bars")
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..text import mpl
from .theme import (
    alt_text,
    finish,
    legend_below,
    model_colors,
    new_figure,
    themed,
    verdict_color,
)

__all__ = ["scores", "deltas", "recovery", "trend", "alt_text"]


def _z(confidence: float) -> float:
    return float(special.ndtri(1.0 - (1.0 - confidence) / 2.0))


def _label(r: Any) -> str:
    f = r.get("filter") if hasattr(r, "get") else None
    return mpl(f"{r['task']} ({f})" if f not in (None, "none") else r["task"])


def _cap(df: pd.DataFrame, key: pd.Series, max_rows: int) -> tuple[pd.DataFrame, str]:
    if len(df) <= max_rows:
        return df, ""
    keep = key.abs().sort_values(ascending=False).index[:max_rows]
    return df.loc[sorted(keep)], f" — the {max_rows} largest of {len(df)} (all in the table)"


def scores(comparison: pd.DataFrame, *, confidence: float = 0.95, ax: Any = None,
           max_tasks: int = 30) -> Any:
    """Horizontal bars: each task's headline score per model (%), with the interval value ±
    z·lm-eval stderr. Proportions only (a perplexity has no place on a % axis); the title
    says how many other rows exist.

    ``comparison`` is the frame of :func:`evalkit.compare` (baseline and every candidate).
    """
    df = comparison.reset_index(drop=True)
    other = int((df.get("scale", pd.Series(dtype=str)) == "relative").sum())
    if "scale" in df:
        df = df[df["scale"] == "points"].reset_index(drop=True)
    df, capped = _cap(df.drop_duplicates(["task", "filter", "candidate_model"]),
                      df.get("delta", pd.Series(0.0, index=df.index)), max_tasks)
    base = df.drop_duplicates(["task", "filter"])
    long = pd.concat([
        base.assign(model=base["baseline_model"], value=base["baseline"],
                    stderr=base["baseline_stderr"]),
        df.assign(model=df["candidate_model"], value=df["candidate"],
                  stderr=df["candidate_stderr"])], ignore_index=True)
    long["label"] = [_label(r) for _, r in long.iterrows()]
    models = list(dict.fromkeys(long["model"].astype(str)))
    colors = model_colors(models)
    tasks = list(dict.fromkeys(long["label"]))
    z = _z(confidence)
    with themed():
        fig, ax = new_figure(ax, (8.0, 1.2 + 0.32 * len(tasks) * max(len(models), 1)))
        h = 0.8 / max(len(models), 1)
        y = np.arange(len(tasks))
        for i, m in enumerate(models):
            sub = long[long["model"] == m].drop_duplicates("label").set_index("label")
            vals = np.array([100 * sub["value"].get(t, np.nan) for t in tasks], float)
            err = np.array([100 * z * sub["stderr"].get(t, np.nan) for t in tasks], float)
            pos = y - (i - (len(models) - 1) / 2) * h
            ax.barh(pos, vals, h, color=colors[m], label=mpl(m))
            ok = np.isfinite(err)
            ax.errorbar(vals[ok], pos[ok], xerr=err[ok], fmt="none", ecolor="black",
                        elinewidth=1, capsize=2)
        ax.set_yticks(y, tasks)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("score (%)")
        legend_below(ax)
    extra = f"; {other} non-proportion row(s) are in the improvement plot" if other else ""
    return finish(fig, title=f"Score per task ({confidence:.0%} interval: ± z·lm-eval stderr)"
                  f"{capped}{extra}",
                  alt=f"Horizontal bars: headline score per task (%) for {', '.join(models)}, "
                      f"with {confidence:.0%} error bars; {len(tasks)} task(s).")


def _improvement(df: pd.DataFrame) -> pd.DataFrame:
    """Intervals on the improvement scale (+ is better), in points or % of the baseline."""
    sign = np.where(df.get("direction", "higher") == "lower", -1.0, 1.0)
    lo, hi = df["ci_low"] * sign, df["ci_high"] * sign
    est = df["estimate"] if "estimate" in df else df.get("paired_delta", df["delta"])
    return df.assign(_lo=100 * np.minimum(lo, hi), _hi=100 * np.maximum(lo, hi),
                     _est=100 * est * sign, _margin=100 * df["margin"])


def deltas(comparison: pd.DataFrame, *, ax: Any = None, max_tasks: int = 30) -> Any:
    """Each task's interval for the candidate's improvement over the baseline (+ is better:
    for lower-is-better metrics such as perplexity the sign is flipped), against 0 and
    −margin, coloured by verdict. Proportions in points; other metrics, in their own panel,
    as % of the baseline."""
    df = _improvement(comparison.reset_index(drop=True))
    scales = [s for s in ("points", "relative") if (df.get("scale", "points") == s).any()] \
        or ["points"]
    several = "candidate_model" in df and df["candidate_model"].nunique() > 1
    with themed():
        rows = [df[df.get("scale", "points") == s] for s in scales]
        n_rows = sum(min(len(r), max_tasks) for r in rows)
        fig, axes = new_figure(ax, (8.0, 1.6 + 0.36 * n_rows + 0.6 * len(scales)),
                               nrows=len(scales), height_ratios=[max(min(len(r), max_tasks), 1)
                                                                 for r in rows]
                               if ax is None and len(scales) > 1 else None)
        axes = [axes] if not isinstance(axes, np.ndarray) else list(axes)
        capped_any = ""
        for axx, scale, part in zip(axes, scales, rows, strict=False):
            part, capped = _cap(part, part["_est"], max_tasks)
            capped_any = capped_any or capped
            y = np.arange(len(part))
            for yi, (_, r) in zip(y, part.iterrows(), strict=True):
                col = verdict_color(str(r.get("verdict")))
                if np.isfinite(r["_lo"]) and np.isfinite(r["_hi"]):
                    axx.plot([r["_lo"], r["_hi"]], [yi, yi], color=col, lw=2.4)
                    axx.plot(r["_est"], yi, "o", color=col, ms=5)
                else:
                    axx.plot(r["_est"], yi, "o", mfc="none", color=col, ms=5)
            margins = sorted(set(part["_margin"].round(6)))
            axx.axvline(0, color="black", lw=1)
            for mg in margins:
                axx.axvline(-mg, color=verdict_color("inferior"), lw=1, ls="--",
                            label=f"−margin ({-mg:g}{' pts' if scale == 'points' else ' %'})")
            labels = [_label(r) + (f" · {mpl(r['candidate_model'])}" if several else "")
                      + f": {r.get('verdict', '')}" for _, r in part.iterrows()]
            axx.set_yticks(y, labels)
            axx.invert_yaxis()
            axx.set_xlabel("improvement of the candidate (percentage points; + is better)"
                           if scale == "points" else
                           "improvement of the candidate (% of the baseline; + is better)")
            legend_below(axx)
        conf = float(df["confidence"].iloc[0]) if "confidence" in df and len(df) else 0.95
        methods = "; ".join(dict.fromkeys(df["method"].astype(str))) if "method" in df else ""
    return finish(fig, title=f"Candidate vs baseline: {conf:.0%} intervals against 0 and "
                  f"−margin{capped_any}\n{methods}",
                  alt=f"Forest plot: one {conf:.0%} interval per task for the candidate's "
                      "improvement over the baseline, with lines at 0 and at minus the margin; "
                      "colour shows the verdict.")


def recovery(result: Any, *, ax: Any = None, max_tasks: int = 30) -> Any:
    """Recovery per counted task (candidate / baseline, %) per candidate, with the overall
    recovery and its interval as a line and band."""
    per = result.per_task[result.per_task["counted"]].reset_index(drop=True)
    per, capped = _cap(per, per["recovery"] - 100.0, max_tasks)
    cands = list(result.candidates)
    colors = model_colors([result.baseline, *cands])
    tasks = list(dict.fromkeys(per["task"].astype(str)))
    with themed():
        fig, ax = new_figure(ax, (8.0, 1.6 + 0.32 * len(tasks) * max(len(cands), 1)))
        h = 0.8 / max(len(cands), 1)
        y = np.arange(len(tasks))
        for i, c in enumerate(cands):
            sub = per[per["candidate_model"] == c].set_index("task")["recovery"]
            vals = np.array([sub.get(t, np.nan) for t in tasks], float)
            ax.barh(y - (i - (len(cands) - 1) / 2) * h, vals, h, color=colors[c], label=mpl(c))
            row = result.summary.set_index("candidate_model").loc[c]
            if np.isfinite(row["recovery"]):
                ax.axvline(row["recovery"], color=colors[c], lw=1.5, ls="--",
                           label=f"{mpl(c)} overall {row['recovery']:.1f} %")
            if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
                ax.axvspan(row["ci_low"], row["ci_high"], color=colors[c], alpha=0.12)
        ax.axvline(100, color="black", lw=1)
        ax.set_yticks(y, [mpl(t) for t in tasks])
        ax.invert_yaxis()
        lo = np.nanmin(np.r_[per["recovery"].to_numpy(float), result.summary["ci_low"], 95.0])
        hi = np.nanmax(np.r_[per["recovery"].to_numpy(float), result.summary["ci_high"], 101.0])
        ax.set_xlim(max(0.0, lo - 2), hi + 2)
        ax.set_xlabel("candidate / baseline (%)")
        legend_below(ax, ncol=2)
    return finish(fig, title=f"Recovery per task, and overall with its {result.confidence:.0%} "
                  f"interval{capped}",
                  alt=f"Horizontal bars: candidate score as % of the baseline per task for "
                      f"{', '.join(cands)}; dashed line: overall recovery, band: its interval.")


def trend(frame: pd.DataFrame, *, ax: Any = None) -> Any:
    """Quality over time: one line per (model, task) through its completed runs, with the
    intervals of :func:`evalkit.trend` as error bars."""
    models = list(dict.fromkeys(frame["model"].astype(str)))
    colors = model_colors(models)
    markers = "osD^vP*X"
    tasks = list(dict.fromkeys(frame["task"].astype(str)))
    with themed():
        fig, ax = new_figure(ax, (8.5, 4.4))
        for (model, task), g in frame.groupby(["model", "task"], sort=True):
            g = g.sort_values("completed_at")
            # arrays, not Series: pandas 2.2 warns on float() of a one-element Series
            x = pd.to_datetime(g["completed_at"]).dt.tz_localize(None).to_numpy()
            lo = (100 * (g["value"] - g["ci_low"]).fillna(0)).to_numpy(dtype=float)
            hi = (100 * (g["ci_high"] - g["value"]).fillna(0)).to_numpy(dtype=float)
            ax.errorbar(x, (100 * g["value"]).to_numpy(dtype=float), yerr=np.vstack([lo, hi]),
                        marker=markers[tasks.index(str(task)) % len(markers)], capsize=3,
                        color=colors[str(model)], label=f"{mpl(model)} · {mpl(task)}")
        ax.set_ylabel("score (%)")
        ax.set_xlabel("run completed (UTC)")
        legend_below(ax, ncol=3)
        ax.tick_params(axis="x", labelrotation=20)
    return finish(fig, title="Quality over time (every completed run, with intervals)",
                  alt="Line chart: headline score (%) of every completed run over time, one "
                      "line per model and task, with error bars.")
