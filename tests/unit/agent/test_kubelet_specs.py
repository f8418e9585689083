"""Pod -> CRI sandbox and container configs."""

from __future__ import annotations

import base64
import json
from typing import Any

from k3trio.agent.kubelet import pull_credentials
from k3trio.agent.kubelet.specs import (
    CONTAINER_NAME_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_ANNOTATION,
    container_config,
    expand,
    parse_resolv_conf,
    sandbox_config,
)


def _pod(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "labels": {"app": "w"}},
        "spec": {"nodeName": "n1", "serviceAccountName": "default", **spec,
                 "containers": spec.get("containers") or [{"name": "main", "image": "busybox"}]},
    }


HOST = (["192.0.2.53"], ["corp.example"], ["edns0"])


def test_sandbox_config_cluster_first_dns_and_labels() -> None:
    sc = sandbox_config(_pod(), attempt=2, cluster_dns=["10.43.0.10"], host_resolv=HOST,
                        log_root="/logs")
    assert (sc.name, sc.namespace, sc.uid, sc.attempt) == ("web", "shop", "u-1", 2)
    assert sc.labels[POD_UID_LABEL] == "u-1" and sc.labels["app"] == "w"
    assert sc.log_directory == "/logs/shop_web_u-1"
    assert sc.dns_servers == ["10.43.0.10"]
    assert sc.dns_searches == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local",
                               "corp.example"]
    assert sc.dns_options == ["ndots:5"]
    assert sc.hostname == "web"


def test_sandbox_config_host_network_and_default_dns() -> None:
    sc = sandbox_config(_pod(hostNetwork=True), cluster_dns=["10.43.0.10"], host_resolv=HOST)
    assert sc.host_network is True
    assert sc.dns_servers == ["192.0.2.53"]
    none = sandbox_config(_pod(dnsPolicy="None", dnsConfig={
        "nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]}),
        cluster_dns=["10.43.0.10"], host_resolv=HOST)
    assert none.dns_servers == ["1.1.1.1"]
    assert none.dns_options == ["ndots:2"]


def test_host_ports_become_port_mappings() -> None:
    pod = _pod(containers=[{"name": "main", "image": "x", "ports": [
        {"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]}])
    (pm,) = sandbox_config(pod).port_mappings
    assert (pm.container_port, pm.host_port, pm.protocol) == (80, 8080, "TCP")


def test_container_config_command_env_and_expansion() -> None:
    c = {"name": "main", "image": "busybox", "command": ["sh", "-c"],
         "args": ["echo $(GREETING) $(MISSING) $$HOME"], "workingDir": "/tmp",
         "env": [{"name": "WHO", "value": "world"},
                 {"name": "GREETING", "value": "hello $(WHO)"},
                 {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                 {"name": "APP", "valueFrom": {"fieldRef": {
                     "fieldPath": "metadata.labels['app']"}}}]}
    cfg = container_config(_pod(containers=[c]), c, restart_count=3, image="busybox",
                           pod_ip="10.42.0.7", host_ip="192.0.2.2")
    env = {kv.key: kv.value for kv in cfg.envs}
    assert env == {"WHO": "world", "GREETING": "hello world", "POD": "web", "IP": "10.42.0.7",
                   "APP": "w"}
    assert cfg.command == ["sh", "-c"]
    assert cfg.args == ["echo hello world $(MISSING) $HOME"]
    assert cfg.working_dir == "/tmp"
    assert cfg.attempt == 3
    assert cfg.log_path == "main/3.log"
    assert cfg.labels[CONTAINER_NAME_LABEL] == "main"
    assert cfg.annotations[RESTART_COUNT_ANNOTATION] == "3"


def test_resources_to_cgroup_settings() -> None:
    c = {"name": "m", "image": "x", "resources": {"requests": {"cpu": "250m"},
                                                    "limits": {"cpu": "500m", "memory": "64Mi"}}}
    cfg = container_config(_pod(containers=[c]), c, restart_count=0, image="x")
    assert cfg.cpu_shares == 256
    assert (cfg.cpu_quota, cfg.cpu_period) == (50000, 100000)
    assert cfg.memory_limit == 64 * 1024 * 1024


def test_expand_and_resolv_conf() -> None:
    assert expand("$(A)-$(B)", {"A": "1"}) == "1-$(B)"
    assert parse_resolv_conf("# c\nnameserver 1.1.1.1\nsearch a b\noptions ndots:1 edns0\n") == (
        ["1.1.1.1"], ["a", "b"], ["ndots:1", "edns0"])


def test_pull_credentials_from_dockerconfigjson() -> None:
    doc = {"auths": {"registry.example.com": {"auth": base64.b64encode(b"me:pw").decode()},
                     "https://index.docker.io/v1/": {"username": "d", "password": "p"}}}
    secret = {"data": {".dockerconfigjson": base64.b64encode(json.dumps(doc).encode()).decode()}}
    auth = pull_credentials("registry.example.com/team/app:1", [secret])
    assert auth is not None and (auth.username, auth.password) == ("me", "pw")
    hub = pull_credentials("nginx", [secret])
    assert hub is not None and hub.username == "d"
    assert pull_credentials("quay.io/x/y", [secret]) is None
