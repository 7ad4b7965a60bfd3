"""Snapshot folders: what the live systems answered, untouched, plus a manifest.

Layout (see ``docs/snapshot.md``)::

    SNAP/
      manifest.json                      what, when, from where; evalkit version; demo flag; file hashes
      lmevaljobs.json                    exactly what `oc get lmevaljob -n NS -o json` prints
      samples/<job>/samples_<task>_<ts>.jsonl
      registry/...  prometheus/...       added by the registry and Prometheus sources

Writing goes to a hidden temporary folder beside the target that is renamed into place at the
end, so an interrupted pull never leaves a folder that looks complete.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "snap"
>>> with SnapshotWriter(out, description="doctest") as w:
...     _ = w.write_json("lmevaljobs.json", {"apiVersion": "v1", "kind": "List", "items": []})
>>> open_snapshot(out).manifest["files"][0]["path"]
'lmevaljobs.json'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import SourceError
from .http import _SECRETS, _SECRETS_LOCK

MANIFEST = "manifest.json"
LMEVALJOBS = "lmevaljobs.json"
SAMPLES_DIR = "samples"
FORMAT = "evalkit-snapshot"
FORMAT_VERSION = 1


def is_snapshot(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder holding an evalkit ``manifest.json``."""
    p = Path(path)
    if not (p / MANIFEST).is_file():
        return False
    try:
        return json.loads((p / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError):
        return False


@dataclass
class Snapshot:
    """A snapshot folder opened for reading.

    >>> snap = open_snapshot(demo_path())
    >>> snap.demo
    True
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def demo(self) -> bool:
        return bool(self.manifest.get("demo"))

    @property
    def lmevaljobs_path(self) -> Path | None:
        p = self.path / LMEVALJOBS
        return p if p.is_file() else None

    def sample_files(self) -> list[Path]:
        """Every ``samples/<job>/*.jsonl`` (and legacy ``*.json``) file, sorted."""
        d = self.path / SAMPLES_DIR
        if not d.is_dir():
            return []
        return sorted(p for p in d.glob("*/samples_*") if p.suffix in (".jsonl", ".json"))

    def file(self, relpath: str) -> Path:
        return self.path / relpath

    def read_json(self, relpath: str) -> Any:
        p = self.path / relpath
        try:
            return json.loads(p.read_bytes())
        except OSError as exc:
            raise SourceError(f"snapshot {self.path}: cannot read {relpath} ({exc.strerror})") from None
        except ValueError as exc:
            raise SourceError(f"snapshot {self.path}: {relpath} is not valid JSON ({exc})") from None

    def __repr__(self) -> str:
        m = self.manifest
        return (f"Snapshot({str(self.path)!r}, created_at={m.get('created_at')!r}, "
                f"demo={self.demo}, files={len(m.get('files', []))})")


def open_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Open a snapshot folder; :class:`~evalkit.errors.SourceError` when it is not one."""
    p = Path(path)
    mpath = p / MANIFEST
    if not mpath.is_file():
        raise SourceError(f"{p} is not an evalkit snapshot: it has no {MANIFEST}. Create one with "
                          "`evalkit pull` or pass a results file/folder instead.")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as exc:
        raise SourceError(f"{mpath}: unreadable manifest ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise SourceError(f"{mpath}: not an evalkit snapshot manifest (format={manifest.get('format')!r})")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise SourceError(f"{mpath}: snapshot format {manifest['format_version']} is newer than this "
                          f"evalkit ({__version__}) understands; upgrade evalkit")
    return Snapshot(p, manifest)


def utc_now() -> str:
    """The current UTC time as RFC 3339 with seconds (manifest timestamps)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_secret_free(data: bytes, relpath: str) -> None:
    with _SECRETS_LOCK:
        secrets = list(_SECRETS)
    for s in secrets:
        if s.encode() in data:
            raise SourceError(f"refusing to write {relpath}: it contains a credential evalkit holds")


class SnapshotWriter:
    """Write a snapshot atomically: files go to a temporary sibling folder that is renamed
    to ``out`` when the ``with`` block ends without an error (and is removed otherwise).

    ``sources`` entries describe where data came from (endpoint URLs without credentials,
    namespaces, queries); :meth:`add_source` adds more. Every file is recorded in the manifest
    with its size and SHA-256.
    """

    def __init__(self, out: str | os.PathLike[str], *, description: str = "", demo: bool = False,
                 overwrite: bool = False, created_at: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.out = Path(out)
        self.overwrite = overwrite
        self.manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "evalkit_version": __version__,
            "created_at": created_at or utc_now(),
            "demo": bool(demo),
            "description": description,
            "sources": {},
            "files": [],
        }
        if extra:
            self.manifest.update(extra)
        self._tmp: Path | None = None

    def __enter__(self) -> SnapshotWriter:
        if self.out.exists() and not self.overwrite:
            raise SourceError(f"{self.out} already exists; choose another --out or pass overwrite=True")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.partial-", dir=self.out.parent))
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._tmp is not None
        if exc_type is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            return
        self.manifest["files"].sort(key=lambda f: f["path"])
        data = (json.dumps(self.manifest, indent=2, sort_keys=False) + "\n").encode()
        _check_secret_free(data, MANIFEST)
        (self._tmp / MANIFEST).write_bytes(data)
        if self.out.exists():
            old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
            os.rename(self.out, old)
            os.rename(self._tmp, self.out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self._tmp, self.out)
        self._tmp = None

    @property
    def tmp_path(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("use SnapshotWriter in a with-block")
        return self._tmp

    def write_bytes(self, relpath: str, data: bytes) -> Path:
        """Write ``data`` to ``relpath`` inside the snapshot and record it in the manifest."""
        rel = Path(relpath)
        if rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"snapshot paths must be relative and inside the folder: {relpath}")
        _check_secret_free(data, relpath)
        p = self.tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        self.manifest["files"].append({"path": rel.as_posix(), "bytes": len(data),
                                       "sha256": hashlib.sha256(data).hexdigest()})
        return p

    def write_json(self, relpath: str, obj: Any, *, indent: int | None = 2) -> Path:
        return self.write_bytes(relpath, (json.dumps(obj, indent=indent) + "\n").encode())

    def copy_file(self, src: str | os.PathLike[str], relpath: str) -> Path:
        return self.write_bytes(relpath, Path(src).read_bytes())

    def add_source(self, key: str, info: dict[str, Any]) -> None:
        """Describe one source (``lmevaljobs``, ``prometheus``, ``registry``...) in the manifest."""
        self.manifest["sources"][key] = info


def sample_relpath(job: str, filename: str) -> str:
    """Where a job's per-sample file goes inside a snapshot."""
    return f"{SAMPLES_DIR}/{job}/{Path(filename).name}"


def demo_path() -> Path:
    """The bundled demo snapshot (inside the installed package, or the source checkout)."""
    from ._resources import resource

    return resource("demo")
