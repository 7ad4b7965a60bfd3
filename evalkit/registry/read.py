"""Reading a Model Registry: raw answers (:func:`fetch`) and frames (:func:`read_versions`).

>>> read_versions("https://mr-rest.apps.example.com", models=["granite"])  # doctest: +SKIP
<RegistryResult https://mr-rest.apps.example.com (v1): properties 13 row(s), ...>

Arguments are checked before any call:

>>> read_versions("http://127.0.0.1:9", models=[""])
Traceback (most recent call last):
...
evalkit.core.errors.InputError: models: give registered model names (or None for every model)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..core.errors import InputError
from .client import RegistryClient, check_filter
from .parse import Answer, Fetched, RegistryResult, parse_fetched


def _names(models: Iterable[str] | str | None) -> list[str] | None:
    if models is None:
        return None
    names = [models] if isinstance(models, str) else [str(m) for m in models]
    if not names or any(not n.strip() for n in names):
        raise InputError("models: give registered model names (or None for every model)")
    return list(dict.fromkeys(names))


def fetch(client: RegistryClient, *, models: Iterable[str] | str | None = None,
          filter_query: str | None = None, artifacts: bool = True) -> Fetched:
    """Every raw answer of one read: the registered models (all, paged, or each name found with
    ``GET registered_model?name=``), their versions (paged, narrowed by ``filter_query``) and
    each version's artifacts. Nothing is parsed here beyond the ids needed for the next call."""
    names = _names(models)
    fq = check_filter(filter_query)
    client.discover()
    answers: list[Answer] = []
    missing: list[str] = []
    rm_ids: list[str] = []
    if names is None:
        for page, body, doc in client.pages("registered_models"):
            answers.append(Answer("models", body, page=page))
            rm_ids += [str(i.get("id")) for i in doc.get("items") or [] if isinstance(i, dict)]
    else:
        for name in names:
            found = client.find("registered_model", {"name": name})
            if found is None:
                missing.append(name)
                continue
            body, doc = found
            answers.append(Answer("model", body, name=name))
            rm_ids.append(str(doc.get("id")) if isinstance(doc, dict) else "")
    for rm in dict.fromkeys(r for r in rm_ids if r):
        vids: list[str] = []
        params = {"filterQuery": fq} if fq else None
        for page, body, doc in client.pages(f"registered_models/{rm}/versions", params):
            answers.append(Answer("versions", body, parent=rm, page=page))
            vids += [str(i.get("id")) for i in doc.get("items") or [] if isinstance(i, dict)]
        if not artifacts:
            continue
        for vid in vids:
            for page, body, _doc in client.pages(f"model_versions/{vid}/artifacts"):
                answers.append(Answer("artifacts", body, parent=vid, page=page))
    return Fetched(url=client.url, api=str(client.api), answers=answers,
                   base_path=str(client.base_path), discovery=list(client.discovery),
                   deprecation=dict(client.deprecation), missing=missing, filter_query=fq)


def read_versions(url: Any = None, *, models: Iterable[str] | str | None = None,
                  token: Any = None, ca_bundle: str | os.PathLike[str] | None = None,
                  base_path: str | None = None, filter_query: str | None = None,
                  token_file: str | os.PathLike[str] | None = None, insecure: bool = False,
                  service_account: bool = False, **http_kw: Any) -> RegistryResult:
    """Read model versions, their custom properties and model artifacts.

    Parameters
    ----------
    url : the registry's REST root (``https://<registry>-rest.<apps domain>``, in-cluster
        ``https://<registry>.<namespace>.svc:8443``; default ``$EVALKIT_REGISTRY_URL``), a URL
        ending in ``/api/model_registry/<generation>``, or a ``model_registry.ModelRegistry``
        instance (its address, port, token and CA file are used; evalkit talks REST itself).
    models : registered model names (default: every registered model). A name that does not
        exist is a data issue of severity ``error``.
    token, token_file : bearer token (else ``$EVALKIT_REGISTRY_TOKEN`` /
        ``$EVALKIT_REGISTRY_TOKEN_FILE``; the pod's service-account token only with
        ``service_account=True``).
    ca_bundle, insecure : TLS settings (see :func:`evalkit.core.http.resolve_verify`).
    base_path : ``"v1"``, ``"v1alpha3"`` or a path; default: probe v1, then v1alpha3.
    filter_query : the registry's ``filterQuery`` on versions, e.g.
        ``"`eval_gsm8k_exact_match,flexible-extract.double_value` > 0.8"`` (type suffix INSIDE
        the backticks). Servers older than the filter feature ignore it.

    Returns a :class:`~evalkit.registry.parse.RegistryResult`; ``api`` says which generation
    answered. Raises :class:`~evalkit.core.errors.AuthError` (401/403),
    :class:`~evalkit.core.errors.NotFoundError` (no registry API at ``url``) or
    :class:`~evalkit.core.errors.HTTPError`, each saying what to do.
    """
    with RegistryClient(url, token=token, token_file=token_file, ca_bundle=ca_bundle,
                        insecure=insecure, base_path=base_path, service_account=service_account,
                        **http_kw) as client:
        fetched = fetch(client, models=models, filter_query=filter_query)
    return parse_fetched(fetched)
