"""Every live source behind the fault proxy (``tests/servers/fault_proxy.py``) and behind
hostile servers (``tests/corpus/hostile.py``): each fault once ends retried and complete —
the same bytes as without it —, each persistent fault ends as a typed error naming the endpoint,
bounded in time, with nothing written.

Sources: the Kubernetes API (``tests/servers/kube_api.py``, through ``evalkit.pull`` and the
paged lister), Prometheus (the real server of the ``prom`` fixture, through ``query_range`` and
a whole ``pull``), the Model Registry (``tests/servers/model_registry.py``). Retry waits are
skipped (a fake sleep), deadlines are small, so the suite stays fast.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from evalkit.collect import pull
from evalkit.core.errors import AuthError, EvalkitError, HTTPError
from evalkit.core.http import Client, RetryPolicy
from tests.corpus.hostile import HostileServer
from tests.servers import FAULT_KINDS, FaultProxy, KubeAPIServer, make_lmevaljob

NS = "private-ai-demo"
LIST = f"/apis/trustyai.opendatahub.io/v1alpha1/namespaces/{NS}/lmevaljobs"
#: the deadline of tests whose server is slow or hostile (others get a generous one, so a
#: loaded machine never turns a good answer into a retry)
DEADLINE = 0.5
#: faults retried to a complete answer (a 500 is not retried: it is an answer, see test_http)
RETRIED = [k for k in FAULT_KINDS if k != "500"]


@pytest.fixture(autouse=True)
def _fast_and_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "EVALKIT_CA_BUNDLE",
                "EVALKIT_PROMETHEUS_TOKEN", "EVALKIT_PROMETHEUS_TOKEN_FILE",
                "EVALKIT_REGISTRY_TOKEN", "EVALKIT_REGISTRY_TOKEN_FILE", "EVALKIT_MAX_BODY_MB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")
    monkeypatch.setattr("evalkit.core.http.RetryPolicy.delay", lambda self, attempt, ra: 0.0)
    monkeypatch.setenv("EVALKIT_HTTP_DEADLINE", "10")


def _left_behind(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name or
                  ".old-" in p.name or p.name.endswith(".evalkit-lock"))


def _fault_kw(kind: str, monkeypatch: pytest.MonkeyPatch | None = None) -> dict:
    """The proxy options of ``kind``; a ``slow`` fault also shortens the deadline."""
    if kind != "slow":
        return {}
    if monkeypatch is not None:
        monkeypatch.setenv("EVALKIT_HTTP_DEADLINE", str(DEADLINE))
    return {"delay": 2.0}


# ------------------------------------------------------------------------------ Kubernetes API


@pytest.fixture()
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    jobs = [make_lmevaljob(f"eval-{i}", namespace=NS, model=m)
            for i, m in enumerate(["mistral-small-24b", "mistral-small-24b-w4a16"] * 3)]
    with KubeAPIServer({NS: jobs}) as api, FaultProxy(api.url) as proxy:
        monkeypatch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "kc",
                                                                  server=proxy.url)))
        yield api, proxy


@pytest.fixture()
def clean_pull(kube, tmp_path: Path) -> bytes:
    return (pull(tmp_path / "clean", namespace=NS) / "lmevaljobs.json").read_bytes()


@pytest.mark.parametrize("kind", RETRIED)
def test_kube_fault_once_is_retried_and_complete(kind, kube, clean_pull, tmp_path,
                                                 monkeypatch) -> None:
    api, proxy = kube
    proxy.inject(kind, **_fault_kw(kind, monkeypatch))
    out = pull(tmp_path / "snap", namespace=NS)
    assert (out / "lmevaljobs.json").read_bytes() == clean_pull
    assert [r.fault for r in proxy.requests_seen][-2:] == [kind, None]
    assert _left_behind(tmp_path) == []


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_kube_persistent_fault_is_a_typed_error_and_writes_nothing(kind, kube, tmp_path,
                                                                   monkeypatch) -> None:
    api, proxy = kube
    proxy.inject(kind, times=None, **_fault_kw(kind, monkeypatch))
    t0 = time.monotonic()
    with pytest.raises(HTTPError) as ei:
        pull(tmp_path / "snap", namespace=NS)
    assert time.monotonic() - t0 < 4 * DEADLINE + 6
    assert ei.value.endpoint.endswith(LIST) and "\n" not in str(ei.value)
    assert not (tmp_path / "snap").exists() and _left_behind(tmp_path) == []


def test_kube_fault_on_a_later_page_keeps_every_item_once(kube, tmp_path) -> None:
    from evalkit.lmeval import list_lmevaljobs

    api, proxy = kube
    for kind in ("503", "truncate", "invalid_json"):
        proxy.inject(kind, match="continue=")
    doc = list_lmevaljobs(NS, page_size=2)
    names = [i["metadata"]["name"] for i in doc["items"]]
    assert names == sorted(f"eval-{i}" for i in range(6))
    assert [r.fault for r in proxy.requests_seen if r.fault] == ["503", "truncate",
                                                                 "invalid_json"]


def test_kube_expired_continue_token_is_a_clear_error(tmp_path, monkeypatch) -> None:
    from evalkit.lmeval import list_lmevaljobs

    jobs = [make_lmevaljob(f"eval-{i}", namespace=NS) for i in range(5)]
    with KubeAPIServer({NS: jobs}, expire_tokens_after_pages=1) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "kc")))
        with pytest.raises(HTTPError, match="410 Gone") as ei:
            list_lmevaljobs(NS, page_size=2)
    assert ei.value.status == 410


@pytest.mark.parametrize("mode", ["trickle_headers", "endless", "redirect"])
def test_kube_hostile_server_is_bounded(mode, tmp_path, monkeypatch) -> None:
    """(The corpus runs every hostile mode through `evalkit pull`; these through the API.)"""
    from tests.servers.kube_api import write_kubeconfig

    monkeypatch.setenv("EVALKIT_MAX_BODY_MB", "2")
    monkeypatch.setenv("EVALKIT_HTTP_DEADLINE", str(DEADLINE))
    with HostileServer(mode, interval=0.1, to="http://127.0.0.2:9") as host:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kc", host.url,
                                                              token="fault-test-token")))
        t0 = time.monotonic()
        with pytest.raises(HTTPError) as ei:
            pull(tmp_path / "snap", namespace=NS)
        elapsed = time.monotonic() - t0
    assert elapsed < 4 * DEADLINE + 6, f"{mode} took {elapsed:.1f} s"
    cause = {"trickle_headers": "deadline", "endless": "2 MB limit",
             "redirect": "another origin"}[mode]
    assert cause in str(ei.value)
    assert not (tmp_path / "snap").exists() and _left_behind(tmp_path) == []


def test_kube_concurrent_pulls_into_one_target(kube, tmp_path) -> None:
    """Two pulls race for one --out: one wins, the other fails at once with a clear message;
    the winner's snapshot is complete and verifies."""
    import threading

    from evalkit.core.errors import InputError
    from evalkit.core.snapshot import open_snapshot

    api, proxy = kube
    proxy.inject("slow", delay=0.3)  # the first pull holds the target a while
    results: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            results[name] = pull(tmp_path / "snap", namespace=NS)
        except EvalkitError as exc:
            results[name] = exc

    first = threading.Thread(target=run, args=("first",))
    first.start()
    time.sleep(0.1)
    run("second")
    first.join()
    won = [r for r in results.values() if isinstance(r, Path)]
    lost = [r for r in results.values() if isinstance(r, InputError)]
    assert len(won) == 1 and len(lost) == 1, results  # whichever got there first wins
    assert "another evalkit run" in str(lost[0]) or "already exists" in str(lost[0])
    assert "\n" not in str(lost[0])
    snap = open_snapshot(tmp_path / "snap")
    for rel in snap.listed():
        snap.read_bytes(rel)
    assert snap.issues == [] and _left_behind(tmp_path) == []


