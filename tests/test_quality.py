"""Quality analysis: every number checked against a direct scipy/numpy computation on
hand-built frames (paired binary and continuous, gsm8k's filters, unmatched and hash-mismatched
documents, one-model tasks, zero discordant pairs, identical outcomes, n = 1), recovery with the
RedHatAI model-card example, comparability, flips, trend."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.analysis import stats as st
from evalkit.analysis.comparability import comparability
from evalkit.analysis.compare import COMPARE_COLUMNS, compare
from evalkit.analysis.flips import flips
from evalkit.analysis.recovery import recovery
from evalkit.analysis.trend import trend
from evalkit.analysis.verdicts import limit_note, verdict_text
from evalkit.core import frames
from evalkit.core.errors import UnknownModelError
from tests.builders import (
    ZZ,
    Z,
    agresti_min,
    binary_pairs,
    paired_frames,
    sample_rows,
    score_row,
    se_of,
)


def t_sample_size(d: float, margin: float, sd: float, conf: float = 0.95) -> int:
    """n with t quantiles (n − 1 df), solved by iteration, independent of evalkit's code."""
    n = math.ceil(((stats.norm.ppf(1 - (1 - conf) / 2) + stats.norm.ppf(0.8)) * sd
                   / (d + margin)) ** 2)
    for _ in range(100):
        df = max(n - 1, 1)
        nxt = math.ceil(((stats.t.ppf(1 - (1 - conf) / 2, df) + stats.t.ppf(0.8, df)) * sd
                         / (d + margin)) ** 2)
        if nxt == n:
            break
        n = nxt
    return max(n, 2)


def cmp(*args, **kw) -> pd.DataFrame:
    """compare()'s rows (the tests read the frame; issues are read from compare() itself)."""
    return compare(*args, **kw).frame


# ------------------------------------------------------------------------------------------
# paired binary


def test_paired_binary_every_number_matches_direct_computation():
    xb, xc = binary_pairs(n11=60, n10=4, n01=3, n00=33)
    scores, samples = paired_frames(xb, xc)
    r = cmp(scores, baseline="fp16", candidates="w4a16", samples=samples).iloc[0]
    n, b, c = 100, 4, 3
    assert r["method"] == st.METHOD_PAIRED_BINARY
    assert (r["n"], r["n_lost"], r["n_gained"]) == (n, b, c)
    assert r["delta"] == pytest.approx(xc.mean() - xb.mean(), abs=1e-15)
    assert r["relative_delta"] == pytest.approx((xc.mean() - xb.mean()) / xb.mean())
    assert r["paired_delta"] == pytest.approx((c - b) / n)
    centre, lo, hi = agresti_min(b, c, n)
    assert r["ci_centre"] == pytest.approx(centre)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    assert r["p_value"] == pytest.approx(stats.binomtest(min(b, c), b + c, 0.5).pvalue)
    assert r["significant"] == (r["p_value"] < 0.05)
    se = np.sqrt(((b + c + 1) - (c - b) ** 2 / (n + 2)) / (n + 2) ** 2)
    assert r["se"] == pytest.approx(se)
    assert r["mde"] == pytest.approx(ZZ * se)
    d = (c - b) / n
    plug_in_sd = math.sqrt((b + c) / n - d**2)  # the per-document spread, no pseudo-counts
    assert r["n_needed"] == math.ceil((ZZ * plug_in_sd / (d + 0.02)) ** 2)
    assert "normal approximation" in r["n_needed_note"]
    assert r["verdict"] == ("non-inferior" if lo > -0.02 else
                            "inferior" if hi < -0.02 and r["significant"] else "inconclusive")


def test_zero_discordant_pairs_give_p1_and_an_honest_nonzero_interval():
    xb, xc = binary_pairs(n11=70, n10=0, n01=0, n00=30)
    scores, samples = paired_frames(xb, xc)
    r = cmp(scores, "fp16", "w4a16", samples=samples).iloc[0]
    assert r["paired_delta"] == 0 and r["p_value"] == 1.0 and not r["significant"]
    assert r["se"] == pytest.approx(1 / 102)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-Z / 102, Z / 102))
    # a Wald interval would be [0, 0] and call this "non-inferior"; ±1.9 points is not
    assert r["ci_high"] - r["ci_low"] > 0.03


def test_binary_n1_does_not_crash():
    scores, samples = paired_frames([1.0], [0.0])
    r = cmp(scores, "fp16", "w4a16", samples=samples).iloc[0]
    centre, lo, hi = agresti_min(1, 0, 1)
    assert r["n"] == 1 and r["paired_delta"] == -1.0
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    assert r["p_value"] == 1.0  # 2·P[X ≤ 0], X ~ Bin(1, ½) = 1
    assert r["verdict"] == "inconclusive"


# ------------------------------------------------------------------------------------------
# paired continuous


