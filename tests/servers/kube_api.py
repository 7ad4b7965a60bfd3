"""A loopback Kubernetes API test server that serves TrustyAI LMEvalJobs.

Routes (everything else answers ``404 page not found`` like the real API server's mux)::

    GET /version
    GET /apis/trustyai.opendatahub.io/v1alpha1                          APIResourceList
    GET /apis/trustyai.opendatahub.io/v1alpha1/namespaces/{ns}/lmevaljobs         LMEvalJobList
    GET /apis/trustyai.opendatahub.io/v1alpha1/namespaces/{ns}/lmevaljobs/{name}  LMEvalJob

Lists support ``limit`` + ``continue`` paging in the real shape (``metadata.continue`` — an
opaque base64 token —, ``metadata.resourceVersion``, ``metadata.remainingItemCount`` when no
label selector is used; items sorted by name; every item carries ``apiVersion``/``kind`` as
custom resources do) and ``labelSelector`` (``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``,
``k notin (a,b)``, ``k``, ``!k``, comma-joined).

Errors are ``Status`` objects in the real shape
(``{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":...,
"reason":...,"code":...}``):

- 401 ``Unauthorized`` — missing or wrong bearer token (when the server has a ``token``);
- 403 ``Forbidden`` — the namespace is in ``forbidden_namespaces`` (RBAC denies ``list``);
- 404 — ``crd_installed=False`` gives the mux's plain ``404 page not found`` (group not served);
  an unknown namespace gives ``namespaces "x" not found`` (NB: a real API server answers an empty
  list for a missing namespace; evalkit handles both);
- 410 ``Expired`` — a continue token issued before :meth:`KubeAPIServer.expire_continue_tokens`
  (or after ``expire_tokens_after_pages`` list pages were served);
- 400 ``BadRequest`` — an unparsable label selector or continue token.

API
---
``KubeAPIServer(jobs=None, *, token=DEFAULT_TOKEN, user=DEFAULT_USER, namespaces=(),
forbidden_namespaces=(), crd_installed=True, tls=None, expire_tokens_after_pages=None,
max_page_size=None)``
    context manager; ``.url``; ``jobs`` maps namespace -> list of LMEvalJob dicts;
    ``max_page_size`` makes the server return at most that many items per page even when the
    client asks for more or sets no ``limit`` (the API allows short pages), so callers that
    cannot choose a page size still page;
    ``token=None`` accepts anonymous requests; ``tls`` (a :class:`~tests.servers.tls.CertSet`)
    serves HTTPS and also accepts client certificates signed by its CA (as the API server does).
``.add_job(namespace, obj)`` / ``.add_jobs(namespace, n, prefix="job", **make_kw)``
    store LMEvalJob dicts (``metadata`` gaps filled: namespace, uid, resourceVersion,
    creationTimestamp).
``.expire_continue_tokens()``
    every continue token issued so far now answers 410.
``.requests_seen``
    a copy of the list of :class:`KubeRequest` (``method``, ``path``, ``query``, ``headers``,
    ``user`` authenticated or ``None``, ``status``).
``.write_kubeconfig(path, **kw)``
    a kubeconfig pointing at this server (see :func:`write_kubeconfig`).

:func:`make_lmevaljob` builds a realistic LMEvalJob (with an lm-eval results string).

Example::

    with KubeAPIServer({"demo": [make_lmevaljob(f"job-{i}") for i in range(5)]}) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        evalkit.kube.list_lmevaljobs("demo", page_size=2)    # 3 pages, 5 items
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._base import LoopbackServer, QuietHandler
from .tls import CertSet

GROUP = "trustyai.opendatahub.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
PLURAL = "lmevaljobs"
DEFAULT_TOKEN = "sha256~" + "evalkit-test-token-0123456789abcdef"  # marker, not a real token
DEFAULT_USER = "system:serviceaccount:evalkit-test:reader"

_LIST_RE = re.compile(rf"^/apis/{re.escape(GROUP)}/{VERSION}/namespaces/([^/]+)/{PLURAL}/?$")
_GET_RE = re.compile(rf"^/apis/{re.escape(GROUP)}/{VERSION}/namespaces/([^/]+)/{PLURAL}/([^/]+)$")


@dataclass(frozen=True)
class KubeRequest:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    user: str | None
    status: int


def status_doc(code: int, reason: str, message: str,
               details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``Status`` object as the API server writes it."""
    doc: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                           "status": "Failure", "message": message, "reason": reason}
    if details:
        doc["details"] = details
    doc["code"] = code
    return doc


