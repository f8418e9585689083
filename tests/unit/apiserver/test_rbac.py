"""RBAC: rule matching, bindings, reasons, caching, the bootstrap policy and aggregation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from k3trio.api.errors import Forbidden
from k3trio.apiserver.interfaces import AuthorizationAttributes, UserInfo
from k3trio.apiserver.rbac import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    ROLES,
    RBACAuthorizer,
    aggregate_cluster_role,
    bootstrap_policy,
    rule_allows,
)

RESOURCE_OF = {"ClusterRole": CLUSTER_ROLES, "ClusterRoleBinding": CLUSTER_ROLE_BINDINGS, "Role": ROLES, "RoleBinding": ROLE_BINDINGS}


class Objects:
    """An in-memory ObjectSource with per-resource generations."""

    def __init__(self, objs: Sequence[dict[str, Any]] = ()) -> None:
        self.data: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.gens: Counter[str] = Counter()
        self.gets = 0
        for obj in objs:
            self.put(obj)

    def put(self, obj: dict[str, Any]) -> None:
        resource = RESOURCE_OF[obj["kind"]]
        meta = obj["metadata"]
        self.data[(resource, meta.get("namespace", ""), meta["name"])] = obj
        self.gens[resource] += 1

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.gets += 1
        return self.data.get((resource, namespace, name))

    def list(self, resource: str, namespace: str = "") -> Sequence[dict[str, Any]]:
        return [o for (r, ns, _), o in self.data.items() if r == resource and (not namespace or ns == namespace)]

    def generation(self, resource: str) -> int:
        return self.gens[resource]


def role(name: str, rules: list[dict[str, Any]], namespace: str = "") -> dict[str, Any]:
    kind = "Role" if namespace else "ClusterRole"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"kind": kind, "metadata": meta, "rules": rules}


def binding(name: str, role_kind: str, role_name: str, subjects: list[dict[str, Any]], namespace: str = "") -> dict[str, Any]:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"kind": kind, "metadata": meta, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name}, "subjects": subjects}


def user(name: str, *groups: str) -> UserInfo:
    return UserInfo(name, groups=(*groups, "system:authenticated"))


def res(u: UserInfo, verb: str, resource: str, *, group: str = "", ns: str = "", name: str = "", sub: str = "") -> AuthorizationAttributes:
    return AuthorizationAttributes(user=u, verb=verb, resource_request=True, api_group=group, resource=resource, subresource=sub, namespace=ns, name=name)


def url(u: UserInfo, path: str, verb: str = "get") -> AuthorizationAttributes:
    return AuthorizationAttributes(user=u, verb=verb, resource_request=False, path=path)


ALICE = user("alice")


@pytest.mark.parametrize(
    ("rule", "attrs", "allowed"),
    [
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res(ALICE, "get", "pods"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res(ALICE, "list", "pods"), False),
        ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}, res(ALICE, "delete", "pods"), True),
        ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods"]}, res(ALICE, "get", "pods"), False),
        ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["deployments"]}, res(ALICE, "get", "deployments", group="apps"), True),
        # subresources
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res(ALICE, "get", "pods", sub="log"), False),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, res(ALICE, "get", "pods", sub="log"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, res(ALICE, "get", "pods"), False),
        ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*/scale"]}, res(ALICE, "get", "deployments", group="apps", sub="scale"), True),
        ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*/scale"]}, res(ALICE, "get", "deployments", group="apps"), False),
        ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}, res(ALICE, "get", "pods", sub="exec"), True),
        # resourceNames
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}, res(ALICE, "get", "configmaps", name="a"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}, res(ALICE, "get", "configmaps", name="b"), False),
        ({"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}, res(ALICE, "list", "configmaps"), False),
        # non-resource URLs
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url(ALICE, "/healthz"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url(ALICE, "/healthz/etcd"), False),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]}, url(ALICE, "/healthz/etcd"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["/apis*"]}, url(ALICE, "/apis/apps"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["*"]}, url(ALICE, "/anything"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url(ALICE, "/healthz", "post"), False),
        ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}, url(ALICE, "/healthz"), False),
        ({"verbs": ["get"], "nonResourceURLs": ["*"]}, res(ALICE, "get", "pods"), False),
    ],
)
def test_rule_matching(rule: dict[str, Any], attrs: AuthorizationAttributes, allowed: bool) -> None:
    assert rule_allows(attrs, rule) is allowed


@pytest.fixture
def objects() -> Objects:
    return Objects([
        role("pod-reader", [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]),
        role("cm-editor", [{"verbs": ["update"], "apiGroups": [""], "resources": ["configmaps"]}], "dev"),
        binding("alice-reads", "ClusterRole", "pod-reader", [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]),
        binding("devs-read", "ClusterRole", "pod-reader", [{"kind": "Group", "name": "devs"}], "dev"),
        binding("ci-edits", "Role", "cm-editor", [{"kind": "ServiceAccount", "name": "ci"}], "dev"),
        binding("robot", "ClusterRole", "pod-reader", [{"kind": "ServiceAccount", "name": "robot", "namespace": "ops"}]),
    ])  # fmt: skip


def test_cluster_role_binding_allows_everywhere_with_reason(objects: Objects) -> None:
    authz = RBACAuthorizer(objects)
    d = authz.authorize(res(ALICE, "list", "pods", ns="kube-system"))
    assert d.allowed
    assert d.reason == 'RBAC: allowed by ClusterRoleBinding "alice-reads" of ClusterRole "pod-reader" to User "alice"'
    assert authz.authorize(res(ALICE, "list", "pods")).allowed
    denied = authz.authorize(res(ALICE, "delete", "pods", ns="default"))
    assert (denied.allowed, denied.decided, denied.reason) == (False, False, "")


def test_role_binding_to_cluster_role_is_namespace_scoped(objects: Objects) -> None:
    authz = RBACAuthorizer(objects)
    bob = user("bob", "devs")
    d = authz.authorize(res(bob, "get", "pods", ns="dev", name="x"))
    assert d.allowed and d.reason == 'RBAC: allowed by RoleBinding "devs-read/dev" of ClusterRole "pod-reader" to Group "devs"'
    assert not authz.authorize(res(bob, "get", "pods", ns="prod")).allowed
    assert not authz.authorize(res(bob, "list", "pods")).allowed  # cluster scope


def test_service_account_subjects(objects: Objects) -> None:
    authz = RBACAuthorizer(objects)
    ci = user("system:serviceaccount:dev:ci", "system:serviceaccounts", "system:serviceaccounts:dev")
    d = authz.authorize(res(ci, "update", "configmaps", ns="dev"))
    assert d.allowed and d.reason.endswith('to ServiceAccount "ci/dev"')
    other_ns_ci = user("system:serviceaccount:prod:ci")
    assert not authz.authorize(res(other_ns_ci, "update", "configmaps", ns="dev")).allowed
    robot = user("system:serviceaccount:ops:robot")
    assert authz.authorize(res(robot, "get", "pods", ns="any")).allowed


def test_masters_always_allowed(objects: Objects) -> None:
    d = RBACAuthorizer(objects).authorize(res(user("root", "system:masters"), "escalate", "anything", group="x"))
    assert d.allowed and d.reason == ""


def test_missing_role_reason_and_forbidden_message(objects: Objects) -> None:
    objects.put(binding("dangling", "ClusterRole", "ghost", [{"kind": "User", "name": "carol"}]))
    carol = user("carol")
    d = RBACAuthorizer(objects).authorize(res(carol, "list", "secrets", ns="default"))
    assert not d.allowed
    assert d.reason == 'RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found'
    err = Forbidden.for_request(user="carol", verb="list", resource="secrets", namespace="default", reason=d.reason)
    assert err.message == (
        'secrets is forbidden: User "carol" cannot list resource "secrets" in API group "" in the namespace '
        '"default": RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found'
    )


def test_cache_recompiles_only_on_generation_change(objects: Objects) -> None:
    authz = RBACAuthorizer(objects)
    dave = user("dave")
    assert not authz.authorize(res(dave, "get", "pods", ns="x")).allowed
    gets = objects.gets
    for _ in range(100):
        authz.authorize(res(dave, "get", "pods", ns="x"))
    assert objects.gets == gets  # no lookups per request
    objects.put(binding("dave", "ClusterRole", "pod-reader", [{"kind": "User", "name": "dave"}]))
    assert authz.authorize(res(dave, "get", "pods", ns="x")).allowed
    # Changing a role (not a binding) is seen too.
    objects.put(role("pod-reader", [{"verbs": ["get"], "apiGroups": [""], "resources": ["services"]}]))
    assert not authz.authorize(res(dave, "get", "pods", ns="x")).allowed


def test_rules_for(objects: Objects) -> None:
    authz = RBACAuthorizer(objects)
    bob = user("bob", "devs")
    resource_rules, non_resource_rules, incomplete = authz.rules_for(bob, "dev")
    assert resource_rules == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    assert non_resource_rules == [] and incomplete is False
    assert authz.rules_for(bob, "prod")[0] == []


# -- bootstrap policy ----------------------------------------------------------------------------


def policy_objects() -> Objects:
    return Objects(bootstrap_policy())


def test_bootstrap_policy_is_labelled_and_unique() -> None:
    policy = bootstrap_policy()
    keys = [(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in policy]
    assert len(keys) == len(set(keys))
    for obj in policy:
        assert obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert obj["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert obj["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    names = {k[2] for k in keys}
    for expected in ("cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery",
                     "system:public-info-viewer", "system:node", "system:node-proxier", "system:kube-scheduler",
                     "system:kube-controller-manager", "system:controller:deployment-controller",
                     "system:controller:replicaset-controller", "system:controller:namespace-controller",
                     "system:controller:generic-garbage-collector", "system:controller:root-ca-cert-publisher",
                     "system:controller:ttl-after-finished-controller", "system:service-account-issuer-discovery",
                     "system:monitoring", "system:auth-delegator", "system:k3trio-controller",
                     "kube-apiserver-kubelet-admin", "extension-apiserver-authentication-reader"):
        assert expected in names, expected
    # Every binding references a role that exists.
    roles = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in policy if o["kind"] in ("Role", "ClusterRole")}
    for o in policy:
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            ref = o["roleRef"]
            ns = o["metadata"].get("namespace", "") if ref["kind"] == "Role" else ""
            assert (ref["kind"], ns, ref["name"]) in roles, o["metadata"]["name"]


@pytest.mark.parametrize(
    ("who", "attrs_args", "allowed"),
    [
        (user("anyone"), ("create", "selfsubjectaccessreviews", "authorization.k8s.io"), True),
        (user("anyone"), ("create", "selfsubjectreviews", "authentication.k8s.io"), True),
        (user("anyone"), ("list", "pods", ""), False),
        (user("system:kube-scheduler"), ("create", "pods/binding", ""), True),
        (user("system:kube-scheduler"), ("create", "pods/exec", ""), False),
        (user("system:kube-controller-manager"), ("list", "secrets", ""), True),
        (user("system:node:n1", "system:nodes"), ("patch", "nodes/status", ""), True),
        (user("system:node:n1", "system:nodes"), ("delete", "nodes", ""), False),
        (user("system:serviceaccount:kube-system:deployment-controller"), ("create", "replicasets", "apps"), True),
        (user("system:serviceaccount:kube-system:deployment-controller"), ("create", "pods", ""), False),
        (user("system:serviceaccount:kube-system:generic-garbage-collector"), ("delete", "widgets", "example.com"), True),
        (user("system:k3trio-controller"), ("list", "namespaces", ""), True),
    ],
)
def test_bootstrap_policy_decisions(who: UserInfo, attrs_args: tuple[str, str, str], allowed: bool) -> None:
    verb, resource, group = attrs_args
    resource, _, sub = resource.partition("/")
    assert RBACAuthorizer(policy_objects()).authorize(res(who, verb, resource, group=group, ns="default", sub=sub)).allowed is allowed


def test_bootstrap_subresource_and_url_grants() -> None:
    authz = RBACAuthorizer(policy_objects())
    scheduler = user("system:kube-scheduler")
    assert authz.authorize(res(scheduler, "create", "pods", ns="default", sub="binding")).allowed
    node = user("system:node:n1", "system:nodes")
    assert authz.authorize(res(node, "patch", "nodes", name="n1", sub="status")).allowed
    anon = UserInfo("system:anonymous", groups=("system:unauthenticated",))
    assert authz.authorize(url(anon, "/healthz")).allowed
    assert authz.authorize(url(anon, "/version")).allowed
    assert not authz.authorize(url(anon, "/api")).allowed
    assert authz.authorize(url(user("someone"), "/apis/apps/v1")).allowed
    sa = user("system:serviceaccount:default:default", "system:serviceaccounts")
    assert authz.authorize(url(sa, "/openid/v1/jwks")).allowed


def test_admin_edit_view_via_role_binding() -> None:
    objects = policy_objects()
    objects.put(binding("erin-view", "ClusterRole", "view", [{"kind": "User", "name": "erin"}], "team"))
    objects.put(binding("fred-admin", "ClusterRole", "admin", [{"kind": "User", "name": "fred"}], "team"))
    authz = RBACAuthorizer(objects)
    erin, fred = user("erin"), user("fred")
    assert authz.authorize(res(erin, "list", "deployments", group="apps", ns="team")).allowed
    assert not authz.authorize(res(erin, "get", "secrets", ns="team")).allowed
    assert not authz.authorize(res(erin, "create", "deployments", group="apps", ns="team")).allowed
    assert authz.authorize(res(fred, "create", "rolebindings", group="rbac.authorization.k8s.io", ns="team")).allowed
    assert authz.authorize(res(fred, "create", "serviceaccounts", ns="team", sub="token", name="x")).allowed
    assert not authz.authorize(res(fred, "create", "rolebindings", group="rbac.authorization.k8s.io", ns="other")).allowed


# -- aggregation ---------------------------------------------------------------------------------


def test_aggregate_cluster_role() -> None:
    monitoring = {"metadata": {"name": "monitoring"}, "aggregationRule": {"clusterRoleSelectors": [
        {"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]}, "rules": []}
    a = {"metadata": {"name": "b-part", "labels": {"rbac.example.com/aggregate-to-monitoring": "true"}},
         "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}
    b = {"metadata": {"name": "a-part", "labels": {"rbac.example.com/aggregate-to-monitoring": "true"}},
         "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["services"]},
                   {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}
    unrelated = {"metadata": {"name": "other"}, "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}
    rules = aggregate_cluster_role(monitoring, [monitoring, a, b, unrelated])
    # Sorted by name, duplicates dropped.
    assert rules == [{"verbs": ["list"], "apiGroups": [""], "resources": ["services"]},
                     {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]
    assert aggregate_cluster_role({**monitoring, "rules": rules}, [monitoring, a, b]) is None  # up to date
    assert aggregate_cluster_role(unrelated, [a, b]) is None  # not aggregated


def test_bootstrap_aggregated_roles_are_filled() -> None:
    policy = {o["metadata"]["name"]: o for o in bootstrap_policy() if o["kind"] == "ClusterRole"}
    everything = list(policy.values())
    for name in ("admin", "edit", "view"):
        assert policy[name]["rules"], name
        assert aggregate_cluster_role(policy[name], everything) is None, name
    assert set(map(str, policy["view"]["rules"])) <= set(map(str, policy["edit"]["rules"]))
    assert set(map(str, policy["edit"]["rules"])) <= set(map(str, policy["admin"]["rules"]))
