"""``logs``, ``exec``, ``attach``, ``port-forward``, ``cp`` and ``proxy``: the commands that
stream through the pod subresources.

- ``logs`` reads ``pods/log`` (``container``, ``follow``, ``tailLines``, ``sinceSeconds``,
  ``sinceTime``, ``timestamps``, ``previous``, ``limitBytes``); ``TYPE/NAME`` picks the
  first pod the workload selects; ``-l`` prints every selected pod's log.
- ``exec``/``attach`` upgrade ``pods/exec``/``pods/attach`` to a WebSocket with the
  ``v5.channel.k8s.io`` protocol (stdin 0, stdout 1, stderr 2, error 3, resize 4); the exit
  code comes from the error channel's Status (``command terminated with exit code N``).
- ``port-forward`` listens locally and opens one ``pods/portforward`` WebSocket
  (``v4.channel.k8s.io``) per accepted connection (data channel 0, error channel 1).
- ``cp`` runs ``tar`` in the container through exec.

These need a node agent serving the streams; without one the API server's error is printed
as kubectl prints it.
"""

from __future__ import annotations

import io
import os
import socket
import sys
import tarfile
import threading
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag

SHORT = "Print the logs for a container in a pod"
USAGES = {
    "logs": "kubectl logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]",
    "exec": "kubectl exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]",
    "attach": "kubectl attach (POD | TYPE/NAME) -c CONTAINER",
    "port-forward": "kubectl port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]",
    "cp": "kubectl cp <file-spec-src> <file-spec-dest>",
    "proxy": "kubectl proxy [--port=PORT] [--www=static-dir] [--www-prefix=prefix] [--api-prefix=prefix]",
}
_CHANNELS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]


def command_flags(command: str, sub: str | None) -> list[Flag]:
    container = Flag("container", "string", "", "Container name.", short="c")
    timeout = Flag("pod-running-timeout", "duration", 60.0, "The length of time to wait until at least one pod is running")
    if command == "logs":
        return [container,
                Flag("all-containers", "bool", False, "Get all containers' logs in the pod(s)."),
                Flag("follow", "bool", False, "Specify if the logs should be streamed.", short="f"),
                Flag("ignore-errors", "bool", False, "If watching / following pod logs, allow for any errors that occur to be non-fatal"),
                Flag("insecure-skip-tls-verify-backend", "bool", False, ""),
                Flag("limit-bytes", "int", 0, "Maximum bytes of logs to return."),
                Flag("max-log-requests", "int", 5, "Maximum number of concurrent logs to follow when using by a selector."),
                Flag("prefix", "bool", False, "Prefix each log line with the log source (pod name and container name)"),
                Flag("previous", "bool", False, "If true, print the logs for the previous instance of the container in a pod if it exists.", short="p"),
                Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
                Flag("since", "duration", 0.0, "Only return logs newer than a relative duration like 5s, 2m, or 3h."),
                Flag("since-time", "string", "", "Only return logs after a specific date (RFC3339)."),
                Flag("tail", "int", -1, "Lines of recent log file to display."),
                Flag("timestamps", "bool", False, "Include timestamps on each line in the log output"),
                timeout]
    if command in ("exec", "attach"):
        return [container, timeout,
                Flag("filename", "slice", [], "to use to exec into the resource", short="f"),
                Flag("quiet", "bool", False, "Only print output from the remote session", short="q"),
                Flag("stdin", "bool", False, "Pass stdin to the container", short="i"),
                Flag("tty", "bool", False, "Stdin is a TTY", short="t")]
    if command == "port-forward":
        return [Flag("address", "slice", ["localhost"], "Addresses to listen on (comma separated)."), timeout]
    if command == "cp":
        return [container, Flag("no-preserve", "bool", False, "The copied file/directory's ownership and permissions will not be preserved in the container"),
                Flag("retries", "int", 0, "Set number of retries to complete a copy operation from a container.")]
    return [Flag("port", "int", 8001, "The port on which to run the proxy.", short="p")]


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    command = opts["__command__"]
    handler = {"logs": _logs, "exec": _exec, "attach": _attach, "port-forward": _port_forward,
               "cp": _cp, "proxy": _proxy}[command]
    code: int = handler(f, args, opts)
    return code


