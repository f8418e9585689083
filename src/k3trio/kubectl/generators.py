"""``kubectl create <kind> NAME ...``: build an object from flags, exactly the object kubectl
builds (same fields, same order, same empty ``spec``/``status`` stubs), then create it (or
print it with ``--dry-run=client -o ...``).

Builders are pure functions of (name, opts, args); only ``token`` talks to the server
differently (it POSTs a TokenRequest and prints the token).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import CommandError, UsageError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, OUTPUT_FLAGS, VALIDATE_FLAG, dry_run_mode, report, write_params

__all__ = ["generator_flags", "run_generator"]

_COMMON = OUTPUT_FLAGS + [
    DRY_RUN_FLAG, VALIDATE_FLAG,
    Flag("field-manager", "string", "kubectl-create", "Name of the manager used to track field ownership."),
    Flag("save-config", "bool", False, "If true, the configuration of current object will be saved in its annotation."),
]
_FROM = [
    Flag("append-hash", "bool", False, "Append a hash of the configmap to its name."),
    Flag("from-env-file", "slice", [], "Specify the path to a file to read lines of key=val pairs."),
    Flag("from-file", "slice", [], "Key file can be specified using its file path."),
    Flag("from-literal", "array", [], "Specify a key and literal value to insert (i.e. mykey=somevalue)"),
]
_SERVICE = [
    Flag("tcp", "slice", [], "Port pairs can be specified as '<port>:<targetPort>'."),
    Flag("clusterip", "string", "", "Assign your own ClusterIP or set to 'None' for a 'headless' service (no loadbalancing)."),
    Flag("node-port", "int", 0, "Port used to expose the service on each node in a cluster."),
    Flag("external-name", "string", "", "External name of service"),
]
_RBAC_SUBJECTS = [
    Flag("user", "array", [], "Usernames to bind to the role."),
    Flag("group", "array", [], "Groups to bind to the role."),
    Flag("serviceaccount", "array", [], "Service accounts to bind to the role, in the format <namespace>:<name>"),
]

FLAGS: dict[str, list[Flag]] = {
    "namespace": [],
    "serviceaccount": [],
    "deployment": [
        Flag("image", "array", [], "Image names to run."),
        Flag("port", "int", -1, "The containerPort that this deployment exposes."),
        Flag("replicas", "int", 1, "Number of replicas to create.", short="r"),
    ],
    "configmap": list(_FROM),
    "secret": list(_FROM) + [
        Flag("type", "string", "", "The type of secret to create"),
        Flag("docker-server", "string", "https://index.docker.io/v1/", "Server location for Docker registry"),
        Flag("docker-username", "string", "", "Username for Docker registry authentication"),
        Flag("docker-password", "string", "", "Password for Docker registry authentication"),
        Flag("docker-email", "string", "", "Email for Docker registry"),
        Flag("cert", "string", "", "Path to PEM encoded public key certificate."),
        Flag("key", "string", "", "Path to private key associated with given certificate."),
    ],
    "service": list(_SERVICE),
    "job": [
        Flag("image", "string", "", "Image name to run."),
        Flag("from", "string", "", "The name of the resource to create a Job from (only cronjob is supported)."),
    ],
    "cronjob": [
        Flag("image", "string", "", "Image name to run."),
        Flag("schedule", "string", "", "A schedule in the Cron format the job should be run with."),
        Flag("restart", "string", "", "job's restart policy. supported values: OnFailure, Never"),
    ],
    "role": [
        Flag("verb", "slice", [], "Verb that applies to the resources contained in the rule"),
        Flag("resource", "slice", [], "Resource that the rule applies to"),
        Flag("resource-name", "array", [], "Resource in the white list that the rule applies to"),
    ],
    "clusterrole": [
        Flag("verb", "slice", [], "Verb that applies to the resources contained in the rule"),
        Flag("resource", "slice", [], "Resource that the rule applies to"),
        Flag("resource-name", "array", [], "Resource in the white list that the rule applies to"),
        Flag("non-resource-url", "slice", [], "A partial url that user should have access to."),
        Flag("aggregation-rule", "string", "", "An aggregation label selector for combining ClusterRoles."),
    ],
    "rolebinding": [Flag("role", "string", "", "Role this RoleBinding should reference"),
                    Flag("clusterrole", "string", "", "ClusterRole this RoleBinding should reference")]
    + _RBAC_SUBJECTS,
    "clusterrolebinding": [Flag("clusterrole", "string", "", "ClusterRole this ClusterRoleBinding should reference")]
    + _RBAC_SUBJECTS,
    "quota": [Flag("hard", "string", "", "A comma-delimited set of resource=quantity pairs that define a hard limit."),
              Flag("scopes", "string", "", "A comma-delimited set of quota scopes that must all match each object tracked by the quota.")],
    "priorityclass": [Flag("value", "int", 0, "the value of this priority class."),
                      Flag("global-default", "bool", False, "global-default specifies whether this PriorityClass should be considered as the default priority."),
                      Flag("description", "string", "", "description is an arbitrary string that usually provides guidelines on when this priority class should be used."),
                      Flag("preemption-policy", "string", "PreemptLowerPriority", "preemption-policy is the policy for preempting pods with lower priority.")],
    "poddisruptionbudget": [Flag("min-available", "string", "", "The minimum number or percentage of available pods this budget requires."),
                            Flag("max-unavailable", "string", "", "The maximum number or percentage of unavailable pods this budget requires."),
                            Flag("selector", "string", "", "A label selector to use for this budget.")],
    "token": [
        Flag("audience", "array", [], "Audience of the requested token."),
        Flag("bound-object-kind", "string", "", "Kind of an object to bind the token to."),
        Flag("bound-object-name", "string", "", "Name of an object to bind the token to."),
        Flag("bound-object-uid", "string", "", "UID of an object to bind the token to."),
        Flag("duration", "duration", 0.0, "Requested lifetime of the issued token."),
        Flag("output", "string", "", "Output format.", short="o"),
    ],
}


def generator_flags(kind: str) -> list[Flag]:
    if kind == "token":
        return FLAGS["token"]
    return FLAGS.get(kind, []) + _COMMON


def _one_name(kind: str, args: list[str], label: str | None = None) -> str:
    if len(args) != 1:
        raise UsageError(f"exactly one NAME is required, got {len(args)}",
                         f"create {label or kind}")
    return args[0]


def _literal(source: str) -> tuple[str, str]:
    key, sep, value = source.partition("=")
    if not sep or not key:
        raise CommandError(f"error: invalid literal source {source}, expected key=value")
    return key, value


def _file_items(source: str) -> list[tuple[str, bytes]]:
    key, sep, path = source.partition("=")
    if not sep:
        path, key = source, ""
    p = Path(path)
    if not p.exists():
        raise CommandError(f"error: error reading {path}: no such file or directory")
    if p.is_dir():
        if key:
            raise CommandError("error: cannot give a key name for a directory path")
        return [(c.name, c.read_bytes()) for c in sorted(p.iterdir()) if c.is_file()]
    return [(key or p.name, p.read_bytes())]


def _env_file(path: str) -> list[tuple[str, str]]:
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"error: open {path}: no such file or directory") from exc
    for line in lines:
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            value = os.environ.get(key, "")
        out.append((key, value))
    return out


def _data_sources(opts: dict[str, Any], binary_ok: bool) -> tuple[dict[str, str], dict[str, str]]:
    if opts["from_env_file"] and (opts["from_file"] or opts["from_literal"]):
        raise CommandError("error: from-env-file cannot be combined with from-file or from-literal")
    data: dict[str, str] = {}
    binary: dict[str, str] = {}

    def put(key: str, value: str | bytes) -> None:
        if key in data or key in binary:
            raise CommandError(f"error: cannot add key {key}, another key by that name already "
                               "exists in Data for ConfigMap")
        if isinstance(value, bytes):
            try:
                data[key] = value.decode("utf-8")
            except UnicodeDecodeError:
                binary[key] = base64.b64encode(value).decode()
        else:
            data[key] = value

    for lit in opts["from_literal"]:
        put(*_literal(lit))
    for src in opts["from_file"]:
        for key, content in _file_items(src):
            put(key, content)
    for env in opts["from_env_file"]:
        for key, value in _env_file(env):
            put(key, value)
    return data, binary


def _namespace(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    return {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name}, "spec": {},
            "status": {}}


def _serviceaccount(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": name}}


def _deployment(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    images = opts["image"]
    if not images:
        raise CommandError('error: required flag(s) "image" not set')
    if len(images) > 1 and args:
        raise CommandError("error: cannot specify multiple --image options and command")
    containers = []
    for image in images:
        base = image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
        c: dict[str, Any] = {"name": base, "image": image}
        if args:
            c["command"] = list(args)
        if opts["port"] >= 0:
            c["ports"] = [{"containerPort": opts["port"]}]
        c["resources"] = {}
        containers.append(c)
    labels = {"app": name}
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": opts["replicas"], "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": containers}},
                     "strategy": {}},
            "status": {}}


def _configmap(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    data, binary = _data_sources(opts, True)
    obj: dict[str, Any] = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": name}}
    if data:
        obj["data"] = dict(sorted(data.items()))
    if binary:
        obj["binaryData"] = dict(sorted(binary.items()))
    return obj


def _secret(kind: str, name: str, opts: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": name}}
    if kind == "generic":
        data, binary = _data_sources(opts, False)
        merged = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        merged.update(binary)
        if merged:
            obj["data"] = dict(sorted(merged.items()))
        if opts["type"]:
            obj["type"] = opts["type"]
        return obj
    if kind == "docker-registry":
        if not opts["docker_username"] or not opts["docker_password"]:
            raise CommandError("error: either --from-file or the combination of "
                               "--docker-username, --docker-password and --docker-server is required")
        auth = base64.b64encode(f"{opts['docker_username']}:{opts['docker_password']}".encode()).decode()
        entry = {"username": opts["docker_username"], "password": opts["docker_password"]}
        if opts["docker_email"]:
            entry["email"] = opts["docker_email"]
        entry["auth"] = auth
        config = json.dumps({"auths": {opts["docker_server"]: entry}}, separators=(",", ":"))
        obj["data"] = {".dockerconfigjson": base64.b64encode(config.encode()).decode()}
        obj["type"] = "kubernetes.io/dockerconfigjson"
        return obj
    if kind == "tls":
        try:
            cert = Path(opts["cert"]).read_bytes()
            key = Path(opts["key"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"error: {exc}") from exc
        if b"-----BEGIN" not in cert:
            raise CommandError("error: tls: failed to find any PEM data in certificate input")
        obj["data"] = {"tls.crt": base64.b64encode(cert).decode(),
                       "tls.key": base64.b64encode(key).decode()}
        obj["type"] = "kubernetes.io/tls"
        return obj
    raise CommandError(f"error: unknown secret type {kind}")


def _service(kind: str, name: str, opts: dict[str, Any]) -> dict[str, Any]:
    types = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer",
             "externalname": "ExternalName"}
    if kind not in types:
        raise CommandError(f"error: unknown service type {kind}")
    ports = []
    for spec in opts["tcp"]:
        port, _, target = spec.partition(":")
        try:
            p = int(port)
            t: Any = int(target) if target else p
        except ValueError as exc:
            raise CommandError(f"error: invalid port: {spec}") from exc
        entry: dict[str, Any] = {"name": spec.replace(":", "-"), "protocol": "TCP", "port": p,
                                 "targetPort": t}
        if kind == "nodeport" and opts["node_port"]:
            entry["nodePort"] = opts["node_port"]
        ports.append(entry)
    spec_: dict[str, Any] = {}
    if ports:
        spec_["ports"] = ports
    spec_["selector"] = {"app": name}
    if opts["clusterip"]:
        spec_["clusterIP"] = opts["clusterip"]
    spec_["type"] = types[kind]
    if kind == "externalname":
        spec_["externalName"] = opts["external_name"]
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {"app": name}}, "spec": spec_,
            "status": {"loadBalancer": {}}}


def _pod_spec(name: str, image: str, args: list[str], restart: str) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image}
    if args:
        c["command"] = list(args)
    c["resources"] = {}
    return {"containers": [c], "restartPolicy": restart}


def _job(name: str, opts: dict[str, Any], args: list[str], f: Factory | None = None) -> dict[str, Any]:
    if opts["from"]:
        if f is None:
            raise CommandError("error: --from needs the server")
        kind, _, src = opts["from"].partition("/")
        if kind not in ("cronjob", "cronjobs", "cj", "cronjob.batch"):
            raise CommandError(f"error: from must be an existing cronjob: {kind}")
        cj = f.client.get(f"/apis/batch/v1/namespaces/{f.namespace}/cronjobs/{src}")
        tmpl = (cj.get("spec") or {}).get("jobTemplate") or {}
        annotations = {"cronjob.kubernetes.io/instantiate": "manual",
                       **((tmpl.get("metadata") or {}).get("annotations") or {})}
        meta: dict[str, Any] = {"name": name, "annotations": annotations}
        if (tmpl.get("metadata") or {}).get("labels"):
            meta["labels"] = tmpl["metadata"]["labels"]
        meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob",
                                    "name": cj["metadata"]["name"], "uid": cj["metadata"]["uid"],
                                    "controller": True}]
        return {"kind": "Job", "apiVersion": "batch/v1", "metadata": meta,
                "spec": tmpl.get("spec") or {}, "status": {}}
    if not opts["image"]:
        raise CommandError("error: either --image or --from must be specified")
    return {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"name": name},
            "spec": {"template": {"metadata": {}, "spec": _pod_spec(name, opts["image"], args, "Never")}},
            "status": {}}


def _cronjob(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    if not opts["image"]:
        raise CommandError('error: required flag(s) "image", "schedule" not set'
                           if not opts["schedule"] else 'error: required flag(s) "image" not set')
    if not opts["schedule"]:
        raise CommandError('error: required flag(s) "schedule" not set')
    restart = opts["restart"] or "OnFailure"
    return {"kind": "CronJob", "apiVersion": "batch/v1", "metadata": {"name": name},
            "spec": {"schedule": opts["schedule"],
                     "jobTemplate": {"metadata": {"name": name},
                                     "spec": {"template": {"metadata": {},
                                                           "spec": _pod_spec(name, opts["image"], args, restart)}}}},
            "status": {}}


def _rules(opts: dict[str, Any], cluster: bool) -> list[dict[str, Any]]:
    verbs = opts["verb"]
    if not verbs:
        raise CommandError("error: at least one verb must be specified")
    rules: list[dict[str, Any]] = []
    groups: dict[str, list[str]] = {}
    for r in opts["resource"]:
        resource, _, group = r.partition(".")
        groups.setdefault(group, []).append(resource)
    for group, resources in groups.items():
        rule: dict[str, Any] = {"verbs": list(verbs), "apiGroups": [group], "resources": resources}
        if opts["resource_name"]:
            rule["resourceNames"] = list(opts["resource_name"])
        rules.append(rule)
    if cluster and opts.get("non_resource_url"):
        rules.append({"verbs": list(verbs), "nonResourceURLs": list(opts["non_resource_url"])})
    if not rules:
        raise CommandError("error: at least one resource must be specified")
    return rules


def _subjects(opts: dict[str, Any], f: Factory | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for u in opts["user"]:
        out.append({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u})
    for g in opts["group"]:
        out.append({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g})
    for sa in opts["serviceaccount"]:
        ns, sep, name = sa.partition(":")
        if not sep or not name:
            raise CommandError(f"error: serviceaccount must be <namespace>:<name>")
        out.append({"kind": "ServiceAccount", "name": name, "namespace": ns})
    return out


def _role(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    return {"kind": "Role", "apiVersion": "rbac.authorization.k8s.io/v1",
            "metadata": {"name": name}, "rules": _rules(opts, False)}


def _clusterrole(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": "ClusterRole", "apiVersion": "rbac.authorization.k8s.io/v1",
                           "metadata": {"name": name}}
    if opts["aggregation_rule"]:
        sel = dict(p.split("=", 1) for p in opts["aggregation_rule"].split(","))
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": sel}]}
        return obj
    obj["rules"] = _rules(opts, True)
    return obj


def _rolebinding(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    if bool(opts["role"]) == bool(opts["clusterrole"]):
        raise CommandError("error: exactly one of clusterrole or role must be specified")
    kind = "Role" if opts["role"] else "ClusterRole"
    obj: dict[str, Any] = {"kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
                           "metadata": {"name": name}}
    subjects = _subjects(opts, None)
    if subjects:
        obj["subjects"] = subjects
    obj["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": kind,
                      "name": opts["role"] or opts["clusterrole"]}
    return obj


def _clusterrolebinding(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    if not opts["clusterrole"]:
        raise CommandError('error: required flag(s) "clusterrole" not set')
    obj: dict[str, Any] = {"kind": "ClusterRoleBinding",
                           "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": name}}
    subjects = _subjects(opts, None)
    if subjects:
        obj["subjects"] = subjects
    obj["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                      "name": opts["clusterrole"]}
    return obj


def _quota(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if opts["hard"]:
        spec["hard"] = dict(sorted(p.split("=", 1) for p in opts["hard"].split(",")))
    if opts["scopes"]:
        spec["scopes"] = opts["scopes"].split(",")
    return {"kind": "ResourceQuota", "apiVersion": "v1", "metadata": {"name": name},
            "spec": spec, "status": {}}


def _priorityclass(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": "PriorityClass", "apiVersion": "scheduling.k8s.io/v1",
                           "metadata": {"name": name}, "value": opts["value"]}
    if opts["global_default"]:
        obj["globalDefault"] = True
    obj["description"] = opts["description"]
    obj["preemptionPolicy"] = opts["preemption_policy"]
    return obj


def _pdb(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    def value(v: str) -> Any:
        return int(v) if v.isdigit() else v

    spec: dict[str, Any] = {}
    if opts["min_available"]:
        spec["minAvailable"] = value(opts["min_available"])
    if opts["max_unavailable"]:
        spec["maxUnavailable"] = value(opts["max_unavailable"])
    sel = dict(p.split("=", 1) for p in opts["selector"].split(",") if "=" in p)
    spec["selector"] = {"matchLabels": sel}
    return {"kind": "PodDisruptionBudget", "apiVersion": "policy/v1", "metadata": {"name": name},
            "spec": spec, "status": {"disruptionsAllowed": 0, "currentHealthy": 0,
                                     "desiredHealthy": 0, "expectedPods": 0}}


BUILDERS: dict[str, Callable[[str, dict[str, Any], list[str]], dict[str, Any]]] = {
    "namespace": _namespace, "serviceaccount": _serviceaccount, "deployment": _deployment,
    "configmap": _configmap, "cronjob": _cronjob, "role": _role, "clusterrole": _clusterrole,
    "rolebinding": _rolebinding, "clusterrolebinding": _clusterrolebinding, "quota": _quota,
    "priorityclass": _priorityclass, "poddisruptionbudget": _pdb,
}


def run_generator(f: Factory, kind: str, args: list[str], opts: dict[str, Any]) -> int:
    after = opts.get("__after__") or []
    if kind == "token":
        return _token(f, args, opts)
    if kind in ("secret", "service"):
        if not args:
            raise CommandError(f"error: exactly one of the {kind} types must be given")
        sub = args[0]
        name = _one_name(kind, args[1:], f"{kind} {sub}")
        obj = _secret(sub, name, opts) if kind == "secret" else _service(sub, name, opts)
    elif kind == "job":
        obj = _job(_one_name(kind, args), opts, after, f)
    elif kind in BUILDERS:
        obj = BUILDERS[kind](_one_name(kind, args), opts, after)
    else:
        raise CommandError(f"error: create {kind} is not supported by k3trio kubectl")
    if opts.get("save_config"):
        from .apply import with_last_applied

        obj = with_last_applied(obj)
    res = f.discovery.for_kind(obj["apiVersion"], obj["kind"])
    ns = f.namespace if res.namespaced else None
    if res.namespaced:
        from .mutate import enforce_namespace

        obj = enforce_namespace(f, obj)
    if dry_run_mode(opts) == "client":
        report(f, opts, res, obj, "created", typed=True)
        return 0
    created = f.client.json("POST", res.path(ns), params=write_params(opts, opts["field_manager"]),
                            body=obj)
    report(f, opts, res, created, "created")
    return 0


def _token(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    name = _one_name("token", args)
    spec: dict[str, Any] = {"audiences": list(opts["audience"]) or None}
    if opts["duration"]:
        spec["expirationSeconds"] = int(opts["duration"])
    if opts["bound_object_kind"]:
        spec["boundObjectRef"] = {"kind": opts["bound_object_kind"],
                                  "apiVersion": "v1" if opts["bound_object_kind"] in ("Pod", "Secret") else "",
                                  "name": opts["bound_object_name"],
                                  "uid": opts["bound_object_uid"] or None}
    spec = {k: v for k, v in spec.items() if v is not None}
    body = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": f.namespace}, "spec": spec}
    result = f.client.json("POST", f"/api/v1/namespaces/{f.namespace}/serviceaccounts/{name}/token",
                           body=body)
    if opts["output"]:
        from .printers.output import OutputFormat, render

        f.out.write(render(OutputFormat.parse(opts["output"]), [result], single=True))
    else:
        f.out.write(str((result.get("status") or {}).get("token", "")) + "\n")
    return 0
