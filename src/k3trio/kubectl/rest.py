"""A small synchronous REST transport for the command line, on ``http.client`` and ``ssl``.

Why not ``k3trio.client``: that client is asynchronous (trio + httpx) and importing it costs
about a quarter of a second, more than the whole budget of ``k3trio kubectl get pods``. A
one-shot command needs one keep-alive connection, plain request/response, and streaming for
watches and logs; this module gives exactly that with the standard library only.

Errors: a response with status >= 400 raises ``StatusError`` carrying the decoded ``Status``
(or one synthesised as kubectl does for non-Status bodies); a failure to connect raises
``ConnectError`` with kubectl's wording. Nothing else is raised from here.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .kubeconfig import Connection

__all__ = ["ConnectError", "Response", "RestClient", "StatusError", "TABLE_ACCEPT"]

TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
USER_AGENT = "kubectl/v1.37.0 (linux/amd64) k3trio"

_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Gone",
    415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
    500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}


class ConnectError(Exception):
    """No HTTP response: connection refused, DNS, TLS or socket failure."""


class StatusError(Exception):
    """The server answered with a failure status; ``status`` is the ``Status`` object."""

    def __init__(self, code: int, status: dict[str, Any]) -> None:
        super().__init__(status.get("message") or f"status {code}")
        self.code = code
        self.status = status

    @property
    def reason(self) -> str:
        return str(self.status.get("reason") or "")

    @property
    def message(self) -> str:
        return str(self.status.get("message") or "")


class Response:
    """A finished response (body read)."""

    def __init__(self, code: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.code = code
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    @property
    def warnings(self) -> list[str]:
        return [_warning_text(v) for v in self.headers.get_all("Warning") or []]


def _warning_text(value: str) -> str:
    # RFC 7234 warning: 299 - "text"
    parts = value.split(" ", 2)
    if len(parts) == 3 and parts[2].startswith('"') and parts[2].endswith('"'):
        return parts[2][1:-1].replace('\\"', '"')
    return value


def status_for(code: int, body: bytes, method: str, what: str = "") -> dict[str, Any]:
    """The ``Status`` of a failed response (decoded, or synthesised as client-go does)."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return doc
    reason = _REASONS.get(code, "")
    text = body.decode("utf-8", "replace").strip()
    if code == 401:
        message = "the server has asked for the client to provide credentials"
    elif code == 403:
        message = text or "forbidden"
    elif code == 404:
        message = "the server could not find the requested resource"
    else:
        message = f"an error on the server ({text or 'unknown'}) has prevented the request from succeeding"
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}


