"""Every lm-eval output generation, loaded from real-shaped folders (tests/data/lmeval/, written
by lm-eval's own code; CATALOGUE.md says how) and checked against the catalogue's tables: each
reported value and stderr, n and few-shot as the raw file has them, and the direction of every
comparison (a rise in perplexity or TER is worse, whatever the file says).

The tables are read from CATALOGUE.md itself, so the catalogue and the loader cannot drift apart.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

import evalkit as ek

DATA = Path(__file__).parent / "data" / "lmeval"
CATALOGUE = (DATA / "CATALOGUE.md").read_text()
_PAIR = re.compile(r"^Baseline `(?P<b>[^`]+)` vs candidate `(?P<c>[^`]+)`:", re.M)


def _num(cell: str) -> float | None:
    cell = cell.strip().strip('"')
    if cell in ("N/A", "—", ""):
        return None
    if cell == "NaN":
        return math.nan
    return float(cell)


def _pairs() -> list[tuple[str, str, list[dict[str, str]]]]:
    out = []
    for m in _PAIR.finditer(CATALOGUE):
        lines = CATALOGUE[m.end():].lstrip("\n").splitlines()
        head = [h.strip() for h in lines[0].strip("|").split("|")]
        rows = []
        for line in lines[2:]:
            if not line.startswith("|"):
                break
            rows.append(dict(zip(head, (c.strip() for c in line.strip().strip("|").split("|")),
                                 strict=True)))
        out.append((m["b"], m["c"], rows))
    return out


PAIRS = _pairs()


def _folder(b: str, c: str) -> Path:
    """The deepest folder holding both files."""
    parts = []
    for x, y in zip(Path(b).parts, Path(c).parts, strict=False):
        if x != y:
            break
        parts.append(x)
    return DATA.joinpath(*parts)


def _job(res: ek.LMEvalResult, path: str) -> pd.DataFrame:
    rows = res.jobs[res.jobs["source"].astype(str).str.endswith(path)]
    assert len(rows) == 1, f"{path}: {len(rows)} jobs"
    job = rows["job"].iloc[0]
    return res.scores[res.scores["job"] == job]


_LOADED: dict[Path, ek.LMEvalResult] = {}


def _load(folder: Path) -> ek.LMEvalResult:
    if folder not in _LOADED:
        _LOADED[folder] = ek.load_lmeval(folder)
    return _LOADED[folder]


def test_catalogue_has_every_generation():
    folders = {Path(b).parts[0] for b, _, _ in PAIRS}
    assert folders >= {"v0.4.0-0.4.2", "v0.4.3-output-path", "v0.4.4-0.4.8-json-named-dir",
                       "v0.4.9-groups", "inline-samples", "corpus-metrics", "perplexity",
                       "judge-scores", "limit", "awq-fp8-pair", "n-a-stderr",
                       "v0.4.12-sample-len"}
    assert sum(len(rows) for _, _, rows in PAIRS) >= 75


@pytest.mark.parametrize(("b", "c", "rows"), PAIRS, ids=[f"{Path(b).parts[0]}:{Path(c).parts[-2]}"
                                                          for b, c, _ in PAIRS])
def test_values_as_in_the_file(b, c, rows):
    res = _load(_folder(b, c))
    sb, sc = _job(res, b), _job(res, c)
    for row in rows:
        for who, s in (("baseline", sb), ("candidate", sc)):
            hit = s[(s["task"] == row["task"]) & (s["metric"] == row["metric"])
                    & (s["filter"] == row["filter"])]
            assert len(hit) == 1, (who, row)
            r = hit.iloc[0]
            want = _num(row[f"{who} value"])
            if want is not None and math.isnan(want):  # a NaN score is kept out, not made up
                assert not r["usable"]
            else:
                assert r["value"] == pytest.approx(want, rel=1e-5), (who, row)
            se = _num(row[f"{who} stderr"])
            if se is None or math.isnan(se):
                assert pd.isna(r["stderr"]), (who, row)
            else:
                assert r["stderr"] == pytest.approx(se, rel=1e-5), (who, row)
            if re.fullmatch(r"\d+", row["n"]):
                assert r["n"] == int(row["n"]), (who, row)
            if re.fullmatch(r"\d+", row["n-shot"]):
                assert r["num_fewshot"] == int(row["n-shot"]), (who, row)


@pytest.mark.parametrize(("b", "c", "rows"), PAIRS, ids=[f"{Path(b).parts[0]}:{Path(c).parts[-2]}"
                                                          for b, c, _ in PAIRS])
def test_direction_of_every_comparison(b, c, rows):
    res = _load(_folder(b, c))
    mb = _job(res, b)["model"].iloc[0]
    mc = _job(res, c)["model"].iloc[0]
    cmp = ek.compare(res.scores, mb, mc, samples=res.samples, runs=res.runs, all_metrics=True,
                     tasks="all").frame
    for row in rows:
        hit = cmp[(cmp["task"] == row["task"]) & (cmp["metric"] == row["metric"])
                  & (cmp["filter"] == row["filter"])]
        verdict = row["verdict"]
        if verdict.startswith("not comparable"):
            assert hit.empty, row
            continue
        assert len(hit) == 1, row
        r = hit.iloc[0]
        better = r["delta"] if r["direction"] == "higher" else -r["delta"]
        if verdict.startswith("worse"):
            assert better < 0, row
            assert r["verdict"] not in ("better", "equivalent") or r["verdict"] == "equivalent" \
                and r["ci_low"] < 0, row
        elif verdict.startswith("same"):
            assert better == 0, row
        if row["metric"] in ("perplexity", "word_perplexity", "byte_perplexity",
                             "bits_per_byte", "ter"):
            assert r["direction"] == "lower" and r["scale"] == "relative", row


def test_v03_fewshot_from_config_and_pairs_only_matching_runs():
    res = _load(DATA / "v0.3-legacy")
    base = "/gaueko1/hizkuntza-ereduak/LLaMA/lm/huggingface/7B"
    cand = "TheBloke/LLaMa-7B-GPTQ"
    assert set(res.models) == {base, cand}
    mmlu = [f"hendrycksTest-{s}" for s in ("philosophy", "abstract_algebra", "college_physics",
                                           "anatomy")]
    cmp = ek.compare(res.scores, base, cand, runs=res.runs, samples=res.samples,
                     tasks=mmlu).frame
    assert len(cmp) == 4
    assert cmp["baseline_job"].str.endswith("_mmlu_5-shot").all()
    assert cmp["candidate_job"].str.endswith("_mmlu_5-shot").all()
    assert cmp["comparable"].all()
    # the hand-checked numbers of the catalogue (acc_norm is the headline for these tasks? no:
    # the fallback is acc_norm, the first of acc_norm/acc/exact_match)
    raw = json.loads((DATA / "v0.3-legacy/llama-7B-gptq-4bit/llama-7B-gptq-4bit_mmlu_5-shot.json")
                     .read_text())["results"]
    for r in cmp.itertuples():
        assert r.candidate == pytest.approx(raw[r.task][r.metric])
    # unweighted 5-shot mean acc of the four subjects, as the catalogue computes it
    acc = res.scores[(res.scores["metric"] == "acc") & res.scores["task"].isin(mmlu)
                     & (res.scores["num_fewshot"] == 5)]
    means = acc.groupby("model")["value"].mean()
    assert means[base] == pytest.approx(0.328053, abs=1e-6)
    assert means[cand] == pytest.approx(0.309420, abs=1e-6)
    # the 0-shot candidate run is kept but named, never paired with the 5-shot baseline
    notes = " ".join(res.issues["message"])
    assert "run more than once" in notes
    # the README is not a results file and the write_out dump is per-sample data of its run
    assert not res.issues["object"].str.contains("README").any()
    wo = res.samples[res.samples["task"] == "hendrycksTest-anatomy"]
    assert wo["job"].str.endswith("limit5").all()
    acc_wo = wo[wo["metric"] == "acc"].set_index("doc_id")["value"]
    assert len(acc_wo) == 5 and acc_wo.mean() == pytest.approx(0.8) and acc_wo[2] == 0.0
    # squad2 reports 0-100 metrics with no stderr, lambada reports ppl: lower is better
    lam = ek.compare(res.scores, base, cand, all_metrics=True, tasks=["lambada_openai"]).frame
    ppl = lam[lam["metric"] == "ppl"].iloc[0]
    assert ppl["direction"] == "lower" and ppl["delta"] > 0


def test_v040_legacy_sample_files_filters_by_position():
    res = _load(DATA / "v0.4.0-0.4.2")
    s = res.samples
    gsm = s[(s["task"] == "gsm8k") & (s["metric"] == "exact_match")]
    assert gsm.groupby(["model", "filter"]).size().to_dict() == {
        (m, f): 8 for m in res.models for f in ("strict-match", "flexible-extract")}
    # the mean of each filter's block is the reported score of that filter
    for (model, filt), grp in gsm.groupby(["model", "filter"]):
        reported = res.scores[(res.scores["model"] == model) & (res.scores["task"] == "gsm8k")
                              & (res.scores["filter"] == filt)]["value"].iloc[0]
        assert grp["value"].mean() == pytest.approx(reported)
    assert len(s[(s["task"] == "arc_easy") & (s["metric"] == "acc")]) == 20
    assert res.issues.empty


def test_output_path_json_links_samples_by_timestamp_only():
    res = _load(DATA / "v0.4.3-output-path")
    assert len(res.jobs) == 3
    per = res.samples.groupby("job")["task"].unique().map(sorted).to_dict()
    assert per == {j: ["arc_easy", "gsm8k"] for j in res.jobs["job"]}
    # no sample file went to two runs
    files = res.samples.groupby(["job", "task"])["model"].nunique()
    assert (files == 1).all()


def test_a_sample_log_that_fits_no_run_is_reported(tmp_path):
    import shutil

    shutil.copytree(DATA / "v0.4.3-output-path", tmp_path / "x")
    stray = tmp_path / "x/evals/samples_arc_easy_2024-01-01T00-00-00.000000.jsonl"
    stray.write_text("{}\n")
    res = ek.load_lmeval(tmp_path / "x")
    hit = res.issues[res.issues["object"] == str(stray)]
    assert len(hit) == 1 and "same timestamp" in hit["message"].iloc[0]


def test_inline_samples_of_a_library_dump():
    res = _load(DATA / "inline-samples")
    wrong = (res.samples[res.samples["metric"] == "acc"].pipe(lambda d: d[d["value"] == 0])
             .groupby("model")["doc_id"].apply(sorted).to_dict())
    assert wrong == {"ModelCloud/Llama-3.2-1B-Instruct": [3, 8],
                     "ModelCloud/Llama-3.2-1B-Instruct-gptqmodel-4bit-vortex-v1": [3, 5, 8]}


def test_single_results_file_takes_only_its_own_samples():
    path = next((DATA / "v0.4.3-output-path/evals").glob("lm_eval_2025-07-14T09-12-50*.json"))
    res = ek.load_lmeval(path)
    assert sorted(res.samples["task"].unique()) == ["arc_easy", "gsm8k"]
    assert res.samples["job"].nunique() == 1
    legacy = DATA / "v0.4.0-0.4.2/llama-3.1-8b-instruct/results.json"
    res = ek.load_lmeval(legacy)
    assert sorted(res.samples["task"].unique()) == ["arc_easy", "gsm8k"]


def test_groups_counted_once_and_n_from_sample_len():
    for folder in ("v0.4.9-groups", "v0.4.12-sample-len"):
        res = _load(DATA / folder)
        models = sorted(res.models, key=lambda m: not m.startswith("meta-llama"))
        cmp = ek.compare(res.scores, models[0], models[1], runs=res.runs,
                         samples=res.samples).frame
        assert sorted(cmp["task"]) == ["arc_easy", "gsm8k", "mmlu"], folder
        assert cmp["comparable"].all(), folder
    res = _load(DATA / "v0.4.12-sample-len")
    mmlu = res.scores[(res.scores["task"] == "mmlu")]
    assert (mmlu["n"] == 17).all()


def test_wrong_ter_direction_is_corrected_and_said():
    res = _load(DATA / "corpus-metrics")
    assert res.issues["message"].str.contains("higher_is_better=True, which lm-eval gets wrong").any()


def test_ifeval_booleans_are_paired_per_document():
    res = _load(DATA / "judge-scores")
    s = res.samples[(res.samples["task"] == "ifeval")]
    assert set(s["metric"]) == {"prompt_level_strict_acc", "prompt_level_loose_acc"}
    assert set(s["value"]) <= {0.0, 1.0}
    for model, grp in s[s["metric"] == "prompt_level_strict_acc"].groupby("model"):
        reported = res.scores[(res.scores["model"] == model) & (res.scores["task"] == "ifeval")
                              & (res.scores["metric"] == "prompt_level_strict_acc")]["value"]
        assert grp["value"].mean() == pytest.approx(reported.iloc[0])


@pytest.mark.parametrize("folder", sorted(p.name for p in DATA.iterdir() if p.is_dir()))
def test_every_folder_analyses_and_renders(folder):
    """Every section, the summary and the quality figures render for every generation,
    including suites with no accuracy at all (judge-scores) and corpus-only metrics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evalkit.present import sections
    from evalkit.present.plots import quality
    from evalkit.present.summary_json import jsonable, to_summary

    res = _load(DATA / folder)
    models = sorted(res.models)
    a = ek.analyze(res, baseline=models[0], candidates=models[1:])
    assert a.comparison.frame["task"].nunique() >= 1
    for name in ("answer", "answer_table", "jobs_table", "issues_table", "comparability_markdown",
                 "verdicts_markdown", "comparison_table", "recovery_markdown", "recovery_table",
                 "flips_table", "methods_markdown"):
        text = getattr(sections, name)(a)
        assert isinstance(text, str) and "Traceback" not in text, name
    json.dumps(jsonable(to_summary(a)), allow_nan=False)
    for fig in (quality.scores(a.comparison.frame), quality.deltas(a.comparison.frame),
                quality.recovery(a.recovery)):
        plt.close(getattr(fig, "figure", fig))


