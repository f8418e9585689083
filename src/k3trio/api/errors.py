"""The API error tree and the field-error model, turned into ``Status`` objects in one place.

    APIError(code, reason, message, details)
    ├── BadRequest              400 BadRequest
    ├── Unauthorized            401 Unauthorized
    ├── Forbidden               403 Forbidden
    ├── NotFound                404 NotFound
    ├── MethodNotSupported      405 MethodNotAllowed
    ├── NotAcceptable           406 NotAcceptable
    ├── AlreadyExists           409 AlreadyExists
    ├── Conflict                409 Conflict
    ├── Gone                    410 Expired (or Gone)
    ├── RequestEntityTooLarge   413 RequestEntityTooLarge
    ├── UnsupportedMediaType    415 UnsupportedMediaType
    ├── Invalid                 422 Invalid (carries causes built from FieldErrors)
    ├── TooManyRequests         429 TooManyRequests
    ├── InternalError           500 InternalError
    ├── ServiceUnavailable      503 ServiceUnavailable
    └── Timeout                 504 Timeout

Invariants:
- Every message is composed exactly as kube-apiserver composes it, so clients that match on
  text (kubectl, e2e suites) see identical output.
- ``APIError.to_status()`` is the only producer of ``Status`` failure dicts; its key order and
  omission of empty fields follow the Go JSON encoding of ``metav1.Status``.
- ``FieldError`` mirrors apimachinery's ``field.Error``: ``error_body()`` is the cause message,
  ``str()`` prefixes the field path. ``aggregate()`` de-duplicates and brackets like
  ``utilerrors.Aggregate``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

__all__ = [
    "APIError",
    "AlreadyExists",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "Gone",
    "InternalError",
    "Invalid",
    "MethodNotSupported",
    "NotAcceptable",
    "NotFound",
    "RequestEntityTooLarge",
    "ServiceUnavailable",
    "Timeout",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "aggregate",
    "qualified_kind",
    "qualified_resource",
]

# --------------------------------------------------------------------------------------------
# Field errors (apimachinery/pkg/util/validation/field)
# --------------------------------------------------------------------------------------------

_OMIT = object()

_TYPE_TEXT = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}

# Types whose message never shows the offending value.
_VALUELESS = {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"}


def _go_quote(value: str) -> str:
    """A string quoted as Go's %q does for printable text."""
    return json.dumps(value, ensure_ascii=False)


def _render_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{_go_quote(k)}:{_go_quote(value[k])}" for k in sorted(value))
        return f"map[string]string{{{inner}}}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(_go_quote(v) for v in value) + "}"
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class FieldError:
    """One validation failure at a field path (``spec.containers[0].name``)."""

    type: str
    field: str
    bad_value: Any = _OMIT
    detail: str = ""

    # -- constructors mirroring field.Required(), field.Invalid(), ... -------------------------
    @classmethod
    def required(cls, path: str, detail: str = "") -> FieldError:
        return cls("FieldValueRequired", path, "", detail)

    @classmethod
    def invalid(cls, path: str, value: Any, detail: str = "") -> FieldError:
        return cls("FieldValueInvalid", path, value, detail)

    @classmethod
    def not_supported(cls, path: str, value: Any, valid: Sequence[str] = ()) -> FieldError:
        detail = ""
        if valid:
            detail = "supported values: " + ", ".join(_go_quote(v) for v in valid)
        return cls("FieldValueNotSupported", path, value, detail)

    @classmethod
    def duplicate(cls, path: str, value: Any) -> FieldError:
        return cls("FieldValueDuplicate", path, value, "")

    @classmethod
    def not_found(cls, path: str, value: Any) -> FieldError:
        return cls("FieldValueNotFound", path, value, "")

    @classmethod
    def forbidden(cls, path: str, detail: str) -> FieldError:
        return cls("FieldValueForbidden", path, "", detail)

    @classmethod
    def too_long(cls, path: str, value: Any, max_length: int) -> FieldError:
        return cls("FieldValueTooLong", path, value, f"must have at most {max_length} bytes")

    @classmethod
    def too_many(cls, path: str, actual: int, max_quantity: int) -> FieldError:
        return cls("FieldValueTooMany", path, actual, f"must have at most {max_quantity} items")

    @classmethod
    def internal(cls, path: str, err: str) -> FieldError:
        return cls("InternalError", path, None, err)

    # -- rendering -----------------------------------------------------------------------------
    def error_body(self) -> str:
        """The message without the field path (a ``StatusCause.message``)."""
        text = _TYPE_TEXT.get(self.type, self.type)
        if self.type in _VALUELESS or self.bad_value is _OMIT:
            body = text
        else:
            body = f"{text}: {_render_value(self.bad_value)}"
        if self.detail:
            body += f": {self.detail}"
        return body

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.error_body()}"
        return self.error_body()

    def to_cause(self) -> dict[str, Any]:
        cause: dict[str, Any] = {"reason": self.type, "message": self.error_body()}
        if self.field:
            cause["field"] = self.field
        return cause


