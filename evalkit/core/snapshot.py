"""Snapshot folders: what the live systems answered, untouched, plus a manifest.

Layout (see ``docs/snapshot.md``)::

    SNAP/
      manifest.json     what, when, from where; evalkit version; demo flag; every file's sha256
      lmevaljobs.json   samples/<job>/...   prometheus/...   registry/...   guidellm/...
                        (each source writes its own files, see evalkit.source)

**Writing** (:class:`SnapshotWriter`) goes to a private temporary folder beside the target that
is moved into place at the end, manifest last, so an interrupted pull never leaves a folder that
looks complete. An existing target is refused unless ``overwrite=True``, and even then only an
evalkit snapshot is replaced — checked again just before it is. A lock beside the target makes
a second concurrent writer fail at once.

**Reading** (:class:`Snapshot`) trusts nothing: every path in the manifest must stay inside the
folder (no absolute paths, no ``..``, no symlink leaving it), every file is checked against the
manifest's sha256 when it is read — a mismatch, or a file the manifest does not list, becomes a
data issue of severity ``error`` naming the file — and documents are size-limited.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "snap"
>>> with SnapshotWriter(out, description="doctest") as w:
...     _ = w.write_json("lmevaljobs.json", {"apiVersion": "v1", "kind": "List", "items": []})
>>> snap = open_snapshot(out)
>>> snap.read_json("lmevaljobs.json")["kind"], snap.issues
('List', [])
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from . import files, secrets
from .errors import InputError, SnapshotError, SourceError
from .frames import issue
from .lock import TargetLock
from .timeutil import utc_now

MANIFEST = "manifest.json"
_PARTIAL_MANIFEST = "manifest.json.partial"
FORMAT = "evalkit-snapshot"
FORMAT_VERSION = 1
SOURCE = "snapshot"


def _read_manifest(p: Path) -> dict[str, Any]:
    mpath = p / MANIFEST
    kind = files.kind_of(mpath)
    if kind == "missing":
        raise SnapshotError(f"{p} is not an evalkit snapshot: it has no {MANIFEST}. Create one "
                            "with `evalkit pull` or pass a results file/folder instead.")
    if kind != "file":
        raise SnapshotError(f"{mpath}: not a regular file ({kind}); a snapshot's manifest is a "
                            "JSON file written by `evalkit pull`")
    try:
        manifest = json.loads(files.read_document(mpath))
    except (ValueError, RecursionError) as exc:
        raise SnapshotError(f"{mpath}: unreadable manifest ({str(exc)[:200]})") from None
    except SourceError as exc:
        raise SnapshotError(str(exc)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        what = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise SnapshotError(f"{mpath}: not an evalkit snapshot manifest (format={what!r})")
    version = manifest.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise SnapshotError(f"{mpath}: format_version {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise SnapshotError(f"{mpath}: snapshot format {version} is newer than this evalkit "
                            f"({__version__}) understands; upgrade evalkit")
    listed = manifest.get("files", [])
    if not isinstance(listed, list) or not all(
            isinstance(f, dict) and isinstance(f.get("path"), str) for f in listed):
        raise SnapshotError(f"{mpath}: `files` must be a list of {{path, bytes, sha256}} entries")
    for f in listed:
        try:
            files.inside(p, f["path"])
        except ValueError as exc:
            raise SnapshotError(f"{mpath}: refusing a manifest entry that points outside the "
                                f"snapshot: {exc}") from None
    return manifest


def is_snapshot(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder holding a readable evalkit ``manifest.json``."""
    try:
        _read_manifest(Path(path))
    except SnapshotError:
        return False
    return True


