"""The report: check, render, export. :func:`run_report` loads the source and checks the
models and settings in-process (unusable input fails before the notebook runs a cell), while
the kernel boots beside it (:mod:`evalkit.present.kernel`), then runs
``02-eval-results.ipynb`` headless with papermill in that kernel — which computes the
analysis once and writes ``summary.json`` and the Parquet frames exactly as
``evalkit analyze`` does — and exports a self-contained HTML page: no code cells, figures
embedded, no external script, font or stylesheet, and every output sanitised (defence in
depth: names are already escaped where they are written).

>>> from evalkit.present.report import run_report
>>> paths = run_report(output="reports/demo")            # doctest: +SKIP
>>> sorted(p.name for k, p in paths.items() if not k.startswith("frame:"))  # doctest: +SKIP
['02-eval-results.html', '02-eval-results.ipynb', 'summary.json']
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core import files
from ..core.errors import InputError, ReportError
from ..core.lock import TargetLock
from ..core.secrets import redact
from .kernel import KERNEL_NAME, EarlyKernel

NOTEBOOK = "02-eval-results.ipynb"
ERROR_LOG = "report-error.log"


def check_output(output: str | os.PathLike[str]) -> Path:
    """The output folder, resolved; :class:`InputError` when it names a file."""
    out = Path(output).expanduser().resolve()
    kind = files.kind_of(out)
    if kind not in ("missing", "dir"):
        raise InputError(f"--output {out} is a {kind}, not a folder; choose a folder for the "
                         "report")
    return out


def run_report(source: str | os.PathLike[str] | None = None, *, baseline: str | None = None,
               candidates: str | Sequence[str] | None = None,
               output: str | os.PathLike[str] = "reports", margin: float = 0.02,
               relative_margin: float = 0.02, confidence: float = 0.95, slo: str = "chat",
               prices: str | os.PathLike[str] | None = None, progress: bool = False,
               notebook: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Check ``source`` and the settings, then render the report into ``output``.

    Returns the paths written: ``notebook``, ``html``, ``summary`` and ``frame:<name>`` for
    each Parquet frame. Raises :class:`~evalkit.core.errors.InputError` /
    :class:`~evalkit.core.errors.SourceError` for unusable input before the notebook runs,
    :class:`~evalkit.core.errors.LockedError` when another run writes into ``output``, and
    :class:`~evalkit.core.errors.ReportError` naming the failed cell when the notebook fails
    (traceback and kernel stderr in ``output/report-error.log``).
    """
    out = check_output(output)
    with TargetLock(out), tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        made = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        # the kernel boots (and imports what the notebook needs) while the settings and the
        # source are checked here; a failed check stops it
        with EarlyKernel(out, stderr) as kernel:
            try:
                baseline, cands = _check(source, baseline, candidates, margin=margin,
                                         relative_margin=relative_margin,
                                         confidence=confidence, slo=slo, prices=prices)
            except BaseException:
                if made:  # and leaves no folder this run made
                    with contextlib.suppress(OSError):
                        out.rmdir()
                raise
            from .summary_json import SUMMARY

            log_path = out / ERROR_LOG
            log_path.unlink(missing_ok=True)
            # last run's files must never sit beside this run's as if they belonged to it: an
            # interrupted or failed run leaves no summary, notebook, page or frames at all
            for stale in (out / SUMMARY, out / NOTEBOOK, (out / NOTEBOOK).with_suffix(".html"),
                          *(out / "frames").glob("*.parquet"),
                          *(out / "figures").glob("*.png")):
                stale.unlink(missing_ok=True)
            params = {
                "source": str(Path(source).resolve()) if source is not None else None,
                "baseline": baseline,
                "candidates": cands,
                "margin": float(margin),
                "relative_margin": float(relative_margin),
                "confidence": float(confidence),
                "slo": str(slo),
                "prices": str(Path(prices).resolve()) if prices is not None else None,
                "outputs": str(out),
            }
            nb_out = out / NOTEBOOK
            # the page's renderer loads while the kernel works (this process only waits then)
            threading.Thread(target=_import_renderer, daemon=True).start()
            _execute(Path(notebook) if notebook else _notebook(), nb_out, params, out,
                     log_path, stderr, kernel, progress)
            kernel.kill()  # it dies while the page is written; leaving the block reaps it
            if not (out / SUMMARY).is_file():
                raise ReportError(f"the notebook ran but wrote no {SUMMARY} into {out}: a "
                                  "custom --notebook must end with `ek.write_outputs(a, "
                                  "outputs)`")
            paths: dict[str, Path] = {"summary": out / SUMMARY}
            paths.update({f"frame:{f.stem}": f
                          for f in sorted((out / "frames").glob("*.parquet"))})
            paths.update({f"figure:{f.stem}": f
                          for f in sorted((out / "figures").glob("*.png"))})
            paths["notebook"] = nb_out
            paths["html"] = export_html(nb_out, title=f"{baseline} vs {', '.join(cands)}")
    return paths


