"""Throw-away TLS material for loopback HTTPS tests.

:func:`make_certs` writes a private CA, a server certificate for ``127.0.0.1``/``localhost``
and a client certificate signed by the same CA (for client-certificate kubeconfigs), using the
``cryptography`` package when it is installed and the ``openssl`` CLI otherwise.

>>> certs = make_certs(tmp_path)                                   # doctest: +SKIP
>>> ctx = certs.server_context(require_client_cert=True)          # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertSet:
    """Paths of the PEM files :func:`make_certs` wrote."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a second CA that did NOT sign the server (verification must fail)

    def server_context(self, *, require_client_cert: bool = False) -> ssl.SSLContext:
        """An ``SSLContext`` for a loopback HTTPS server using these files."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca_cert)
        return ctx


def make_certs(directory: str | Path) -> CertSet:
    """Write a CA, a server and a client certificate into ``directory`` and return their paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    try:
        import cryptography  # noqa: F401
    except ImportError:
        if shutil.which("openssl") is None:  # pragma: no cover - environment without either
            import pytest

            pytest.skip("neither the cryptography package nor the openssl CLI is available")
        return _with_openssl(d)
    return _with_cryptography(d)


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _with_openssl(d: Path) -> CertSet:
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for name in ("ca", "other-ca"):
        _run("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN=evalkit test {name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    leaf = {
        "server": ("/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "extendedKeyUsage=serverAuth\n"),
        "client": ("/O=system:masters/CN=evalkit-test-user", "extendedKeyUsage=clientAuth\n"),
    }
    for name, (subj, ext) in leaf.items():
        (d / f"{name}.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,"
            "keyEncipherment\nauthorityKeyIdentifier=keyid\n" + ext)
        _run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        _run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
             cwd=d)
    return CertSet(d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt",
                   d / "client.key", d / "other-ca.crt")


def _with_cryptography(d: Path) -> CertSet:  # pragma: no cover - depends on the environment
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def save(name: str, cert: x509.Certificate, k: ec.EllipticCurvePrivateKey) -> None:
        (d / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (d / f"{name}.key").write_bytes(k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))

    def ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        k = key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"evalkit test {name}")])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(k.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                             False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()),
                               critical=False)
                .sign(k, hashes.SHA256()))
        save(name, cert, k)
        return cert, k

    ca_cert, ca_key = ca("ca")
    ca("other-ca")
    for name, subject, extra in (
        ("server", [x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")], "server"),
        ("client", [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "evalkit-test-user")], "client"),
    ):
        k = key()
        b = (x509.CertificateBuilder().subject_name(x509.Name(subject))
             .issuer_name(ca_cert.subject).public_key(k.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 ca_key.public_key()), critical=False))
        if extra == "server":
            b = b.add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                critical=False)
        else:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                                critical=False)
        save(name, b.sign(ca_key, hashes.SHA256()), k)
    return CertSet(d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt",
                   d / "client.key", d / "other-ca.crt")
