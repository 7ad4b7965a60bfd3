"""Fuzzing every parser of untrusted input with Hypothesis: whatever the document, nothing but
evalkit's own errors (:class:`evalkit.core.errors.EvalkitError` subclasses) may escape.

Parsers: LMEvalJob lists (``oc get lmevaljob -o json|yaml``, as text and as dicts), lm-eval
results documents, per-sample logs, snapshot manifests (and the files they list), Prometheus
answers (:func:`evalkit.prometheus.parse_answer`, bytes and dicts). Inputs are real documents
with random parts replaced by random JSON (deep, huge, NaN, wrong types, integer keys), and
raw random bytes.

Runs derandomized (the same examples every time) in ``make test``; for a longer, random hunt:
``HYPOTHESIS_PROFILE=hunt pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.core.errors import EvalkitError
from tests.corpus import inputs

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("hunt", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# ------------------------------------------------------------------------------ strategies

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["N/A", "NaN", "inf", "-Infinity", "1e400", "", " ", "Complete", "Failed",
                     "<script>x</script>", "$\\frac{$", "../x", "\n", "acc,none"]))
keys = st.one_of(st.text(max_size=10), st.sampled_from(["results", "items", "kind", "spec",
                                                        "status", "metadata", "acc,none"]),
                 st.integers(-3, 3), st.none(), st.booleans())  # YAML keys need not be text
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children,
                                                                      max_size=4),
    max_leaves=10)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _replace(node: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


@st.composite
def mutated(draw: Any, base: Any) -> Any:
    """``base`` with 1-4 random parts replaced by random JSON (or a JSON string of it)."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        value = draw(values)
        if draw(st.booleans()) and path and path[-1] == "results":  # inside the JSON string
            value = json.dumps(value)
        doc = _replace(doc, path, value)
    return doc


def _results_as_dicts(doc: dict[str, Any]) -> dict[str, Any]:
    """A dump whose ``status.results`` are mappings (YAML dumps), so the fuzzer reaches
    inside the lm-eval document too."""
    for item in doc["items"]:
        item["status"]["results"] = json.loads(item["status"]["results"])
    return doc


PAIR = inputs.pair_doc()
PAIR_INLINE = _results_as_dicts(inputs.pair_doc())
RESULTS = inputs.results_doc()


def evalkit_errors_only(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except EvalkitError:
        return None


# ------------------------------------------------------------------------------ LMEvalJob / lm-eval


@PROFILE
@given(doc=st.one_of(mutated(PAIR), mutated(PAIR_INLINE)))
def test_lmevaljob_lists(doc: Any) -> None:
    from evalkit.lmeval import load_lmeval

    evalkit_errors_only(load_lmeval, doc)


@PROFILE
@given(doc=mutated(RESULTS))
def test_lmeval_results_documents(doc: Any) -> None:
    from evalkit.lmeval import load_lmeval

    evalkit_errors_only(load_lmeval, doc)


@PROFILE
@given(doc=mutated(PAIR_INLINE), as_yaml=st.booleans())
def test_dump_text_through_the_reader(doc: Any, as_yaml: bool) -> None:
    """The same documents as files, JSON or YAML (YAML keeps integer keys, NaN, ...)."""
    import yaml

    from evalkit.lmeval import load_lmeval

    text = yaml.safe_dump(doc) if as_yaml else json.dumps(doc)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / ("dump.yaml" if as_yaml else "dump.json")
        p.write_text(text)
        evalkit_errors_only(load_lmeval, p)


@PROFILE
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_as_a_dump(data: bytes) -> None:
    from evalkit.lmeval.documents import parse_text

    evalkit_errors_only(parse_text, data, "fuzz")
    evalkit_errors_only(parse_text, data.decode("utf-8", "replace"), "fuzz")


# ------------------------------------------------------------------------------ samples

SAMPLE = inputs.sample_line(0)


@PROFILE
@given(lines=st.lists(st.one_of(mutated(SAMPLE).map(json.dumps), values.map(json.dumps),
                                st.binary(max_size=40).map(lambda b: b.decode("latin-1"))),
                      max_size=6),
       array=st.booleans())
def test_sample_logs(lines: list[str], array: bool) -> None:
    from evalkit.lmeval.samples import read_samples_file

    text = ("[" + ",".join(lines) + "]") if array else "\n".join(lines)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "samples_arc_easy_2026-01-01T00-00-00.jsonl"
        p.write_bytes(text.encode("utf-8", "surrogatepass"))
        issues: list[dict[str, str]] = []
        df = read_samples_file(p, task="arc_easy", job="j", model="m", issues=issues)
        assert {"doc_id", "metric", "value"} <= set(df.columns)


# ------------------------------------------------------------------------------ snapshots


@pytest.fixture(scope="module")
def snapshot_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("fuzzsnap") / "snap"
    inputs.gen_snapshot(p)
    return p


@PROFILE
@given(data=st.data())
def test_snapshot_manifests(snapshot_template: Path, data: Any) -> None:
    import evalkit as ek

    manifest = json.loads((snapshot_template / "manifest.json").read_text())
    doc = data.draw(mutated(manifest))
    with tempfile.TemporaryDirectory() as d:
        snap = Path(d) / "snap"
        shutil.copytree(snapshot_template, snap)
        (snap / "manifest.json").write_text(json.dumps(doc))
        evalkit_errors_only(ek.load, snap)


# ------------------------------------------------------------------------------ Prometheus

ANSWER = {"status": "success", "warnings": ["w"],
          "data": {"resultType": "matrix", "result": [
              {"metric": {"__name__": "x", "pod": "p"}, "values": [[1700000000, "1.5"],
                                                                   [1700000030, "NaN"]]},
              {"metric": {}, "values": [[1700000000.5, "+Inf"]]}]}}


@PROFILE
@given(doc=mutated(ANSWER), compact=st.booleans())
def test_prometheus_answers(doc: Any, compact: bool) -> None:
    from evalkit.prometheus import parse_answer

    body = json.dumps(doc, separators=(",", ":") if compact else None).encode()
    evalkit_errors_only(parse_answer, body)
    if isinstance(doc, dict):
        evalkit_errors_only(parse_answer, doc)


@PROFILE
@given(body=st.binary(max_size=200) | st.builds(
    lambda a, b: a + b, st.sampled_from([b'{"status":"success","data":{"resultType":"matrix",'
                                         b'"result":[{"metric":{},"values":[[', b'{"status":']),
    st.binary(max_size=60)))
def test_prometheus_random_bytes(body: bytes) -> None:
    from evalkit.prometheus import parse_answer

    evalkit_errors_only(parse_answer, body)


# ------------------------------------------------------------------------------ --config files

FLAGS = ["namespace", "out", "source", "output", "margin", "confidence", "model", "step",
         "start", "end", "baseline", "candidate", "prometheus-header", "overwrite", "samples",
         "registry-model", "prometheus", "token-file", "prometheus-token"]


@PROFILE
@given(doc=st.dictionaries(st.sampled_from(FLAGS) | keys, values, max_size=5),
       text=st.text(max_size=120), command=st.sampled_from(["pull", "analyze", "report"]))
def test_config_files(doc: Any, text: str, command: str) -> None:
    import yaml

    from evalkit.cli import parser
    from evalkit.cli.args import config_defaults

    sub = parser()._subparsers._group_actions[0].choices[command]  # noqa: SLF001
    with tempfile.TemporaryDirectory() as d:
        for i, body in enumerate((yaml.safe_dump(doc), text)):
            p = Path(d) / f"c{i}.yaml"
            p.write_text(body)
            evalkit_errors_only(config_defaults, sub, str(p))
