"""Pure printing pieces of k3trio kubectl: tabwriter, YAML/JSON formatting, tables."""

from __future__ import annotations

import functools

from k3trio.kubectl.printers.tabwriter import format_rows
from k3trio.kubectl.printers.table import TableOptions, cell_text, header_row, label_text, table_rows
from k3trio.kubectl.printers.yamlfmt import dump_yaml, go_json_indent, go_yaml_key


def test_tabwriter_min_width_and_padding() -> None:
    assert format_rows([["NAME", "DATA", "AGE"], ["a", "1", "5s"]]) == \
        "NAME   DATA   AGE\na      1      5s\n"
    # a row with fewer cells ends the column block (widths computed per block)
    text = format_rows([["x", "y"], ["longer-cell", "z"], ["solo"], ["q", "r"]])
    assert text.splitlines() == ["x             y", "longer-cell   z", "solo", "q     r"]


def test_yaml_quoting_as_go_yaml() -> None:
    doc = {"a": "true", "b": "123", "c": "", "d": "foo: bar", "e": "x\ny\n", "f": "x\ny",
           "g": "2001-12-14", "h": "1e3", "i": " lead", "k": "héllo", "l": "yes", "m": "0x1F",
           "n": "~", "o": "#c", "r": "1:20", "s": ".5", "t": "null", "u": "plain"}
    assert dump_yaml(doc) == (
        'a: "true"\nb: "123"\nc: ""\nd: \'foo: bar\'\ne: |\n  x\n  y\nf: |-\n  x\n  y\n'
        'g: "2001-12-14"\nh: "1e3"\ni: \' lead\'\nk: héllo\nl: "yes"\nm: "0x1F"\n"n": "~"\n'
        'o: \'#c\'\nr: "1:20"\ns: ".5"\nt: "null"\nu: plain\n')


def test_yaml_numbers_lists_and_empty() -> None:
    assert dump_yaml({"x": 1.0, "y": 1.5, "z": [1, {"a": None}], "w": {}, "v": []}) == \
        "v: []\nw: {}\nx: 1\n\"y\": 1.5\nz:\n- 1\n- a: null\n"  # "y" reads back as a bool


def test_go_yaml_key_order() -> None:
    keys = ["key_10", "key_9", "Key-B", "key.a", "a-b", "ab", "_x", "B"]
    ordered = sorted(keys, key=functools.cmp_to_key(go_yaml_key))
    assert ordered == ["_x", "B", "Key-B", "a-b", "ab", "key.a", "key_9", "key_10"]


def test_json_html_escaping_and_order() -> None:
    assert go_json_indent({"b": "<&>", "a": 2.0}) == \
        '{\n    "a": 2,\n    "b": "\\u003c\\u0026\\u003e"\n}\n'
    assert go_json_indent({"b": 1, "a": 2}, indent=2, sort_keys=False) == '{\n  "b": 1,\n  "a": 2\n}\n'


def test_table_rows() -> None:
    table = {"columnDefinitions": [{"name": "Name", "priority": 0}, {"name": "Data", "priority": 0},
                                   {"name": "Extra", "priority": 1}],
             "rows": [{"cells": ["cm", 2, "x"],
                       "object": {"metadata": {"name": "cm", "namespace": "ns",
                                               "labels": {"b": "2", "a": "1"}}}}]}
    opts = TableOptions(with_namespace=True, show_labels=True, label_columns=["app.io/a"],
                        kind_prefix="configmap/")
    assert header_row(table, opts) == ["NAMESPACE", "NAME", "DATA", "A", "LABELS"]
    assert table_rows(table, opts) == [["ns", "configmap/cm", "2", "", "a=1,b=2"]]
    assert header_row(table, TableOptions(wide=True)) == ["NAME", "DATA", "EXTRA"]
    assert cell_text("a\nb") == "a..." and cell_text(None) == "" and cell_text(True) == "true"
    assert label_text({}) == "<none>"
