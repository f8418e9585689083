"""The handlers probes and lifecycle hooks run: exec, httpGet, tcpSocket, gRPC health, sleep.

Each returns an ``Outcome`` whose message is what upstream puts after ``... probe failed: ``:

- exec: ``ExecSync`` in the container with the timeout; exit 0 succeeds, otherwise the
  command's output is the message (``command timed out`` on a timeout);
- httpGet: one HTTP/1.1 GET over a Trio socket (TLS without verification for ``HTTPS``,
  as upstream), ``User-Agent: kube-probe/<major>.<minor>``, the handler's headers; status
  200-399 succeeds (``HTTP probe failed with statuscode: <code>`` otherwise);
- tcpSocket: a TCP connect within the timeout;
- grpc: ``grpc.health.v1.Health/Check`` over cleartext HTTP/2 (h2, prior knowledge);
  ``SERVING`` succeeds;
- sleep (hooks only): waits the given seconds.

Named ports are resolved against the container's ``ports``. Nothing here raises for a
failing target; only cancellation propagates.
"""

from __future__ import annotations

import ssl
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import trio

from ..cri import CriError, RuntimeService

__all__ = ["Outcome", "exec_action", "grpc_check", "http_get", "resolve_port", "tcp_check"]

USER_AGENT = "kube-probe/1.36"
MAX_BODY = 10 * 1024


@attrs.frozen
class Outcome:
    ok: bool
    message: str = ""


def resolve_port(port: Any, container: Mapping[str, Any]) -> int | None:
    """A handler's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    text = str(port)
    if text.isdigit():
        return int(text)
    for p in container.get("ports") or []:
        if p.get("name") == text:
            return int(p["containerPort"])
    return None


async def exec_action(runtime: RuntimeService, container_id: str, command: Sequence[str],
                      timeout: float) -> Outcome:
    try:
        with trio.fail_after(timeout + 5 if timeout else 3600):
            result = await runtime.exec_sync(container_id, list(command), timeout)
    except trio.TooSlowError:
        return Outcome(False, f"command {list(command)!r} timed out")
    except CriError as exc:
        text = str(exc)
        if "timeout" in text.lower() or "deadline" in text.lower():
            return Outcome(False, f"command {list(command)!r} timed out")
        return Outcome(False, text)
    output = (result.stdout + result.stderr).decode("utf-8", errors="replace")
    if result.exit_code == 0:
        return Outcome(True, output)
    return Outcome(False, output or f"command {list(command)!r} exited with "
                                    f"{result.exit_code}")


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _connect(host: str, port: int) -> trio.SocketStream:
    return await trio.open_tcp_stream(host, port)


def _dial_error(host: str, port: int, exc: BaseException) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"dial tcp {_hostport(host, port)}: connect: {str(reason).lower()}"


async def http_get(host: str, port: int, path: str = "/", *, scheme: str = "HTTP",
                   headers: Sequence[Mapping[str, Any]] = (), timeout: float = 1.0) -> Outcome:
    scheme = scheme.upper() or "HTTP"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme.lower()}://{_hostport(host, port)}{path}"
    lines = [f"GET {path} HTTP/1.1"]
    names = {str(h.get("name", "")).lower() for h in headers}
    if "host" not in names:
        lines.append(f"Host: {_hostport(host, port)}")
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in names:
        lines.append("Accept: */*")
    lines += [f"{h.get('name')}: {h.get('value', '')}" for h in headers]
    lines.append("Connection: close")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    with trio.move_on_after(timeout) as scope:
        try:
            stream: trio.abc.Stream = await _connect(host, port)
        except OSError as exc:
            return Outcome(False, f'Get "{url}": {_dial_error(host, port, exc)}')
        try:
            if scheme == "HTTPS":
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                stream = trio.SSLStream(stream, ctx, server_hostname=host)
            await stream.send_all(request)
            data = b""
            while b"\r\n" not in data and len(data) < MAX_BODY:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                data += chunk
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            return Outcome(False, f'Get "{url}": {exc}')
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()
    if scope.cancelled_caught:
        return Outcome(False, f'Get "{url}": context deadline exceeded (Client.Timeout '
                              f'exceeded while awaiting headers)')
    status_line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return Outcome(False, f'Get "{url}": malformed HTTP response {status_line!r}')
    code = int(parts[1])
    if 200 <= code < 400:
        return Outcome(True, "")
    return Outcome(False, f"HTTP probe failed with statuscode: {code}")


async def tcp_check(host: str, port: int, timeout: float = 1.0) -> Outcome:
    with trio.move_on_after(timeout):
        try:
            stream = await _connect(host, port)
        except OSError as exc:
            return Outcome(False, _dial_error(host, port, exc))
        await stream.aclose()
        return Outcome(True)
    return Outcome(False, f"dial tcp {_hostport(host, port)}: i/o timeout")


def _health_request(service: str) -> bytes:
    raw = service.encode()
    body = (b"\x0a" + _varint(len(raw)) + raw) if raw else b""
    return struct.pack(">BI", 0, len(body)) + body


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


_SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _health_status(message: bytes) -> int:
    # HealthCheckResponse { ServingStatus status = 1; }
    i = 0
    while i < len(message):
        tag = message[i]
        i += 1
        if tag == 0x08:
            value, shift = 0, 0
            while i < len(message):
                b = message[i]
                i += 1
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            return value
        break
    return 0


async def grpc_check(host: str, port: int, service: str = "", timeout: float = 1.0) -> Outcome:
    """``grpc.health.v1.Health/Check`` (see module doc)."""
    import h2.config
    import h2.connection
    import h2.events

    target = _hostport(host, port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    with trio.move_on_after(timeout):
        try:
            stream = await _connect(host, port)
        except OSError as exc:
            return Outcome(False, f"failed to connect service {target!r} within "
                                  f"{timeout:g}s: {_dial_error(host, port, exc)}")
        try:
            conn.initiate_connection()
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"),
                                    (":path", "/grpc.health.v1.Health/Check"),
                                    (":authority", target), ("content-type", "application/grpc"),
                                    ("te", "trailers"), ("user-agent", USER_AGENT)])
            conn.send_data(sid, _health_request(service), end_stream=True)
            await stream.send_all(conn.data_to_send())
            body = b""
            grpc_status: str | None = None
            grpc_message = ""
            done = False
            while not done:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                for event in conn.receive_data(chunk):
                    if isinstance(event, h2.events.DataReceived):
                        body += event.data
                        conn.acknowledge_received_data(event.flow_controlled_length,
                                                       event.stream_id)
                    elif isinstance(event, (h2.events.TrailersReceived,
                                            h2.events.ResponseReceived)):
                        hdrs = {str(k): str(v) for k, v in event.headers or []}
                        grpc_status = hdrs.get("grpc-status", grpc_status)
                        grpc_message = hdrs.get("grpc-message", grpc_message)
                    elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset,
                                            h2.events.ConnectionTerminated)):
                        done = True
                await stream.send_all(conn.data_to_send())
        except Exception as exc:  # socket errors and h2 protocol errors alike
            return Outcome(False, f"failed to connect service {target!r}: {exc}")
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()
        if grpc_status not in (None, "0"):
            return Outcome(False, f"health rpc probe failed: rpc error: code = {grpc_status} "
                                  f"desc = {grpc_message}")
        status = _health_status(body[5:]) if len(body) >= 5 else 0
        if status == 1:
            return Outcome(True)
        return Outcome(False, f"service unhealthy (responded with "
                              f'"{_SERVING_STATUS.get(status, str(status))}")')
    return Outcome(False, f"timeout: health rpc did not complete within {timeout:g}s")