# ------------------------------------------------------------------------------ label selectors

_REQ_SET = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_REQ_EQ = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
_REQ_EXISTS = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$")


def parse_selector(selector: str) -> list[tuple[str, str, frozenset[str]]]:
    """Parse a label selector into ``(key, op, values)``; ``ValueError`` when unparsable.

    >>> key, op, values = parse_selector("app=eval,tier!=x,env in (a, b),!gone")[2]
    >>> key, op, sorted(values)
    ('env', 'in', ['a', 'b'])
    """
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out: list[tuple[str, str, frozenset[str]]] = []
    for part in parts:
        if not part.strip():
            if len(parts) == 1:
                continue
            raise ValueError(f"unable to parse requirement: empty requirement in {selector!r}")
        if m := _REQ_SET.match(part):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            out.append((m.group(1), m.group(2), values))
        elif m := _REQ_EQ.match(part):
            op = "!=" if m.group(2) == "!=" else "="
            out.append((m.group(1), op, frozenset({m.group(3)})))
        elif m := _REQ_EXISTS.match(part):
            out.append((m.group(2), "!exists" if m.group(1) else "exists", frozenset()))
        else:
            raise ValueError(f"unable to parse requirement: {part.strip()!r}")
    return out


def selector_matches(reqs: list[tuple[str, str, frozenset[str]]], labels: Mapping[str, str]) -> bool:
    """True when ``labels`` satisfy every requirement (Kubernetes semantics)."""
    for key, op, values in reqs:
        has = key in labels
        val = labels.get(key)
        if op == "=" and not (has and val in values):
            return False
        if op == "!=" and has and val in values:
            return False
        if op == "in" and not (has and val in values):
            return False
        if op == "notin" and has and val in values:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


# ------------------------------------------------------------------------------ LMEvalJob objects

_SCORES = {"arc_easy": (0.81, 0.78), "hellaswag": (0.66, 0.84), "truthfulqa_mc2": (0.62, None),
           "gsm8k": (0.74, 0.79)}