def _pod_for(f: Factory, target: str, opts: dict[str, Any], command: str) -> dict[str, Any]:
    """The pod a ``POD`` or ``TYPE/NAME`` argument means (first selected pod of a workload)."""
    if "/" not in target:
        from .rest import StatusError

        try:
            pod: dict[str, Any] = f.client.get(f"/api/v1/namespaces/{f.namespace}/pods/{target}")
        except StatusError as exc:
            if exc.code == 404 and command == "logs":
                raise CommandError(f'error: error from server (NotFound): pods "{target}" not '
                                   f'found in namespace "{f.namespace}"') from exc
            raise
        return pod
    kind, _, name = target.partition("/")
    res = f.discovery.resolve(kind)
    if res.kind == "Pod":
        pod = f.client.get(res.path(f.namespace, name))
        return pod
    obj = f.client.get(res.path(f.namespace, name))
    spec = obj.get("spec") or {}
    sel = spec.get("selector") or {}
    labels = sel.get("matchLabels", sel if res.kind in ("Service", "ReplicationController") else {})
    if not labels:
        raise CommandError(f"error: cannot attach to {res.kind}: selector is empty")
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    pods = f.client.get(f"/api/v1/namespaces/{f.namespace}/pods",
                        params={"labelSelector": selector}).get("items") or []
    if not pods:
        raise CommandError("error: timed out waiting for the condition")
    pods.sort(key=lambda p: ((p.get("status") or {}).get("phase") != "Running",
                             (p.get("metadata") or {}).get("creationTimestamp", "")))
    first: dict[str, Any] = pods[0]
    return first


def _container(f: Factory, pod: dict[str, Any], wanted: str, verb: str) -> str:
    containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    if wanted:
        return wanted
    default = ((pod.get("metadata") or {}).get("annotations") or {}).get(
        "kubectl.kubernetes.io/default-container")
    if default in containers:
        return str(default)
    if len(containers) > 1:
        f.err.write(f'Defaulted container "{containers[0]}" out of: {", ".join(containers)}\n')
    return containers[0] if containers else ""


