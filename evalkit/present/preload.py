"""The modules the report notebook needs, imported by its kernel as the kernel starts
(:mod:`evalkit.present.kernel`), while ``evalkit report`` loads and checks the source in its
own process.

:func:`in_background` imports them in a thread, so the kernel answers papermill at once; the
first cell (papermill's parameters) waits until the imports are done, so the notebook never
imports anything at the same time as the thread. :func:`load` is the import itself; it has no
other effect than loading modules (and Pillow's image plugins, which its first PNG would
load). ``tests/test_report_kernel.py`` checks that the notebook, run after it, imports no
heavy package and no evalkit module of its own.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any


def load() -> None:
    """Import what the report notebook uses (pandas, matplotlib's Agg, pyarrow's Parquet,
    IPython's display, the analysis, the plots, every snapshot source)."""
    import matplotlib.backends.backend_agg  # noqa: F401  every figure is drawn with Agg
    import matplotlib.figure  # noqa: F401
    import pyarrow.pandas_compat  # noqa: F401  write_outputs
    import pyarrow.parquet  # noqa: F401
    from IPython.display import HTML, Markdown, display  # noqa: F401
    from PIL import Image

    import evalkit  # noqa: F401
    import evalkit._resources  # noqa: F401  the demo snapshot's path
    from evalkit.analysis import economics, pipeline  # noqa: F401
    from evalkit.bundle import load  # noqa: F401
    from evalkit.present import sections, summary_json  # noqa: F401
    from evalkit.present.plots import economics as _e  # noqa: F401
    from evalkit.present.plots import quality, serving  # noqa: F401
    from evalkit.source import SOURCES, source_class

    Image.preinit()
    for key in SOURCES:  # what a snapshot's load imports, source by source
        with contextlib.suppress(ImportError):  # an optional source whose extra is missing
            source_class(key)


def in_background(shell: Any) -> None:
    """Run :func:`load` in a thread of the kernel ``shell``; the next cell to run waits for it
    (an IPython ``pre_run_cell`` hook that removes itself). A failed import is left for the
    notebook's own import to report."""

    def quietly() -> None:
        with contextlib.suppress(Exception):
            load()

    thread = threading.Thread(target=quietly, name="evalkit-preload", daemon=True)

    def wait(*_: Any) -> None:
        thread.join()
        shell.events.unregister("pre_run_cell", wait)

    shell.events.register("pre_run_cell", wait)
    thread.start()
