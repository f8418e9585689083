"""The kubelet API's pure parts: authorization attributes and streaming request parsing."""

from __future__ import annotations

import pytest

from k3trio.agent.kubelet.server import kubelet_authz_attributes
from k3trio.agent.kubelet.streaming.remote import StreamError, parse_stream_request


def test_authz_attributes() -> None:
    assert kubelet_authz_attributes("GET", "/stats/summary") == ("get", "stats")
    assert kubelet_authz_attributes("GET", "/containerLogs/ns/p/c") == ("get", "proxy")
    assert kubelet_authz_attributes("POST", "/exec/ns/p/c") == ("create", "proxy")
    assert kubelet_authz_attributes("GET", "/logs/") == ("get", "log")
    assert kubelet_authz_attributes("GET", "/pods") == ("get", "proxy")


def test_parse_exec() -> None:
    req = parse_stream_request("exec", ["ns", "p", "c"], {"command": ["sh", "-c", "true"],
                                                          "input": ["1"], "output": ["1"],
                                                          "error": ["1"], "tty": ["1"]})
    assert (req.namespace, req.pod, req.container, req.command) == ("ns", "p", "c", ["sh", "-c", "true"])
    # A terminal merges stderr into stdout.
    assert (req.stdin, req.stdout, req.stderr, req.tty) == (True, True, False, True)
    with_uid = parse_stream_request("attach", ["ns", "p", "uid1", "c"], {"stdout": ["true"]})
    assert (with_uid.uid, with_uid.container, with_uid.stdout) == ("uid1", "c", True)
    with pytest.raises(StreamError, match="at least 1 of stdin, stdout, stderr"):
        parse_stream_request("exec", ["ns", "p", "c"], {"command": ["x"]})
    with pytest.raises(StreamError, match="at least one command"):
        parse_stream_request("exec", ["ns", "p", "c"], {"output": ["1"]})


def test_parse_port_forward() -> None:
    req = parse_stream_request("portForward", ["ns", "p"], {"port": ["8080"]})
    assert (req.namespace, req.pod, req.ports) == ("ns", "p", [8080])
    with pytest.raises(StreamError):
        parse_stream_request("portForward", ["ns", "p"], {"port": ["http"]})
