"""`evalkit gate` on summary.json: passes only when every task is non-inferior (or better) and
comparable and the recovery interval clears the bar; one line and exit 3 otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.cli import main
from evalkit.cli.gate import failures


def _summary(verdicts: dict[str, str], *, comparable: bool = True, ci_low: float = 98.5,
             demo: bool = False) -> dict:
    tasks = [{"candidate_model": "w4", "task": t, "verdict": v, "comparable": comparable}
             for t, v in verdicts.items()]
    return {"demo": demo, "candidate": "w4", "candidates": ["w4"], "tasks": tasks,
            "recovery": {"summary": [{"candidate_model": "w4", "recovery": 99.1,
                                      "ci_low": ci_low, "ci_high": 99.9}]},
            "answer": {"candidates": [{"candidate_model": "w4", "decision": "replace"}]}}


def test_gate_rules() -> None:
    ok = _summary({"arc": "non-inferior", "gsm8k": "better"})
    assert failures(ok, candidates=None, require="non-inferior", min_recovery=98,
                    allow_demo=False) == []
    bad = failures(_summary({"arc": "inconclusive"}, ci_low=97.0), candidates=None,
                   require="non-inferior", min_recovery=98, allow_demo=False)
    assert any("not non-inferior on arc (inconclusive)" in b for b in bad)
    assert any("starts at 97.0 %" in b for b in bad)
    nc = failures(_summary({"arc": "non-inferior"}, comparable=False), candidates=None,
                  require="non-inferior", min_recovery=None, allow_demo=False)
    assert any("not comparable on arc" in b for b in nc)
    demo = failures(_summary({"arc": "non-inferior"}, demo=True), candidates=None,
                    require="non-inferior", min_recovery=None, allow_demo=False)
    assert any("DEMO" in b for b in demo)


def test_gate_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_summary({"arc": "non-inferior"})))
    bad.write_text(json.dumps(_summary({"arc": "inferior"})))
    assert main(["gate", "--summary", str(good), "--min-recovery", "98"]) == 0
    assert main(["gate", "--summary", str(bad)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "FAIL" in err and "inferior" in err
    (tmp_path / "junk.json").write_text("[1, 2]")
    assert main(["gate", "--summary", str(tmp_path / "junk.json")]) == 2
