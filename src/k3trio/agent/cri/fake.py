"""An in-memory CRI runtime for tests: sandboxes and containers as records, no processes.

Containers run until the test calls ``exit(container_id, code)``; images are present when
listed in ``images`` (``pull_image`` adds one unless it is in ``unpullable``). Every call is
appended to ``calls`` as ``(method, argument)`` so tests can assert on what the kubelet did.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence

import attrs
import trio

from .types import (
    AuthConfig,
    ContainerConfig,
    ContainerInfo,
    ContainerState,
    ContainerStatus,
    CriError,
    CriNotFound,
    ExecResult,
    ImageInfo,
    ImagePullError,
    SandboxConfig,
    SandboxInfo,
    SandboxState,
    SandboxStatus,
)

__all__ = ["FakeRuntime"]


def _now_ns() -> int:
    return time.time_ns()


def _matches(labels: Mapping[str, str], selector: Mapping[str, str] | None) -> bool:
    return all(labels.get(k) == v for k, v in (selector or {}).items())


class FakeRuntime:
    """``RuntimeService`` and ``ImageService`` in memory."""

    def __init__(self, images: tuple[str, ...] = (), unpullable: tuple[str, ...] = ()) -> None:
        self.images: dict[str, ImageInfo] = {}
        for name in images:
            self.images[name] = ImageInfo(id=f"sha256:{abs(hash(name)):064x}"[:71],
                                          repo_tags=(name,))
        self.unpullable = set(unpullable)
        self.sandboxes: dict[str, tuple[SandboxConfig, SandboxState, int]] = {}
        self.containers: dict[str, tuple[str, ContainerConfig, ContainerStatus]] = {}
        self.calls: list[tuple[str, str]] = []
        self.network = True
        self._ids = itertools.count(1)
        self._ip = itertools.count(2)
        self._ips: dict[str, str] = {}
        #: answers ``exec_sync(container_id, cmd)``; by default every command succeeds
        self.exec_handler: Callable[[str, Sequence[str]], ExecResult] = \
            lambda cid, cmd: ExecResult(0)

    def _id(self) -> str:
        return f"{next(self._ids):064x}"

    # -- test controls ----------------------------------------------------------------

    def exit(self, container_id: str, code: int) -> None:
        sid, cfg, st = self.containers[container_id]
        self.containers[container_id] = (sid, cfg, attrs.evolve(
            st, state=ContainerState.EXITED, exit_code=code, finished_at=_now_ns(),
            reason="Completed" if code == 0 else "Error"))

    def running(self) -> list[str]:
        return [cid for cid, (_, _, st) in self.containers.items()
                if st.state == ContainerState.RUNNING]

    # -- RuntimeService ---------------------------------------------------------------

    async def version(self) -> tuple[str, str]:
        await trio.lowlevel.checkpoint()
        return "fake", "0.1"

    async def network_ready(self) -> tuple[bool, str]:
        await trio.lowlevel.checkpoint()
        return self.network, "" if self.network else "NetworkPluginNotReady"

    async def run_pod_sandbox(self, config: SandboxConfig) -> str:
        await trio.lowlevel.checkpoint()
        sid = self._id()
        self.sandboxes[sid] = (config, SandboxState.READY, _now_ns())
        self._ips[sid] = "" if config.host_network else f"10.42.0.{next(self._ip)}"
        self.calls.append(("run_pod_sandbox", config.uid))
        return sid

    def _sandbox(self, sid: str) -> tuple[SandboxConfig, SandboxState, int]:
        try:
            return self.sandboxes[sid]
        except KeyError:
            raise CriNotFound(f"sandbox {sid} not found") from None

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await trio.lowlevel.checkpoint()
        cfg, _, created = self._sandbox(sandbox_id)
        for cid, (sid, _, st) in list(self.containers.items()):
            if sid == sandbox_id and st.state == ContainerState.RUNNING:
                self.exit(cid, 137)
        self.sandboxes[sandbox_id] = (cfg, SandboxState.NOTREADY, created)
        self.calls.append(("stop_pod_sandbox", sandbox_id))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await trio.lowlevel.checkpoint()
        self._sandbox(sandbox_id)
        for cid, (sid, _, _) in list(self.containers.items()):
            if sid == sandbox_id:
                del self.containers[cid]
        del self.sandboxes[sandbox_id]
        self.calls.append(("remove_pod_sandbox", sandbox_id))

    async def pod_sandbox_status(self, sandbox_id: str) -> SandboxStatus:
        await trio.lowlevel.checkpoint()
        cfg, state, created = self._sandbox(sandbox_id)
        return SandboxStatus(id=sandbox_id, state=state, created_at=created,
                             ip=self._ips[sandbox_id], labels=dict(cfg.labels))

    async def list_pod_sandboxes(self, labels: Mapping[str, str] | None = None
                                 ) -> list[SandboxInfo]:
        await trio.lowlevel.checkpoint()
        return [SandboxInfo(id=sid, name=cfg.name, uid=cfg.uid, namespace=cfg.namespace,
                            attempt=cfg.attempt, state=state, created_at=created,
                            labels=dict(cfg.labels))
                for sid, (cfg, state, created) in self.sandboxes.items()
                if _matches(cfg.labels, labels)]

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox: SandboxConfig) -> str:
        await trio.lowlevel.checkpoint()
        self._sandbox(sandbox_id)
        image = self.images.get(config.image)
        if image is None:
            raise CriNotFound(f"image {config.image} not found")
        cid = self._id()
        self.containers[cid] = (sandbox_id, config, ContainerStatus(
            id=cid, name=config.name, attempt=config.attempt, state=ContainerState.CREATED,
            created_at=_now_ns(), image=config.image, image_ref=image.id,
            labels=dict(config.labels), annotations=dict(config.annotations)))
        self.calls.append(("create_container", config.name))
        return cid

    def _container(self, cid: str) -> tuple[str, ContainerConfig, ContainerStatus]:
        try:
            return self.containers[cid]
        except KeyError:
            raise CriNotFound(f"container {cid} not found") from None

    async def start_container(self, container_id: str) -> None:
        await trio.lowlevel.checkpoint()
        sid, cfg, st = self._container(container_id)
        self.containers[container_id] = (sid, cfg, attrs.evolve(
            st, state=ContainerState.RUNNING, started_at=_now_ns()))
        self.calls.append(("start_container", cfg.name))

    async def stop_container(self, container_id: str, timeout: int) -> None:
        await trio.lowlevel.checkpoint()
        _, cfg, st = self._container(container_id)
        if st.state == ContainerState.RUNNING:
            self.exit(container_id, 137)
        self.calls.append(("stop_container", cfg.name))

    async def remove_container(self, container_id: str) -> None:
        await trio.lowlevel.checkpoint()
        self._container(container_id)
        del self.containers[container_id]

    async def list_containers(self, labels: Mapping[str, str] | None = None,
                              sandbox_id: str | None = None) -> list[ContainerInfo]:
        await trio.lowlevel.checkpoint()
        return [ContainerInfo(id=cid, sandbox_id=sid, name=st.name, attempt=st.attempt,
                              state=st.state, created_at=st.created_at, image=st.image,
                              image_ref=st.image_ref, labels=dict(st.labels),
                              annotations=dict(st.annotations))
                for cid, (sid, _, st) in self.containers.items()
                if _matches(st.labels, labels) and (sandbox_id is None or sid == sandbox_id)]

    async def container_status(self, container_id: str) -> ContainerStatus:
        await trio.lowlevel.checkpoint()
        return self._container(container_id)[2]

    async def exec_sync(self, container_id: str, cmd: Sequence[str], timeout: float
                        ) -> ExecResult:
        await trio.lowlevel.checkpoint()
        _, cfg, st = self._container(container_id)
        self.calls.append(("exec_sync", " ".join(cmd)))
        if st.state != ContainerState.RUNNING:
            raise CriError(f"container {container_id} is not running")
        return self.exec_handler(container_id, cmd)

    # -- ImageService -----------------------------------------------------------------

    async def image_status(self, image: str) -> ImageInfo | None:
        await trio.lowlevel.checkpoint()
        return self.images.get(image)

    async def pull_image(self, image: str, auth: AuthConfig | None = None,
                         sandbox: SandboxConfig | None = None) -> str:
        await trio.lowlevel.checkpoint()
        self.calls.append(("pull_image", image))
        if image in self.unpullable:
            raise ImagePullError(f"failed to pull {image}: not found")
        info = self.images.setdefault(image, ImageInfo(id=f"sha256:{len(self.images):064x}",
                                                       repo_tags=(image,)))
        return info.id

    async def list_images(self) -> list[ImageInfo]:
        await trio.lowlevel.checkpoint()
        return list(self.images.values())

    async def remove_image(self, image: str) -> None:
        await trio.lowlevel.checkpoint()
        if self.images.pop(image, None) is None:
            raise CriNotFound(f"image {image} not found")
