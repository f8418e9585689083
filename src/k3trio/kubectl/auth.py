"""``kubectl auth can-i`` (SelfSubjectAccessReview, ``--list`` via SelfSubjectRulesReview)
and ``kubectl auth whoami`` (SelfSubjectReview)."""

from __future__ import annotations

from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag

SHORT = "Inspect authorization"
SUBCOMMANDS = {"can-i": "Check whether an action is allowed",
               "reconcile": "Reconciles rules for RBAC role, role binding, cluster role, and cluster role binding objects",
               "whoami": "Experimental: Check self subject attributes"}


def flags(sub: str | None) -> list[Flag]:
    if sub == "can-i":
        return [Flag("all-namespaces", "bool", False, "If true, check the specified action in all namespaces.", short="A"),
                Flag("list", "bool", False, "If true, prints all allowed actions."),
                Flag("no-headers", "bool", False, "If true, prints allowed actions without headers"),
                Flag("quiet", "bool", False, "If true, suppress output and just return the exit code.", short="q"),
                Flag("subresource", "string", "", "SubResource such as pod/log or deployment/scale")]
    if sub == "whoami":
        return [Flag("output", "string", "", "Output format.", short="o")]
    return []


def run(f: Factory, sub: str | None, args: list[str], opts: dict[str, Any]) -> int:
    if sub == "whoami":
        return _whoami(f, opts)
    if sub == "can-i":
        return _can_i(f, args, opts)
    raise CommandError(f"error: auth {sub or ''} is not supported by k3trio kubectl".replace("  ", " "))


def _whoami(f: Factory, opts: dict[str, Any]) -> int:
    body = {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {}, "status": {}}
    result = f.client.json("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=body)
    out = opts.get("output") or ""
    if out:
        from .printers.output import OutputFormat, render

        f.out.write(render(OutputFormat.parse(out), [result], single=True, typed=True))
        return 0
    info = (result.get("status") or {}).get("userInfo") or {}
    rows = [["ATTRIBUTE", "VALUE"], ["Username", info.get("username", "")]]
    if info.get("uid"):
        rows.append(["UID", info["uid"]])
    if info.get("groups"):
        rows.append(["Groups", "[" + " ".join(info["groups"]) + "]"])
    for k, v in sorted((info.get("extra") or {}).items()):
        rows.append([f"Extra: {k}", "[" + " ".join(v) + "]"])
    from .printers.tabwriter import format_rows

    f.out.write(format_rows(rows))
    return 0


def _can_i(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    ns = "" if opts["all_namespaces"] else f.namespace
    if opts["list"]:
        return _list(f, ns, opts)
    if len(args) < 2:
        raise CommandError("error: you must specify two arguments: verb resource or verb "
                           "resource/resourceName.\nSee 'kubectl auth can-i -h' for help and examples")
    verb, target = args[0], args[1]
    attrs: dict[str, Any]
    if target.startswith("/"):
        attrs = {"nonResourceAttributes": {"path": target, "verb": verb}}
    else:
        resource, _, name = target.partition("/")
        group = ""
        if resource != "*":
            from .discovery import UnknownResource

            try:
                res = f.discovery.resolve(resource)
                group, resource = res.group, res.resource
                if not res.namespaced:
                    ns = ""
            except UnknownResource:
                if "." in resource:
                    resource, _, group = resource.partition(".")
                f.err.write(f"Warning: the server doesn't have a resource type '{resource}'\n\n")
        else:
            group = "*"
        ra: dict[str, Any] = {"namespace": ns, "verb": verb, "group": group, "resource": resource}
        if opts["subresource"]:
            ra["subresource"] = opts["subresource"]
        if name:
            ra["name"] = name
        attrs = {"resourceAttributes": ra}
    body = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {}, "spec": attrs}
    result = f.client.json("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body)
    status = result.get("status") or {}
    allowed = bool(status.get("allowed"))
    if not opts["quiet"]:
        if allowed:
            f.out.write("yes\n")
        else:
            reason = status.get("reason") or ""
            f.out.write("no" + (f" - {reason}" if reason else "") + "\n")
    return 0 if allowed else 1


def _list(f: Factory, ns: str, opts: dict[str, Any]) -> int:
    body = {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {}, "spec": {"namespace": ns or "default"}}
    result = f.client.json("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", body=body)
    status = result.get("status") or {}
    rows = [] if opts["no_headers"] else [["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]]

    def fmt(values: list[str] | None) -> str:
        return "[" + " ".join(values or []) + "]"

    for r in status.get("resourceRules") or []:
        for group in r.get("apiGroups") or [""]:
            for res in r.get("resources") or []:
                name = f"{res}.{group}" if group else res
                rows.append([name, "[]", fmt(r.get("resourceNames")), fmt(r.get("verbs"))])
    for r in status.get("nonResourceRules") or []:
        rows.append(["", fmt(r.get("nonResourceURLs")), "[]", fmt(r.get("verbs"))])
    from .printers.tabwriter import format_rows

    f.out.write(format_rows(rows))
    return 0
