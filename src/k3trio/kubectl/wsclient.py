"""A minimal WebSocket client (RFC 6455) for the API server's streaming subresources
(``pods/exec``, ``pods/attach``, ``pods/portforward``) with the Kubernetes channel protocols
``v5.channel.k8s.io``/``v4.channel.k8s.io`` (exec, attach) and ``v4``/``portforward.k8s.io``
(port-forward): every binary message starts with one channel byte (0 stdin, 1 stdout,
2 stderr, 3 error Status, 4 resize, 255 close a channel in v5).

Blocking sockets; the caller runs one reader and, when it has input, one writer thread.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import struct
import threading
from typing import Any
from urllib.parse import urlencode

from .rest import ConnectError, RestClient, StatusError

__all__ = ["WebSocket", "open_channel_stream"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WebSocket:
    def __init__(self, sock: socket.socket, protocol: str, leftover: bytes = b"") -> None:
        self.sock = sock
        self.protocol = protocol
        self._buf = leftover
        self._send_lock = threading.Lock()
        self.closed = False

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def recv(self) -> tuple[int, bytes] | None:
        """The next data message (opcode, payload), None when the peer closed."""
        message = b""
        opcode = 0
        while True:
            try:
                b1, b2 = self._read_exact(2)
            except (EOFError, OSError):
                self.closed = True
                return None
            fin, op = b1 & 0x80, b1 & 0x0F
            length = b2 & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read_exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read_exact(8))[0]
            mask = self._read_exact(4) if b2 & 0x80 else b""
            payload = self._read_exact(length)
            if mask:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            if op == OP_PING:
                self.send(payload, OP_PONG)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                self.closed = True
                try:
                    self.send(payload[:2], OP_CLOSE)
                except OSError:
                    pass
                return None
            if op != OP_CONT:
                opcode = op
            message += payload
            if fin:
                return opcode, message

    def send(self, payload: bytes, opcode: int = OP_BINARY) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        with self._send_lock:
            self.sock.sendall(header + mask + masked)

    def close(self) -> None:
        if not self.closed:
            try:
                self.send(struct.pack("!H", 1000), OP_CLOSE)
            except OSError:
                pass
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


def open_channel_stream(client: RestClient, path: str, params: list[tuple[str, str]],
                        protocols: list[str]) -> WebSocket:
    """Upgrade ``GET path?params`` to a WebSocket speaking one of ``protocols``.

    Raises:
        StatusError: the server refused the upgrade with a Status.
        ConnectError: no connection.
    """
    conn = client.conn
    try:
        raw = socket.create_connection((client.host, client.port), timeout=conn.timeout or 30)
    except OSError as exc:
        raise ConnectError(f"The connection to the server {client.hostport} was refused - did "
                           "you specify the right host or port?") from exc
    sock: socket.socket = raw
    if client.scheme == "https":
        sock = client._ssl_context().wrap_socket(
            raw, server_hostname=conn.tls_server_name or client.host)
    sock.settimeout(None)
    key = base64.b64encode(os.urandom(16)).decode()
    query = urlencode(params)
    headers = client._headers(None, None)
    lines = [f"GET {client.prefix}{path}?{query} HTTP/1.1", f"Host: {client.hostport}",
             "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
             f"Sec-WebSocket-Key: {key}", f"Sec-WebSocket-Protocol: {', '.join(protocols)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k != "Accept"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectError("error: the server closed the connection during the upgrade")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    code = int(status_line.split(" ")[1])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    if code != 101:
        length = int(hdrs.get("content-length", "0") or 0)
        body = rest
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        sock.close()
        from .rest import status_for

        raise StatusError(code, status_for(code, body, "GET"))
    return WebSocket(sock, hdrs.get("sec-websocket-protocol", ""), rest)


def exit_code_from_status(payload: bytes) -> tuple[int, str]:
    """(exit code, error text) from the error channel's Status."""
    try:
        status: dict[str, Any] = json.loads(payload)
    except ValueError:
        return 1, payload.decode("utf-8", "replace")
    if status.get("status") == "Success":
        return 0, ""
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                code = int(cause.get("message") or 1)
                return code, f"command terminated with exit code {code}"
    return 1, str(status.get("message") or "")
