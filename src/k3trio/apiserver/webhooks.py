"""Admission webhooks: call the HTTPS endpoints named by (Mutating|Validating)WebhookConfigurations.

Pieces, from pure to I/O:

- :func:`webhook_matches` decides whether one webhook applies to a request: ``rules``
  (operations, apiGroups, apiVersions, resources with ``*``/``res/sub``/``*/sub``, scope),
  ``namespaceSelector`` (labels of the request's namespace; of the object itself for
  namespaces; ignored for other cluster-scoped objects), ``objectSelector`` (new or old
  object's labels). ``matchConditions`` are CEL, which we do not evaluate: a webhook with
  conditions is treated as matching. ``matchPolicy: Equivalent`` behaves as ``Exact``: each
  resource is served in one version here, so there is no other version to convert to.
- :func:`review_request` builds the ``admission.k8s.io/v1`` ``AdmissionReview``;
  :func:`check_response` validates the reply (uid, patch type) and turns a denial into
  ``admission webhook "name" denied the request: <message>`` with the webhook's status code
  (at least 400) and reason.
- :class:`WebhookCaller` does the HTTPS POST with httpx (works under Trio): ``clientConfig.url``
  or ``clientConfig.service`` through a resolver, ``caBundle`` as the only trust anchor
  (system roots without one), ``?timeout=<n>s`` and a deadline of ``timeoutSeconds``
  (default 10). Transport failures become ``failed calling webhook "name": <reason>``.
- :class:`MutatingWebhookAdmission` calls matching mutating webhooks one by one in
  configuration-name order, applying JSONPatch responses; webhooks with
  ``reinvocationPolicy: IfNeeded`` are called once more if a later webhook changed the object.
  :class:`ValidatingWebhookAdmission` calls matching validating webhooks concurrently and
  reports the first rejection in order.

Invariants: ``failurePolicy: Ignore`` (v1 defaults to ``Fail``) only forgives *calling*
failures, never a denial; a dry-run request never reaches a webhook whose ``sideEffects`` is
not ``None``/``NoneOnDryRun`` (``admission webhook "x" does not support dry run``, 400);
warnings from responses are appended to ``attrs.warnings`` when the attributes carry such a
list; ``auditAnnotations`` are ignored.
"""

from __future__ import annotations

import base64
import copy
import json
import ssl
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import trio

if TYPE_CHECKING:
    import httpx

from k3trio.api import labels as labelsel
from k3trio.api.errors import APIError, BadRequest, Details, InternalError
from k3trio.api.patch import PatchError, apply_json_patch
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation
from k3trio.pki import client_ssl_context

__all__ = [
    "MUTATING_CONFIGS",
    "VALIDATING_CONFIGS",
    "CallError",
    "MutatingWebhookAdmission",
    "ServiceResolver",
    "ValidatingWebhookAdmission",
    "WebhookCaller",
    "check_response",
    "review_request",
    "webhook_matches",
]

MUTATING_CONFIGS = "mutatingwebhookconfigurations.admissionregistration.k8s.io"
VALIDATING_CONFIGS = "validatingwebhookconfigurations.admissionregistration.k8s.io"
DEFAULT_TIMEOUT_SECONDS = 10
_OPTIONS_KIND = {
    Operation.CREATE: "CreateOptions",
    Operation.UPDATE: "UpdateOptions",
    Operation.DELETE: "DeleteOptions",
    Operation.CONNECT: "",
}

#: ``(namespace, name, port) -> (base URL "https://host:port", TLS server name) | None``.
ServiceResolver = Callable[[str, str, int], "tuple[str, str] | None"]


class CallError(Exception):
    """Calling a webhook failed (``ErrCallingWebhook``); ``str()`` is the reason."""


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def _rule_matches(rule: Mapping[str, Any], attrs: AdmissionAttributes) -> bool:
    ops = rule.get("operations") or []
    if "*" not in ops and attrs.operation.value not in ops:
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.group not in groups:
        return False
    versions = rule.get("apiVersions") or []
    if "*" not in versions and attrs.version not in versions:
        return False
    scope = rule.get("scope") or "*"
    if scope == "Namespaced" and not attrs.namespace:
        return False
    if scope == "Cluster" and attrs.namespace:
        return False
    for entry in rule.get("resources") or []:
        res, _, sub = str(entry).partition("/")
        if (res == "*" or res == attrs.resource) and (sub == "*" or sub == attrs.subresource):
            return True
    return False


