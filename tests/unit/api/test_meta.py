"""Metadata helpers and the API error tree's Status objects."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from k3trio.api import errors as e
from k3trio.api import meta
from k3trio.api.errors import FieldError


def test_time_formats_and_parse() -> None:
    t = datetime(2026, 11, 24, 21, 0, 0, 123456, tzinfo=timezone.utc)
    assert meta.format_time(t) == "2026-11-24T21:00:00Z"
    assert meta.format_micro_time(t) == "2026-11-24T21:00:00.123456Z"
    assert meta.parse_time("2026-11-24T22:00:00+01:00") == datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)
    assert meta.parse_time("2026-11-24T21:00:00.5Z").microsecond == 500000


def test_generate_name_and_uid() -> None:
    rng = random.Random(1)
    name = meta.generate_name("web-", random=rng.choice)
    assert name.startswith("web-") and len(name) == 9
    assert all(c in meta.GENERATE_NAME_ALPHABET for c in name[4:])
    assert len(meta.generate_name("x" * 80)) == 63
    assert len(meta.new_uid()) == 36


def test_accessors() -> None:
    obj = {"metadata": {"name": "a", "namespace": "n", "labels": {"k": "v"}, "finalizers": ["f"],
                        "ownerReferences": [{"kind": "ReplicaSet", "name": "r", "controller": True}],
                        "deletionTimestamp": "2026-11-24T21:00:00Z"}}
    assert (meta.name(obj), meta.namespace(obj), meta.labels(obj), meta.finalizers(obj)) == ("a", "n", {"k": "v"}, ["f"])
    assert meta.controller_of(obj) == {"kind": "ReplicaSet", "name": "r", "controller": True}
    assert meta.is_being_deleted(obj) and not meta.is_being_deleted({})
    assert meta.name({"metadata": None}) == ""


def test_metadata_update_rules() -> None:
    old = {"metadata": {"name": "a", "namespace": "n", "uid": "1", "resourceVersion": "4", "generation": 3,
                        "creationTimestamp": "2026-11-24T21:00:00Z", "deletionTimestamp": "2026-11-24T21:05:00Z",
                        "finalizers": ["a/b"]}}
    new = {"metadata": {**old["metadata"], "namespace": "m", "generation": 2, "finalizers": ["a/b", "c/d"]}}
    out = [str(x) for x in meta.validate_object_meta_update(new, old)]
    assert out == [
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"c/d"}',
        "metadata.generation: Invalid value: 2: must not be decremented",
        'metadata.namespace: Invalid value: "m": field is immutable',
    ]


def test_field_error_bodies() -> None:
    assert str(FieldError.required("spec.x", "")) == "spec.x: Required value"
    assert str(FieldError.invalid("spec.x", "v", "bad")) == 'spec.x: Invalid value: "v": bad'
    assert str(FieldError.invalid("spec.n", 5, "bad")) == "spec.n: Invalid value: 5: bad"
    assert str(FieldError.invalid("spec.b", True, "bad")) == "spec.b: Invalid value: true: bad"
    assert str(FieldError.invalid("spec.p", None, "bad")) == "spec.p: Invalid value: null: bad"
    assert str(FieldError.not_supported("t", "x", ["a", "b"])) == 't: Unsupported value: "x": supported values: "a", "b"'
    assert str(FieldError.duplicate("n", "x")) == 'n: Duplicate value: "x"'
    assert str(FieldError.forbidden("n", "no")) == "n: Forbidden: no"
    assert str(FieldError.too_long("d", "xxx", 3)) == "d: Too long: must have at most 3 bytes"
    assert str(FieldError.too_many("l", 5, 3)) == "l: Too many: 5: must have at most 3 items"
    assert str(FieldError.not_found("v", "x")) == 'v: Not found: "x"'
    assert FieldError.required("a.b", "").to_cause() == {"reason": "FieldValueRequired", "message": "Required value", "field": "a.b"}


def test_invalid_message_aggregation() -> None:
    one = e.Invalid("Pod", "p", [FieldError.required("spec.containers", "")])
    assert one.message == 'Pod "p" is invalid: spec.containers: Required value'
    two = e.Invalid("Deployment", "d", [FieldError.required("a", ""), FieldError.required("b", ""), FieldError.required("a", "")],
                    group="apps")
    assert two.message == 'Deployment.apps "d" is invalid: [a: Required value, b: Required value]'
    assert e.Invalid("Pod", "p", []).message == 'Pod "p" is invalid'
    status = two.to_status()
    assert list(status) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["details"]["name"] == "d" and status["details"]["group"] == "apps" and status["details"]["kind"] == "Deployment"
    assert len(status["details"]["causes"]) == 3


def test_api_error_statuses() -> None:
    nf = e.NotFound("deployments", "web", group="apps").to_status()
    assert nf == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": 'deployments.apps "web" not found', "reason": "NotFound",
                  "details": {"name": "web", "group": "apps", "kind": "deployments"}, "code": 404}
    assert e.AlreadyExists("pods", "p").message == 'pods "p" already exists'
    c = e.Conflict("pods", "p")
    assert (c.code, c.reason) == (409, "Conflict")
    assert c.message == ('Operation cannot be fulfilled on pods "p": the object has been modified; '
                         "please apply your changes to the latest version and try again")
    f = e.Forbidden.for_request(user="system:anonymous", verb="list", resource="pods", namespace="default")
    assert f.message == ('pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" '
                         'in the namespace "default"')
    f2 = e.Forbidden.for_request(user="bob", verb="get", resource="nodes", name="n1", subresource="proxy")
    assert f2.message == 'nodes "n1" is forbidden: User "bob" cannot get resource "nodes/proxy" in API group "" at the cluster scope'
    assert e.Forbidden.for_path(user="bob", verb="get", path="/metrics").message == 'forbidden: User "bob" cannot get path "/metrics"'
    assert e.Unauthorized().to_status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                            "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert e.MethodNotSupported("pods", "deletecollection").message == 'deletecollection is not supported on resources of kind "pods"'
    gone = e.Gone("too old resource version: 1 (5)")
    assert (gone.code, gone.reason) == (410, "Expired")
    assert e.Gone("x", expired=False).reason == "Gone"
    tmr = e.TooManyRequests("slow down", 1).to_status()
    assert tmr["details"] == {"retryAfterSeconds": 1} and tmr["code"] == 429
    assert e.InternalError("boom").to_status()["details"] == {"causes": [{"message": "boom"}]}
    assert e.InternalError("boom").message == "Internal error occurred: boom"
    assert e.Timeout("request did not complete within 60s", 2).message == "Timeout: request did not complete within 60s"
    assert e.RequestEntityTooLarge("limit is 3145728").message == "Request entity too large: limit is 3145728"
    for cls, code in ((e.BadRequest, 400), (e.NotAcceptable, 406), (e.UnsupportedMediaType, 415), (e.ServiceUnavailable, 503)):
        err = cls("m")
        assert err.to_status()["code"] == code and err.message == "m" and isinstance(err, e.APIError)