def _results_doc(model: str, tasks: Iterable[str], limit: str, offset: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    hib: dict[str, Any] = {}
    n = int(float(limit)) if limit and float(limit) >= 1 else 100
    for task in tasks:
        a, b = _SCORES.get(task, (0.7, 0.72))
        a, b = round(a + offset, 4), (None if b is None else round(b + offset, 4))
        if task == "gsm8k":
            results[task] = {"alias": task, "exact_match,strict-match": a,
                             "exact_match_stderr,strict-match": 0.044,
                             "exact_match,flexible-extract": b,
                             "exact_match_stderr,flexible-extract": 0.041}
            hib[task] = {"exact_match": True}
        else:
            results[task] = {"alias": task, "acc,none": a, "acc_stderr,none": 0.039}
            if b is not None:
                results[task].update({"acc_norm,none": b, "acc_norm_stderr,none": 0.041})
            hib[task] = {"acc": True, "acc_norm": True}
    tasks = list(results)
    return {
        "results": results,
        "group_subtasks": {t: [] for t in tasks},
        "configs": {t: {"task": t, "num_fewshot": 5 if t == "gsm8k" else 0} for t in tasks},
        "versions": {t: 1.0 for t in tasks},
        "n-shot": {t: 5 if t == "gsm8k" else 0 for t in tasks},
        "higher_is_better": hib,
        "n-samples": {t: {"original": 1000, "effective": n} for t in tasks},
        "config": {"model": "local-completions",
                   "model_args": f"model={model},base_url=http://{model.split('/')[-1]}"
                                 "-predictor:8080/v1/completions,num_concurrent=1",
                   "batch_size": 1, "limit": float(limit), "bootstrap_iters": 100000},
        "git_hash": "a1b2c3d",
        "date": 1735689600.0,
        "model_name": model,
        "model_name_sanitized": model.replace("/", "__"),
        "lm_eval_version": "0.4.8",
    }


def make_lmevaljob(
    name: str,
    *,
    namespace: str = "default",
    model: str = "mistral-small-24b",
    tasks: Iterable[str] = ("arc_easy", "hellaswag"),
    state: str = "Complete",
    reason: str = "Succeeded",
    labels: Mapping[str, str] | None = None,
    results: dict[str, Any] | str | None = None,
    limit: str = "100",
    log_samples: bool = True,
    offset: float = 0.0,
) -> dict[str, Any]:
    """A realistic LMEvalJob object (``status.results`` is the lm-eval JSON as a string).

    >>> job = make_lmevaljob("eval-fp16", model="mistral-small-24b")
    >>> job["kind"], json.loads(job["status"]["results"])["model_name"]
    ('LMEvalJob', 'mistral-small-24b')
    """
    tasks = list(tasks)
    status: dict[str, Any] = {"state": state, "reason": reason,
                              "message": "job completed" if reason == "Succeeded" else "",
                              "podName": name, "lastScheduleTime": "2025-01-01T00:00:00Z"}
    if state == "Complete":
        status["completeTime"] = "2025-01-01T01:00:00Z"
    if reason == "Failed":
        status["message"] = "container lm-eval exited with status 1 (OOMKilled)"
    if results is None and state == "Complete" and reason == "Succeeded":
        results = _results_doc(model, tasks, limit, offset)
    if results is not None:
        status["results"] = results if isinstance(results, str) else json.dumps(results, indent=2)
    return {
        "apiVersion": API_VERSION,
        "kind": "LMEvalJob",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": dict(labels or {"app.kubernetes.io/part-of": "evalkit-test"})},
        "spec": {
            "model": "local-completions",
            "modelArgs": [{"name": "model", "value": model},
                          {"name": "base_url",
                           "value": f"http://{model.split('/')[-1]}-predictor:8080/v1/completions"},
                          {"name": "num_concurrent", "value": "1"},
                          {"name": "tokenizer", "value": "mistralai/Mistral-Small-24B-Instruct-2501"}],
            "taskList": {"taskNames": tasks},
            "limit": limit,
            "logSamples": log_samples,
            "batchSize": "1",
            "outputs": {"pvcManaged": {"size": "5Gi"}},
        },
        "status": status,
    }


# ------------------------------------------------------------------------------ kubeconfig


def write_kubeconfig(
    path: str | Path,
    server: str,
    *,
    token: str | None = None,
    ca_cert: str | Path | None = None,
    client_cert: str | Path | None = None,
    client_key: str | Path | None = None,
    namespace: str = "default",
    context: str = "evalkit-test",
    insecure: bool = False,
    extra_contexts: Mapping[str, str] | None = None,
) -> Path:
    """Write a kubeconfig (what ``oc login`` writes: one cluster, one user, one context).

    ``extra_contexts`` maps more context names to other server URLs (each with the same user),
    to test ``context=``. Returns ``path``.

    >>> p = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:1", token="t")  # doctest: +SKIP
    """
    import yaml

    cluster: dict[str, Any] = {"server": server}
    if ca_cert:
        cluster["certificate-authority"] = str(ca_cert)
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    user: dict[str, Any] = {}
    if token:
        user["token"] = token
    if client_cert:
        user["client-certificate"] = str(client_cert)
        user["client-key"] = str(client_key)
    clusters = [{"name": "loopback", "cluster": cluster}]
    contexts = [{"name": context, "context": {"cluster": "loopback", "user": "tester",
                                               "namespace": namespace}}]
    for i, (name, url) in enumerate((extra_contexts or {}).items()):
        clusters.append({"name": f"other-{i}", "cluster": {**cluster, "server": url}})
        contexts.append({"name": name, "context": {"cluster": f"other-{i}", "user": "tester",
                                                   "namespace": namespace}})
    doc = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": clusters,
           "users": [{"name": "tester", "user": user}], "contexts": contexts,
           "current-context": context}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    p.chmod(0o600)
    return p


# ------------------------------------------------------------------------------ server


