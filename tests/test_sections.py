"""evalkit.analyze and what the report displays: several candidates, non-comparable runs,
partial serving data, summary.json that is strict JSON."""

from __future__ import annotations

import json

import pandas as pd

import evalkit as ek
from evalkit.core import frames
from evalkit.lmeval import load_lmeval
from evalkit.present import sections as S
from evalkit.present.summary_json import to_summary
from tests.builders import job, job_list, rendered_text, results_doc


def _three_models(fewshot_q2: int = 0):
    docs = {}
    for name, off in (("base", 0.0), ("q1", -0.01), ("q2", -0.03)):
        d = results_doc(name, tasks={"arc_easy": {
            "acc,none": 0.8 + off, "acc_stderr,none": 0.04,
            "acc_norm,none": 0.79 + off, "acc_norm_stderr,none": 0.041}})
        if name == "q2":
            d["n-shot"]["arc_easy"] = fewshot_q2
        docs[name] = d
    return load_lmeval(job_list(*(job(f"eval-{m}", m, results=json.dumps(d), tasks=["arc_easy"])
                                  for m, d in docs.items())))


def test_several_candidates_and_strict_json():
    a = ek.analyze(_three_models(), "base", ["q1", "q2"])
    assert a.candidates == ["q1", "q2"]
    assert a.comparison.frame["candidate_model"].tolist() == ["q1", "q2"]
    assert a.comparison.frame["delta"].round(12).tolist() == [-0.01, -0.03]
    s = to_summary(a)
    json.dumps(s, allow_nan=False)  # no NaN/Infinity in summary.json
    assert s["candidate"] == ["q1", "q2"]
    assert [r["candidate_model"] for r in s["recovery"]["summary"]] == ["q1", "q2"]


def test_non_comparable_runs_are_named_before_verdicts():
    a = ek.analyze(_three_models(fewshot_q2=5), "base", ["q1", "q2"])
    md = S.comparability_markdown(a)
    assert md.startswith("**Not comparable**") and "arc_easy: differs in" in rendered_text(md)
    table = S.comparability_table(a)
    assert "q2 · arc_easy: 0 → 5" in table and "number of few-shot examples" in table
    frame = a.comparison.frame.set_index("candidate_model")
    assert bool(frame.loc["q1", "comparable"]) and not bool(frame.loc["q2", "comparable"])


def test_partial_serving_data_is_marked_in_the_report():
    a = ek.analyze(_three_models(), "base", "q1")
    a.serving_summary = pd.DataFrame({
        "model": ["base", "q1"], "metric": ["ttft_p99", "ttft_p99"], "unit": ["s", "s"],
        "value": [0.5, 0.9], "statistic": ["window histogram_quantile"] * 2,
        "partial": [False, True]})
    table = S.serving_table(a)
    assert "<th>PARTIAL</th>" in table and "<td>q1</td>" in table
    assert S.serving_markdown(a).startswith("**PARTIAL DATA**")


def test_issues_from_the_loader_reach_the_summary():
    res = _three_models()
    res.issues = frames.conform("issues", [frames.issue("lmeval", "eval-x", "error", "boom")])
    s = to_summary(ek.analyze(res, "base", "q1"))
    assert {"source": "lmeval", "object": "eval-x", "severity": "error",
            "message": "boom", "step": "load"} in s["data_issues"]
