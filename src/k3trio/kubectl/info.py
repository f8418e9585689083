"""``version``, ``api-resources``, ``api-versions`` and ``cluster-info``."""

from __future__ import annotations

import platform
import sys
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag

SHORT = "Print the client and server version information"

_FLAGS: dict[str, list[Flag]] = {
    "version": [
        Flag("client", "bool", False, "If true, shows client version only (no server required)."),
        Flag("output", "string", "", "One of 'yaml' or 'json'.", short="o"),
    ],
    "api-resources": [
        Flag("api-group", "string", "", "Limit to resources in the specified API group."),
        Flag("cached", "bool", False, "Use the cached list of resources if available."),
        Flag("categories", "slice", [], "Limit to resources that belong to the specified categories."),
        Flag("namespaced", "bool", True, "If false, non-namespaced resources will be returned, otherwise returning namespaced resources by default."),
        Flag("no-headers", "bool", False, "When using the default or custom-column output format, don't print headers (default print headers)."),
        Flag("output", "string", "", "Output format. One of: (wide, name).", short="o"),
        Flag("sort-by", "string", "", "If non-empty, sort list of resources using specified field. One of (name, kind)."),
        Flag("verbs", "slice", [], "Limit to resources that support the specified verbs."),
    ],
    "api-versions": [],
    "cluster-info": [],
}

USAGES = {
    "version": "kubectl version [flags]",
    "api-resources": "kubectl api-resources [flags]",
    "api-versions": "kubectl api-versions",
    "cluster-info": "kubectl cluster-info [flags]",
}


def command_flags(command: str, sub: str | None) -> list[Flag]:
    return _FLAGS.get(command, [])


def _machine() -> str:
    m = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(m, m)


def client_version() -> dict[str, str]:
    from .. import version

    return {
        "major": version.KUBERNETES_MAJOR,
        "minor": version.KUBERNETES_MINOR,
        "gitVersion": version.GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "python" + ".".join(map(str, sys.version_info[:3])),
        "compiler": "cpython",
        "platform": f"linux/{_machine()}",
    }


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    command = opts["__command__"]
    return {"version": _version, "api-resources": _api_resources,
            "api-versions": _api_versions, "cluster-info": _cluster_info}[command](f, args, opts)


def _version(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    output = opts.get("output") or ""
    if output not in ("", "yaml", "json"):
        raise CommandError("error: --output must be 'yaml' or 'json'")
    info: dict[str, Any] = {"clientVersion": client_version()}
    server_err: Exception | None = None
    if not opts.get("client"):
        try:
            info["serverVersion"] = f.client.get("/version")
        except Exception as exc:  # printed after the client part, as kubectl does
            server_err = exc
    if output == "yaml":
        from .printers.yamlfmt import dump_yaml

        f.out.write(dump_yaml(info))
    elif output == "json":
        import json

        f.out.write(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    else:
        f.out.write(f"Client Version: {info['clientVersion']['gitVersion']}\n")
        if "serverVersion" in info:
            f.out.write(f"Server Version: {info['serverVersion'].get('gitVersion', '')}\n")
    if server_err is not None:
        raise server_err
    return 0


def _api_resources(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from .printers.tabwriter import format_rows

    output = opts.get("output") or ""
    if output not in ("", "wide", "name"):
        raise CommandError(f'error: --output {output} is not available')
    sort_by = opts.get("sort_by") or ""
    if sort_by not in ("", "name", "kind"):
        raise CommandError(f'error: --sort-by accepts only name or kind')
    resources = [r for r in f.discovery.resources(refresh=not opts.get("cached"))
                 if r.preferred]
    changed = opts["__changed__"]
    if "api_group" in changed:
        resources = [r for r in resources if r.group == opts["api_group"]]
    if "namespaced" in changed:
        resources = [r for r in resources if r.namespaced == opts["namespaced"]]
    for verb in opts.get("verbs") or []:
        resources = [r for r in resources if verb in r.verbs]
    if opts.get("categories"):
        resources = [r for r in resources if set(opts["categories"]) <= set(r.categories)]
    if sort_by == "name":
        resources.sort(key=lambda r: r.resource)
    elif sort_by == "kind":
        resources.sort(key=lambda r: r.kind)
    else:
        resources.sort(key=lambda r: (r.group, r.resource))
    if output == "name":
        for r in resources:
            f.out.write((f"{r.resource}.{r.group}" if r.group else r.resource) + "\n")
        return 0
    rows: list[list[str]] = []
    if not opts.get("no_headers"):
        header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
        if output == "wide":
            header += ["VERBS", "CATEGORIES"]
        rows.append(header)
    for r in resources:
        row = [r.resource, ",".join(r.short_names), r.api_version,
               "true" if r.namespaced else "false", r.kind]
        if output == "wide":
            row += [",".join(r.verbs), ",".join(r.categories)]
        rows.append(row)
    f.out.write(format_rows(rows))
    return 0


def _api_versions(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    versions: list[str] = []
    for group, vs in f.discovery.groups():
        versions.extend(f"{group}/{v}" if group else v for v in vs)
    for v in sorted(versions):
        f.out.write(v + "\n")
    return 0


def _cluster_info(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if args and args[0] == "dump":
        raise CommandError("error: cluster-info dump is not supported by k3trio kubectl")
    f.client.get("/api")
    server = f.connection.server
    f.out.write(f"\x1b[0;32mKubernetes control plane\x1b[0m is running at \x1b[0;33m{server}"
                "\x1b[0m\n" if f.out.isatty() else
                f"Kubernetes control plane is running at {server}\n")
    services = f.client.get("/api/v1/namespaces/kube-system/services",
                            params={"labelSelector": "kubernetes.io/cluster-service=true"})
    for svc in services.get("items") or []:
        meta = svc.get("metadata") or {}
        name = (meta.get("labels") or {}).get("kubernetes.io/name") or meta.get("name")
        ports = (svc.get("spec") or {}).get("ports") or []
        port = ports[0] if ports else {}
        pname = port.get("name") or str(port.get("port", ""))
        svc_name = str(meta.get("name") or "")
        link = (f"{server}/api/v1/namespaces/kube-system/services/"
                f"{svc_name + ':' + pname if pname else svc_name}/proxy")
        f.out.write(f"{name} is running at {link}\n")
    f.out.write("\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info "
                "dump'.\n")
    return 0
