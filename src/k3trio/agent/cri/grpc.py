"""CRI v1 over grpclib, bridged into Trio with trio-asyncio: the one real runtime adapter.

``open_cri(socket)`` is an async context manager giving a ``CriClient`` (both
``RuntimeService`` and ``ImageService``). grpclib runs on asyncio, so the client needs a
trio-asyncio loop: ``open_cri`` opens one unless the caller is already inside one (open it
once per process with ``trio_asyncio.open_loop()`` and run every CRI client in it). Each call
is an asyncio coroutine run from Trio through ``aio_as_trio``; the gRPC channel reconnects by
itself when containerd restarts.

Errors are translated here, in one place: gRPC ``NOT_FOUND`` -> ``CriNotFound``,
``UNAVAILABLE``/connection failures -> ``CriUnavailable``, a failed ``PullImage`` ->
``ImagePullError``, anything else -> ``CriError``.

This is the only module that imports grpclib.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import grpclib.client
import grpclib.const
import grpclib.exceptions
import trio
import trio_asyncio  # type: ignore[import-untyped]

from ..._generated.cri import api_pb2 as pb
from ..._generated.cri.api_grpc import ImageServiceStub, RuntimeServiceStub
from .types import (
    AuthConfig,
    ContainerConfig,
    ContainerInfo,
    ContainerState,
    ContainerStatus,
    CriError,
    CriNotFound,
    CriUnavailable,
    ExecResult,
    ImageInfo,
    ImagePullError,
    SandboxConfig,
    SandboxInfo,
    SandboxState,
    SandboxStatus,
)

__all__ = ["CriClient", "open_cri"]

T = TypeVar("T")

CALL_TIMEOUT = 30.0
PULL_TIMEOUT = 600.0


def _translate(exc: BaseException, what: str) -> CriError:
    if isinstance(exc, grpclib.exceptions.GRPCError):
        if exc.status == grpclib.const.Status.NOT_FOUND:
            return CriNotFound(f"{what}: {exc.message}")
        if exc.status == grpclib.const.Status.UNAVAILABLE:
            return CriUnavailable(f"{what}: {exc.message}")
        return CriError(f"{what}: {exc.status.name}: {exc.message}")
    return CriUnavailable(f"{what}: {exc.__class__.__name__}: {exc}")


def _sandbox_pb(c: SandboxConfig) -> pb.PodSandboxConfig:
    node = pb.NamespaceMode.NODE
    pod = pb.NamespaceMode.POD
    ns = pb.NamespaceOption(
        network=node if c.host_network else pod,
        pid=node if c.host_pid else pb.NamespaceMode.CONTAINER,
        ipc=node if c.host_ipc else pod,
    )
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=c.name, uid=c.uid, namespace=c.namespace,
                                       attempt=c.attempt),
        hostname=c.hostname,
        log_directory=c.log_directory,
        dns_config=pb.DNSConfig(servers=list(c.dns_servers), searches=list(c.dns_searches),
                                options=list(c.dns_options)),
        port_mappings=[pb.PortMapping(protocol=p.protocol,
                                      container_port=p.container_port, host_port=p.host_port,
                                      host_ip=p.host_ip) for p in c.port_mappings],
        labels=dict(c.labels),
        annotations=dict(c.annotations),
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=c.cgroup_parent,
            sysctls=dict(c.sysctls),
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=ns, privileged=c.privileged),
        ),
    )


def _container_pb(c: ContainerConfig, sandbox: SandboxConfig) -> pb.ContainerConfig:
    sc = pb.LinuxContainerSecurityContext(
        privileged=c.privileged,
        readonly_rootfs=c.readonly_rootfs,
        namespace_options=pb.NamespaceOption(
            network=pb.NamespaceMode.NODE if sandbox.host_network else pb.NamespaceMode.POD,
            pid=pb.NamespaceMode.NODE if sandbox.host_pid else pb.NamespaceMode.CONTAINER,
            ipc=pb.NamespaceMode.NODE if sandbox.host_ipc else pb.NamespaceMode.POD,
        ),
    )
    if c.capabilities_add or c.capabilities_drop:
        sc.capabilities.CopyFrom(pb.Capability(add_capabilities=list(c.capabilities_add),
                                               drop_capabilities=list(c.capabilities_drop)))
    if c.supplemental_groups:
        sc.supplemental_groups.extend(c.supplemental_groups)
    sc.no_new_privs = c.no_new_privs
    if c.run_as_user is not None:
        sc.run_as_user.value = c.run_as_user
    if c.run_as_group is not None:
        sc.run_as_group.value = c.run_as_group
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=c.name, attempt=c.attempt),
        image=pb.ImageSpec(image=c.image),
        command=list(c.command),
        args=list(c.args),
        working_dir=c.working_dir,
        envs=[pb.KeyValue(key=e.key, value=e.value.encode()) for e in c.envs],
        mounts=[pb.Mount(container_path=m.container_path, host_path=m.host_path,
                         readonly=m.readonly) for m in c.mounts],
        labels=dict(c.labels),
        annotations=dict(c.annotations),
        log_path=c.log_path,
        stdin=c.stdin,
        stdin_once=c.stdin_once,
        tty=c.tty,
        linux=pb.LinuxContainerConfig(
            resources=pb.LinuxContainerResources(
                cpu_shares=c.cpu_shares, cpu_quota=c.cpu_quota, cpu_period=c.cpu_period,
                memory_limit_in_bytes=c.memory_limit, oom_score_adj=c.oom_score_adj),
            security_context=sc,
        ),
    )


def _sandbox_info(s: Any) -> SandboxInfo:
    return SandboxInfo(id=s.id, name=s.metadata.name, uid=s.metadata.uid,
                       namespace=s.metadata.namespace, attempt=s.metadata.attempt,
                       state=SandboxState(s.state), created_at=s.created_at,
                       labels=dict(s.labels), annotations=dict(s.annotations))


def _container_info(c: Any) -> ContainerInfo:
    return ContainerInfo(id=c.id, sandbox_id=c.pod_sandbox_id, name=c.metadata.name,
                         attempt=c.metadata.attempt, state=ContainerState(c.state),
                         created_at=c.created_at, image=c.image.image, image_ref=c.image_ref,
                         labels=dict(c.labels), annotations=dict(c.annotations))


def _image_info(i: Any) -> ImageInfo:
    return ImageInfo(id=i.id, repo_tags=tuple(i.repo_tags), repo_digests=tuple(i.repo_digests),
                     size=i.size)


class CriClient:
    """``RuntimeService`` and ``ImageService`` over one grpclib channel (see module doc)."""

    def __init__(self, channel: grpclib.client.Channel) -> None:
        self._channel = channel
        self._runtime = RuntimeServiceStub(channel)
        self._images = ImageServiceStub(channel)

    async def _call(self, what: str, method: Callable[..., Awaitable[T]], request: Any,
                    timeout: float = CALL_TIMEOUT) -> T:
        try:
            result: T = await trio_asyncio.aio_as_trio(method)(request, timeout=timeout)
            return result
        except (grpclib.exceptions.GRPCError, grpclib.exceptions.StreamTerminatedError,
                OSError, ConnectionError, TimeoutError) as exc:
            raise _translate(exc, what) from exc

    # -- runtime ----------------------------------------------------------------------

    async def version(self) -> tuple[str, str]:
        r = await self._call("Version", self._runtime.Version, pb.VersionRequest(version="v1"))
        return r.runtime_name, r.runtime_version

    async def network_ready(self) -> tuple[bool, str]:
        r = await self._call("Status", self._runtime.Status, pb.StatusRequest())
        for cond in r.status.conditions:
            if cond.type == "NetworkReady":
                return cond.status, f"{cond.reason}: {cond.message}" if cond.reason else ""
        return False, "no NetworkReady condition"

    async def run_pod_sandbox(self, config: SandboxConfig) -> str:
        r = await self._call("RunPodSandbox", self._runtime.RunPodSandbox,
                             pb.RunPodSandboxRequest(config=_sandbox_pb(config)), timeout=240)
        return str(r.pod_sandbox_id)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call("StopPodSandbox", self._runtime.StopPodSandbox,
                         pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=120)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call("RemovePodSandbox", self._runtime.RemovePodSandbox,
                         pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=120)

    async def pod_sandbox_status(self, sandbox_id: str) -> SandboxStatus:
        r = await self._call("PodSandboxStatus", self._runtime.PodSandboxStatus,
                             pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id))
        s = r.status
        return SandboxStatus(id=s.id, state=SandboxState(s.state), created_at=s.created_at,
                             ip=s.network.ip,
                             additional_ips=tuple(ip.ip for ip in s.network.additional_ips),
                             labels=dict(s.labels), annotations=dict(s.annotations))

    async def list_pod_sandboxes(self, labels: Mapping[str, str] | None = None
                                 ) -> list[SandboxInfo]:
        f = pb.PodSandboxFilter(label_selector=dict(labels or {}))
        r = await self._call("ListPodSandbox", self._runtime.ListPodSandbox,
                             pb.ListPodSandboxRequest(filter=f))
        return [_sandbox_info(s) for s in r.items]

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox: SandboxConfig) -> str:
        r = await self._call("CreateContainer", self._runtime.CreateContainer,
                             pb.CreateContainerRequest(
                                 pod_sandbox_id=sandbox_id, config=_container_pb(config, sandbox),
                                 sandbox_config=_sandbox_pb(sandbox)), timeout=240)
        return str(r.container_id)

    async def start_container(self, container_id: str) -> None:
        await self._call("StartContainer", self._runtime.StartContainer,
                         pb.StartContainerRequest(container_id=container_id), timeout=240)

    async def stop_container(self, container_id: str, timeout: int) -> None:
        await self._call("StopContainer", self._runtime.StopContainer,
                         pb.StopContainerRequest(container_id=container_id, timeout=timeout),
                         timeout=timeout + CALL_TIMEOUT)

    async def remove_container(self, container_id: str) -> None:
        await self._call("RemoveContainer", self._runtime.RemoveContainer,
                         pb.RemoveContainerRequest(container_id=container_id), timeout=120)

    async def list_containers(self, labels: Mapping[str, str] | None = None,
                              sandbox_id: str | None = None) -> list[ContainerInfo]:
        f = pb.ContainerFilter(label_selector=dict(labels or {}), pod_sandbox_id=sandbox_id or "")
        r = await self._call("ListContainers", self._runtime.ListContainers,
                             pb.ListContainersRequest(filter=f))
        return [_container_info(c) for c in r.containers]

    async def container_status(self, container_id: str) -> ContainerStatus:
        r = await self._call("ContainerStatus", self._runtime.ContainerStatus,
                             pb.ContainerStatusRequest(container_id=container_id))
        s = r.status
        return ContainerStatus(
            id=s.id, name=s.metadata.name, attempt=s.metadata.attempt,
            state=ContainerState(s.state), created_at=s.created_at, started_at=s.started_at,
            finished_at=s.finished_at, exit_code=s.exit_code, image=s.image.image,
            image_ref=s.image_ref, reason=s.reason, message=s.message, labels=dict(s.labels),
            annotations=dict(s.annotations), log_path=s.log_path,
        )

    async def exec_sync(self, container_id: str, cmd: Sequence[str], timeout: float
                        ) -> ExecResult:
        seconds = max(1, math.ceil(timeout)) if timeout > 0 else 0
        r = await self._call("ExecSync", self._runtime.ExecSync,
                             pb.ExecSyncRequest(container_id=container_id, cmd=list(cmd),
                                                timeout=seconds),
                             timeout=(seconds or 3600) + CALL_TIMEOUT)
        return ExecResult(exit_code=int(r.exit_code), stdout=bytes(r.stdout),
                          stderr=bytes(r.stderr))

    # -- images -----------------------------------------------------------------------

    async def image_status(self, image: str) -> ImageInfo | None:
        r = await self._call("ImageStatus", self._images.ImageStatus,
                             pb.ImageStatusRequest(image=pb.ImageSpec(image=image)))
        return _image_info(r.image) if r.HasField("image") and r.image.id else None

    async def pull_image(self, image: str, auth: AuthConfig | None = None,
                         sandbox: SandboxConfig | None = None) -> str:
        req = pb.PullImageRequest(image=pb.ImageSpec(image=image))
        if auth is not None:
            req.auth.CopyFrom(pb.AuthConfig(
                username=auth.username, password=auth.password, auth=auth.auth,
                server_address=auth.server_address, identity_token=auth.identity_token,
                registry_token=auth.registry_token))
        if sandbox is not None:
            req.sandbox_config.CopyFrom(_sandbox_pb(sandbox))
        try:
            r = await self._call("PullImage", self._images.PullImage, req, timeout=PULL_TIMEOUT)
        except CriUnavailable:
            raise
        except CriError as exc:
            raise ImagePullError(str(exc)) from exc
        return str(r.image_ref)

    async def list_images(self) -> list[ImageInfo]:
        r = await self._call("ListImages", self._images.ListImages, pb.ListImagesRequest())
        return [_image_info(i) for i in r.images]

    async def remove_image(self, image: str) -> None:
        await self._call("RemoveImage", self._images.RemoveImage,
                         pb.RemoveImageRequest(image=pb.ImageSpec(image=image)))


def _in_asyncio_loop() -> bool:
    try:
        return trio_asyncio.current_loop.get() is not None
    except LookupError:
        return False


@contextlib.asynccontextmanager
async def open_cri(socket: Path | str) -> AsyncIterator[CriClient]:
    """A CRI client on the unix socket ``socket`` (``unix://`` prefix allowed)."""
    path = str(socket).removeprefix("unix://")
    async with contextlib.AsyncExitStack() as stack:
        if not _in_asyncio_loop():
            await stack.enter_async_context(trio_asyncio.open_loop())

        async def make() -> grpclib.client.Channel:
            return grpclib.client.Channel(path=path)

        channel = await trio_asyncio.aio_as_trio(make)()
        try:
            yield CriClient(channel)
        finally:
            channel.close()
            await trio.lowlevel.checkpoint()