def test_paired_continuous_matches_ttest_rel():
    rng = np.random.default_rng(3)
    xb = rng.uniform(0, 1, 80)
    xc = np.clip(xb + rng.normal(-0.01, 0.05, 80), 0, 1)
    scores, samples = paired_frames(xb, xc, task="truthfulqa_mc2", metric="acc")
    r = cmp(scores, "fp16", "w4a16", samples=samples).iloc[0]
    tt = stats.ttest_rel(xc, xb)
    ci = tt.confidence_interval(0.95)
    assert r["method"] == st.METHOD_PAIRED_CONTINUOUS
    assert r["paired_delta"] == pytest.approx(np.mean(xc - xb))
    assert r["se"] == pytest.approx(stats.sem(xc - xb))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert r["p_value"] == pytest.approx(tt.pvalue)
    assert r["mde"] == pytest.approx(ZZ * stats.sem(xc - xb))
    assert r["n_needed"] == t_sample_size(np.mean(xc - xb), 0.02, np.std(xc - xb, ddof=1))
    assert "t quantiles" in r["n_needed_note"]


def augmented_t(d: np.ndarray, conf: float = 0.95) -> tuple[float, float, float]:
    """The documented small-sample rule, recomputed by hand: pseudo-documents +1 and −1 with
    weight ½ each, weighted t interval and test on the n + 1 total weight."""
    x = np.r_[d, 1.0, -1.0]
    w = np.r_[np.ones(d.size), 0.5, 0.5]
    m = np.average(x, weights=w)
    var = np.sum(w * (x - m) ** 2) / (w.sum() - 1)
    se = math.sqrt(var / w.sum())
    t = stats.t.ppf(1 - (1 - conf) / 2, w.sum() - 1)
    return m - t * se, m + t * se, 2 * stats.t.sf(abs(m) / se, w.sum() - 1)


def test_identical_continuous_outcomes_get_the_small_sample_rule_not_certainty():
    x = np.linspace(0.1, 0.9, 30)
    scores, samples = paired_frames(x, x, task="truthfulqa_mc2", metric="acc")
    r = cmp(scores, "fp16", "w4a16", samples=samples).iloc[0]
    lo, hi, p = augmented_t(np.zeros(30))
    assert r["paired_delta"] == 0 and r["ci_high"] - r["ci_low"] > 0
    assert (r["ci_low"], r["ci_high"], r["p_value"]) == pytest.approx((lo, hi, p))
    assert "small-sample rule" in r["method_note"]
    # identical 0/1 outcomes on as many documents reach the same kind of verdict
    xb, _ = binary_pairs(18, 0, 0, 12)
    sb, smp = paired_frames(xb, xb)
    assert cmp(sb, "fp16", "w4a16", samples=smp).iloc[0]["verdict"] == r["verdict"]


def test_a_uniform_drop_is_called_what_it_is():
    """Every one of 100 documents 5 points worse: inferior against a 2-point margin (with
    1e-9 noise the plain t interval says the same)."""
    x = np.linspace(0.2, 0.9, 100)
    scores, samples = paired_frames(x, x - 0.05, task="truthfulqa_mc2", metric="acc")
    r = cmp(scores, "fp16", "w4a16", samples=samples).iloc[0]
    lo, hi, p = augmented_t(np.full(100, -0.05))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi)) and hi < -0.02
    assert r["verdict"] == "inferior" and p < 0.05
    noisy = x - 0.05 + np.random.default_rng(0).normal(0, 1e-9, 100)
    s2, smp2 = paired_frames(x, noisy, task="truthfulqa_mc2", metric="acc")
    assert cmp(s2, "fp16", "w4a16", samples=smp2).iloc[0]["verdict"] == "inferior"


def test_continuous_n1_does_not_crash():
    scores, samples = paired_frames([0.4], [0.5], task="truthfulqa_mc2", metric="acc")
    r = cmp(scores, "fp16", "w4a16", samples=samples).iloc[0]
    assert r["n"] == 1 and r["paired_delta"] == pytest.approx(0.1)
    lo, hi, _ = augmented_t(np.array([0.1]))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    assert "one paired document" in r["method_note"]
    assert r["verdict"] == "inconclusive" and "rough: projected from n = 1" in r["n_needed_note"]


# ------------------------------------------------------------------------------------------
# unpaired


def test_unpaired_from_lmeval_stderr():
    scores = frames.conform("scores", [
        score_row("fp16", "a", "arc_easy", "acc_norm", 0.80, stderr=0.0402, n=100),
        score_row("w4a16", "b", "arc_easy", "acc_norm", 0.78, stderr=0.0416, n=100),
    ])
    r = cmp(scores, "fp16", "w4a16").iloc[0]
    se = math.hypot(0.0402, 0.0416)
    assert r["method"] == st.METHOD_UNPAIRED and np.isnan(r["paired_delta"])
    assert r["se"] == pytest.approx(se)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-0.02 - Z * se, -0.02 + Z * se))
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(0.02 / se))
    assert r["mde"] == pytest.approx(ZZ * se)  # ≈ 16 points at n = 100
    assert 0.15 < r["mde"] < 0.17
    assert pd.isna(r["n_needed"])  # d = −margin exactly: no sample size shows non-inferiority
    assert "no sample size" in r["n_needed_note"]


