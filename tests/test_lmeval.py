"""The LMEvalJob / lm-eval loader: every source form, every job state, every data problem."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest
import yaml

import evalkit as ek
from evalkit.core.errors import InputError, SourceError
from evalkit.lmeval import headline_metric, load_lmeval
from tests.builders import job, job_list, results_doc, sample_line


def _issues(res, severity=None):
    df = res.issues
    return df if severity is None else df[df.severity == severity]


def test_json_list_scores_every_metric_native_scale():
    res = load_lmeval(job_list(job("eval-fp16")))
    s = res.scores.set_index(["task", "metric", "filter"])
    assert len(res.scores) == 4  # arc_easy acc/acc_norm, gsm8k two filters
    assert s.loc[("arc_easy", "acc_norm", "none"), "value"] == 0.79
    assert s.loc[("arc_easy", "acc_norm", "none"), "stderr"] == pytest.approx(0.0409360)
    assert s.loc[("gsm8k", "exact_match", "strict-match"), "value"] == 0.45
    assert s.loc[("gsm8k", "exact_match", "flexible-extract"), "value"] == 0.52
    assert (res.scores["n"] == 100).all()
    assert (res.scores["limit"] == 100.0).all()
    assert res.scores.set_index("task").loc["gsm8k", "num_fewshot"].tolist() == [5, 5]
    assert str(res.scores["completed_at"].dtype) == "datetime64[ns, UTC]"
    assert res.scores["completed_at"].iloc[0] == pd.Timestamp("2026-11-20T09:20:00Z")
    assert res.jobs.loc[0, "has_results"]
    assert res.issues.empty


def test_yaml_and_json_dumps_give_identical_frames(tmp_path):
    doc = job_list(job("eval-fp16"), job("eval-q", "mistral-24b-quantized"))
    (tmp_path / "jobs.json").write_text(json.dumps(doc))
    (tmp_path / "jobs.yaml").write_text(yaml.safe_dump(doc))
    a = load_lmeval(tmp_path / "jobs.json")
    b = load_lmeval(str(tmp_path / "jobs.yaml"))
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.jobs.drop(columns="source"), b.jobs.drop(columns="source"))


def test_single_object_and_text_sources():
    one = job("eval-fp16")
    assert len(load_lmeval(one).scores) == 4
    assert len(load_lmeval(json.dumps(one, indent=1)).scores) == 4


@pytest.mark.parametrize("state,reason,severity,needle", [
    ("New", "NoReason", "info", "not finished (state New)"),
    ("Scheduled", "NoReason", "info", "not finished (state Scheduled)"),
    ("Running", "NoReason", "info", "not finished (state Running)"),
    ("Complete", "Failed", "error", "job failed: boom"),
    ("Complete", "Cancelled", "warning", "cancelled"),
    ("Cancelled", "Cancelled", "warning", "cancelled"),
    ("Suspended", "NoReason", "warning", "suspended"),
])
def test_every_job_state_is_an_issue_not_a_crash(state, reason, severity, needle):
    res = load_lmeval(job_list(job("bad", state=state, reason=reason, message="boom", results=None),
                               job("good")))
    row = res.jobs.set_index("job").loc["bad"]
    assert (row.state, row.reason, bool(row.has_results)) == (state, reason, False)
    hits = res.issues[(res.issues.object == "bad") & res.issues.message.str.contains(needle, regex=False)]
    assert list(hits.severity) == [severity]
    assert set(res.scores.job) == {"good"}


def test_succeeded_job_without_results_is_an_error():
    res = load_lmeval(job_list(job("empty", results="")))
    assert "status.results is empty" in res.issues.message.iloc[0]
    assert res.scores.empty


def test_failed_job_with_results_is_kept_out_of_comparisons():
    res = load_lmeval(job_list(job("f", reason="Failed", message="exit 1")))
    assert not res.scores["usable"].any()
    assert set(res.issues.severity) == {"error", "warning"}


def test_na_stderr_bare_nan_and_infinity():
    text = json.dumps(results_doc(tasks={"arc_easy": {
        "acc,none": 0.5, "acc_stderr,none": "N/A",
        "acc_norm,none": 0.6, "acc_norm_stderr,none": 0.01}}))
    text = text.replace('"acc_norm_stderr,none": 0.01', '"acc_norm_stderr,none": NaN')
    text = text.replace('"acc,none": 0.5', '"acc,none": Infinity')
    res = load_lmeval(job_list(job("j", results=text)))
    s = res.scores.set_index("metric")
    assert math.isinf(s.loc["acc", "value"]) and not s.loc["acc", "usable"]
    assert math.isnan(s.loc["acc", "stderr"])  # "N/A" -> NaN, silently (lm-eval's own word)
    assert math.isnan(s.loc["acc_norm", "stderr"]) and s.loc["acc_norm", "usable"]
    msgs = " | ".join(res.issues.message)
    assert "acc,none: value is inf" in msgs
    assert "acc_norm,none: stderr is nan" in msgs
    assert "acc,none: stderr" not in msgs


def test_out_of_range_score_is_named_and_kept_out():
    doc = results_doc(tasks={"arc_easy": {"acc,none": 81.0, "acc_stderr,none": 3.9}})
    res = load_lmeval(job_list(job("pct", results=json.dumps(doc))))
    assert not res.scores["usable"].iloc[0]
    msg = res.issues.message.iloc[0]
    assert "arc_easy" in msg and "acc,none" in msg and "81.0" in msg and "outside [0, 1]" in msg


def test_results_not_json_and_not_lmeval_shape():
    res = load_lmeval(job_list(job("a", results="{not json"), job("b", results='{"foo": 1}')))
    msgs = res.issues.set_index("object").message
    assert "not valid JSON" in msgs["a"]
    assert "not the lm-eval shape" in msgs["b"]
    assert res.scores.empty


def test_missing_metric_for_requested_task():
    res = load_lmeval(job_list(job("j", tasks=["arc_easy", "gsm8k", "hellaswag"])))
    assert res.issues.message.str.contains("task hellaswag was requested but has no scores").any()


def test_model_name_rule():
    by_model = job("a", model_args=[{"name": "model", "value": "served"},
                                    {"name": "pretrained", "value": "hf/x"}])
    by_pretrained = job("b", model_args=[{"name": "pretrained", "value": "hf/y"}])
    by_label = job("c", model_args=[], labels={"model": "labelled"})
    by_name = job("d", model_args=[])
    res = load_lmeval(job_list(by_model, by_pretrained, by_label, by_name))
    assert res.jobs.set_index("job")["model"].to_dict() == {
        "a": "served", "b": "hf/y", "c": "labelled", "d": "d"}


def test_reused_volume_mismatch_warns_and_keeps():
    other = json.dumps(results_doc("some-other-model"))
    res = load_lmeval(job_list(job("j", "mistral-24b", results=other)))
    assert (res.scores.model == "mistral-24b").all() and res.scores.usable.all()
    msg = res.issues.message.iloc[0]
    assert "some-other-model" in msg and "reused" in msg


def test_duplicate_runs_reported():
    res = load_lmeval(job_list(job("run1", completed="2026-11-20T09:20:00Z"),
                               job("run2", completed="2026-11-21T09:20:00Z")))
    info = res.issues[res.issues.severity == "info"]
    assert len(info) == 1  # one notice per model, naming both tasks and both runs
    assert info.message.str.contains("2 task(s) run more than once", regex=False).all()
    assert info.message.str.contains("arc_easy, gsm8k; runs run1, run2").all()
    from evalkit.analysis.base import latest_jobs

    assert set(latest_jobs(res.scores)["job"]) == {"run2"}


def test_same_job_twice_in_source():
    res = load_lmeval(job_list(job("j"), job("j")))
    assert len(res.jobs) == 1
    assert res.issues.message.str.contains("appears twice").any()


def test_legacy_pre_04_results_file(tmp_path):
    legacy = {"results": {"arc_easy": {"acc": 0.75, "acc_stderr": 0.0433, "acc_norm": 0.7,
                                       "acc_norm_stderr": 0.046},
                          "truthfulqa_mc": {"mc1": 0.3, "mc1_stderr": 0.016,
                                            "mc2": 0.45, "mc2_stderr": 0.015}},
              "versions": {"arc_easy": 0, "truthfulqa_mc": 1},
              "config": {"model": "hf-causal", "model_args": "pretrained=EleutherAI/pythia-160m",
                         "num_fewshot": 0, "batch_size": 8, "limit": None}}
    p = tmp_path / "results.json"
    p.write_text(json.dumps(legacy))
    res = load_lmeval(p)
    s = res.scores.set_index(["task", "metric"])
    assert s.loc[("arc_easy", "acc"), ["value", "stderr"]].tolist() == [0.75, 0.0433]
    assert s.loc[("truthfulqa_mc", "mc2"), "filter"] == "none"
    assert set(res.scores.model) == {"EleutherAI/pythia-160m"}
    assert res.scores["n"].isna().all()


def test_lm_eval_output_folder_with_samples_out_of_order(tmp_path):
    d = tmp_path / "out" / "mistralai__Mistral-Small"
    d.mkdir(parents=True)
    ts = "2026-11-20T09-00-40.123456"
    doc = results_doc("mistralai/Mistral-Small", n=3)
    (d / f"results_{ts}.json").write_text(json.dumps(doc))
    lines = [sample_line(2), sample_line(0, values={"acc": 0.0, "acc_norm": 1.0}), sample_line(1)]
    (d / f"samples_arc_easy_{ts}.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    g = [sample_line(i, task="gsm8k", filt=f, values={"exact_match": float(i % 2)},
                     resp="[invalid]" if f == "strict-match" else "42")
         for i in (1, 0, 2) for f in ("strict-match", "flexible-extract")]
    (d / f"samples_gsm8k_{ts}.jsonl").write_text("\n".join(json.dumps(x) for x in g))
    res = load_lmeval(tmp_path / "out")
    assert res.jobs.job.tolist() == [f"mistralai__Mistral-Small/results_{ts}"]
    assert res.jobs.completed_at.iloc[0] == pd.Timestamp("2026-11-20T09:00:40.123456Z")
    arc = res.samples[(res.samples.task == "arc_easy") & (res.samples.metric == "acc")]
    assert arc.doc_id.tolist() == [0, 1, 2]  # sorted, whatever the line order
    assert arc.value.tolist() == [0.0, 1.0, 1.0]
    gsm = res.samples[res.samples.task == "gsm8k"]
    assert set(gsm["filter"]) == {"strict-match", "flexible-extract"}
    assert len(gsm) == 6
    assert (gsm[gsm["filter"] == "strict-match"].response == "[invalid]").all()
    assert (res.samples.model == "mistralai/Mistral-Small").all()


def test_sample_count_mismatch_and_duplicate_lines(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    ts = "2026-11-20T09-00-40.000001"
    (d / f"results_{ts}.json").write_text(json.dumps(results_doc("m", n=5)))
    lines = [sample_line(0), sample_line(0), sample_line(1)]
    (d / f"samples_arc_easy_{ts}.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    res = load_lmeval(tmp_path)
    msgs = " | ".join(res.issues.message)
    assert "duplicate sample row" in msgs
    assert "2 documents in the samples but the results report n=5" in msgs


def test_extra_samples_folder_matched_by_job_or_model(tmp_path):
    ts = "2026-11-20T09-00-40.000001"
    (tmp_path / "s" / "eval-a").mkdir(parents=True)
    (tmp_path / "s" / "mistral-24b-quantized").mkdir()
    (tmp_path / "s" / "eval-a" / f"samples_arc_easy_{ts}.jsonl").write_text(
        json.dumps(sample_line(0)))
    (tmp_path / "s" / "mistral-24b-quantized" / f"samples_arc_easy_{ts}.jsonl").write_text(
        json.dumps(sample_line(0)))
    res = load_lmeval(job_list(job("eval-a"), job("eval-b", "mistral-24b-quantized")),
                      samples=tmp_path / "s")
    assert sorted(res.samples.job.unique()) == ["eval-a", "eval-b"]


def test_unusable_sources_raise_typed_errors(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        load_lmeval(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("just: [unclosed")
    with pytest.raises(SourceError, match=r"bad\.json: neither JSON"):
        load_lmeval(bad)
    other = tmp_path / "pod.json"
    other.write_text(json.dumps({"kind": "Pod", "metadata": {}}))
    with pytest.raises(SourceError, match=r"pod\.json: not an LMEvalJob"):
        load_lmeval(other)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no lm-eval results"):
        load_lmeval(tmp_path / "empty")
    with pytest.raises(InputError, match="needs a source"):
        load_lmeval(None)


def test_yaml_aliases_are_refused(tmp_path):
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nkind: List\nitems: []\n"
    p = tmp_path / "bomb.yaml"
    p.write_text(bomb)
    with pytest.raises(SourceError, match="aliases are not accepted"):
        load_lmeval(p)
    p.write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(SourceError):
        load_lmeval(p)


def test_group_rows_are_marked():
    doc = results_doc(tasks={
        "mmlu": {"alias": "mmlu", "acc,none": 0.7, "acc_stderr,none": 0.003},
        "mmlu_anatomy": {"alias": " - anatomy", "acc,none": 0.6, "acc_stderr,none": 0.04}})
    doc["groups"] = {"mmlu": {"alias": "mmlu", "acc,none": 0.7, "acc_stderr,none": 0.003}}
    doc["group_subtasks"] = {"mmlu": ["mmlu_anatomy"], "mmlu_anatomy": []}
    res = load_lmeval(job_list(job("j", results=json.dumps(doc), tasks=["mmlu"])))
    assert res.scores.set_index("task")["is_group"].to_dict() == {"mmlu": True,
                                                                 "mmlu_anatomy": False}
    assert res.runs.task.tolist() == ["mmlu_anatomy"]


def test_runs_keep_comparability_metadata():
    doc = results_doc()
    doc["chat_template_sha"] = "abc"
    doc["system_instruction"] = "be brief"
    doc["config"]["gen_kwargs"] = "temperature=0"
    doc["config"]["model_args"] += ",api_key=sk-SECRET123"
    res = load_lmeval(job_list(job("j", results=json.dumps(doc))))
    r = res.runs.set_index("task").loc["gsm8k"]
    assert r.lm_eval_version == "0.4.9" and r.task_version == "3.0" and r.num_fewshot == 5
    assert r.chat_template_sha == "abc" and len(r.system_instruction_sha) == 64
    assert "temperature=0" in r.gen_kwargs
    assert r.tokenizer == "mistralai/Mistral-Small-24B-Instruct-2501"
    assert "SECRET123" not in r.model_args and "api_key=<redacted>" in r.model_args


def test_headline_metric_table_and_fallback():
    assert headline_metric("hellaswag", [("acc", "none"), ("acc_norm", "none")])[:2] == (
        "acc_norm", "none")
    assert headline_metric("truthfulqa_mc2", [("acc", "none")]) == ("acc", "none", "")
    m, f, note = headline_metric("winogrande", [("acc", "none")])
    assert (m, f) == ("acc", "none") and "no headline metric in the table" in note
    assert headline_metric("gsm8k", [("exact_match", "strict-match")],
                           overrides={"gsm8k": ("exact_match", "strict-match")})[2] == ""
    m, f, note = headline_metric("bleu_task", [("bleu", "none")])  # a generation-only suite
    assert (m, f) == ("bleu", "none") and "first reported metric" in note
    with pytest.raises(KeyError):
        headline_metric("empty", [])


def test_demo_snapshot_loads_with_issues_and_samples():
    res = load_lmeval(ek.demo_path())
    assert res.demo and res.models == ["mistral-24b", "mistral-24b-quantized"]
    assert set(res.jobs.state) == {"Complete", "Running"}
    assert "error" in set(res.issues.severity)  # the failed job
    per = res.samples.groupby(["model", "task", "filter", "metric"]).doc_id.nunique()
    assert (per == 100).all()
    # results in status.results were computed from the same samples, as lm-eval does
    s = res.scores.set_index(["model", "task", "metric", "filter"])
    for (model, task, filt, metric), grp in res.samples.groupby(["model", "task", "filter", "metric"]):
        vals = grp.value.to_numpy()
        assert s.loc[(model, task, metric, filt), "value"] == pytest.approx(vals.mean(), abs=1e-12)
        assert s.loc[(model, task, metric, filt), "stderr"] == pytest.approx(
            vals.std(ddof=1) / math.sqrt(len(vals)), abs=1e-12)


def test_import_evalkit_stays_light():
    code = ("import sys, evalkit; heavy = {'matplotlib', 'seaborn', 'papermill', 'kubernetes', "
            "'model_registry', 'scipy'}; print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_subtasks_name_their_group():
    doc = results_doc(tasks={
        "mmlu": {"acc,none": 0.7, "acc_stderr,none": 0.003},
        "mmlu_humanities": {"acc,none": 0.65, "acc_stderr,none": 0.01},
        "mmlu_formal_logic": {"acc,none": 0.5, "acc_stderr,none": 0.04}})
    doc["group_subtasks"] = {"mmlu": ["mmlu_humanities"], "mmlu_humanities": ["mmlu_formal_logic"],
                             "mmlu_formal_logic": []}
    res = load_lmeval(job_list(job("j", results=json.dumps(doc), tasks=["mmlu"])))
    group = res.scores.set_index("task")["group"]
    assert pd.isna(group["mmlu"])
    assert group[["mmlu_humanities", "mmlu_formal_logic"]].tolist() == ["mmlu", "mmlu_humanities"]


def test_progress_bar_on_request(capsys):
    res = load_lmeval(ek.demo_path(), progress=True)
    assert len(res.samples) and "samples" in capsys.readouterr().err
    load_lmeval(ek.demo_path())  # small logs: no bar by default
    assert "samples" not in capsys.readouterr().err


def test_timestamps_of_mixed_precision_are_all_kept():
    """pandas infers one format from the first string; ISO 8601 of mixed precision must not
    become NaT (a run without a completion time loses the latest-run rule)."""
    from evalkit.core import frames

    df = frames.conform("jobs", [{"job": "a", "completed_at": "2025-01-01T00:00:00Z"},
                                 {"job": "b", "completed_at": "2025-01-01T00:00:00.250Z"}])
    assert df["completed_at"].notna().all()
    assert df["completed_at"].iloc[1] - df["completed_at"].iloc[0] == pd.Timedelta("250ms")
