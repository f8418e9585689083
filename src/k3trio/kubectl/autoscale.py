"""``kubectl autoscale TYPE NAME --max=N [--min=N] [--cpu=...|--cpu-percent=N]``: an
``autoscaling/v2`` HorizontalPodAutoscaler targeting the object."""

from __future__ import annotations

from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, OUTPUT_FLAGS, dry_run_mode, report, write_params

SHORT = "Auto-scale a deployment, replica set, stateful set, or replication controller"
USAGE = "kubectl autoscale (-f FILENAME | TYPE NAME | TYPE/NAME) [--min=MINPODS] --max=MAXPODS [--cpu=CPU] [--memory=MEMORY]"
FLAGS = OUTPUT_FLAGS + [
    DRY_RUN_FLAG,
    Flag("cpu", "string", "", "Target CPU utilization over all the pods (e.g. '70%' or '500m')."),
    Flag("cpu-percent", "int", -1, "The target average CPU utilization (represented as a percent of requested CPU) over all the pods.", hidden=True),
    Flag("field-manager", "string", "kubectl-autoscale", "Name of the manager used to track field ownership."),
    Flag("max", "int", -1, "The upper limit for the number of pods that can be set by the autoscaler. Required."),
    Flag("memory", "string", "", "Target memory utilization over all the pods."),
    Flag("min", "int", -1, "The lower limit for the number of pods that can be set by the autoscaler."),
    Flag("name", "string", "", "The name for the newly created object."),
]


def _metric(name: str, value: str) -> dict[str, Any]:
    if value.endswith("%"):
        target: dict[str, Any] = {"type": "Utilization", "averageUtilization": int(value[:-1])}
    else:
        target = {"type": "AverageValue", "averageValue": value}
    return {"type": "Resource", "resource": {"name": name, "target": target}}


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from .resources import parse_targets

    if opts["max"] < 1:
        raise CommandError("error: --max=MAXPODS is required and must be at least 1, "
                           f"max: {opts['max']}")
    if opts["cpu_percent"] >= 0:
        f.err.write("Flag --cpu-percent has been deprecated, Use --cpu with percentage or "
                    "resource quantity format (e.g., '70%' for utilization or '500m' for "
                    "milliCPU).\n")
    targets, _ = parse_targets(f.discovery, args, command="autoscale")
    if not targets or not targets[0].names:
        raise CommandError("error: You must provide one or more resources by argument or filename.")
    res_hpa = f.discovery.resolve("horizontalpodautoscalers")
    for t in targets:
        for name in t.names:
            f.client.get(t.resource.path(f.namespace, name))
            spec: dict[str, Any] = {"scaleTargetRef": {"kind": t.resource.kind, "name": name,
                                                       "apiVersion": t.resource.api_version}}
            if opts["min"] >= 0:
                spec["minReplicas"] = opts["min"]
            spec["maxReplicas"] = opts["max"]
            metrics = []
            if opts["cpu"]:
                metrics.append(_metric("cpu", opts["cpu"]))
            elif opts["cpu_percent"] >= 0:
                metrics.append(_metric("cpu", f"{opts['cpu_percent']}%"))
            if opts["memory"]:
                metrics.append(_metric("memory", opts["memory"]))
            if metrics:
                spec["metrics"] = metrics
            hpa = {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
                   "metadata": {"name": opts["name"] or name}, "spec": spec,
                   "status": {"desiredReplicas": 0, "currentMetrics": None}}
            from .mutate import enforce_namespace

            hpa = enforce_namespace(f, hpa)
            if dry_run_mode(opts) == "client":
                report(f, opts, res_hpa, hpa, "autoscaled", typed=True)
                continue
            created = f.client.json("POST", res_hpa.path(f.namespace),
                                    params=write_params(opts, opts["field_manager"], validate=False),
                                    body=hpa)
            report(f, opts, res_hpa, created, "autoscaled")
    return 0
