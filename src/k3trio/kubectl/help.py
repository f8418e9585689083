"""``--help`` texts: the root command list and per-command usage with its flags."""

from __future__ import annotations

from typing import Any

from .flags import Flag

__all__ = ["command_help", "root_help"]

_SHORT = {
    "create": "Create a resource from a file or from stdin",
    "expose": "Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service",
    "run": "Run a particular image on the cluster",
    "set": "Set specific features on objects",
    "explain": "Get documentation for a resource",
    "get": "Display one or many resources",
    "edit": "Edit a resource on the server",
    "delete": "Delete resources by file names, stdin, resources and names, or by resources and label selector",
    "rollout": "Manage the rollout of a resource",
    "scale": "Set a new size for a deployment, replica set, or replication controller",
    "autoscale": "Auto-scale a deployment, replica set, stateful set, or replication controller",
    "certificate": "Modify certificate resources",
    "cluster-info": "Display cluster information",
    "top": "Display resource (CPU/memory) usage",
    "cordon": "Mark node as unschedulable",
    "uncordon": "Mark node as schedulable",
    "drain": "Drain node in preparation for maintenance",
    "taint": "Update the taints on one or more nodes",
    "describe": "Show details of a specific resource or group of resources",
    "logs": "Print the logs for a container in a pod",
    "attach": "Attach to a running container",
    "exec": "Execute a command in a container",
    "port-forward": "Forward one or more local ports to a pod",
    "proxy": "Run a proxy to the Kubernetes API server",
    "cp": "Copy files and directories to and from containers",
    "auth": "Inspect authorization",
    "events": "List events",
    "diff": "Diff the live version against a would-be applied version",
    "apply": "Apply a configuration to a resource by file name or stdin",
    "patch": "Update fields of a resource",
    "replace": "Replace a resource by file name or stdin",
    "wait": "Experimental: Wait for a specific condition on one or many resources",
    "label": "Update the labels on a resource",
    "annotate": "Update the annotations on a resource",
    "completion": "Output shell completion code for the specified shell (bash, zsh, fish, or powershell)",
    "api-resources": "Print the supported API resources on the server",
    "api-versions": "Print the supported API versions on the server, in the form of \"group/version\"",
    "config": "Modify kubeconfig files",
    "version": "Print the client and server version information",
}


def root_help() -> str:
    from .main import COMMANDS

    out = ["kubectl controls the Kubernetes cluster manager.", "",
           " Find more information at: https://kubernetes.io/docs/reference/kubectl/", ""]
    heading = ""
    width = max(len(c) for c in COMMANDS) + 2
    for name, (_, group) in COMMANDS.items():
        if group != heading:
            if heading:
                out.append("")
            out.append(group + ":")
            heading = group
        out.append(f"  {name.ljust(width)}{_SHORT.get(name, '')}")
    out += ["", "Usage:", "  kubectl [flags] [options]", "",
            'Use "kubectl <command> --help" for more information about a given command.',
            'Use "kubectl options" for a list of global command-line options (applies to all '
            "commands).", ""]
    return "\n".join(out)


def _flag_lines(flags: list[Flag]) -> list[str]:
    lines = []
    for fl in flags:
        if fl.hidden or fl.name == "help":
            continue
        name = f"-{fl.short}, --{fl.name}" if fl.short else f"--{fl.name}"
        default = fl.default
        if fl.kind in ("slice", "array"):
            value = f"[{','.join(default or [])}]"
        elif fl.kind == "bool":
            value = "true" if default else "false"
        else:
            value = "" if default is None else str(default)
        if fl.kind == "string":
            value = f"'{value}'"
        lines.append(f"    {name}={value}:")
        lines.append(f"\t{fl.help}")
        lines.append("")
    return lines


def command_help(command: str, sub: str | None, module: Any) -> str:
    from .main import _command_flags

    short = _SHORT.get(command, "")
    usage = getattr(module, "USAGES", {}).get(sub or command) or getattr(module, "USAGE", "") \
        or f"kubectl {command}{' ' + sub if sub else ''} [options]"
    out = [short, ""]
    subs = getattr(module, "SUBCOMMANDS", None)
    if subs and not sub:
        out.append("Available Commands:")
        for name, text in subs.items():
            out.append(f"  {name.ljust(18)}{text}")
        out.append("")
    flags = _command_flags(module, command, sub)
    if flags:
        out.append("Options:")
        out.extend(_flag_lines(flags))
    out += ["Usage:", f"  {usage}", "",
            'Use "kubectl options" for a list of global command-line options (applies to all '
            "commands).", ""]
    return "\n".join(out)
