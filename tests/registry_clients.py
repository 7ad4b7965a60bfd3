"""Run the REAL ``model-registry`` PyPI client against a test server, one release at a time.

Releases pin incompatible REST prefixes (0.3.14 calls ``/api/model_registry/v1alpha3``, 0.3.18
calls ``/api/model_registry/v1``) and cannot share a venv, so each is installed with
``pip install --target .cache/registry-clients/<version>`` on first use (the cache records the
interpreter it was built for and is rebuilt for another one: the client's dependencies include
compiled wheels such as pydantic-core and aiohttp) and driven in a subprocess of the test
interpreter with ``PYTHONPATH=<that dir>``, so its pinned dependencies shadow the test venv's.

API
---
``ensure_client(version, *, cache_root=CACHE_ROOT, python=sys.executable)``
    -> :class:`InstalledClient`: install (once; a file lock makes parallel test workers
    wait for each other) and say where.
    :class:`ClientInstallError` when pip fails; ``.network`` tells an unreachable index apart.
``run_client(version, server_url, steps, *, token=None, author="evalkit-test", timeout=120)``
    -> ``{"import_seconds", "version", "root_handlers_added", "steps": [...], "stderr"}``: one
    subprocess runs ``steps`` in order against ``server_url`` and answers what each returned
    (``{"ok": true, "value": ...}``) or raised (``{"ok": false, "error": "StoreError",
    "module": ..., "message": ...}``). Steps:

    ``{"op": "connect"}``                     ``ModelRegistry(server_url, author=...,
                                              is_secure=False, user_token=token)``; ``url``
                                              and ``token`` override the job's, other keys
                                              are constructor keywords
    ``{"op": "register_model", "name", "uri", "version", "metadata", ...}``  (kwargs as-is)
    ``{"op": "get_registered_models"}`` / ``{"op": "get_model_versions", "name"}``
    ``{"op": "get_model_version", "name", "version"}`` / ``{"op": "get_model_artifact", ...}``
    ``{"op": "update_version", "name", "version", "set": {attr: value}}``  get, setattr, update()
    ``{"op": "exec", "code": "..."}``         Python with ``mr``, ``model_registry``, ``np``
                                              (numpy, when importable) in scope; the value left in
                                              ``result`` is answered

    Models are answered as ``{"class", "data": model_dump(mode="json"),
    "custom_property_types": {key: type name}}``. In ``metadata``/``set`` values,
    ``{"__numpy__": "float32", "value": 0.5}`` becomes a numpy scalar in the subprocess.
``client_api(version)``
    ``"v1"`` or ``"v1alpha3"``: the prefix that release calls.

Example::

    with ModelRegistryServer() as mr:
        out = run_client("0.3.18", mr.url, [{"op": "connect"}, {"op": "get_registered_models"}])
        assert out["steps"][1]["ok"]
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_ROOT = REPO_ROOT / ".cache" / "registry-clients"
RELEASES: dict[str, str] = {"0.3.14": "v1alpha3", "0.3.18": "v1"}
MARKER = ".evalkit-install.json"
RESULT_PREFIX = "@@EVALKIT-RESULT@@"
# "(from versions: none)": no index answered for the package at all (an index that answers
# lists its versions); the others are urllib3/pip connection failures.
_NETWORK_HINTS = ("(from versions: none)", "Failed to establish a new connection",
                  "Temporary failure in name resolution", "Name or service not known",
                  "Network is unreachable", "NewConnectionError", "ReadTimeoutError",
                  "Max retries exceeded", "Connection refused", "ProxyError", "SSLError")


class ClientInstallError(RuntimeError):
    """``pip install`` of a client release failed; ``network`` when the index was unreachable."""

    def __init__(self, message: str, *, output: str = "", network: bool = False) -> None:
        super().__init__(message)
        self.output = output
        self.network = network


@dataclass(frozen=True)
class InstalledClient:
    """Where a release lives and what installing it cost (``install_seconds`` is the time of
    the install that filled the cache, ``fresh`` whether this call did it)."""

    version: str
    path: Path
    install_seconds: float
    size_bytes: int
    fresh: bool

    @property
    def api(self) -> str:
        return client_api(self.version)


def client_api(version: str) -> str:
    """The REST prefix a client release calls (``v1`` or ``v1alpha3``)."""
    try:
        return RELEASES[version]
    except KeyError:
        raise ValueError(f"unknown client release {version}; known: {sorted(RELEASES)}") from None


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _cache_tag(python: str) -> str:
    if Path(python).resolve() == Path(sys.executable).resolve():
        return f"{sys.implementation.cache_tag}-{sys.platform}"
    out = subprocess.run([python, "-c", "import sys; print(sys.implementation.cache_tag + '-' "
                                        "+ sys.platform)"],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_marker(target: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((target / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def ensure_client(version: str, *, cache_root: Path = CACHE_ROOT, python: str | None = None,
                  timeout: float = 900.0) -> InstalledClient:
    """Install ``model-registry==version`` into ``cache_root/version`` unless already there
    (for the same interpreter ABI); see the module docstring."""
    client_api(version)
    python = python or sys.executable
    tag = _cache_tag(python)
    target = cache_root / version
    with _locked(cache_root / f".{version}.lock"):
        marker = _read_marker(target)
        if marker and marker.get("version") == version and marker.get("abi") == tag and (
                target / "model_registry").is_dir():
            return InstalledClient(version, target, float(marker["install_seconds"]),
                                   int(marker["size_bytes"]), fresh=False)
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=cache_root))
        cmd = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-input", "--no-warn-script-location", "--target", str(tmp),
               f"model-registry=={version}"]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "PIP_NO_INPUT": "1"})
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ClientInstallError(f"pip install model-registry=={version} timed out after "
                                     f"{timeout:.0f}s", output=str(exc.output or ""),
                                     network=True) from None
        seconds = time.perf_counter() - start
        output = (proc.stdout or "") + (proc.stderr or "")
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            network = any(h in output for h in _NETWORK_HINTS)
            raise ClientInstallError(
                f"pip install model-registry=={version} failed (exit {proc.returncode}): "
                f"{output.strip()[-1500:]}", output=output, network=network)
        size = _dir_size(tmp)
        (tmp / MARKER).write_text(json.dumps({
            "version": version, "abi": tag, "python": python, "install_seconds": round(seconds, 2),
            "size_bytes": size, "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime())}, indent=1))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        return InstalledClient(version, target, seconds, size, fresh=True)


def client_env(path: Path) -> dict[str, str]:
    """The environment for a client subprocess: only ``path`` on ``PYTHONPATH``, no user site,
    no service-account token path that the client would read on its own."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "KF_PIPELINES_SA_TOKEN_PATH")}
    env.update({"PYTHONPATH": str(path), "PYTHONNOUSERSITE": "1", "PYTHONUNBUFFERED": "1"})
    # aiohttp runs with trust_env=True: keep a configured proxy away from the loopback server
    for key in ("NO_PROXY", "no_proxy"):
        env[key] = ",".join(filter(None, [env.get(key, ""), "127.0.0.1", "localhost"]))
    return env


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_dependencies(version: str, *, python: str | None = None) -> list[str]:
    """``pip check`` over the client's directory stacked on the test interpreter's packages
    (what the client subprocess sees): the complaints that involve a distribution of the
    client's directory. Empty: the client's pins are satisfied; a line such as ``kubernetes
    37.0.2 has requirement python-dateutil>=3.0.0, but you have python-dateutil 2.9.0.post0``
    means the client's pin shadows what a test-venv package wants (harmless in the client
    subprocess, fatal if both had to share one venv)."""
    installed = ensure_client(version, python=python)
    proc = subprocess.run([python or sys.executable, "-m", "pip", "check"],
                          capture_output=True, text=True, timeout=120,
                          env=client_env(installed.path), cwd=tempfile.gettempdir())
    ours = {_norm(p.name.split("-", 1)[0]) for p in installed.path.glob("*.dist-info")}
    return [line for line in proc.stdout.splitlines()
            if any(_norm(word) in ours for word in re.findall(r"[A-Za-z0-9_.-]+", line))]