# ------------------------------------------------------------------------------ Prometheus


@pytest.fixture()
def prom_proxy(prom):
    with FaultProxy(prom.url) as proxy:
        yield proxy


def _prom_client(url: str, attempts: int = 4, deadline: float = 10.0) -> Client:
    return Client(url, name="prometheus", retry=RetryPolicy(attempts=attempts, backoff=0.0),
                  sleep=lambda s: None, timeout=(2.0, 5.0), deadline=deadline)


@pytest.mark.parametrize("kind", RETRIED)
def test_prometheus_fault_once_gives_the_same_series(kind, prom, prom_proxy) -> None:
    from evalkit.prometheus import query_range
    from tests.promserver import T0

    q = 'sum by (model_name) (rate(vllm:generation_tokens_total[5m]))'
    want = query_range(prom.url, q, T0 + 600, T0 + 7200, 60, progress=False).frame
    prom_proxy.inject(kind, **_fault_kw(kind))
    got = query_range(prom_proxy.url, q, T0 + 600, T0 + 7200, 60, progress=False,
                      client=_prom_client(prom_proxy.url,
                                          deadline=DEADLINE if kind == "slow" else 10.0)).frame
    assert got.equals(want) and len(got) > 100
    assert [r.fault for r in prom_proxy.requests_seen][:1] == [kind]


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_prometheus_persistent_fault_is_a_typed_error(kind, prom_proxy) -> None:
    from evalkit.prometheus import query_range
    from tests.promserver import T0

    prom_proxy.inject(kind, times=None, **_fault_kw(kind))
    t0 = time.monotonic()
    with pytest.raises(HTTPError) as ei:
        query_range(prom_proxy.url, "up", T0, T0 + 3600, 60, progress=False,
                    client=_prom_client(prom_proxy.url, attempts=3, deadline=DEADLINE))
    assert time.monotonic() - t0 < 3 * DEADLINE + 6
    assert "/api/v1/query_range" in ei.value.endpoint and "\n" not in str(ei.value)


