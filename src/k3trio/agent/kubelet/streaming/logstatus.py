"""Which container instance a log request means, from the pod's status. Pure.

Mirrors upstream's kubelet ``validateContainerLogStatus``: ``previous`` needs a terminated
last state; otherwise the running or terminated instance (falling back to the last
terminated one); a waiting container has no logs yet and the error says why. The messages
are upstream's, word for word, because clients show them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ContainerLogError", "container_id_for_logs", "strip_runtime"]


class ContainerLogError(Exception):
    """No log can be served for the request; the message is the client-facing text."""


def _statuses(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = pod.get("status") or {}
    out: list[Mapping[str, Any]] = []
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        out += [s for s in status.get(key) or [] if isinstance(s, Mapping)]
    return out


def strip_runtime(container_id: str) -> str:
    """``containerd://abc`` -> ``abc``."""
    return container_id.partition("://")[2] or container_id


def container_id_for_logs(pod: Mapping[str, Any], container: str, previous: bool) -> str:
    """The runtime container ID (``containerd://...``) whose log to serve.

    Raises:
        ContainerLogError: with upstream's message for why there is none.
    """
    pod_name = str((pod.get("metadata") or {}).get("name", ""))
    status = next((s for s in _statuses(pod) if s.get("name") == container), None)
    if status is None:
        raise ContainerLogError(f'container "{container}" in pod "{pod_name}" is not available')
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated")
    running = state.get("running")
    terminated = state.get("terminated")
    waiting = state.get("waiting")
    if previous:
        if not last or not last.get("containerID"):
            raise ContainerLogError(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        return str(last["containerID"])
    if running is not None:
        return str(status.get("containerID") or "")
    if terminated is not None:
        if terminated.get("containerID"):
            return str(terminated["containerID"])
        if last and last.get("containerID"):
            return str(last["containerID"])
        raise ContainerLogError(f'container "{container}" in pod "{pod_name}" is terminated')
    if last is not None:
        if not last.get("containerID"):
            raise ContainerLogError(f'container "{container}" in pod "{pod_name}" is terminated')
        return str(last["containerID"])
    if waiting is not None:
        reason = waiting.get("reason") or ""
        if reason == "ErrImagePull":
            raise ContainerLogError(f'container "{container}" in pod "{pod_name}" is waiting to start: image can\'t be pulled')
        if reason == "ImagePullBackOff":
            raise ContainerLogError(
                f'container "{container}" in pod "{pod_name}" is waiting to start: trying and failing to pull image')
        raise ContainerLogError(f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')
    raise ContainerLogError(f'container "{container}" in pod "{pod_name}" is waiting to start - no logs yet')
