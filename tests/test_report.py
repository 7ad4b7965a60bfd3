"""`evalkit report` end to end: papermill in a real kernel, HTML, summary.json, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import evalkit as ek
from tests.builders import job, job_list, results_doc

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=240)


def headline_from_dump(dump: dict, model: str, task: str, metric: str, filt: str) -> float:
    """Independent of evalkit: read the value straight out of status.results."""
    for item in dump["items"]:
        args = {a["name"]: a["value"] for a in item["spec"]["modelArgs"]}
        if args.get("model") == model and item["status"].get("results"):
            return json.loads(item["status"]["results"])["results"][task][f"{metric},{filt}"]
    raise KeyError(model)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-report")
    proc = run_cli("report", "--output", str(out), cwd=out)
    return proc, out


def test_demo_report_writes_three_files(demo_report):
    proc, out = demo_report
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for name in ("02-eval-results.ipynb", "02-eval-results.html", "summary.json"):
        assert (out / name).is_file(), name
    # every figure of the page also as a PNG file, the same bytes the page embeds
    import base64

    pngs = sorted((out / "figures").glob("*.png"))
    nb = nbformat.read(out / "02-eval-results.ipynb", as_version=4)
    embedded = [base64.b64decode(o["data"]["image/png"]) for c in nb.cells
                if c.cell_type == "code" for o in c.get("outputs", [])
                if "image/png" in o.get("data", {})]
    assert len(pngs) == len(embedded) >= 10
    assert [p.read_bytes() for p in pngs] == embedded
    html = (out / "02-eval-results.html").read_text()
    assert "data:image/png;base64" in html  # figures embedded
    assert "ek.load_lmeval(" not in html  # no code cells
    assert "GENERATED DEMO DATA" in html
    nb = nbformat.read(out / "02-eval-results.ipynb", as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_demo_summary_matches_the_raw_dump(demo_report):
    _, out = demo_report
    summary = json.loads((out / "summary.json").read_text())
    dump = json.loads((Path(ek.demo_path()) / "lmevaljobs.json").read_text())
    assert summary["demo"] is True
    assert summary["baseline"] == "mistral-24b" and summary["candidate"] == "mistral-24b-quantized"
    assert {t["task"] for t in summary["tasks"]} == {"arc_easy", "hellaswag", "gsm8k",
                                                     "truthfulqa_mc2"}
    for t in summary["tasks"]:
        b = headline_from_dump(dump, "mistral-24b", t["task"], t["metric"], t["filter"])
        c = headline_from_dump(dump, "mistral-24b-quantized", t["task"], t["metric"], t["filter"])
        assert abs(t["delta"] - (c - b)) <= 1e-12
        assert t["verdict"] in {"better", "non-inferior", "inferior", "inconclusive"}
        assert t["method"].startswith("paired")
    gsm = {(m["metric"], m["filter"]) for m in summary["all_metrics"] if m["task"] == "gsm8k"}
    assert gsm == {("exact_match", "strict-match"), ("exact_match", "flexible-extract")}
    issues = summary["data_issues"]
    assert set(issues[0]) == {"source", "object", "severity", "message", "step"}
    assert any(i["object"] == "eval-mistral-24b-w4a16-mmlu" and i["severity"] == "error"
               for i in issues)
    rec = summary["recovery"]["summary"][0]
    assert rec["candidate_model"] == "mistral-24b-quantized"
    assert rec["ci_low"] <= rec["recovery"] <= rec["ci_high"]


def test_report_on_an_oc_dump_with_bad_jobs(tmp_path):
    bad = results_doc("m-quant", tasks={
        "arc_easy": {"acc,none": 0.8, "acc_stderr,none": 0.04, "acc_norm,none": 0.77,
                     "acc_norm_stderr,none": 0.042},
        "gsm8k": {"exact_match,strict-match": 45.0, "exact_match_stderr,strict-match": 5.0,
                  "exact_match,flexible-extract": 0.5, "exact_match_stderr,flexible-extract": 0.05}})
    dump = job_list(job("eval-base", "m-base"),
                    job("eval-quant", "m-quant", results=json.dumps(bad)),
                    job("eval-broken", "m-quant", reason="Failed", results=None,
                        message="Input validation failed: invalid limit"))
    src = tmp_path / "dump.json"
    src.write_text(json.dumps(dump))
    out = tmp_path / "out"
    proc = run_cli("report", "--source", str(src), "--baseline", "m-base", "--candidate",
                   "m-quant", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    msgs = [i["message"] for i in summary["data_issues"]]
    assert any("job failed: Input validation failed" in m for m in msgs)
    assert any("gsm8k exact_match,strict-match: score 45.0 is outside [0, 1]" in m for m in msgs)
    arc = next(t for t in summary["tasks"] if t["task"] == "arc_easy")
    assert abs(arc["delta"] - (0.77 - 0.79)) <= 1e-12
    assert arc["method"].startswith("unpaired")
    strict = [m for m in summary["all_metrics"]
              if m["task"] == "gsm8k" and m["filter"] == "strict-match"]
    assert all(m["candidate"] != 45.0 for m in strict)  # out-of-range score kept out


def test_unknown_model_exits_2_with_one_line(tmp_path):
    proc = run_cli("report", "--baseline", "nope", "--candidate", "mistral-24b",
                   "--output", str(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and "mistral-24b-quantized" in lines[0]
    assert not (tmp_path / "summary.json").exists()


def test_unusable_source_exits_2(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("<html>login</html>")
    proc = run_cli("report", "--source", str(bad), "--output", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "x.json" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_failing_cell_exits_1_and_logs_traceback(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("source = baseline = candidate = output_dir = None",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("raise ValueError('cell exploded on purpose')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "o"
    proc = run_cli("report", "--notebook", str(path), "--output", str(out))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "raise ValueError" in lines[0] and "cell exploded on purpose" in lines[0]
    assert "Traceback" not in proc.stderr
    log = (out / "report-error.log").read_text()
    assert "ValueError" in log and "cell exploded on purpose" in log


def test_installed_wheel_runs_report_from_an_empty_folder(tmp_path):
    """The notebook and the demo snapshot ship inside the wheel as package data."""
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir),
                    str(ROOT)], check=True, capture_output=True, timeout=240)
    wheel = next(wheel_dir.glob("evalkit-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, timeout=240)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import evalkit, evalkit._resources as s; "
                            "print(evalkit.__file__); print(s.demo_path())"],
                           capture_output=True, text=True, cwd=empty, env=env, check=True)
    assert where.stdout.startswith(str(target)), where.stdout
    assert "_resources" in where.stdout.splitlines()[1]
    proc = run_cli("report", cwd=empty, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (empty / "reports" / "summary.json").is_file()


def test_demo_summary_serving_values_are_the_raw_window_answers(demo_report):
    """The serving table's window figures are the saved Prometheus answers, unaltered."""
    _, out = demo_report
    summary = json.loads((out / "summary.json").read_text())
    rows = {(r["model"], r["metric"]): r for r in summary["serving"]}
    prom = Path(ek.demo_path()) / "prometheus"
    for model in ("mistral-24b", "mistral-24b-quantized"):
        for metric in ("ttft_p50", "ttft_p99", "itl_p90", "generation_tokens_per_s"):
            raw = json.loads((prom / model / "window" / f"{metric}.json").read_text())
            value = float(raw["data"]["result"][0]["value"][1])
            assert rows[(model, metric)]["value"] == value
            assert rows[(model, metric)]["statistic"].startswith("window")
    assert rows[("mistral-24b-quantized", "gpus")]["value"] == 1
    assert rows[("mistral-24b", "gpus")]["value"] == 4