def aggregate(messages: Iterable[str]) -> str:
    """Join messages as ``utilerrors.Aggregate.Error()`` does: dedupe, bracket if several."""
    items = list(messages)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    seen: list[str] = []
    for msg in items:
        if msg not in seen:
            seen.append(msg)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def qualified_resource(resource: str, group: str = "") -> str:
    """``schema.GroupResource.String()``: ``deployments.apps``, ``pods``."""
    return f"{resource}.{group}" if group else resource


def qualified_kind(kind: str, group: str = "") -> str:
    """``schema.GroupKind.String()``: ``Deployment.apps``, ``Pod``."""
    return f"{kind}.{group}" if group else kind


# --------------------------------------------------------------------------------------------
# API errors (apimachinery/pkg/api/errors)
# --------------------------------------------------------------------------------------------


@dataclass
class Details:
    name: str = ""
    group: str = ""
    kind: str = ""
    uid: str = ""
    causes: list[dict[str, Any]] = field(default_factory=list)
    retry_after_seconds: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        if self.group:
            out["group"] = self.group
        if self.kind:
            out["kind"] = self.kind
        if self.uid:
            out["uid"] = self.uid
        if self.causes:
            out["causes"] = list(self.causes)
        if self.retry_after_seconds:
            out["retryAfterSeconds"] = self.retry_after_seconds
        return out


class APIError(Exception):
    """An error the API server reports as a ``Status`` with ``status: Failure``."""

    code: int = 500
    reason: str = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        reason: str | None = None,
        details: Details | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason
        self.details = details

    def to_status(self) -> dict[str, Any]:
        """The ``metav1.Status`` JSON object for this error."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
        }
        if self.message:
            status["message"] = self.message
        if self.reason:
            status["reason"] = self.reason
        if self.details is not None:
            status["details"] = self.details.to_dict()
        if self.code:
            status["code"] = self.code
        return status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.reason!r}, {self.message!r})"


class BadRequest(APIError):
    code, reason = 400, "BadRequest"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class Unauthorized(APIError):
    code, reason = 401, "Unauthorized"

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message or "not authorized")


class Forbidden(APIError):
    """403. Build with :meth:`for_request` for the RBAC-style message."""

    code, reason = 403, "Forbidden"

    def __init__(self, resource: str, name: str, reason_text: str, group: str = "") -> None:
        if not resource:
            message = f"forbidden: {reason_text}"
        elif not name:
            message = f"{qualified_resource(resource, group)} is forbidden: {reason_text}"
        else:
            message = (
                f"{qualified_resource(resource, group)} {_go_quote(name)} is forbidden: {reason_text}"
            )
        super().__init__(message, details=Details(name=name, group=group, kind=resource))

    @classmethod
    def for_request(
        cls,
        *,
        user: str,
        verb: str,
        resource: str,
        group: str = "",
        namespace: str = "",
        name: str = "",
        subresource: str = "",
        reason: str = "",
    ) -> Forbidden:
        """The authorizer's denial for a resource request."""
        full = f"{resource}/{subresource}" if subresource else resource
        if namespace:
            text = (
                f"User {_go_quote(user)} cannot {verb} resource {_go_quote(full)} in API group "
                f"{_go_quote(group)} in the namespace {_go_quote(namespace)}"
            )
        else:
            text = (
                f"User {_go_quote(user)} cannot {verb} resource {_go_quote(full)} in API group "
                f"{_go_quote(group)} at the cluster scope"
            )
        if reason:
            text += f": {reason}"
        return cls(resource, name, text, group)

    @classmethod
    def for_path(cls, *, user: str, verb: str, path: str, reason: str = "") -> Forbidden:
        """The authorizer's denial for a non-resource URL."""
        text = f"User {_go_quote(user)} cannot {verb} path {_go_quote(path)}"
        if reason:
            text += f": {reason}"
        return cls("", "", text)


