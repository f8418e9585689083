"""HTTP status and Status bodies map to the typed error tree in one place."""

from __future__ import annotations

import json

import httpx
import pytest

from k3trio.client import errors as e


def status(code: int, reason: str, message: str = "m", **details: object) -> bytes:
    body: dict[str, object] = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("code", "reason", "cls"),
    [
        (404, "NotFound", e.NotFound),
        (409, "AlreadyExists", e.AlreadyExists),
        (409, "Conflict", e.Conflict),
        (409, "", e.Conflict),
        (410, "Expired", e.Expired),
        (410, "Gone", e.Gone),
        (422, "Invalid", e.Invalid),
        (401, "Unauthorized", e.Unauthorized),
        (403, "Forbidden", e.Forbidden),
        (429, "TooManyRequests", e.TooManyRequests),
        (500, "InternalError", e.InternalError),
        (500, "ServerTimeout", e.Timeout),
        (503, "ServiceUnavailable", e.ServiceUnavailable),
        (504, "Timeout", e.Timeout),
        (502, "", e.ServerError),
        (418, "", e.ApiError),
    ],
)
def test_mapping(code: int, reason: str, cls: type[e.ApiError]) -> None:
    err = e.error_from_response(code, status(code, reason, "boom"), {})
    assert type(err) is cls
    assert err.status_code == code
    assert err.message == "boom"
    assert str(err) == "boom"


def test_expired_is_gone_and_conflict_is_not_already_exists() -> None:
    assert issubclass(e.Expired, e.Gone)
    assert not issubclass(e.AlreadyExists, e.Conflict)
    assert issubclass(e.Timeout, e.ServerError)


def test_invalid_causes_and_retry_after() -> None:
    cause = {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.x"}
    err = e.error_from_response(422, status(422, "Invalid", causes=[cause]), {})
    assert isinstance(err, e.Invalid)
    assert err.causes == [cause]
    err2 = e.error_from_response(429, status(429, "TooManyRequests"), {"retry-after": "3"})
    assert err2.retry_after == 3.0
    err3 = e.error_from_response(500, status(500, "ServerTimeout", retryAfterSeconds=2), {})
    assert err3.retry_after == 2.0


def test_non_status_body() -> None:
    err = e.error_from_response(404, b"404 page not found\n", {})
    assert isinstance(err, e.NotFound)
    assert err.message == "404 page not found"


def test_status_code_in_body_wins_for_watch_errors() -> None:
    err = e.error_from_status(200, {"kind": "Status", "code": 410, "reason": "Expired",
                                    "message": "too old resource version: 1 (5)"})
    assert isinstance(err, e.Expired)


def test_transport_errors_are_translated() -> None:
    with pytest.raises(e.ConnectionFailed) as info:
        with e.transport_errors("GET", "https://x"):
            raise httpx.ConnectError("refused")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    with pytest.raises(e.RequestTimedOut):
        with e.transport_errors("GET", "https://x"):
            raise httpx.ReadTimeout("slow")


def test_lost_connections() -> None:
    with pytest.raises(e.GoAway):
        with e.transport_errors("GET", "https://x"):
            raise httpx.RemoteProtocolError("<ConnectionTerminated error_code:0>")
    with pytest.raises(e.ConnectionLost) as info:
        with e.transport_errors("GET", "https://x"):
            raise httpx.ReadError("reset")
    assert not isinstance(info.value, e.GoAway)
