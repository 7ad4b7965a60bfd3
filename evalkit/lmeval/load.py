""":func:`load_lmeval`: every form LMEvalJob and lm-eval results take, into one result.

- what ``oc get lmevaljob -n NS -o json|yaml`` prints (a ``List`` or one ``LMEvalJob``),
  as a file, a string or a ``dict``;
- lm-eval results files and output folders (results plus sample logs, found recursively);
- an evalkit snapshot folder (``manifest.json``, ``lmevaljobs.json``, ``samples/<job>/``);
- ``namespace="NS"``: the live cluster (see :mod:`evalkit.lmeval.cluster`).

**Model name rule.** For an LMEvalJob: the ``model`` entry of ``spec.modelArgs``, else its
``pretrained`` entry, else the ``model`` label of the job, else the job name. For a bare
lm-eval file: ``model_name``, else — as lm-eval itself names models — the first of the
``peft=``, ``delta=``, ``pretrained=``, ``model=``, ``path=``, ``engine=`` entries of
``config.model_args``, else the file's folder name.

**Folders** are searched recursively for every lm-eval generation (0.3 free-named files,
0.4.0-0.4.2 ``results.json``, ``results_<ts>.json``, ``X_<ts>.json``, library dumps with
inline samples); each sample log is given to exactly one run (:mod:`evalkit.lmeval.discover`).

>>> import evalkit as ek
>>> res = ek.load_lmeval(ek.demo_path())
>>> res.models, res.kind
(['mistral-24b', 'mistral-24b-quantized'], 'LMEvalJob')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import files
from ..core.errors import InputError, SourceError
from ..core.result import Result
from .builder import Builder
from .documents import parse_text, read_file


@dataclass(repr=False)
class LMEvalResult(Result):
    """What :func:`load_lmeval` returns: tidy frames plus where they came from.

    Attributes
    ----------
    jobs : one row per LMEvalJob (or results file): state, reason, message, tasks, limit,
        timestamps and whether results were present.
    scores : one row per (job, task, metric, filter), every metric lm-eval reported.
    runs : one row per (job, task) with lm-eval metadata that decides comparability.
    samples : per-sample outcomes; empty when no sample logs were found.
    issues : one row per data problem (source, object, severity, message).
    source : a description of the source; ``demo`` is True for generated demo data.
    kind : ``"LMEvalJob"`` (TrustyAI CRs), ``"lm-eval files"`` or ``"LMEvalJob and lm-eval
        files"`` — what the report names as its source.
    """

    jobs: pd.DataFrame
    scores: pd.DataFrame
    runs: pd.DataFrame
    samples: pd.DataFrame
    source: str = ""
    demo: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)
    snapshot: str | None = None
    _frames = ("jobs", "scores", "runs", "samples")

    @property
    def models(self) -> list[str]:
        """Models with at least one score."""
        return sorted(self.scores["model"].dropna().astype(str).unique().tolist())

    @property
    def kind(self) -> str:
        if self.jobs.empty:
            return "LMEvalJob"
        crs = self.jobs["namespace"].notna() | self.jobs["source"].astype(str).str.contains(
            "#items|namespace/", regex=True)
        if crs.all():
            return "LMEvalJob"
        return "lm-eval files" if not crs.any() else "LMEvalJob and lm-eval files"

    def describe(self) -> str:
        demo = ", DEMO DATA" if self.demo else ""
        return f"from {self.source!r}{demo}, model(s) {self.models}"


def load_lmeval(source: Any = None, *, namespace: str | None = None,
                label_selector: str | None = None, context: str | None = None,
                kubeconfig: str | None = None, samples: str | os.PathLike[str] | None = None,
                token: Any = None, ca_bundle: str | None = None,
                insecure: bool = False, progress: bool | None = None) -> LMEvalResult:
    """Load LMEvalJob / lm-eval results from a file, folder, dict, snapshot or the cluster.

    Parameters
    ----------
    source : path (file or folder), ``dict``, or JSON/YAML text. ``None`` with ``namespace``
        reads the live cluster.
    namespace, label_selector, context, kubeconfig, token, ca_bundle, insecure :
        live cluster access (see :func:`evalkit.lmeval.list_lmevaljobs`).
    samples : an extra folder of per-sample files (an lm-eval output folder or a mounted PVC)
        matched to jobs by a ``<job>/`` or ``<model_name_sanitized>/`` sub-folder
        (:func:`evalkit.lmeval.match_samples`).
    progress : a tqdm.auto bar while reading sample logs; ``None`` shows it when they exceed
        50 MB in total.

    Examples
    --------
    >>> res = load_lmeval({"apiVersion": "v1", "kind": "List", "items": []})
    >>> res.scores.empty
    True
    """
    b = Builder()
    if source is None and namespace is None:
        raise InputError("load_lmeval needs a source (file, folder, dict or snapshot) or "
                         "namespace='NS' for the live cluster")
    if source is None:
        from .cluster import list_lmevaljobs

        doc = list_lmevaljobs(namespace, label_selector=label_selector, context=context,
                              kubeconfig=kubeconfig, token=token, ca_bundle=ca_bundle,
                              insecure=insecure)
        b.source = f"cluster namespace {namespace}"
        b.add_document(doc, f"namespace/{namespace}")
    elif isinstance(source, dict):
        b.source = "dict"
        b.add_document(source, "dict")
    elif isinstance(source, bytes | str) and _is_text(source):
        b.source = "text"
        b.add_document(parse_text(source, "text source"), "text")
    elif isinstance(source, str | bytes | os.PathLike):
        add_path(b, Path(os.fsdecode(source)).expanduser())
    else:
        raise InputError(f"load_lmeval: source must be a path, a dict or JSON/YAML text, not "
                         f"{type(source).__name__}")
    return finish(b, samples, progress)


def _is_text(source: str | bytes) -> bool:
    text = source if isinstance(source, str) else source[:200].decode("utf-8", "replace")
    return "\n" in text or text.lstrip().startswith(("{", "["))


def add_path(b: Builder, path: Path) -> None:
    """Add a file, an output folder or a snapshot folder to ``b``."""
    from ..core.snapshot import MANIFEST, open_snapshot

    b.source = str(path)
    kind = files.kind_of(path)
    if kind == "missing":
        raise SourceError(f"{path}: no such file or folder; pass an `oc get lmevaljob -o json` "
                          "dump, an lm-eval results_*.json or output folder, or a snapshot")
    if kind == "dir":
        if (path / MANIFEST).exists():
            snap = open_snapshot(path)
            b.add_snapshot(snap)
            b.issues.extend(snap.issues)
        else:
            b.add_folder(path)
        return
    b.add_document(read_file(path), str(path), path=path)


def finish(b: Builder, samples: str | os.PathLike[str] | None,
           progress: bool | None) -> LMEvalResult:
    """Match the extra ``samples`` folder, read every sample log, build the result."""
    if samples is not None:
        sp = Path(samples)
        if not sp.is_dir():
            raise InputError(f"samples={sp}: not a folder of samples_*.jsonl files")
        b.add_sample_folder(sp)
    out = b.finish(progress)
    return LMEvalResult(jobs=out["jobs"], scores=out["scores"], runs=out["runs"],
                        samples=out["samples"], issues=out["issues"], source=b.source,
                        demo=b.demo, manifest=b.manifest, snapshot=b.snapshot)
