"""Real kubectl sends protobuf bodies (generators, typed clients); the server decodes them.

For each generator the body kubectl sent (read from its ``-v=9`` hex dump) is decoded with our
codec and compared with the JSON kubectl prints for the same command with
``--dry-run=client -o json``: both are kubectl's own rendering of one Go object.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from k3trio.api.protobuf import PROTOBUF_CONTENT_TYPE, decode_protobuf, encode_protobuf

from ._server import ServerProcess
from .conftest import Kubectl, unique

_BODY = re.compile(r'"Request Body" body=<\n(.*?)\n\s*>', re.S)
_HEX_LINE = re.compile(r"^\s*[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2}){1,16})", re.M)


def _protobuf_bodies(stderr: str) -> list[bytes]:
    bodies = []
    for match in _BODY.finditer(stderr):
        hexes = "".join(_HEX_LINE.findall(match.group(1))).replace(" ", "")
        if hexes:
            bodies.append(bytes.fromhex(hexes))
    return bodies


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _sent(kctl: Kubectl, *args: str) -> tuple[dict[str, Any], str]:
    """Run a kubectl command at -v=9; return the decoded protobuf body it sent and its stdout."""
    proc = kctl.run("-v=9", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Content-Type: {PROTOBUF_CONTENT_TYPE}" in proc.stderr
    bodies = _protobuf_bodies(proc.stderr)
    assert bodies, "kubectl sent no protobuf body"
    return decode_protobuf(bodies[-1]), proc.stdout


@pytest.fixture(scope="module", autouse=True)
def _prerequisites(kctl: Kubectl) -> None:
    if kctl.run("get", "serviceaccount", "default").returncode != 0:
        kctl.ok("create", "serviceaccount", "default")
    kctl.ok("create", "cronjob", "pb-cron", "--image=busybox", "--schedule=*/5 * * * *", "--", "true")
    kctl.ok("create", "deployment", "pb-web", "--image=nginx", "--port=80")


@pytest.mark.parametrize(
    "args",
    [
        ("create", "configmap", "{n}", "--from-literal=a=b", "--from-literal=c=d"),
        ("create", "secret", "generic", "{n}", "--from-literal=k=v", "--type=Opaque"),
        ("create", "secret", "docker-registry", "{n}", "--docker-server=r.io", "--docker-username=u", "--docker-password=p"),
        ("create", "deployment", "{n}", "--image=nginx", "--replicas=0", "--port=80"),
        ("create", "namespace", "{n}"),
        ("create", "service", "clusterip", "{n}", "--tcp=80:8080", "--tcp=443:https"),
        ("create", "service", "nodeport", "{n}", "--tcp=80:http", "--node-port=30123"),
        ("create", "job", "{n}", "--image=busybox", "--", "echo", "hi"),
        ("create", "job", "{n}", "--from=cronjob/pb-cron"),
        ("create", "cronjob", "{n}", "--image=busybox", "--schedule=* * * * *", "--restart=Never"),
        ("create", "serviceaccount", "{n}"),
        ("create", "role", "{n}", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=x"),
        ("create", "rolebinding", "{n}", "--role=r", "--serviceaccount=default:sa", "--user=u"),
        ("create", "clusterrole", "{n}", "--verb=get", "--non-resource-url=/healthz"),
        ("create", "clusterrolebinding", "{n}", "--clusterrole=view", "--group=g"),
        ("create", "quota", "{n}", "--hard=cpu=1,memory=1Gi,pods=3", "--scopes=NotBestEffort"),
        ("create", "priorityclass", "{n}", "--value=100", "--preemption-policy=Never", "--description=d"),
        ("create", "poddisruptionbudget", "{n}", "--selector=app=x", "--min-available=50%"),
        ("create", "ingress", "{n}", "--rule=foo.com/bar*=svc:8080,tls=cert", "--class=traefik"),
    ],
    ids=lambda a: "-".join(p for p in a[1:3] if "{" not in p),
)
def test_generator_bodies_decode_as_kubectl_renders_them(kctl: Kubectl, args: tuple[str, ...]) -> None:
    name = unique("pb")
    argv = [a.format(n=name) for a in args]
    decoded, stdout = _sent(kctl, *argv)
    assert "created" in stdout
    cut = argv.index("--") if "--" in argv else len(argv)
    rendered = json.loads(kctl.ok(*argv[:cut], "--dry-run=client", "-o", "json", *argv[cut:]))
    assert _without_nulls(decoded) == _without_nulls(rendered)
    kind = decoded["kind"].lower()
    stored = kctl.json("get", f"{kind}.{decoded['apiVersion'].split('/')[0]}" if "/" in decoded["apiVersion"] else kind, name)
    assert stored["metadata"]["name"] == name


def test_deployment_replicas_zero_and_template(kctl: Kubectl) -> None:
    name = unique("pbd")
    kctl.ok("create", "deployment", name, "--image=nginx:1.27", "--replicas=0", "--port=8080")
    obj = kctl.json("get", "deployment", name)
    assert obj["spec"]["replicas"] == 0
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "nginx:1.27" and container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]


def test_secret_values_survive_as_bytes(kctl: Kubectl) -> None:
    name = unique("pbs")
    kctl.ok("create", "secret", "generic", name, "--from-literal=a=hello", "--from-literal=b=")
    data = kctl.json("get", "secret", name)["data"]
    assert base64.b64decode(data["a"]) == b"hello" and data["b"] == ""


def test_service_target_ports(kctl: Kubectl) -> None:
    name = unique("pbsvc")
    kctl.ok("create", "service", "clusterip", name, "--tcp=80:8080", "--tcp=443:https")
    ports = kctl.json("get", "service", name)["spec"]["ports"]
    assert [p["targetPort"] for p in ports] == [8080, "https"]


def test_job_from_cronjob(kctl: Kubectl) -> None:
    name = unique("pbj")
    kctl.ok("create", "job", name, "--from=cronjob/pb-cron")
    job = kctl.json("get", "job", name)
    (owner,) = job["metadata"]["ownerReferences"]
    assert owner["kind"] == "CronJob" and owner["name"] == "pb-cron" and owner["controller"] is True
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"


def test_create_token(kctl: Kubectl) -> None:
    name = unique("pbsa")
    kctl.ok("create", "serviceaccount", name)
    request, stdout = _sent(kctl, "create", "token", name, "--audience=api", "--duration=10m")
    assert request["kind"] == "TokenRequest"
    assert request["spec"] == {"audiences": ["api"], "expirationSeconds": 600}
    token = stdout.strip()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["aud"] == ["api"] and claims["exp"] - claims["iat"] == 600


def test_auth_can_i_and_whoami(kctl: Kubectl) -> None:
    review, stdout = _sent(kctl, "auth", "can-i", "list", "pods", "-n", "kube-system")
    assert review["kind"] == "SelfSubjectAccessReview" and stdout.strip() == "yes"
    assert review["spec"]["resourceAttributes"] == {"namespace": "kube-system", "verb": "list", "resource": "pods"}
    assert "Resources" in kctl.ok("auth", "can-i", "--list")
    assert "system:admin" in kctl.ok("auth", "whoami")


def test_run_expose_autoscale(kctl: Kubectl) -> None:
    pod = unique("pbp")
    assert f"pod/{pod} created" in kctl.ok("run", pod, "--image=nginx", "--labels=app=pbp", "--port=80", "--env=A=B")
    assert kctl.json("get", "pod", pod)["spec"]["containers"][0]["env"] == [{"name": "A", "value": "B"}]
    svc = unique("pbx")
    kctl.ok("expose", "deployment", "pb-web", "--port=8080", "--target-port=80", f"--name={svc}")
    assert kctl.json("get", "service", svc)["spec"]["ports"][0]["targetPort"] == 80
    kctl.ok("autoscale", "deployment", "pb-web", "--min=1", "--max=3", "--cpu=50%")
    hpa = kctl.json("get", "hpa.v2.autoscaling", "pb-web")
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 50}


def _post(api_server: ServerProcess, path: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"https://127.0.0.1:{api_server.port}{path}",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, context=api_server.ssl_context(), timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_our_encoding_is_accepted_and_garbage_is_400(api_server: ServerProcess) -> None:
    name = unique("pbraw")
    body = encode_protobuf({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "binaryData": {"b": "AAE="}})
    status, created = _post(api_server, "/api/v1/namespaces/default/configmaps", body, PROTOBUF_CONTENT_TYPE)
    assert status == 201 and created["binaryData"] == {"b": "AAE="}
    status, err = _post(api_server, "/api/v1/namespaces/default/configmaps", b"k8s\x00\x0a\xff", PROTOBUF_CONTENT_TYPE)
    assert status == 400 and err["reason"] == "BadRequest" and "truncated" in err["message"]
    status, err = _post(api_server, "/api/v1/namespaces/default/configmaps", b'{"kind":"ConfigMap"}', PROTOBUF_CONTENT_TYPE)
    assert status == 400 and "k8s prefix" in err["message"]


def test_drain_evicts(kctl: Kubectl) -> None:
    # kubectl 1.37 sends the Eviction itself as JSON; the drain's other writes go through the
    # same decoding path as the generators above
    node, pod = unique("pbn"), unique("pbe")
    kctl.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}})
    kctl.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    })  # fmt: skip
    proc = kctl.run("drain", node, "--force", "--grace-period=0", "--timeout=20s", timeout=40)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"pod/{pod} evicted" in proc.stdout
    assert kctl.run("get", "pod", pod).returncode != 0
