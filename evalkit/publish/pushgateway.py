"""Pushing lm-eval metrics to a Prometheus Pushgateway: :func:`push`.

``PUT /metrics/job/<job>{/<label>/<value>}`` replaces every metric of that grouping key with
the pushed text (a re-push never leaves stale series behind), through evalkit's one HTTP
client. A grouping value (the job name included) that holds a ``/`` or is empty travels in the
Pushgateway's ``@base64`` path form (URL-safe base64, RFC 4648 §5); other values are
percent-encoded.

The Prometheus that scrapes the gateway needs ``honor_labels: true`` in that scrape job:
without it the pushed ``job`` and ``instance`` labels become ``exported_job`` /
``exported_instance`` and the scrape's own replace them::

    scrape_configs:
      - job_name: pushgateway
        honor_labels: true
        static_configs: [{targets: ["pushgateway:9091"]}]

>>> grouping_path("lmeval", {"pipeline": "org/nightly"})
'metrics/job/lmeval/pipeline@base64/b3JnL25pZ2h0bHk='
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pandas as pd

from ..core.auth import resolve_auth
from ..core.errors import InputError
from ..core.http import Client
from ..core.settings import check_url
from .exposition import LABELS, exposition

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: the token's environment channel: ``$EVALKIT_PUSHGATEWAY_TOKEN`` or ``..._TOKEN_FILE``
TOKEN_ENV = "EVALKIT_PUSHGATEWAY"
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _segment(value: str) -> tuple[str, bool]:
    """``(path segment, base64?)`` for one grouping value."""
    if value == "" or "/" in value:
        return base64.urlsafe_b64encode(value.encode()).decode() or "=", True
    return quote(value, safe=""), False


def grouping_path(job: str, grouping: Mapping[str, Any] | None = None) -> str:
    """The Pushgateway path of a grouping key (see the module docstring).

    >>> grouping_path("eval/nightly", {"namespace": "private-ai-demo"})
    'metrics/job@base64/ZXZhbC9uaWdodGx5/namespace/private-ai-demo'
    """
    if not isinstance(job, str) or not job:
        raise InputError("push: job must be a non-empty name, e.g. 'lmeval'")
    seg, b64 = _segment(job)
    parts = [f"metrics/job{'@base64' if b64 else ''}/{seg}"]
    for name, value in (grouping or {}).items():
        if not _LABEL.fullmatch(str(name)) or name == "job" or str(name).startswith("__"):
            raise InputError(f"push: grouping label {name!r} is not a valid label name (or is "
                             "'job', which is the job argument)")
        if name in LABELS:
            raise InputError(f"push: grouping label {name!r} is a label of the lm_eval_* "
                             "samples themselves; the Pushgateway refuses a grouping key that "
                             "clashes with them. Choose another name, e.g. 'namespace'")
        seg, b64 = _segment(str(value))
        parts.append(f"{name}{'@base64' if b64 else ''}/{seg}")
    return "/".join(parts)


def push(scores: pd.DataFrame, pushgateway_url: str, *, job: str = "lmeval",
         grouping: Mapping[str, Any] | None = None, comparison: Any = None,
         recovery: Any = None, token: Any = None, ca_bundle: Any = None,
         insecure: bool = False, **http_kw: Any) -> str:
    """PUT :func:`~evalkit.publish.exposition.exposition` of ``scores`` (and a comparison /
    recovery) to the Pushgateway at ``pushgateway_url`` under ``job`` and ``grouping``; returns
    the text pushed. Every argument is checked before the request. The bearer token (a
    gateway behind an OAuth proxy) comes from ``token`` (a string or an auth object), else
    ``$EVALKIT_PUSHGATEWAY_TOKEN``, else the file named by ``$EVALKIT_PUSHGATEWAY_TOKEN_FILE``
    (re-read on every request); none is sent when none is set.

    >>> push(scores, "http://pushgateway:9091", grouping={"namespace": "private-ai-demo"})  # doctest: +SKIP
    """
    base = check_url(pushgateway_url, "pushgateway")
    path = grouping_path(job, grouping)
    text = exposition(scores, comparison=comparison, recovery=recovery)
    if not text:
        raise InputError("push: nothing to push (no finite scores)")
    http_kw.setdefault("name", "pushgateway")
    auth = resolve_auth(token, env_prefix=TOKEN_ENV)
    with Client(base, auth=auth, ca_bundle=ca_bundle, insecure=insecure, **http_kw) as client:
        client.request("PUT", path, data=text.encode("utf-8"),
                       headers={"Content-Type": CONTENT_TYPE})
    return text