class RestClient:
    """One connection to one API server; requests are sent one at a time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        url = urlsplit(conn.server)
        self.scheme = url.scheme or "https"
        self.host = url.hostname or "localhost"
        self.port = url.port or (443 if self.scheme == "https" else 80)
        self.prefix = url.path.rstrip("/")
        self.hostport = f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"
        self._http: http.client.HTTPConnection | None = None
        self._ctx: ssl.SSLContext | None = None

    # -- connection ----------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ctx is not None:
            return self._ctx
        c = self.conn
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if c.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif c.ca_pem:
            ctx.load_verify_locations(cadata=c.ca_pem.decode("ascii", "replace"))
        else:
            ctx.load_default_certs()
        if c.client_cert_pem and c.client_key_pem:
            # ssl wants files: write both to one private temporary file, load, remove.
            fd, path = tempfile.mkstemp(prefix="k3trio-kubectl-", suffix=".pem")
            try:
                os.write(fd, c.client_cert_pem.rstrip(b"\n") + b"\n" + c.client_key_pem)
                os.close(fd)
                ctx.load_cert_chain(path)
            finally:
                os.unlink(path)
        self._ctx = ctx
        return ctx

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._http is None:
            if self.scheme == "https":
                self._http = http.client.HTTPSConnection(
                    self.host, self.port, timeout=timeout, context=self._ssl_context())
                if self.conn.tls_server_name:
                    self._http._server_hostname = self.conn.tls_server_name  # type: ignore[attr-defined]
            else:
                self._http = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        else:
            self._http.timeout = timeout
            if self._http.sock is not None:
                self._http.sock.settimeout(timeout)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _headers(self, accept: str | None, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": accept or "application/json", "User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        c = self.conn
        token = c.current_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif c.username is not None:
            raw = f"{c.username}:{c.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        if c.impersonate:
            headers["Impersonate-User"] = c.impersonate
        for group in c.impersonate_groups:
            headers.setdefault("Impersonate-Group", group)
        return headers

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        full = self.prefix + path
        if params:
            clean = {k: _param(v) for k, v in params.items() if v is not None and v != ""}
            if clean:
                full += "?" + urlencode(clean, quote_via=quote, safe="")
        return full

    def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: bytes | None,
        accept: str | None, content_type: str | None, timeout: float | None,
    ) -> http.client.HTTPResponse:
        url = self.url(path, params)
        headers = self._headers(accept, content_type)
        for attempt in (0, 1):
            http_conn = self._connection(timeout)
            try:
                http_conn.request(method, url, body=body, headers=headers)
                return http_conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 1:
                    raise ConnectError(self._describe(exc, method, url)) from exc
            except ConnectionRefusedError as exc:
                self.close()
                raise ConnectError(
                    f"The connection to the server {self.hostport} was refused - "
                    "did you specify the right host or port?") from exc
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise ConnectError(
                    f'Unable to connect to the server: tls: failed to verify certificate: '
                    f'{exc.verify_message}') from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise ConnectError(self._describe(exc, method, url)) from exc
        raise AssertionError("unreachable")

    def _describe(self, exc: BaseException, method: str, url: str) -> str:
        if isinstance(exc, socket.gaierror):
            return (f'Unable to connect to the server: dial tcp: lookup {self.host}: '
                    'no such host')
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return (f'Unable to connect to the server: net/http: request canceled '
                    f'(Client.Timeout exceeded while awaiting headers)')
        return f"Unable to connect to the server: {exc}"

    # -- requests ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        accept: str | None = None,
        content_type: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send one request and read the answer.

        Raises:
            StatusError: status >= 400.
            ConnectError: no response.
        """
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            content_type = content_type or "application/json"
        if timeout is None:
            timeout = self.conn.timeout
        resp = self._send(method, path, params, data, accept, content_type, timeout)
        try:
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ConnectError(self._describe(exc, method, path)) from exc
        if resp.will_close:
            self.close()
        if resp.status >= 400:
            raise StatusError(resp.status, status_for(resp.status, raw, method))
        return Response(resp.status, resp.headers, raw)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def stream(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
        accept: str | None = None, timeout: float | None = None,
    ) -> Iterator[bytes]:
        """Yield the raw body in chunks as they arrive (watches, follow logs).

        Raises:
            StatusError: status >= 400 (raised before the first chunk).
            ConnectError: no response.
        """
        resp = self._send(method, path, params, None, accept, None, timeout)
        if resp.status >= 400:
            raw = resp.read()
            self.close()
            raise StatusError(resp.status, status_for(resp.status, raw, method))
        return self._chunks(resp)

    def _chunks(self, resp: http.client.HTTPResponse) -> Iterator[bytes]:
        try:
            while True:
                try:
                    chunk = resp.read1(65536)
                except (OSError, http.client.HTTPException):
                    return
                if not chunk:
                    return
                yield chunk
        finally:
            self.close()

    def watch_events(self, path: str, params: Mapping[str, Any], accept: str | None = None,
                     ) -> Iterator[dict[str, Any]]:
        """Decoded watch events (one JSON document per line)."""
        buf = b""
        for chunk in self.stream("GET", path, params=params, accept=accept):
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    yield json.loads(line)
        if buf.strip():
            yield json.loads(buf)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
