"""Pod and node subresources served by the node's kubelet: ``pods/log``, ``pods/exec``,
``pods/attach``, ``pods/portforward`` and ``nodes/<name>/proxy/...``.

As upstream's API server does, the request is checked here (pod exists, container chosen
and valid, the pod has a node) and then sent on to the kubelet's HTTPS API
(``https://<node InternalIP>:<daemonEndpoints.kubeletEndpoint.Port>``) with the API
server's own client certificate (``system:apiserver``, in ``system:masters``):

- ``pods/log`` -> ``GET /containerLogs/<ns>/<pod>/<container>?<log options>``; the body is
  streamed back as it comes (``follow``).
- ``pods/exec|attach|portforward`` upgrade requests (SPDY, or WebSocket where the HTTP
  server hands the raw connection over) -> ``/exec|attach|portForward/<ns>/<pod>[/<c>]``
  with the same upgrade headers; once the kubelet answers ``101`` the two connections are
  spliced byte for byte until either side closes.
- ``nodes/<name>/proxy/<path>`` -> ``<path>`` on that node's kubelet.

A kubelet error answer becomes a ``Status`` with the kubelet's status code and its text as
the message (upstream's generic response checker), so clients print it as they do upstream
(``container "c" in pod "p" is waiting to start: ContainerCreating``).

Invariants: the client's own credentials never reach the kubelet (``Authorization`` and
impersonation headers are dropped); a kubelet that cannot be reached is a 500 with the
dial error, never a hang (``DIAL_TIMEOUT``).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import trio

from ...api.errors import APIError, BadRequest, InternalError
from ..http11_wire import ChunkedDecoder, ProtocolError
from .common import Request

__all__ = [
    "DIAL_TIMEOUT",
    "KubeletTarget",
    "ResponseHead",
    "choose_container",
    "handle_pod_subresource",
    "kubelet_client_context",
    "read_response_head",
    "splice",
]

DIAL_TIMEOUT = 10.0
MAX_HEAD = 64 * 1024
_READ = 64 * 1024
#: Subresources of pods this module serves.
POD_STREAMING = frozenset(("log", "exec", "attach", "portforward"))
_DROP_HEADERS = frozenset((b"authorization", b"host", b"content-length", b"transfer-encoding"))

Obj = dict[str, Any]


def kubelet_client_context(pki: Any) -> ssl.SSLContext:
    """The TLS context the API server dials kubelets with (HTTP/1.1 only)."""
    from ...pki.tls import client_ssl_context

    issued = pki.client("kube-apiserver")
    return client_ssl_context(ca_pem=pki.server_ca_pem, client_cert_pem=issued.cert_pem,
                              client_key_pem=issued.key_pem, alpn=("http/1.1",))


# -- pure parts ------------------------------------------------------------------------------


def choose_container(pod: Mapping[str, Any], container: str) -> str:
    """The container a request addresses (the default or only one when none is named).

    Raises:
        BadRequest: none named among several, or an unknown name (upstream's messages).
    """
    meta = pod.get("metadata") or {}
    name = str(meta.get("name", ""))
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    init = [str(c.get("name")) for c in spec.get("initContainers") or []]
    eph = [str(c.get("name")) for c in spec.get("ephemeralContainers") or []]
    if not container:
        if len(names) == 1:
            return names[0]
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        if eph:
            message += f" or one of the ephemeral containers: [{' '.join(eph)}]"
        raise BadRequest(message)
    if container not in names and container not in init and container not in eph:
        raise BadRequest(f"container {container} is not valid for pod {name}")
    return container


def waiting_message(pod: Mapping[str, Any], container: str) -> str:
    """Why a pod without a node has no logs yet (what its kubelet would answer)."""
    name = str((pod.get("metadata") or {}).get("name", ""))
    reason = "ContainerCreating"
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            if cs.get("name") == container:
                reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason") or reason
    return f'container "{container}" in pod "{name}" is waiting to start: {reason}'


class ResponseHead:
    """A parsed HTTP/1.1 response head."""

    def __init__(self, status: int, reason: str, headers: list[tuple[bytes, bytes]], raw: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        #: The head as received, blank line included (forwarded as is for upgrades).
        self.raw = raw

    def get(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None


def parse_response_head(raw: bytes) -> ResponseHead:
    """Parse ``raw`` (through the blank line).

    Raises:
        ProtocolError: not an HTTP/1.x response head.
    """
    lines = raw.split(b"\r\n")
    status_line = lines[0].split(b" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1.") or not status_line[1].isdigit():
        raise ProtocolError(f"malformed status line {lines[0][:80]!r}", 502)
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProtocolError(f"malformed header line {line[:80]!r}", 502)
        headers.append((name.strip().lower(), value.strip()))
    reason = status_line[2].decode("latin-1") if len(status_line) > 2 else ""
    return ResponseHead(int(status_line[1]), reason, headers, raw)


async def read_response_head(stream: trio.abc.Stream, buffered: bytes = b"") -> tuple[ResponseHead, bytes]:
    """Read a response head from ``stream``; returns it and the bytes read past it.

    Raises:
        ProtocolError: malformed or too large; trio.BrokenResourceError: closed early.
    """
    buf = buffered
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            return parse_response_head(buf[: end + 4]), buf[end + 4:]
        if len(buf) > MAX_HEAD:
            raise ProtocolError("response head too large", 502)
        data = await stream.receive_some(_READ)
        if not data:
            raise trio.BrokenResourceError("connection closed before the response head")
        buf += data


def request_head(method: str, target: str, host: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1".encode(), b"host: " + host.encode()]
    lines += [k + b": " + v for k, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def splice(a: trio.abc.Stream, b: trio.abc.Stream, a_buffered: bytes = b"",
                 b_buffered: bytes = b"") -> None:
    """Copy bytes both ways until either side is closed; then close both.

    ``a_buffered`` was already read from ``a`` and goes to ``b`` first (and vice versa).
    """

    async def pump(src: trio.abc.Stream, dst: trio.abc.Stream, first: bytes, done: trio.CancelScope) -> None:
        try:
            if first:
                await dst.send_all(first)
            while True:
                data = await src.receive_some(_READ)
                if not data:
                    break
                await dst.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        done.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pump, a, b, a_buffered, nursery.cancel_scope)
        nursery.start_soon(pump, b, a, b_buffered, nursery.cancel_scope)
    await trio.aclose_forcefully(a)
    await trio.aclose_forcefully(b)


# -- kubelet connections ---------------------------------------------------------------------


class KubeletTarget:
    """Where one node's kubelet listens, and how to dial it."""

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext, server_name: str = "") -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        #: The name the kubelet's serving certificate is checked against (the node name).
        self.server_name = server_name or host

    @classmethod
    def of_node(cls, node: Mapping[str, Any], ssl_context: ssl.SSLContext) -> KubeletTarget:
        status = node.get("status") or {}
        name = (node.get("metadata") or {}).get("name", "")
        addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
        host = addresses.get("InternalIP") or addresses.get("ExternalIP") or addresses.get("Hostname")
        port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or 10250
        if not host:
            raise InternalError(f"no preferred addresses found; known addresses: [] for node {name}")
        return cls(str(host), int(port), ssl_context, str(name))

    @property
    def authority(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    async def dial(self) -> trio.SSLStream[trio.SocketStream]:
        try:
            with trio.fail_after(DIAL_TIMEOUT):
                tcp = await trio.open_tcp_stream(self.host, self.port)
                stream = trio.SSLStream(tcp, self.ssl_context, server_hostname=self.server_name)
                await stream.do_handshake()
                return stream
        except (OSError, trio.BrokenResourceError, trio.TooSlowError, ssl.SSLError) as exc:
            raise InternalError(f"error dialing backend: dial tcp {self.authority}: {exc}") from None

    async def open(self, method: str, target: str, headers: list[tuple[bytes, bytes]]
                   ) -> tuple[trio.SSLStream[trio.SocketStream], ResponseHead, bytes]:
        """Send a request without a body; return the stream, the response head and extra bytes."""
        stream = await self.dial()
        try:
            await stream.send_all(request_head(method, target, self.authority, headers))
            head, rest = await read_response_head(stream)
        except (trio.BrokenResourceError, ProtocolError, OSError) as exc:
            await trio.aclose_forcefully(stream)
            raise InternalError(f"error reading from kubelet {self.authority}: {exc}") from None
        return stream, head, rest


async def read_body(stream: trio.abc.Stream, head: ResponseHead, rest: bytes, limit: int = 1 << 20) -> bytes:
    """The whole (small) body of a response."""
    out = b""
    async for piece in iter_body(stream, head, rest):
        out += piece
        if len(out) > limit:
            break
    return out


async def iter_body(stream: trio.abc.Stream, head: ResponseHead, rest: bytes) -> Any:
    """Yield body pieces as they arrive (content-length, chunked or until close)."""
    length = head.get(b"content-length")
    chunked = (head.get(b"transfer-encoding") or b"").lower() == b"chunked"
    if chunked:
        decoder = ChunkedDecoder()
        data = rest
        while True:
            if data:
                for piece in decoder.feed(data):
                    if piece:
                        yield piece
                if decoder.done:
                    return
            data = bytes(await stream.receive_some(_READ))
            if not data:
                return
    left = int(length) if length is not None else -1
    data = rest
    while left != 0:
        if data:
            if left > 0:
                data = data[:left]
                left -= len(data)
            yield data
            if left == 0:
                return
        data = bytes(await stream.receive_some(_READ))
        if not data:
            return


def _kubelet_error(status: int, body: bytes) -> APIError:
    text = body.decode("utf-8", "replace").strip()
    reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               409: "Conflict", 500: "InternalError", 503: "ServiceUnavailable"}
    return APIError(text or f"the server responded with the status code {status}", code=status,
                    reason=reasons.get(status, "InternalError"))


