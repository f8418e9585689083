"""JSONPath templates: the cases of the kubectl JSONPath reference and client-go's tests."""

from __future__ import annotations

import pytest

from k3trio.api.jsonpath import JSONPath, JSONPathError, format_value, relaxed_expression

LIST = {
    "kind": "List",
    "items": [
        {
            "kind": "None",
            "metadata": {"name": "127.0.0.1", "labels": {"kubernetes.io/hostname": "127.0.0.1"}},
            "status": {
                "capacity": {"cpu": "4"},
                "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}],
            },
        },
        {
            "kind": "None",
            "metadata": {"name": "127.0.0.2"},
            "status": {
                "capacity": {"cpu": "8"},
                "addresses": [
                    {"type": "LegacyHostIP", "address": "127.0.0.2"},
                    {"type": "another", "address": "127.0.0.3"},
                ],
            },
        },
    ],
    "users": [
        {"name": "myself", "user": {}},
        {"name": "e2e", "user": {"username": "admin", "password": "secret"}},
    ],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.kind}", "List"),
        ("{@.kind}", "List"),
        ("{$.kind}", "List"),
        ("{.items[*].metadata.name}", "127.0.0.1 127.0.0.2"),
        ("{.items[0].metadata.name}", "127.0.0.1"),
        ("{.items[-1].metadata.name}", "127.0.0.2"),
        ("{.items[0:1].metadata.name}", "127.0.0.1"),
        ("{.items[:1].metadata.name}", "127.0.0.1"),
        ("{.items[1:].metadata.name}", "127.0.0.2"),
        ("{.items[0:2:2].metadata.name}", "127.0.0.1"),
        ("{.items[*].status.addresses[?(@.type=='LegacyHostIP')].address}", "127.0.0.1 127.0.0.2"),
        ('{.users[?(@.name=="e2e")].user.password}', "secret"),
        ("{.users[?(@.user.username)].name}", "e2e"),
        ("{.items[*].status.addresses[?(@.address=~'3$')].type}", "another"),
        ("{.items[*]['metadata.name', 'status.capacity']}", '127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"}'),
        ("{.items[0].metadata.labels.kubernetes\\.io/hostname}", "127.0.0.1"),
        ("{.items[0].status.capacity}", '{"cpu":"4"}'),
        ("{.users[0].user}", "{}"),
        ("{..capacity.cpu}", "4 8"),
        ("{.users[*].*}", 'myself {} e2e {"password":"secret","username":"admin"}'),
        ("{range .items[*]}[{.metadata.name}, {.status.capacity.cpu}] {end}", "[127.0.0.1, 4] [127.0.0.2, 8] "),
        ('{range .items[*]}{.metadata.name}{"\\t"}{end}', "127.0.0.1\t127.0.0.2\t"),
        ('{range .users[*]}{.name}{"\\n"}{end}', "myself\ne2e\n"),
        (
            "{range .items[*]}{.metadata.name}:{range .status.addresses[*]}{.type}={.address},{end} {end}",
            "127.0.0.1:LegacyHostIP=127.0.0.1, 127.0.0.2:LegacyHostIP=127.0.0.2,another=127.0.0.3, ",
        ),
        ("kind={.kind}, first={.items[0].metadata.name}", "kind=List, first=127.0.0.1"),
        ("{.items[5:5]}", ""),
    ],
)
def test_templates(template: str, expected: str) -> None:
    assert JSONPath(template).execute(LIST) == expected


def test_missing_key_error_and_allow_missing() -> None:
    with pytest.raises(JSONPathError, match="^missing is not found$"):
        JSONPath("{.items[*].missing}").execute(LIST)
    assert JSONPath("{.items[*].missing}", allow_missing_keys=True).execute(LIST) == ""
    # Missing in some items only is not an error.
    assert JSONPath("{.items[*].metadata.labels}").execute(LIST) == '{"kubernetes.io/hostname":"127.0.0.1"}'


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.kind", "unclosed action"),
        ("{.items[0}", "unterminated array"),
        ("{.items[a]}", "invalid array index a"),
        ('{"abc}', "unterminated quoted string"),
        ("{.items[?(@.a==1}", "unterminated filter"),
        ("{....a}", "invalid multiple recursive descent"),
        ("{#}", "unrecognized character in action: U+0023 '#'"),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as exc:
        JSONPath(template)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.items[9]}", "array index out of bounds: index 9, length 2"),
        ("{.kind[0]}", "string is not array or slice"),
        ("{end}", "not in range, nothing to end"),
        ("{foo}", "unrecognized identifier foo"),
        ("{.items[0:2:0]}", "step must be > 0"),
    ],
)
def test_eval_errors(template: str, message: str) -> None:
    with pytest.raises(JSONPathError) as exc:
        JSONPath(template).execute(LIST)
    assert str(exc.value) == message


def test_value_formatting_matches_go() -> None:
    data = {"i": 3, "f": 1.5, "big": 1e21, "whole": 2.0, "t": True, "n": None, "html": {"a": "<&>"}}
    assert JSONPath("{.i} {.f} {.big} {.whole} {.t} {.n}").execute(data) == "3 1.5 1e+21 2 true <nil>"
    assert JSONPath("{.html}").execute(data) == '{"a":"\\u003c\\u0026\\u003e"}'
    assert format_value([1, 2.0, "x"]) == '[1,2,"x"]'


def test_filters_compare_numbers_and_bools() -> None:
    data = {"xs": [{"n": 1, "b": True}, {"n": 5, "b": False}, {"n": 10, "b": True}]}
    assert JSONPath("{.xs[?(@.n>4)].n}").execute(data) == "5 10"
    assert JSONPath("{.xs[?(@.n<=5)].n}").execute(data) == "1 5"
    assert JSONPath("{.xs[?(@.b==true)].n}").execute(data) == "1 10"
    assert JSONPath("{.xs[?(@.n!=5)].n}").execute(data) == "1 10"
    with pytest.raises(JSONPathError, match="incompatible types for comparison"):
        JSONPath('{.xs[?(@.n=="1")]}').execute(data)


def test_json_output_mode() -> None:
    assert JSONPath("{.items[*].metadata.name}", json_output=True).execute(LIST) == (
        '[\n    "127.0.0.1",\n    "127.0.0.2"\n]\n'
    )


@pytest.mark.parametrize(
    ("expr", "out"),
    [("a.b", "{.a.b}"), (".a.b", "{.a.b}"), ("{a.b}", "{.a.b}"), ("{.a.b}", "{.a.b}"), ("", "")],
)
def test_relaxed_expression(expr: str, out: str) -> None:
    assert relaxed_expression(expr) == out


def test_relaxed_expression_rejects_templates() -> None:
    with pytest.raises(JSONPathError, match="unexpected path string"):
        relaxed_expression("{.a}{.b}")