# The code the subprocess runs (kept as a string: it must not import anything from evalkit).
DRIVER = r'''
import json, sys, time, logging
job = json.loads(sys.stdin.read())
handlers_before = len(logging.getLogger().handlers)
t0 = time.perf_counter()
import model_registry
from model_registry import ModelRegistry
import_seconds = time.perf_counter() - t0
try:
    import numpy as np
except ImportError:  # numpy is optional here
    np = None

def decode(v):
    if isinstance(v, dict) and "__numpy__" in v:
        return getattr(np, v["__numpy__"])(v["value"])
    if isinstance(v, dict):
        return {k: decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v

def encode(v):
    if hasattr(v, "model_dump"):
        props = getattr(v, "custom_properties", None) or {}
        return {"class": type(v).__name__, "data": v.model_dump(mode="json"),
                "custom_property_types": {k: type(x).__name__ for k, x in props.items()}}
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {str(k): encode(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)

mr = None
steps = []
for step in job["steps"]:
    step = dict(step)
    op = step.pop("op")
    try:
        if op == "connect":
            url = step.pop("url", job["url"])
            token = step.pop("token", job.get("token"))
            kw = {"author": job["author"], "is_secure": False}
            if token:
                kw["user_token"] = token
            kw.update(decode(step))
            mr = None
            mr = ModelRegistry(url, **kw)
            value = {"host": mr._api.config.host}
        elif op == "register_model":
            value = mr.register_model(**decode(step))
        elif op == "get_registered_models":
            value = list(mr.get_registered_models())
        elif op == "get_model_versions":
            value = list(mr.get_model_versions(step["name"]))
        elif op == "get_model_version":
            value = mr.get_model_version(step["name"], step["version"])
        elif op == "get_model_artifact":
            value = mr.get_model_artifact(step["name"], step["version"])
        elif op == "update_version":
            mv = mr.get_model_version(step["name"], step["version"])
            for attr, new in decode(step["set"]).items():
                setattr(mv, attr, new)
            value = mr.update(mv)
        elif op == "exec":
            ns = {"mr": mr, "model_registry": model_registry, "np": np, "result": None,
                  "job": job}
            exec(step["code"], ns)
            value = ns["result"]
        else:
            raise ValueError("unknown op " + op)
        steps.append({"ok": True, "value": encode(value)})
    except BaseException as exc:  # report, go on with the next step
        steps.append({"ok": False, "error": type(exc).__name__,
                      "module": type(exc).__module__, "message": str(exc)[:4000]})
out = {"version": model_registry.__version__, "import_seconds": import_seconds,
       "root_handlers_added": len(logging.getLogger().handlers) - handlers_before,
       "steps": steps}
sys.stdout.write("\n" + RESULT_PREFIX + json.dumps(out) + "\n")
'''.replace("RESULT_PREFIX", repr(RESULT_PREFIX))


