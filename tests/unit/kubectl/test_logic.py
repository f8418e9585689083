"""Pure logic of k3trio kubectl: flags, kubeconfig merging, resolution, three-way patches."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from k3trio.kubectl.describe.writer import Writer, human_duration
from k3trio.kubectl.discovery import ApiResource, resolve
from k3trio.kubectl.explain import wrap
from k3trio.kubectl.flags import Flag, FlagError, FlagSet, parse_duration
from k3trio.kubectl.kubeconfig import ConfigError, Overrides, load
from k3trio.kubectl.threeway import three_way_json_merge, three_way_strategic


def _flags() -> FlagSet:
    return FlagSet([Flag("namespace", "string", "", short="n"), Flag("all", "bool", False, short="A"),
                    Flag("watch", "bool", False, short="w"), Flag("label", "slice", [], short="L"),
                    Flag("chunk-size", "int", 500), Flag("timeout", "duration", 0.0)])


def test_flags_interleaved_and_forms() -> None:
    values, pos, after = _flags().parse(
        ["get", "-nfoo", "pods", "-Aw", "-L", "a,b", "--label=c", "--chunk-size", "5", "--", "x"])
    assert pos == ["get", "pods"] and after == ["x"]
    assert values["namespace"] == "foo" and values["all"] and values["watch"]
    assert values["label"] == ["a", "b", "c"] and values["chunk_size"] == 5


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "unknown flag: --bogus"), (["-x"], "unknown shorthand flag: 'x' in -x"),
    (["-n"], "flag needs an argument: 'n' in -n"), (["--namespace"], "flag needs an argument: --namespace"),
    (["--chunk-size=x"], 'invalid argument "x" for "--chunk-size" flag: strconv.ParseInt: parsing "x": invalid syntax'),
])
def test_flag_errors(args: list[str], message: str) -> None:
    with pytest.raises(FlagError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.") + "$"):
        _flags().parse(args)


def test_durations() -> None:
    assert parse_duration("1m30s") == 90 and parse_duration("500ms") == 0.5 and parse_duration("0") == 0
    with pytest.raises(ValueError):
        parse_duration("10")


def test_kubeconfig_merge(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump({"current-context": "one", "contexts": [
        {"name": "one", "context": {"cluster": "c", "user": "u", "namespace": "ns1"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://first:6443"}}]}))
    b.write_text(yaml.safe_dump({"current-context": "two", "contexts": [
        {"name": "two", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://second:6443"}}],
        "users": [{"name": "u", "user": {"token": "t", "client-key": "rel.key"}}]}))
    (tmp_path / "rel.key").write_bytes(b"KEY")
    cfg = load(env={"KUBECONFIG": f"{a}:{tmp_path / 'missing'}:{b}", "HOME": str(tmp_path)})
    conn = cfg.connection(Overrides())
    assert conn.server == "https://first:6443" and conn.namespace == "ns1"
    assert conn.token == "t" and conn.client_key_pem == b"KEY"
    assert cfg.connection(Overrides(context="two", namespace="x")).namespace == "x"
    with pytest.raises(ConfigError, match="context was not found for specified context: nope"):
        cfg.connection(Overrides(context="nope"))
    with pytest.raises(ConfigError, match="no such file"):
        load(str(tmp_path / "absent"))


def test_kubeconfig_server_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    cfg = load()
    assert cfg.connection(Overrides()).server == "http://localhost:8080"
    if os.geteuid() != 0:
        target = tmp_path / ".k3trio" / "kubeconfig.yaml"
        target.parent.mkdir()
        target.write_text(yaml.safe_dump({"current-context": "d", "contexts": [
            {"name": "d", "context": {"cluster": "d"}}],
            "clusters": [{"name": "d", "cluster": {"server": "https://k3trio:6443"}}]}))
        assert load().connection(Overrides()).server == "https://k3trio:6443"


def test_resolution_order() -> None:
    rs = [ApiResource("", "v1", "events", "Event", True, short_names=("ev",), singular="event"),
          ApiResource("events.k8s.io", "v1", "events", "Event", True, singular="event"),
          ApiResource("apps", "v1", "deployments", "Deployment", True, short_names=("deploy",),
                      singular="deployment")]
    assert resolve(rs, "events").group == ""
    assert resolve(rs, "events.events.k8s.io").group == "events.k8s.io"
    assert resolve(rs, "deploy").resource == "deployments"
    assert resolve(rs, "Deployment").resource == "deployments"
    assert resolve(rs, "deployments.v1.apps").resource == "deployments"
    assert resolve(rs, "nope") is None


def test_three_way_strategic_merge_list_and_deletions() -> None:
    def deploy(containers: list[dict], labels: dict) -> dict:
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "d", "labels": labels},
                "spec": {"template": {"spec": {"containers": containers}}}}

    original = deploy([{"name": "a", "image": "x", "env": [{"name": "E", "value": "1"}]}],
                      {"keep": "1", "drop": "1"})
    live = deploy([{"name": "a", "image": "x", "env": [{"name": "E", "value": "1"}],
                    "imagePullPolicy": "Always"}, {"name": "sidecar", "image": "s"}],
                  {"keep": "1", "drop": "1", "server": "1"})
    modified = deploy([{"name": "a", "image": "y"}], {"keep": "1"})
    patch = three_way_strategic(original, modified, live)
    assert patch == {
        "metadata": {"labels": {"drop": None}},
        "spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "y", "env": None}],
            "$setElementOrder/containers": [{"name": "a"}]}}},
    }
    assert three_way_strategic(modified, modified, modified) == {}
    cr = {"apiVersion": "x.io/v1", "kind": "Thing", "spec": {"a": [1], "b": 1}}
    assert three_way_strategic(None, cr, cr) is None
    assert three_way_json_merge({"spec": {"b": 1}}, {"spec": {"a": [2]}}, cr) == \
        {"spec": {"a": [2], "b": None}}


def test_describe_writer_and_durations() -> None:
    w = Writer()
    w.line(0, "Name:", "x")
    w.string_map(0, "Labels", {"b": "2", "a": "1"})
    w.write(0, "Data\n====\n")
    w.line(1, "key:", "v")
    assert w.render() == "Name:    x\nLabels:  a=1\n         b=2\nData\n====\n  key:  v\n"
    assert [human_duration(s) for s in (5, 125, 3 * 3600 + 60, 50 * 3600, 400 * 86400)] == \
        ["5s", "2m5s", "3h1m", "2d2h", "400d"]


def test_explain_wrap() -> None:
    text = "Kind is a string value representing the REST resource this object represents."
    assert wrap(text) == ["Kind is a string value representing the REST resource this object",
                          "represents."]
