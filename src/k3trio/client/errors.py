"""The client's exception tree: HTTP failures and ``Status`` bodies mapped in one place.

    ClientError
    ├── ConnectionFailed            no HTTP response: refused, reset, TLS failure, protocol error
    │   ├── ConnectionLost          an open connection broke (reset, broken pipe)
    │   │   └── GoAway              the server ended the HTTP/2 connection (GOAWAY) first
    │   └── RequestTimedOut         the client gave up waiting (connect/read/write/pool timeout)
    ├── DecodeError                 a response body that is not the JSON we expected
    └── ApiError(status_code, reason, message, status)
        ├── BadRequest              400
        ├── Unauthorized            401
        ├── Forbidden               403
        ├── NotFound                404
        ├── MethodNotAllowed        405
        ├── NotAcceptable           406
        ├── AlreadyExists           409 reason AlreadyExists
        ├── Conflict                409 any other reason (optimistic-concurrency failure)
        ├── Gone                    410 reason Gone
        │   └── Expired             410 reason Expired (a too-old resourceVersion: relist)
        ├── RequestEntityTooLarge   413
        ├── UnsupportedMediaType    415
        ├── Invalid                 422 (``causes``: the field errors)
        ├── TooManyRequests         429 (``retry_after`` seconds, from the header or details)
        └── ServerError             5xx
            ├── InternalError       500
            ├── ServiceUnavailable  503 (``retry_after``)
            └── Timeout             504, or reason Timeout/ServerTimeout

Invariants:
- ``error_from_status`` is the only place an HTTP status or a ``Status`` object becomes an
  exception; the reason wins over the code when both are known (a 500 with reason
  ``ServerTimeout`` is a ``Timeout``), and an unknown 4xx/5xx still yields ``ApiError`` or
  ``ServerError``.
- ``transport_errors()`` is the only place httpx exceptions are translated; the original is
  kept as ``__cause__``.
- Watch ``ERROR`` events carry a ``Status`` and go through the same mapping.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "ConnectionLost",
    "DecodeError",
    "Expired",
    "Forbidden",
    "GoAway",
    "Gone",
    "InternalError",
    "Invalid",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "RequestEntityTooLarge",
    "RequestTimedOut",
    "ServerError",
    "ServiceUnavailable",
    "Timeout",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "error_from_response",
    "error_from_status",
    "transport_errors",
]


class ClientError(Exception):
    """Base of every error the client raises."""


class ConnectionFailed(ClientError):
    """The request got no HTTP response (connection refused/reset, TLS or protocol error)."""


class ConnectionLost(ConnectionFailed):
    """An established connection broke mid-request (reset by peer, broken pipe).

    Reads (GET/HEAD) are retried once on a new connection by ``Client.request``.
    """


class GoAway(ConnectionLost):
    """The server sent HTTP/2 GOAWAY and closed the connection before answering.

    Idempotent requests are retried on a new connection by ``Client.request``.
    """


class RequestTimedOut(ConnectionFailed):
    """The client's own connect/read/write/pool timeout expired."""


class DecodeError(ClientError):
    """The server answered with a body that is not the expected JSON."""


class ApiError(ClientError):
    """The server answered with a failure status.

    Attributes:
        status_code: the HTTP status code.
        reason: the ``Status.reason`` (``NotFound``, ``Conflict``...), or "" if absent.
        message: the ``Status.message`` (or the body text when it is not a Status).
        status: the decoded ``Status`` object, or an empty dict.
    """

    def __init__(
        self,
        status_code: int,
        reason: str = "",
        message: str = "",
        status: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message or reason or f"HTTP {status_code}")
        self.status_code = status_code
        self.reason = reason
        self.message = message
        self.status: dict[str, Any] = dict(status or {})
        self.retry_after = retry_after

    @property
    def details(self) -> dict[str, Any]:
        details = self.status.get("details")
        return details if isinstance(details, dict) else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_code}, {self.reason!r}, {self.message!r})"


class BadRequest(ApiError):
    """400."""


class Unauthorized(ApiError):
    """401: no or invalid credentials."""


class Forbidden(ApiError):
    """403: the identity may not do this."""


class NotFound(ApiError):
    """404: the object (or the resource, or the namespace) does not exist."""


class MethodNotAllowed(ApiError):
    """405: the resource does not support the verb."""


class NotAcceptable(ApiError):
    """406: the requested representation is not served."""


