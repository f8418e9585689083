"""``kubectl expose TYPE NAME --port=...``: a Service selecting what the object selects
(deployment/replicaset/replicationcontroller selectors, a pod's labels, a service's
selector), with ports defaulting to the object's container ports."""

from __future__ import annotations

from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, OUTPUT_FLAGS, dry_run_mode, report, write_params

SHORT = "Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service"
USAGE = "kubectl expose (-f FILENAME | TYPE NAME) [--port=port] [--protocol=TCP|UDP|SCTP] [--target-port=number-or-name] [--name=name] [--external-ip=external-ip-of-service] [--type=type]"
FLAGS = OUTPUT_FLAGS + [
    DRY_RUN_FLAG,
    Flag("cluster-ip", "string", "", "ClusterIP to be assigned to the service."),
    Flag("external-ip", "string", "", "Additional external IP address."),
    Flag("field-manager", "string", "kubectl-expose", "Name of the manager used to track field ownership."),
    Flag("labels", "string", "", "Labels to apply to the service created by this call.", short="l"),
    Flag("load-balancer-ip", "string", "", "IP to assign to the LoadBalancer."),
    Flag("name", "string", "", "The name for the newly created object."),
    Flag("port", "string", "", "The port that the service should serve on."),
    Flag("protocol", "string", "", "The network protocol for the service to be created."),
    Flag("selector", "string", "", "A label selector to use for this service."),
    Flag("session-affinity", "string", "", "If non-empty, set the session affinity for the service to this; legal values: 'None', 'ClientIP'"),
    Flag("target-port", "string", "", "Name or number for the port on the container that the service should direct traffic to."),
    Flag("type", "string", "", "Type for this service: ClusterIP, NodePort, LoadBalancer, or ExternalName."),
    Flag("validate", "string", "strict", "", no_opt="strict"),
]


def _selector(obj: dict[str, Any]) -> dict[str, str] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return dict((obj.get("metadata") or {}).get("labels") or {}) or None
    if kind == "Service" or kind == "ReplicationController":
        return dict(spec.get("selector") or {}) or None
    sel = spec.get("selector") or {}
    if sel.get("matchExpressions"):
        raise CommandError("error: couldn't retrieve selectors via --selector flag or introspection: "
                           "the selector has match expressions")
    return dict(sel.get("matchLabels") or {}) or None


def _ports(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Service":
        return [{"port": p.get("port"), "protocol": p.get("protocol", "TCP")} for p in spec.get("ports") or []]
    pod_spec = spec if obj.get("kind") == "Pod" else (spec.get("template") or {}).get("spec") or {}
    return [{"port": p.get("containerPort"), "protocol": p.get("protocol", "TCP")}
            for c in pod_spec.get("containers") or [] for p in c.get("ports") or []]


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from .resources import parse_targets

    targets, _ = parse_targets(f.discovery, args, command="expose")
    if not targets or not targets[0].names:
        raise CommandError("error: You must provide one or more resources by argument or filename.")
    t = targets[0]
    obj = {"kind": t.resource.kind, **f.client.get(t.resource.path(f.namespace, t.names[0]))}
    if t.resource.kind not in ("Pod", "Service", "ReplicationController", "Deployment", "ReplicaSet"):
        raise CommandError(f"error: cannot expose a {t.resource.kind}")
    selector = dict(p.split("=", 1) for p in opts["selector"].split(",")) if opts["selector"] \
        else _selector(obj)
    if not selector:
        raise CommandError(f"error: couldn't retrieve selectors via --selector flag or introspection: "
                           f"the {t.resource.kind} has no selectors")
    name = opts["name"] or obj["metadata"]["name"]
    if opts["port"]:
        ports = [{"port": int(p), "protocol": opts["protocol"] or "TCP"} for p in opts["port"].split(",")]
    else:
        ports = _ports(obj)
        if not ports:
            raise CommandError(f"error: couldn't find port via --port flag or introspection\n"
                               f"See 'kubectl expose -h' for help and examples")
    multi = len(ports) > 1
    svc_ports = []
    for i, p in enumerate(ports):
        entry: dict[str, Any] = {}
        if multi:
            entry["name"] = f"port-{i + 1}"
        entry["protocol"] = opts["protocol"] or p.get("protocol") or "TCP"
        entry["port"] = p["port"]
        tp = opts["target_port"]
        entry["targetPort"] = (int(tp) if tp.isdigit() else tp) if tp else p["port"]
        svc_ports.append(entry)
    labels = dict(p.split("=", 1) for p in opts["labels"].split(",")) if opts["labels"] \
        else dict((obj.get("metadata") or {}).get("labels") or {})
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    spec: dict[str, Any] = {"ports": svc_ports, "selector": selector}
    if opts["cluster_ip"]:
        spec["clusterIP"] = opts["cluster_ip"]
    if opts["type"]:
        spec["type"] = opts["type"]
    if opts["external_ip"]:
        spec["externalIPs"] = [opts["external_ip"]]
    if opts["session_affinity"]:
        spec["sessionAffinity"] = opts["session_affinity"]
    if opts["load_balancer_ip"]:
        spec["loadBalancerIP"] = opts["load_balancer_ip"]
    svc = {"kind": "Service", "apiVersion": "v1", "metadata": meta, "spec": spec,
           "status": {"loadBalancer": {}}}
    res = f.discovery.resolve("services")
    from .mutate import enforce_namespace

    svc = enforce_namespace(f, svc)
    if dry_run_mode(opts) == "client":
        report(f, opts, res, svc, "exposed", typed=True)
        return 0
    created = f.client.json("POST", res.path(f.namespace),
                            params=write_params(opts, opts["field_manager"]), body=svc)
    report(f, opts, res, created, "exposed")
    return 0
