"""The report's kernel, started early and killed when done.

Before the notebook's first cell can run, a kernel process must boot (Python, IPython,
ipykernel) and import what the notebook uses (pandas, matplotlib, scipy, the analysis); before
that, ``evalkit report`` itself imports pandas and papermill and loads and checks the source.
One after the other, that is the better part of two seconds. :class:`EarlyKernel` starts the
kernel first. As it boots, the kernel runs :data:`PRELOAD` (``IPKernelApp.exec_lines``): a
thread that imports the notebook's modules (:mod:`evalkit.present.preload`) while the kernel
already answers papermill; the first cell waits for it. Meanwhile the CLI loads and checks the
source, so on two cores these happen at once. papermill runs the notebook in that kernel
(nbclient takes a started kernel manager). When the notebook is done the kernel is killed, not
shut down: its history is in memory (as in nbclient's own kernels) and every file it writes
was written by a finished cell.

Starting early is an optimisation only. When it fails (no ``python3`` kernelspec, ...),
papermill starts the kernel itself and reports why it cannot, exactly as without it; when the
checks fail, the kernel is stopped and the check's error is what the user sees.

>>> import tempfile
>>> with tempfile.TemporaryFile("w+") as err, EarlyKernel(tempfile.gettempdir(), err) as k:
...     k.manager is not None                                       # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from typing import IO, Any

from ..core.secrets import get_logger

KERNEL_NAME = "python3"
#: jupyter_client logs a kernel that fails to start with a traceback; this start is only an
#: optimisation, so its failure is not the user's business (papermill's own start reports it)
_QUIET = get_logger("evalkit.present.kernel.early")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
#: what the kernel runs as it starts: the notebook's imports, binding no name
PRELOAD = "__import__('evalkit.present.preload', fromlist=['_']).in_background(get_ipython())"


class EarlyKernel:
    """A ``python3`` kernel started in ``cwd`` with its stderr in ``stderr``; :attr:`manager`
    is its (started) ``AsyncKernelManager``, or None when it could not be started."""

    def __init__(self, cwd: str | os.PathLike[str], stderr: IO[Any],
                 kernel_name: str = KERNEL_NAME) -> None:
        self.cwd = str(cwd)
        self.stderr = stderr
        self.kernel_name = kernel_name
        self.manager: Any = None

    def __repr__(self) -> str:
        state = "started" if self.manager is not None else "not started"
        return f"EarlyKernel({self.kernel_name!r}, cwd={self.cwd!r}, {state})"

    def start(self) -> EarlyKernel:
        """Start the kernel process (returns at once: it boots and imports on its own)."""
        try:
            from jupyter_client.manager import AsyncKernelManager
            from jupyter_core.utils import run_sync

            km = AsyncKernelManager(kernel_name=self.kernel_name, log=_QUIET)
            run_sync(km.start_kernel)(
                cwd=self.cwd, stderr=self.stderr,
                extra_arguments=["--HistoryManager.hist_file=:memory:",
                                 f"--IPKernelApp.exec_lines={PRELOAD}"])
        except Exception:  # noqa: BLE001 - papermill starts one and says why it cannot
            return self
        self.manager = km
        return self

    def kill(self) -> None:
        """Send the kernel SIGKILL and return at once (the notebook is done): it dies while
        the caller works on, and :meth:`stop` then only reaps it and removes its files."""
        if self.manager is None:
            return
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            run_sync(self.manager.signal_kernel)(signal.SIGKILL)

    def stop(self) -> None:
        """Kill the kernel and remove its connection file (idempotent)."""
        km, self.manager = self.manager, None
        if km is None:
            return
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            run_sync(km.shutdown_kernel)(now=True)

    def __enter__(self) -> EarlyKernel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