def test_unpaired_missing_stderr_says_why():
    scores = frames.conform("scores", [
        score_row("fp16", "a", "arc_easy", "acc_norm", 0.80, stderr=0.04),
        score_row("w4a16", "b", "arc_easy", "acc_norm", 0.79),  # "N/A"
    ])
    r = cmp(scores, "fp16", "w4a16").iloc[0]
    assert np.isnan(r["se"]) and np.isnan(r["ci_low"]) and np.isnan(r["p_value"])
    assert r["verdict"] == "inconclusive" and "standard error" in r["verdict_text"]
    assert r["delta"] == pytest.approx(-0.01)


def test_n_needed_flagged_beyond_task_documents():
    scores = frames.conform("scores", [
        score_row("fp16", "a", "gsm8k", "exact_match", 0.80, filter="flexible-extract",
                  stderr=0.04, n=100),
        score_row("w4a16", "b", "gsm8k", "exact_match", 0.785, filter="flexible-extract",
                  stderr=0.041, n=100),
    ])
    r = cmp(scores, "fp16", "w4a16").iloc[0]
    se = math.hypot(0.04, 0.041)
    need = math.ceil((ZZ * se * 10 / (-0.015 + 0.02)) ** 2)
    assert r["n_needed"] == need and need > 1319
    assert "1,319" in r["n_needed_note"] and "1,319" in r["verdict_text"]


# ------------------------------------------------------------------------------------------
# gsm8k filters, unmatched / hash-mismatched documents, one-model tasks, unusable scores


def _gsm8k():
    strict_b, strict_c = binary_pairs(40, 10, 2, 48, seed=1)
    flex_b, flex_c = binary_pairs(70, 3, 6, 21, seed=2)
    rows, srows = [], []
    for model, job, s, f in (("fp16", "jb", strict_b, flex_b), ("w4a16", "jc", strict_c, flex_c)):
        rows += [score_row(model, job, "gsm8k", "exact_match", s.mean(), filter="strict-match",
                           stderr=se_of(s)),
                 score_row(model, job, "gsm8k", "exact_match", f.mean(),
                           filter="flexible-extract", stderr=se_of(f))]
        srows += sample_rows(model, job, "gsm8k", "exact_match", s, filter="strict-match")
        srows += sample_rows(model, job, "gsm8k", "exact_match", f, filter="flexible-extract")
    return frames.conform("scores", rows), frames.conform("samples", srows)


def test_gsm8k_filters_are_kept_apart():
    scores, samples = _gsm8k()
    head = cmp(scores, "fp16", "w4a16", samples=samples)
    assert head[["filter", "n_lost", "n_gained"]].values.tolist() == [["flexible-extract", 3, 6]]
    allm = cmp(scores, "fp16", "w4a16", samples=samples, all_metrics=True)
    by = allm.set_index("filter")
    assert len(allm) == 2
    assert (by.loc["strict-match", "n_lost"], by.loc["strict-match", "n_gained"]) == (10, 2)
    _, lo, hi = agresti_min(10, 2, 100)
    assert (by.loc["strict-match", "ci_low"], by.loc["strict-match", "ci_high"]) == \
        pytest.approx((lo, hi))
    assert by.loc["strict-match", "p_value"] == pytest.approx(
        stats.binomtest(2, 12, 0.5).pvalue)


def test_unmatched_and_hash_mismatched_docs_are_dropped_and_reported():
    xb, xc = binary_pairs(30, 5, 3, 12, seed=4)  # 50 docs
    rows = sample_rows("fp16", "job-b", "arc_easy", "acc_norm", xb)
    hashes = [f"d{i}" for i in range(50)]
    hashes[7] = hashes[9] = "other"
    prompts = [f"p{i}" for i in range(50)]
    prompts[11] = "other-prompt"
    rows += sample_rows("w4a16", "job-c", "arc_easy", "acc_norm", xc[:48],
                        doc_ids=range(48), doc_hash=hashes[:48], prompt_hash=prompts[:48])
    rows += sample_rows("w4a16", "job-c", "arc_easy", "acc_norm", [1.0], doc_ids=[99])
    scores = frames.conform("scores", [
        score_row("fp16", "job-b", "arc_easy", "acc_norm", xb.mean(), stderr=se_of(xb), n=50),
        score_row("w4a16", "job-c", "arc_easy", "acc_norm", xc[:48].mean(), stderr=0.06, n=49)])
    res = compare(scores, "fp16", "w4a16", samples=frames.conform("samples", rows))
    row = res.frame.iloc[0]
    keep = np.array([i not in (7, 9) for i in range(48)])
    kb, kc = xb[:48][keep], xc[:48][keep]
    b = int(((kb == 1) & (kc == 0)).sum())
    c = int(((kb == 0) & (kc == 1)).sum())
    assert row["n"] == 46 and (row["n_lost"], row["n_gained"]) == (b, c)
    assert (row["n_unmatched"], row["n_hash_mismatch"], row["n_prompt_mismatch"]) == (3, 2, 1)
    _, lo, hi = agresti_min(b, c, 46)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    msgs = " | ".join(res.issues["message"])
    assert "present for the baseline only" in msgs and "candidate only" in msgs
    assert "different doc_hash" in msgs and "prompt_hash differs" in msgs


