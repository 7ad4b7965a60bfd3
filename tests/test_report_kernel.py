"""The report's early kernel (``evalkit.present.kernel``): it boots with the notebook's modules
imported while the CLI checks the input, is killed when the notebook is done or the checks
fail, and never leaves a process, a connection file or an output folder behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from evalkit.core.errors import ConfigError, InputError, SourceError
from evalkit.present import report as R
from evalkit.present.kernel import EarlyKernel

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _children() -> set[int]:
    """Live (not zombie) child processes of this process, from /proc."""
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            kids.add(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_early_kernel_boots_with_the_notebook_modules_and_is_killed(tmp_path):
    from jupyter_core.utils import run_sync

    with tempfile.TemporaryFile("w+") as err:
        kernel = EarlyKernel(tmp_path, err).start()
        assert kernel.manager is not None, repr(kernel)
        assert "started" in repr(kernel)
        km = kernel.manager
        pid = km.provisioner.process.pid
        conn = Path(km.connection_file)
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=60)
            seen: list[str] = []
            run_sync(kc.execute_interactive)(
                "import os, sys; print(sorted(m for m in ('evalkit.present.preload', "
                "'evalkit.analysis.pipeline', 'pandas', 'matplotlib.figure') "
                "if m in sys.modules), os.getcwd())",
                output_hook=lambda msg: seen.append(msg["content"].get("text", "")),
                timeout=60)
        finally:
            kc.stop_channels()
        kernel.stop()
        kernel.stop()  # idempotent
        assert kernel.manager is None and "not started" in repr(kernel)
    # the preload ran in the kernel before it answered, in the folder it was given
    assert "['evalkit.analysis.pipeline', 'evalkit.present.preload', 'matplotlib.figure', " \
           "'pandas']" in "".join(seen)
    assert str(tmp_path) in "".join(seen)
    assert not _alive(pid)
    assert not conn.exists()


def test_early_kernel_that_cannot_start_is_quiet_and_papermill_starts_one(tmp_path, capfd):
    import nbformat

    with tempfile.TemporaryFile("w+") as err, EarlyKernel(tmp_path, err, "no-such-kernel") as k:
        assert k.manager is None
    cap = capfd.readouterr()
    assert "no-such-kernel" not in cap.out + cap.err  # an optimisation failing says nothing
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("open('ran.txt', 'w').write('yes')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    with tempfile.TemporaryFile("w+") as err:
        R._execute(path, tmp_path / "out.ipynb", {}, tmp_path, tmp_path / "log", err,  # noqa: SLF001
                   EarlyKernel(tmp_path, err, "no-such-kernel"), False)
    assert (tmp_path / "ran.txt").read_text() == "yes"


@pytest.mark.parametrize("bad", ["source", "model", "prices"])
def test_failed_check_kills_the_early_kernel_and_leaves_no_folder(tmp_path, bad):
    src = tmp_path / "x.json"
    src.write_text("<html>login</html>")
    prices = tmp_path / "prices.yaml"
    prices.write_text("nvidia-l4: {usd_per_gpu_hour: -1}\n")
    kw = {"source": {"source": src}, "model": {"baseline": "nope"},
          "prices": {"prices": prices}}[bad]
    before = _children()
    out = tmp_path / "out"
    with pytest.raises((InputError, SourceError, ConfigError)):
        R.run_report(output=out, **kw)
    assert not out.exists()
    assert not list(tmp_path.glob(".out.evalkit-lock"))
    deadline = time.monotonic() + 10
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _children() - before == set()


def test_failed_check_keeps_a_folder_that_was_there(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError):
        R.run_report(output=out, baseline="nope")
    assert (out / "keep.txt").read_text() == "mine"


def test_notebook_after_the_preload_imports_no_heavy_package_of_its_own(tmp_path):
    """What the kernel imports as it starts covers what the report notebook needs: running
    every code cell of the bundled notebook afterwards (figures drawn, outputs written)
    imports no new top-level package of the heavy ones, and no evalkit module."""
    code = r"""
import json, sys
import matplotlib
matplotlib.use("agg")
import evalkit.present.preload
evalkit.present.preload.load()
before = set(sys.modules)
nb = json.load(open(sys.argv[1]))
ns = {"get_ipython": lambda: None}
for cell in nb["cells"]:
    if cell["cell_type"] != "code":
        continue
    src = "".join(cell["source"]).replace("%matplotlib agg", "")
    src = src.replace("outputs = None", f"outputs = {sys.argv[2]!r}")
    exec(compile(src, "cell", "exec"), ns)
new = sorted(set(sys.modules) - before)
print(json.dumps(new))
"""
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "notebooks" /
                                                            "02-eval-results.ipynb"),
                           str(tmp_path)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    new = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (tmp_path / "summary.json").is_file()
    heavy = {"pandas", "numpy", "scipy", "matplotlib", "pyarrow", "PIL", "IPython", "requests",
             "urllib3", "yaml", "evalkit"}
    assert [m for m in new if m.split(".")[0] in heavy and "." not in m] == []
    assert [m for m in new if m.startswith("evalkit")] == []


def test_report_leaves_no_kernel_behind(tmp_path):
    """The whole report in process: the kernel is killed as soon as the notebook is done (the
    page is written meanwhile) and reaped; its connection file is gone."""
    from jupyter_core.paths import jupyter_runtime_dir

    runtime = Path(jupyter_runtime_dir())
    files_before = set(runtime.glob("kernel-*.json")) if runtime.is_dir() else set()
    before = _children()
    paths = R.run_report(output=tmp_path / "out")
    assert paths["html"].is_file() and paths["summary"].is_file()
    assert _children() - before == set()
    files_after = set(runtime.glob("kernel-*.json")) if runtime.is_dir() else set()
    assert files_after - files_before == set()
