"""Sections several describers share: events, pod templates, containers, volumes,
tolerations, conditions and label selectors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .writer import Writer, age

__all__ = ["EventSource", "containers", "events", "pod_template", "selector_text",
           "tolerations", "volumes"]

EventSource = Callable[[dict[str, Any]], list[dict[str, Any]]]


def selector_text(sel: Mapping[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``: ``a=b,c in (d,e)``; ``<none>`` for an empty one."""
    if sel is None:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for expr in sel.get("matchExpressions") or []:
        op = expr.get("operator", "")
        key = expr.get("key", "")
        values = expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) if parts else "<none>"


def events(w: Writer, items: list[dict[str, Any]] | None) -> None:
    if not items:
        w.line(0, "Events:", "<none>")
        return
    w.write(0, "Events:\n")
    w.line(1, "Type", "Reason", "Age", "From", "Message")
    w.line(1, "----", "------", "----", "----", "-------")
    for e in sorted(items, key=_event_time):
        count = e.get("count") or (e.get("series") or {}).get("count") or 0
        first = e.get("firstTimestamp") or e.get("eventTime") or \
            (e.get("metadata") or {}).get("creationTimestamp")
        last = e.get("lastTimestamp") or (e.get("series") or {}).get("lastObservedTime") or first
        when = age(last)
        if count and count > 1:
            when = f"{when} (x{count} over {age(first)})"
        src = e.get("source") or {}
        origin = src.get("component") or e.get("reportingComponent") or \
            e.get("reportingController") or ""
        msg = str(e.get("message") or e.get("note") or "").strip()
        w.line(1, e.get("type", ""), e.get("reason", ""), when, origin, msg)


def _event_time(e: dict[str, Any]) -> str:
    return str(e.get("lastTimestamp") or e.get("eventTime") or
               (e.get("metadata") or {}).get("creationTimestamp") or "")


def _ports(ports: list[dict[str, Any]] | None) -> tuple[str, str, str, str]:
    if not ports:
        return "Port:", "<none>", "Host Port:", "<none>"
    cps = [f"{p.get('containerPort', 0)}/{p.get('protocol', 'TCP')}" for p in ports]
    hps = [f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}" for p in ports]
    if len(ports) == 1:
        return "Port:", cps[0], "Host Port:", hps[0]
    return "Ports:", ", ".join(cps), "Host Ports:", ", ".join(hps)


def _env_value(e: dict[str, Any]) -> tuple[str, str]:
    if "value" in e or "valueFrom" not in e:
        return str(e.get("value", "")), ""
    vf = e["valueFrom"]
    if "fieldRef" in vf:
        ref = vf["fieldRef"]
        return f" ({ref.get('apiVersion', 'v1')}:{ref.get('fieldPath', '')})", ""
    if "resourceFieldRef" in vf:
        ref = vf["resourceFieldRef"]
        return f"{ref.get('resource', '')} ({ref.get('containerName', '')})", ""
    if "secretKeyRef" in vf:
        ref = vf["secretKeyRef"]
        return (f"<set to the key '{ref.get('key', '')}' in secret '{ref.get('name', '')}'>",
                f"Optional: {str(bool(ref.get('optional', False))).lower()}")
    if "configMapKeyRef" in vf:
        ref = vf["configMapKeyRef"]
        return (f"<set to the key '{ref.get('key', '')}' of config map '{ref.get('name', '')}'>",
                f"Optional: {str(bool(ref.get('optional', False))).lower()}")
    return "", ""


def _probe(p: dict[str, Any]) -> str:
    attrs = (f"delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
             f"period={p.get('periodSeconds', 10)}s successThreshold={p.get('successThreshold', 1)} "
             f"failureThreshold={p.get('failureThreshold', 3)}")
    if "exec" in p:
        return f"exec {p['exec'].get('command', [])} {attrs}".replace("'", "")
    if "httpGet" in p:
        h = p["httpGet"]
        url = f"{h.get('scheme', 'HTTP').lower()}://{h.get('host', '')}:{h.get('port', '')}" \
              f"{h.get('path', '')}"
        return f"http-get {url} {attrs}"
    if "tcpSocket" in p:
        return f"tcp-socket {p['tcpSocket'].get('host', '')}:{p['tcpSocket'].get('port', '')} {attrs}"
    if "grpc" in p:
        return f"grpc <pod>:{p['grpc'].get('port', '')} {p['grpc'].get('service', '')} {attrs}"
    return f"unknown {attrs}"