def test_task_with_one_model_only_and_unusable_scores_become_issues():
    scores = frames.conform("scores", [
        score_row("fp16", "a", "arc_easy", "acc_norm", 0.8, stderr=0.04),
        score_row("w4a16", "b", "arc_easy", "acc_norm", 0.79, stderr=0.04),
        score_row("fp16", "a", "hellaswag", "acc_norm", 0.7, stderr=0.04),
        score_row("fp16", "a", "gsm8k", "exact_match", 0.6, filter="flexible-extract"),
        score_row("w4a16", "b", "gsm8k", "exact_match", 1.7, filter="flexible-extract",
                  usable=False),
    ])
    res = compare(scores, "fp16", "w4a16")
    assert res.frame["task"].tolist() == ["arc_easy"]
    iss = res.issues
    assert set(iss.columns) >= {"source", "object", "severity", "message"}
    text = " | ".join(iss["message"])
    assert "hellaswag: results for the baseline 'fp16' only" in text
    assert "not usable" in text and "1.7" in text


def test_no_samples_for_one_run_falls_back_to_unpaired_with_a_note():
    xb, xc = binary_pairs(60, 5, 5, 30)
    scores, samples = paired_frames(xb, xc)
    only_b = samples[samples["model"] == "fp16"]
    res = compare(scores, "fp16", "w4a16", samples=only_b)
    r = res.frame
    assert r.loc[0, "method"] == st.METHOD_UNPAIRED
    assert "no per-sample outcomes for the candidate" in r.loc[0, "method_note"]
    assert (res.issues["message"].str.contains("compared unpaired")).any()


# ------------------------------------------------------------------------------------------
# run selection, errors, several candidates


def test_latest_completed_run_wins():
    scores = frames.conform("scores", [
        score_row("fp16", "old", "arc_easy", "acc_norm", 0.50, completed_at="2025-01-01"),
        score_row("fp16", "new", "arc_easy", "acc_norm", 0.80, completed_at="2025-02-01"),
        score_row("fp16", "never", "arc_easy", "acc_norm", 0.10, completed_at=None),
        # same completion time: created_at decides, then job name
        score_row("w4a16", "x1", "arc_easy", "acc_norm", 0.70, completed_at="2025-02-01",
                  created_at="2025-01-30"),
        score_row("w4a16", "x0", "arc_easy", "acc_norm", 0.71, completed_at="2025-02-01",
                  created_at="2025-01-31"),
        score_row("fp16", "t-a", "hellaswag", "acc_norm", 0.60, completed_at="2025-02-01"),
        score_row("fp16", "t-b", "hellaswag", "acc_norm", 0.61, completed_at="2025-02-01"),
        score_row("w4a16", "x0", "hellaswag", "acc_norm", 0.62, completed_at="2025-02-01"),
    ])
    r = cmp(scores, "fp16", "w4a16").set_index("task")
    assert (r.loc["arc_easy", "baseline_job"], r.loc["arc_easy", "candidate_job"]) == ("new", "x0")
    assert r.loc["arc_easy", "delta"] == pytest.approx(0.71 - 0.80)
    assert r.loc["hellaswag", "baseline_job"] == "t-b"


def test_unknown_model_lists_models_present():
    scores = frames.conform("scores", [score_row("fp16", "a", "arc_easy", "acc_norm", 0.8),
                                       score_row("w4a16", "b", "arc_easy", "acc_norm", 0.8)])
    with pytest.raises(UnknownModelError, match="fp16, w4a16"):
        cmp(scores, "fp16", "nope")
    with pytest.raises(UnknownModelError, match="'nope'"):
        recovery(scores, "nope", "w4a16")


def test_several_candidates_get_a_candidate_model_column():
    scores = frames.conform("scores", [
        score_row(m, m, "arc_easy", "acc_norm", v, stderr=0.04)
        for m, v in (("fp16", 0.80), ("fp8", 0.795), ("w8a8", 0.79), ("w4a16", 0.77))])
    r = cmp(scores, "fp16", ["fp8", "w8a8", "w4a16"])
    assert r["candidate_model"].tolist() == ["fp8", "w8a8", "w4a16"]
    assert r["delta"].tolist() == pytest.approx([-0.005, -0.01, -0.03])
    assert list(r.columns) == COMPARE_COLUMNS


