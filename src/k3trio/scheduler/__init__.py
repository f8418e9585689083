"""k3trio.scheduler: kube-scheduler's default profile (v1.36) as pure decisions plus a thin loop.

Pure, I/O-free (plain API dicts in, results out):

- :mod:`.nodeinfo` — ``Snapshot`` / ``NodeInfo`` / ``PodInfo``, ``pod_requests``;
- :mod:`.filters`, :mod:`.interpodaffinity`, :mod:`.topologyspread` — filter plugins, reasons in
  :mod:`.status`; :mod:`.pipeline` runs them in upstream order;
- :mod:`.scores` (+ the score halves of the two modules above) — score plugins, 0..100;
- :mod:`.preemption` — DefaultPreemption;
- :mod:`.framework` — ``Scheduler.schedule_one``, ``fit_error_message``, ``select_host``,
  ``binding_for``;
- :mod:`.queue` — the Trio scheduling queue; :mod:`.cache` — nodes and pods from informers.

I/O: :mod:`.service` — ``SchedulerService`` / ``run_scheduler(client)``.
"""

from .cache import SchedulerCache
from .framework import (
    ScheduleResult,
    Scheduler,
    binding_for,
    fit_error_message,
    num_feasible_nodes_to_find,
    select_host,
    unschedulable_condition,
)
from .nodeinfo import NodeInfo, PodInfo, Snapshot, pod_requests
from .queue import QueuedPodInfo, SchedulingQueue
from .status import Status

__all__ = [
    "NodeInfo",
    "PodInfo",
    "QueuedPodInfo",
    "ScheduleResult",
    "Scheduler",
    "SchedulerCache",
    "SchedulingQueue",
    "Snapshot",
    "Status",
    "binding_for",
    "fit_error_message",
    "num_feasible_nodes_to_find",
    "pod_requests",
    "select_host",
    "unschedulable_condition",
]
