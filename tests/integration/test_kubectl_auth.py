"""Authentication and RBAC through kubectl: whoami, can-i, service account tokens, 403 texts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from .conftest import Kubectl, unique, wait_until


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _token_kubeconfig(kctl: Kubectl, token: str, path: Path) -> Path:
    """The admin kubeconfig's cluster with a bearer-token user and no client certificate."""
    cfg = yaml.safe_load(kctl.kubeconfig.read_text())
    for user in cfg["users"]:
        user["user"] = {"token": token}
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_whoami_admin(kctl: Kubectl) -> None:
    info = json.loads(kctl.ok("auth", "whoami", "-o", "json"))
    assert info["kind"] == "SelfSubjectReview"
    assert info["apiVersion"] == "authentication.k8s.io/v1"
    user = info["status"]["userInfo"]
    assert user["username"] == "system:admin", user
    assert "system:masters" in user["groups"] and "system:authenticated" in user["groups"], user
    table = kctl.ok("auth", "whoami")
    assert table.splitlines()[0].split() == ["ATTRIBUTE", "VALUE"], table
    assert any(line.split() == ["Username", "system:admin"] for line in table.splitlines()), table


def test_can_i_as_admin(kctl: Kubectl) -> None:
    assert kctl.ok("auth", "can-i", "create", "pods").strip() == "yes"
    assert kctl.ok("auth", "can-i", "*", "*").strip() == "yes"
    assert kctl.ok("auth", "can-i", "delete", "nodes").strip() == "yes"
    proc = kctl.run("auth", "can-i", "list", "secrets", "--as=system:serviceaccount:default:nobody")
    assert proc.returncode == 1 and proc.stdout.strip() == "no", (proc.stdout, proc.stderr)


def test_default_cluster_roles_exist(kctl: Kubectl) -> None:
    names = set(kctl.ok("get", "clusterroles", "-o", "name").split())
    for role in ("cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user"):
        assert f"clusterrole.rbac.authorization.k8s.io/{role}" in names, role
    binding = kctl.json("get", "clusterrolebinding", "cluster-admin")
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert {"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"} in binding[
        "subjects"
    ]


@pytest.fixture
def sa_kubeconfig(kctl: Kubectl, tmp_path: Path) -> tuple[str, Path]:
    sa = unique("sa")
    out = kctl.ok("create", "serviceaccount", sa)
    assert out.strip() == f"serviceaccount/{sa} created", out
    token = kctl.ok("create", "token", sa, "--duration=10m").strip()
    assert token.count(".") == 2, token
    claims = _claims(token)
    assert claims["sub"] == f"system:serviceaccount:default:{sa}", claims
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == sa, claims
    assert claims["kubernetes.io"]["namespace"] == "default", claims
    assert 590 <= claims["exp"] - claims["iat"] <= 610, claims
    return sa, _token_kubeconfig(kctl, token, tmp_path / f"{sa}.yaml")


def test_service_account_token_rbac(kctl: Kubectl, sa_kubeconfig: tuple[str, Path]) -> None:
    sa, kubeconfig = sa_kubeconfig
    who = json.loads(kctl.ok("auth", "whoami", "-o", "json", kubeconfig=kubeconfig))
    user = who["status"]["userInfo"]
    assert user["username"] == f"system:serviceaccount:default:{sa}", user
    assert set(user["groups"]) >= {
        "system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated",
    }, user

    err = kctl.fail("get", "pods", kubeconfig=kubeconfig)
    assert err.strip() == (
        f'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:{sa}" '
        f'cannot list resource "pods" in API group "" in the namespace "default"'
    ), err
    err = kctl.fail("get", "deployments", "-n", "kube-system", kubeconfig=kubeconfig)
    assert (
        f'deployments.apps is forbidden: User "system:serviceaccount:default:{sa}" cannot list '
        f'resource "deployments" in API group "apps" in the namespace "kube-system"'
    ) in err, err
    err = kctl.fail("get", "nodes", kubeconfig=kubeconfig)
    assert (
        f'nodes is forbidden: User "system:serviceaccount:default:{sa}" cannot list resource '
        f'"nodes" in API group "" at the cluster scope'
    ) in err, err
    proc = kctl.run("auth", "can-i", "list", "pods", kubeconfig=kubeconfig)
    assert proc.stdout.strip() == "no", (proc.stdout, proc.stderr)

    role = unique("reader")
    kctl.ok("create", "role", role, "--verb=get,list,watch", "--resource=pods,configmaps")
    out = kctl.ok("create", "rolebinding", role, f"--role={role}", f"--serviceaccount=default:{sa}")
    assert out.strip() == f"rolebinding.rbac.authorization.k8s.io/{role} created", out
    proc = kctl.run("get", "pods", kubeconfig=kubeconfig)
    assert proc.returncode == 0, proc.stderr
    assert "No resources found in default namespace." in proc.stderr, proc.stderr
    assert kctl.ok("auth", "can-i", "list", "pods", kubeconfig=kubeconfig).strip() == "yes"
    proc = kctl.run("auth", "can-i", "create", "pods", kubeconfig=kubeconfig)
    assert proc.returncode == 1 and proc.stdout.strip() == "no"
    err = kctl.fail("create", "configmap", unique("nope"), kubeconfig=kubeconfig)
    assert (
        f'configmaps is forbidden: User "system:serviceaccount:default:{sa}" cannot create '
        f'resource "configmaps" in API group "" in the namespace "default"'
    ) in err, err
    assert kctl.ok(
        "auth", "can-i", "list", "pods", f"--as=system:serviceaccount:default:{sa}"
    ).strip() == "yes"
    listing = kctl.ok("auth", "can-i", "--list", kubeconfig=kubeconfig)
    assert any(line.split()[:1] == ["pods"] and "[get list watch]" in line for line in listing.splitlines()), listing


def test_bad_token_is_unauthorized(kctl: Kubectl, tmp_path: Path) -> None:
    kubeconfig = _token_kubeconfig(kctl, "not-a-real-token", tmp_path / "bad.yaml")
    err = kctl.fail("get", "configmaps", kubeconfig=kubeconfig)
    assert "error: You must be logged in to the server (Unauthorized)" in err, err


def test_deleted_service_account_token_rejected(kctl: Kubectl, sa_kubeconfig: tuple[str, Path]) -> None:
    sa, kubeconfig = sa_kubeconfig
    kctl.ok("auth", "whoami", kubeconfig=kubeconfig)
    kctl.ok("delete", "serviceaccount", sa)
    # Accepted tokens are remembered for 10 s (upstream's TokenSuccessCacheTTL).
    rejected = wait_until(lambda: (r := kctl.run("auth", "whoami", kubeconfig=kubeconfig))
                          .returncode != 0 and r, timeout=20, interval=0.5)
    assert "Unauthorized" in rejected.stderr, rejected.stderr