# -- handlers --------------------------------------------------------------------------------


async def _target_for_pod(req: Request, storages: Any, pod: Obj) -> KubeletTarget:
    node_name = (pod.get("spec") or {}).get("nodeName") or ""
    nodes = storages.registry.get("", "v1", "nodes")
    node = (await storages.storage(nodes).get("", node_name)).obj
    ctx = getattr(storages, "kubelet_tls", None)
    if ctx is None:
        raise InternalError("the API server has no client certificate for kubelets")
    return KubeletTarget.of_node(node, ctx)


def _query(req: Request, drop: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(k, v) for k, vs in req.query.items() if k not in drop for v in vs]


async def handle_pod_subresource(req: Request, storages: Any) -> None:
    """Serve ``pods/<name>/{log,exec,attach,portforward}`` (see module doc)."""
    sub = req.info.subresource
    storage = storages.storage(req.resource)
    pod = (await storage.get(req.info.namespace, req.info.name)).obj
    if sub == "log":
        await _pod_log(req, storages, pod)
        return
    await _pod_stream(req, storages, pod, sub)


async def _pod_log(req: Request, storages: Any, pod: Obj) -> None:
    container = choose_container(pod, req.param("container"))
    if not (pod.get("spec") or {}).get("nodeName"):
        raise BadRequest(waiting_message(pod, container))
    target = await _target_for_pod(req, storages, pod)
    meta = pod.get("metadata") or {}
    path = "/containerLogs/" + "/".join(quote(str(p), safe="") for p in (meta.get("namespace"), meta.get("name"), container))
    query = urlencode(_query(req, ("container", "pretty", "insecureSkipTLSVerifyBackend")))
    stream, head, rest = await target.open("GET", path + ("?" + query if query else ""), [])
    try:
        if head.status != 200:
            raise _kubelet_error(head.status, await read_body(stream, head, rest))
        send = req.send
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, req.receive, nursery.cancel_scope)
            try:
                async for piece in iter_body(stream, head, rest):
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError, ProtocolError):
                pass
            nursery.cancel_scope.cancel()
        await send({"type": "http.response.body", "body": b""})
    finally:
        await trio.aclose_forcefully(stream)


