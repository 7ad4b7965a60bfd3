"""Paged listing of any Kubernetes resource: every page's items, exactly as the API returned
them, in order, as ONE list document.

>>> from evalkit.kube.resources import list_all          # doctest: +SKIP
>>> doc = list_all(conn, "/apis/g/v1/namespaces/ns/things", kind="ThingList")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import secrets
from ..core.errors import HTTPError
from ..core.http import safe_url
from .connection import KubeConnection

log = secrets.get_logger("evalkit.kube")

MAX_PAGES = 100_000
#: ``progress(pages_read, items_so_far, remaining_or_None)`` after every page
Progress = Callable[[int, int, int | None], None]
#: ``on_error(status, body, pages_read) -> HTTPError`` for 401/403/404/410 answers
OnError = Callable[[int, Any, int], HTTPError]


def list_all(conn: KubeConnection, path: str, *, kind: str, label_selector: str | None = None,
             page_size: int = 500, progress: Progress | None = None,
             on_error: OnError | None = None) -> dict[str, Any]:
    """Follow ``continue`` through every page of ``path``; return one ``kind`` list with the
    first page's ``metadata`` (``resourceVersion``) and no ``continue``.

    401/403/404/410 answers go to ``on_error`` (which returns the typed error to raise, with
    the permission or CRD the caller knows is missing); a repeated continue token or more than
    :data:`MAX_PAGES` pages stop the listing with an :class:`~evalkit.core.errors.HTTPError`.
    """
    endpoint = safe_url(conn.client.url(path))
    items: list[Any] = []
    head: dict[str, Any] | None = None
    cont: str | None = None
    seen_tokens: set[str] = set()
    pages = 0
    while pages < MAX_PAGES:
        params: dict[str, Any] = {}
        if page_size and page_size > 0:
            params["limit"] = int(page_size)
        if label_selector:
            params["labelSelector"] = label_selector
        if cont:
            params["continue"] = cont
        resp = conn.client.request("GET", path, params=params, parse_json=True,
                                   ok=lambda r: r.status_code in (401, 403, 404, 410))
        doc = resp.evalkit_json  # type: ignore[attr-defined]
        if resp.status_code >= 400:
            if on_error is not None:
                raise on_error(resp.status_code, doc, pages)
            conn.client.raise_for_status(resp, endpoint)
        if not isinstance(doc, dict) or "items" not in doc or not isinstance(doc["items"],
                                                                           list | None):
            got = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
            raise HTTPError(f"kubernetes API at {endpoint}: answered a {got!r} document instead "
                            f"of a {kind}", endpoint=endpoint, status=resp.status_code,
                            cause="not a list")
        pages += 1
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        if head is None:
            head = doc
        items.extend(doc.get("items") or [])
        cont = meta.get("continue") or None
        remaining = meta.get("remainingItemCount")
        log.debug("kubernetes API %s: page %d, %d item(s) so far%s", endpoint, pages, len(items),
                  "" if cont is None else ", more to come")
        if progress is not None:
            progress(pages, len(items), remaining if isinstance(remaining, int) else None)
        if not cont:
            break
        if cont in seen_tokens:
            raise HTTPError(f"kubernetes API at {endpoint}: the server repeated a continue token "
                            f"after {pages} page(s); stopping instead of looping",
                            endpoint=endpoint, cause="repeated continue token")
        seen_tokens.add(cont)
    else:
        raise HTTPError(f"kubernetes API at {endpoint}: more than {MAX_PAGES} pages; raise "
                        "page_size", endpoint=endpoint, cause="too many pages")
    assert head is not None
    metadata = {k: v for k, v in (head.get("metadata") or {}).items()
                if k not in ("continue", "remainingItemCount")}
    return {"apiVersion": head.get("apiVersion"), "kind": head.get("kind") or kind,
            "metadata": metadata, "items": items}
