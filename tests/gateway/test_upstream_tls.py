"""HTTPS upstreams: the pooled client verifies the server's certificate and host name.

Why its own file: the certificate is made here (a throwaway CA-less self-signed one for
127.0.0.1), and trust comes from SSL_CERT_FILE, which is how an operator points the
gateway at a private CA (the client uses `ssl.create_default_context()`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from distillguard.gateway.config import ModelRoute, UpstreamConfig
from distillguard.gateway.errors import ApiError
from distillguard.gateway.upstream import Upstream


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upstream.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def _tls_server(cert: Path, key: Path) -> tuple[asyncio.Server, str]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            n = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(n)
            out = b'{"echo":' + body + b"}"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    return srv, f"https://127.0.0.1:{srv.sockets[0].getsockname()[1]}/v1"


async def test_https_upstream_with_trusted_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    srv, url = await _tls_server(cert, key)
    up = Upstream(UpstreamConfig())
    await up.start()
    try:
        resp = await up.send(ModelRoute("m", url), "/chat/completions", b'{"a":1}')
        assert resp.status == 200
        assert await resp.read() == b'{"echo":{"a":1}}'
        resp.release()
    finally:
        await up.close()
        srv.close()


async def test_https_upstream_with_untrusted_certificate_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    other, _ = _self_signed(tmp_path / "other")
    monkeypatch.setenv("SSL_CERT_FILE", str(other))  # trusts a different certificate
    srv, url = await _tls_server(cert, key)
    up = Upstream(UpstreamConfig())
    await up.start()
    try:
        with pytest.raises(ApiError) as err:
            await up.send(ModelRoute("m", url), "/chat/completions", b"{}")
        assert err.value.code == "upstream_unavailable"
        assert "certificate" in str(err.value).lower() or "ssl" in str(err.value).lower()
    finally:
        await up.close()
        srv.close()
