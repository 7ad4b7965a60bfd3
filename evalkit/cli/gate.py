"""``evalkit gate``: a CI/pipeline gate on a summary.json — exit 0 when the candidate passes,
3 with a one-line reason when it does not (2 for an unusable summary)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from . import args as A

GATE_FAILED = 3
REQUIRE = ("non-inferior", "decision", "none")


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(
        name, help="pass/fail a candidate from a summary.json (exit 3 with the reason)",
        description="Read DIR/summary.json (written by `evalkit analyze` or `evalkit report`) "
                    "and fail (exit 3, one line) unless every candidate meets the bar. "
                    "--require non-inferior: every compared task non-inferior or better and "
                    "comparable; --require decision: the report's decision is 'replace'. "
                    "--min-recovery compares the LOWER end of the recovery interval (the "
                    "point estimate alone is no evidence).")
    p.add_argument("--summary", required=True, type=A.existing_file,
                   help="the summary.json to judge")
    p.add_argument("--candidate", action="append", dest="candidates",
                   help="judge only these candidates (default: all in the summary)")
    p.add_argument("--require", choices=REQUIRE, default="non-inferior",
                   help="what every task must show (default: non-inferior)")
    p.add_argument("--min-recovery", type=A.percent, metavar="PCT",
                   help="minimum lower bound of the recovery interval, in percent (e.g. 98)")
    p.add_argument("--allow-demo", action="store_true",
                   help="judge generated demo data too (refused by default)")


def _load(path: str) -> dict[str, Any]:
    from ..core.errors import InputError
    from ..core.files import read_document

    try:
        doc = json.loads(read_document(Path(path), limit=256 * 2**20))
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(doc, dict) or "tasks" not in doc or "recovery" not in doc:
        raise InputError(f"{path}: not an evalkit summary.json (no tasks/recovery)")
    return doc


def failures(doc: dict[str, Any], *, candidates: list[str] | None, require: str,
             min_recovery: float | None, allow_demo: bool) -> list[str]:
    """The reasons the summary fails the gate (empty: it passes)."""
    out: list[str] = []
    if doc.get("demo") and not allow_demo:
        out.append("the summary is GENERATED DEMO DATA (pass --allow-demo to judge it anyway)")
    ans = doc.get("answer") or {}
    if ans.get("modified_snapshot"):
        out.append("the snapshot was modified after the pull")
    names = candidates or list(doc.get("candidates") or [doc.get("candidate")])
    tasks = [t for t in doc.get("tasks") or [] if t.get("candidate_model") in names]
    for cand in names:
        mine = [t for t in tasks if t.get("candidate_model") == cand]
        if not mine:
            out.append(f"{cand}: no compared task in the summary")
            continue
        if require == "non-inferior":
            bad = [f"{t['task']} ({t['verdict']})" for t in mine
                   if t.get("verdict") not in ("non-inferior", "better")]
            noncomp = [t["task"] for t in mine if t.get("comparable") is False]
            if bad:
                out.append(f"{cand}: not non-inferior on {', '.join(bad)}")
            if noncomp:
                out.append(f"{cand}: runs not comparable on {', '.join(noncomp)}")
        elif require == "decision":
            rows = {r.get("candidate_model"): r for r in ans.get("candidates") or []}
            dec = (rows.get(cand) or {}).get("decision")
            if dec != "replace":
                out.append(f"{cand}: the report's decision is {dec!r}, not 'replace'")
        if min_recovery is not None:
            rec = {r.get("candidate_model"): r for r in
                   (doc.get("recovery") or {}).get("summary") or []}.get(cand) or {}
            lo = rec.get("ci_low")
            if not isinstance(lo, int | float) or not math.isfinite(lo):
                out.append(f"{cand}: no recovery interval to compare with {min_recovery:g} %")
            elif lo < min_recovery:
                out.append(f"{cand}: recovery interval starts at {lo:.1f} % "
                           f"(< {min_recovery:g} %; point {rec.get('recovery', float('nan')):.1f} %)")
    return out


def run(args: argparse.Namespace) -> int:
    doc = _load(args.summary)
    bad = failures(doc, candidates=args.candidates, require=args.require,
                   min_recovery=args.min_recovery, allow_demo=args.allow_demo)
    if bad:
        print(f"evalkit gate: FAIL: {'; '.join(bad)}", file=sys.stderr)
        return GATE_FAILED
    print("evalkit gate: PASS")
    return 0
