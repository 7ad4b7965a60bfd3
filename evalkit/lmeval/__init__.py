"""TrustyAI LMEvalJob custom resources and lm-evaluation-harness output → tidy frames.

:func:`load_lmeval` accepts every form these results take in practice and returns an
:class:`LMEvalResult` whose ``jobs``, ``scores``, ``runs``, ``samples`` and ``issues``
attributes are DataFrames (schemas in :mod:`evalkit.core.frames`). lm-eval's ``"metric,filter"``
keys and stringly-typed values are normalised once, at this edge: ``metric`` and ``filter`` are
separate columns, ``value``/``stderr`` are floats (``"N/A"`` → NaN), and every problem becomes a
row of ``issues`` instead of an exception. Only an unusable source raises
:class:`~evalkit.core.errors.SourceError`.

Modules: :mod:`~evalkit.lmeval.documents` (reading text and values), :mod:`~evalkit.lmeval.builder`
(rows from CRs and results), :mod:`~evalkit.lmeval.samples` (sample logs),
:mod:`~evalkit.lmeval.match` (which log belongs to which job), :mod:`~evalkit.lmeval.metrics`
(headline metrics), :mod:`~evalkit.lmeval.cluster` (listing from the API),
:mod:`~evalkit.lmeval.source` (the snapshot source), :mod:`~evalkit.lmeval.load` (the loader).

>>> import evalkit as ek
>>> res = ek.load_lmeval(ek.demo_path())
>>> sorted(res.scores["model"].unique())
['mistral-24b', 'mistral-24b-quantized']
"""

from .cluster import list_lmevaljobs, lmevaljobs_path
from .load import LMEvalResult, load_lmeval
from .match import job_record, match_samples, sanitized_names, served_model
from .metrics import BOUNDED_METRICS, HEADLINE_METRICS, headline_metric
from .source import LMEvalSource

__all__ = ["BOUNDED_METRICS", "HEADLINE_METRICS", "LMEvalResult", "LMEvalSource",
           "headline_metric", "job_record", "list_lmevaljobs", "lmevaljobs_path", "load_lmeval",
           "match_samples", "sanitized_names", "served_model"]
