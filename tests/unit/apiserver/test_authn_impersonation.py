"""Impersonation headers: authorization of each part, resulting user, error messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from k3trio.api.errors import BadRequest, Forbidden
from k3trio.apiserver.authn import CertificateAuthenticator, UnionAuthenticator, apply_impersonation
from k3trio.apiserver.interfaces import UserInfo
from k3trio.apiserver.rbac import RBACAuthorizer
from k3trio.pki import ClientIdentity

GROUP = "rbac.authorization.k8s.io"


class Objects:
    def __init__(self, objs: Sequence[dict[str, Any]]) -> None:
        res = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}
        self.data = {(f"{res[o['kind']]}.{GROUP}", "", o["metadata"]["name"]): o for o in objs}

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.data.get((resource, namespace, name))

    def list(self, resource: str, namespace: str = "") -> Sequence[dict[str, Any]]:
        return [o for (r, _, _), o in self.data.items() if r == resource]

    def generation(self, resource: str) -> int:
        return 0


AUTHZ = RBACAuthorizer(Objects([
    {"kind": "ClusterRole", "metadata": {"name": "imp"}, "rules": [
        {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"], "resourceNames": ["bob"]},
        {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["groups"], "resourceNames": ["devs"]},
        {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["serviceaccounts"]},
        {"verbs": ["impersonate"], "apiGroups": ["authentication.k8s.io"], "resources": ["userextras/scopes", "uids"]},
    ]},
    {"kind": "ClusterRoleBinding", "metadata": {"name": "imp"}, "roleRef": {"kind": "ClusterRole", "name": "imp"},
     "subjects": [{"kind": "User", "name": "alice"}]},
]))  # fmt: skip
ALICE = UserInfo("alice", groups=("system:authenticated",))
ADMIN = UserInfo("root", groups=("system:masters", "system:authenticated"))


def test_no_headers_is_identity() -> None:
    assert apply_impersonation(ALICE, {"accept": "x"}, AUTHZ) is ALICE


def test_user_groups_extra_uid() -> None:
    headers = [("Impersonate-User", "bob"), ("Impersonate-Group", "devs"), ("Impersonate-Extra-Scopes", "a"),
               ("impersonate-extra-scopes", "b"), ("Impersonate-Uid", "u-1")]
    user = apply_impersonation(ALICE, headers, AUTHZ)
    assert user == UserInfo("bob", uid="u-1", groups=("devs", "system:authenticated"), extra={"scopes": ("a", "b")})


def test_service_account_gets_its_groups() -> None:
    user = apply_impersonation(ALICE, {"impersonate-user": "system:serviceaccount:ci:robot"}, AUTHZ)
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated")


def test_denials_use_the_authorizer_message() -> None:
    with pytest.raises(Forbidden) as err:
        apply_impersonation(ALICE, {"impersonate-user": "carol"}, AUTHZ)
    assert err.value.message == (
        'users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope'
    )
    with pytest.raises(Forbidden, match='groups "system:masters" is forbidden'):
        apply_impersonation(ALICE, [("impersonate-user", "bob"), ("impersonate-group", "system:masters")], AUTHZ)
    nobody = UserInfo("eve", groups=("system:authenticated",))
    with pytest.raises(Forbidden) as err:
        apply_impersonation(nobody, {"impersonate-user": "system:serviceaccount:default:x"}, AUTHZ)
    assert err.value.message == (
        'serviceaccounts "x" is forbidden: User "eve" cannot impersonate resource "serviceaccounts" in API group "" '
        'in the namespace "default"'
    )


def test_groups_without_user_is_bad_request() -> None:
    with pytest.raises(BadRequest, match=r"requested \[groups\] without impersonating a user"):
        apply_impersonation(ADMIN, {"impersonate-group": "x"}, AUTHZ)


async def test_union_applies_impersonation_for_masters() -> None:
    union = UnionAuthenticator([CertificateAuthenticator()], authorizer=AUTHZ)
    user = await union.authenticate_request(
        {"impersonate-user": "system:anonymous"}, ClientIdentity("system:admin", ("system:masters",))
    )
    assert user == UserInfo("system:anonymous", groups=("system:unauthenticated",))