def test_limit_note_says_first_n_documents():
    scores = frames.conform("scores", [score_row("a", "a", "arc_easy", "acc_norm", 0.8),
                                       score_row("b", "b", "arc_easy", "acc_norm", 0.8)])
    assert "FIRST N documents" in compare(scores, "a", "b").limit_note
    assert "FIRST 100 documents" in limit_note(100.0)
    assert "not a random sample" in limit_note(0.1)


# ------------------------------------------------------------------------------------------
# verdicts


@pytest.mark.parametrize(("lo", "hi", "want"), [
    (0.001, 0.05, "better"), (-0.019, 0.03, "non-inferior"), (-0.09, -0.021, "inferior"),
    (-0.05, 0.03, "inconclusive"), (float("nan"), float("nan"), "inconclusive"),
])
def test_verdict_order(lo, hi, want):
    assert st.verdict_rule(lo, hi, 0.02, p_value=0.001) == want


@pytest.mark.parametrize(("lo", "hi", "p", "want"), [
    (0.001, 0.05, 0.07, "non-inferior"),   # the interval says better, the exact test does not
    (-0.09, -0.021, 0.07, "inconclusive"),  # likewise for inferior
])
def test_verdicts_never_contradict_the_test(lo, hi, p, want):
    assert st.verdict_rule(lo, hi, 0.02, p_value=p) == want


def test_verdict_text_spells_out_the_sample_size():
    row = {"verdict": "inconclusive", "n_needed": 1885, "margin": 0.02, "confidence": 0.95,
           "method": st.METHOD_PAIRED_BINARY, "ci_low": -0.06, "ci_high": 0.06}
    assert verdict_text(row) == (
        "inconclusive: if the observed difference held, ≈1,900 paired documents per task would "
        "show non-inferiority at a 2-point margin with 80% power (normal approximation)")
    assert verdict_text({**row, "verdict": "non-inferior", "ci_low": -0.01,
                           "ci_high": 0.02}).startswith("non-inferior: the 95% CI −1.0 to +2.0")


def test_n100_worked_example_of_docs():
    """docs/statistics.md: n = 100, both models right on 80, b = c = 5."""
    xb, xc = binary_pairs(75, 5, 5, 15)
    scores, samples = paired_frames(xb, xc)
    r = cmp(scores, "fp16", "w4a16", samples=samples).iloc[0]
    assert r["se"] == pytest.approx(math.sqrt(11) / 102)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-Z * math.sqrt(11) / 102,
                                                         Z * math.sqrt(11) / 102))
    assert r["p_value"] == 1.0
    assert r["n_needed"] == math.ceil((ZZ * math.sqrt(10 / 100) / 0.02) ** 2)  # plug-in sd
    assert r["verdict_text"] == (
        "inconclusive: if the observed difference held, ≈2,000 paired documents per task would "
        "show non-inferiority at a 2-point margin with 80% power (normal approximation)")


# ------------------------------------------------------------------------------------------
# comparability


def _runs(**cand_overrides):
    base = {"model": "fp16", "job": "a", "task": "gsm8k", "lm_eval_version": "0.4.9",
            "task_version": "3.0", "task_hash": "h1", "num_fewshot": 5, "limit": 100.0,
            "chat_template_sha": "c1", "fewshot_as_multiturn": True,
            "system_instruction_sha": None, "gen_kwargs": '{"temperature": 0}',
            "tokenizer": "mistralai/Mistral-Small-24B", "model_args": "pretrained=fp16"}
    cand = {**base, "model": "w4a16", "job": "b", "tokenizer": "RedHatAI/Mistral-w4a16",
            "model_args": "pretrained=w4a16", "gen_kwargs": {"temperature": 0},
            **cand_overrides}
    return frames.conform("runs", [base, cand])


def _two_scores():
    return frames.conform("scores", [
        score_row("fp16", "a", "gsm8k", "exact_match", 0.8, filter="flexible-extract",
                  stderr=0.04, num_fewshot=5, limit=100),
        score_row("w4a16", "b", "gsm8k", "exact_match", 0.79, filter="flexible-extract",
                  stderr=0.04, num_fewshot=5, limit=100)])


def test_comparable_when_only_model_specific_settings_differ():
    r = cmp(_two_scores(), "fp16", "w4a16", runs=_runs()).iloc[0]
    assert r["comparable"] is True or r["comparable"] == True  # noqa: E712 (pandas BooleanDtype)
    assert r["comparability_note"] == ""
    t = comparability(_runs(), "fp16", "w4a16").frame
    assert set(t.loc[~t["same"], "setting"]) == {"tokenizer", "model_args"}
    assert not t.loc[~t["same"], "changes_scores"].any()


def test_not_comparable_names_the_differing_settings():
    runs = _runs(chat_template_sha="c2", task_hash="h2")
    r = cmp(_two_scores(), "fp16", "w4a16", runs=runs).iloc[0]
    assert r["comparable"] == False  # noqa: E712
    assert "chat template" in r["comparability_note"]
    assert "task definition" in r["comparability_note"]
    t = comparability(runs, "fp16", "w4a16", scores=_two_scores()).frame
    assert {"chat_template_sha", "task_hash"} <= set(t.loc[~t["same"], "setting"])


