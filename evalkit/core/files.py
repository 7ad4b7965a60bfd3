"""Reading files that other people and programs wrote: bounded, regular files only, and
never through a symlink that leaves the folder being read.

- :func:`read_document` reads one document (a results file, a saved answer, a manifest) up to
  ``$EVALKIT_MAX_FILE_MB`` (default 256 MB) and refuses FIFOs, devices and sockets — a FIFO
  would block forever, ``/dev/zero`` never ends.
- :func:`walk` lists the regular files under a folder without following symlinks out of it;
  what it skips (special files, escaping or dangling links) comes back as data issues.
- :func:`inside` resolves a relative path and checks it stays inside a root.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "a.json").write_text("{}")
>>> [p.name for p in walk(root, issues=[])]
['a.json']
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError, SourceError

MAX_FILE_BYTES = 256 * 2**20


def env_positive(name: str, default: float) -> float:
    """A positive number from ``$name``, else ``default``; :class:`ConfigError` otherwise.
    Every ``EVALKIT_*`` limit is read through it."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"${name}={raw!r} is not a number") from None
    if not value > 0:
        raise ConfigError(f"${name} must be positive, got {raw!r}")
    return value


def max_file_bytes() -> int:
    """``$EVALKIT_MAX_FILE_MB`` in bytes, else 256 MB."""
    return int(env_positive("EVALKIT_MAX_FILE_MB", MAX_FILE_BYTES / 2**20) * 2**20)


def kind_of(path: Path) -> str:
    """``"file"``, ``"dir"``, ``"missing"``, ``"dangling link"`` or the special kind."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "dangling link" if path.is_symlink() else "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def read_document(path: str | os.PathLike[str], *, limit: int | None = None) -> bytes:
    """The bytes of one regular file, at most ``limit`` bytes (default
    :func:`max_file_bytes`); :class:`~evalkit.core.errors.SourceError` naming the file and the
    limit otherwise."""
    p = Path(path)
    kind = kind_of(p)
    if kind != "file":
        raise SourceError(f"{p}: not a regular file ({kind}); pass a results file or folder")
    limit = limit or max_file_bytes()
    too_large = SourceError(f"{p}: larger than the {limit / 2**20:g} MB limit for one document; "
                            "raise it with $EVALKIT_MAX_FILE_MB if the file is genuine")
    try:
        with p.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > limit:  # refuse without reading it
                raise too_large
            data = fh.read(limit + 1)
    except OSError as exc:
        raise SourceError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:  # it grew while we read it
        raise too_large
    return data


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` only if ``dst`` does not exist — atomically where the kernel
    offers it (Linux ``renameat2(RENAME_NOREPLACE)``): a plain rename silently replaces an
    empty folder that appeared at ``dst`` meanwhile. ``FileExistsError`` when ``dst`` exists."""
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_fdcwd, noreplace = -100, 1
        if renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), noreplace) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # not supported: fall back
            raise OSError(err, os.strerror(err), str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


def inside(root: Path, rel: str) -> Path:
    """``root / rel`` after checking that ``rel`` is relative, has no ``..`` and does not
    resolve (through symlinks) outside ``root``; ``ValueError`` otherwise."""
    r = Path(rel)
    if not rel or r.is_absolute() or ".." in r.parts or "\\" in rel:
        raise ValueError(f"path {rel!r} is not a plain relative path")
    p = root / r
    real_root = root.resolve()
    real = p.resolve()
    if real != real_root and real_root not in real.parents:
        raise ValueError(f"path {rel!r} resolves outside the folder")
    return p


def walk(root: Path, *, issues: list[dict[str, str]], source: str = "files",
         pattern: str = "*") -> Iterator[Path]:
    """Regular files under ``root`` matching ``pattern`` (sorted, recursive), never following
    a symlink that leaves ``root``; skipped entries are appended to ``issues``."""
    from .frames import issue  # pandas: not on the path of `evalkit report`'s first steps

    real_root = root.resolve()
    for p in sorted(root.rglob(pattern)):
        if p.is_dir() and not p.is_symlink():
            continue
        kind = kind_of(p)
        if p.is_symlink():
            real = p.resolve()
            if real_root not in real.parents:
                issues.append(issue(source, str(p), "warning",
                                    "skipped: a symlink that points outside the folder"))
                continue
        if kind == "dir":
            continue
        if kind != "file":
            issues.append(issue(source, str(p), "warning", f"skipped: not a regular file ({kind})"))
            continue
        yield p
