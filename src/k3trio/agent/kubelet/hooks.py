"""Container lifecycle hooks: ``postStart`` after a container starts, ``preStop`` before it
is stopped.

Handlers: ``exec`` (ExecSync in the container), ``httpGet`` (host defaults to the pod IP),
``sleep`` (seconds). A failed postStart kills the container (``FailedPostStartHook`` event;
it is then restarted per ``restartPolicy``); a failed preStop is reported
(``FailedPreStopHook``) and the stop goes on. preStop runs inside the termination grace
period: whatever it leaves of the period is what the runtime gives the process between
TERM and KILL (at least 2 s, upstream's minimum).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trio

from ..cri import RuntimeService
from .actions import Outcome, exec_action, http_get, resolve_port

__all__ = ["MIN_GRACE", "POST_START_TIMEOUT", "describe_failure", "run_hook"]

MIN_GRACE = 2
POST_START_TIMEOUT = 120.0


async def run_hook(runtime: RuntimeService, handler: Mapping[str, Any],
                   container: Mapping[str, Any], container_id: str, pod_ip: str,
                   timeout: float) -> Outcome:
    """Run one lifecycle handler, giving up after ``timeout`` seconds."""
    with trio.move_on_after(timeout):
        if handler.get("exec"):
            return await exec_action(runtime, container_id,
                                     handler["exec"].get("command") or [], timeout)
        if handler.get("httpGet"):
            h = handler["httpGet"]
            port = resolve_port(h.get("port"), container)
            if port is None:
                return Outcome(False, f"unable to resolve port {h.get('port')!r}")
            return await http_get(str(h.get("host") or pod_ip or "127.0.0.1"), port,
                                  str(h.get("path") or "/"), scheme=str(h.get("scheme") or "HTTP"),
                                  headers=h.get("httpHeaders") or [], timeout=timeout)
        if handler.get("sleep"):
            await trio.sleep(float(handler["sleep"].get("seconds") or 0))
            return Outcome(True)
        if handler.get("tcpSocket"):
            # Accepted by the API for compatibility, never run (as upstream).
            return Outcome(True)
        return Outcome(False, "invalid lifecycle handler: no action set")
    return Outcome(False, f"hook did not complete within {timeout:g}s")


def describe_failure(handler: Mapping[str, Any], container: str, pod: Mapping[str, Any],
                     outcome: Outcome) -> str:
    """The event message upstream writes for a failed hook."""
    meta = pod.get("metadata") or {}
    who = f'for Container "{container}" in Pod "{meta.get("name")}_{meta.get("namespace")}' \
          f'({meta.get("uid")})"'
    if handler.get("exec"):
        cmd = " ".join(str(a) for a in handler["exec"].get("command") or [])
        return f"Exec lifecycle hook ([{cmd}]) {who} failed - error: {outcome.message}"
    if handler.get("httpGet"):
        path = handler["httpGet"].get("path") or "/"
        return f"HTTP lifecycle hook ({path}) {who} failed - error: {outcome.message}"
    return f"Lifecycle hook {who} failed - error: {outcome.message}"