def test_without_runs_scores_fewshot_difference_still_detected():
    scores = _two_scores()
    scores.loc[1, "num_fewshot"] = 8
    r = cmp(scores, "fp16", "w4a16").iloc[0]
    assert r["comparable"] == False  # noqa: E712
    assert "few-shot" in r["comparability_note"]
    same = cmp(_two_scores(), "fp16", "w4a16").iloc[0]
    assert pd.isna(same["comparable"])


# ------------------------------------------------------------------------------------------
# recovery


REDHAT = {  # RedHatAI Mistral-Small-24B-Instruct-2501 cards: BF16 vs W4A16
    "arc_challenge": (72.18, 71.16), "gsm8k": (90.14, 89.69), "hellaswag": (85.05, 84.43),
    "mmlu": (80.69, 80.00), "truthfulqa_mc2": (65.55, 63.92), "winogrande": (83.11, 82.24),
}


def _redhat_scores():
    rows = []
    for task, (b, c) in REDHAT.items():
        for model, v in (("bf16", b), ("w4a16", c)):
            rows.append(score_row(model, f"{model}-job", task, "acc", v / 100, stderr=0.01,
                                  n=1000))
    return frames.conform("scores", rows)


def test_recovery_is_the_ratio_of_averages_redhat_card():
    head = {t: ("acc", "none") for t in REDHAT}
    r = recovery(_redhat_scores(), "bf16", "w4a16", headline=head, n_resamples=2000)
    b = np.mean([v[0] for v in REDHAT.values()])
    c = np.mean([v[1] for v in REDHAT.values()])
    assert round(b, 2) == 79.45 and round(c, 2) == 78.57
    assert r.recovery == pytest.approx(100 * c / b)
    assert round(r.recovery, 1) == 98.9
    mean_of_ratios = np.mean([100 * cc / bb for bb, cc in REDHAT.values()])
    assert round(mean_of_ratios, 2) == 98.83 and abs(r.recovery - mean_of_ratios) > 0.05
    assert r.ci_low < r.recovery < r.ci_high
    assert len(r.tasks) == 6 and "98.9 %" in repr(r)
    assert r.per_task.set_index("task").loc["gsm8k", "recovery"] == pytest.approx(
        100 * 89.69 / 90.14)


def test_recovery_bootstrap_matches_direct_document_bootstrap():
    xb1, xc1 = binary_pairs(300, 30, 20, 150, seed=5)
    rng = np.random.default_rng(9)
    xb2 = rng.uniform(0, 1, 200)
    xc2 = np.clip(xb2 + rng.normal(-0.02, 0.05, 200), 0, 1)
    s1, p1 = paired_frames(xb1, xc1)
    s2, p2 = paired_frames(xb2, xc2, task="truthfulqa_mc2", metric="acc")
    scores, samples = pd.concat([s1, s2]), pd.concat([p1, p2])
    r = recovery(scores, "fp16", "w4a16", samples=samples, n_resamples=4000, seed=1)
    point = 100 * (xc1.mean() + xc2.mean()) / (xb1.mean() + xb2.mean())
    assert r.recovery == pytest.approx(point)
    # direct: resample documents within each task, paired, from the documents plus the four
    # corner pseudo-documents of weight ½ (the documented small-sample rule)
    g = np.random.default_rng(2)
    corners_b, corners_c = np.array([1.0, 1, 0, 0]), np.array([1.0, 0, 1, 0])

    def draw(xb, xc):
        b, c = np.r_[xb, corners_b], np.r_[xc, corners_c]
        w = np.r_[np.ones(xb.size), np.full(4, 0.5)]
        idx = g.choice(b.size, (4000, xb.size), p=w / w.sum())
        return (b[idx].sum(1) + 1) / (xb.size + 2), (c[idx].sum(1) + 1) / (xb.size + 2)

    (b1, c1), (b2, c2) = draw(xb1, xc1), draw(xb2, xc2)
    ratio = 100 * (c1 + c2) / (b1 + b2)
    lo, hi = np.percentile(ratio, [2.5, 97.5])
    assert r.ci_low == pytest.approx(lo, abs=0.35) and r.ci_high == pytest.approx(hi, abs=0.35)
    assert r.per_task["method"].tolist() == ["paired multinomial (2×2 cells, ½ added to each)",
                                             "paired bootstrap (documents, corners ½ added)"]
    again = recovery(scores, "fp16", "w4a16", samples=samples, n_resamples=4000, seed=1)
    assert (again.ci_low, again.ci_high) == (r.ci_low, r.ci_high)


