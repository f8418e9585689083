"""The kubelet's view of the container runtime: CRI protocols in plain types.

``types`` holds the ``RuntimeService``/``ImageService`` protocols, values and errors;
``grpc`` is the real adapter (CRI v1 over grpclib under trio-asyncio; import it only where
a runtime is really needed); ``fake`` an in-memory runtime for tests.
"""

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
    ImageService,
    KeyValue,
    MountSpec,
    PortMapping,
    RuntimeService,
    SandboxConfig,
    SandboxInfo,
    SandboxState,
    SandboxStatus,
)

__all__ = [
    "AuthConfig",
    "ContainerConfig",
    "ContainerInfo",
    "ContainerState",
    "ContainerStatus",
    "CriError",
    "CriNotFound",
    "CriUnavailable",
    "ExecResult",
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
