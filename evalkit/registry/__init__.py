"""The Kubeflow Model Registry, in and out, over REST — without losing a property.

- :func:`read_versions` — model versions, their typed custom properties (decoded) and model
  artifacts, as a :class:`RegistryResult`; :func:`wide` pivots to one row per version;
- :func:`model_facts` — quantization, GPU count, accelerator, base model, stored eval and
  benchmark results per version (unknown facts are data issues, not guesses);
- :func:`map_models` — served model name → registered model and version (same name, latest
  LIVE version, unless mapped);
- :func:`publish_scores` — write evaluation results onto versions: read, merge, PATCH only
  what changed, re-read and verify (a PATCH replaces the whole property map);
- :class:`RegistrySource` — ``evalkit pull --registry`` into a snapshot, loaded back by
  ``evalkit.load`` onto ``Bundle.registry``.

Both API generations are spoken (``/api/model_registry/v1`` first, ``v1alpha3`` on a 404), and
a ``model_registry.ModelRegistry`` instance works wherever a URL does. Why evalkit talks REST
itself instead of using that client: ``docs/registry.md``.

>>> import evalkit as ek
>>> reg = ek.load().registry
>>> wide(reg)[["registered_model", "version", "quantization", "gpu_requirement"]].values.tolist()
[['mistral-24b', '1.0', 'fp16', 4], ['mistral-24b-quantized', '1.0', 'w4a16', 1]]
"""

from __future__ import annotations

from .client import RegistryClient, RegistryDeprecationWarning
from .facts import ModelFacts, model_facts
from .mapping import ModelMapping, map_models, parse_target
from .parse import RegistryResult, parse_fetched, wide
from .read import fetch, read_versions
from .scores import latest_runs, score_properties
from .source import RegistrySource
from .write import PublishResult, publish_scores

__all__ = ["ModelFacts", "ModelMapping", "PublishResult", "RegistryClient",
           "RegistryDeprecationWarning", "RegistryResult", "RegistrySource", "fetch",
           "latest_runs", "map_models", "model_facts", "parse_fetched", "parse_target",
           "publish_scores", "read_versions", "score_properties", "wide"]
