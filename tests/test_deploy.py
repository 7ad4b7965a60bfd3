"""The example CronJob (deploy/cronjob.yaml) stays true to the command line: every evalkit
command in it parses with today's flags."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from evalkit.cli import parser

ROOT = Path(__file__).resolve().parents[1]


def _script() -> str:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "cronjob.yaml").read_text()))
    cron = next(d for d in docs if d and d.get("kind") == "CronJob")
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"]
    return container["args"][0]


def test_every_evalkit_command_in_the_cronjob_parses(tmp_path: Path) -> None:
    text = _script().replace("\\\n", " ")
    text = re.sub(r"\$\(date[^)]*\)", "2026-11-20T00:00:00Z", text)
    text = text.replace('"$out', f'"{tmp_path}/out').replace("$out", f"{tmp_path}/out")
    commands = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("evalkit ")]
    assert [c.split()[1] for c in commands] == ["pull", "report", "gate"]
    (tmp_path / "out" / "report").mkdir(parents=True)
    (tmp_path / "out" / "snapshot").mkdir()  # what the pull step writes
    (tmp_path / "out" / "report" / "summary.json").write_text("{}")
    p = parser()
    for cmd in commands:
        args = p.parse_args(shlex.split(cmd)[1:])  # argparse exits (SystemExit) on a bad flag
        assert args.command == cmd.split()[1]