def containers(w: Writer, title: str, items: list[dict[str, Any]], statuses: list[dict[str, Any]] | None,
               space: str) -> None:
    w.write(0, f"{title}:\n") if not space else w.write(1, f"{title}:\n")
    by_name = {s.get("name"): s for s in statuses or []}
    for c in items:
        w.write(1, f"{space}{c.get('name', '')}:\n")
        st = by_name.get(c.get("name"))
        if st is not None:
            w.line(2, "Container ID:", st.get("containerID", ""))
        w.line(2, "Image:", c.get("image", ""))
        if st is not None:
            w.line(2, "Image ID:", st.get("imageID", ""))
        p1, v1, p2, v2 = _ports(c.get("ports"))
        w.line(2, p1, v1)
        w.line(2, p2, v2)
        for field, label in (("command", "Command"), ("args", "Args")):
            if c.get(field):
                w.write(2, f"{label}:\n")
                for part in c[field]:
                    for ln in str(part).split("\n"):
                        w.write(3, ln + "\n")
        if st is not None:
            _state(w, "State", st.get("state") or {})
            if st.get("lastState"):
                _state(w, "Last State", st["lastState"])
            w.line(2, "Ready:", "True" if st.get("ready") else "False")
            w.line(2, "Restart Count:", st.get("restartCount", 0))
        res = c.get("resources") or {}
        for key, label in (("limits", "Limits"), ("requests", "Requests")):
            if res.get(key):
                w.write(2, f"{label}:\n")
                for name in sorted(res[key]):
                    w.line(3, f"{name}:", _quantity(res[key][name]))
        for key, label in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"),
                           ("startupProbe", "Startup")):
            if c.get(key):
                w.line(2, f"{label}:", _probe(c[key]))
        if c.get("envFrom"):
            w.write(2, "Environment Variables from:\n")
            for src in c["envFrom"]:
                if "configMapRef" in src:
                    ref, kind = src["configMapRef"], "ConfigMap"
                else:
                    ref, kind = src.get("secretRef") or {}, "Secret"
                prefix = f" with prefix '{src['prefix']}'" if src.get("prefix") else ""
                w.line(3, f"{ref.get('name', '')}", f"{kind}{prefix}",
                       f"Optional: {str(bool(ref.get('optional', False))).lower()}")
        env = c.get("env") or []
        if not env:
            w.line(2, "Environment:", "<none>")
        else:
            w.write(2, "Environment:\n")
            for e in env:
                value, extra = _env_value(e)
                cells = [f"{e.get('name', '')}:", value] + ([extra] if extra else [])
                w.line(3, *cells)
        mounts = c.get("volumeMounts") or []
        if not mounts:
            w.line(2, "Mounts:", "<none>")
        else:
            w.write(2, "Mounts:\n")
            for m in sorted(mounts, key=lambda m: m.get("mountPath", "")):
                flags = "ro" if m.get("readOnly") else "rw"
                sub = f",path=\"{m['subPath']}\"" if m.get("subPath") else ""
                w.write(3, f"{m.get('mountPath', '')} from {m.get('name', '')} ({flags}{sub})\n")


def _quantity(v: Any) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{int(round(v * 1000))}m"
    return str(int(v)) if isinstance(v, float) else str(v)


def _state(w: Writer, label: str, state: dict[str, Any]) -> None:
    if "running" in state:
        w.line(2, f"{label}:", "Running")
        w.line(3, "Started:", _time(state["running"].get("startedAt")))
    elif "waiting" in state:
        w.line(2, f"{label}:", "Waiting")
        if state["waiting"].get("reason"):
            w.line(3, "Reason:", state["waiting"]["reason"])
    elif "terminated" in state:
        t = state["terminated"]
        w.line(2, f"{label}:", "Terminated")
        if t.get("reason"):
            w.line(3, "Reason:", t["reason"])
        w.line(3, "Exit Code:", t.get("exitCode", 0))
        w.line(3, "Started:", _time(t.get("startedAt")))
        w.line(3, "Finished:", _time(t.get("finishedAt")))
    else:
        w.line(2, f"{label}:", "Waiting")


def _time(value: str | None) -> str:
    from .writer import describe_time

    return describe_time(value)