def test_recovery_never_counts_a_group_with_its_subtasks():
    rows = []
    for model, vals in (("bf16", (0.8, 0.6, 0.7, 0.9)), ("w4", (0.78, 0.58, 0.68, 0.88))):
        for task, v, grp in zip(("mmlu_a", "mmlu_b", "mmlu", "arc_easy"), vals,
                                (False, False, True, False), strict=True):
            rows.append({**score_row(model, model, task, "acc", v, stderr=0.01, is_group=grp),
                         "group": "mmlu" if task.startswith("mmlu_") else None})
    scores = frames.conform("scores", rows)
    head = {t: ("acc", "none") for t in ("mmlu_a", "mmlu_b", "mmlu", "arc_easy")}
    r = recovery(scores, "bf16", "w4", headline=head, n_resamples=200)  # a group counts once
    assert set(r.tasks) == {"mmlu", "arc_easy"}
    assert not r.per_task.set_index("task").loc["mmlu_a", "counted"]
    assert r.recovery == pytest.approx(100 * (0.68 + 0.88) / (0.7 + 0.9))
    sub = recovery(scores, "bf16", "w4", headline=head, n_resamples=200, tasks="subtasks")
    assert set(sub.tasks) == {"mmlu_a", "mmlu_b", "arc_easy"}
    assert not sub.per_task.set_index("task").loc["mmlu", "counted"]
    assert sub.recovery == pytest.approx(100 * (0.78 + 0.58 + 0.88) / (0.8 + 0.6 + 0.9))
    g = recovery(scores, "bf16", "w4", tasks=["mmlu", "mmlu_a", "arc_easy"], headline=head,
                   n_resamples=200)
    assert set(g.tasks) == {"mmlu", "arc_easy"}
    assert g.recovery == pytest.approx(100 * (0.68 + 0.88) / (0.7 + 0.9))


def test_recovery_without_stderr_has_no_interval():
    scores = frames.conform("scores", [score_row("a", "a", "arc_easy", "acc_norm", 0.8),
                                       score_row("b", "b", "arc_easy", "acc_norm", 0.76)])
    r = recovery(scores, "a", "b", n_resamples=100)
    assert r.recovery == pytest.approx(95.0)
    assert np.isnan(r.ci_low) and "no interval" in repr(r)


# ------------------------------------------------------------------------------------------
# flips, invalid answers, trend


def test_flips_lists_changed_documents_with_targets_and_invalid_rates():
    rows = sample_rows("fp16", "jb", "gsm8k", "exact_match", [1, 1, 0, 0, 1],
                       filter="flexible-extract", responses=["4", "5", "[invalid]", "2", "9"])
    rows += sample_rows("w4", "jc", "gsm8k", "exact_match", [1, 0, 1, 0, 0],
                        filter="flexible-extract",
                        responses=["4", "[invalid]", "6", "[invalid]", "[invalid]"])
    rows += sample_rows("fp16", "jb", "gsm8k", "exact_match", [0, 0, 0, 0, 0],
                        filter="strict-match")
    rows += sample_rows("w4", "jc", "gsm8k", "exact_match", [1, 1, 1, 1, 1],
                        filter="strict-match")
    s = frames.conform("samples", rows)
    res = flips(s, "fp16", "w4", task="gsm8k")
    f = res.frame
    assert (f["filter"] == "flexible-extract").all()
    assert f[["doc_id", "change"]].values.tolist() == [[1, "lost"], [2, "gained"], [4, "lost"]]
    assert f["target"].tolist() == ["t1", "t2", "t4"]
    assert f.loc[0, "candidate_response"] == "[invalid]"
    inv = res.invalid_rates.set_index(["model", "filter"])
    assert inv.loc[("w4", "flexible-extract"), "rate"] == pytest.approx(3 / 5)
    assert inv.loc[("fp16", "flexible-extract"), "invalid"] == 1


def test_flips_continuous_cross_threshold():
    s = frames.conform("samples",
                       sample_rows("a", "a", "truthfulqa_mc2", "acc", [0.6, 0.4, 0.9, 0.55])
                       + sample_rows("b", "b", "truthfulqa_mc2", "acc", [0.4, 0.45, 0.8, 0.51]))
    f = flips(s, "a", "b").frame
    assert f[["doc_id", "change"]].values.tolist() == [[0, "lost"]]
    assert f.loc[0, "delta"] == pytest.approx(-0.2)


def test_trend_orders_runs_with_intervals():
    scores = frames.conform("scores", [
        score_row("fp16", "j2", "arc_easy", "acc_norm", 0.82, stderr=0.01,
                  completed_at="2025-02-01"),
        score_row("fp16", "j1", "arc_easy", "acc_norm", 0.80, stderr=0.02,
                  completed_at="2025-01-01"),
        score_row("fp16", "j3", "arc_easy", "acc_norm", 0.10, completed_at=None),
        score_row("fp16", "j2", "arc_easy", "acc", 0.75, stderr=0.01, completed_at="2025-02-01"),
        score_row("w4", "k1", "arc_easy", "acc_norm", 0.79, stderr=0.02,
                  completed_at="2025-01-15"),
    ])
    res = trend(scores)
    t = res.frame
    assert t[["model", "job", "run", "n_runs", "is_latest"]].values.tolist() == [
        ["fp16", "j1", 1, 2, False], ["fp16", "j2", 2, 2, True], ["w4", "k1", 1, 1, True]]
    assert (t["metric"] == "acc_norm").all()
    assert t.loc[0, "ci_low"] == pytest.approx(0.80 - Z * 0.02)
    assert res.multiple_runs is True
    assert len(trend(scores, all_metrics=True).frame) == 4


