"""``evalkit analyze``: the analysis without a kernel — summary.json and Parquet frames."""

from __future__ import annotations

import argparse
from typing import Any

from .report import add_common


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(
        name, help="compute the analysis and write summary.json + Parquet frames (no kernel)",
        description="Compare the candidate(s) with the baseline and write DIR/summary.json "
                    "(docs/summary-schema.md) and DIR/frames/*.parquet. The same summary.json "
                    "as `evalkit report` gives, without running a notebook.")
    add_common(p)


def run(args: argparse.Namespace) -> int:
    from ..analysis.pipeline import analyze
    from ..bundle import load
    from ..core.lock import TargetLock
    from ..present.report import check_output
    from ..present.summary_json import write_outputs

    out = check_output(args.output)
    a = analyze(load(args.source), args.baseline, args.candidates, margin=args.margin,
                relative_margin=args.relative_margin, confidence=args.confidence,
                slo=args.slo, prices=args.prices)
    with TargetLock(out):
        paths = write_outputs(a, out)
    print(f"summary  {paths['summary']}")
    print(f"frames   {paths['summary'].parent / 'frames'}")
    return 0
