"""A marker token given through each channel never shows up anywhere it could leak.

Channels: ``token=`` argument, environment variable (``EVALKIT_*_TOKEN``), token file
(``--token-file`` / ``EVALKIT_*_TOKEN_FILE``), kubeconfig, in-cluster service-account file.
Places checked: every file of a pulled snapshot, every log record at DEBUG (evalkit, urllib3,
kubernetes, root), every ``repr``, every exception text (message, repr, formatted traceback).
The report part of the check is added with the report (issue 3, lead).
"""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evalkit import kube
from evalkit.collect import pull
from evalkit.core.auth import BearerToken, TokenFile
from evalkit.core.errors import EvalkitError
from evalkit.core.http import Client, RetryPolicy
from evalkit.core.secrets import redact
from evalkit.core.settings import service_client
from evalkit.lmeval import list_lmevaljobs
from tests.servers import FaultProxy, KubeAPIServer, make_certs, make_lmevaljob

NS = "secret-test"
MARKER = "sha256~MARKER-s3cr3t-" + "7f3a9c2e1b"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "EVALKIT_CA_BUNDLE",
                "EVALKIT_PROMETHEUS_TOKEN", "EVALKIT_PROMETHEUS_TOKEN_FILE",
                "EVALKIT_REGISTRY_TOKEN", "EVALKIT_REGISTRY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", tmp_path / "no-sa")


@pytest.fixture()
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "evalkit", "kubernetes", "client", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory):
    return make_certs(tmp_path_factory.mktemp("scerts"))


def _jobs() -> list[dict[str, Any]]:
    return [make_lmevaljob(f"eval-{i}", namespace=NS, model=m)
            for i, m in enumerate(["mistral-small-24b", "mistral-small-24b-w4a16"] * 2)]


def assert_clean(*, folder: Path | None = None, logs: pytest.LogCaptureFixture | None = None,
                 objects: tuple[Any, ...] = (), errors: tuple[BaseException, ...] = ()) -> None:
    """The marker is in no file, log record, repr or exception text."""
    if folder is not None:
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files, "nothing to check: the snapshot is empty"
        for p in files:
            assert MARKER.encode() not in p.read_bytes(), f"token leaked into {p}"
    if logs is not None:
        assert logs.records, "nothing to check: no log records captured"
        for rec in logs.records:
            text = f"{rec.getMessage()} {rec.args!r} {rec.exc_text or ''}"
            assert MARKER not in text, f"token leaked into a log record of {rec.name}"
        assert MARKER not in logs.text
    for obj in objects:
        assert MARKER not in repr(obj) and MARKER not in str(obj), f"token in repr of {type(obj)}"
    for exc in errors:
        text = "".join(traceback.format_exception(exc))
        assert MARKER not in text and MARKER not in repr(exc), "token in exception text"


def _failing(fn: Callable[[], Any]) -> BaseException:
    with pytest.raises(EvalkitError) as ei:
        fn()
    return ei.value


# ------------------------------------------------------------------------------ pull channels


def test_argument_channel(tmp_path: Path, logs) -> None:
    with KubeAPIServer({NS: _jobs()}, token=MARKER) as api, FaultProxy(api.url) as proxy:
        path = api.write_kubeconfig(tmp_path / "kc", token=None, server=proxy.url)
        proxy.inject("503")
        proxy.inject("429", retry_after=0)
        out = pull(tmp_path / "snap", namespace=NS, kubeconfig=path, token=MARKER)
        assert len(api.requests_seen) >= 1
        api.token = "another-token-entirely"  # now the marker is rejected: 401
        err = _failing(lambda: pull(tmp_path / "snap2", namespace=NS, kubeconfig=path,
                                    token=MARKER))
        proxy.inject("drop", times=None)
        conn = kube.connect(kubeconfig=path, token=MARKER, sleep=lambda s: None)
        err2 = _failing(lambda: list_lmevaljobs(NS, connection=conn))
        conn.close()
    assert_clean(folder=out, logs=logs, errors=(err, err2),
                 objects=(BearerToken(MARKER), conn, conn.client))
    assert not (tmp_path / "snap2").exists()


def test_token_file_channel(tmp_path: Path, logs) -> None:
    tok = tmp_path / "token"
    tok.write_text(MARKER + "\n")
    with KubeAPIServer({NS: _jobs()}, token=MARKER) as api:
        path = api.write_kubeconfig(tmp_path / "kc", token=None)
        auth = TokenFile(tok)
        out = pull(tmp_path / "snap", namespace=NS, kubeconfig=path, token=auth)
        api.forbidden_namespaces.add(NS)
        err = _failing(lambda: pull(tmp_path / "snap2", namespace=NS, kubeconfig=path,
                                    token=auth))
    assert_clean(folder=out, logs=logs, errors=(err,), objects=(auth,))


