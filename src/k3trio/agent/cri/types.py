"""The Container Runtime Interface as the kubelet uses it, in plain Python types.

``RuntimeService`` and ``ImageService`` are the protocols; ``grpc.CriClient`` implements both
over CRI v1 (the only module importing grpclib), ``fake.FakeRuntime`` in memory for tests.
Only the subset of CRI v1 the kubelet needs is modelled; field meanings are CRI's.

Errors (``CriError`` tree), raised by every implementation:

    CriError
    ├── CriNotFound        the sandbox, container or image does not exist
    ├── CriUnavailable     the runtime cannot be reached (socket gone, containerd restarting)
    └── ImagePullError     a pull failed (registry unreachable, unauthorised, no such image)

Timestamps are nanoseconds since the epoch, as in CRI (0 = unset).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

__all__ = [
    "AuthConfig",
    "ContainerConfig",
    "ContainerInfo",
    "ContainerState",
    "ContainerStatus",
    "CriError",
    "ExecResult",
    "CriNotFound",
    "CriUnavailable",
    "ImageInfo",
    "ImagePullError",
    "ImageService",
    "KeyValue",
    "MountSpec",
    "PortMapping",
    "RuntimeService",
    "SandboxConfig",
    "SandboxInfo",
    "SandboxState",
    "SandboxStatus",
]


class CriError(Exception):
    """A CRI call failed."""


class CriNotFound(CriError):
    """The object does not exist."""


class CriUnavailable(CriError):
    """The runtime is not reachable."""


class ImagePullError(CriError):
    """Pulling an image failed."""


class SandboxState(enum.IntEnum):
    READY = 0
    NOTREADY = 1


class ContainerState(enum.IntEnum):
    CREATED = 0
    RUNNING = 1
    EXITED = 2
    UNKNOWN = 3


@attrs.frozen
class PortMapping:
    container_port: int
    host_port: int = 0
    protocol: str = "TCP"
    host_ip: str = ""


@attrs.frozen
class KeyValue:
    key: str
    value: str


@attrs.frozen
class MountSpec:
    container_path: str
    host_path: str
    readonly: bool = False


@attrs.frozen
class SandboxConfig:
    """What ``RunPodSandbox`` needs (``PodSandboxConfig``)."""

    name: str
    uid: str
    namespace: str
    attempt: int = 0
    hostname: str = ""
    log_directory: str = ""
    dns_servers: Sequence[str] = ()
    dns_searches: Sequence[str] = ()
    dns_options: Sequence[str] = ()
    port_mappings: Sequence[PortMapping] = ()
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    cgroup_parent: str = ""
    privileged: bool = False
    sysctls: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class ContainerConfig:
    """What ``CreateContainer`` needs (``ContainerConfig``)."""

    name: str
    image: str
    attempt: int = 0
    command: Sequence[str] = ()
    args: Sequence[str] = ()
    working_dir: str = ""
    envs: Sequence[KeyValue] = ()
    mounts: Sequence[MountSpec] = ()
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)
    log_path: str = ""
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
    privileged: bool = False
    run_as_user: int | None = None
    run_as_group: int | None = None
    readonly_rootfs: bool = False
    capabilities_add: Sequence[str] = ()
    capabilities_drop: Sequence[str] = ()
    supplemental_groups: Sequence[int] = ()
    no_new_privs: bool = False
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    memory_limit: int = 0
    oom_score_adj: int = 0


@attrs.frozen
class SandboxInfo:
    """An entry of ``ListPodSandbox``."""

    id: str
    name: str
    uid: str
    namespace: str
    attempt: int
    state: SandboxState
    created_at: int
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class SandboxStatus:
    """``PodSandboxStatus``: state and the pod's IPs."""

    id: str
    state: SandboxState
    created_at: int
    ip: str = ""
    additional_ips: Sequence[str] = ()
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class ContainerInfo:
    """An entry of ``ListContainers``."""

    id: str
    sandbox_id: str
    name: str
    attempt: int
    state: ContainerState
    created_at: int
    image: str = ""
    image_ref: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class ContainerStatus:
    """``ContainerStatus``: state, times, exit code and image of one container."""

    id: str
    name: str
    attempt: int
    state: ContainerState
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    image: str = ""
    image_ref: str = ""
    reason: str = ""
    message: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)
    log_path: str = ""


@attrs.frozen
class ExecResult:
    """What ``ExecSync`` returns: the command's exit code and captured output."""

    exit_code: int
    stdout: bytes = b""
    stderr: bytes = b""


@attrs.frozen
class ImageInfo:
    id: str
    repo_tags: Sequence[str] = ()
    repo_digests: Sequence[str] = ()
    size: int = 0


@attrs.frozen
class AuthConfig:
    """Registry credentials for one pull (from an imagePullSecret)."""

    username: str = ""
    password: str = ""
    auth: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""


class RuntimeService(Protocol):
    """Sandboxes and containers (CRI ``RuntimeService``)."""

    async def version(self) -> tuple[str, str]:
        """``(runtime name, runtime version)``, e.g. ``("containerd", "1.6.20")``."""
        ...

    async def network_ready(self) -> tuple[bool, str]:
        """Whether the runtime's pod network is ready, and why not."""
        ...

    async def run_pod_sandbox(self, config: SandboxConfig) -> str: ...

    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def pod_sandbox_status(self, sandbox_id: str) -> SandboxStatus: ...

    async def list_pod_sandboxes(self, labels: Mapping[str, str] | None = None
                                 ) -> list[SandboxInfo]: ...

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox: SandboxConfig) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, timeout: int) -> None: ...

    async def remove_container(self, container_id: str) -> None: ...

    async def list_containers(self, labels: Mapping[str, str] | None = None,
                              sandbox_id: str | None = None) -> list[ContainerInfo]: ...

    async def container_status(self, container_id: str) -> ContainerStatus: ...

    async def exec_sync(self, container_id: str, cmd: Sequence[str], timeout: float
                        ) -> ExecResult:
        """Run ``cmd`` in the container and wait for it (``timeout`` seconds, 0: no limit).

        Raises:
            CriNotFound: the container does not exist.
            CriError: the command could not be run or timed out.
        """
        ...


class ImageService(Protocol):
    """Images (CRI ``ImageService``)."""

    async def image_status(self, image: str) -> ImageInfo | None:
        """The image, or None if it is not present."""
        ...

    async def pull_image(self, image: str, auth: AuthConfig | None = None,
                         sandbox: SandboxConfig | None = None) -> str:
        """Pull ``image``; returns its image ref (``sha256:...``).

        Raises:
            ImagePullError: the pull failed.
        """
        ...

    async def list_images(self) -> list[ImageInfo]: ...

    async def remove_image(self, image: str) -> None: ...