def run_client(version: str, server_url: str, steps: Sequence[Mapping[str, Any]], *,
               token: str | None = None, author: str = "evalkit-test", timeout: float = 120.0,
               python: str | None = None) -> dict[str, Any]:
    """Run ``steps`` with release ``version`` against ``server_url`` (see the module docstring)."""
    installed = ensure_client(version, python=python)
    job = {"url": server_url, "token": token, "author": author, "steps": list(steps)}
    proc = subprocess.run([python or sys.executable, "-c", DRIVER], input=json.dumps(job),
                          capture_output=True, text=True, timeout=timeout,
                          env=client_env(installed.path), cwd=tempfile.gettempdir())
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            out = json.loads(line[len(RESULT_PREFIX):])
            out["stderr"] = proc.stderr
            return out
    raise RuntimeError(f"model-registry {version} driver failed (exit {proc.returncode}):\n"
                       f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def import_seconds(version: str, *, runs: int = 3, python: str | None = None) -> list[float]:
    """Wall time of ``import model_registry`` in fresh interpreters (``runs`` of them)."""
    installed = ensure_client(version, python=python)
    code = ("import time; t = time.perf_counter(); import model_registry; "
            "print(time.perf_counter() - t)")
    return [float(subprocess.run([python or sys.executable, "-c", code], capture_output=True,
                                 text=True, timeout=120, check=True,
                                 env=client_env(installed.path),
                                 cwd=tempfile.gettempdir()).stdout.strip())
            for _ in range(runs)]