@pytest.mark.parametrize(("folder", "tasks"), [
    ("v0.4.9-groups", {"arc_easy", "gsm8k", "mmlu"}),        # the candidate's logs removed
    ("judge-scores", {"ifeval", "truthfulqa_gen"}),          # generation only: no acc at all
])
def test_report_renders_for_one_sided_samples_and_generation_suites(tmp_path, folder, tasks):
    """The whole report (papermill, real kernel, exit 0) on an lm-eval folder where the
    candidate has no sample logs (unpaired comparisons, said so), and on a generation-only
    suite whose headline metrics are not accuracies."""
    import shutil
    import subprocess
    import sys

    src = tmp_path / "runs"
    shutil.copytree(DATA / folder, src)
    one_sided = folder == "v0.4.9-groups"
    if one_sided:
        for f in src.glob("RedHatAI__*/samples_*.jsonl"):
            f.unlink()
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "evalkit.cli", "report", "--source", str(src),
         "--baseline", "meta-llama/Llama-3.1-8B-Instruct",
         "--candidate", "RedHatAI/Llama-3.1-8B-Instruct-quantized.w4a16", "--output", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["tasks"]
    assert {r["task"] for r in rows} == tasks
    if one_sided:
        assert all(r["estimate_source"] == "reported" for r in rows)
    else:
        assert all(r["headline_note"] for r in rows)  # the fallback headline is named
    page = (out / "02-eval-results.html").read_text()
    assert len(page) > 10_000 and "No task has results for both models" not in page
    assert "lm-eval files" in summary["source_kind"]


def test_v03_zero_shot_against_five_shot_is_not_comparable():
    """Forced to pair the candidate's 0-shot run with the baseline's 5-shot run, the
    comparison says they are not comparable (few-shot changes scores)."""
    res = _load(DATA / "v0.3-legacy")
    base = "/gaueko1/hizkuntza-ereduak/LLaMA/lm/huggingface/7B"
    cand = "TheBloke/LLaMa-7B-GPTQ"
    keep = ~res.scores["job"].str.endswith("gptq-4bit_mmlu_5-shot")
    scores = res.scores[keep]
    runs = res.runs[~res.runs["job"].str.endswith("gptq-4bit_mmlu_5-shot")]
    cmp = ek.compare(scores, base, cand, runs=runs, tasks=["hendrycksTest-anatomy"]).frame
    assert len(cmp) == 1 and cmp["candidate_job"].iloc[0].endswith("_mmlu_0-shot")
    assert not cmp["comparable"].iloc[0]
    assert "few" in cmp["comparability_note"].iloc[0].lower()