async def _cancel_on_disconnect(receive: Any, scope: trio.CancelScope) -> None:
    while True:
        message = await receive()
        if message.get("type") in ("http.disconnect", "websocket.disconnect"):
            scope.cancel()
            return


def _stream_path(sub: str, pod: Obj, container: str) -> str:
    meta = pod.get("metadata") or {}
    parts = [str(meta.get("namespace")), str(meta.get("name"))]
    if sub == "portforward":
        return "/portForward/" + "/".join(quote(p, safe="") for p in parts)
    return f"/{sub}/" + "/".join(quote(p, safe="") for p in (*parts, container))


def kubelet_stream_query(sub: str, query: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """``PodExecOptions``/``PodAttachOptions``/``PodPortForwardOptions`` as kubelet params."""
    out: list[tuple[str, str]] = []
    if sub == "portforward":
        return [("port", p) for p in query.get("ports", [])]
    flags = {"stdin": "input", "stdout": "output", "stderr": "error", "tty": "tty"}
    for name, param in flags.items():
        values = query.get(name)
        if values and values[-1] in ("1", "t", "T", "true", "TRUE", "True"):
            out.append((param, "1"))
    if sub == "exec":
        out += [("command", c) for c in query.get("command", [])]
    return out


async def _pod_stream(req: Request, storages: Any, pod: Obj, sub: str) -> None:
    from ..http11 import TAKEOVER

    container = "" if sub == "portforward" else choose_container(pod, req.param("container"))
    if sub == "exec" and not req.query.get("command"):
        raise BadRequest("you must specify at least one command for the container")
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise BadRequest(f"cannot connect to a completed pod; current phase is {phase}")
    takeover = (req.scope.get("extensions") or {}).get(TAKEOVER)
    if takeover is None:
        raise BadRequest("Upgrade request required")
    target = await _target_for_pod(req, storages, pod)
    query = urlencode(kubelet_stream_query(sub, req.query))
    path = _stream_path(sub, pod, container) + ("?" + query if query else "")
    headers = [(k, v) for k, v in req.scope.get("headers", ())
               if k.lower() not in _DROP_HEADERS and not k.lower().startswith(b"impersonate-")]
    upstream, head, rest = await target.open(req.scope.get("method", "GET"), path, headers)
    if head.status != 101:
        try:
            body = await read_body(upstream, head, rest)
        finally:
            await trio.aclose_forcefully(upstream)
        raise _kubelet_error(head.status, body)
    client, buffered = takeover()
    try:
        await client.send_all(head.raw)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        await trio.aclose_forcefully(upstream)
        return
    await splice(client, upstream, buffered, rest)
