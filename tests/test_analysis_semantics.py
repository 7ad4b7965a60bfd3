"""What a comparison means on real lm-eval outputs: metric direction and scale, groups counted
once, verdicts that agree with their test, honest recovery intervals and counts (issue 10)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats

from evalkit.analysis import stats as st
from evalkit.analysis.comparability import comparability
from evalkit.analysis.compare import compare
from evalkit.analysis.recovery import recovery
from evalkit.core import frames
from tests.builders import binary_pairs, paired_frames, sample_rows, score_row

Z = stats.norm.ppf(0.975)


def _ppl(b: float, c: float, se_b: float = 0.12, se_c: float = 0.15, *, hib=False):
    return frames.conform("scores", [
        {**score_row("fp16", "a", "lambada_openai", "perplexity", b, stderr=se_b, n=5153),
         "higher_is_better": hib},
        {**score_row("w4", "b", "lambada_openai", "perplexity", c, stderr=se_c, n=5153),
         "higher_is_better": hib}])


def test_a_perplexity_increase_is_never_better_and_is_judged_relatively():
    r = compare(_ppl(4.56, 5.68), "fp16", "w4").frame.iloc[0]
    assert r["direction"] == "lower" and r["scale"] == "relative"
    rel = 5.68 / 4.56 - 1
    se = math.sqrt(0.15**2 + (5.68 / 4.56) ** 2 * 0.12**2) / 4.56  # delta method, by hand
    assert r["estimate"] == pytest.approx(rel)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((rel - Z * se, rel + Z * se))
    assert r["verdict"] == "inferior" and r["method"] == st.METHOD_UNPAIRED_RELATIVE
    assert "points" not in r["verdict_text"] and "% of the baseline" in r["verdict_text"]
    better = compare(_ppl(5.68, 4.56), "fp16", "w4").frame.iloc[0]
    assert better["verdict"] == "better" and "lower (lower is better)" in better["verdict_text"]


def test_direction_for_legacy_files_and_overrides():
    legacy = _ppl(4.56, 5.68, hib=None)  # lm-eval 0.3: no higher_is_better map
    assert compare(legacy, "fp16", "w4").frame.iloc[0]["direction"] == "lower"
    forced = compare(legacy, "fp16", "w4", direction={"perplexity": "higher"}).frame.iloc[0]
    assert forced["direction"] == "higher" and forced["verdict"] == "better"


def test_an_unbounded_score_uses_a_relative_margin():
    s = frames.conform("scores", [
        score_row("fp16", "a", "judge", "score", 71.0, stderr=1.0, n=400),
        score_row("w4", "b", "judge", "score", 70.5, stderr=1.0, n=400)])
    r = compare(s, "fp16", "w4", relative_margin=0.05).frame.iloc[0]
    assert r["scale"] == "relative" and r["margin"] == 0.05
    assert r["verdict"] == "non-inferior"  # −0.7 % ± ~2.8 % lies above −5 %
    per = compare(s, "fp16", "w4", margins={"score": 0.001}).frame.iloc[0]
    assert per["margin"] == 0.001 and per["verdict"] == "inconclusive"


def test_group_rows_are_comparable_when_their_subtasks_are():
    rows, runs = [], []
    for model, job in (("fp16", "a"), ("w4", "b")):
        rows.append({**score_row(model, job, "mmlu", "acc", 0.70, stderr=0.004, n=None,
                                 is_group=True), "group": None})
        for sub in ("mmlu_stem", "mmlu_humanities"):
            rows.append({**score_row(model, job, sub, "acc", 0.69, stderr=0.01, n=None,
                                     is_group=True), "group": "mmlu"})
        for leaf, grp in (("mmlu_anatomy", "mmlu_stem"), ("mmlu_law", "mmlu_humanities")):
            rows.append({**score_row(model, job, leaf, "acc", 0.7, stderr=0.02), "group": grp})
            runs.append({"model": model, "job": job, "task": leaf, "num_fewshot": 5,
                         "task_version": "1.0", "task_hash": f"h-{leaf}"})
    scores, runs_f = frames.conform("scores", rows), frames.conform("runs", runs)
    c = compare(scores, "fp16", "w4", runs=runs_f)
    assert c.frame["task"].tolist() == ["mmlu"]  # the group counts once
    row = c.frame.iloc[0]
    assert bool(row["comparable"]) and "2 subtasks" in row["comparability_note"]
    assert len(compare(scores, "fp16", "w4", runs=runs_f, tasks="all").frame) == 5
    table = comparability(runs_f, "fp16", "w4", scores=scores)
    assert set(table.frame["task"]) == {"mmlu_anatomy", "mmlu_law"} and table.issues.empty
    other = runs_f.copy()
    other.loc[(other["model"] == "w4") & (other["task"] == "mmlu_law"), "num_fewshot"] = 0
    row2 = compare(scores, "fp16", "w4", runs=other).frame.iloc[0]
    assert not bool(row2["comparable"]) and "in 1 of 2 subtasks" in row2["comparability_note"]


def test_a_reported_score_that_disagrees_with_its_samples_is_flagged_and_not_used():
    xb, xc = binary_pairs(70, 10, 6, 14)  # samples: baseline 0.80, candidate 0.76
    scores, samples = paired_frames(xb, xc)
    scores.loc[scores["model"] == "w4a16", "value"] = 0.90  # the file claims 0.90
    res = compare(scores, "fp16", "w4a16", samples=samples)
    r = res.frame.iloc[0]
    assert r["delta"] == pytest.approx(0.10)  # the reported difference, shown as such
    assert r["estimate"] == pytest.approx(-0.04) and r["estimate_source"] == "samples"
    assert "disagrees with its samples" in r["method_note"]
    assert res.issues["message"].str.contains("disagrees with the mean of its 100").any()
    rec = recovery(scores, "fp16", "w4a16", samples=samples, n_resamples=2000)
    assert rec.ci_low <= rec.recovery <= rec.ci_high  # point and interval from the same numbers
    assert rec.recovery == pytest.approx(100 * 0.76 / 0.80)


def test_n_unmatched_is_counted_when_nothing_pairs():
    rows = sample_rows("fp16", "job-b", "arc_easy", "acc_norm", [1, 0, 1] * 40)
    rows += sample_rows("w4a16", "job-c", "arc_easy", "acc_norm", [1, 1] * 40,
                        doc_ids=range(1000, 1080))
    scores = frames.conform("scores", [
        score_row("fp16", "job-b", "arc_easy", "acc_norm", 2 / 3, stderr=0.04, n=120),
        score_row("w4a16", "job-c", "arc_easy", "acc_norm", 1.0, stderr=0.0, n=80)])
    r = compare(scores, "fp16", "w4a16", samples=frames.conform("samples", rows)).frame.iloc[0]
    assert r["n_unmatched"] == 200 and r["method"] == st.METHOD_UNPAIRED
    assert np.isfinite(r["ci_low"])  # a stderr of 0 gets the Agresti–Coull one, not certainty


def test_recovery_excludes_and_names_what_is_not_a_share_of_quality():
    s = pd.concat([_ppl(4.5, 4.6), frames.conform("scores", [
        score_row("fp16", "a", "arc_easy", "acc_norm", 0.8, stderr=0.02),
        score_row("w4", "b", "arc_easy", "acc_norm", 0.78, stderr=0.02)])], ignore_index=True)
    r = recovery(s, "fp16", "w4", n_resamples=500)
    assert r.tasks == ["arc_easy"]
    assert "lambada_openai (perplexity is lower-is-better" in " ".join(r.issues["message"])


@settings(max_examples=60, deadline=None)
@given(hst.integers(1, 12), hst.data())
def test_recovery_intervals_are_finite_and_of_positive_width(n, data):
    """Identical models, n = 1, tasks scored 0 by both: never [100, 100], never NaN."""
    kind = data.draw(hst.sampled_from(["binary", "continuous"]))
    if kind == "binary":
        vals = hst.lists(hst.sampled_from([0.0, 1.0]), min_size=n, max_size=n)
    else:
        vals = hst.lists(hst.floats(0, 1).map(lambda x: round(x, 2)), min_size=n, max_size=n)
    xb = data.draw(vals)
    xc = xb if data.draw(hst.booleans()) else data.draw(vals)
    if sum(xb) == 0:
        xb = [0.0] * (n - 1) + [1.0]  # recovery needs a baseline above 0
    task, metric = ("arc_easy", "acc_norm") if kind == "binary" else ("truthfulqa_mc2", "acc")
    scores, samples = paired_frames(xb, xc, task=task, metric=metric)
    r = recovery(scores, "fp16", "w4a16", samples=samples, n_resamples=300)
    assert math.isfinite(r.ci_low) and math.isfinite(r.ci_high) and r.ci_high > r.ci_low
