"""The API server's extension points: who is asking, may they, and admission.

The request pipeline is, for every resource request::

    authenticate -> RequestInfo -> authorize -> decode -> (mutating admission) -> defaults
      -> validation -> (validating admission) -> storage

This module only declares the shapes that flow between those stages, so that authentication,
RBAC, admission plugins and the storage layer can be written and tested apart. Nothing here
does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "AdmissionAttributes",
    "Authenticator",
    "Authorizer",
    "AuthorizationAttributes",
    "Decision",
    "FieldManager",
    "MutatingAdmission",
    "ObjectSource",
    "Operation",
    "RequestInfo",
    "UserInfo",
    "ValidatingAdmission",
]


@dataclass(frozen=True)
class UserInfo:
    """An authenticated identity (``user.Info`` upstream)."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``UserInfo`` object of TokenReview/SelfSubjectReview/AdmissionReview."""
        out: dict[str, Any] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


ANONYMOUS = UserInfo("system:anonymous", groups=("system:unauthenticated",))


@dataclass(frozen=True)
class RequestInfo:
    """What a request URL and method mean (``request.RequestInfo`` upstream).

    ``verb`` is the Kubernetes verb: get, list, watch, create, update, patch, delete,
    deletecollection (and proxy/connect for streaming subresources); for non-resource
    requests it is the lower-cased HTTP method.
    """

    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""  # "api" or "apis"
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthorizationAttributes:
    """What is being asked for, by whom (``authorizer.Attributes`` upstream)."""

    user: UserInfo
    verb: str
    resource_request: bool
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @classmethod
    def from_request(cls, user: UserInfo, info: RequestInfo) -> AuthorizationAttributes:
        return cls(
            user=user,
            verb=info.verb,
            resource_request=info.is_resource_request,
            api_group=info.api_group,
            api_version=info.api_version,
            resource=info.resource,
            subresource=info.subresource,
            namespace=info.namespace,
            name=info.name,
            path=info.path,
        )


@dataclass(frozen=True)
class Decision:
    """An authorizer's answer. ``reason`` is appended to the 403 message when non-empty."""

    allowed: bool
    reason: str = ""
    #: True when the authorizer has an explicit opinion (allow or deny); False = no opinion.
    decided: bool = True


class Authenticator(Protocol):
    """Turns request credentials into a user, or None when it does not recognise them.

    Raises ``k3trio.api.errors.Unauthorized`` when credentials are present but invalid
    (a bad or expired token).
    """

    async def authenticate(
        self, headers: Mapping[str, str], peer: Any | None
    ) -> UserInfo | None: ...


class Authorizer(Protocol):
    def authorize(self, attrs: AuthorizationAttributes) -> Decision: ...

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        """(resourceRules, nonResourceRules, incomplete) for SelfSubjectRulesReview."""
        ...


class Operation(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    CONNECT = "CONNECT"


@dataclass
class AdmissionAttributes:
    """One admission request (``admission.Attributes`` upstream).

    ``obj`` is the incoming object (mutating plugins change it in place), ``old`` the stored
    one for UPDATE/DELETE. ``options`` is the CreateOptions/UpdateOptions/DeleteOptions body.
    """

    operation: Operation
    user: UserInfo
    group: str
    version: str
    kind: str
    resource: str
    subresource: str
    namespace: str
    name: str
    obj: dict[str, Any] | None
    old: dict[str, Any] | None
    dry_run: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    #: Texts plugins want sent back as ``Warning: 299 - "<text>"`` response headers.
    warnings: list[str] = field(default_factory=list)


class MutatingAdmission(Protocol):
    """May change ``attrs.obj``; raises an ``APIError`` (usually Forbidden/Invalid) to reject."""

    name: str

    def handles(self, attrs: AdmissionAttributes) -> bool: ...

    async def admit(self, attrs: AdmissionAttributes) -> None: ...


class ValidatingAdmission(Protocol):
    """Must not change anything; raises an ``APIError`` to reject."""

    name: str

    def handles(self, attrs: AdmissionAttributes) -> bool: ...

    async def validate(self, attrs: AdmissionAttributes) -> None: ...


class ObjectSource(Protocol):
    """Read access to current objects (served from the watch cache), for plugins and RBAC.

    ``resource`` is ``"<resource>.<group>"`` or the plain resource for the core group,
    e.g. ``"roles.rbac.authorization.k8s.io"``, ``"namespaces"``, ``"serviceaccounts"``.
    Returned objects are shared: never mutate them.
    """

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list(self, resource: str, namespace: str = "") -> Sequence[dict[str, Any]]: ...

    def generation(self, resource: str) -> int:
        """A counter that changes whenever any object of ``resource`` changes (for caches)."""
        ...


class FieldManager(Protocol):
    """Maintains ``metadata.managedFields`` and implements server-side apply.

    ``manager`` is the field manager name (``fieldManager`` query parameter, defaulting to
    the client's user-agent prefix such as ``kubectl-client-side-apply`` / ``kubectl-edit``).
    ``subresource`` is "" or e.g. "status"/"scale". Objects are plain JSON dicts; results are
    new dicts (inputs are not mutated).
    """

    def update(
        self,
        live: dict[str, Any] | None,
        new: dict[str, Any],
        *,
        manager: str,
        subresource: str = "",
        now: str,
    ) -> dict[str, Any]:
        """Record an Update operation by ``manager``: returns ``new`` with managedFields updated."""
        ...

    def apply(
        self,
        live: dict[str, Any] | None,
        applied: dict[str, Any],
        *,
        manager: str,
        force: bool,
        subresource: str = "",
        now: str,
        api_version: str = "",
        kind: str = "",
    ) -> dict[str, Any]:
        """Server-side apply ``applied`` (a partial object) onto ``live`` (None: create).

        ``api_version``/``kind`` are the endpoint's; the configuration must name them.

        Returns the merged object with managedFields updated. Raises
        ``k3trio.api.errors.Conflict``-style APIError (409, reason Conflict, one cause per
        conflicting field, message as upstream) when another manager owns a changed field
        and ``force`` is false.
        """
        ...