def _labels_of(obj: Mapping[str, Any] | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


def webhook_matches(hook: Mapping[str, Any], attrs: AdmissionAttributes, objects: ObjectSource) -> bool:
    """Whether ``hook`` (one entry of ``webhooks``) applies to the request."""
    if not any(_rule_matches(r, attrs) for r in hook.get("rules") or [] if isinstance(r, dict)):
        return False
    ns_selector = hook.get("namespaceSelector")
    if ns_selector is not None:
        sel = labelsel.from_label_selector(ns_selector)
        if attrs.group == "" and attrs.resource == "namespaces":
            if not sel.matches(_labels_of(attrs.obj if attrs.obj is not None else attrs.old)):
                return False
        elif attrs.namespace:
            ns = objects.get("namespaces", "", attrs.namespace)
            if not sel.matches(_labels_of(ns)):
                return False
    obj_selector = hook.get("objectSelector")
    if obj_selector is not None:
        sel = labelsel.from_label_selector(obj_selector)
        candidates = [o for o in (attrs.obj, attrs.old) if o is not None]
        if not any(sel.matches(_labels_of(o)) for o in candidates) and candidates:
            return False
    return True


# --------------------------------------------------------------------------------------------
# AdmissionReview
# --------------------------------------------------------------------------------------------


def review_request(attrs: AdmissionAttributes, uid: str, review_version: str = "v1") -> dict[str, Any]:
    """The ``AdmissionReview`` body for ``attrs``."""
    kind = {"group": attrs.group, "version": attrs.version, "kind": attrs.kind}
    resource = {"group": attrs.group, "version": attrs.version, "resource": attrs.resource}
    request: dict[str, Any] = {
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": dict(kind),
        "requestResource": dict(resource),
    }
    if attrs.subresource:
        request["subResource"] = attrs.subresource
        request["requestSubResource"] = attrs.subresource
    if attrs.name:
        request["name"] = attrs.name
    if attrs.namespace:
        request["namespace"] = attrs.namespace
    request["operation"] = attrs.operation.value
    request["userInfo"] = attrs.user.to_json()
    request["object"] = attrs.obj
    request["oldObject"] = attrs.old
    request["dryRun"] = attrs.dry_run
    options_kind = _OPTIONS_KIND[attrs.operation]
    if options_kind:
        request["options"] = {"kind": options_kind, "apiVersion": "meta.k8s.io/v1", **attrs.options}
    return {"kind": "AdmissionReview", "apiVersion": f"admission.k8s.io/{review_version}", "request": request}


@dataclass
class Verdict:
    allowed: bool
    patch: list[Any] | None
    warnings: list[str]
    denial: APIError | None


def _denial(name: str, status: Mapping[str, Any] | None) -> APIError:
    status = dict(status or {})
    denied_by = f'admission webhook "{name}" denied the request'
    if status.get("message"):
        message = f"{denied_by}: {status['message']}"
    elif status.get("reason"):
        message = f"{denied_by}: {status['reason']}"
    else:
        message = f"{denied_by} without explanation"
    code = status.get("code") if isinstance(status.get("code"), int) else 0
    details = None
    raw = status.get("details")
    if isinstance(raw, dict):
        details = Details(
            name=str(raw.get("name", "")),
            group=str(raw.get("group", "")),
            kind=str(raw.get("kind", "")),
            uid=str(raw.get("uid", "")),
            causes=[c for c in raw.get("causes") or [] if isinstance(c, dict)],
            retry_after_seconds=int(raw.get("retryAfterSeconds") or 0),
        )
    return APIError(message, code=max(int(code or 0), 400), reason=str(status.get("reason", "")), details=details)


def check_response(name: str, body: Any, uid: str, *, mutating: bool) -> Verdict:
    """Interpret an AdmissionReview reply.

    Raises:
        CallError: the reply is malformed (wrong uid, patch without a type, bad patch...).
    """
    if not isinstance(body, dict) or not isinstance(body.get("response"), dict):
        raise CallError("received invalid webhook response: expected response, got none")
    resp = body["response"]
    if resp.get("uid") != uid:
        raise CallError(f'expected response.uid="{uid}", got "{resp.get("uid", "")}"')
    warnings = [str(w) for w in resp.get("warnings") or []]
    if not resp.get("allowed"):
        return Verdict(False, None, warnings, _denial(name, resp.get("status")))
    patch_b64 = resp.get("patch")
    patch_type = resp.get("patchType")
    patch = None
    if patch_b64:
        if not mutating:
            raise CallError("validating webhook may not return response.patch")
        if not patch_type:
            raise CallError("webhook returned response.patch but not response.patchType")
        if patch_type != "JSONPatch":
            raise CallError(f'unsupported patch type "{patch_type}"')
        try:
            patch = json.loads(base64.b64decode(patch_b64))
        except (ValueError, TypeError) as exc:
            raise CallError(f"received invalid webhook response: {exc}") from None
    elif patch_type and patch_type != "JSONPatch":
        raise CallError(f'webhook returned invalid response.patchType of "{patch_type}"')
    return Verdict(True, patch, warnings, None)


# --------------------------------------------------------------------------------------------
# Calling
# --------------------------------------------------------------------------------------------


def _transport_reason(exc: BaseException, netloc: str) -> str:
    """A transport failure in the words Go's HTTP client uses for the common cases."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    text = " ".join(f"{type(e).__name__} {e}" for e in chain)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        if "Hostname mismatch" in text or "IP address mismatch" in text:
            return "tls: failed to verify certificate: x509: certificate is not valid for the requested name"
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    if "ConnectionRefused" in text or "Connection refused" in text or "all attempts to connect" in text:
        return f"dial tcp {netloc}: connect: connection refused"
    for e in chain:
        if str(e):
            return str(e)
    return type(exc).__name__


def _status_text(resp: httpx.Response) -> str:
    if resp.status_code == 404:
        return "the server could not find the requested resource"
    body = resp.text.strip()
    return f'an error on the server ("{body[:200]}") has prevented the request from succeeding'


class WebhookCaller:
    """Sends AdmissionReviews; one TLS context per distinct ``caBundle``.

    Args:
        resolver: maps ``clientConfig.service`` to a base URL and TLS server name.
    """

    def __init__(self, resolver: ServiceResolver) -> None:
        self._resolver = resolver
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _context(self, ca_bundle: str | None) -> ssl.SSLContext:
        key = ca_bundle or ""
        ctx = self._contexts.get(key)
        if ctx is None:
            ca_pem = base64.b64decode(ca_bundle) if ca_bundle else None
            ctx = client_ssl_context(ca_pem=ca_pem, alpn=("http/1.1",))
            self._contexts[key] = ctx
        return ctx

    def _target(self, name: str, config: Mapping[str, Any]) -> tuple[str, str | None]:
        if config.get("url"):
            return str(config["url"]), None
        svc = config.get("service") or {}
        port = int(svc.get("port") or 443)
        resolved = self._resolver(str(svc.get("namespace", "")), str(svc.get("name", "")), port)
        if resolved is None:
            raise CallError(f'service "{svc.get("name", "")}" not found')
        base, server_name = resolved
        return base.rstrip("/") + str(svc.get("path") or ""), server_name

    async def call(self, hook: Mapping[str, Any], review: dict[str, Any]) -> Any:
        """POST ``review``; returns the decoded JSON reply. Raises CallError."""
        import httpx  # only when a webhook is actually called: keeps server start-up light

        name = str(hook.get("name", ""))
        config = hook.get("clientConfig") or {}
        timeout = int(hook.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS)
        url, server_name = self._target(name, config)
        parts = urlsplit(url)
        query = (parts.query + "&" if parts.query else "") + f"timeout={timeout}s"
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        extensions = {"sni_hostname": server_name} if server_name else {}
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if server_name:
            headers["Host"] = server_name
        try:
            with trio.fail_after(timeout):
                async with httpx.AsyncClient(verify=self._context(config.get("caBundle")), timeout=timeout) as client:
                    resp = await client.post(url, content=json.dumps(review).encode(), headers=headers,
                                             extensions=extensions)  # fmt: skip
        except trio.TooSlowError:
            raise CallError(f'Post "{url}": context deadline exceeded') from None
        except httpx.TimeoutException:
            raise CallError(f'Post "{url}": context deadline exceeded') from None
        except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
            raise CallError(f'Post "{url}": {_transport_reason(exc, parts.netloc)}') from None
        if resp.status_code != 200:
            raise CallError(_status_text(resp))
        try:
            return resp.json()
        except ValueError as exc:
            raise CallError(f"received invalid webhook response: {exc}") from None


def _cluster_ip_resolver(objects: ObjectSource) -> ServiceResolver:
    def resolve(namespace: str, name: str, port: int) -> tuple[str, str] | None:
        svc = objects.get("services", namespace, name)
        ip = ((svc or {}).get("spec") or {}).get("clusterIP")
        if not ip or ip == "None":
            return None
        host = f"[{ip}]" if ":" in ip else ip
        return f"https://{host}:{port}", f"{name}.{namespace}.svc"

    return resolve


# --------------------------------------------------------------------------------------------
# The two plugins
# --------------------------------------------------------------------------------------------


def _review_version(hook: Mapping[str, Any]) -> str | None:
    for v in hook.get("admissionReviewVersions") or ["v1"]:
        if v in ("v1", "v1beta1"):
            return str(v)
    return None


def _hooks(objects: ObjectSource, resource: str) -> list[dict[str, Any]]:
    configs = sorted(objects.list(resource), key=lambda c: str((c.get("metadata") or {}).get("name", "")))
    return [h for c in configs for h in c.get("webhooks") or [] if isinstance(h, dict)]


def _record_warnings(attrs: AdmissionAttributes, warnings: Sequence[str]) -> None:
    sink = getattr(attrs, "warnings", None)
    if isinstance(sink, list):
        sink.extend(warnings)


class _WebhookPlugin:
    configs: str = ""
    mutating: bool = False

    def __init__(self, objects: ObjectSource, *, resolver: ServiceResolver | None = None) -> None:
        self._objects = objects
        self.caller = WebhookCaller(resolver or _cluster_ip_resolver(objects))

    def handles(self, attrs: AdmissionAttributes) -> bool:
        # Webhook configurations themselves are never subject to webhooks (no lock-out).
        if attrs.group == "admissionregistration.k8s.io":
            return False
        return bool(self._objects.list(self.configs))

    def matching(self, attrs: AdmissionAttributes) -> list[dict[str, Any]]:
        return [h for h in _hooks(self._objects, self.configs) if webhook_matches(h, attrs, self._objects)]

    async def _run_one(self, hook: Mapping[str, Any], attrs: AdmissionAttributes) -> Verdict | None:
        """Call ``hook``; None when a call failure was ignored. Raises the APIError to return."""
        name = str(hook.get("name", ""))
        if attrs.dry_run and hook.get("sideEffects") not in ("None", "NoneOnDryRun"):
            raise BadRequest(f'admission webhook "{name}" does not support dry run')
        fail_open = hook.get("failurePolicy") == "Ignore"
        version = _review_version(hook)
        try:
            if version is None:
                raise CallError("webhook does not accept known AdmissionReview versions")
            uid = str(uuid.uuid4())
            body = await self.caller.call(hook, review_request(attrs, uid, version))
            verdict = check_response(name, body, uid, mutating=self.mutating)
        except CallError as exc:
            if fail_open:
                return None
            raise InternalError(f'failed calling webhook "{name}": {exc}') from None
        _record_warnings(attrs, verdict.warnings)
        if verdict.denial is not None:
            raise verdict.denial
        return verdict


class MutatingWebhookAdmission(_WebhookPlugin):
    """The ``MutatingAdmissionWebhook`` plugin (mutating)."""

    name = "MutatingAdmissionWebhook"
    configs = MUTATING_CONFIGS
    mutating = True

    async def admit(self, attrs: AdmissionAttributes) -> None:
        hooks = self.matching(attrs)
        # For each IfNeeded webhook: the object as it left that webhook's call.
        seen_after: dict[int, Any] = {}
        for i, hook in enumerate(hooks):
            await self._mutate(hook, attrs)
            if hook.get("reinvocationPolicy") == "IfNeeded":
                seen_after[i] = copy.deepcopy(attrs.obj)
        for i, hook in enumerate(hooks):
            if i in seen_after and seen_after[i] != attrs.obj:
                await self._mutate(hook, attrs)

    async def _mutate(self, hook: Mapping[str, Any], attrs: AdmissionAttributes) -> None:
        verdict = await self._run_one(hook, attrs)
        if verdict is None or verdict.patch is None or attrs.obj is None:
            return
        try:
            patched = apply_json_patch(attrs.obj, verdict.patch)
        except PatchError as exc:
            raise InternalError(str(exc)) from None
        if not isinstance(patched, dict):
            raise InternalError(f'failed calling webhook "{hook.get("name", "")}": patched object is not an object')
        attrs.obj.clear()
        attrs.obj.update(patched)


class ValidatingWebhookAdmission(_WebhookPlugin):
    """The ``ValidatingAdmissionWebhook`` plugin (validating; webhooks run concurrently)."""

    name = "ValidatingAdmissionWebhook"
    configs = VALIDATING_CONFIGS

    async def validate(self, attrs: AdmissionAttributes) -> None:
        hooks = self.matching(attrs)
        errors: list[APIError | None] = [None] * len(hooks)

        async def one(i: int, hook: Mapping[str, Any]) -> None:
            try:
                await self._run_one(hook, attrs)
            except APIError as exc:
                errors[i] = exc

        async with trio.open_nursery() as nursery:
            for i, hook in enumerate(hooks):
                nursery.start_soon(one, i, hook)
        for err in errors:
            if err is not None:
                raise err
