"""Files shipped inside the wheel (the report notebook and the demo snapshot).

In an installed wheel they live in ``evalkit/_resources/``; in a source checkout
(editable install) they are read from ``notebooks/`` and ``data/fixtures/``.
"""

from __future__ import annotations

from pathlib import Path

from .core.errors import EvalkitError

_PKG = Path(__file__).resolve().parent
_SOURCE = {
    "demo": ("data", "fixtures", "demo"),
    "02-eval-results.ipynb": ("notebooks", "02-eval-results.ipynb"),
}


def resource(name: str) -> Path:
    """Path of a shipped resource (``"demo"`` or ``"02-eval-results.ipynb"``)."""
    packaged = _PKG / "_resources" / name
    if packaged.exists():
        return packaged
    checkout = _PKG.parent.joinpath(*_SOURCE[name])
    if checkout.exists():
        return checkout
    raise EvalkitError(f"evalkit resource {name!r} is missing from this installation "
                       f"(looked in {packaged} and {checkout}); reinstall evalkit")


def demo_path() -> Path:
    """The bundled demo snapshot: GENERATED demo data (``scripts/make_demo_snapshot.py``).

    >>> demo_path().name
    'demo'
    """
    return resource("demo")
