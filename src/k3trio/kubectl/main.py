"""``k3trio kubectl``: entry point, global flags, command table and dispatch.

Only this module and the one module implementing the chosen command are imported, so a
command pays for what it uses (``get`` does not import the apply machinery, ``version
--client`` connects to nothing). Each command module provides ``FLAGS`` (or
``flags(sub)``), ``USAGE``, ``SHORT`` and ``run(factory, args, opts)``; group commands
(``config``, ``rollout``, ``set``, ``auth``, ``create``, ...) also list ``SUBCOMMANDS``.

Exit codes and wording as kubectl: 0 on success, 1 for every failure; flag errors print
``error: ...`` and ``See 'kubectl <cmd> --help' for usage.``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from .errors import CommandError, UsageError, message_for
from .flags import Flag, FlagError, FlagSet

__all__ = ["COMMANDS", "GLOBAL_FLAGS", "main"]

#: command -> (module, group heading for ``kubectl --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "create": ("create", "Basic Commands (Beginner)"),
    "expose": ("expose", "Basic Commands (Beginner)"),
    "run": ("run", "Basic Commands (Beginner)"),
    "set": ("setcmd", "Basic Commands (Beginner)"),
    "explain": ("explain", "Basic Commands (Intermediate)"),
    "get": ("get", "Basic Commands (Intermediate)"),
    "edit": ("edit", "Basic Commands (Intermediate)"),
    "delete": ("delete", "Basic Commands (Intermediate)"),
    "rollout": ("rollout", "Deploy Commands"),
    "scale": ("scale", "Deploy Commands"),
    "autoscale": ("autoscale", "Deploy Commands"),
    "certificate": ("certificate", "Cluster Management Commands"),
    "cluster-info": ("info", "Cluster Management Commands"),
    "top": ("top", "Cluster Management Commands"),
    "cordon": ("node", "Cluster Management Commands"),
    "uncordon": ("node", "Cluster Management Commands"),
    "drain": ("node", "Cluster Management Commands"),
    "taint": ("taint", "Cluster Management Commands"),
    "describe": ("describe", "Troubleshooting and Debugging Commands"),
    "logs": ("streams", "Troubleshooting and Debugging Commands"),
    "attach": ("streams", "Troubleshooting and Debugging Commands"),
    "exec": ("streams", "Troubleshooting and Debugging Commands"),
    "port-forward": ("streams", "Troubleshooting and Debugging Commands"),
    "proxy": ("streams", "Troubleshooting and Debugging Commands"),
    "cp": ("streams", "Troubleshooting and Debugging Commands"),
    "auth": ("auth", "Troubleshooting and Debugging Commands"),
    "events": ("events", "Troubleshooting and Debugging Commands"),
    "diff": ("diff", "Advanced Commands"),
    "apply": ("apply", "Advanced Commands"),
    "patch": ("patch", "Advanced Commands"),
    "replace": ("replace", "Advanced Commands"),
    "wait": ("wait", "Advanced Commands"),
    "label": ("label", "Settings Commands"),
    "annotate": ("label", "Settings Commands"),
    "completion": ("completion", "Settings Commands"),
    "api-resources": ("info", "Other Commands"),
    "api-versions": ("info", "Other Commands"),
    "config": ("config_cmd", "Other Commands"),
    "version": ("info", "Other Commands"),
}

GLOBAL_FLAGS = [
    Flag("as", "string", "", "Username to impersonate for the operation."),
    Flag("as-group", "array", [], "Group to impersonate for the operation."),
    Flag("as-uid", "string", "", "UID to impersonate for the operation."),
    Flag("cache-dir", "string", "", "Default cache directory"),
    Flag("certificate-authority", "string", "", "Path to a cert file for the certificate authority"),
    Flag("client-certificate", "string", "", "Path to a client certificate file for TLS"),
    Flag("client-key", "string", "", "Path to a client key file for TLS"),
    Flag("cluster", "string", "", "The name of the kubeconfig cluster to use"),
    Flag("context", "string", "", "The name of the kubeconfig context to use"),
    Flag("disable-compression", "bool", False, "If true, opt-out of response compression for all requests to the server"),
    Flag("insecure-skip-tls-verify", "bool", False, "If true, the server's certificate will not be checked for validity."),
    Flag("kubeconfig", "string", "", "Path to the kubeconfig file to use for CLI requests."),
    Flag("log-flush-frequency", "duration", 5.0, "Maximum number of seconds between log flushes", hidden=True),
    Flag("match-server-version", "bool", False, "Require server version to match client version"),
    Flag("namespace", "string", "", "If present, the namespace scope for this CLI request", short="n"),
    Flag("password", "string", "", "Password for basic authentication to the API server"),
    Flag("profile", "string", "none", "Name of profile to capture."),
    Flag("profile-output", "string", "profile.pprof", "Name of the file to write the profile to"),
    Flag("request-timeout", "string", "0", "The length of time to wait before giving up on a single server request."),
    Flag("server", "string", "", "The address and port of the Kubernetes API server", short="s"),
    Flag("tls-server-name", "string", "", "Server name to use for server certificate validation."),
    Flag("token", "string", "", "Bearer token for authentication to the API server"),
    Flag("user", "string", "", "The name of the kubeconfig user to use"),
    Flag("username", "string", "", "Username for basic authentication to the API server"),
    Flag("v", "int", 0, "number for the log level verbosity", short="v"),
    Flag("vmodule", "string", "", "comma-separated list of pattern=N settings for file-filtered logging"),
    Flag("warnings-as-errors", "bool", False, "Treat warnings received from the server as errors and exit with a non-zero exit code"),
    Flag("help", "bool", False, "help", short="h"),
]
_GLOBAL_BY_NAME = {f.name: f for f in GLOBAL_FLAGS}
_GLOBAL_BY_SHORT = {f.short: f for f in GLOBAL_FLAGS if f.short}


def _find_command(argv: list[str]) -> tuple[int, str | None]:
    """Index and name of the first argument that is not a global flag (or its value)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return -1, None
        if arg.startswith("--"):
            name, eq, _ = arg[2:].partition("=")
            flag = _GLOBAL_BY_NAME.get(name)
            if flag is not None and not eq and flag.kind != "bool":
                i += 1
        elif arg.startswith("-") and len(arg) > 1:
            flag = _GLOBAL_BY_SHORT.get(arg[1])
            if flag is not None and len(arg) == 2 and flag.kind != "bool":
                i += 1
        else:
            return i, arg
        i += 1
    return -1, None