class KubeAPIServer(LoopbackServer):
    """Loopback Kubernetes API serving LMEvalJobs (see the module docstring)."""

    def __init__(
        self,
        jobs: Mapping[str, Iterable[dict[str, Any]]] | None = None,
        *,
        token: str | None = DEFAULT_TOKEN,
        user: str = DEFAULT_USER,
        namespaces: Iterable[str] = (),
        forbidden_namespaces: Iterable[str] = (),
        crd_installed: bool = True,
        tls: CertSet | None = None,
        expire_tokens_after_pages: int | None = None,
        max_page_size: int | None = None,
    ) -> None:
        ctx = None
        if tls is not None:
            import ssl

            ctx = tls.server_context()
            ctx.verify_mode = ssl.CERT_OPTIONAL  # client certificates optional, as in kube
            ctx.load_verify_locations(tls.ca_cert)
        super().__init__(ssl_context=ctx)
        self.tls = tls
        self.token = token
        self.user = user
        self.crd_installed = crd_installed
        self.forbidden_namespaces = set(forbidden_namespaces)
        self.expire_tokens_after_pages = expire_tokens_after_pages
        self.max_page_size = max_page_size
        self._objects: dict[str, dict[str, dict[str, Any]]] = {ns: {} for ns in namespaces}
        self._rv = 1000
        self._min_rv = 0
        self._pages_served = 0
        self._seen: list[KubeRequest] = []
        for ns, objs in (jobs or {}).items():
            self._objects.setdefault(ns, {})
            for obj in objs:
                self.add_job(ns, obj)

    # data ------------------------------------------------------------------------------------
    def add_job(self, namespace: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Store one LMEvalJob in ``namespace`` (a deep copy, metadata gaps filled)."""
        doc = copy.deepcopy(dict(obj))
        with self.lock:
            self._rv += 1
            meta = doc.setdefault("metadata", {})
            meta["namespace"] = namespace
            meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{meta['name']}")))
            meta.setdefault("resourceVersion", str(self._rv))
            meta.setdefault("generation", 1)
            meta.setdefault("creationTimestamp", "2025-01-01T00:00:00Z")
            doc.setdefault("apiVersion", API_VERSION)
            doc.setdefault("kind", "LMEvalJob")
            self._objects.setdefault(namespace, {})[meta["name"]] = doc
        return doc

    def add_jobs(self, namespace: str, n: int, prefix: str = "job",
                 **make_kw: Any) -> list[dict[str, Any]]:
        """Store ``n`` jobs named ``{prefix}-000``... built by :func:`make_lmevaljob`."""
        return [self.add_job(namespace, make_lmevaljob(f"{prefix}-{i:03d}", namespace=namespace,
                                                       **make_kw)) for i in range(n)]

    def jobs(self, namespace: str) -> list[dict[str, Any]]:
        """The stored jobs of ``namespace``, sorted by name (deep copies)."""
        with self.lock:
            objs = self._objects.get(namespace, {})
            return [copy.deepcopy(objs[k]) for k in sorted(objs)]

    def expire_continue_tokens(self) -> None:
        """Every continue token issued so far answers 410 Expired from now on."""
        with self.lock:
            self._rv += 1
            self._min_rv = self._rv

    @property
    def requests_seen(self) -> list[KubeRequest]:
        with self.lock:
            return list(self._seen)

    def write_kubeconfig(self, path: str | Path, *, token: str | None | Any = ...,
                         client_cert: bool = False, **kw: Any) -> Path:
        """A kubeconfig for this server: its token (or ``token=``; ``None`` for none), its CA
        when serving TLS, its client certificate when ``client_cert=True``."""
        tok = self.token if token is ... else token
        if self.tls is not None:
            kw.setdefault("ca_cert", self.tls.ca_cert)
            if client_cert:
                kw.setdefault("client_cert", self.tls.client_cert)
                kw.setdefault("client_key", self.tls.client_key)
        return write_kubeconfig(path, kw.pop("server", self.url), token=tok, **kw)

    # request handling --------------------------------------------------------------------------
    def _authenticate(self, handler: QuietHandler) -> str | None:
        if self.tls is not None:
            try:
                cert = handler.connection.getpeercert()  # type: ignore[attr-defined]
            except (AttributeError, ValueError):
                cert = None
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            return str(v)
                return "client-cert"
        auth = handler.headers.get("Authorization", "")
        if self.token is None:
            return "system:anonymous"
        if auth.startswith("Bearer ") and auth[7:].strip() == self.token:
            return self.user
        return None

    def answer(self, handler: QuietHandler) -> tuple[int, Any]:
        """``(status, JSON doc or bytes)`` for one GET."""
        parts = urlsplit(handler.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.4+evalkit-test"}
        user = self._authenticate(handler)
        if user is None:
            return 401, status_doc(401, "Unauthorized", "Unauthorized")
        if path.startswith(f"/apis/{GROUP}/") and not self.crd_installed:
            return 404, b"404 page not found\n"
        if path.rstrip("/") == f"/apis/{GROUP}/{VERSION}":
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": API_VERSION,
                         "resources": [{"name": PLURAL, "singularName": "lmevaljob",
                                        "namespaced": True, "kind": "LMEvalJob",
                                        "verbs": ["delete", "deletecollection", "get", "list",
                                                  "patch", "create", "update", "watch"]}]}
        m_list, m_get = _LIST_RE.match(path), _GET_RE.match(path)
        if not (m_list or m_get):
            return 404, b"404 page not found\n"
        ns = (m_list or m_get).group(1)  # type: ignore[union-attr]
        verb = "list" if m_list else "get"
        if ns in self.forbidden_namespaces:
            msg = (f'{PLURAL}.{GROUP} is forbidden: User "{user}" cannot {verb} resource '
                   f'"{PLURAL}" in API group "{GROUP}" in the namespace "{ns}"')
            return 403, status_doc(403, "Forbidden", msg, {"group": GROUP, "kind": PLURAL})
        with self.lock:
            known = ns in self._objects
        if not known:
            return 404, status_doc(404, "NotFound", f'namespaces "{ns}" not found',
                                   {"name": ns, "kind": "namespaces"})
        if m_get:
            name = m_get.group(2)
            with self.lock:
                obj = self._objects[ns].get(name)
            if obj is None:
                return 404, status_doc(404, "NotFound", f'{PLURAL}.{GROUP} "{name}" not found',
                                       {"name": name, "group": GROUP, "kind": PLURAL})
            return 200, copy.deepcopy(obj)
        return self._list(ns, query)

    def _list(self, ns: str, query: dict[str, str]) -> tuple[int, Any]:
        selector = query.get("labelSelector", "")
        try:
            reqs = parse_selector(selector)
        except ValueError as exc:
            return 400, status_doc(400, "BadRequest", str(exc))
        try:
            limit = max(int(query.get("limit") or 0), 0)
        except ValueError:
            limit = 0
        if self.max_page_size:  # the API may return fewer items than asked, with a continue
            limit = min(limit, self.max_page_size) if limit else self.max_page_size
        start = ""
        with self.lock:
            rv = self._rv
            min_rv = self._min_rv
        token = query.get("continue")
        if token:
            try:
                decoded = json.loads(base64.b64decode(token.encode(), validate=True))
                start, token_rv = str(decoded["start"]), int(decoded["rv"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                return 400, status_doc(400, "BadRequest", "continue key is not valid: "
                                       "incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
            if token_rv < min_rv:
                return 410, status_doc(
                    410, "Expired",
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use the "
                    "continue token in this response to retrieve the remainder of the results. "
                    "Continuing with the provided token results in an inconsistent list - objects "
                    "that were created, modified, or deleted between the time the first chunk was "
                    "returned and now may show up in the list.")
            rv = token_rv
        items = [j for j in self.jobs(ns)
                 if selector_matches(reqs, j.get("metadata", {}).get("labels") or {})]
        items = [j for j in items if j["metadata"]["name"] > start] if start else items
        page = items[:limit] if limit else items
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if limit and len(items) > limit:
            last = page[-1]["metadata"]["name"]
            meta["continue"] = base64.b64encode(json.dumps(
                {"v": "meta.k8s.io/v1", "rv": rv, "start": last + "\x00"}).encode()).decode()
            if not selector:
                meta["remainingItemCount"] = len(items) - limit
        with self.lock:
            self._pages_served += 1
            if (self.expire_tokens_after_pages is not None
                    and self._pages_served >= self.expire_tokens_after_pages):
                self._rv += 1
                self._min_rv = self._rv
        return 200, {"apiVersion": API_VERSION, "items": page, "kind": "LMEvalJobList",
                     "metadata": meta}

    def record(self, req: KubeRequest) -> None:
        with self.lock:
            self._seen.append(req)


class _KubeHandler(QuietHandler):
    server: Any

    def do_GET(self) -> None:
        api: KubeAPIServer = self.server.owner
        status, doc = api.answer(self)
        user = api._authenticate(self) if status != 401 else None
        parts = urlsplit(self.path)
        api.record(KubeRequest("GET", parts.path,
                               {k: v[-1] for k, v in parse_qs(parts.query).items()},
                               dict(self.headers.items()), user, status))
        if isinstance(doc, bytes):
            self.send_bytes(status, doc, "text/plain; charset=utf-8")
        else:
            self.send_json(status, doc, {"Audit-Id": str(uuid.uuid4()),
                                         "Cache-Control": "no-cache, private"})

    def do_POST(self) -> None:
        self.read_body()
        self.send_json(405, status_doc(405, "MethodNotAllowed",
                                       "the test server only serves GET"))

    do_PUT = do_PATCH = do_DELETE = do_POST


KubeAPIServer.handler_class = _KubeHandler
