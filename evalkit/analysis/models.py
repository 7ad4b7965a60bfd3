"""Which models a report compares and whether its settings are usable — checked before any
analysis or kernel runs, and cheap to import (no statistics, no plotting).

>>> import evalkit as ek
>>> resolve_models(ek.load(ek.demo_path()), None, None)
('mistral-24b', ['mistral-24b-quantized'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..bundle import Bundle
from ..core.errors import InputError, UnknownModelError
from ..lmeval import LMEvalResult
from .base import check_margin, z_value
from .capacity import SLO

QUANT_FULL_PRECISION = {"fp16", "bf16", "fp32", "none", "full", ""}


def default_models(result: LMEvalResult, manifest: dict[str, Any] | None = None
                   ) -> tuple[str, str]:
    """Baseline and candidate when none are named: the snapshot manifest's ``models`` entry
    (the full-precision model is the baseline); otherwise the user must name them."""
    models = result.models
    info = (manifest if manifest is not None else result.manifest or {}).get("models") or {}
    if not isinstance(info, dict):
        info = {}
    full = [m for m in models if str((info.get(m) or {}).get("quantization", "x")).lower()
            in QUANT_FULL_PRECISION]
    quant = [m for m in models if m in info and m not in full]
    if len(full) == 1 and len(quant) >= 1:
        return full[0], quant[0]
    raise UnknownModelError(
        f"name the models to compare with --baseline and --candidate; models in the data: "
        f"{', '.join(models) or '(none)'}")


def resolve_models(bundle: Bundle, baseline: str | None,
                   candidates: str | Sequence[str] | None) -> tuple[str, list[str]]:
    """The baseline and candidate names, checked against the data (defaults from the
    snapshot manifest)."""
    if baseline is None or not candidates:
        b, c = default_models(bundle.lmeval, bundle.manifest)
        baseline = baseline or b
        candidates = candidates or c
    cands = [candidates] if isinstance(candidates, str) else list(candidates)
    present = bundle.lmeval.models
    for name in [baseline, *cands]:
        if name not in present:
            raise UnknownModelError(f"model {name!r} is not in {bundle.source}; models there: "
                                    f"{', '.join(present) or '(none)'}")
    if baseline in cands:
        raise UnknownModelError(f"model {baseline!r} is both the baseline and a candidate")
    return baseline, cands


def named_slo(slo: SLO | str | None) -> SLO | None:
    """An :class:`SLO` from itself, a preset name (``"chat"``, ``"rag"``) or None (default)."""
    if slo is None or isinstance(slo, SLO):
        return slo
    presets = {"chat": SLO.chat, "rag": SLO.rag}
    if slo not in presets:
        raise InputError(f"slo={slo!r}: use 'chat', 'rag' or an evalkit.SLO(...)")
    return presets[slo]()


def check_settings(*, margin: float, relative_margin: float, confidence: float,
                   slo: SLO | str | None, prices: Any) -> tuple[SLO | None, Any]:
    """Validate the analysis settings; returns the SLO object and the price table (a price
    file is read and checked here)."""
    check_margin(margin)
    check_margin(relative_margin)
    z_value(confidence)
    if isinstance(prices, str | os.PathLike):
        from .cost import load_prices

        prices = load_prices(prices)
    return named_slo(slo), prices
