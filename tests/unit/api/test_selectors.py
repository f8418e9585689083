"""Label and field selectors parse, print and match like apimachinery."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3trio.api import fields, labels
from k3trio.api.fields import FieldSelectorError
from k3trio.api.labels import SelectorError


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("a=b", "a=b"),
        ("a==b", "a==b"),
        ("a!=b", "a!=b"),
        ("x in (b, a,a)", "x in (a,b)"),
        ("x notin (a)", "x notin (a)"),
        ("b,a", "a,b"),
        ("!a", "!a"),
        ("a>1,b<2", "a>1,b<2"),
        ("a=", "a="),
        ("a in ()", "a in ()"),
        ("in in (in)", "in in (in)"),
        ("  app = web , tier notin (db,cache)  ", "app=web,tier notin (cache,db)"),
        ("example.com/x=y", "example.com/x=y"),
    ],
)
def test_parse_and_print(text: str, canonical: str) -> None:
    assert str(labels.parse(text)) == canonical


def test_matching() -> None:
    ls = {"app": "web", "tier": "front", "n": "5"}
    assert labels.parse("").matches(ls)
    assert labels.parse("app=web,tier in (front,back)").matches(ls)
    assert not labels.parse("app!=web").matches(ls)
    assert labels.parse("missing!=x").matches(ls)
    assert labels.parse("missing notin (x)").matches(ls)
    assert not labels.parse("missing in (x)").matches(ls)
    assert labels.parse("app,!missing").matches(ls)
    assert labels.parse("n>4,n<6").matches(ls)
    assert not labels.parse("app>1").matches(ls)
    assert not labels.NOTHING.matches(ls)
    assert labels.EVERYTHING.matches(None)


QUALIFIED = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("app:monolith", f'unable to parse requirement: <nil>: Invalid value: "app:monolith": {QUALIFIED}'),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a,", "found '', expected: identifier after ','"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a>x", 'unable to parse requirement: values[0]: Invalid value: "x": for \'Gt\', \'Lt\' operators, the value must be an integer'),
        ("!=", "found '!=', expected: !, identifier, or 'end of string'"),
        ("!!a", "unable to parse requirement: found '!', expected: identifier"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        labels.parse(text)
    assert str(info.value) == message


def test_bad_value_error_names_the_key() -> None:
    with pytest.raises(SelectorError) as info:
        labels.parse("a=-bad")
    assert str(info.value).startswith('unable to parse requirement: values[0][a]: Invalid value: "-bad": a valid label')


def test_label_selector_objects() -> None:
    obj = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["b", "a"]},
            {"key": "gone", "operator": "DoesNotExist"},
        ],
    }
    sel = labels.from_label_selector(obj)
    assert str(sel) == "app=web,!gone,tier in (a,b)"
    assert sel.matches({"app": "web", "tier": "a"})
    assert labels.from_label_selector(None) is labels.NOTHING
    assert labels.from_label_selector({}).empty
    with pytest.raises(SelectorError, match='"Bogus" is not a valid label selector operator'):
        labels.from_label_selector({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})
    with pytest.raises(SelectorError, match="values set can't be empty"):
        labels.from_label_selector({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
    back = labels.to_label_selector("app=web,tier in (a,b),!gone")
    assert back == {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "gone", "operator": "DoesNotExist"},
                             {"key": "tier", "operator": "In", "values": ["a", "b"]}],
    }
    assert str(labels.from_label_selector(back)) == "app=web,!gone,tier in (a,b)"
    assert str(labels.selector_from_set({"b": "2", "a": "1"})) == "a=1,b=2"


keys = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)
values = st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True)


@given(st.dictionaries(keys, values, max_size=4), st.dictionaries(keys, values, max_size=4))
def test_set_selector_round_trip(wanted: dict[str, str], have: dict[str, str]) -> None:
    sel = labels.selector_from_set(wanted)
    again = labels.parse(str(sel))
    assert str(again) == str(sel)
    assert again.matches(have) == all(have.get(k) == v for k, v in wanted.items())


# -- field selectors -----------------------------------------------------------------------------


def test_field_parse_and_escape() -> None:
    sel = fields.parse("metadata.name=a\\,b,spec.nodeName!=,status.phase==Running")
    assert [(t.field, t.value, t.negated) for t in sel.terms] == [
        ("metadata.name", "a,b", False), ("spec.nodeName", "", True), ("status.phase", "Running", False)
    ]
    assert str(sel) == "metadata.name=a\\,b,spec.nodeName!=,status.phase=Running"
    assert sel.requires_exact("metadata.name") == "a,b"
    assert fields.parse("").empty
    assert fields.unescape_value(fields.escape_value("a=b\\c,d")) == "a=b\\c,d"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
        ("a=b=c", "invalid field selector: unescaped character in value: 61"),
        ("a=b\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_field_parse_errors(text: str, message: str) -> None:
    with pytest.raises(FieldSelectorError) as info:
        fields.parse(text)
    assert str(info.value) == message


POD = {
    "metadata": {"name": "p", "namespace": "ns"},
    "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
             "serviceAccountName": "default"},
    "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}]},
}


def test_pod_fields() -> None:
    fs = fields.field_set("", "Pod", POD)
    assert fs["spec.nodeName"] == "n1" and fs["spec.hostNetwork"] == "false"
    assert fs["status.podIP"] == "10.0.0.5" and fs["status.nominatedNodeName"] == ""
    sel = fields.convert_selector("", "Pod", fields.parse("spec.host=n1,status.phase!=Failed"))
    assert str(sel) == "spec.nodeName=n1,status.phase!=Failed"
    assert sel.matches(fs)
    assert not fields.parse("metadata.namespace=other").matches(fs)


@pytest.mark.parametrize(
    ("group", "kind", "selector", "message"),
    [
        ("", "Pod", "spec.bogus=x", "field label not supported: spec.bogus"),
        ("", "ConfigMap", "data.x=y", 'field label "data.x" not supported for "ConfigMap"'),
        ("apps", "Deployment", "spec.replicas=1",
         '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    ],
)
def test_unsupported_fields(group: str, kind: str, selector: str, message: str) -> None:
    with pytest.raises(FieldSelectorError) as info:
        fields.convert_selector(group, kind, fields.parse(selector))
    assert str(info.value) == message


def test_other_kinds_fields() -> None:
    event = {"metadata": {"name": "e", "namespace": "ns"}, "involvedObject": {"kind": "Pod", "name": "p"},
             "reason": "Started", "type": "Normal", "reportingComponent": "kubelet"}
    fs = fields.field_set("", "Event", event)
    assert fs["involvedObject.kind"] == "Pod" and fs["source"] == "kubelet"
    node = fields.field_set("", "Node", {"metadata": {"name": "n"}, "spec": {"unschedulable": True}}, namespaced=False)
    assert node == {"metadata.name": "n", "spec.unschedulable": "true"}
    assert fields.field_set("", "Secret", {"type": "Opaque"})["type"] == "Opaque"
    assert fields.field_set("batch", "Job", {"status": {"succeeded": 2}})["status.successful"] == "2"
    svc = fields.field_set("", "Service", {"spec": {"clusterIP": "10.43.0.1", "type": "ClusterIP"}})
    assert svc["spec.clusterIP"] == "10.43.0.1"
    csr = fields.convert_selector("certificates.k8s.io", "CertificateSigningRequest",
                                  fields.parse("spec.signerName=kubernetes.io/kubelet-serving"))
    assert csr.terms[0].value == "kubernetes.io/kubelet-serving"
    custom = fields.convert_selector("example.com", "Widget", fields.parse("spec.color=red"),
                                     extra_fields={"spec.color": lambda o: o["spec"]["color"]})
    assert str(custom) == "spec.color=red"