def _overrides(values: dict[str, Any]) -> Any:
    from .flags import parse_duration
    from .kubeconfig import Overrides

    timeout: float | None = None
    rt = values.get("request_timeout") or "0"
    if rt != "0":
        try:
            timeout = float(rt) if rt.replace(".", "", 1).isdigit() else parse_duration(rt)
        except ValueError as exc:
            raise CommandError("error: Invalid timeout value. Timeout must be a single integer "
                               "in seconds, or an integer followed by a corresponding time unit "
                               "(e.g. 1s | 2m | 3h)") from exc
        timeout = timeout or None
    return Overrides(
        kubeconfig=values.get("kubeconfig") or None,
        context=values.get("context") or None,
        cluster=values.get("cluster") or None,
        user=values.get("user") or None,
        namespace=values.get("namespace") or None,
        server=values.get("server") or None,
        token=values.get("token") or None,
        username=values.get("username") or None,
        password=values.get("password") or None,
        certificate_authority=values.get("certificate_authority") or None,
        client_certificate=values.get("client_certificate") or None,
        client_key=values.get("client_key") or None,
        insecure_skip_tls_verify=True if values.get("insecure_skip_tls_verify") else None,
        tls_server_name=values.get("tls_server_name") or None,
        impersonate=values.get("as") or None,
        impersonate_groups=list(values.get("as_group") or []),
        request_timeout=timeout,
    )


def _command_flags(module: Any, command: str, sub: str | None) -> list[Flag]:
    if hasattr(module, "command_flags"):
        found: list[Flag] = module.command_flags(command, sub)
        return found
    if hasattr(module, "flags"):
        flags: list[Flag] = module.flags(sub)
        return flags
    return list(getattr(module, "FLAGS", []))


def main(argv: list[str] | None = None) -> int:
    """Run one kubectl command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    index, command = _find_command(argv)
    if command is None:
        if any(a in ("-h", "--help") for a in argv) or not argv or index == -1:
            from .help import root_help

            sys.stdout.write(root_help())
            return 0
    assert command is not None
    entry = COMMANDS.get(command)
    if entry is None:
        if index > 0:
            sys.stderr.write(f"Error: flags cannot be placed before plugin name: {argv[0]}\n")
            return 1
        sys.stderr.write(f'error: unknown command "{command}" for "kubectl"\n')
        return 1
    module = importlib.import_module(f"{__package__}.{entry[0]}")
    rest = argv[:index] + argv[index + 1:]
    sub: str | None = None
    subcommands = getattr(module, "SUBCOMMANDS", None)
    if subcommands:
        after_cmd = argv[index + 1:]
        offset, found = _find_command(after_cmd)
        if found is not None and found in subcommands:
            sub = found
            rest = argv[:index] + after_cmd[:offset] + after_cmd[offset + 1:]
    cmd_name = f"{command} {sub}" if sub else command
    own = _command_flags(module, command, sub)
    shadowed = {fl.dest for fl in own}
    flagset = FlagSet(GLOBAL_FLAGS + own)
    try:
        values, positional, after = flagset.parse(rest)
    except FlagError as exc:
        sys.stderr.write(f"error: {exc}\nSee 'kubectl {cmd_name} --help' for usage.\n")
        return 1
    if values.get("help"):
        from .help import command_help

        sys.stdout.write(command_help(command, sub, module))
        return 0
    values["__changed__"] = flagset.changed
    values["__after__"] = after
    values["__command__"] = command
    values["__sub__"] = sub
    from .factory import Factory

    try:
        f = Factory(_overrides({k: v for k, v in values.items() if k not in shadowed}), cache_dir=values.get("cache_dir") or None,
                    warnings_as_errors=bool(values.get("warnings_as_errors")))
    except CommandError as exc:
        sys.stderr.write(message_for(exc) + "\n")
        return exc.code
    try:
        code: int = module.run(f, positional, values) if not subcommands else \
            module.run(f, sub, positional, values)
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except UsageError as exc:
        sys.stdout.flush()
        sys.stderr.write(message_for(exc) + "\n")
        sys.stderr.write(f"See 'kubectl {exc.command or cmd_name} -h' for help and examples\n")
        return exc.code
    except Exception as exc:  # every failure is worded once, here
        from .discovery import UnknownResource
        from .kubeconfig import ConfigError
        from .rest import ConnectError, StatusError

        sys.stdout.flush()
        if isinstance(exc, ConfigError):
            text = str(exc)
            if text.startswith("context was not found"):
                sys.stderr.write(f"Error in configuration: {text}\n")
            else:
                sys.stderr.write(f"error: {text}\n")
            return 1
        if isinstance(exc, (StatusError, ConnectError, CommandError, UnknownResource)):
            sys.stderr.write(message_for(exc) + "\n")
            return exc.code if isinstance(exc, CommandError) else 1
        if os.environ.get("K3TRIO_KUBECTL_TRACEBACK"):
            raise
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass
        f.close()


if __name__ == "__main__":
    sys.exit(main())