class AlreadyExists(ApiError):
    """409 AlreadyExists: create of a name that exists."""


class Conflict(ApiError):
    """409: the object changed since it was read (stale resourceVersion or precondition)."""


class Gone(ApiError):
    """410: the requested resourceVersion is no longer available."""


class Expired(Gone):
    """410 Expired: the watch or list resourceVersion was compacted; relist."""


class RequestEntityTooLarge(ApiError):
    """413."""


class UnsupportedMediaType(ApiError):
    """415: e.g. a patch type the resource does not accept."""


class Invalid(ApiError):
    """422: validation failed; ``causes`` lists ``{reason, message, field}`` dicts."""

    @property
    def causes(self) -> list[dict[str, Any]]:
        causes = self.details.get("causes")
        return [c for c in causes if isinstance(c, dict)] if isinstance(causes, list) else []


class TooManyRequests(ApiError):
    """429: throttled; wait ``retry_after`` seconds (when given) and retry."""


class ServerError(ApiError):
    """Any 5xx."""


class InternalError(ServerError):
    """500."""


class ServiceUnavailable(ServerError):
    """503: e.g. not ready yet; ``retry_after`` when the server gave one."""


class Timeout(ServerError):
    """504, or a server-side timeout reported by reason."""


_BY_REASON: dict[str, type[ApiError]] = {
    "BadRequest": BadRequest,
    "Unauthorized": Unauthorized,
    "Forbidden": Forbidden,
    "NotFound": NotFound,
    "MethodNotAllowed": MethodNotAllowed,
    "NotAcceptable": NotAcceptable,
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Gone": Gone,
    "Expired": Expired,
    "RequestEntityTooLarge": RequestEntityTooLarge,
    "UnsupportedMediaType": UnsupportedMediaType,
    "Invalid": Invalid,
    "TooManyRequests": TooManyRequests,
    "InternalError": InternalError,
    "ServiceUnavailable": ServiceUnavailable,
    "Timeout": Timeout,
    "ServerTimeout": Timeout,
}

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    410: Gone,
    413: RequestEntityTooLarge,
    415: UnsupportedMediaType,
    422: Invalid,
    429: TooManyRequests,
    500: InternalError,
    503: ServiceUnavailable,
    504: Timeout,
}


def _parse_retry_after(header: str | None, details: Mapping[str, Any]) -> float | None:
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    value = details.get("retryAfterSeconds")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def error_from_status(
    status_code: int, status: Mapping[str, Any] | None, *, retry_after_header: str | None = None
) -> ApiError:
    """The exception for an HTTP failure code and its (possibly missing) ``Status`` body.

    A ``Status`` with its own ``code`` (as in watch ERROR events) uses that code.
    """
    status = status or {}
    code = status.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        status_code = code
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or "")
    cls = _BY_REASON.get(reason)
    if cls is None or (status_code == 409 and cls not in (AlreadyExists, Conflict)):
        cls = _BY_CODE.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else ApiError
    details = status.get("details")
    retry = _parse_retry_after(retry_after_header, details if isinstance(details, dict) else {})
    return cls(status_code, reason, message, status, retry_after=retry)


def error_from_response(status_code: int, body: bytes, headers: Mapping[str, str]) -> ApiError:
    """The exception for a failed HTTP response (body decoded as ``Status`` if it is one)."""
    status: dict[str, Any] = {}
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        status = decoded
    elif body:
        status = {"message": body.decode("utf-8", "replace").strip()}
    return error_from_status(status_code, status, retry_after_header=headers.get("retry-after"))


@contextlib.contextmanager
def transport_errors(method: str, url: str) -> Iterator[None]:
    """Translate httpx transport exceptions raised inside the block into client errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise RequestTimedOut(f"{method} {url}: timed out ({type(exc).__name__})") from exc
    except httpx.RemoteProtocolError as exc:
        cls = GoAway if "ConnectionTerminated" in str(exc) else ConnectionLost
        raise cls(f"{method} {url}: {exc}") from exc
    except (httpx.ReadError, httpx.WriteError) as exc:
        raise ConnectionLost(f"{method} {url}: {exc}") from exc
    except httpx.TransportError as exc:
        raise ConnectionFailed(f"{method} {url}: {exc or type(exc).__name__}") from exc
    except httpx.StreamError as exc:
        raise ConnectionFailed(f"{method} {url}: {exc}") from exc
