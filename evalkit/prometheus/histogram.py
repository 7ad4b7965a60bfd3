"""``histogram_quantile`` computed locally from raw ``_bucket`` samples, exactly as
Prometheus v2.42 does (for raw-bucket pulls; long ranges aggregate on the server).

>>> import pandas as pd
>>> f = pd.DataFrame({"timestamp": pd.to_datetime([0, 0, 0], unit="s", utc=True),
...                   "le": ["0.1", "1", "+Inf"], "value": [5.0, 10.0, 10.0]})
>>> quantiles_from_buckets(f, 0.75)["value"].round(12).tolist()
[0.55]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import SchemaError


def _parse_le(values: Iterable[Any]) -> np.ndarray:
    out = []
    for v in values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(np.nan)
    return np.array(out, dtype=np.float64)


def quantiles_from_buckets(frame: pd.DataFrame, q: float) -> pd.DataFrame:
    """``histogram_quantile(q, ...)`` computed locally from raw ``_bucket`` samples.

    Follows ``bucketQuantile`` of Prometheus **v2.42** ``promql/quantile.go`` (the version
    evalkit's tests run against): buckets with the same upper bound are summed; the highest
    bucket must be ``+Inf`` (else NaN); counts are forced monotonic (``ensureMonotonic``: a
    running max from the first bucket; there is no small-delta precision step in v2.42, it came
    in later versions); fewer than two buckets or zero observations give NaN; the bucket is
    found with Go's ``sort.Search`` (binary search for ``count >= q * observations``, so NaN
    counts land where Prometheus' do); a quantile in the ``+Inf`` bucket returns the
    second-highest bound; the lowest bucket interpolates from 0 when its bound is > 0 (and
    returns its bound when ≤ 0); ``q`` < 0 → -Inf, > 1 → +Inf, NaN → NaN. Samples whose ``le``
    is missing or not a number are ignored.

    Parameters
    ----------
    frame : long frame of bucket samples (as :func:`parse_matrix` returns for e.g.
        ``sum by (le) (rate(x_bucket[5m]))``), with columns ``timestamp``, ``value``, ``le``.
    q : the quantile, 0 ≤ q ≤ 1.

    Returns
    -------
    One row per timestamp and label set (all labels except ``le`` and ``metric_name``):
    the label columns, ``timestamp`` and ``value``.

    Examples
    --------
    >>> f = pd.DataFrame({"timestamp": pd.to_datetime([0, 0, 0], unit="s", utc=True),
    ...                   "le": ["0.1", "1", "+Inf"], "value": [5.0, 10.0, 10.0]})
    >>> quantiles_from_buckets(f, 0.75)["value"].round(12).tolist()
    [0.55]
    """
    for c in ("timestamp", "value", "le"):
        if c not in frame.columns:
            raise SchemaError(f"quantiles_from_buckets needs column {c!r}; pull the raw "
                                     "_bucket series (with their le label)")
    keys = [c for c in frame.columns if c not in ("timestamp", "value", "le", "metric_name")]
    le_raw = frame["le"]
    if isinstance(le_raw.dtype, pd.CategoricalDtype):
        cats = _parse_le(le_raw.cat.categories)
        codes = le_raw.cat.codes.to_numpy()
        le = np.where(codes >= 0, cats[np.maximum(codes, 0)], np.nan)
    else:
        le = _parse_le(le_raw.tolist())
    ok = ~np.isnan(le)
    f = frame.loc[ok, keys + ["timestamp"]].reset_index(drop=True)
    le = le[ok]
    cnt = frame["value"].to_numpy(dtype=np.float64)[ok]
    if len(f) == 0:
        return pd.DataFrame({**{k: pd.Series([], dtype=frame[k].dtype) for k in keys},
                             "timestamp": pd.Series([], dtype=frame["timestamp"].dtype),
                             "value": pd.Series([], dtype=np.float64)})
    gid = f.groupby(keys + ["timestamp"], sort=False, dropna=False, observed=True).ngroup().to_numpy()
    order = np.lexsort((le, gid))
    gid, le, cnt = gid[order], le[order], cnt[order]
    first_rows = order  # original row index of each sorted entry
    # coalesce equal upper bounds within a group (sum; NaN propagates as in Go)
    new = np.r_[True, (gid[1:] != gid[:-1]) | (le[1:] != le[:-1])]
    starts = np.flatnonzero(new)
    cnt = np.add.reduceat(cnt, starts)
    gid, le, first_rows = gid[starts], le[starts], first_rows[starts]
    n_groups = int(gid.max()) + 1
    gstart = np.r_[0, np.flatnonzero(gid[1:] != gid[:-1]) + 1]
    lens = np.diff(np.r_[gstart, gid.size])
    width = int(lens.max())
    pos = np.arange(gid.size) - np.repeat(gstart, lens)
    U = np.full((n_groups, width), np.nan)
    C = np.full((n_groups, width), np.nan)
    U[gid, pos], C[gid, pos] = le, cnt
    valid = np.arange(width)[None, :] < lens[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # ensureMonotonic (v2.42): max starts at the first count (a NaN there stays the max)
        mx = C[:, 0].copy()
        for i in range(1, width):
            v = valid[:, i]
            cur = C[:, i]
            gt, lt = v & (cur > mx), v & (cur < mx)
            mx = np.where(gt, cur, mx)
            C[:, i] = np.where(lt, mx, cur)
        rows = np.arange(n_groups)
        last = lens - 1
        obs = C[rows, last]
        rank = q * obs
        # b = sort.Search(len-1, count >= rank): the same binary search as Go, so a NaN count
        # (never >= rank) sends it where Go goes, not to the first count >= rank
        lo, hi = np.zeros(n_groups, np.int64), last.astype(np.int64)
        while True:
            act = lo < hi
            if not act.any():
                break
            h = (lo + hi) // 2
            ge = C[rows, h] >= rank
            lo = np.where(act & ~ge, h + 1, lo)
            hi = np.where(act & ge, h, hi)
        b = lo
        ub = U[rows, b]
        bm1 = np.maximum(b - 1, 0)
        start = np.where(b > 0, U[rows, bm1], 0.0)
        cb = C[rows, b]
        prevc = np.where(b > 0, C[rows, bm1], 0.0)
        count = np.where(b > 0, cb - prevc, cb)
        r = np.where(b > 0, rank - prevc, rank)
        res = start + (ub - start) * (r / count)
        res = np.where((b == 0) & (U[rows, 0] <= 0), U[rows, 0], res)
        res = np.where(b == last, U[rows, np.maximum(last - 1, 0)], res)
        res = np.where(obs == 0, np.nan, res)
        res = np.where(lens < 2, np.nan, res)
        res = np.where(U[rows, last] == np.inf, res, np.nan)
    if math.isnan(q):
        res[:] = np.nan
    elif q < 0:
        res[:] = -np.inf
    elif q > 1:
        res[:] = np.inf
    rep = first_rows[gstart]  # one source row per group, in group order
    out = f.iloc[rep][keys + ["timestamp"]].reset_index(drop=True)
    out["value"] = res
    return out.sort_values(["timestamp", *keys], kind="stable").reset_index(drop=True)
