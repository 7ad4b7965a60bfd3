"""``evalkit`` command line: a thin shell over the Python API.

Exit codes: 0 success (data issues included), 1 a report cell or a remote call failed,
2 unusable input or unknown models. One line on stderr for errors; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._version import __version__
from .errors import EvalkitError, ReportError, SchemaError, SourceError, UnknownModelError

EPILOG = """\
examples:
  evalkit report                                   # the bundled demo snapshot -> ./reports
  evalkit report --source lmevaljobs.json --baseline mistral-24b \\
                 --candidate mistral-24b-quantized --output out/
  evalkit pull --namespace private-ai-demo --out snap/ --samples /mnt/lmeval-output
  evalkit report --source snap/

settings (flags win over environment variables):
  EVALKIT_PROMETHEUS_URL, EVALKIT_PROMETHEUS_TOKEN / EVALKIT_PROMETHEUS_TOKEN_FILE,
  EVALKIT_REGISTRY_URL, EVALKIT_REGISTRY_TOKEN / EVALKIT_REGISTRY_TOKEN_FILE, EVALKIT_CA_BUNDLE.
  In a pod the service-account token and CA are found automatically.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evalkit",
        description="Evidence for replacing a full-precision LLM with its quantized twin: "
                    "LMEvalJob results, serving metrics, honest statistics, reports.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"evalkit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser(
        "report", help="run the report notebook (papermill) and write .ipynb, .html, summary.json",
        description="Run notebooks/02-eval-results.ipynb headless on a source and write "
                    "DIR/02-eval-results.ipynb, DIR/02-eval-results.html (no code, figures "
                    "embedded) and DIR/summary.json (docs/summary-schema.md). Without --source "
                    "it uses the bundled demo snapshot (generated demo data).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--source", help="`oc get lmevaljob -o json|yaml` dump, lm-eval results file "
                   "or output folder, or snapshot folder (default: the bundled demo snapshot)")
    r.add_argument("--baseline", help="served model name of the full-precision model")
    r.add_argument("--candidate", action="append",
                   help="served model name of the quantized model (repeat for several)")
    r.add_argument("--output", default="reports", help="output folder (default: ./reports)")
    r.add_argument("--margin", type=float, default=0.02,
                   help="non-inferiority margin on the native 0-1 scale (default 0.02 = 2 points)")
    r.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    r.add_argument("--progress", action="store_true", help="show papermill's cell progress bar")
    r.add_argument("--notebook", help="run this notebook instead of the bundled one (it must "
                   "take the same parameters and write summary.json)")

    pl = sub.add_parser(
        "pull", help="save LMEvalJobs (and Prometheus series) from the cluster into a snapshot",
        description="Write a snapshot folder: the raw LMEvalJob list as the API returned it, "
                    "per-sample files from a local folder, and a manifest. Written to a "
                    "temporary folder and renamed into place at the end.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    pl.add_argument("--namespace", "-n", required=True, help="namespace of the LMEvalJobs")
    pl.add_argument("--out", required=True, help="snapshot folder to create")
    pl.add_argument("--samples", help="local lm-eval output folder or mounted PVC with samples_*.jsonl")
    pl.add_argument("--selector", "-l", dest="label_selector", help="label selector for the jobs")
    pl.add_argument("--context", help="kubeconfig context (default: current)")
    pl.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    pl.add_argument("--token-file", help="file holding a bearer token for the Kubernetes API")
    pl.add_argument("--ca-bundle", help="CA bundle for TLS verification (or $EVALKIT_CA_BUNDLE)")
    pl.add_argument("--insecure", action="store_true",
                    help="DISABLE TLS verification (recorded in the manifest; avoid)")
    pl.add_argument("--prometheus", default=os.environ.get("EVALKIT_PROMETHEUS_URL"),
                    help="Prometheus/Thanos URL (or $EVALKIT_PROMETHEUS_URL)")
    pl.add_argument("--prometheus-token-file", help="file with the Prometheus bearer token "
                    "(or $EVALKIT_PROMETHEUS_TOKEN / $EVALKIT_PROMETHEUS_TOKEN_FILE)")
    pl.add_argument("--prometheus-namespace", metavar="NS",
                    help="Thanos tenancy namespace (thanos-querier port 9092 needs ?namespace=)")
    pl.add_argument("--prometheus-header", action="append", default=[], metavar="'NAME: VALUE'",
                    help="extra header for Prometheus, e.g. 'X-Scope-OrgID: tenant' for Mimir "
                    "(repeat; only header names are recorded)")
    pl.add_argument("--model", action="append", default=[], metavar="NAME=SELECTOR",
                    help="a served model and its PromQL label selector, e.g. "
                    "mistral-24b='namespace=\"ns\",pod=~\"mistral-24b-predictor.*\"' (repeat)")
    pl.add_argument("--start", help="Prometheus window start (RFC 3339 or unix seconds; "
                    "default: one hour before --end)")
    pl.add_argument("--end", help="Prometheus window end (RFC 3339 or unix seconds; default: now)")
    pl.add_argument("--step", default="30s", help="Prometheus step (default 30s)")
    pl.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "report":
            return _report(args)
        if args.command == "pull":
            return _pull(args)
    except (SourceError, UnknownModelError, SchemaError) as exc:
        print(f"evalkit {args.command}: {exc}", file=sys.stderr)
        return 2
    except ReportError as exc:
        print(f"evalkit {args.command}: {exc}", file=sys.stderr)
        return 1
    except EvalkitError as exc:
        print(f"evalkit {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"evalkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still no traceback on the terminal
        from .http import redact

        log = Path(getattr(args, "output", None) or ".") / "evalkit-error.log"
        try:
            import traceback

            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(redact("".join(traceback.format_exception(exc))))
            where = f" (traceback in {log})"
        except OSError:
            where = ""
        print(f"evalkit {args.command}: internal error {type(exc).__name__}: {redact(exc)}{where}; "
              "please report it", file=sys.stderr)
        return 1
    return 2


def _report(args: argparse.Namespace) -> int:
    from .report import run_report

    cands = args.candidate
    candidate = None if not cands else (cands[0] if len(cands) == 1 else cands)
    paths = run_report(args.source, baseline=args.baseline, candidate=candidate,
                       output_dir=args.output, margin=args.margin, confidence=args.confidence,
                       progress=args.progress, notebook=args.notebook)
    for key in ("notebook", "html", "summary"):
        print(f"{key:8} {paths[key]}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from .pull import pull

    models = {}
    for spec in args.model:
        name, sep, selector = spec.partition("=")
        if not sep or not name:
            raise SourceError(f"--model {spec!r}: expected NAME=SELECTOR")
        models[name] = selector
    headers = {}
    for h in args.prometheus_header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise SourceError(f"--prometheus-header {name.strip() or h!r}: expected 'NAME: VALUE'")
        headers[name.strip()] = value.strip()
    start, end = args.start, args.end
    if args.prometheus:
        if not models:
            raise SourceError("--prometheus needs at least one --model NAME=SELECTOR")
        import time

        end = end or time.time()
        if start is None:
            from .prometheus import to_unix

            start = to_unix(end) - 3600.0
    token = None
    if args.token_file:
        from .http import TokenFile

        token = TokenFile(args.token_file)
    prom_token = None
    if args.prometheus_token_file:
        from .http import TokenFile

        prom_token = TokenFile(args.prometheus_token_file)
    out = pull(args.out, namespace=args.namespace, label_selector=args.label_selector,
               context=args.context, kubeconfig=args.kubeconfig, samples=args.samples,
               token=token, ca_bundle=args.ca_bundle, insecure=args.insecure,
               prometheus=args.prometheus, prometheus_token=prom_token,
               prometheus_namespace=args.prometheus_namespace,
               prometheus_headers=headers or None, models=models or None,
               start=start, end=end, step=args.step, overwrite=args.overwrite)
    print(f"snapshot {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