class NotFound(APIError):
    code, reason = 404, "NotFound"

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(
            f"{qualified_resource(resource, group)} {_go_quote(name)} not found",
            details=Details(name=name, group=group, kind=resource),
        )


class MethodNotSupported(APIError):
    code, reason = 405, "MethodNotAllowed"

    def __init__(self, resource: str, action: str, group: str = "") -> None:
        super().__init__(
            f"{action} is not supported on resources of kind {_go_quote(qualified_resource(resource, group))}",
            details=Details(group=group, kind=resource),
        )


class NotAcceptable(APIError):
    code, reason = 406, "NotAcceptable"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class AlreadyExists(APIError):
    code, reason = 409, "AlreadyExists"

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(
            f"{qualified_resource(resource, group)} {_go_quote(name)} already exists",
            details=Details(name=name, group=group, kind=resource),
        )


OPTIMISTIC_LOCK_MESSAGE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class Conflict(APIError):
    code, reason = 409, "Conflict"

    def __init__(
        self, resource: str, name: str, cause: str = OPTIMISTIC_LOCK_MESSAGE, group: str = ""
    ) -> None:
        super().__init__(
            f"Operation cannot be fulfilled on {qualified_resource(resource, group)} "
            f"{_go_quote(name)}: {cause}",
            details=Details(name=name, group=group, kind=resource),
        )


class Gone(APIError):
    """410. ``expired=True`` (the default) is ``NewResourceExpired``: reason ``Expired``."""

    code, reason = 410, "Expired"

    def __init__(self, message: str, *, expired: bool = True) -> None:
        super().__init__(message, reason="Expired" if expired else "Gone")


class RequestEntityTooLarge(APIError):
    code, reason = 413, "RequestEntityTooLarge"

    def __init__(self, message: str) -> None:
        super().__init__(f"Request entity too large: {message}")


class UnsupportedMediaType(APIError):
    code, reason = 415, "UnsupportedMediaType"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class Invalid(APIError):
    code, reason = 422, "Invalid"

    def __init__(self, kind: str, name: str, errors: Sequence[FieldError], group: str = "") -> None:
        qk = qualified_kind(kind, group)
        agg = aggregate(str(e) for e in errors)
        if agg:
            message = f"{qk} {_go_quote(name)} is invalid: {agg}"
        else:
            message = f"{qk} {_go_quote(name)} is invalid"
        super().__init__(
            message,
            details=Details(
                name=name, group=group, kind=kind, causes=[e.to_cause() for e in errors]
            ),
        )
        self.errors = list(errors)


class TooManyRequests(APIError):
    code, reason = 429, "TooManyRequests"

    def __init__(self, message: str, retry_after_seconds: int = 0) -> None:
        super().__init__(
            message or "Too many requests, please try again later.",
            details=Details(retry_after_seconds=retry_after_seconds),
        )


class InternalError(APIError):
    code, reason = 500, "InternalError"

    def __init__(self, err: str) -> None:
        super().__init__(
            f"Internal error occurred: {err}", details=Details(causes=[{"message": err}])
        )


class ServiceUnavailable(APIError):
    code, reason = 503, "ServiceUnavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class Timeout(APIError):
    code, reason = 504, "Timeout"

    def __init__(self, message: str, retry_after_seconds: int = 0) -> None:
        super().__init__(
            f"Timeout: {message}", details=Details(retry_after_seconds=retry_after_seconds)
        )