def _logs(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    pods: list[dict[str, Any]]
    if opts["selector"]:
        pods = f.client.get(f"/api/v1/namespaces/{f.namespace}/pods",
                            params={"labelSelector": opts["selector"]}).get("items") or []
        if not pods:
            f.err.write(f"No resources found in {f.namespace} namespace.\n")
            return 0
    else:
        if not args:
            raise CommandError("error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
                               "POD or TYPE/NAME is a required argument for the logs command\n"
                               "See 'kubectl logs -h' for help and examples")
        pods = [_pod_for(f, args[0], opts, "logs")]
        if len(args) > 1 and not opts["container"]:
            opts["container"] = args[1]
    for pod in pods:
        names = ([c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
                 if opts["all_containers"] else [_container(f, pod, opts["container"], "logs")])
        for cname in names:
            params: dict[str, Any] = {"container": cname}
            if opts["follow"]:
                params["follow"] = "true"
            if opts["tail"] >= 0:
                params["tailLines"] = opts["tail"]
            elif opts["selector"]:
                params["tailLines"] = 10
            if opts["since"]:
                params["sinceSeconds"] = int(opts["since"])
            if opts["since_time"]:
                params["sinceTime"] = opts["since_time"]
            if opts["timestamps"]:
                params["timestamps"] = "true"
            if opts["previous"]:
                params["previous"] = "true"
            if opts["limit_bytes"]:
                params["limitBytes"] = opts["limit_bytes"]
            meta = pod.get("metadata") or {}
            path = f"/api/v1/namespaces/{meta.get('namespace')}/pods/{meta.get('name')}/log"
            prefix = f"[pod/{meta.get('name')}/{cname}] " if opts["prefix"] else ""
            pending = b""
            for chunk in f.client.stream("GET", path, params=params, accept="*/*"):
                if not prefix:
                    f.out.write(chunk.decode("utf-8", "replace"))
                    f.out.flush()
                    continue
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    f.out.write(prefix + line.decode("utf-8", "replace") + "\n")
            if pending:
                f.out.write(prefix + pending.decode("utf-8", "replace"))
    return 0


def _stream_session(f: Factory, path: str, params: list[tuple[str, str]], stdin: bool) -> int:
    from .wsclient import exit_code_from_status, open_channel_stream

    ws = open_channel_stream(f.client, path, params, _CHANNELS)
    v5 = ws.protocol.startswith("v5")
    if stdin:
        def pump() -> None:
            try:
                while True:
                    data = os.read(sys.stdin.fileno(), 32768)
                    if not data:
                        break
                    ws.send(b"\x00" + data)
                if v5:
                    ws.send(b"\xff\x00")
            except OSError:
                pass

        threading.Thread(target=pump, daemon=True).start()
    code, error = 0, ""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    f.out.flush()
    try:
        while True:
            message = ws.recv()
            if message is None:
                break
            _, payload = message
            if not payload:
                continue
            channel, data = payload[0], payload[1:]
            if channel == 1:
                out.write(data)
                out.flush()
            elif channel == 2:
                err.write(data)
                err.flush()
            elif channel == 3:
                code, error = exit_code_from_status(data)
    finally:
        ws.close()
    if error:
        f.err.write(error + "\n" if code else f"error: {error}\n")
    return code if code else (1 if error else 0)


def _exec(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    command = list(opts.get("__after__") or [])
    if not args:
        raise CommandError("error: pod, type/name or --filename must be specified")
    if not command:
        command = args[1:]
        if not command:
            raise CommandError("error: you must specify at least one command for the container")
    pod = _pod_for(f, args[0], opts, "exec")
    meta = pod["metadata"]
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        raise CommandError(f"error: cannot exec into a container in a completed pod; current "
                           f"phase is {pod['status']['phase']}")
    cname = _container(f, pod, opts["container"], "exec")
    params = [("container", cname)] + [("command", c) for c in command]
    params += [("stdout", "true"), ("stderr", "false" if opts["tty"] else "true")]
    if opts["stdin"]:
        params.append(("stdin", "true"))
    if opts["tty"]:
        params.append(("tty", "true"))
    return _stream_session(f, f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/exec",
                           params, opts["stdin"])


def _attach(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if not args:
        raise CommandError("error: expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) "
                           "saw 0")
    pod = _pod_for(f, args[0], opts, "attach")
    meta = pod["metadata"]
    cname = _container(f, pod, opts["container"], "attach")
    params = [("container", cname), ("stdout", "true"), ("stderr", "true")]
    if opts["stdin"]:
        params.append(("stdin", "true"))
    if opts["tty"]:
        params.append(("tty", "true"))
    return _stream_session(f, f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/attach",
                           params, opts["stdin"])


def _port_forward(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from .wsclient import open_channel_stream

    if len(args) < 2:
        raise CommandError("error: TYPE/NAME and list of ports are required for port-forward\n"
                           "See 'kubectl port-forward -h' for help and examples")
    pod = _pod_for(f, args[0], opts, "port-forward")
    meta = pod["metadata"]
    if (pod.get("status") or {}).get("phase") != "Running":
        raise CommandError(f"error: unable to forward port because pod is not running. Current "
                           f"status={(pod.get('status') or {}).get('phase')}")
    path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/portforward"
    listeners = []
    for spec in args[1:]:
        local, _, remote = spec.partition(":")
        remote = remote or local
        for address in opts["address"]:
            host = "127.0.0.1" if address == "localhost" else address
            srv = socket.socket()
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind((host, int(local or 0)))
            srv.listen()
            port = srv.getsockname()[1]
            f.out.write(f"Forwarding from {host}:{port} -> {remote}\n")
            listeners.append((srv, int(remote)))
    f.out.flush()

    def serve(srv: socket.socket, remote: int) -> None:
        while True:
            conn, _ = srv.accept()
            f.out.write(f"Handling connection for {srv.getsockname()[1]}\n")
            f.out.flush()
            ws = open_channel_stream(f.client, path, [("ports", str(remote))],
                                     ["v4.channel.k8s.io", "portforward.k8s.io"])

            def upstream(c: socket.socket = conn, w: Any = ws) -> None:
                try:
                    while True:
                        data = c.recv(32768)
                        if not data:
                            break
                        w.send(b"\x00" + data)
                finally:
                    w.close()

            def downstream(c: socket.socket = conn, w: Any = ws) -> None:
                try:
                    while True:
                        message = w.recv()
                        if message is None:
                            break
                        payload = message[1]
                        if len(payload) <= 3 and payload[:1] in (b"\x00", b"\x01"):
                            continue  # the port-number preamble of each channel
                        if payload[:1] == b"\x00":
                            c.sendall(payload[1:])
                        elif payload[:1] == b"\x01" and payload[1:]:
                            f.err.write(f"E portforward: {payload[1:].decode('utf-8', 'replace')}\n")
                finally:
                    c.close()

            threading.Thread(target=upstream, daemon=True).start()
            threading.Thread(target=downstream, daemon=True).start()

    threads = [threading.Thread(target=serve, args=item, daemon=True) for item in listeners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


def _cp(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if len(args) != 2:
        raise CommandError("error: source and destination are required")
    src, dst = args
    if ":" in src and ":" not in dst:
        pod_spec, _, remote = src.partition(":")
        ns, _, pod = pod_spec.rpartition("/")
        return _cp_from(f, ns or f.namespace, pod, remote, dst, opts)
    if ":" in dst and ":" not in src:
        pod_spec, _, remote = dst.partition(":")
        ns, _, pod = pod_spec.rpartition("/")
        return _cp_to(f, ns or f.namespace, pod, src, remote, opts)
    raise CommandError("error: one of src or dest must be a local file specification")


def _exec_capture(f: Factory, ns: str, pod: str, container: str, command: list[str],
                  stdin: bytes | None) -> bytes:
    from .wsclient import exit_code_from_status, open_channel_stream

    params = [("container", container)] + [("command", c) for c in command]
    params += [("stdout", "true"), ("stderr", "true")] + ([("stdin", "true")] if stdin is not None else [])
    ws = open_channel_stream(f.client, f"/api/v1/namespaces/{ns}/pods/{pod}/exec", params, _CHANNELS)
    if stdin is not None:
        for i in range(0, len(stdin), 32768):
            ws.send(b"\x00" + stdin[i:i + 32768])
        if ws.protocol.startswith("v5"):
            ws.send(b"\xff\x00")
    out = b""
    try:
        while True:
            message = ws.recv()
            if message is None:
                break
            payload = message[1]
            if payload[:1] == b"\x01":
                out += payload[1:]
            elif payload[:1] == b"\x02":
                sys.stderr.buffer.write(payload[1:])
            elif payload[:1] == b"\x03":
                code, error = exit_code_from_status(payload[1:])
                if code:
                    raise CommandError(error)
    finally:
        ws.close()
    return out


def _cp_from(f: Factory, ns: str, pod: str, remote: str, local: str, opts: dict[str, Any]) -> int:
    pod_obj = f.client.get(f"/api/v1/namespaces/{ns}/pods/{pod}")
    cname = _container(f, pod_obj, opts["container"], "cp")
    data = _exec_capture(f, ns, pod, cname, ["tar", "cf", "-", remote], None)
    base = os.path.dirname(remote.rstrip("/"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            rel = os.path.relpath("/" + member.name.lstrip("/"), "/" + base.lstrip("/"))
            parts = rel.split(os.sep)
            target = os.path.join(local, *parts[1:]) if len(parts) > 1 else local
            if member.isdir():
                os.makedirs(target, exist_ok=True)
            elif member.isfile():
                os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
                extracted = tar.extractfile(member)
                if extracted is not None:
                    with open(target, "wb") as fh:
                        fh.write(extracted.read())
    return 0


def _cp_to(f: Factory, ns: str, pod: str, local: str, remote: str, opts: dict[str, Any]) -> int:
    if not os.path.exists(local):
        raise CommandError(f"error: {local} doesn't exist in local filesystem")
    pod_obj = f.client.get(f"/api/v1/namespaces/{ns}/pods/{pod}")
    cname = _container(f, pod_obj, opts["container"], "cp")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(local, arcname=os.path.basename(remote.rstrip("/")) or os.path.basename(local))
    dest_dir = os.path.dirname(remote.rstrip("/")) or "."
    _exec_capture(f, ns, pod, cname, ["tar", "-xmf", "-", "-C", dest_dir], buf.getvalue())
    return 0


def _proxy(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    raise CommandError("error: kubectl proxy is not supported by k3trio kubectl yet")