@dataclass
class Snapshot:
    """A snapshot folder opened for reading; ``issues`` collects integrity problems met while
    reading (modified or unlisted files) as ``issues`` records.

    >>> from evalkit.core.snapshot import open_snapshot
    >>> from evalkit._resources import resource
    >>> open_snapshot(resource("demo")).demo
    True
    """

    path: Path
    manifest: dict[str, Any]
    issues: list[dict[str, str]] = field(default_factory=list)

    @property
    def demo(self) -> bool:
        return bool(self.manifest.get("demo"))

    @property
    def sources(self) -> dict[str, Any]:
        s = self.manifest.get("sources")
        return s if isinstance(s, dict) else {}

    def _hashes(self) -> dict[str, str]:
        return {f["path"]: str(f.get("sha256", "")) for f in self.manifest.get("files", [])}

    def has(self, relpath: str) -> bool:
        """True when ``relpath`` is listed in the manifest or present as a regular file."""
        if relpath in self._hashes():
            return True
        try:
            return files.kind_of(files.inside(self.path, relpath)) == "file"
        except ValueError:
            return False

    def listed(self, prefix: str = "") -> list[str]:
        """Manifest paths starting with ``prefix``, sorted."""
        return sorted(p for p in self._hashes() if p.startswith(prefix))

    def unlisted(self, folder: str) -> list[str]:
        """Regular files under ``folder`` that the manifest does not list (recorded as issues
        when read)."""
        root = self.path / folder
        if not root.is_dir():
            return []
        known = self._hashes()
        out = []
        for p in files.walk(root, issues=self.issues, source=SOURCE):
            rel = p.relative_to(self.path).as_posix()
            if rel not in known:
                out.append(rel)
        return out

    def _check(self, relpath: str, digest: str) -> None:
        expected = self._hashes().get(relpath)
        if expected is None:
            self.issues.append(issue(SOURCE, relpath, "error",
                                     f"{relpath} is not listed in the snapshot's manifest: it was "
                                     "added after the pull; its contents are unverified"))
        elif digest != expected:
            self.issues.append(issue(SOURCE, relpath, "error",
                                     f"{relpath} was MODIFIED after the pull: its sha256 differs "
                                     "from the manifest; results built from it are not what was "
                                     "pulled"))

    def verify(self, relpath: str) -> Path:
        """Check a (possibly large) file's sha256 by streaming it; return its path. Problems
        go to :attr:`issues` like :meth:`read_bytes`'s."""
        try:
            p = files.inside(self.path, relpath)
        except ValueError as exc:
            raise SnapshotError(f"snapshot {self.path}: refusing {relpath!r}: {exc}") from None
        if files.kind_of(p) != "file":
            raise SnapshotError(f"snapshot {self.path}: {relpath} is not a regular file "
                                f"({files.kind_of(p)})")
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        self._check(relpath, h.hexdigest())
        return p

    def read_bytes(self, relpath: str, *, limit: int | None = None) -> bytes:
        """The bytes of ``relpath`` after checking it stays inside the snapshot; a sha256
        mismatch or an unlisted file is recorded in :attr:`issues` (severity error)."""
        try:
            p = files.inside(self.path, relpath)
        except ValueError as exc:
            raise SnapshotError(f"snapshot {self.path}: refusing {relpath!r}: {exc}") from None
        try:
            data = files.read_document(p, limit=limit)
        except SourceError as exc:
            raise SnapshotError(f"snapshot {self.path}: {exc}") from None
        self._check(relpath, hashlib.sha256(data).hexdigest())
        return data

    def read_json(self, relpath: str) -> Any:
        """:meth:`read_bytes` decoded as JSON (:class:`SnapshotError` when it is not)."""
        data = self.read_bytes(relpath)
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise SnapshotError(f"snapshot {self.path}: {relpath} is not valid JSON "
                                f"({str(exc)[:200]})") from None

    def __repr__(self) -> str:
        m = self.manifest
        return (f"Snapshot({str(self.path)!r}, created_at={m.get('created_at')!r}, "
                f"demo={self.demo}, files={len(m.get('files', []))})")


