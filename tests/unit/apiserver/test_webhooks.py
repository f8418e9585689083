"""Admission webhooks against a real local HTTPS webhook server."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from k3trio.api.errors import APIError, BadRequest, InternalError
from k3trio.apiserver.interfaces import AdmissionAttributes, Operation
from k3trio.apiserver.webhooks import (
    MUTATING_CONFIGS,
    VALIDATING_CONFIGS,
    MutatingWebhookAdmission,
    ValidatingWebhookAdmission,
    webhook_matches,
)
from k3trio.pki import AltNames, CertificateAuthority
from tests.conftest import free_port
from tests.unit.apiserver._admission_objects import MemoryObjects, attrs, ns

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class WebhookServer:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.delay = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        review = json.loads(body)
        self.requests.append((scope["path"], scope["query_string"].decode(), review))
        if self.delay:
            await trio.sleep(self.delay)
        handler = self.handlers.get(scope["path"])
        if handler is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"404 page not found"})
            return
        response = {"uid": review["request"]["uid"], **handler(review["request"])}
        out = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out.encode()})


@pytest.fixture
async def webhook(tmp_path: Path) -> AsyncIterator[tuple[WebhookServer, str, str]]:
    ca = CertificateAuthority.generate("webhook-ca")
    leaf = ca.issue_serving_cert("webhook", AltNames.from_strings(["127.0.0.1", "hooks.default.svc"]))
    (tmp_path / "tls.crt").write_bytes(leaf.cert_pem)
    (tmp_path / "tls.key").write_bytes(leaf.key_pem)
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile = str(tmp_path / "tls.crt")
    config.keyfile = str(tmp_path / "tls.key")
    config.alpn_protocols = ["http/1.1"]
    config.accesslog = None
    config.errorlog = None
    server = WebhookServer()
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(lambda task_status: serve(server, config, shutdown_trigger=stop.wait, task_status=task_status))  # type: ignore[arg-type]
        yield server, f"https://127.0.0.1:{port}", base64.b64encode(ca.cert_pem).decode()
        stop.set()
        nursery.cancel_scope.cancel()


def hook(name: str, url: str, ca: str, **extra: Any) -> dict[str, Any]:
    h: dict[str, Any] = {
        "name": name,
        "clientConfig": {"url": url, "caBundle": ca},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "failurePolicy": "Fail",
    }
    h.update(extra)
    return h


def config(name: str, *hooks: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "webhooks": list(hooks)}


def pod(name: str = "p", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def patch(ops: list[dict[str, Any]]) -> dict[str, Any]:
    return {"allowed": True, "patchType": "JSONPatch", "patch": base64.b64encode(json.dumps(ops).encode()).decode()}


async def test_mutating_patch_and_review_shape(webhook: tuple[WebhookServer, str, str]) -> None:
    server, base, ca = webhook
    server.handlers["/mutate"] = lambda req: patch([{"op": "add", "path": "/metadata/labels/injected", "value": "yes"}])
    objs = MemoryObjects(("namespaces", ns("default")),
                         (MUTATING_CONFIGS, config("m", hook("inject.example.com", base + "/mutate", ca))))  # fmt: skip
    plugin = MutatingWebhookAdmission(objs)
    p = pod()
    a = attrs(p)
    assert plugin.handles(a)
    await plugin.admit(a)
    assert p["metadata"]["labels"] == {"injected": "yes"}
    path, query, review = server.requests[0]
    assert (path, query) == ("/mutate", "timeout=10s")
    assert review["apiVersion"] == "admission.k8s.io/v1" and review["kind"] == "AdmissionReview"
    req = review["request"]
    assert req["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert req["resource"] == {"group": "", "version": "v1", "resource": "pods"}
    assert req["operation"] == "CREATE" and req["namespace"] == "default" and req["name"] == "p"
    assert req["userInfo"]["username"] == "admin"
    assert req["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
    assert req["object"]["metadata"]["name"] == "p" and req["oldObject"] is None and req["dryRun"] is False
    # Not matching: other operations or resources.
    assert not webhook_matches(objs.list(MUTATING_CONFIGS)[0]["webhooks"][0], attrs(pod(), op=Operation.UPDATE, old=pod()), objs)


async def test_validating_denial_message_and_code(webhook: tuple[WebhookServer, str, str]) -> None:
    server, base, ca = webhook
    server.handlers["/deny"] = lambda req: {"allowed": False, "status": {"code": 403, "message": "pods named p are not allowed"}}
    server.handlers["/allow"] = lambda req: {"allowed": True, "warnings": ["careful"]}
    objs = MemoryObjects(
        (VALIDATING_CONFIGS, config("a", hook("allow.example.com", base + "/allow", ca))),
        (VALIDATING_CONFIGS, config("b", hook("deny.example.com", base + "/deny", ca))),
    )
    plugin = ValidatingWebhookAdmission(objs)
    a = attrs(pod())
    a.warnings = []  # type: ignore[attr-defined]
    with pytest.raises(APIError) as exc:
        await plugin.validate(a)
    assert exc.value.code == 403
    assert exc.value.message == 'admission webhook "deny.example.com" denied the request: pods named p are not allowed'
    assert a.warnings == ["careful"]  # type: ignore[attr-defined]
    server.handlers["/deny"] = lambda req: {"allowed": False}
    with pytest.raises(APIError) as exc:
        await plugin.validate(attrs(pod()))
    assert exc.value.code == 400
    assert exc.value.message == 'admission webhook "deny.example.com" denied the request without explanation'


async def test_failure_policy_and_tls_trust(webhook: tuple[WebhookServer, str, str]) -> None:
    server, base, ca = webhook
    other_ca = base64.b64encode(CertificateAuthority.generate("other").cert_pem).decode()
    objs = MemoryObjects((VALIDATING_CONFIGS, config("v", hook("untrusted.example.com", base + "/allow", other_ca))))
    plugin = ValidatingWebhookAdmission(objs)
    with pytest.raises(InternalError) as exc:
        await plugin.validate(attrs(pod()))
    assert exc.value.message.startswith(
        f'Internal error occurred: failed calling webhook "untrusted.example.com": Post "{base}/allow?timeout=10s": '
    )
    assert exc.value.message.endswith("tls: failed to verify certificate: x509: certificate signed by unknown authority")
    assert server.requests == []
    refused = MemoryObjects((VALIDATING_CONFIGS, config("v", hook("down.example.com", f"https://127.0.0.1:{free_port()}/x", ca))))
    with pytest.raises(InternalError) as exc:
        await ValidatingWebhookAdmission(refused).validate(attrs(pod()))
    assert exc.value.message.endswith(": connect: connection refused")
    ignore = MemoryObjects((VALIDATING_CONFIGS, config("v", hook("gone.example.com", base + "/missing", ca, failurePolicy="Ignore"))))
    await ValidatingWebhookAdmission(ignore).validate(attrs(pod()))
    fail = MemoryObjects((VALIDATING_CONFIGS, config("v", hook("gone.example.com", base + "/missing", ca))))
    with pytest.raises(InternalError) as exc:
        await ValidatingWebhookAdmission(fail).validate(attrs(pod()))
    assert exc.value.message == (
        'Internal error occurred: failed calling webhook "gone.example.com": the server could not find the requested resource'
    )


async def test_timeout(webhook: tuple[WebhookServer, str, str]) -> None:
    server, base, ca = webhook
    server.delay = 3
    server.handlers["/allow"] = lambda req: {"allowed": True}
    objs = MemoryObjects((VALIDATING_CONFIGS, config("v", hook("slow.example.com", base + "/allow", ca, timeoutSeconds=1))))
    with pytest.raises(InternalError) as exc:
        await ValidatingWebhookAdmission(objs).validate(attrs(pod()))
    assert exc.value.message == (
        f'Internal error occurred: failed calling webhook "slow.example.com": Post "{base}/allow?timeout=1s": context deadline exceeded'
    )


async def test_service_reference_and_selectors(webhook: tuple[WebhookServer, str, str]) -> None:
    server, base, ca = webhook
    server.handlers["/svc"] = lambda req: {"allowed": False, "status": {"message": "no"}}
    h = hook("svc.example.com", "", ca, namespaceSelector={"matchLabels": {"team": "a"}},
             objectSelector={"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]})  # fmt: skip
    h["clientConfig"] = {"service": {"namespace": "default", "name": "hooks", "path": "/svc", "port": 443}, "caBundle": ca}
    objs = MemoryObjects((VALIDATING_CONFIGS, config("v", h)), ("namespaces", ns("default", labels={"team": "a"})))
    seen: list[tuple[str, str, int]] = []

    def resolver(namespace: str, name: str, port: int) -> tuple[str, str]:
        seen.append((namespace, name, port))
        return base, "hooks.default.svc"

    plugin = ValidatingWebhookAdmission(objs, resolver=resolver)
    with pytest.raises(APIError):
        await plugin.validate(attrs(pod()))
    assert seen == [("default", "hooks", 443)]
    await plugin.validate(attrs(pod(labels={"skip": "1"})))  # objectSelector excludes it
    objs.add("namespaces", ns("default", labels={"team": "b"}))
    await plugin.validate(attrs(pod()))  # namespaceSelector excludes it
    assert len(server.requests) == 1


async def test_dry_run_side_effects(webhook: tuple[WebhookServer, str, str]) -> None:
    _, base, ca = webhook
    objs = MemoryObjects((MUTATING_CONFIGS, config("m", hook("effects.example.com", base + "/mutate", ca, sideEffects="Unknown"))))
    with pytest.raises(BadRequest) as exc:
        await MutatingWebhookAdmission(objs).admit(attrs(pod(), dry_run=True))
    assert exc.value.message == 'admission webhook "effects.example.com" does not support dry run'


async def test_reinvocation_if_needed(webhook: tuple[WebhookServer, str, str]) -> None:
    server, base, ca = webhook
    calls: list[str] = []

    def first(req: dict[str, Any]) -> dict[str, Any]:
        calls.append("first")
        return {"allowed": True}

    def second(req: dict[str, Any]) -> dict[str, Any]:
        calls.append("second")
        if "second" in (req["object"]["metadata"].get("labels") or {}):
            return {"allowed": True}
        return patch([{"op": "add", "path": "/metadata/labels/second", "value": "1"}])

    server.handlers["/first"], server.handlers["/second"] = first, second
    objs = MemoryObjects((MUTATING_CONFIGS, config("m",
        hook("first.example.com", base + "/first", ca, reinvocationPolicy="IfNeeded"),
        hook("second.example.com", base + "/second", ca))))  # fmt: skip
    p = pod()
    await MutatingWebhookAdmission(objs).admit(attrs(p))
    assert calls == ["first", "second", "first"]
    assert p["metadata"]["labels"] == {"second": "1"}


async def test_bad_response_uid(webhook: tuple[WebhookServer, str, str]) -> None:
    server, base, ca = webhook
    server.handlers["/allow"] = lambda req: {"uid": "wrong", "allowed": True}
    objs = MemoryObjects((VALIDATING_CONFIGS, config("v", hook("uid.example.com", base + "/allow", ca))))
    with pytest.raises(InternalError) as exc:
        await ValidatingWebhookAdmission(objs).validate(attrs(pod()))
    assert 'failed calling webhook "uid.example.com": expected response.uid=' in exc.value.message
