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
from pathlib import Path

from .._version import __version__
from ..core.errors import EvalkitError, exit_code
from ..core.secrets import redact
from . import analyze as analyze_cmd
from . import pull as pull_cmd
from . import report as report_cmd

COMMANDS = {"report": report_cmd, "analyze": analyze_cmd, "pull": pull_cmd}

EPILOG = """\
examples:
  evalkit report                                   # the bundled demo snapshot -> ./reports
  evalkit analyze --source snap/ --output out/     # summary.json + Parquet, no kernel
  evalkit pull --namespace private-ai-demo --out snap/ --samples /mnt/lmeval-output
  evalkit report --source snap/ --baseline mistral-24b --candidate mistral-24b-quantized

settings (flags win over environment variables):
  EVALKIT_PROMETHEUS_URL, EVALKIT_PROMETHEUS_TOKEN / EVALKIT_PROMETHEUS_TOKEN_FILE,
  EVALKIT_REGISTRY_URL, EVALKIT_REGISTRY_TOKEN / EVALKIT_REGISTRY_TOKEN_FILE, EVALKIT_CA_BUNDLE,
  EVALKIT_MAX_BODY_MB, EVALKIT_HTTP_DEADLINE, EVALKIT_MAX_FILE_MB.
  In a pod the Kubernetes API uses the service account automatically; other endpoints get
  its token only with --prometheus-service-account.

exit codes: 0 success, 1 a remote call or report cell failed, 2 unusable input, 130 interrupted.
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


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.command is None:
        p.print_help()
        return 2
    mod = COMMANDS[args.command]
    try:
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
