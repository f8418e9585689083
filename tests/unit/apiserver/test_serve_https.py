"""serve_https end to end on 127.0.0.1: ALPN choice, peer identity in the scope, long HTTP/2
connections (no GOAWAY after 1,000 streams), a reset HTTP/2 stream not ending the connection."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import httpx
import pytest
import trio

from k3trio import pki
from k3trio.apiserver.http11 import TAKEOVER, HTTP11Limits
from k3trio.apiserver.serve import PEER_KEY, serve_https

FAST = HTTP11Limits(keep_alive_timeout=0.3, header_timeout=0.3, read_timeout=0.3, write_timeout=0.3)
flood_ended: list[str] = []


@pytest.fixture(scope="module")
def server_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.ServerPKI:
    return pki.ensure_server_pki(
        tmp_path_factory.mktemp("data"),
        sans=pki.ServingNames(hostname="node-a", node_ips=("127.0.0.1",)),
        cluster_domain="cluster.local",
        service_ip="10.43.0.1",
        node_name="node-a",
    )


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    takeover = scope.get("extensions", {}).get(TAKEOVER)
    if takeover is not None:
        # An Upgrade request: switch protocols and echo raw bytes, prefixed with the user.
        stream, buffered = takeover()
        peer = scope.get(PEER_KEY)
        await stream.send_all(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: Upgrade\r\n\r\n")
        data = buffered or await stream.receive_some(65536)
        await stream.send_all(f"{peer.user if peer else None}:".encode() + data)
        return
    if scope["type"] != "http":
        return
    peer = scope.get(PEER_KEY)
    if scope["path"] == "/who":
        body = json.dumps({
            "user": peer.user if peer else None,
            "groups": list(peer.groups) if peer else [],
            "version": scope["http_version"],
            "client": list(scope["client"]),
        }).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    if scope["path"] == "/flood":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        with trio.move_on_after(10):
            while True:
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
                with trio.move_on_after(0.01):
                    if (await receive())["type"] == "http.disconnect":
                        break
        flood_ended.append("done")
        return
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


@asynccontextmanager
async def running(server_pki: pki.ServerPKI, limits: HTTP11Limits | None = None) -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            lambda task_status: serve_https(
                app, server_pki.server_ssl_context(), host="127.0.0.1", port=0, http11_limits=limits,
                task_status=task_status,
            )
        )
        yield port
        nursery.cancel_scope.cancel()


def client_ctx(server_pki: pki.ServerPKI, alpn: list[str]) -> ssl.SSLContext:
    ctx = server_pki.client_ssl_context("admin")
    ctx.set_alpn_protocols(alpn)
    return ctx


@pytest.mark.parametrize(("http2", "version"), [(False, "1.1"), (True, "2")])
async def test_peer_identity_reaches_the_app(server_pki: pki.ServerPKI, http2: bool, version: str) -> None:
    async with running(server_pki) as port:
        ctx = client_ctx(server_pki, ["h2", "http/1.1"] if http2 else ["http/1.1"])
        async with httpx.AsyncClient(verify=ctx, http2=http2, http1=not http2) as client:
            resp = await client.get(f"https://127.0.0.1:{port}/who")
            assert resp.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
            who = resp.json()
            assert who["version"] == version and who["user"] == "system:admin"
            assert "system:masters" in who["groups"] and who["client"][0] == "127.0.0.1"
            missing = await client.get(f"https://127.0.0.1:{port}/nope")
            assert missing.status_code == 404 and missing.reason_phrase == "Not Found"


async def test_anonymous_client_has_no_peer(server_pki: pki.ServerPKI, tmp_path: Path) -> None:
    async with running(server_pki) as port:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(server_pki.server_ca_pem)
        ctx = ssl.create_default_context(cafile=str(ca))
        async with httpx.AsyncClient(verify=ctx) as client:
            who = (await client.get(f"https://127.0.0.1:{port}/who")).json()
        assert who["user"] is None


async def test_http2_connection_outlives_a_thousand_streams(server_pki: pki.ServerPKI) -> None:
    async with running(server_pki) as port:
        ctx = client_ctx(server_pki, ["h2"])
        async with httpx.AsyncClient(verify=ctx, http2=True, http1=False) as client:
            first = await client.get(f"https://127.0.0.1:{port}/who")
            port_used = first.json()["client"][1]
            for _ in range(1100):
                resp = await client.get(f"https://127.0.0.1:{port}/nope")
                assert resp.status_code == 404
            last = await client.get(f"https://127.0.0.1:{port}/who")
            assert last.json()["client"][1] == port_used  # still the same connection


async def test_data_for_a_finished_or_reset_stream_keeps_the_connection(server_pki: pki.ServerPKI) -> None:
    async with running(server_pki) as port:
        tcp = await trio.open_tcp_stream("127.0.0.1", port)
        stream = trio.SSLStream(tcp, client_ctx(server_pki, ["h2"]), server_hostname="127.0.0.1")
        await stream.do_handshake()
        assert stream.selected_alpn_protocol() == "h2"
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()

        def headers(method: str, path: str) -> list[tuple[str, str]]:
            return [(":method", method), (":path", path), (":scheme", "https"), (":authority", "127.0.0.1")]

        async def until_ended(stream_id: int) -> list[h2.events.Event]:
            seen: list[h2.events.Event] = []
            with trio.fail_after(5):
                while True:
                    await stream.send_all(conn.data_to_send())
                    data = await stream.receive_some(65536)
                    assert data, "server closed the connection"
                    for event in conn.receive_data(data):
                        seen.append(event)
                        if isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)) and event.stream_id == stream_id:
                            return seen

        # The app answers 404 without reading the body; the client keeps sending it, then resets.
        conn.send_headers(1, [*headers("POST", "/nope"), ("content-length", "30000")])
        conn.send_data(1, b"x" * 10000)
        events = await until_ended(1)
        assert any(isinstance(e, h2.events.ResponseReceived) for e in events)
        conn.send_data(1, b"y" * 10000)
        conn.reset_stream(1)
        conn.send_headers(3, headers("GET", "/who"), end_stream=True)
        events = await until_ended(3)
        body = b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived) and e.stream_id == 3)
        assert json.loads(body)["user"] == "system:admin"
        assert not any(isinstance(e, h2.events.ConnectionTerminated) for e in events)
        await stream.aclose()


async def tls_connect(server_pki: pki.ServerPKI, port: int) -> trio.SSLStream[trio.SocketStream]:
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    stream = trio.SSLStream(tcp, client_ctx(server_pki, ["http/1.1"]), server_hostname="127.0.0.1")
    await stream.do_handshake()
    return stream


async def test_idle_tls_connection_is_closed(server_pki: pki.ServerPKI) -> None:
    async with running(server_pki, FAST) as port:
        stream = await tls_connect(server_pki, port)
        await stream.send_all(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(5):
            got = b""
            while not got.endswith(b"{}"):
                got += await stream.receive_some(65536)
            assert got.startswith(b"HTTP/1.1 404 Not Found\r\n")
            assert await stream.receive_some(65536) == b""


async def test_tls_client_that_stops_reading_is_dropped(server_pki: pki.ServerPKI) -> None:
    flood_ended.clear()
    async with running(server_pki, FAST) as port:
        stream = await tls_connect(server_pki, port)
        await stream.send_all(b"GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(8):
            while not flood_ended:
                await trio.sleep(0.05)
        await trio.aclose_forcefully(stream)


async def test_garbage_instead_of_a_handshake_does_not_hurt_the_listener(server_pki: pki.ServerPKI) -> None:
    async with running(server_pki) as port:
        tcp = await trio.open_tcp_stream("127.0.0.1", port)
        await tcp.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(5):
            try:
                while await tcp.receive_some(65536):
                    pass
            except trio.BrokenResourceError:
                pass  # reset: the server dropped the connection
        ctx = client_ctx(server_pki, ["http/1.1"])
        async with httpx.AsyncClient(verify=ctx) as client:
            assert (await client.get(f"https://127.0.0.1:{port}/who")).status_code == 200


async def test_server_shutdown_closes_open_connections(server_pki: pki.ServerPKI) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            lambda task_status: serve_https(app, server_pki.server_ssl_context(), host="127.0.0.1", port=0, task_status=task_status)
        )
        idle = await tls_connect(server_pki, port)
        streaming = await tls_connect(server_pki, port)
        await streaming.send_all(b"GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
        await streaming.receive_some(65536)
        nursery.cancel_scope.cancel()
    for stream in (idle, streaming):
        with trio.fail_after(5):
            try:
                while await stream.receive_some(65536):
                    pass
            except trio.BrokenResourceError:
                pass


async def test_upgrade_request_takes_the_raw_stream_over(server_pki: pki.ServerPKI) -> None:
    async with running(server_pki) as port:
        stream = await tls_connect(server_pki, port)
        # Bytes sent right behind the head must reach the app (as "buffered").
        await stream.send_all(b"GET /exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nraw-bytes")
        got = b""
        with trio.fail_after(5):
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    break
                got += data
        assert got.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        assert got.endswith(b"\r\n\r\nsystem:admin:raw-bytes")
        await trio.aclose_forcefully(stream)
