"""``evalkit`` command line: a thin shell over the Python API.

Every command validates its arguments before any network call or kernel start; errors are one
line on stderr, never a traceback, with the exit code of :data:`evalkit.core.errors.EXIT_CODES`:
0 success (data issues included), 1 a remote call or a report cell failed, 2 unusable input
(bad flag, unknown model, unreadable source, target in use), 130 interrupted. An unexpected
error writes its traceback to the output folder (or a temporary file) and names it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

from .._version import __version__
from ..core.errors import EvalkitError, exit_code
from ..core.secrets import redact
from . import analyze as analyze_cmd
from . import gate as gate_cmd
from . import publish as publish_cmd
from . import pull as pull_cmd
from . import report as report_cmd

COMMANDS = {"report": report_cmd, "analyze": analyze_cmd, "pull": pull_cmd, "gate": gate_cmd,
            "publish": publish_cmd}

EPILOG = """\
examples:
  evalkit report                                   # the bundled demo snapshot -> ./reports
  evalkit analyze --source snap/ --output out/     # summary.json + Parquet, no kernel
  evalkit pull --namespace private-ai-demo --out snap/ --samples /mnt/lmeval-output
  evalkit report --source snap/ --baseline mistral-24b --candidate mistral-24b-quantized
  evalkit publish --source snap/ --registry https://mr-rest.apps.example.com --dry-run

settings (flags win over environment variables):
  EVALKIT_PROMETHEUS_URL, EVALKIT_PROMETHEUS_TOKEN / EVALKIT_PROMETHEUS_TOKEN_FILE,
  EVALKIT_REGISTRY_URL, EVALKIT_REGISTRY_TOKEN / EVALKIT_REGISTRY_TOKEN_FILE,
  EVALKIT_PUSHGATEWAY_TOKEN / EVALKIT_PUSHGATEWAY_TOKEN_FILE, EVALKIT_CA_BUNDLE,
  EVALKIT_MAX_BODY_MB, EVALKIT_HTTP_DEADLINE, EVALKIT_MAX_FILE_MB.
  In a pod the Kubernetes API uses the service account automatically; other endpoints get
  its token only with --prometheus-service-account / --registry-service-account.

exit codes: 0 success, 1 a remote call or report cell failed, 2 unusable input, 3 `gate`
failed, 130 interrupted.
"""


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit 2 (as argparse's own do)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="evalkit",
                description="Evidence for replacing a full-precision LLM with its quantized "
                            "twin: LMEvalJob results, serving metrics, honest statistics, "
                            "reports.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"evalkit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, mod in COMMANDS.items():
        mod.add_parser(sub, name)
    return p


def _apply_config(p: argparse.ArgumentParser, argv: list[str]) -> None:
    """``COMMAND ... --config FILE``: the file's values become the command's defaults before
    the command line is parsed (so flags given on it win, and a required flag may come from
    the file)."""
    cfg = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"), None) or next(
        (a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
    if not cfg or not argv or argv[0] not in COMMANDS:
        return
    from ..core.errors import InputError
    from ..core.files import kind_of
    from .args import config_defaults

    if kind_of(Path(cfg).expanduser()) != "file":
        raise InputError(f"--config {cfg}: not a readable file")
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    cmd = sub.choices[argv[0]]
    defaults = config_defaults(cmd, cfg)
    cmd.set_defaults(**defaults)
    for action in cmd._actions:  # noqa: SLF001 - a default from the file satisfies "required"
        if action.required and action.dest in defaults:
            action.required = False


def main(argv: list[str] | None = None) -> int:
    p = parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        _apply_config(p, argv)
    except EvalkitError as exc:
        print(f"evalkit: {redact(exc)}", file=sys.stderr)
        return exit_code(exc)
    except Exception as exc:  # a bug: still one line, the traceback in a temporary file
        where = _error_log(argparse.Namespace(), exc)
        print(f"evalkit: internal error {type(exc).__name__}: {redact(exc)}{where}; please "
              "report it", file=sys.stderr)
        return 1
    args = p.parse_args(argv)
    if args.command is None:
        print(f"evalkit: choose a command: {', '.join(COMMANDS)} (see --help)", file=sys.stderr)
        return 2
    mod = COMMANDS[args.command]
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line(args.command)
            return mod.run(args)
    except EvalkitError as exc:
        print(f"evalkit {args.command}: {redact(exc)}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print(f"evalkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still no traceback on the terminal
        where = _error_log(args, exc)
        print(f"evalkit {args.command}: internal error {type(exc).__name__}: {redact(exc)}"
              f"{where}; please report it", file=sys.stderr)
        return 1


def _warning_line(command: str):  # noqa: ANN202
    """``warnings.showwarning`` printing a user-facing warning (``--insecure``'s) as one
    redacted line instead of Python's two-line form with a source line; library deprecation
    notices (DeprecationWarning, FutureWarning) are for developers, not for the command line."""

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: object = None, line: str | None = None) -> None:
        if not issubclass(category, UserWarning):
            return
        text = " ".join(str(message).split())
        print(f"evalkit {command}: warning: {redact(text)}", file=sys.stderr)

    return show


def _error_log(args: argparse.Namespace, exc: BaseException) -> str:
    """Write the traceback into the command's output folder when it exists, else a
    temporary file — never the current folder. Returns ``" (traceback in PATH)"``."""
    text = redact("".join(traceback.format_exception(exc)))
    folder = getattr(args, "output", None) or getattr(args, "out", None)
    try:
        if folder and Path(folder).is_dir():
            path = Path(folder) / "evalkit-error.log"
            path.write_text(text, encoding="utf-8")
        else:
            fd, name = tempfile.mkstemp(prefix="evalkit-error-", suffix=".log")
            with open(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            path = Path(name)
    except OSError:
        return ""
    return f" (traceback in {path})"