def test_results_of_several_candidates_concatenate_with_their_issues():
    scores = frames.conform("scores", [
        score_row("fp16", "a", "arc_easy", "acc_norm", 0.8, stderr=0.04),
        score_row("w4", "b", "arc_easy", "acc_norm", 0.79, stderr=0.04),
        score_row("w8", "c", "arc_easy", "acc_norm", 0.78, stderr=0.04),
        score_row("fp16", "a", "hellaswag", "acc_norm", 0.7, stderr=0.04)])
    one = compare(scores, "fp16", "w4")
    assert one.issues["severity"].tolist() == ["warning"]  # hellaswag: baseline only
    both = compare(scores, "fp16", ["w4", "w8"])
    assert both.frame["candidate_model"].tolist() == ["w4", "w8"]
    assert len(both.issues) == 1  # the same notice once, not once per candidate


# --- regressions found in review -----------------------------------------------------------


@pytest.mark.parametrize("b,c", [(0.83, 0.81), (0.70, 0.68), (0.58, 0.56)])
def test_a_drop_of_exactly_the_margin_is_at_the_margin(b, c):
    """0.81 − 0.83 is −0.0199999999999999 in floats: no sample size, and no crash."""
    scores = frames.conform("scores", [
        score_row("fp16", "a", "arc_easy", "acc_norm", b, stderr=0.04),
        score_row("w4", "b", "arc_easy", "acc_norm", c, stderr=0.04)])
    row = cmp(scores, "fp16", "w4").iloc[0]
    assert pd.isna(row["n_needed"])
    assert "at or beyond −margin" in row["n_needed_note"]


def test_continuous_differences_equal_up_to_rounding_take_the_small_sample_rule():
    x = np.linspace(0.1, 0.8, 50)
    d = (x + 0.01) - x  # a constant shift, a few ulp apart
    assert np.ptp(d) > 0
    r = st.paired_continuous_stats(d)
    lo, hi, p = augmented_t(np.full(50, 0.01))
    assert (r["ci_low"], r["ci_high"], r["p_value"]) == pytest.approx((lo, hi, p))
    assert "small-sample rule" in r["note"]


def test_recovery_never_counts_a_requested_group_with_nested_subtasks():
    rows = [score_row(m, m, t, "acc", v, stderr=0.01) for m, v in (("fp16", 0.8), ("w4", 0.78))
            for t in ("mmlu", "mmlu_humanities", "mmlu_formal_logic", "arc_easy")]
    scores = frames.conform("scores", rows)
    scores["is_group"] = scores["task"].isin(["mmlu", "mmlu_humanities"])
    scores["group"] = scores["task"].map({"mmlu_humanities": "mmlu",
                                          "mmlu_formal_logic": "mmlu_humanities"})
    r = recovery(scores, "fp16", "w4", tasks=["mmlu", "mmlu_formal_logic", "arc_easy"])
    assert sorted(r.tasks) == ["arc_easy", "mmlu"]


def test_samples_are_paired_by_model_as_well_as_job():
    """Two runs that share a job name must not pair a model with itself."""
    scores = frames.conform("scores", [
        score_row("fp16", "eval", "arc_easy", "acc_norm", 0.9, stderr=0.03),
        score_row("w4", "eval", "arc_easy", "acc_norm", 0.5, stderr=0.05)])
    samples = frames.conform("samples", [
        {"model": m, "job": "eval", "task": "arc_easy", "doc_id": i, "filter": "none",
         "metric": "acc_norm", "value": float(v), "doc_hash": f"h{i}", "prompt_hash": f"p{i}"}
        for m, vals in (("fp16", [1] * 9 + [0]), ("w4", [1] * 5 + [0] * 5))
        for i, v in enumerate(vals)])
    row = cmp(scores, "fp16", "w4", samples=samples).iloc[0]
    assert row["paired_delta"] == pytest.approx(-0.4)
    assert row["n_lost"] == 4


def test_non_inferior_text_says_when_the_drop_is_significant():
    row = {"verdict": "non-inferior", "margin": 0.02, "confidence": 0.95, "ci_low": -0.018,
           "ci_high": -0.004, "p_value": 0.0039}
    assert "drop itself is statistically significant (p = 0.0039)" in verdict_text(row)
    row.update(ci_high=0.01, p_value=0.3)
    assert "significant" not in verdict_text(row)
