"""Property-based checks of compare(): symmetry under swapping models, duplication never widens
an interval, every interval contains its own centre, verdicts agree with interval and margin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.analysis.compare import compare
from evalkit.analysis.stats import paired_binary_stats
from tests.builders import paired_frames

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


binary = st.integers(1, 60).flatmap(
    lambda n: st.tuples(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n),
                        st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
unit = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 3))
continuous = st.integers(1, 40).flatmap(
    lambda n: st.tuples(st.lists(unit, min_size=n, max_size=n),
                        st.lists(unit, min_size=n, max_size=n)))
paired = st.one_of(binary.map(lambda p: ("arc_easy", "acc_norm", p)),
                   continuous.map(lambda p: ("truthfulqa_mc2", "acc", p)))
confidence = st.sampled_from([0.8, 0.9, 0.95, 0.99])
margin = st.sampled_from([0.0, 0.01, 0.02, 0.05])


def _row(xb, xc, task, metric, **kw):
    scores, samples = paired_frames(xb, xc, task=task, metric=metric)
    return compare(scores, "fp16", "w4a16", samples=samples, **kw).frame.iloc[0]


def _swap_row(xb, xc, task, metric, **kw):
    scores, samples = paired_frames(xc, xb, task=task, metric=metric)
    return compare(scores, "fp16", "w4a16", samples=samples, **kw).frame.iloc[0]


@SETTINGS
@given(paired, confidence)
def test_swapping_models_negates_delta_and_mirrors_interval(case, conf):
    task, metric, (xb, xc) = case
    ab = _row(xb, xc, task, metric, confidence=conf)
    ba = _swap_row(xb, xc, task, metric, confidence=conf)
    assert ab["delta"] == pytest.approx(-ba["delta"], abs=1e-12)
    assert ab["paired_delta"] == pytest.approx(-ba["paired_delta"], abs=1e-12)
    np.testing.assert_allclose([ab["ci_low"], ab["ci_high"]], [-ba["ci_high"], -ba["ci_low"]],
                               atol=1e-12)
    np.testing.assert_allclose(ab["p_value"], ba["p_value"], atol=1e-12)
    assert ab["method"] == ba["method"]


@SETTINGS
@given(paired, confidence)
def test_duplicating_every_document_never_widens_the_interval(case, conf):
    task, metric, (xb, xc) = case
    one = _row(xb, xc, task, metric, confidence=conf)
    two = _row(xb + xb, xc + xc, task, metric, confidence=conf)
    assert two["n"] == 2 * one["n"]
    w1, w2 = one["ci_high"] - one["ci_low"], two["ci_high"] - two["ci_low"]
    if np.isfinite(w1):
        assert np.isfinite(w2) and w2 <= w1 + 1e-12


@SETTINGS
@given(paired, confidence)
def test_every_interval_contains_its_own_centre(case, conf):
    task, metric, (xb, xc) = case
    r = _row(xb, xc, task, metric, confidence=conf)
    if np.isfinite(r["ci_low"]):
        assert r["ci_low"] <= r["ci_centre"] <= r["ci_high"]
    else:  # no interval: always said why
        assert r["method_note"] and r["verdict"] == "inconclusive"


@SETTINGS
@given(paired, margin, confidence)
def test_verdict_agrees_with_interval_and_margin(case, m, conf):
    task, metric, (xb, xc) = case
    r = _row(xb, xc, task, metric, margin=m, confidence=conf)
    lo, hi = r["ci_low"], r["ci_high"]
    rejects = r["p_value"] < 1 - conf
    if lo > 0 and rejects:
        assert r["verdict"] == "better"
    elif lo > -m:
        assert r["verdict"] == "non-inferior"
    elif hi < -m and rejects:
        assert r["verdict"] == "inferior"
    else:
        assert r["verdict"] == "inconclusive"
    assert np.isfinite(lo) and np.isfinite(hi) and hi > lo  # never a zero-width certainty
    assert r["verdict_text"].startswith(r["verdict"])
    assert r["significant"] == bool(r["p_value"] < 1 - conf)


@SETTINGS
@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 60), confidence)
def test_binary_formula_symmetry_and_p_range(b, c, rest, conf):
    n = b + c + rest
    if n == 0:
        return
    x = paired_binary_stats(b, c, n, conf)
    y = paired_binary_stats(c, b, n, conf)
    assert x["ci_low"] == pytest.approx(-y["ci_high"]) and x["p_value"] == y["p_value"]
    assert 0 < x["p_value"] <= 1 and x["se"] > 0


def test_better_and_inferior_only_where_the_exact_test_rejects():
    """Every (b, c, n) with n ≤ 200 (1.35 million tables): "better" and "inferior" appear only
    where the exact McNemar test rejects at α, on the side it rejects. The intervals and p-values
    are computed vectorised here and checked against evalkit's own function on a sample."""
    from scipy import stats as sst

    from evalkit.analysis.stats import verdict_rule

    conf, m = 0.95, 0.02
    n_all, b_all, c_all = [], [], []
    for n in range(1, 201):
        b, top = np.triu_indices(n + 1)  # b <= top <= n, so c = top - b enumerates b + c <= n
        bb, cc = b, top - b
        n_all.append(np.full(bb.size, n))
        b_all.append(bb)
        c_all.append(cc)
    n, b, c = (np.concatenate(x).astype(float) for x in (n_all, b_all, c_all))
    z = sst.norm.ppf(1 - (1 - conf) / 2)
    ns = n + 2
    centre = (c - b) / ns
    se = np.sqrt(((b + c + 1) - (c - b) ** 2 / ns) / ns**2)
    lo, hi = centre - z * se, centre + z * se
    k = b + c
    p = np.where(k == 0, 1.0, np.minimum(1.0, 2 * sst.binom.cdf(np.minimum(b, c), k, 0.5)))
    rng = np.random.default_rng(0)
    for i in rng.choice(n.size, 500, replace=False):
        r = paired_binary_stats(int(b[i]), int(c[i]), int(n[i]), conf)
        assert (r["ci_low"], r["ci_high"], r["p_value"]) == pytest.approx((lo[i], hi[i], p[i]))
    claims = 0
    for i in np.flatnonzero((lo > 0) | (hi < -m)):  # only these can be better/inferior
        v = verdict_rule(lo[i], hi[i], m, p_value=p[i], confidence=conf)
        if v in ("better", "inferior"):
            claims += 1
            assert p[i] < 1 - conf and (c[i] > b[i]) == (v == "better"), (b[i], c[i], n[i], v)
    assert claims > 1000
