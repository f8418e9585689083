"""``ssl.SSLContext`` builders for the API server and for clients, plus peer identity.

Server side: the serving chain and key, the client CA as the only trust anchor for client
certificates, ``CERT_OPTIONAL`` (a client may present no certificate and authenticate some
other way; a certificate that is presented must verify or the handshake fails), ALPN
``h2`` then ``http/1.1``, TLS 1.2 or newer.

Client side: verify the server against the cluster CA with hostname checking, optionally
present a client certificate.

The stdlib can only load a certificate chain from files, so in-memory PEM is handed to it
through an anonymous memory file (``memfd``) where the platform has one, and through a
private temporary directory otherwise; nothing is left behind on disk.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from .certs import ClientIdentity, identity_from_der
from .errors import CertificateError
from .kubeconfig import KubeconfigError, read_kubeconfig

DEFAULT_ALPN = ("h2", "http/1.1")
SERVER_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class PeerCertSource(Protocol):
    """Anything with ``getpeercert``: ``ssl.SSLObject``, ``ssl.SSLSocket``, ``trio.SSLStream``."""

    def getpeercert(self, binary_form: bool = ...) -> Any: ...


def server_ssl_context(
    *,
    cert_pem: bytes,
    key_pem: bytes,
    client_ca_pem: bytes | None,
    alpn: Sequence[str] = DEFAULT_ALPN,
) -> ssl.SSLContext:
    """A server context; client certificates are optional and verified against ``client_ca_pem``.

    With ``client_ca_pem=None`` no client certificate is requested.

    Raises:
        CertificateError: the certificate, key or CA cannot be loaded.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    # TLS 1.2 suites limited to AEAD with forward secrecy: what HTTP/2 requires (RFC 9113
    # section 9.2.2) and what Go clients offer. TLS 1.3 suites are not affected.
    ctx.set_ciphers(SERVER_TLS12_CIPHERS)
    _load_chain(ctx, cert_pem, key_pem)
    if client_ca_pem is not None:
        _load_ca(ctx, client_ca_pem)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def client_ssl_context(
    *,
    ca_pem: bytes | None,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
    alpn: Sequence[str] = DEFAULT_ALPN,
) -> ssl.SSLContext:
    """A client context trusting ``ca_pem`` (the system roots if None), with hostname checks.

    Raises:
        CertificateError: the material cannot be loaded, or only one of cert/key is given.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_pem is not None:
        _load_ca(ctx, ca_pem)
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if (client_cert_pem is None) != (client_key_pem is None):
        raise CertificateError("a client certificate needs both the certificate and the key")
    if client_cert_pem is not None and client_key_pem is not None:
        _load_chain(ctx, client_cert_pem, client_key_pem)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def client_ssl_context_from_kubeconfig(
    path: Path | str, *, alpn: Sequence[str] = DEFAULT_ALPN
) -> tuple[str, ssl.SSLContext]:
    """The server URL and a client context built from a kubeconfig's current context.

    Raises:
        KubeconfigError: the kubeconfig is malformed.
        CertificateError: its certificate material cannot be loaded.
    """
    material = read_kubeconfig(path)
    if not material.server_url.startswith("https://"):
        raise KubeconfigError(f"{path}: server {material.server_url!r} is not https")
    ctx = client_ssl_context(
        ca_pem=material.ca_pem,
        client_cert_pem=material.client_cert_pem,
        client_key_pem=material.client_key_pem,
        alpn=alpn,
    )
    return material.server_url, ctx


def peer_identity(ssl_object: PeerCertSource) -> ClientIdentity | None:
    """The identity of the verified client certificate on a server-side connection.

    Returns None when the client sent no certificate (or one without a CommonName). With a
    context from ``server_ssl_context`` any certificate that is present has been verified
    against the client CA during the handshake.
    """
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return identity_from_der(der)


def _load_ca(ctx: ssl.SSLContext, ca_pem: bytes) -> None:
    try:
        ctx.load_verify_locations(cadata=ca_pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        raise CertificateError(f"cannot load CA certificates: {exc}") from exc


def _load_chain(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    with _pem_file(cert_pem) as cert_path, _pem_file(key_pem) as key_path:
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise CertificateError(f"cannot load certificate and key: {exc}") from exc


@contextlib.contextmanager
def _pem_file(data: bytes) -> Iterator[str]:
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None and os.path.isdir("/proc/self/fd"):
        fd = memfd_create("k3trio-pem", os.MFD_CLOEXEC)
        try:
            _write_all(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="k3trio-pem-") as tmp:
        path = Path(tmp) / "material.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        yield str(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