def test_kubeconfig_channel(tmp_path: Path, logs, monkeypatch: pytest.MonkeyPatch) -> None:
    with KubeAPIServer({NS: _jobs()}, token=MARKER) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "kc")))
        out = pull(tmp_path / "snap", namespace=NS)
        conn = kube.connect()
        err = _failing(lambda: list_lmevaljobs("missing-ns"))
        api.crd_installed = False
        err2 = _failing(lambda: pull(tmp_path / "snap2", namespace=NS))
    assert_clean(folder=out, logs=logs, errors=(err, err2),
                 objects=(conn, conn.client, conn.client.auth, conn.describe()))
    conn.close()


def test_service_account_channel(tmp_path: Path, logs, certs,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(MARKER)
    (sa / "ca.crt").write_bytes(certs.ca_cert.read_bytes())
    monkeypatch.setattr("evalkit.core.auth.SERVICE_ACCOUNT_DIR", sa)
    with KubeAPIServer({NS: _jobs()}, token=MARKER, tls=certs) as api:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
        out = pull(tmp_path / "snap", namespace=NS)
        api.token = "rotated-elsewhere"
        err = _failing(lambda: pull(tmp_path / "snap2", namespace=NS))
        conn = kube.connect()
    assert [r.headers.get("Authorization") for r in api.requests_seen][0] == f"Bearer {MARKER}"
    assert_clean(folder=out, logs=logs, errors=(err,), objects=(conn, conn.client.auth))
    conn.close()


# ------------------------------------------------------------------------------ HTTP-layer channels


@pytest.mark.parametrize("channel", ["environment", "env token file"])
def test_environment_channels(channel: str, tmp_path: Path, logs,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    if channel == "environment":
        monkeypatch.setenv("EVALKIT_PROMETHEUS_TOKEN", MARKER)
    else:
        f = tmp_path / "prom-token"
        f.write_text(MARKER)
        monkeypatch.setenv("EVALKIT_PROMETHEUS_TOKEN_FILE", str(f))
    path = "/apis/trustyai.opendatahub.io/v1alpha1/namespaces/secret-test/lmevaljobs"
    with KubeAPIServer({NS: _jobs()}, token=MARKER) as api, FaultProxy(api.url) as proxy:
        monkeypatch.setenv("EVALKIT_PROMETHEUS_URL", proxy.url)
        client = service_client("prometheus", sleep=lambda s: None,
                                retry=RetryPolicy(attempts=4, backoff=0.0))
        for kind in ("503", "truncate", "html"):
            proxy.inject(kind)
        doc = client.get_json(path)
        assert len(doc["items"]) == 4
        # a snapshot written by a source using this client
        from evalkit.core.snapshot import SnapshotWriter

        with SnapshotWriter(tmp_path / "snap") as w:
            w.write_json("prometheus/answer.json", doc)
            w.add_source("prometheus", client.describe())
        proxy.inject("502", times=None)
        err = _failing(lambda: client.get_json(path))
        proxy.clear()
        api.token = "someone-else"
        err2 = _failing(lambda: client.get_json(path))
    assert_clean(folder=tmp_path / "snap", logs=logs, errors=(err, err2),
                 objects=(client, client.auth, client.describe()))


def test_secret_in_url_and_error_bodies_is_redacted(logs) -> None:
    # a server that echoes the Authorization header back in its error body
    with KubeAPIServer({NS: []}, token="x" * 12) as api, FaultProxy(api.url) as proxy:
        proxy.inject("500", times=None, body=f"bad token: Bearer {MARKER}")
        client = Client(proxy.url.replace("http://", f"http://user:{MARKER}@"),
                        auth=BearerToken(MARKER), retry=RetryPolicy(attempts=1))
        err = _failing(lambda: client.get_json("/version"))
    assert "<redacted>" in str(err)
    assert_clean(logs=logs, errors=(err,), objects=(client, client.describe()))


def test_snapshot_writer_refuses_a_known_secret(tmp_path: Path) -> None:
    from evalkit.core.snapshot import SnapshotWriter

    BearerToken(MARKER)
    with pytest.raises(EvalkitError, match="credential"), SnapshotWriter(tmp_path / "s") as w:
        w.write_json("x.json", {"oops": MARKER})
    assert not (tmp_path / "s").exists()


def test_auth_objects_do_not_pickle_or_print() -> None:
    import pickle

    auth = BearerToken(MARKER)
    with pytest.raises(TypeError):
        pickle.dumps(auth)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert MARKER not in f"{auth} {auth!r} {auth.describe()}"
    assert redact(f"Authorization: Bearer {MARKER}") == "Authorization: Bearer <redacted>"
