"""``evalkit report``: analyze + render the report notebook into a folder."""

from __future__ import annotations

import argparse
from typing import Any

from . import args as A


def add_common(p: argparse.ArgumentParser) -> None:
    """Arguments ``report`` and ``analyze`` share."""
    p.add_argument("--source", type=A.source,
                   help="`oc get lmevaljob -o json|yaml` dump, lm-eval results file or output "
                   "folder, or snapshot folder (default: the bundled demo snapshot)")
    p.add_argument("--baseline", help="served model name of the full-precision model")
    p.add_argument("--candidate", action="append", dest="candidates", metavar="CANDIDATE",
                   help="served model name of a quantized model (repeat for several)")
    p.add_argument("--output", default="reports", type=A.folder,
                   help="output folder (default: ./reports)")
    p.add_argument("--margin", type=A.margin, default=0.02,
                   help="non-inferiority margin on the native 0-1 scale (default 0.02 = 2 points)")
    p.add_argument("--relative-margin", type=A.margin, default=0.02,
                   help="margin for metrics that are not proportions (perplexity, bleu, judge "
                   "scores), as a fraction of the baseline (default 0.02 = 2 %%)")
    p.add_argument("--confidence", type=A.confidence, default=0.95,
                   help="interval level (default 0.95)")
    p.add_argument("--slo", choices=("chat", "rag"), default="chat",
                   help="latency target for capacity from GuideLLM reports: chat = TTFT p99 <= "
                   "200 ms and ITL p99 <= 50 ms, rag = request latency p99 <= 3 s (default chat)")
    p.add_argument("--prices", type=A.existing_file, metavar="FILE",
                   help="YAML/JSON price table {accelerator: {usd_per_gpu_hour, source, date}} "
                   "over the defaults (docs/cost.md)")


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(
        name, help="run the report notebook (papermill) and write .ipynb, .html, summary.json",
        description="Analyze a source and render notebooks/02-eval-results.ipynb headless: "
                    "writes DIR/02-eval-results.ipynb, DIR/02-eval-results.html (self-contained, "
                    "no code, figures embedded), DIR/summary.json (docs/summary-schema.md) and "
                    "DIR/frames/*.parquet. Without --source it uses the bundled demo snapshot "
                    "(generated demo data).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument("--progress", action="store_true", help="show papermill's cell progress bar")
    p.add_argument("--notebook", type=A.source, help="run this notebook instead of the bundled "
                   "one (it must take the same parameters)")


def run(args: argparse.Namespace) -> int:
    from ..present.report import run_report

    paths = run_report(args.source, baseline=args.baseline, candidates=args.candidates,
                       output=args.output, margin=args.margin,
                       relative_margin=args.relative_margin, confidence=args.confidence,
                       slo=args.slo, prices=args.prices, progress=args.progress,
                       notebook=args.notebook)
    for key in ("notebook", "html", "summary"):
        print(f"{key:8} {paths[key]}")
    return 0
