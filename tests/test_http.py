"""evalkit.core.http: retries, Retry-After, every FaultProxy fault kind, TLS, tokens, settings.

Every fault ends retried-and-complete or as a typed HTTPError naming the endpoint and the
cause — never as silently short data. A fake ``sleep`` keeps the retry tests fast.
"""

from __future__ import annotations

import email.utils
import time
import warnings
from pathlib import Path

import pytest

from evalkit.core.auth import BearerToken, ServiceAccountToken, TokenFile, resolve_auth
from evalkit.core.errors import AuthError, ConfigError, HTTPError, InputError, NotFoundError
from evalkit.core.http import Client, RetryPolicy, resolve_verify
from evalkit.core.settings import SERVICES, resolve_url, service_client
from tests.servers import FAULT_KINDS, FaultProxy, KubeAPIServer, make_certs, make_lmevaljob
from tests.servers.kube_api import DEFAULT_TOKEN

LIST = "/apis/trustyai.opendatahub.io/v1alpha1/namespaces/demo/lmevaljobs"


class FakeSleep:
    """Records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("EVALKIT_CA_BUNDLE", "KUBECONFIG", *(f"{p}_{s}" for p in SERVICES.values()
                                                     for s in ("URL", "TOKEN", "TOKEN_FILE"))):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")


@pytest.fixture()
def upstream():
    """A JSON server (the kube test server, anonymous) with a list of 20 jobs."""
    jobs = [make_lmevaljob(f"job-{i:02d}", namespace="demo") for i in range(20)]
    with KubeAPIServer({"demo": jobs}, token=None) as api:
        yield api


@pytest.fixture()
def proxy(upstream: KubeAPIServer):
    with FaultProxy(upstream.url) as p:
        yield p


def make_client(url: str, sleep: FakeSleep, attempts: int = 4, read_timeout: float = 5.0,
                **kw) -> Client:
    return Client(url, name="test api", sleep=sleep, timeout=(2.0, read_timeout),
                  retry=RetryPolicy(attempts=attempts, backoff=0.01), **kw)


# ------------------------------------------------------------------------------ retries


RETRIED_ONCE = [k for k in FAULT_KINDS if k != "500"]


@pytest.mark.parametrize("kind", RETRIED_ONCE)
def test_each_fault_once_is_retried_and_complete(kind: str, upstream, proxy) -> None:
    sleep = FakeSleep()
    expected = make_client(upstream.url, sleep).get_json(LIST)
    kw = {"delay": 1.0} if kind == "slow" else {}
    proxy.inject(kind, **kw)
    client = make_client(proxy.url, sleep, read_timeout=0.3 if kind == "slow" else 5.0)
    got = client.get_json(LIST)
    assert got == expected and len(got["items"]) == 20
    seen = proxy.requests_seen
    assert [r.fault for r in seen] == [kind, None]
    assert len(sleep.calls) == 1


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_persistent_fault_is_a_typed_error(kind: str, proxy) -> None:
    sleep = FakeSleep()
    kw = {"delay": 1.0} if kind == "slow" else {}
    proxy.inject(kind, times=None, **kw)
    client = make_client(proxy.url, sleep, attempts=3, read_timeout=0.2 if kind == "slow" else 5)
    with pytest.raises(HTTPError) as ei:
        client.get_json(LIST)
    err = ei.value
    text = str(err)
    assert err.endpoint.endswith(LIST) and err.endpoint in text
    assert "test api" in text
    assert err.cause and err.cause in text
    expected_cause = {
        "500": "HTTP 500", "502": "HTTP 502", "503": "HTTP 503", "429": "HTTP 429",
        "slow": "timed out", "drop": "connection failed", "truncate": "body truncated",
        "invalid_json": "not valid JSON", "html": "HTML page",
    }[kind]
    assert expected_cause in text
    attempts = 1 if kind == "500" else 3
    assert len(proxy.requests_seen) == attempts
    assert len(sleep.calls) == attempts - 1
    assert "\n" not in text


def test_html_502_names_the_page(proxy) -> None:
    proxy.inject("html", times=None, status=502)
    with pytest.raises(HTTPError) as ei:
        make_client(proxy.url, FakeSleep(), attempts=2).get_json(LIST)
    assert ei.value.status == 502
    assert "Application is not available" in str(ei.value)


def test_truncated_body_is_never_returned_short_even_without_json(proxy) -> None:
    proxy.inject("truncate", times=None)
    with pytest.raises(HTTPError, match="truncated"):
        make_client(proxy.url, FakeSleep(), attempts=2).request("GET", LIST)


def test_retry_after_seconds_is_honoured(upstream, proxy) -> None:
    sleep = FakeSleep()
    proxy.inject("429", retry_after=7)
    proxy.inject("503", headers={"Retry-After": "3"})
    doc = make_client(proxy.url, sleep).get_json(LIST)
    assert len(doc["items"]) == 20
    assert sleep.calls == [7.0, 3.0]


def test_retry_after_http_date_is_honoured(proxy) -> None:
    sleep = FakeSleep()
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    proxy.inject("429", retry_after=when)
    make_client(proxy.url, sleep).get_json(LIST)
    assert len(sleep.calls) == 1 and 25 <= sleep.calls[0] <= 31


def test_retry_after_is_capped(proxy) -> None:
    sleep = FakeSleep()
    proxy.inject("429", retry_after=100000)
    make_client(proxy.url, sleep).get_json(LIST)
    assert sleep.calls == [RetryPolicy().max_retry_after]


def test_backoff_grows_without_retry_after(proxy) -> None:
    sleep = FakeSleep()
    proxy.inject("503", times=3)
    client = Client(proxy.url, sleep=sleep, retry=RetryPolicy(attempts=4, backoff=1.0))
    client.get_json(LIST)
    assert len(sleep.calls) == 3
    for i, wait in enumerate(sleep.calls):
        assert 0.5 * 2**i <= wait <= 2**i


def test_fault_match_only_hits_matching_paths(upstream, proxy) -> None:
    proxy.inject("503", times=None, match="/version")
    client = make_client(proxy.url, FakeSleep(), attempts=2)
    assert len(client.get_json(LIST)["items"]) == 20
    with pytest.raises(HTTPError, match="503"):
        client.get_json("/version")
    proxy.clear()
    assert proxy.pending == []
    assert client.get_json("/version")["major"] == "1"


def test_inject_rejects_unknown_kinds_and_options(proxy) -> None:
    with pytest.raises(ValueError):
        proxy.inject("418")
    with pytest.raises(TypeError):
        proxy.inject("429", retry_afterr=1)


def test_connection_refused_is_retried_then_typed(tmp_path: Path) -> None:
    with KubeAPIServer(token=None) as api:
        url = api.url  # the port is free again once the server stops
    sleep = FakeSleep()
    with pytest.raises(HTTPError, match="connection failed") as ei:
        make_client(url, sleep, attempts=3).get_json("/version")
    assert ei.value.status is None and len(sleep.calls) == 2


def test_a_write_is_not_retried_after_the_request_was_sent(proxy) -> None:
    proxy.inject("drop")
    with pytest.raises(HTTPError, match="not retried"):
        make_client(proxy.url, FakeSleep()).send_json("POST", LIST, json_body={"a": 1},
                                                      idempotent=False)
    assert len(proxy.requests_seen) == 1


def test_a_write_is_retried_when_the_connection_was_refused() -> None:
    with KubeAPIServer(token=None) as api:
        url = api.url
    sleep = FakeSleep()
    with pytest.raises(HTTPError, match="failed after 2"):
        make_client(url, sleep, attempts=2).request("POST", "/x", idempotent=False)
    assert len(sleep.calls) == 1


def test_read_only_post_is_retried_after_a_drop(proxy) -> None:
    proxy.inject("drop")
    resp = make_client(proxy.url, FakeSleep()).request("POST", LIST, data={"query": "up"},
                                                       ok=lambda r: r.status_code == 405,
                                                       idempotent=True)
    assert resp.status_code == 405 and [r.fault for r in proxy.requests_seen] == ["drop", None]


def test_plain_post_is_not_repeated_after_a_drop_by_default(proxy) -> None:
    proxy.inject("drop")
    with pytest.raises(HTTPError, match="not retried because the server may already have acted"):
        make_client(proxy.url, FakeSleep()).request("POST", LIST, data={"query": "up"})
    assert [r.fault for r in proxy.requests_seen] == ["drop"]


def test_validate_hook_retries_bad_bodies_and_reraises_the_last(upstream) -> None:
    from evalkit.core.errors import BadResponseBody

    calls = []

    def reject(resp):
        calls.append(resp.status_code)
        raise BadResponseBody("not the expected document", endpoint="x")

    sleep = FakeSleep()
    with pytest.raises(BadResponseBody, match="failed after 3 attempt.*not the expected document"):
        make_client(upstream.url, sleep, attempts=3).request("GET", LIST, validate=reject)
    assert len(calls) == 3

    value = make_client(upstream.url, FakeSleep()).request(
        "GET", LIST, validate=lambda r: r.status_code).evalkit_value
    assert value == 200


def test_post_is_retried_on_503(proxy) -> None:
    proxy.inject("503")
    client = make_client(proxy.url, FakeSleep())
    resp = client.request("POST", LIST, json_body={}, ok=lambda r: r.status_code == 405)
    assert resp.status_code == 405  # the upstream answer, after one retry
    assert [r.fault for r in proxy.requests_seen] == ["503", None]


def test_status_errors_are_typed(upstream) -> None:
    client = make_client(upstream.url, FakeSleep())
    with pytest.raises(NotFoundError) as ei:
        client.get_json("/apis/nothing/here")
    assert ei.value.status == 404 and "404" in str(ei.value)


def test_accepted_error_status_is_returned_not_retried(upstream) -> None:
    sleep = FakeSleep()
    client = make_client(upstream.url, sleep)
    resp = client.request("GET", "/apis/x", parse_json=True, ok=lambda r: r.status_code == 404)
    assert resp.status_code == 404 and resp.evalkit_json is None and sleep.calls == []


def test_absolute_url_to_another_origin_is_refused(upstream) -> None:
    client = make_client(upstream.url, FakeSleep(), auth=BearerToken("marker-origin-1"))
    assert client.url(upstream.url + "/version") == upstream.url + "/version"
    with pytest.raises(ValueError, match="refusing"):
        client.url("http://evil.example/version")


# ------------------------------------------------------------------------------ TLS


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture()
def https_api(certs):
    with KubeAPIServer({"demo": [make_lmevaljob("j1")]}, token=None, tls=certs) as api:
        yield api


def test_tls_verification_is_on_by_default(https_api) -> None:
    client = Client(https_api.url, retry=RetryPolicy(attempts=1))
    assert client.verify is True and client.describe()["tls_verify"] is True
    with pytest.raises(HTTPError, match="TLS verification failed") as ei:
        client.get_json("/version")
    assert "ca_bundle" in str(ei.value) and ei.value.cause == "tls"


def test_custom_ca_bundle_works(https_api, certs) -> None:
    client = Client(https_api.url, ca_bundle=certs.ca_cert)
    assert client.get_json(LIST)["items"][0]["metadata"]["name"] == "j1"
    assert client.describe()["ca_bundle"] == str(certs.ca_cert)


def test_wrong_ca_fails(https_api, certs) -> None:
    with pytest.raises(HTTPError, match="TLS"):
        Client(https_api.url, ca_bundle=certs.other_ca_cert).get_json("/version")


def test_ca_bundle_from_environment(https_api, certs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALKIT_CA_BUNDLE", str(certs.ca_cert))
    assert Client(https_api.url).get_json("/version")["major"] == "1"


def test_missing_ca_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a file"):
        resolve_verify("https://x.example", tmp_path / "nope.pem")


def test_in_cluster_service_ca_found_for_svc_hosts(tmp_path: Path, monkeypatch) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "service-ca.crt").write_text("pem")
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", sa)
    assert resolve_verify("https://thanos-querier.openshift-monitoring.svc:9091") == \
        str(sa / "service-ca.crt")
    assert resolve_verify("https://prometheus.example.com") is True


def test_insecure_is_loud_and_recorded(https_api) -> None:
    with pytest.warns(UserWarning, match="TLS verification is OFF"):
        client = Client(https_api.url, insecure=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert client.get_json("/version")["major"] == "1"
    d = client.describe()
    assert d["insecure"] is True and d["tls_verify"] is False


def test_client_certificate_is_sent(certs) -> None:
    with KubeAPIServer({"demo": []}, token="marker-unused-token", tls=certs) as api:
        client = Client(api.url, ca_bundle=certs.ca_cert,
                        cert=(str(certs.client_cert), str(certs.client_key)))
        assert client.get_json(LIST)["items"] == []
        assert api.requests_seen[-1].user == "evalkit-test-user"
        assert client.describe()["client_cert"] is True


# ------------------------------------------------------------------------------ tokens and settings


def test_token_file_is_reread_on_every_request(tmp_path: Path) -> None:
    tok = tmp_path / "token"
    tok.write_text("marker-first-token-1\n")
    with KubeAPIServer({"demo": []}, token="marker-first-token-1") as api:
        client = Client(api.url, auth=TokenFile(tok))
        client.get_json(LIST)
        tok.write_text("marker-second-token-2")
        api.token = "marker-second-token-2"
        client.get_json(LIST)
    sent = [r.headers["Authorization"] for r in api.requests_seen]
    assert sent == ["Bearer marker-first-token-1", "Bearer marker-second-token-2"]


def test_service_account_token_only_when_asked_and_only_over_https(
        tmp_path: Path, monkeypatch, certs) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("marker-sa-token-aaaa")
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", sa)
    assert resolve_auth(None, env_prefix="EVALKIT_PROMETHEUS") is None  # not opted in
    auth = resolve_auth(None, env_prefix="EVALKIT_PROMETHEUS", service_account=True)
    assert isinstance(auth, ServiceAccountToken)
    with pytest.raises(ConfigError, match="over plain http"):
        Client("http://127.0.0.1:9", auth=auth)
    with KubeAPIServer({"demo": []}, token="marker-sa-token-aaaa", tls=certs) as api:
        client = Client(api.url, auth=auth, ca_bundle=certs.ca_cert)
        client.get_json(LIST)
        (sa / "token").write_text("marker-sa-token-bbbb")  # projected token rotated
        api.token = "marker-sa-token-bbbb"
        client.get_json(LIST)
    assert [r.user for r in api.requests_seen] == [api.user, api.user]


def test_unreadable_token_file_is_an_auth_error(tmp_path: Path, upstream) -> None:
    with pytest.raises(AuthError, match="cannot read token file"):
        TokenFile(tmp_path / "missing")  # read once when it enters
    token = tmp_path / "token"
    token.write_text("marker-file-token-1")
    client = Client(upstream.url, auth=TokenFile(token))
    token.unlink()  # gone later: the next request says so
    with pytest.raises(AuthError, match="cannot read token file"):
        client.get_json("/version")


def test_resolve_auth_order(tmp_path: Path, monkeypatch) -> None:
    f = tmp_path / "t"
    f.write_text("marker-file-token")
    monkeypatch.setenv("EVALKIT_REGISTRY_TOKEN", "marker-env-token")
    assert resolve_auth("marker-arg-token", env_prefix="EVALKIT_REGISTRY").describe() == \
        "bearer token (argument)"
    assert isinstance(resolve_auth(None, token_file=f, env_prefix="EVALKIT_REGISTRY"), TokenFile)
    assert resolve_auth(None, env_prefix="EVALKIT_REGISTRY").describe() == \
        "bearer token ($EVALKIT_REGISTRY_TOKEN)"
    monkeypatch.delenv("EVALKIT_REGISTRY_TOKEN")
    monkeypatch.setenv("EVALKIT_REGISTRY_TOKEN_FILE", str(f))
    assert isinstance(resolve_auth(None, env_prefix="EVALKIT_REGISTRY"), TokenFile)
    assert resolve_auth(None, env_prefix="EVALKIT_REGISTRY", service_account=False) is not None
    monkeypatch.delenv("EVALKIT_REGISTRY_TOKEN_FILE")
    assert resolve_auth(None, env_prefix="EVALKIT_REGISTRY") is None


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_client_reads_the_environment(service: str, monkeypatch) -> None:
    prefix = SERVICES[service]
    with KubeAPIServer({"demo": []}, token="marker-service-token") as api:
        monkeypatch.setenv(f"{prefix}_URL", api.url + "/")
        monkeypatch.setenv(f"{prefix}_TOKEN", "marker-service-token")
        client = service_client(service)
        assert client.get_json(LIST)["items"] == []
        d = client.describe()
    assert d["url"] == api.url and d["auth"] == f"bearer token (${prefix}_TOKEN)"
    assert "marker-service-token" not in repr(client) + repr(d)


def test_service_client_without_url_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="EVALKIT_PROMETHEUS_URL"):
        service_client("prometheus")
    with pytest.raises(InputError, match="http"):
        resolve_url("ftp://x", "EVALKIT_REGISTRY_URL")
    with pytest.raises(InputError, match="query string"):
        resolve_url("https://thanos:9091/?namespace=x", "EVALKIT_PROMETHEUS_URL")
    with pytest.raises(ValueError):
        service_client("grafana", "http://127.0.0.1:1")


def test_wrong_token_is_a_typed_auth_error(upstream) -> None:
    with KubeAPIServer({"demo": []}, token=DEFAULT_TOKEN) as api:
        with pytest.raises(AuthError, match="401"):
            Client(api.url, auth=BearerToken("marker-wrong-token")).get_json(LIST)
