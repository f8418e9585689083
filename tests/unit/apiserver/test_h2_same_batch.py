"""HTTP/2: a request whose HEADERS and DATA frames arrive in one read keeps its body."""

from __future__ import annotations

import json
from typing import Any

import h2.config
import h2.connection
import h2.events
import trio
import trio.testing

from k3trio.apiserver.http2 import h2_config, serve_h2
from hypercorn.trio.worker_context import WorkerContext


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def test_headers_and_data_in_one_read_keep_the_body() -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    scope = {"client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    payload = json.dumps({"kind": "ConfigMap"}).encode()
    conn.send_headers(1, [(":method", "POST"), (":path", "/x"), (":scheme", "https"),
                          (":authority", "k"), ("content-length", str(len(payload)))])
    conn.send_data(1, payload, end_stream=True)
    received = b""
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve_h2, server_stream, echo_app, scope, h2_config(), WorkerContext(None))
            await client_stream.send_all(conn.data_to_send())  # preface, HEADERS and DATA at once
            done = False
            while not done:
                data = await client_stream.receive_some(65536)
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        received += event.data
                        conn.acknowledge_received_data(event.flow_controlled_length, 1)
                    if isinstance(event, h2.events.StreamEnded):
                        done = True
                await client_stream.send_all(conn.data_to_send())
            nursery.cancel_scope.cancel()
    assert received == payload