def open_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Open a snapshot folder; :class:`~evalkit.core.errors.SnapshotError` when it is not one."""
    p = Path(path)
    return Snapshot(p, _read_manifest(p))


class SnapshotWriter:
    """Write a snapshot atomically (see the module docstring).

    ``sources`` entries describe where data came from (endpoint URLs without credentials,
    namespaces, queries); :meth:`add_source` adds them. Every file is recorded in the manifest
    with its size and SHA-256. A file holding a secret evalkit knows is refused.
    """

    def __init__(self, out: str | os.PathLike[str], *, description: str = "", demo: bool = False,
                 overwrite: bool = False, created_at: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.out = target_path(out)
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
        self._lock = TargetLock(self.out)

    def check_target(self) -> None:
        """Refuse a target that may not be written (called on entry and again at the end)."""
        check_target(self.out, overwrite=self.overwrite)

    def __enter__(self) -> SnapshotWriter:
        self.check_target()
        self._lock.acquire()
        try:
            self.check_target()
            self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.partial-",
                                              dir=self.out.parent))
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        tmp = self._tmp
        assert tmp is not None
        try:
            if exc_type is not None:
                shutil.rmtree(tmp, ignore_errors=True)
                return
            self.manifest["files"].sort(key=lambda f: f["path"])
            data = (json.dumps(self.manifest, indent=2) + "\n").encode()
            if secrets.contains_secret(data):
                raise SourceError(f"refusing to write {MANIFEST}: it contains a credential "
                                  "evalkit holds")
            (tmp / _PARTIAL_MANIFEST).write_bytes(data)
            self._move_into_place(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            self._tmp = None
            self._lock.release()

    def _move_into_place(self, tmp: Path) -> None:
        self.check_target()  # again: something may have appeared while we pulled
        old = None
        if self.overwrite and self.out.exists():  # checked just above: an evalkit snapshot
            old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
            os.rename(self.out, old)
        try:  # never over something that appeared meanwhile (even an empty folder)
            files.rename_noreplace(tmp, self.out)
        except OSError as exc:
            if old is not None:
                os.rename(old, self.out)
            raise InputError(f"{self.out} appeared while evalkit was writing it ({exc.strerror}); "
                             "nothing was replaced") from None
        os.rename(self.out / _PARTIAL_MANIFEST, self.out / MANIFEST)  # complete only now
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    @property
    def tmp_path(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("use SnapshotWriter in a with-block")
        return self._tmp

    def write_bytes(self, relpath: str, data: bytes) -> Path:
        """Write ``data`` to ``relpath`` inside the snapshot and record it in the manifest."""
        rel = Path(relpath)
        if not relpath or rel.is_absolute() or ".." in rel.parts or rel.as_posix() == MANIFEST:
            raise ValueError(f"snapshot paths must be relative and inside the folder: {relpath}")
        if secrets.contains_secret(data):
            raise SourceError(f"refusing to write {relpath}: it contains a credential evalkit "
                              "holds")
        p = self.tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        self.manifest["files"].append({"path": rel.as_posix(), "bytes": len(data),
                                       "sha256": hashlib.sha256(data).hexdigest()})
        return p

    def write_json(self, relpath: str, obj: Any, *, indent: int | None = 2) -> Path:
        return self.write_bytes(relpath, (json.dumps(obj, indent=indent) + "\n").encode())

    def add_source(self, key: str, info: dict[str, Any]) -> None:
        """Describe one source (``lmevaljobs``, ``prometheus``, ``registry``...) in the manifest."""
        self.manifest["sources"][key] = info


def target_path(out: str | os.PathLike[str]) -> Path:
    """``out`` as an absolute path whose folders are resolved but whose last part is not: a
    symlink named as the target stays a symlink (and :func:`check_target` refuses it) instead
    of silently becoming the folder it points to.

    >>> target_path("/tmp/../tmp/snap").as_posix()
    '/tmp/snap'
    """
    p = Path(os.path.abspath(Path(out).expanduser()))
    return p if p.name == "" else p.parent.resolve() / p.name


def check_target(out: Path, *, overwrite: bool) -> None:
    """Raise :class:`InputError` unless ``out`` may be (re)written: absent, or — with
    ``overwrite`` — a folder holding a readable evalkit snapshot manifest."""
    if not out.exists() and not out.is_symlink():
        return
    if not overwrite:
        raise InputError(f"{out} already exists; choose another output folder, or pass "
                         "--overwrite to replace an evalkit snapshot")
    if out.is_symlink():
        raise InputError(f"{out} is a symlink; --overwrite replaces only a snapshot folder "
                         "itself, never through a link. Nothing was changed.")
    if not out.is_dir() or not is_snapshot(out):
        raise InputError(f"{out} is not an evalkit snapshot; --overwrite replaces only a folder "
                         "that `evalkit pull` wrote. Nothing was changed.")
