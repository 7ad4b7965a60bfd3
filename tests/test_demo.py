"""The bundled demo snapshot is exactly what the documented, seeded generator writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generator_reproduces_the_committed_demo_snapshot(tmp_path):
    out = tmp_path / "demo"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_snapshot.py"), "--out",
                    str(out)], check=True, capture_output=True, timeout=120)
    fresh = json.loads((out / "manifest.json").read_text())
    committed = json.loads((ROOT / "data" / "fixtures" / "demo" / "manifest.json").read_text())
    assert fresh == committed  # same files, sizes and SHA-256, same demo flag and seed
    assert committed["demo"] is True and "GENERATED DEMO DATA" in committed["description"]
    for f in committed["files"]:
        assert (ROOT / "data" / "fixtures" / "demo" / f["path"]).stat().st_size == f["bytes"]
