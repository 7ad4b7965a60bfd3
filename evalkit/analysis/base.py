"""Small pieces every analysis shares: the z value, model checks, the run that wins, number
formatting, and the issue collector.

>>> round(z_value(0.95), 4), fmt_points(-0.0412)
(1.96, '−4.1')
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core import frames
from ..core.errors import InputError, UnknownModelError
from ..lmeval.metrics import headline_metric


def z_value(confidence: float) -> float:
    if isinstance(confidence, bool) or not (isinstance(confidence, int | float)
                                             and 0.0 < confidence < 1.0):
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    from scipy.special import ndtri  # here, not at import: the CLI checks settings cheaply

    return float(ndtri(1.0 - (1.0 - confidence) / 2.0))


def headline_of(task: str, available: list[tuple[str, str]],
                     overrides: dict | None) -> tuple[str | None, str | None, str]:
    """The headline metric of ``task`` from lm-eval's metric table (or the fallback rule);
    ``(None, None, reason)`` when nothing fits."""
    try:
        metric, filt, note = headline_metric(task, available, overrides)
    except (KeyError, ValueError, LookupError) as exc:
        return None, None, str(exc.args[0] if exc.args else exc)
    return metric, filt, note or ""


def check_margin(margin: float) -> float:
    """A non-inferiority margin must be a finite number ≥ 0.

    >>> check_margin(float("nan"))
    Traceback (most recent call last):
    ...
    evalkit.core.errors.InputError: margin must be a finite number >= 0 (0.02 = 2 points), got nan
    """
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not (
            math.isfinite(margin) and margin >= 0):
        raise InputError(f"margin must be a finite number >= 0 (0.02 = 2 points), got {margin!r}")
    return float(margin)


def as_list(candidates: str | Iterable[str]) -> list[str]:
    """``candidates`` as a list: one name or several (the same argument everywhere).

    >>> as_list("w4a16"), as_list(["a", "b"])
    (['w4a16'], ['a', 'b'])
    """
    out = [candidates] if isinstance(candidates, str) else [str(c) for c in candidates]
    if not out:
        raise InputError("candidates: give at least one model name")
    return out


def check_models(scores: pd.DataFrame, names: Iterable[str]) -> None:
    present = sorted({str(m) for m in scores["model"].dropna().unique()})
    for name in names:
        if name not in present:
            raise UnknownModelError(
                f"model {name!r} is not in the scores; models present: "
                f"{', '.join(present) if present else '(none)'}"
            )


#: inside :func:`reusing_latest_jobs`: ``{(id(scores), baseline): (scores, latest)}``
_LATEST: contextvars.ContextVar[dict[tuple[int, str | None], tuple[Any, pd.DataFrame]] | None] = \
    contextvars.ContextVar("evalkit_latest_jobs", default=None)


@contextlib.contextmanager
def reusing_latest_jobs() -> Iterator[None]:
    """Inside the block, :func:`latest_jobs` picks the runs of a given scores frame and
    baseline once and hands out copies — for one analysis of frames nothing changes meanwhile
    (:func:`evalkit.analyze`; every step asks the same question).

    >>> s = pd.DataFrame({"model": ["b"], "task": "t", "job": ["j"], "completed_at": pd.NaT,
    ...                   "created_at": pd.NaT})
    >>> with reusing_latest_jobs():
    ...     a = latest_jobs(s); a.loc[0, "job"] = "changed"; b = latest_jobs(s)
    >>> b["job"].tolist()
    ['j']
    """
    token = _LATEST.set({})
    try:
        yield
    finally:
        _LATEST.reset(token)


def latest_jobs(scores: pd.DataFrame, baseline: str | None = None) -> pd.DataFrame:
    """One row per (model, task): the run that is compared.

    The rule, in order: a run over the whole task beats a ``--limit`` run; with ``baseline``
    given, another model's run with the baseline run's few-shot count and limit beats one
    without (so a 0-shot and a 5-shot run of the same task never meet); then the latest
    ``completed_at``, then ``created_at``, then the job name (runs without a completion time
    lose to those with one).

    >>> import pandas as pd
    >>> s = pd.DataFrame({"model": ["b", "c", "c"], "task": "t", "job": ["b5", "c5", "c0"],
    ...                   "completed_at": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01"]),
    ...                   "created_at": pd.NaT, "num_fewshot": [5, 5, 0], "limit": None})
    >>> latest_jobs(s)["job"].tolist(), latest_jobs(s, "b")["job"].tolist()
    (['b5', 'c0'], ['b5', 'c5'])
    """
    memo = _LATEST.get()
    if memo is None:
        return _latest_jobs(scores, baseline)
    hit = memo.get((id(scores), baseline))
    if hit is None or hit[0] is not scores:
        hit = (scores, _latest_jobs(scores, baseline))  # holding scores keeps its id unique
        memo[(id(scores), baseline)] = hit
    return hit[1].copy()


def _latest_jobs(scores: pd.DataFrame, baseline: str | None) -> pd.DataFrame:
    cols = ["model", "task", "job", "completed_at", "created_at"]
    settings = [c for c in ("num_fewshot", "limit") if c in scores.columns]
    agg = {"completed_at": ("completed_at", "max"), "created_at": ("created_at", "max")}
    agg.update({c: (c, "first") for c in settings})
    runs = (
        scores[cols + settings]
        .groupby(["model", "task", "job"], as_index=False, dropna=False, sort=False)
        .agg(**agg)
    )
    runs["_full"] = runs["limit"].isna() if "limit" in runs else True
    keys = ["model", "task", "_full", "completed_at", "created_at", "job"]
    win = _last(runs, keys)
    if baseline is not None and settings:
        sig = runs[settings].astype(object).where(runs[settings].notna(), "∅").astype(str) \
            .agg("|".join, axis=1)
        runs["_sig"] = sig
        mine = _last(runs, keys)
        mine = mine[mine["model"] == baseline]
        ref = dict(zip(mine["task"], mine["_sig"], strict=True))
        runs["_match"] = [m != baseline and ref.get(t) == g
                          for m, t, g in zip(runs["model"], runs["task"], runs["_sig"], strict=True)]
        win = _last(runs, ["model", "task", "_match", *keys[2:]])
    return win[cols].reset_index(drop=True)


def _last(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    ordered = runs.sort_values(keys, na_position="first", kind="mergesort")
    return ordered.groupby(["model", "task"], sort=False, dropna=False).tail(1)


def fmt_points(x: float, signed: bool = True) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    v = 100.0 * x
    s = f"{v:+.1f}" if signed else f"{v:.1f}"
    return s.replace("-", "−")


def fmt_margin(margin: float) -> str:
    v = 100.0 * margin
    return f"{v:g}-point" if v != 1 else "1-point"


def round_sig(n: float, sig: int = 2) -> int:
    if n < 100:
        return int(n)
    digits = int(math.floor(math.log10(n))) + 1 - sig
    return int(round(n, -digits))


def is_nan(x: Any) -> bool:
    try:
        return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))
    except TypeError:
        return False



@dataclass
class Issues:
    issues: list[dict[str, str]] = field(default_factory=list)

    def add(self, obj: str, severity: str, message: str, source: str = "compare") -> None:
        self.issues.append(frames.issue(source, obj, severity, message))

    def frame(self) -> pd.DataFrame:
        return frames.issues_frame(self.issues)