def test_prometheus_faults_during_a_pull_leave_the_same_snapshot(prom, prom_proxy, tmp_path,
                                                                  monkeypatch) -> None:
    """A whole `pull` with Prometheus behind the proxy: transient faults on some queries, and
    the saved answers are byte for byte those of a fault-free pull."""
    from tests.promserver import MODELS, T0, selector

    jobs = [make_lmevaljob("eval-0", namespace=NS, model="mistral-24b")]
    kw = {"selectors": {m.name: selector(m) for m in MODELS[:1]}, "start": T0 + 600,
          "end": T0 + 3600, "step": "60s"}
    with KubeAPIServer({NS: jobs}) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "kc")))
        clean = pull(tmp_path / "clean", namespace=NS, prometheus=prom.url, **kw)
        for kind in ("503", "429", "drop", "truncate", "invalid_json", "html"):
            prom_proxy.inject(kind, match="query")
        faulty = pull(tmp_path / "faulty", namespace=NS, prometheus=prom_proxy.url, **kw)
        prom_proxy.inject("503", times=None)
        with pytest.raises(HTTPError, match="prometheus"):
            pull(tmp_path / "failed", namespace=NS, prometheus=prom_proxy.url, **kw)
    files = [json.loads((clean / "manifest.json").read_text())["files"],
             json.loads((faulty / "manifest.json").read_text())["files"]]
    assert files[0] == files[1]  # same paths, sizes and sha256
    assert not (tmp_path / "failed").exists() and _left_behind(tmp_path) == []


@pytest.mark.parametrize("mode", ["trickle_body", "huge", "redirect"])
def test_prometheus_hostile_server_is_bounded(mode, monkeypatch) -> None:
    from evalkit.prometheus import query_range

    monkeypatch.setenv("EVALKIT_MAX_BODY_MB", "2")
    with HostileServer(mode, interval=0.1, to="http://127.0.0.2:9") as host:
        t0 = time.monotonic()
        with pytest.raises(HTTPError):
            query_range(host.url, "up", 0, 600, 60, progress=False,
                        client=_prom_client(host.url, attempts=2, deadline=DEADLINE))
    assert time.monotonic() - t0 < 2 * DEADLINE + 6


# ------------------------------------------------------------------------------ Model Registry


@pytest.fixture()
def registry():
    pytest.importorskip("evalkit.registry")
    from tests.servers.model_registry import ModelRegistryServer

    with ModelRegistryServer() as srv:
        srv.add_model("mistral-24b", {"1.0": {"eval_arc_easy_acc,none": 0.81}})
        srv.add_model("mistral-24b-w4a16", {"1.0": {"eval_arc_easy_acc,none": 0.8}})
        with FaultProxy(srv.url) as proxy:
            yield srv, proxy


def _read(url: str, attempts: int = 4, deadline: float = 10.0):
    from evalkit.registry.read import read_versions

    return read_versions(url, retry=RetryPolicy(attempts=attempts, backoff=0.0),
                         sleep=lambda s: None, deadline=deadline)


@pytest.mark.parametrize("kind", ["503", "429", "truncate", "html", "slow"])
def test_registry_fault_once_gives_the_same_versions(kind, registry) -> None:
    srv, proxy = registry
    want = _read(srv.url)
    proxy.inject(kind, **_fault_kw(kind))
    got = _read(proxy.url, deadline=DEADLINE if kind == "slow" else 10.0)
    for name in ("versions", "properties"):
        a, b = getattr(want, name, None), getattr(got, name, None)
        if a is not None:
            assert a.equals(b), name


@pytest.mark.parametrize("kind", ["503", "drop", "slow", "html", "invalid_json"])
def test_registry_persistent_fault_is_a_typed_error(kind, registry) -> None:
    srv, proxy = registry
    proxy.inject(kind, times=None, **_fault_kw(kind))
    t0 = time.monotonic()
    with pytest.raises(EvalkitError) as ei:
        _read(proxy.url, attempts=2, deadline=DEADLINE)
    assert time.monotonic() - t0 < 2 * DEADLINE + 6
    assert "\n" not in str(ei.value)


def test_registry_wrong_token_is_an_auth_error(registry) -> None:
    from tests.servers.model_registry import ModelRegistryServer

    with ModelRegistryServer(token="the-right-token") as srv:
        from evalkit.registry.read import read_versions

        with pytest.raises(AuthError):
            read_versions(srv.url, token="a-wrong-token", retry=RetryPolicy(attempts=1))


# ------------------------------------------------------------------------------ races


def test_a_folder_appearing_at_the_last_moment_is_not_replaced(kube, tmp_path, monkeypatch):
    """Between the last check of --out and the move into place another process creates an
    (empty) folder there: a plain rename would silently replace it; the pull refuses."""
    from evalkit.core.errors import InputError
    from evalkit.core.snapshot import SnapshotWriter

    real = SnapshotWriter.check_target
    calls = []

    def check_then_race(self):
        real(self)
        calls.append(1)
        if len(calls) == 3:  # entry, after the lock, and the last one before the move
            self.out.mkdir()

    monkeypatch.setattr(SnapshotWriter, "check_target", check_then_race)
    with pytest.raises(InputError, match="appeared while evalkit was writing"):
        pull(tmp_path / "snap", namespace=NS)
    assert (tmp_path / "snap").is_dir() and list((tmp_path / "snap").iterdir()) == []
    assert _left_behind(tmp_path) == []
