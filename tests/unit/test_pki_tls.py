"""Real TLS handshakes on 127.0.0.1 between the API server context and client contexts."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trio

from k3trio import pki


@pytest.fixture(scope="module")
def server_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.ServerPKI:
    return pki.ensure_server_pki(
        tmp_path_factory.mktemp("data"),
        sans=pki.ServingNames(hostname="node-a", node_ips=("127.0.0.1",)),
        cluster_domain="cluster.local",
        service_ip="10.43.0.1",
        node_name="node-a",
    )


class Outcome:
    identity: pki.ClientIdentity | None = None
    alpn: str | None = None
    error: BaseException | None = None
    handshake_done: bool = False


async def handshake(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_hostname: str = "127.0.0.1"
) -> tuple[Outcome, Outcome]:
    """One connection: the server reads the peer identity and echoes one line to the client."""
    server, client = Outcome(), Outcome()
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]

    async def serve_one(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        tcp = await listeners[0].accept()
        stream = trio.SSLStream(tcp, server_ctx, server_side=True)
        try:
            await stream.do_handshake()
            server.handshake_done = True
            server.identity = pki.peer_identity(stream)
            server.alpn = stream.selected_alpn_protocol()
            await stream.send_all(
                b"hello "
                + (server.identity.user.encode() if server.identity else b"anonymous")
                + b"\n"
            )
            await stream.aclose()
        except trio.BrokenResourceError as exc:
            server.error = exc
            await tcp.aclose()

    async def connect() -> None:
        tcp = await trio.open_tcp_stream("127.0.0.1", port)
        stream = trio.SSLStream(tcp, client_ctx, server_hostname=server_hostname)
        try:
            await stream.do_handshake()
            client.handshake_done = True
            client.alpn = stream.selected_alpn_protocol()
            data = await stream.receive_some(1024)
            if not data:
                raise trio.BrokenResourceError("connection closed")
            client.identity = pki.ClientIdentity(data.decode().strip())
        except trio.BrokenResourceError as exc:
            client.error = exc
        finally:
            await tcp.aclose()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_one)
            await connect()
    await listeners[0].aclose()
    return server, client


async def test_admin_handshake_reads_cn_and_o(server_pki: pki.ServerPKI) -> None:
    server, client = await handshake(
        server_pki.server_ssl_context(), server_pki.client_ssl_context("admin")
    )
    assert server.error is None and client.error is None
    assert server.identity == pki.ClientIdentity("system:admin", ("system:masters",))
    assert server.alpn == client.alpn == "h2"
    assert client.identity == pki.ClientIdentity("hello system:admin")


async def test_node_client_cert_and_localhost_name(server_pki: pki.ServerPKI) -> None:
    server, _ = await handshake(
        server_pki.server_ssl_context(), server_pki.client_ssl_context("kubelet"), "localhost"
    )
    assert server.identity == pki.ClientIdentity("system:node:node-a", ("system:nodes",))


async def test_http11_only_client_gets_http11(server_pki: pki.ServerPKI) -> None:
    admin = server_pki.admin
    ctx = pki.client_ssl_context(
        ca_pem=server_pki.server_ca_pem,
        client_cert_pem=admin.cert_pem,
        client_key_pem=admin.key_pem,
        alpn=["http/1.1"],
    )
    server, client = await handshake(server_pki.server_ssl_context(), ctx)
    assert server.alpn == client.alpn == "http/1.1"


async def test_no_client_certificate_is_allowed(server_pki: pki.ServerPKI) -> None:
    ctx = pki.client_ssl_context(ca_pem=server_pki.server_ca_pem)
    server, client = await handshake(server_pki.server_ssl_context(), ctx)
    assert server.error is None
    assert server.identity is None
    assert client.identity == pki.ClientIdentity("hello anonymous")


async def test_client_cert_from_another_ca_is_rejected(server_pki: pki.ServerPKI) -> None:
    rogue_ca = pki.CertificateAuthority.generate("rogue-ca")
    rogue = rogue_ca.issue_client_cert("system:admin", ["system:masters"])
    ctx = pki.client_ssl_context(
        ca_pem=server_pki.server_ca_pem,
        client_cert_pem=rogue.cert_pem,
        client_key_pem=rogue.key_pem,
    )
    server, client = await handshake(server_pki.server_ssl_context(), ctx)
    assert not server.handshake_done
    assert isinstance(server.error, trio.BrokenResourceError)
    assert isinstance(server.error.__cause__, ssl.SSLError)
    assert server.identity is None
    assert client.error is not None and client.identity is None


async def test_front_proxy_cert_is_not_a_user_cert(server_pki: pki.ServerPKI) -> None:
    assert server_pki.auth_proxy is not None
    ctx = pki.client_ssl_context(
        ca_pem=server_pki.server_ca_pem,
        client_cert_pem=server_pki.auth_proxy.cert_pem,
        client_key_pem=server_pki.auth_proxy.key_pem,
    )
    server, _ = await handshake(server_pki.server_ssl_context(), ctx)
    assert not server.handshake_done and server.identity is None


async def test_client_refuses_server_from_another_ca(server_pki: pki.ServerPKI) -> None:
    other = pki.CertificateAuthority.generate("other-ca")
    ctx = pki.client_ssl_context(ca_pem=other.cert_pem)
    server, client = await handshake(server_pki.server_ssl_context(), ctx)
    assert not client.handshake_done
    assert isinstance(client.error, trio.BrokenResourceError)


async def test_client_checks_hostname(server_pki: pki.ServerPKI) -> None:
    ctx = pki.client_ssl_context(ca_pem=server_pki.server_ca_pem)
    _, client = await handshake(server_pki.server_ssl_context(), ctx, "not-in-the-cert.example")
    assert not client.handshake_done
    assert isinstance(client.error, trio.BrokenResourceError)


async def test_client_context_from_written_kubeconfig(
    server_pki: pki.ServerPKI, tmp_path: Path
) -> None:
    path = tmp_path / "k3s.yaml"
    server_pki.write_kubeconfig(path, server_url="https://127.0.0.1:6443")
    url, ctx = pki.client_ssl_context_from_kubeconfig(path)
    assert url == "https://127.0.0.1:6443"
    server, _ = await handshake(server_pki.server_ssl_context(), ctx)
    assert server.identity == pki.ClientIdentity("system:admin", ("system:masters",))


def test_server_context_settings(server_pki: pki.ServerPKI) -> None:
    ctx = server_pki.server_ssl_context()
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    client = server_pki.client_ssl_context()
    assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname


def test_mismatched_material_is_a_certificate_error(server_pki: pki.ServerPKI) -> None:
    with pytest.raises(pki.CertificateError):
        pki.server_ssl_context(
            cert_pem=server_pki.serving.cert_pem,
            key_pem=server_pki.admin.key_pem,
            client_ca_pem=None,
        )
    with pytest.raises(pki.CertificateError):
        pki.client_ssl_context(
            ca_pem=server_pki.server_ca_pem, client_cert_pem=server_pki.admin.cert_pem
        )


def _kubectl() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


@pytest.mark.skipif(_kubectl() is None, reason="kubectl not installed")
def test_real_kubectl_accepts_certificates_and_kubeconfig(
    server_pki: pki.ServerPKI, tmp_path: Path
) -> None:
    """Go's TLS stack (kubectl) trusts our chain and presents the admin identity."""
    seen: list[pki.ClientIdentity | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(pki.peer_identity(self.connection))  # type: ignore[arg-type]
            body = json.dumps({"major": "1", "minor": "36", "gitVersion": "v1.36.0"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    ctx = pki.server_ssl_context(
        cert_pem=server_pki.serving.cert_pem,
        key_pem=server_pki.serving.key_pem,
        client_ca_pem=server_pki.client_ca_pem,
        alpn=["http/1.1"],
    )
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        kubeconfig = tmp_path / "k3s.yaml"
        server_pki.write_kubeconfig(
            kubeconfig, server_url=f"https://127.0.0.1:{httpd.server_address[1]}"
        )
        result = subprocess.run(
            [_kubectl() or "kubectl", "--kubeconfig", str(kubeconfig), "get", "--raw", "/version"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["gitVersion"] == "v1.36.0"
    assert seen == [pki.ClientIdentity("system:admin", ("system:masters",))]


async def test_tls12_client_negotiates_an_h2_compatible_suite(server_pki: pki.ServerPKI) -> None:
    ctx = server_pki.client_ssl_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    server_ctx = server_pki.server_ssl_context()
    server, _ = await handshake(server_ctx, ctx)
    assert server.error is None and server.alpn == "h2"
    assert server.identity == pki.ClientIdentity("system:admin", ("system:masters",))
    names = {c["name"] for c in server_ctx.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert names and all("GCM" in n or "CHACHA20" in n for n in names)
    assert all(n.startswith("ECDHE-") for n in names)
