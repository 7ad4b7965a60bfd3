"""One writer per target: a lock file beside the folder a pull or a report writes.

A second ``evalkit pull`` or ``evalkit report`` into the same target fails at once with
:class:`~evalkit.core.errors.LockedError` instead of mixing or deleting the first one's files.
The lock is an ``flock`` on ``.<name>.evalkit-lock`` next to the target: the kernel releases it
when the process dies, so a crashed run never leaves a stale lock behind.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "out"
>>> with TargetLock(target):
...     try:
...         TargetLock(target).acquire()
...     except LockedError as exc:
...         print("locked")
locked
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import InputError, LockedError


class TargetLock:
    """An exclusive, non-blocking lock on ``target`` (a folder that may not exist yet)."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        t = Path(target).resolve()
        self.target = t
        self.path = t.parent / f".{t.name}.evalkit-lock"
        self._fd: int | None = None

    def acquire(self) -> TargetLock:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create {self.target.parent}: {exc.strerror}") from None
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            except OSError as exc:
                raise InputError(f"cannot write next to {self.target} ({exc.strerror}); choose "
                                 "a folder you can write to") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockedError(f"{self.target} is being written by another evalkit run "
                                  f"(lock {self.path}); wait for it or choose another folder"
                                  ) from None
            # the file we locked must still be the one on disk (a finishing run unlinks it)
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return self
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> TargetLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
