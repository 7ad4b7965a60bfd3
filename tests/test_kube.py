"""evalkit.kube: LMEvalJobs through KUBECONFIG / in-cluster settings, paging, selectors, errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from evalkit import kube
from evalkit.core.errors import AuthError, ConfigError, HTTPError, InputError, NotFoundError
from evalkit.core.http import RetryPolicy
from evalkit.lmeval import list_lmevaljobs
from tests.servers import FaultProxy, KubeAPIServer, make_certs, make_lmevaljob

NS = "private-ai-demo"


def _jobs(n: int = 7) -> list[dict]:
    models = ["mistral-small-24b", "mistral-small-24b-w4a16"]
    return [make_lmevaljob(f"eval-{i:02d}", namespace=NS, model=models[i % 2],
                           labels={"app": "eval", "precision": ["fp16", "w4a16", "w8a8"][i % 3],
                                   **({"pinned": "yes"} if i < 2 else {})})
            for i in range(n)]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.kube/config from the machine
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("EVALKIT_CA_BUNDLE", raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")


@pytest.fixture()
def api():
    with KubeAPIServer({NS: _jobs()}, forbidden_namespaces={"locked"}) as server:
        yield server


@pytest.fixture()
def kubeconfig(api: KubeAPIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = api.write_kubeconfig(tmp_path / "kube" / "config", namespace=NS)
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def names(doc: dict) -> list[str]:
    return [i["metadata"]["name"] for i in doc["items"]]


# ------------------------------------------------------------------------------ listing


def test_kubeconfig_env_pages_return_every_job_untouched(api, kubeconfig) -> None:
    progress: list[tuple] = []
    doc = list_lmevaljobs(NS, page_size=3, progress=lambda *a: progress.append(a))
    assert doc["kind"] == "LMEvalJobList"
    assert doc["apiVersion"] == "trustyai.opendatahub.io/v1alpha1"
    assert doc["items"] == api.jobs(NS)  # exactly what the API holds, in order
    assert set(doc["metadata"]) == {"resourceVersion"}
    assert progress == [(1, 3, 4), (2, 6, 1), (3, 7, None)]
    lists = [r for r in api.requests_seen if r.path.endswith("/lmevaljobs")]
    assert [r.query.get("limit") for r in lists] == ["3", "3", "3"]
    assert "continue" not in lists[0].query and all("continue" in r.query for r in lists[1:])
    assert all(r.headers["Authorization"] == f"Bearer {api.token}" for r in lists)


def test_no_limit_single_page(api, kubeconfig) -> None:
    doc = list_lmevaljobs(NS, page_size=0)
    assert len(doc["items"]) == 7
    assert "limit" not in api.requests_seen[-1].query


def test_server_short_pages_are_followed(kubeconfig, api) -> None:
    api.max_page_size = 2
    assert len(list_lmevaljobs(NS)["items"]) == 7


@pytest.mark.parametrize("selector, expected", [
    ("precision=fp16", ["eval-00", "eval-03", "eval-06"]),
    ("precision==w4a16", ["eval-01", "eval-04"]),
    ("precision!=fp16", ["eval-01", "eval-02", "eval-04", "eval-05"]),
    ("precision in (w4a16, w8a8),app=eval", ["eval-01", "eval-02", "eval-04", "eval-05"]),
    ("precision notin (fp16,w8a8)", ["eval-01", "eval-04"]),
    ("pinned", ["eval-00", "eval-01"]),
    ("!pinned,precision=fp16", ["eval-03", "eval-06"]),
    ("app=other", []),
])
def test_label_selector(api, kubeconfig, selector: str, expected: list[str]) -> None:
    doc = list_lmevaljobs(NS, label_selector=selector, page_size=2)
    assert names(doc) == expected
    assert all(r.query.get("labelSelector") == selector for r in api.requests_seen)


def test_bad_selector_is_a_typed_error(api, kubeconfig) -> None:
    with pytest.raises(HTTPError, match="400"):
        list_lmevaljobs(NS, label_selector="a in (b")


def test_context_selects_another_cluster(tmp_path: Path, monkeypatch) -> None:
    with KubeAPIServer({NS: _jobs(2)}) as a, KubeAPIServer({NS: _jobs(5)}) as b:
        path = a.write_kubeconfig(tmp_path / "kc", extra_contexts={"other": b.url})
        assert len(list_lmevaljobs(NS, kubeconfig=path)["items"]) == 2
        assert len(list_lmevaljobs(NS, kubeconfig=path, context="other")["items"]) == 5
        with pytest.raises(ConfigError, match="nope"):
            list_lmevaljobs(NS, kubeconfig=path, context="nope")


def test_kubeconfig_list_in_env(api, tmp_path: Path, monkeypatch) -> None:
    path = api.write_kubeconfig(tmp_path / "kc")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{path}")
    assert len(list_lmevaljobs(NS)["items"]) == 7


def test_token_argument_replaces_kubeconfig_credentials(api, tmp_path: Path) -> None:
    path = api.write_kubeconfig(tmp_path / "kc", token="stale-token-000")
    doc = list_lmevaljobs(NS, kubeconfig=path, token=api.token)
    assert len(doc["items"]) == 7


def test_retries_through_faults_still_return_every_job(api, tmp_path: Path) -> None:
    with FaultProxy(api.url) as proxy:
        path = api.write_kubeconfig(tmp_path / "kc", server=proxy.url)
        proxy.inject("503", match="continue=")
        proxy.inject("truncate", match="continue=")
        proxy.inject("429", retry_after=0)
        waits: list[float] = []
        conn = kube.connect(kubeconfig=path, sleep=waits.append,
                            retry=RetryPolicy(attempts=4, backoff=0.01))
        doc = list_lmevaljobs(NS, page_size=2, connection=conn)
    assert doc["items"] == api.jobs(NS)
    assert sorted(f for f in (r.fault for r in proxy.requests_seen) if f) == \
        ["429", "503", "truncate"]
    assert len(waits) == 3


# ------------------------------------------------------------------------------ errors


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def test_401_names_login_and_rbac(api, tmp_path: Path) -> None:
    path = api.write_kubeconfig(tmp_path / "kc", token="marker-bad-token-401")
    with pytest.raises(AuthError) as ei:
        list_lmevaljobs(NS, kubeconfig=path)
    text = _one_line(ei.value)
    assert "401" in text and "oc login" in text
    assert f"`get` and `list` on lmevaljobs.trustyai.opendatahub.io in namespace {NS}" in text
    assert "marker-bad-token-401" not in text + repr(ei.value)
    assert ei.value.status == 401


def test_403_names_the_missing_rbac(api, kubeconfig) -> None:
    with pytest.raises(AuthError) as ei:
        list_lmevaljobs("locked")
    text = _one_line(ei.value)
    assert "403" in text and api.user in text
    assert "`get` and `list` on lmevaljobs.trustyai.opendatahub.io in namespace locked" in text


def test_missing_crd_says_trustyai_is_not_installed(kubeconfig) -> None:
    with KubeAPIServer({NS: []}, crd_installed=False) as api, pytest.raises(NotFoundError) as ei:
        list_lmevaljobs(NS, kubeconfig=api.write_kubeconfig(kubeconfig))
    text = _one_line(ei.value)
    assert "TrustyAI operator" in text and "not installed" in text and "CRD" in text


def test_unknown_namespace(api, kubeconfig) -> None:
    with pytest.raises(NotFoundError, match="namespace nowhere not found"):
        list_lmevaljobs("nowhere")


def test_expired_continue_token_is_a_clear_error(api, kubeconfig) -> None:
    api.expire_tokens_after_pages = 1
    with pytest.raises(HTTPError) as ei:
        list_lmevaljobs(NS, page_size=3)
    text = _one_line(ei.value)
    assert ei.value.status == 410 and "continue token expired" in text and "run again" in text


def test_no_configuration_at_all(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="oc login"):
        list_lmevaljobs(NS)


def test_missing_kubeconfig_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no kubeconfig file"):
        list_lmevaljobs(NS, kubeconfig=tmp_path / "nope")


def test_namespace_is_required(api, kubeconfig) -> None:
    with pytest.raises(InputError, match="namespace"):
        list_lmevaljobs("")


# ------------------------------------------------------------------------------ TLS, certs, in-cluster


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory):
    return make_certs(tmp_path_factory.mktemp("kcerts"))


def test_client_certificate_kubeconfig(certs, tmp_path: Path) -> None:
    with KubeAPIServer({NS: _jobs(3)}, tls=certs) as api:
        path = api.write_kubeconfig(tmp_path / "kc", token=None, client_cert=True)
        doc = list_lmevaljobs(NS, kubeconfig=path)
        assert len(doc["items"]) == 3
        assert api.requests_seen[-1].user == "evalkit-test-user"
        assert "Authorization" not in api.requests_seen[-1].headers


def test_kubeconfig_ca_is_used_and_wrong_ca_fails(certs, tmp_path: Path) -> None:
    with KubeAPIServer({NS: _jobs(1)}, tls=certs) as api:
        assert len(list_lmevaljobs(NS, kubeconfig=api.write_kubeconfig(tmp_path / "a"))
                   ["items"]) == 1
        bad = api.write_kubeconfig(tmp_path / "b", ca_cert=certs.other_ca_cert)
        with pytest.raises(HTTPError, match="TLS verification failed"):
            list_lmevaljobs(NS, kubeconfig=bad)
        # ca_bundle= replaces the kubeconfig's CA
        assert list_lmevaljobs(NS, kubeconfig=bad, ca_bundle=certs.ca_cert)["items"]


def test_insecure_skip_tls_verify_is_recorded(certs, tmp_path: Path) -> None:
    with KubeAPIServer({NS: _jobs(1)}, tls=certs) as api:
        path = api.write_kubeconfig(tmp_path / "kc", ca_cert=None)
        path = kube_insecure(path)
        with pytest.warns(UserWarning, match="TLS verification is OFF"):
            conn = kube.connect(kubeconfig=path)
        with conn, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert list_lmevaljobs(NS, connection=conn)["items"]
            assert conn.describe()["insecure"] is True


def kube_insecure(path: Path) -> Path:
    import yaml

    doc = yaml.safe_load(path.read_text())
    cluster = doc["clusters"][0]["cluster"]
    cluster.pop("certificate-authority", None)
    cluster["insecure-skip-tls-verify"] = True
    path.write_text(yaml.safe_dump(doc))
    return path


def test_in_cluster_service_account(certs, tmp_path: Path, monkeypatch) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("marker-in-cluster-1")
    (sa / "ca.crt").write_bytes(certs.ca_cert.read_bytes())
    (sa / "namespace").write_text(NS)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", sa)
    with KubeAPIServer({NS: _jobs(4)}, tls=certs, token="marker-in-cluster-1") as api:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
        with kube.connect() as conn:
            assert conn.origin == "in-cluster service account"
            assert conn.default_namespace == NS
            assert len(list_lmevaljobs(NS, connection=conn, page_size=2)["items"]) == 4
            (sa / "token").write_text("marker-in-cluster-2")  # rotated
            api.token = "marker-in-cluster-2"
            assert len(list_lmevaljobs(NS, connection=conn, page_size=2)["items"]) == 4
    assert {r.headers["Authorization"] for r in api.requests_seen} == {
        "Bearer marker-in-cluster-1", "Bearer marker-in-cluster-2"}


# ------------------------------------------------------------------------------ load_lmeval


def test_load_lmeval_namespace_returns_every_job_across_pages(api, kubeconfig) -> None:
    import evalkit.lmeval as lmeval

    api.max_page_size = 2  # load_lmeval uses the default page size: the server pages anyway
    res = lmeval.load_lmeval(namespace=NS)
    assert sorted(res.jobs["job"]) == [f"eval-{i:02d}" for i in range(7)]
    lists = [r for r in api.requests_seen if r.path.endswith("/lmevaljobs")]
    assert len(lists) == 4
    assert set(res.scores["model"]) == {"mistral-small-24b", "mistral-small-24b-w4a16"}
