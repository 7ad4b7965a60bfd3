"""Run the report notebook headless: papermill in a real kernel, HTML export, summary.json.

:func:`run_report` checks the source and model names first (so unusable input fails fast with
a typed error), executes ``02-eval-results.ipynb`` with papermill, exports HTML without code
cells (figures embedded) and makes sure the notebook wrote ``summary.json``
(schema in ``docs/summary-schema.md``).

>>> from evalkit.report import run_report
>>> paths = run_report(output_dir="reports/demo")      # doctest: +SKIP
>>> sorted(p.name for p in paths.values())             # doctest: +SKIP
['02-eval-results.html', '02-eval-results.ipynb', 'summary.json']
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from pathlib import Path
from typing import Any

from .errors import ReportError, SourceError, UnknownModelError

NOTEBOOK = "02-eval-results.ipynb"
QUANT_FULL_PRECISION = {"fp16", "bf16", "fp32", "none", "full", ""}


def default_models(result: Any) -> tuple[str, str]:
    """Baseline and candidate when none are named.

    Uses the snapshot manifest's ``models`` entry (the full-precision model is the baseline)
    when there is one; otherwise exactly two models are required and the user must name them.
    """
    models = result.models
    info = (result.manifest or {}).get("models") or {}
    full = [m for m in models if str((info.get(m) or {}).get("quantization", "x")).lower()
            in QUANT_FULL_PRECISION]
    quant = [m for m in models if m in info and m not in full]
    if len(full) == 1 and len(quant) >= 1:
        return full[0], quant[0]
    raise UnknownModelError(
        f"name the models to compare with --baseline and --candidate; models in the data: "
        f"{', '.join(models) or '(none)'}")


def check_inputs(source: str | os.PathLike[str] | None, baseline: str | None,
                 candidate: str | list[str] | None) -> tuple[str, str, Any]:
    """Load ``source`` and resolve the model names; raise typed errors for unusable input."""
    from .lmeval import load_lmeval
    from .snapshot import demo_path

    res = load_lmeval(source if source is not None else demo_path())
    if res.scores.empty:
        raise SourceError(f"{res.source}: no scores in the source (jobs: {len(res.jobs)}); nothing "
                          "to report — check the jobs finished with results")
    if baseline is None or candidate is None:
        b, c = default_models(res)
        baseline = baseline or b
        candidate = candidate or c
    cands = [candidate] if isinstance(candidate, str) else list(candidate)
    for name in [baseline, *cands]:
        if name not in res.models:
            raise UnknownModelError(f"model {name!r} is not in {res.source}; models there: "
                                    f"{', '.join(res.models)}")
    return baseline, cands[0] if len(cands) == 1 else cands, res


def run_report(source: str | os.PathLike[str] | None = None, *, baseline: str | None = None,
               candidate: str | None = None, output_dir: str | os.PathLike[str] = "reports",
               margin: float = 0.02, confidence: float = 0.95, progress: bool = False,
               notebook: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Execute the report notebook and export it.

    Returns ``{"notebook", "html", "summary"}`` paths. Raises
    :class:`~evalkit.errors.SourceError` / :class:`~evalkit.errors.UnknownModelError` for
    unusable input before any kernel starts, and :class:`~evalkit.errors.ReportError` naming the
    failed cell when the notebook fails (full traceback in ``output_dir/report-error.log``).
    """
    from ._resources import resource

    baseline, candidate, res = check_inputs(source, baseline, candidate)
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    nb_out = out / NOTEBOOK
    summary = out / "summary.json"
    log_path = out / "report-error.log"
    for stale in (summary, log_path):
        stale.unlink(missing_ok=True)
    params = {
        "source": str(Path(source).resolve()) if source is not None else None,
        "baseline": baseline,
        "candidate": candidate,
        "output_dir": str(out),
        "margin": float(margin),
        "confidence": float(confidence),
    }
    _quiet_papermill()
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(str(notebook or resource(NOTEBOOK)), str(nb_out), parameters=params,
                            kernel_name="python3", progress_bar=progress, log_output=False,
                            cwd=str(out), request_save_on_cell_execute=False,
                            extra_arguments=["--log-level=ERROR"])
    except PapermillExecutionError as exc:
        log_path.write_text(_error_log(exc))
        cell = _cell_name(nb_out, exc.exec_count)
        raise ReportError(f"report cell {cell} failed: {exc.ename}: {exc.evalue.splitlines()[0] if exc.evalue else ''} "
                          f"(full traceback in {log_path})", cell=cell,
                          log_path=str(log_path)) from None
    except Exception as exc:  # kernel died, notebook unreadable, ...
        log_path.write_text("".join(traceback.format_exception(exc)))
        raise ReportError(f"report failed to run: {type(exc).__name__}: {exc} (details in "
                          f"{log_path})", log_path=str(log_path)) from None
    html = export_html(nb_out)
    if not summary.is_file():
        raise ReportError(f"the notebook ran but wrote no {summary}", log_path=str(log_path))
    return {"notebook": nb_out, "html": html, "summary": summary}


def export_html(notebook: Path) -> Path:
    """HTML of an executed notebook without code cells, figures embedded."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    html = notebook.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def _quiet_papermill() -> None:
    for name in ("papermill", "traitlets", "nbconvert", "asyncio"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _cell_name(nb_path: Path, exec_count: int | None) -> str:
    """``#N "first line of the cell"`` for the failed cell, as precisely as known."""
    try:
        import nbformat

        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:
        return f"#{exec_count}"
    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if failed or (exec_count is not None and cell.get("execution_count") == exec_count):
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            return f"#{i + 1} ({first.strip()[:60]!r})"
    return f"#{exec_count}"


def _error_log(exc: Any) -> str:
    tb = getattr(exc, "traceback", None) or []
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    return ansi.sub("", "\n".join(tb) if tb else str(exc)) + "\n"
