"""PersistentVolume binding (pure matching and over the fake API)."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from k3trio.controllers.pvbinder import PersistentVolumeBinder, find_volume

from .conftest import Harness


def pv(name: str, size: str, modes: list[str] | None = None, cls: str = "",
       **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": {"tier": name}},
            "spec": {"capacity": {"storage": size}, "accessModes": modes or ["ReadWriteOnce"],
                     "storageClassName": cls, "persistentVolumeReclaimPolicy": "Retain",
                     "hostPath": {"path": "/tmp"}, **extra},
            "status": {"phase": "Available"}}


def pvc(name: str, size: str, modes: list[str] | None = None, cls: str = "",
        **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "spec": {"accessModes": modes or ["ReadWriteOnce"], "storageClassName": cls,
                     "resources": {"requests": {"storage": size}}, **extra},
            "status": {"phase": "Pending"}}


def test_find_volume() -> None:
    vols = [pv("big", "10Gi"), pv("small", "1Gi"), pv("rwx", "2Gi", ["ReadWriteMany"]),
            pv("fast", "1Gi", cls="fast")]
    assert find_volume(pvc("a", "500Mi"), vols)["metadata"]["name"] == "small"  # type: ignore[index]
    assert find_volume(pvc("b", "2Gi"), vols)["metadata"]["name"] == "big"  # type: ignore[index]
    assert find_volume(pvc("c", "1Gi", ["ReadWriteMany"]), vols)["metadata"]["name"] == "rwx"  # type: ignore[index]
    assert find_volume(pvc("d", "1Gi", cls="fast"), vols)["metadata"]["name"] == "fast"  # type: ignore[index]
    assert find_volume(pvc("e", "20Gi"), vols) is None
    sel = pvc("f", "1Gi", selector={"matchLabels": {"tier": "big"}})
    assert find_volume(sel, vols)["metadata"]["name"] == "big"  # type: ignore[index]
    pre = pv("pre", "5Gi", claimRef={"name": "g", "namespace": "default"})
    assert find_volume(pvc("g", "1Gi"), [*vols, pre])["metadata"]["name"] == "pre"  # type: ignore[index]


async def test_bind_and_release(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    h.api.put("persistentvolumes", pv("v1", "1Gi"))
    h.api.put("persistentvolumeclaims", pvc("c1", "1Gi"))
    h.api.put("persistentvolumeclaims", pvc("c2", "5Gi"))
    await h.start(PersistentVolumeBinder)
    await h.settle(1)
    vol = h.api.obj("persistentvolumes", "", "v1")
    claim = h.api.obj("persistentvolumeclaims", "default", "c1")
    assert vol["status"]["phase"] == "Bound" and vol["spec"]["claimRef"]["name"] == "c1"
    assert claim["spec"]["volumeName"] == "v1"
    assert claim["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                               "capacity": {"storage": "1Gi"}}
    assert claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert h.api.obj("persistentvolumeclaims", "default", "c2")["status"]["phase"] == "Pending"
    assert "FailedBinding" in [e["reason"] for e in h.api.all("events")]
    await h.api.delete(("", "v1", "persistentvolumeclaims"), "c1", namespace="default")
    await h.settle(1)
    assert h.api.obj("persistentvolumes", "", "v1")["status"]["phase"] == "Released"
