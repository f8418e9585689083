"""The kubelet's HTTPS API (port 10250): health, pods, stats, logs, exec, attach, port-forward.

The API server reaches pods through here (``pods/log``, ``pods/exec``...), as upstream's
kube-apiserver reaches kubelets. Serving certificate: this node's kubelet serving
certificate (server CA); client certificates are verified against the cluster client CA.

Authentication: the verified client certificate (CN = user, O = groups), else a bearer
token checked with a TokenReview; nobody else (401). Authorization: ``system:masters``
(the API server's own identity is in it) may do everything; anyone else needs a
SubjectAccessReview allowing ``<verb> nodes/<subresource>`` on this node, the subresource
chosen by path as upstream's kubelet does (``stats``, ``metrics``, ``log``, ``spec``, else
``proxy``).

Endpoints:

- ``GET /healthz`` -> ``ok``; ``GET /pods`` -> the PodList this kubelet runs;
  ``GET /stats/summary`` -> a ``Summary`` of the node and its pods;
- ``GET /containerLogs/<ns>/<pod>/<container>`` -> the container's log (``streaming.logs``);
- ``/exec/...``, ``/attach/...``, ``/portForward/...`` -> ``streaming.remote``.

Served with our own TLS accept loop over :func:`~k3trio.apiserver.http11.serve_http11`
(HTTP/1.1 only, so an upgraded connection is always a plain byte stream).
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import trio

from ...apiserver.http11 import HTTP11Limits, serve_http11
from ...client import ApiError, Client, ClientError
from ...pki.tls import peer_identity
from ..cri import ContainerState, CriError, CriNotFound
from .streaming.logs import LogOptionError, parse_log_options, stream_log_file
from .streaming.logstatus import ContainerLogError, container_id_for_logs, strip_runtime

__all__ = ["KubeletServer", "kubelet_authz_attributes", "kubelet_ssl_context", "run_kubelet_api", "serve_kubelet"]

log = logging.getLogger("k3trio.agent.kubelet.server")

PEER = "k3trio.kubelet.peer"
HANDSHAKE_TIMEOUT = 10.0
MASTERS = "system:masters"

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_METHOD_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update",
                 "PATCH": "patch", "DELETE": "delete"}


def kubelet_authz_attributes(method: str, path: str) -> tuple[str, str]:
    """``(verb, subresource)`` of ``nodes`` a kubelet request needs (upstream's mapping)."""
    verb = _METHOD_VERBS.get(method, method.lower())
    head = path.lstrip("/").split("/", 1)[0]
    sub = {"stats": "stats", "metrics": "metrics", "logs": "log", "spec": "spec",
           "checkpoint": "checkpoint", "configz": "configz", "healthz": "healthz",
           "pods": "pods"}.get(head, "proxy")
    # Only these have their own subresource upstream; the rest go through proxy.
    if sub in ("healthz", "pods", "configz"):
        sub = "proxy"
    return verb, sub


class HTTPError(Exception):
    """A plain-text error response (status, message), as the kubelet writes them."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def send_text(send: Send, status: int, text: str | bytes,
                    content_type: bytes = b"text/plain; charset=utf-8") -> None:
    body = text.encode() if isinstance(text, str) else text
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class KubeletServer:
    """The ASGI app of the kubelet API (see module doc).

    Args:
        kubelet: the running kubelet (its pod cache and node name).
        runtime: the CRI runtime (``container_status``, and the streaming calls).
        client: the node's API client (TokenReview, SubjectAccessReview).
    """

    def __init__(self, kubelet: Any, runtime: Any, client: Client | None,
                 *, started: float | None = None) -> None:
        self.kubelet = kubelet
        self.runtime = runtime
        self.client = client
        self.started = started if started is not None else time.time()

    # -- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            await self._authorize(scope)
            await self._route(scope, receive, send)
        except HTTPError as exc:
            await send_text(send, exc.status, str(exc))

    async def _authorize(self, scope: dict[str, Any]) -> None:
        peer = scope.get(PEER)
        user, groups = (peer.user, tuple(peer.groups)) if peer is not None else ("", ())
        if not user:
            user, groups = await self._token_user(scope)
        if not user:
            raise HTTPError(401, "Unauthorized")
        if MASTERS in groups:
            return
        verb, sub = kubelet_authz_attributes(scope["method"], scope["path"])
        if not await self._access_review(user, groups, verb, sub):
            raise HTTPError(403, f"Forbidden (user={user}, verb={verb}, resource=nodes, "
                                 f"subresource({sub}))")

    async def _token_user(self, scope: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        token = ""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization" and value[:7].lower() == b"bearer ":
                token = value[7:].decode("latin-1").strip()
        if not token or self.client is None:
            return "", ()
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                  "spec": {"token": token}}
        try:
            out = await self.client.request_json(
                "POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=review)
        except (ApiError, ClientError) as exc:
            log.warning("TokenReview failed: %s", exc)
            return "", ()
        status = out.get("status") or {}
        if not status.get("authenticated"):
            return "", ()
        u = status.get("user") or {}
        return str(u.get("username") or ""), tuple(u.get("groups") or ())

    async def _access_review(self, user: str, groups: tuple[str, ...], verb: str, sub: str) -> bool:
        if self.client is None:
            return False
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": user, "groups": list(groups), "resourceAttributes": {
                      "verb": verb, "resource": "nodes", "subresource": sub,
                      "name": self.kubelet.node_name}}}
        try:
            out = await self.client.request_json(
                "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=review)
        except (ApiError, ClientError) as exc:
            log.warning("SubjectAccessReview failed: %s", exc)
            return False
        return bool((out.get("status") or {}).get("allowed"))

    async def _route(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        parts = [p for p in path.split("/") if p]
        query = parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True)
        head = parts[0] if parts else ""
        if head == "healthz":
            await send_text(send, 200, "ok")
        elif head == "pods" and len(parts) == 1:
            await self._pods(send)
        elif path.rstrip("/") == "/stats/summary":
            await self._summary(send)
        elif head == "containerLogs" and len(parts) == 4:
            await self._logs(parts[1], parts[2], parts[3], query, receive, send)
        elif head in ("exec", "attach", "portForward"):
            from .streaming.remote import serve_remote

            await serve_remote(self, head, parts[1:], query, scope, receive, send)
        else:
            await send_text(send, 404, "404 page not found")

    # -- pods and stats -----------------------------------------------------------------

    def pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        """This node's pod ``namespace/name`` from the kubelet's cache."""
        obj = self.kubelet.pods.indexer.get(f"{namespace}/{name}")
        return obj if isinstance(obj, dict) else None

    def _all_pods(self) -> list[dict[str, Any]]:
        return [p for p in self.kubelet.pods.indexer.list() if isinstance(p, dict)]

    async def _pods(self, send: Send) -> None:
        body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": self._all_pods()}
        await send_text(send, 200, json.dumps(body), b"application/json")

    async def _summary(self, send: Send) -> None:
        from datetime import UTC, datetime

        from ...api.meta import format_time

        def stamp(seconds: float) -> str:
            return format_time(datetime.fromtimestamp(seconds, UTC))

        now = stamp(time.time())
        pods = []
        for pod in self._all_pods():
            meta = pod.get("metadata") or {}
            status = pod.get("status") or {}
            containers = [
                {"name": cs.get("name"),
                 "startTime": ((cs.get("state") or {}).get("running") or {}).get("startedAt")
                 or status.get("startTime")}
                for cs in status.get("containerStatuses") or []
            ]
            pods.append({"podRef": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                                    "uid": meta.get("uid")},
                         "startTime": status.get("startTime"), "containers": containers})
        cpu = memory = None
        try:
            with open("/proc/meminfo") as f:
                info = {k: int(v.split()[0]) * 1024 for k, _, v in
                        (line.partition(":") for line in f) if v.strip()}
            memory = {"time": now, "availableBytes": info.get("MemAvailable", 0),
                      "usageBytes": info.get("MemTotal", 0) - info.get("MemAvailable", 0),
                      "workingSetBytes": info.get("MemTotal", 0) - info.get("MemAvailable", 0)}
            with open("/proc/stat") as f:
                fields = f.readline().split()[1:]
            ticks = sum(int(x) for x in fields[:3] + fields[5:8])
            cpu = {"time": now, "usageCoreNanoSeconds": ticks * 10_000_000}
        except (OSError, ValueError, IndexError):
            pass
        node: dict[str, Any] = {"nodeName": self.kubelet.node_name, "startTime": stamp(self.started),
                                "systemContainers": []}
        if cpu is not None:
            node["cpu"] = cpu
        if memory is not None:
            node["memory"] = memory
        await send_text(send, 200, json.dumps({"node": node, "pods": pods}), b"application/json")

    # -- logs ---------------------------------------------------------------------------

    async def _logs(self, namespace: str, name: str, container: str,
                    query: dict[str, list[str]], receive: Receive, send: Send) -> None:
        pod = self.pod(namespace, name)
        if pod is None:
            raise HTTPError(404, f'pod "{name}" does not exist\n')
        names = [c.get("name") for key in ("containers", "initContainers", "ephemeralContainers")
                 for c in (pod.get("spec") or {}).get(key) or []]
        if container not in names:
            raise HTTPError(404, f'container "{container}" not found in pod "{name}"\n')
        try:
            opts = parse_log_options(query, time.time_ns())
            cid = strip_runtime(container_id_for_logs(pod, container, opts.previous))
        except (LogOptionError, ContainerLogError) as exc:
            raise HTTPError(400, str(exc)) from None
        try:
            status = await self.runtime.container_status(cid)
        except CriNotFound:
            raise HTTPError(400, f'failed to get container status "{cid}": not found') from None
        except CriError as exc:
            raise HTTPError(500, str(exc)) from None
        path = status.log_path

        async def running() -> bool:
            try:
                return bool((await self.runtime.container_status(cid)).state == ContainerState.RUNNING)
            except CriError:
                return False

        async def write(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        try:
            await trio.to_thread.run_sync(_check_readable, path)
        except OSError as exc:
            raise HTTPError(400, f'failed to open log file "{path}": {exc.strerror}') from None
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
            try:
                await stream_log_file(path, opts, write, running=running)
            except FileNotFoundError:
                pass
            nursery.cancel_scope.cancel()
        await send({"type": "http.response.body", "body": b""})


def _check_readable(path: str) -> None:
    with open(path, "rb"):
        pass


async def _cancel_on_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


# -- serving ---------------------------------------------------------------------------


async def _serve_connection(app: KubeletServer, ctx: ssl.SSLContext, tcp: trio.SocketStream) -> None:
    stream = trio.SSLStream(tcp, ctx, server_side=True)
    try:
        with trio.fail_after(HANDSHAKE_TIMEOUT):
            await stream.do_handshake()
    except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError):
        await trio.aclose_forcefully(stream)
        return
    try:
        peer = peer_identity(stream)
        addr = tcp.socket.getpeername()
        scope = {PEER: peer, "client": (addr[0], addr[1]) if isinstance(addr, tuple) else None}
        await serve_http11(stream, app, scope, HTTP11Limits(keep_alive_timeout=120.0))
    except Exception:
        log.debug("kubelet API connection failed", exc_info=True)
    finally:
        await trio.aclose_forcefully(stream)


async def serve_kubelet(
    app: KubeletServer,
    ssl_context: ssl.SSLContext,
    *,
    host: str = "0.0.0.0",
    port: int = 10250,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the kubelet API over TLS until cancelled; reports the bound port.

    Raises:
        OSError: the port cannot be bound (before anything is started).
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    log.info("Kubelet API listening on https://%s:%d", host, bound)
    await trio.serve_listeners(partial(_serve_connection, app, ssl_context), listeners,
                               task_status=_Started(task_status, bound))


class _Started:
    """Reports ``value`` instead of the listeners ``serve_listeners`` would report."""

    def __init__(self, task_status: trio.TaskStatus[int], value: int) -> None:
        self._status = task_status
        self._value = value

    def started(self, _: object = None) -> None:
        self._status.started(self._value)


def kubelet_ssl_context(data_dir: Path) -> ssl.SSLContext | None:
    """The kubelet API's TLS context from the node's PKI files under ``data_dir``, or None.

    Serving chain: ``server/tls/serving-kubelet.{crt,key}``; client certificates verified
    against ``server/tls/client-ca.crt``.
    """
    from ...pki.tls import server_ssl_context

    tls = data_dir / "server" / "tls"
    try:
        cert = (tls / "serving-kubelet.crt").read_bytes()
        key = (tls / "serving-kubelet.key").read_bytes()
        client_ca = (tls / "client-ca.crt").read_bytes()
    except OSError:
        return None
    return server_ssl_context(cert_pem=cert, key_pem=key, client_ca_pem=client_ca, alpn=("http/1.1",))


async def run_kubelet_api(data_dir: Path, kubelet: Any, runtime: Any, client: Client | None,
                          *, port: int = 10250,
                          task_status: trio.TaskStatus[int | None] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the kubelet API until cancelled, retrying while the port is taken.

    Reports the bound port, or None when this node has no kubelet certificate (then
    nothing is served).
    """
    ctx = await trio.to_thread.run_sync(kubelet_ssl_context, data_dir)
    if ctx is None:
        log.warning("No kubelet serving certificate under %s; the kubelet API is not served", data_dir)
        task_status.started(None)
        return
    app = KubeletServer(kubelet, runtime, client)
    delay = 1.0
    reported = False
    while True:
        try:
            listeners = await trio.open_tcp_listeners(port, host="0.0.0.0")
        except OSError as exc:
            log.error("Kubelet API cannot listen on port %d: %s; retrying", port, exc)
            if not reported:
                reported = True
                task_status.started(None)
            await trio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        bound = listeners[0].socket.getsockname()[1]
        log.info("Kubelet API listening on https://0.0.0.0:%d", bound)
        if not reported:
            reported = True
            task_status.started(bound)
        await trio.serve_listeners(partial(_serve_connection, app, ctx), listeners)
