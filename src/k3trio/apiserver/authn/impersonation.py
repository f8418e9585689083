"""User impersonation (``kubectl --as``/``--as-group``/``--as-uid``), as kube-apiserver does it.

Headers: ``Impersonate-User``, ``Impersonate-Group`` (repeatable), ``Impersonate-Uid`` and
``Impersonate-Extra-<key>`` (repeatable; the key is lower-cased and percent-decoded).

Every requested part is authorized for the *requesting* user with verb ``impersonate``:

=====================================  =======================  ===========================
request                                resource (API group)     namespace / name
=====================================  =======================  ===========================
user ``system:serviceaccount:ns:n``    serviceaccounts ("")     ns / n
any other user                         users ("")               - / user
each group                             groups ("")              - / group
each extra value                       userextras/<key>         - / value
                                       (authentication.k8s.io)
uid                                    uids                     - / uid
                                       (authentication.k8s.io)
=====================================  =======================  ===========================

A denied part answers 403 with the authorizer's message (``users "bob" is forbidden: User
"alice" cannot impersonate resource "users" in API group "" at the cluster scope``).
Groups, extra or uid without a user is a 400. The impersonated user gets
``system:authenticated`` (or ``system:unauthenticated`` for ``system:anonymous``) unless
one of those was requested, and a service account with no requested groups gets its fixed
groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from ...api.errors import BadRequest, Forbidden
from ..interfaces import AuthorizationAttributes, Authorizer, UserInfo
from .serviceaccount import ALL_SERVICE_ACCOUNTS_GROUP, split_username

__all__ = ["apply_impersonation", "impersonation_headers"]

USER_HEADER = "impersonate-user"
UID_HEADER = "impersonate-uid"
GROUP_HEADER = "impersonate-group"
EXTRA_PREFIX = "impersonate-extra-"
_AUTHN_GROUP = "authentication.k8s.io"


def _items(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(k.lower(), v) for k, v in pairs]


def impersonation_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[str | None, list[str], str | None, dict[str, list[str]]]:
    """(user, groups, uid, extra) requested by the headers; user None when not impersonating.

    ``headers`` may be a mapping or the raw (name, value) pairs; pass the pairs when a
    header can repeat (``Impersonate-Group``), since a mapping keeps only one value.
    """
    user: str | None = None
    uid: str | None = None
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for name, value in _items(headers):
        if name == USER_HEADER:
            user = value
        elif name == UID_HEADER:
            uid = value
        elif name == GROUP_HEADER:
            groups.append(value)
        elif name.startswith(EXTRA_PREFIX):
            key = unquote(name[len(EXTRA_PREFIX) :])
            extra.setdefault(key, []).append(value)
    return user, groups, uid, extra


def _check(authorizer: Authorizer, attrs: AuthorizationAttributes) -> None:
    decision = authorizer.authorize(attrs)
    if decision.allowed:
        return
    raise Forbidden.for_request(
        user=attrs.user.name, verb=attrs.verb, resource=attrs.resource, group=attrs.api_group,
        namespace=attrs.namespace, name=attrs.name, subresource=attrs.subresource, reason=decision.reason,
    )  # fmt: skip


def apply_impersonation(
    requester: UserInfo,
    headers: Mapping[str, str] | Sequence[tuple[str, str]],
    authorizer: Authorizer,
) -> UserInfo:
    """The user a request acts as: ``requester`` itself, or whom it may impersonate.

    Raises:
        BadRequest: groups, uid or extra requested without a user.
        Forbidden: the requester may not impersonate a requested part.
    """
    name, groups_req, uid, extra = impersonation_headers(headers)
    if name is None:
        if groups_req or uid is not None or extra:
            parts = []
            if groups_req:
                parts.append("groups")
            if extra:
                parts.append("extra")
            if uid is not None:
                parts.append("uid")
            raise BadRequest(f"requested [{' '.join(parts)}] without impersonating a user")
        return requester

    def attrs(resource: str, obj_name: str, *, namespace: str = "", group: str = "", sub: str = "") -> AuthorizationAttributes:
        return AuthorizationAttributes(
            user=requester, verb="impersonate", resource_request=True, api_group=group,
            api_version="v1", resource=resource, subresource=sub, namespace=namespace, name=obj_name,
        )  # fmt: skip

    groups: list[str] = []
    sa = split_username(name)
    if sa is not None:
        _check(authorizer, attrs("serviceaccounts", sa[1], namespace=sa[0]))
        if not groups_req:
            groups = [ALL_SERVICE_ACCOUNTS_GROUP, f"{ALL_SERVICE_ACCOUNTS_GROUP}:{sa[0]}"]
    else:
        _check(authorizer, attrs("users", name))
    for group in groups_req:
        _check(authorizer, attrs("groups", group))
        groups.append(group)
    for key, values in extra.items():
        for value in values:
            _check(authorizer, attrs("userextras", value, group=_AUTHN_GROUP, sub=key))
    if uid is not None:
        _check(authorizer, attrs("uids", uid, group=_AUTHN_GROUP))

    if name != "system:anonymous":
        if "system:authenticated" not in groups and "system:unauthenticated" not in groups:
            groups.append("system:authenticated")
    elif "system:unauthenticated" not in groups:
        groups.append("system:unauthenticated")
    out_extra: dict[str, Any] = {k: tuple(v) for k, v in extra.items()}
    return UserInfo(name=name, uid=uid or "", groups=tuple(groups), extra=out_extra)
