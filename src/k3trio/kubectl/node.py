"""``kubectl cordon``, ``uncordon`` and ``drain``.

cordon/uncordon patch ``spec.unschedulable`` (``node/x cordoned``, ``already cordoned``,
``uncordoned``). drain cordons, then evicts (``pods/eviction``) or with
``--disable-eviction`` deletes every pod on the node except mirror pods and, with
``--ignore-daemonsets``, DaemonSet pods; pods without a controller need ``--force`` and
pods with emptyDir volumes ``--delete-emptydir-data``, as kubectl requires. It then waits
for the pods to be gone (``--timeout``).
"""

from __future__ import annotations

import time
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, dry_run_mode
from .rest import StatusError

SHORT = "Mark node as unschedulable"
USAGES = {"cordon": "kubectl cordon NODE", "uncordon": "kubectl uncordon NODE",
          "drain": "kubectl drain NODE"}


def command_flags(command: str, sub: str | None) -> list[Flag]:
    common = [DRY_RUN_FLAG, Flag("selector", "string", "", "Selector (label query) to filter on", short="l")]
    if command != "drain":
        return common
    return common + [
        Flag("chunk-size", "int", 500, "Return large lists in chunks rather than all at once."),
        Flag("delete-emptydir-data", "bool", False, "Continue even if there are pods using emptyDir."),
        Flag("disable-eviction", "bool", False, "Force drain to use delete, even if eviction is supported."),
        Flag("force", "bool", False, "Continue even if there are pods that do not declare a controller."),
        Flag("grace-period", "int", -1, "Period of time in seconds given to each pod to terminate gracefully."),
        Flag("ignore-daemonsets", "bool", False, "Ignore DaemonSet-managed pods."),
        Flag("pod-selector", "string", "", "Label selector to filter pods on the node"),
        Flag("skip-wait-for-delete-timeout", "int", 0, "If pod DeletionTimestamp older than N seconds, skip waiting for the pod."),
        Flag("timeout", "duration", 0.0, "The length of time to wait before giving up, zero means infinite"),
    ]


def _nodes(f: Factory, args: list[str], opts: dict[str, Any]) -> list[dict[str, Any]]:
    if opts["selector"]:
        return f.client.get("/api/v1/nodes", params={"labelSelector": opts["selector"]}).get("items") or []
    if not args:
        raise CommandError("error: USAGE: cordon NODE [flags]\nSee 'kubectl cordon -h' for help and examples")
    out = []
    for a in args:
        name = a.split("/", 1)[1] if a.startswith(("node/", "nodes/")) else a
        out.append(f.client.get(f"/api/v1/nodes/{name}"))
    return out


def _set_unschedulable(f: Factory, node: dict[str, Any], value: bool, opts: dict[str, Any]) -> str:
    name = node["metadata"]["name"]
    current = bool((node.get("spec") or {}).get("unschedulable"))
    verb = "cordoned" if value else "uncordoned"
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run_mode(opts), "")
    if current == value:
        return f"node/{name} already {verb}{suffix}\n"
    if dry_run_mode(opts) != "client":
        params = {"dryRun": "All"} if dry_run_mode(opts) == "server" else None
        f.client.json("PATCH", f"/api/v1/nodes/{name}", params=params,
                      body={"spec": {"unschedulable": True if value else None}},
                      content_type="application/strategic-merge-patch+json")
    return f"node/{name} {verb}{suffix}\n"


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    command = opts["__command__"]
    nodes = _nodes(f, args, opts)
    if command in ("cordon", "uncordon"):
        for n in nodes:
            f.out.write(_set_unschedulable(f, n, command == "cordon", opts))
        return 0
    code = 0
    for n in nodes:
        f.out.write(_set_unschedulable(f, n, True, opts))
        code |= _drain(f, n["metadata"]["name"], opts)
    return code


def _drain(f: Factory, node: str, opts: dict[str, Any]) -> int:
    params = {"fieldSelector": f"spec.nodeName={node}"}
    if opts["pod_selector"]:
        params["labelSelector"] = opts["pod_selector"]
    pods = f.client.get("/api/v1/pods", params=params).get("items") or []
    to_delete: list[dict[str, Any]] = []
    errors: list[str] = []
    ignored: list[str] = []
    for p in pods:
        meta = p.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
            continue
        phase = (p.get("status") or {}).get("phase")
        controller = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        if controller and controller.get("kind") == "DaemonSet" and phase not in ("Succeeded", "Failed"):
            if opts["ignore_daemonsets"]:
                ignored.append(key)
                continue
            errors.append(f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {key}")
            continue
        if controller is None and phase not in ("Succeeded", "Failed") and not opts["force"]:
            errors.append("cannot delete Pods that declare no controller (use --force to override): " + key)
            continue
        if any("emptyDir" in v for v in (p.get("spec") or {}).get("volumes") or []) \
                and not opts["delete_emptydir_data"]:
            errors.append(f"cannot delete Pods with local storage (use --delete-emptydir-data to override): {key}")
            continue
        to_delete.append(p)
    if errors:
        f.err.write(f"error: unable to drain node \"{node}\" due to error: cannot delete "
                    + ", ".join(errors) + ", continuing command...\n")
        f.err.write("There are pending nodes to be drained:\n " + node + "\n")
        return 1
    if ignored:
        f.err.write("Warning: ignoring DaemonSet-managed Pods: " + ", ".join(ignored) + "\n")
    for p in to_delete:
        meta = p["metadata"]
        ns, name = meta.get("namespace"), meta.get("name")
        f.out.write(f"evicting pod {ns}/{name}\n")
        if dry_run_mode(opts) == "client":
            continue
        grace = opts["grace_period"]
        options: dict[str, Any] = {}
        if grace >= 0:
            options["gracePeriodSeconds"] = grace
        if dry_run_mode(opts) == "server":
            options["dryRun"] = ["All"]
        if opts["disable_eviction"]:
            f.client.request("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}", body=options or None)
        else:
            body = {"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": name, "namespace": ns}}
            if options:
                body["deleteOptions"] = options
            try:
                f.client.json("POST", f"/api/v1/namespaces/{ns}/pods/{name}/eviction", body=body)
            except StatusError as exc:
                if exc.code != 404:
                    raise
    if dry_run_mode(opts) == "none":
        deadline = time.monotonic() + opts["timeout"] if opts["timeout"] else None
        for p in to_delete:
            meta = p["metadata"]
            while True:
                try:
                    live = f.client.get(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}")
                    if live["metadata"].get("uid") != meta.get("uid"):
                        break
                except StatusError as exc:
                    if exc.code == 404:
                        break
                    raise
                if deadline is not None and time.monotonic() > deadline:
                    raise CommandError(f"error: drain did not complete within {opts['timeout']:g}s")
                time.sleep(0.2)
            f.out.write(f"pod/{meta['name']} evicted\n")
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run_mode(opts), "")
    f.out.write(f"node/{node} drained{suffix}\n")
    return 0