def volumes(w: Writer, items: list[dict[str, Any]] | None, level: int = 0) -> None:
    if not items:
        w.line(level, "Volumes:", "<none>")
        return
    w.write(level, "Volumes:\n")
    for v in items:
        w.write(level + 1, f"{v.get('name', '')}:\n") if level == 0 else \
            w.write(level, f" {v.get('name', '')}:\n")
        lv = level + 1 if level else 2
        if "emptyDir" in v:
            ed = v["emptyDir"] or {}
            w.line(lv, "Type:", "EmptyDir (a temporary directory that shares a pod's lifetime)")
            w.line(lv, "Medium:", ed.get("medium", ""))
            w.line(lv, "SizeLimit:", ed.get("sizeLimit", "<unset>"))
        elif "configMap" in v:
            cm = v["configMap"]
            w.line(lv, "Type:", "ConfigMap (a volume populated by a ConfigMap)")
            w.line(lv, "Name:", cm.get("name", ""))
            w.line(lv, "Optional:", str(bool(cm.get("optional", False))).lower())
        elif "secret" in v:
            s = v["secret"]
            w.line(lv, "Type:", "Secret (a volume populated by a Secret)")
            w.line(lv, "SecretName:", s.get("secretName", ""))
            w.line(lv, "Optional:", str(bool(s.get("optional", False))).lower())
        elif "hostPath" in v:
            hp = v["hostPath"]
            w.line(lv, "Type:", "HostPath (bare host directory volume)")
            w.line(lv, "Path:", hp.get("path", ""))
            w.line(lv, "HostPathType:", hp.get("type", ""))
        elif "persistentVolumeClaim" in v:
            pvc = v["persistentVolumeClaim"]
            w.line(lv, "Type:", "PersistentVolumeClaim (a reference to a PersistentVolumeClaim "
                   "in the same namespace)")
            w.line(lv, "ClaimName:", pvc.get("claimName", ""))
            w.line(lv, "ReadOnly:", str(bool(pvc.get("readOnly", False))).lower())
        elif "projected" in v:
            pr = v["projected"]
            w.line(lv, "Type:", "Projected (a volume that contains injected data from multiple "
                   "sources)")
            for src in pr.get("sources") or []:
                if "serviceAccountToken" in src:
                    w.line(lv, "TokenExpirationSeconds:",
                           src["serviceAccountToken"].get("expirationSeconds", 3600))
                elif "configMap" in src:
                    w.line(lv, "ConfigMapName:", src["configMap"].get("name", ""))
                    w.line(lv, "Optional:",
                           str(bool(src["configMap"].get("optional", False))).lower())
                elif "downwardAPI" in src:
                    w.line(lv, "DownwardAPI:", "true")
        else:
            w.line(lv, "Type:", "<unknown>")


def tolerations(items: list[dict[str, Any]] | None) -> list[str]:
    out = []
    for t in items or []:
        text = t.get("key", "")
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        out.append(text)
    return out


def node_selectors(sel: Mapping[str, str] | None) -> list[str]:
    return [f"{k}={v}" for k, v in sorted((sel or {}).items())]


def pod_template(w: Writer, template: dict[str, Any]) -> None:
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    w.write(0, "Pod Template:\n")
    w.string_map(1, "Labels", meta.get("labels"))
    if meta.get("annotations"):
        w.annotations(1, meta.get("annotations"))
    if spec.get("serviceAccountName"):
        w.line(1, "Service Account:", spec["serviceAccountName"])
    if spec.get("initContainers"):
        containers(w, "Init Containers", spec["initContainers"], None, " ")
    containers(w, "Containers", spec.get("containers") or [], None, " ")
    volumes(w, spec.get("volumes"), level=1)
    w.string_list(1, "Node-Selectors", node_selectors(spec.get("nodeSelector")))
    w.string_list(1, "Tolerations", tolerations(spec.get("tolerations")))
    if spec.get("priorityClassName"):
        w.line(1, "Priority Class Name:", spec["priorityClassName"])


def conditions(w: Writer, items: list[dict[str, Any]] | None, with_reason: bool = True) -> None:
    if not items:
        return
    w.write(0, "Conditions:\n")
    if with_reason:
        w.line(1, "Type", "Status", "Reason")
        w.line(1, "----", "------", "------")
        for c in items:
            w.line(1, c.get("type", ""), c.get("status", ""), c.get("reason", ""))
    else:
        w.line(1, "Type", "Status")
        for c in items:
            w.line(1, f"{c.get('type', '')} ", f"{c.get('status', '')} ")
