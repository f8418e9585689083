"""The join protocol end to end: a real ``k3trio server``, the agent's join step, real kubectl.

The node agent itself (containerd, kubelet) is not run here; a two-node cluster with a second
containerd belongs to the networking tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k3trio.agent.join import (
    CAHashMismatch,
    JoinRefused,
    ServerUnreachable,
    join_cluster,
)
from k3trio.pki.certs import (
    Usage,
    alt_names_of,
    common_name,
    is_issued_by,
    key_matches_cert,
    load_cert_pem,
    load_key_pem,
    organizations,
    usages_of,
)

from ..conftest import free_port
from ._server import ServerProcess, ca_of, env_without_venv, token_of
from .conftest import Kubectl, unique

CA_MISMATCH = "k3trio: the server's CA does not match the token's hash; check --token and --server"


def url(srv: ServerProcess) -> str:
    return f"https://127.0.0.1:{srv.port}"


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def other_hash_token(token: str) -> str:
    digest = token[3:67]
    flipped = ("0" if digest[0] != "0" else "1") + digest[1:]
    return "K10" + flipped + token[67:]


async def test_join_issues_the_node_identity(api_server: ServerProcess, kctl: Kubectl,
                                             tmp_path: Path) -> None:
    name = unique("node")
    joined = await join_cluster(url(api_server), token_of(api_server.data_dir), node_name=name,
                                data_dir=tmp_path, node_ips=("10.9.8.7",))
    agent = tmp_path / "agent"
    assert joined.issued == {"client-kubelet", "serving-kubelet", "client-kube-proxy"}
    assert joined.settings.cluster_dns == "10.43.0.10"
    assert joined.settings.cluster_domain == "cluster.local"
    assert (agent / "server-ca.crt").read_bytes() == ca_of(api_server.data_dir)
    for private in ("client-kubelet.crt", "client-kubelet.key", "serving-kubelet.crt",
                    "serving-kubelet.key", "client-kube-proxy.crt", "client-kube-proxy.key",
                    "kubelet.kubeconfig", "kubeproxy.kubeconfig", "node-password"):
        assert mode(agent / private) == 0o600, private

    client = load_cert_pem((agent / "client-kubelet.crt").read_bytes())
    assert common_name(client) == f"system:node:{name}"
    assert organizations(client) == ("system:nodes",)
    assert usages_of(client) == {Usage.CLIENT}
    assert key_matches_cert(load_key_pem((agent / "client-kubelet.key").read_bytes()), client)
    assert is_issued_by(client, load_cert_pem((agent / "client-ca.crt").read_bytes()))
    serving = load_cert_pem((agent / "serving-kubelet.crt").read_bytes())
    assert common_name(serving) == f"system:node:{name}" and usages_of(serving) == {Usage.SERVER}
    assert is_issued_by(serving, load_cert_pem(ca_of(api_server.data_dir)))
    assert "10.9.8.7" in {str(ip) for ip in alt_names_of(serving).ip_addresses}

    # The node identity works against the API with RBAC: it may read nodes, not secrets' RBAC.
    kubeconfig = agent / "kubelet.kubeconfig"
    assert yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"] == url(api_server)
    kctl.ok("get", "nodes", kubeconfig=kubeconfig)
    assert kctl.ok("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}",
                   kubeconfig=kubeconfig) == f"system:node:{name}"
    assert kctl.run("auth", "can-i", "create", "clusterroles",
                    kubeconfig=kubeconfig).stdout.strip() == "no"
    proxy = agent / "kubeproxy.kubeconfig"
    assert kctl.ok("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}",
                   kubeconfig=proxy) == "system:kube-proxy"
    kctl.ok("get", "endpointslices", "-A", kubeconfig=proxy)
    # The claim is stored as a hash in kube-system.
    secret = kctl.json("get", "secret", "-n", "kube-system", f"{name}.node-password.k3trio")
    assert secret["immutable"] is True and set(secret["data"]) == {"hash"}

    # A restart re-uses what is still good.
    before = (agent / "client-kubelet.crt").read_bytes()
    again = await join_cluster(url(api_server), token_of(api_server.data_dir), node_name=name,
                               data_dir=tmp_path, node_ips=("10.9.8.7",))
    assert again.issued == frozenset() and (agent / "client-kubelet.crt").read_bytes() == before
    # A changed address gets a new serving certificate only; a lost certificate is re-issued.
    (agent / "client-kubelet.crt").unlink()
    again = await join_cluster(url(api_server), token_of(api_server.data_dir), node_name=name,
                               data_dir=tmp_path, node_ips=("10.9.8.6",))
    assert again.issued == {"client-kubelet", "serving-kubelet"}
    renewed = load_cert_pem((agent / "client-kubelet.crt").read_bytes())
    assert key_matches_cert(load_key_pem((agent / "client-kubelet.key").read_bytes()), renewed)
    assert renewed.public_key() == client.public_key()  # the node's key is kept


async def test_a_second_machine_cannot_take_a_node_name(api_server: ServerProcess,
                                                        tmp_path: Path) -> None:
    name = unique("node")
    token = token_of(api_server.data_dir)
    await join_cluster(url(api_server), token, node_name=name, data_dir=tmp_path / "first")
    with pytest.raises(JoinRefused) as err:
        await join_cluster(url(api_server), token, node_name=name, data_dir=tmp_path / "second")
    assert err.value.status == 403 and "already claimed" in str(err.value)
    assert not (tmp_path / "second" / "agent" / "client-kubelet.crt").exists()
    # The first machine, with its password, still gets certificates for the name.
    (tmp_path / "first" / "agent" / "client-kubelet.crt").unlink()
    joined = await join_cluster(url(api_server), token, node_name=name, data_dir=tmp_path / "first")
    assert joined.issued == {"client-kubelet"}


async def test_a_wrong_secret_is_refused_with_401(api_server: ServerProcess, tmp_path: Path) -> None:
    token = token_of(api_server.data_dir)
    wrong = token.rsplit(":", 1)[0] + ":not-the-secret"
    with pytest.raises(JoinRefused) as err:
        await join_cluster(url(api_server), wrong, node_name=unique("node"), data_dir=tmp_path)
    assert err.value.status == 401
    assert "\n" not in str(err.value) and "check --token" in str(err.value)
    assert not (tmp_path / "agent" / "client-kubelet.key").exists()


async def test_a_wrong_ca_hash_is_refused_by_the_agent(api_server: ServerProcess,
                                                       tmp_path: Path) -> None:
    token = other_hash_token(token_of(api_server.data_dir))
    with pytest.raises(CAHashMismatch) as err:
        await join_cluster(url(api_server), token, node_name=unique("node"), data_dir=tmp_path)
    assert str(err.value) == CA_MISMATCH.removeprefix("k3trio: ")
    assert not (tmp_path / "agent").exists()  # nothing trusted, nothing written


async def test_an_unreachable_server(tmp_path: Path) -> None:
    with pytest.raises(ServerUnreachable) as err:
        await join_cluster(f"https://127.0.0.1:{free_port()}", "K10" + "0" * 64 + "::server:x",
                           node_name="n", data_dir=tmp_path, wait=0)
    assert str(err.value).startswith("cannot reach the server at https://127.0.0.1:")
    assert "\n" not in str(err.value)


def run_agent_cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "k3trio", "agent", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True, text=True, timeout=60, env=env_without_venv(),
    )


def test_cli_one_line_errors(api_server: ServerProcess, tmp_path: Path) -> None:
    token = token_of(api_server.data_dir)
    proc = run_agent_cli("--server", url(api_server), "--token", other_hash_token(token),
                         "--node-name", unique("node"), tmp_path=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == CA_MISMATCH
    proc = run_agent_cli("--server", url(api_server), "--token", "K10abc::server:x", tmp_path=tmp_path)
    assert (proc.returncode, proc.stderr.strip()) == (
        1, "k3trio: invalid --token: invalid token CA hash length")
    proc = run_agent_cli("--server", "http://127.0.0.1:1", "--token", token, tmp_path=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("k3trio: invalid --server 'http://127.0.0.1:1': "
                                   "expected https://HOST:PORT")
    wrong = token.rsplit(":", 1)[0] + ":nope"
    proc = run_agent_cli("--server", url(api_server), "--token", wrong, "--node-name",
                         unique("node"), tmp_path=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "k3trio: the server refused the token (401 Unauthorized); check --token")


async def test_deleting_the_node_frees_its_name(api_server: ServerProcess, kctl: Kubectl,
                                                tmp_path: Path) -> None:
    import trio

    name = unique("node")
    token = token_of(api_server.data_dir)
    await join_cluster(url(api_server), token, node_name=name, data_dir=tmp_path / "old")
    kctl.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    kctl.ok("delete", "node", name)
    with trio.fail_after(10):
        while kctl.run("get", "secret", "-n", "kube-system",
                       f"{name}.node-password.k3trio").returncode == 0:
            await trio.sleep(0.1)
    joined = await join_cluster(url(api_server), token, node_name=name, data_dir=tmp_path / "new")
    assert "client-kubelet" in joined.issued
