"""Init containers: what to do next, and how they shape the pod status. Pure.

Regular init containers run one at a time in order, each to a zero exit, before any app
container starts; a restartable one (``restartPolicy: Always``, a sidecar) is started in
its turn and the next one follows as soon as it has started (its startup probe passed),
and it keeps running alongside the app containers.

``init_step`` answers, from the latest runtime record of each init container in the
current sandbox::

    all done                                  -> DONE (start the app containers)
    one running (not a started sidecar)       -> WAIT
    one exited 0                              -> it is done, look at the next
    one exited non-zero, restartPolicy Never  -> FAILED (the pod fails)
    one exited non-zero, otherwise            -> RESTART it (after the crash-loop back-off)
    one never ran                             -> START it

A pod whose init containers have not all completed is ``Pending`` (``Failed`` after FAILED);
its app containers wait with reason ``PodInitializing``; ``Initialized`` is False with
``containers with incomplete status: [names]``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..cri import ContainerState, ContainerStatus

__all__ = ["InitAction", "incomplete", "init_step", "is_sidecar"]


class InitAction(enum.Enum):
    DONE = "done"
    WAIT = "wait"
    START = "start"
    RESTART = "restart"
    FAILED = "failed"


def is_sidecar(container: Mapping[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def init_step(init_containers: Sequence[Mapping[str, Any]],
              latest: Mapping[str, ContainerStatus | None], policy: str,
              started: Callable[[Mapping[str, Any], ContainerStatus], bool] = lambda c, s: True,
              ) -> list[tuple[InitAction, Mapping[str, Any] | None]]:
    """The actions to take now, in order (see module doc); sidecars that need a (re)start
    before the current init container are listed first."""
    actions: list[tuple[InitAction, Mapping[str, Any] | None]] = []
    for c in init_containers:
        s = latest.get(str(c.get("name")))
        if is_sidecar(c):
            if s is None:
                actions.append((InitAction.START, c))
                return actions
            if s.state == ContainerState.RUNNING:
                if not started(c, s):
                    actions.append((InitAction.WAIT, c))
                    return actions
                continue
            if s.state == ContainerState.EXITED:
                actions.append((InitAction.RESTART, c))
                return actions
            actions.append((InitAction.WAIT, c))
            return actions
        if s is None:
            actions.append((InitAction.START, c))
            return actions
        if s.state == ContainerState.EXITED:
            if s.exit_code == 0:
                continue
            actions.append((InitAction.FAILED if policy == "Never" else InitAction.RESTART, c))
            return actions
        if s.state == ContainerState.CREATED:
            actions.append((InitAction.START, c))
            return actions
        actions.append((InitAction.WAIT, c))
        return actions
    actions.append((InitAction.DONE, None))
    return actions


def incomplete(init_containers: Sequence[Mapping[str, Any]],
               latest: Mapping[str, ContainerStatus | None]) -> list[str]:
    """Names of init containers that have not completed (sidecars: not running)."""
    out = []
    for c in init_containers:
        s = latest.get(str(c.get("name")))
        if is_sidecar(c):
            if s is None or s.state != ContainerState.RUNNING:
                out.append(str(c.get("name")))
        elif s is None or s.state != ContainerState.EXITED or s.exit_code != 0:
            out.append(str(c.get("name")))
    return out