def _check(source: Any, baseline: str | None, candidates: str | Sequence[str] | None,
           **settings: Any) -> tuple[str, list[str]]:
    """The settings checked, the source loaded and the models resolved: ``(baseline,
    candidates)``; a typed error names what is unusable."""
    from ..analysis.models import check_settings, resolve_models
    from ..bundle import load

    check_settings(**settings)
    bundle = load(source)
    baseline, cands = resolve_models(bundle, baseline, candidates)
    if bundle.lmeval.scores.empty:
        raise InputError(f"{bundle.source}: no scores in the source; nothing to report — "
                         "check that the jobs finished with results")
    return baseline, cands


def _import_renderer() -> None:
    with contextlib.suppress(Exception):  # export_html imports them again and reports
        from . import html

        html.load_renderer()


def _notebook() -> Path:
    from .._resources import resource

    return resource(NOTEBOOK)


def _execute(nb_in: Path, nb_out: Path, params: dict[str, Any], cwd: Path, log_path: Path,
             stderr: Any, kernel: EarlyKernel, progress: bool) -> None:
    for name in ("papermill", "traitlets", "nbconvert", "asyncio", "nbclient"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    # the early kernel when it started (papermill does not stop a kernel it did not start;
    # EarlyKernel does), else papermill starts one
    started = {"km": kernel.manager} if kernel.manager is not None else {}
    try:
        with _kernel_stderr_to(stderr):
            pm.execute_notebook(str(nb_in), str(nb_out), parameters=params,
                                kernel_name=KERNEL_NAME, progress_bar=progress,
                                log_output=False, stderr_file=stderr, cwd=str(cwd),
                                request_save_on_cell_execute=False, **started)
    except PapermillExecutionError as exc:
        cell = _cell_name(exc)
        _write_log(log_path, _error_log(exc), stderr)
        first = exc.evalue.splitlines()[0] if exc.evalue else ""
        raise ReportError(f"report cell {cell} failed: {exc.ename}: {redact(first)} "
                          f"(full traceback in {log_path})", cell=cell,
                          log_path=str(log_path)) from None
    except Exception as exc:  # kernel died, notebook unreadable, ...
        import traceback

        _write_log(log_path, "".join(traceback.format_exception(exc)), stderr)
        raise ReportError(f"report failed to run: {type(exc).__name__}: {redact(exc)} "
                          f"(details in {log_path})", log_path=str(log_path)) from None


@contextlib.contextmanager
def _kernel_stderr_to(fh: Any) -> Iterator[None]:
    """Send file descriptor 2 — which the kernel process inherits — to ``fh`` while the
    notebook runs, so kernel noise ("KeyboardInterrupt caught in kernel", transport warnings)
    lands in the error log instead of the user's terminal."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(fh.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _write_log(path: Path, text: str, stderr: Any) -> None:
    stderr.seek(0)
    kernel = stderr.read()
    body = redact(text) + (f"\n--- kernel stderr ---\n{redact(kernel)}" if kernel.strip() else "")
    path.write_text(body, encoding="utf-8")


def _cell_name(exc: Any) -> str:
    """``#N "first line of the cell"`` from papermill's own exception (its ``cell_index``
    counts the cell papermill injected, so the number matches the executed notebook)."""
    first = next((ln for ln in str(exc.source or "").splitlines() if ln.strip()), "")
    return f"#{exc.cell_index + 1} ({first.strip()[:60]!r})"


def _error_log(exc: Any) -> str:
    tb = getattr(exc, "traceback", None) or []
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    return ansi.sub("", "\n".join(tb) if tb else str(exc)) + "\n"


def export_html(notebook: Path, *, title: str = "evalkit report") -> Path:
    """A self-contained HTML page of an executed notebook (see :mod:`evalkit.present.html`)."""
    from .html import render_notebook

    html_path = notebook.with_suffix(".html")
    text = render_notebook(notebook, title=title)
    tmp = html_path.with_name(f".{html_path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, html_path)
    return html_path
