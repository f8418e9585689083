"""The atomic writer, hostPath type checks and the env/service-variable builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k3trio.agent.kubelet.env import EnvError, NodeResources, build_env, resource_value, service_env
from k3trio.agent.kubelet.volumes import DATA_DIR, FileProjection, InvalidPayload, write_atomic
from k3trio.agent.kubelet.volumes.base import VolumeError
from k3trio.agent.kubelet.volumes.hostpath import check


def test_atomic_writer_swaps_data_and_prunes(tmp_path: Path) -> None:
    assert write_atomic(tmp_path, {"a": FileProjection(b"1"), "d/b": FileProjection(b"2", 0o600)})
    first = os.readlink(tmp_path / DATA_DIR)
    assert (tmp_path / "a").read_text() == "1" and os.readlink(tmp_path / "a") == "..data/a"
    assert (tmp_path / "d" / "b").stat().st_mode & 0o777 == 0o600
    assert not write_atomic(tmp_path, {"a": FileProjection(b"1"),
                                       "d/b": FileProjection(b"2", 0o600)})
    assert write_atomic(tmp_path, {"a": FileProjection(b"new")})
    assert os.readlink(tmp_path / DATA_DIR) != first
    assert not (tmp_path / first).exists() and not (tmp_path / "d").exists()
    assert (tmp_path / "a").read_text() == "new"
    for bad in ("/abs", "x/../y", "..hidden"):
        with pytest.raises(InvalidPayload):
            write_atomic(tmp_path, {bad: FileProjection(b"")})


def test_hostpath_types(tmp_path: Path) -> None:
    check(tmp_path / "made" / "deep", "DirectoryOrCreate")
    assert (tmp_path / "made" / "deep").is_dir()
    check(tmp_path / "f", "FileOrCreate")
    with pytest.raises(VolumeError, match="is not a directory"):
        check(tmp_path / "f", "Directory")
    with pytest.raises(VolumeError, match="is not a socket file"):
        check(tmp_path / "f", "Socket")


POD = {"metadata": {"name": "p", "namespace": "ns"},
       "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "64Mi"}}}]}}


def test_env_precedence_optional_and_errors() -> None:
    c = {"name": "c", "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "P_"}],
         "env": [{"name": "A", "value": "$(P_x)-$(MISSING)-$$(P_x)"},
                 {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k",
                                                                 "optional": True}}},
                 {"name": "MEM", "valueFrom": {"resourceFieldRef": {
                     "resource": "limits.memory", "divisor": "1Mi"}}},
                 {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}
    env, warnings = build_env(POD, c, configmaps={"cm": {"data": {"x": "1", "a=b": "2"}},
                                                  "gone": None},
                              secrets={}, services={"S_HOST": "h"},
                              node=NodeResources(cpu_millis=2500))
    assert env == {"P_x": "1", "A": "1-$(MISSING)-$(P_x)", "MEM": "64", "CPU": "3",
                   "S_HOST": "h"}
    assert warnings and "P_a=b" in warnings[0]
    with pytest.raises(EnvError, match=r"couldn't find key k in ConfigMap ns/cm"):
        build_env(POD, {"name": "c", "env": [{"name": "X", "valueFrom": {
            "configMapKeyRef": {"name": "cm", "key": "k"}}}]},
            configmaps={"cm": {"data": {}}}, secrets={}, services={})
    assert resource_value(POD, "c", "requests.cpu", "1m", NodeResources()) == "0"


def test_service_env_links_and_master_service() -> None:
    svcs = [{"metadata": {"name": "kubernetes", "namespace": "default"},
             "spec": {"clusterIP": "10.43.0.1", "ports": [{"name": "https", "port": 443}]}},
            {"metadata": {"name": "my-db", "namespace": "ns"},
             "spec": {"clusterIP": "10.43.0.9", "ports": [{"port": 5432, "protocol": "TCP"}]}},
            {"metadata": {"name": "headless", "namespace": "ns"},
             "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}]
    env = service_env(svcs, "ns")
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert env["MY_DB_SERVICE_HOST"] == "10.43.0.9"
    assert env["MY_DB_PORT_5432_TCP_ADDR"] == "10.43.0.9"
    assert not any(k.startswith("HEADLESS") for k in env)
    assert set(service_env(svcs, "ns", enable_service_links=False)) == {
        k for k in env if k.startswith("KUBERNETES_")}
