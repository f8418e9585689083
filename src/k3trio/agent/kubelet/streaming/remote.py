"""``/exec``, ``/attach`` and ``/portForward`` of the kubelet API: on to containerd's streaming
server.

As upstream's kubelet does since it stopped redirecting: the request names a pod (and a
container); the kubelet asks the runtime for a one-time streaming URL (CRI ``Exec``,
``Attach`` or ``PortForward``) and proxies the client's upgrade request to that URL. Once
the runtime answers ``101 Switching Protocols`` the client's connection and the runtime's
are spliced byte for byte, so every stream protocol the runtime speaks (SPDY/3.1 with
``v4.channel.k8s.io``... and ``portforward.k8s.io``) reaches the client unchanged: stdin
half-close, exit codes on the error stream, terminal resizes.

Paths: ``/exec/<ns>/<pod>[/<uid>]/<container>?command=..&input=1&output=1&error=1&tty=1``,
``/attach/<ns>/<pod>[/<uid>]/<container>?input=..``, ``/portForward/<ns>/<pod>[/<uid>]``.
Errors before the upgrade are plain-text answers with upstream's messages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import trio

from ....apiserver.handlers.podproxy import read_response_head, request_head, splice
from ....apiserver.http11 import TAKEOVER
from ...cri import CriError, SandboxState
from ..specs import POD_UID_LABEL
from .logstatus import strip_runtime

__all__ = ["StreamRequest", "parse_stream_request", "serve_remote"]

log = logging.getLogger("k3trio.agent.kubelet.streaming")

DIAL_TIMEOUT = 10.0
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
#: Request headers that describe the client's connection, not the upgrade.
_HOP = frozenset((b"host", b"authorization", b"content-length", b"transfer-encoding"))


class StreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class StreamRequest:
    """What an exec/attach/portForward request asks for."""

    def __init__(self, kind: str, namespace: str, pod: str, uid: str, container: str,
                 command: Sequence[str], stdin: bool, stdout: bool, stderr: bool, tty: bool,
                 ports: Sequence[int]) -> None:
        self.kind = kind
        self.namespace = namespace
        self.pod = pod
        self.uid = uid
        self.container = container
        self.command = list(command)
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.tty = tty
        self.ports = list(ports)


def _flag(query: Mapping[str, list[str]], *names: str) -> bool:
    for name in names:
        values = query.get(name)
        if values and values[-1] in _TRUE:
            return True
    return False


def parse_stream_request(kind: str, parts: Sequence[str], query: Mapping[str, list[str]]) -> StreamRequest:
    """Parse the path (after ``/<kind>``) and query of a streaming request. Pure.

    Raises:
        StreamError: a malformed path or options (400).
    """
    parts = list(parts)
    uid = ""
    if kind == "portForward":
        if len(parts) not in (2, 3):
            raise StreamError(404, "404 page not found")
        namespace, pod = parts[0], parts[1]
        uid = parts[2] if len(parts) == 3 else ""
        ports = []
        for value in query.get("port", []):
            try:
                ports.append(int(value))
            except ValueError:
                raise StreamError(400, f"invalid port {value!r}") from None
        return StreamRequest(kind, namespace, pod, uid, "", (), False, False, False, False, ports)
    if len(parts) not in (3, 4):
        raise StreamError(404, "404 page not found")
    namespace, pod = parts[0], parts[1]
    if len(parts) == 4:
        uid = parts[2]
    container = parts[-1]
    stdin = _flag(query, "input", "stdin")
    stdout = _flag(query, "output", "stdout")
    stderr = _flag(query, "error", "stderr")
    tty = _flag(query, "tty")
    if tty and stderr:
        # As upstream: a terminal merges stderr into stdout.
        stderr = False
    if not (stdin or stdout or stderr):
        raise StreamError(400, "you must specify at least 1 of stdin, stdout, stderr")
    command = query.get("command", [])
    if kind == "exec" and not command:
        raise StreamError(400, "you must specify at least one command for the container")
    return StreamRequest(kind, namespace, pod, uid, container, command, stdin, stdout, stderr, tty, ())


async def _streaming_url(server: Any, req: StreamRequest) -> str:
    """Ask the runtime for the one-time URL of this stream."""
    from ...._generated.cri import api_pb2 as pb

    pod = server.pod(req.namespace, req.pod)
    if pod is None or (req.uid and (pod.get("metadata") or {}).get("uid") != req.uid):
        raise StreamError(404, f'pod "{req.pod}" does not exist')
    runtime = server.runtime
    if req.kind == "portForward":
        uid = str((pod.get("metadata") or {}).get("uid"))
        sandboxes = [s for s in await runtime.list_pod_sandboxes({POD_UID_LABEL: uid})
                     if s.state == SandboxState.READY]
        if not sandboxes:
            raise StreamError(500, f"pod {req.pod} has no running sandbox")
        sandbox = max(sandboxes, key=lambda s: (s.attempt, s.created_at))
        r = await runtime._call("PortForward", runtime._runtime.PortForward,
                                pb.PortForwardRequest(pod_sandbox_id=sandbox.id, port=req.ports))
        return str(r.url)
    pod_status = pod.get("status") or {}
    statuses = [*(pod_status.get("containerStatuses") or []),
                *(pod_status.get("initContainerStatuses") or []),
                *(pod_status.get("ephemeralContainerStatuses") or [])]
    status = next((s for s in statuses if s.get("name") == req.container), None)
    if status is None or not (status.get("state") or {}).get("running") or not status.get("containerID"):
        raise StreamError(500, f'container not found ("{req.container}")')
    cid = strip_runtime(str(status["containerID"]))
    if req.kind == "exec":
        r = await runtime._call("Exec", runtime._runtime.Exec, pb.ExecRequest(
            container_id=cid, cmd=req.command, tty=req.tty, stdin=req.stdin,
            stdout=req.stdout, stderr=req.stderr))
    else:
        r = await runtime._call("Attach", runtime._runtime.Attach, pb.AttachRequest(
            container_id=cid, tty=req.tty, stdin=req.stdin, stdout=req.stdout, stderr=req.stderr))
    return str(r.url)


async def _send_text(send: Any, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def serve_remote(server: Any, kind: str, parts: Sequence[str], query: Mapping[str, list[str]],
                       scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Serve one exec/attach/portForward request (see module doc)."""
    takeover = (scope.get("extensions") or {}).get(TAKEOVER)
    try:
        req = parse_stream_request(kind, parts, query)
        if takeover is None:
            raise StreamError(400, "Upgrade request required")
        try:
            url = await _streaming_url(server, req)
        except CriError as exc:
            raise StreamError(500, str(exc)) from None
    except StreamError as exc:
        await _send_text(send, exc.status, str(exc))
        return
    target = urlsplit(url)
    host = target.hostname or "127.0.0.1"
    port = target.port or 80
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() not in _HOP]
    path = target.path + ("?" + target.query if target.query else "")
    try:
        with trio.fail_after(DIAL_TIMEOUT):
            upstream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
            await upstream.send_all(request_head(scope.get("method", "POST"), path, target.netloc, headers))
            head, rest = await read_response_head(upstream)
    except (OSError, trio.BrokenResourceError, trio.TooSlowError, ValueError) as exc:
        await _send_text(send, 500, f"error dialing the runtime's streaming server: {exc}")
        return
    client, buffered = takeover()
    try:
        await client.send_all(head.raw + (rest if head.status != 101 else b""))
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        await trio.aclose_forcefully(upstream)
        return
    if head.status != 101:
        # The runtime refused (a bad protocol version...): its answer went to the client.
        await trio.aclose_forcefully(upstream)
        return
    await splice(client, upstream, buffered, rest)
