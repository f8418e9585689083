"""``kubectl rollout status|history|undo|restart|pause|resume`` for deployments, daemon sets
and stateful sets.

``status`` evaluates kubectl's status viewers (``rollout_status``) each time the object
changes (polling GET) and prints each new message until the rollout is done, or once with
``--watch=false``. ``restart`` stamps ``kubectl.kubernetes.io/restartedAt`` into the pod
template; ``undo`` copies the template of the wanted revision's ReplicaSet (or
ControllerRevision) back; ``pause``/``resume`` flip ``spec.paused``.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, FILE_FLAGS, OUTPUT_FLAGS, dry_run_mode, report

SHORT = "Manage the rollout of a resource"
USAGE = "kubectl rollout SUBCOMMAND"
SUBCOMMANDS = {
    "history": "View rollout history",
    "pause": "Mark the provided resource as paused",
    "restart": "Restart a resource",
    "resume": "Resume a paused resource",
    "status": "Show the status of the rollout",
    "undo": "Undo a previous rollout",
}
_COMMON = FILE_FLAGS + [Flag("selector", "string", "", "Selector (label query) to filter on.", short="l")]


def flags(sub: str | None) -> list[Flag]:
    if sub == "status":
        return _COMMON + [
            Flag("revision", "int", 0, "Pin to a specific revision for showing its status."),
            Flag("timeout", "duration", 0.0, "The length of time to wait before ending watch."),
            Flag("watch", "bool", True, "Watch the status of the rollout until it's done.", short="w"),
        ]
    if sub == "history":
        return _COMMON + OUTPUT_FLAGS + [Flag("revision", "int", 0, "See the details, including podTemplate of the revision specified")]
    if sub == "undo":
        return _COMMON + OUTPUT_FLAGS + [DRY_RUN_FLAG, Flag("to-revision", "int", 0, "The revision to rollback to.")]
    return _COMMON + OUTPUT_FLAGS + [DRY_RUN_FLAG, Flag("field-manager", "string", "kubectl-rollout", "Name of the manager used to track field ownership.")]


_KINDS = {("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "StatefulSet")}


def _objects(f: Factory, args: list[str], opts: dict[str, Any], verb: str) -> list[tuple[Any, dict[str, Any]]]:
    from .resources import load_manifests, parse_targets

    out = []
    if opts["filename"]:
        from .mutate import place

        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            w = place(f, m.obj, m.source)
            out.append((w.resource, f.client.get(w.path())))
    else:
        if not args:
            raise CommandError("error: required resource not specified")
        targets, _ = parse_targets(f.discovery, args, command=f"rollout {verb}")
        for t in targets:
            ns = f.namespace if t.resource.namespaced else None
            if t.names:
                out.extend((t.resource, f.client.get(t.resource.path(ns, n))) for n in t.names)
            else:
                params = {"labelSelector": opts["selector"] or None}
                out.extend((t.resource, {"apiVersion": t.resource.api_version,
                                         "kind": t.resource.kind, **i})
                           for i in f.client.get(t.resource.path(ns), params=params).get("items") or [])
    for res, obj in out:
        if (res.group, res.kind) not in _KINDS:
            if verb in ("pause", "resume", "restart"):
                raise CommandError(f"error: {res.kind_prefix}/{obj['metadata']['name']} "
                                   f"{'pausing' if verb == 'pause' else 'resuming' if verb == 'resume' else 'restarting'}"
                                   f" is not supported")
            raise CommandError(f"error: no status viewer has been implemented for {res.kind}"
                               if verb == "status" else
                               f'error: error retrieving history for "{res.kind}", no visitor '
                               f"method exists for {{{res.group} {res.kind}}}"
                               if verb == "history" else f"error: no rollbacker has been implemented for {res.kind}")
    return out


def run(f: Factory, sub: str | None, args: list[str], opts: dict[str, Any]) -> int:
    if sub is None:
        raise CommandError("error: rollout needs a subcommand: history, pause, restart, resume, "
                           "status or undo")
    objs = _objects(f, args, opts, sub)
    for res, obj in objs:
        {"status": _status, "history": _history, "undo": _undo, "restart": _restart,
         "pause": _pause, "resume": _resume}[sub](f, res, obj, opts)
    return 0


def _patch(f: Factory, res: Any, obj: dict[str, Any], body: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    params = {"fieldManager": opts.get("field_manager") or "kubectl-rollout"}
    if dry_run_mode(opts) == "server":
        params["dryRun"] = "All"
    if dry_run_mode(opts) == "client":
        return obj
    result: dict[str, Any] = f.client.json(
        "PATCH", res.path(meta.get("namespace"), meta["name"]), params=params, body=body,
        content_type="application/strategic-merge-patch+json")
    return result


def _restart(f: Factory, res: Any, obj: dict[str, Any], opts: dict[str, Any]) -> None:
    if (obj.get("spec") or {}).get("paused"):
        raise CommandError(f"error: can't restart paused deployment (run rollout resume first)")
    now = dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")
    body = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now}}}}}
    report(f, opts, res, _patch(f, res, obj, body, opts), "restarted")


def _pause(f: Factory, res: Any, obj: dict[str, Any], opts: dict[str, Any]) -> None:
    if res.kind != "Deployment":
        raise CommandError(f"error: {res.kind_prefix}/{obj['metadata']['name']} pausing is not supported")
    if (obj.get("spec") or {}).get("paused"):
        raise CommandError(f'error: {res.group_resource} "{obj["metadata"]["name"]}" is already paused')
    report(f, opts, res, _patch(f, res, obj, {"spec": {"paused": True}}, opts), "paused")


def _resume(f: Factory, res: Any, obj: dict[str, Any], opts: dict[str, Any]) -> None:
    if res.kind != "Deployment":
        raise CommandError(f"error: {res.kind_prefix}/{obj['metadata']['name']} resuming is not supported")
    if not (obj.get("spec") or {}).get("paused"):
        raise CommandError(f'error: {res.group_resource} "{obj["metadata"]["name"]}" is not paused')
    report(f, opts, res, _patch(f, res, obj, {"spec": {"paused": None}}, opts), "resumed")


def _owned(f: Factory, obj: dict[str, Any], resource: str) -> list[dict[str, Any]]:
    meta = obj["metadata"]
    path = f"/apis/apps/v1/namespaces/{meta.get('namespace')}/{resource}"
    return [i for i in f.client.get(path).get("items") or []
            if any(r.get("uid") == meta.get("uid") for r in
                   (i.get("metadata") or {}).get("ownerReferences") or [])]


def _revisions(f: Factory, res: Any, obj: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """revision -> {"template": ..., "cause": ...}."""
    out: dict[int, dict[str, Any]] = {}
    if res.kind == "Deployment":
        for rs in _owned(f, obj, "replicasets"):
            ann = (rs.get("metadata") or {}).get("annotations") or {}
            try:
                rev = int(ann.get("deployment.kubernetes.io/revision", ""))
            except ValueError:
                continue
            out[rev] = {"template": (rs.get("spec") or {}).get("template") or {},
                        "cause": ann.get("kubernetes.io/change-cause")}
    else:
        for cr in _owned(f, obj, "controllerrevisions"):
            ann = (cr.get("metadata") or {}).get("annotations") or {}
            data = cr.get("data") or {}
            out[int(cr.get("revision", 0))] = {
                "template": (data.get("spec") or {}).get("template") or {},
                "cause": ann.get("kubernetes.io/change-cause")}
    return out


def _history(f: Factory, res: Any, obj: dict[str, Any], opts: dict[str, Any]) -> None:
    revs = _revisions(f, res, obj)
    name = f"{res.kind_prefix}/{obj['metadata']['name']}"
    if opts["revision"]:
        rev = revs.get(opts["revision"])
        if rev is None:
            raise CommandError(f"error: unable to find the specified revision")
        f.out.write(f"{name} with revision #{opts['revision']}\n")
        from .describe.common import pod_template
        from .describe.writer import Writer

        w = Writer()
        pod_template(w, rev["template"])
        f.out.write(w.render())
        return
    f.out.write(f"{name} \n")
    if not revs:
        f.out.write("No rollout history found.\n")
        return
    from .printers.tabwriter import format_rows

    rows = [["REVISION", "CHANGE-CAUSE"]] + [[str(r), revs[r]["cause"] or "<none>"]
                                           for r in sorted(revs)]
    f.out.write(format_rows(rows, minwidth=0, padding=2) + "\n")


def _undo(f: Factory, res: Any, obj: dict[str, Any], opts: dict[str, Any]) -> None:
    revs = _revisions(f, res, obj)
    name = obj["metadata"]["name"]
    if "kubectl.kubernetes.io/last-applied-configuration" in (obj["metadata"].get("annotations") or {}):
        f.err.write(f"Warning: resource {res.resource}/{name} was previously managed with "
                    "'kubectl apply'. Rolling back will not update the "
                    "kubectl.kubernetes.io/last-applied-configuration annotation, which may cause "
                    "unexpected behavior on future 'kubectl apply' operations. Consider using "
                    "'kubectl apply' with your previous configuration file instead.\n")
    if not revs:
        raise CommandError(f'error: no rollout history found for {res.kind.lower()} "{name}"')
    current = max(revs)
    target = opts["to_revision"] or (max((r for r in revs if r != current), default=0))
    if target not in revs:
        if opts["to_revision"]:
            raise CommandError(f"error: unable to find specified revision {target} in history")
        raise CommandError(f'error: no rollout history found for {res.kind.lower()} "{name}"')
    template = dict(revs[target]["template"])
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "pod-template-hash"}
    meta["labels"] = labels
    template["metadata"] = meta
    if target == current:
        report(f, opts, res, obj, "skipped rollback (current template already matches revision "
               f"{target})")
        return
    body = {"spec": {"template": template}}
    params = {"dryRun": "All"} if dry_run_mode(opts) == "server" else None
    result = obj if dry_run_mode(opts) == "client" else f.client.json(
        "PATCH", res.path(obj["metadata"].get("namespace"), name), params=params, body=body,
        content_type="application/strategic-merge-patch+json")
    report(f, opts, res, result, "rolled back")


def rollout_status(obj: dict[str, Any]) -> tuple[str, bool]:
    """kubectl's status viewer: (message, done).

    Raises:
        CommandError: a deployment exceeded its progress deadline.
    """
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    name = meta.get("name")
    generation = meta.get("generation", 0)
    observed = status.get("observedGeneration", 0)
    if kind == "Deployment":
        if generation <= observed:
            for c in status.get("conditions") or []:
                if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
                    raise CommandError(f'error: deployment "{name}" exceeded its progress deadline')
            replicas = spec.get("replicas", 1)
            updated = status.get("updatedReplicas", 0)
            if updated < replicas:
                return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of '
                        f"{replicas} new replicas have been updated...\n", False)
            if status.get("replicas", 0) > updated:
                return (f'Waiting for deployment "{name}" rollout to finish: '
                        f"{status.get('replicas', 0) - updated} old replicas are pending "
                        "termination...\n", False)
            available = status.get("availableReplicas", 0)
            if available < updated:
                return (f'Waiting for deployment "{name}" rollout to finish: {available} of '
                        f"{updated} updated replicas are available...\n", False)
            return f'deployment "{name}" successfully rolled out\n', True
        return "Waiting for deployment spec update to be observed...\n", False
    if kind == "DaemonSet":
        if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
            return "", True
        if generation <= observed:
            desired = status.get("desiredNumberScheduled", 0)
            updated = status.get("updatedNumberScheduled", 0)
            if updated < desired:
                return (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of '
                        f"{desired} new pods have been updated...\n", False)
            available = status.get("numberAvailable", 0)
            if available < desired:
                return (f'Waiting for daemon set "{name}" rollout to finish: {available} of '
                        f"{desired} updated pods are available...\n", False)
            return f'daemon set "{name}" successfully rolled out\n', True
        return "Waiting for daemon set spec update to be observed...\n", False
    if kind == "StatefulSet":
        if observed == 0 or generation > observed:
            return "Waiting for statefulset spec update to be observed...\n", False
        replicas = spec.get("replicas", 1)
        ready = status.get("readyReplicas", 0)
        if ready < replicas:
            return (f"Waiting for {replicas - ready} pods to be ready...\n", False)
        if status.get("updateRevision") != status.get("currentRevision"):
            return (f"waiting for statefulset rolling update to complete "
                    f"{status.get('updatedReplicas', 0)} pods at revision "
                    f"{status.get('updateRevision')}...\n", False)
        return (f"statefulset rolling update complete {status.get('currentReplicas', 0)} pods "
                f"at revision {status.get('currentRevision')}...\n", True)
    raise CommandError(f"error: no status viewer has been implemented for {kind}")


def _status(f: Factory, res: Any, obj: dict[str, Any], opts: dict[str, Any]) -> None:
    meta = obj["metadata"]
    obj = {"apiVersion": res.api_version, "kind": res.kind, **obj}
    deadline = time.monotonic() + opts["timeout"] if opts["timeout"] else None
    last = ""
    while True:
        message, done = rollout_status(obj)
        if message != last:
            f.out.write(message)
            f.out.flush()
            last = message
        if done or not opts["watch"]:
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise CommandError("error: timed out waiting for the condition")
        time.sleep(0.5)
        obj = {"apiVersion": res.api_version, "kind": res.kind,
               **f.client.get(res.path(meta.get("namespace"), meta["name"]))}