def test_demo_html_in_a_real_browser_with_no_network(demo_report):
    """Debian's chromium, every request refused: the page loads, every figure decodes with an
    alt text and fits the page, no code, no error text, no script, nothing external."""
    from tests.browser import inspect_page

    _, out = demo_report
    page = inspect_page(out / "02-eval-results.html")
    assert page["ready"] == "complete" and page["load_seconds"] < 10
    assert page["title"] == "mistral-24b vs mistral-24b-quantized"
    assert page["external"] == [] and page["scripts"] == 0 and page["handlers"] == []
    imgs = page["images"]
    assert len(imgs) >= 7
    for img in imgs:
        assert img["ok"] and img["w"] > 0 and not img["clipped"], img
        assert len(img["alt"]) > 20 and img["alt"] != "figure"
    text = page["text"]
    for section in ("The answer", "Accuracy per task", "Recovery", "Serving over time",
                    "Capacity", "Cost", "Quality versus cost", "Methods and provenance"):
        assert section in text, section
    for bad in ("Traceback", "Error", "Warning:", "import evalkit", "display(", "<NA>", "NaT",
                "NoReason"):
        assert bad not in text, bad


def test_analyze_writes_the_same_summary_as_report_without_a_kernel(demo_report, tmp_path):
    _, out = demo_report
    proc = run_cli("analyze", "--output", str(tmp_path / "an"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    a = json.loads((tmp_path / "an" / "summary.json").read_text())
    r = json.loads((out / "summary.json").read_text())
    for doc in (a, r):
        doc.pop("generated_at")
    assert a == r
    frames = sorted(p.name for p in (tmp_path / "an" / "frames").glob("*.parquet"))
    assert {"scores.parquet", "comparison.parquet", "issues.parquet"} <= set(frames)
    import pandas as pd

    cmp = pd.read_parquet(tmp_path / "an" / "frames" / "comparison.parquet")
    assert cmp["delta"].tolist() == [t["delta"] for t in r["tasks"]]
    assert list(tmp_path.glob("*.log")) == []  # nothing written beside the output folder


def test_analyze_takes_prices_and_slo_into_the_summary(tmp_path):
    """--prices FILE and --slo reach the cost and capacity of summary.json; the cost is the
    formula of docs/cost.md on the table's own inputs."""
    from evalkit.cli import main

    prices = tmp_path / "prices.yaml"
    prices.write_text("NVIDIA L4: {usd_per_gpu_hour: 0.8, source: test quote, date: 2026-12}\n")
    assert main(["analyze", "--prices", str(prices), "--slo", "rag",
                 "--output", str(tmp_path / "o")]) == 0
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["capacity"]["slo_name"] == "rag"
    rows = [r for r in s["cost"] if r["usd_per_gpu_hour"] is not None]
    assert rows and all(r["usd_per_gpu_hour"] == 0.8 and "test quote" in r["price_source"]
                        for r in rows)
    for r in rows:
        want = r["gpus"] * 0.8 / (r["output_tokens_per_second"] * 3600) * 1e6
        assert r["usd_per_1m_output_tokens"] == pytest.approx(want, rel=1e-12)
    with pytest.raises(SystemExit) as exc:
        main(["analyze", "--slo", "fast", "--output", str(tmp_path / "p")])
    assert exc.value.code == 2
