"""The modules the report notebook needs, imported by its kernel as the kernel starts
(:mod:`evalkit.present.kernel`), while ``evalkit report`` loads and checks the source in its
own process. Importing this module has no other effect than loading modules (and Pillow's
image plugins, which its first PNG would load); ``tests/test_report_kernel.py`` checks that
the notebook, run after it, imports no heavy package and no evalkit module of its own.
"""

from __future__ import annotations

import contextlib

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
for _key in SOURCES:  # what a snapshot's load imports, source by source
    with contextlib.suppress(ImportError):  # an optional source whose extra is missing
        source_class(_key)
