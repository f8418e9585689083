"""The API server's side of pod streaming: container choice, kubelet parameters, responses."""

from __future__ import annotations

import ssl

import pytest
import trio
import trio.testing

from k3trio.api.errors import BadRequest, InternalError
from k3trio.apiserver.handlers.podproxy import (
    KubeletTarget,
    choose_container,
    kubelet_stream_query,
    parse_response_head,
    read_response_head,
    splice,
    waiting_message,
)

POD = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}],
                                            "initContainers": [{"name": "i"}]}}


def test_choose_container() -> None:
    assert choose_container({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}}, "") == "a"
    assert choose_container(POD, "i") == "i"
    with pytest.raises(BadRequest, match=r"a container name must be specified for pod p, choose one of: \[a b\] "
                                         r"or one of the init containers: \[i\]"):
        choose_container(POD, "")
    with pytest.raises(BadRequest, match="container zz is not valid for pod p"):
        choose_container(POD, "zz")


def test_waiting_message() -> None:
    assert waiting_message(POD, "a") == 'container "a" in pod "p" is waiting to start: ContainerCreating'


def test_kubelet_stream_query() -> None:
    q = {"command": ["sh", "-c", "exit 3"], "stdin": ["true"], "stdout": ["true"], "stderr": ["false"],
         "tty": ["false"], "container": ["a"]}
    assert kubelet_stream_query("exec", q) == [("input", "1"), ("output", "1"), ("command", "sh"),
                                               ("command", "-c"), ("command", "exit 3")]
    assert kubelet_stream_query("portforward", {"ports": ["80", "8080"]}) == [("port", "80"), ("port", "8080")]


def test_target_of_node() -> None:
    ctx = ssl.create_default_context()
    node = {"metadata": {"name": "n1"}, "status": {
        "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10251}}}}
    target = KubeletTarget.of_node(node, ctx)
    assert (target.host, target.port, target.server_name) == ("10.0.0.5", 10251, "n1")
    with pytest.raises(InternalError):
        KubeletTarget.of_node({"metadata": {"name": "n2"}, "status": {}}, ctx)


def test_parse_response_head() -> None:
    head = parse_response_head(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\n\r\n")
    assert head.status == 101 and head.get(b"upgrade") == b"SPDY/3.1"


async def test_read_head_and_splice() -> None:
    left_a, left_b = trio.testing.memory_stream_pair()
    right_a, right_b = trio.testing.memory_stream_pair()
    await right_b.send_all(b"HTTP/1.1 101 OK\r\nx: y\r\n\r\nearly")
    head, rest = await read_response_head(right_a)
    assert head.status == 101 and rest == b"early"
    async with trio.open_nursery() as nursery:
        nursery.start_soon(splice, left_a, right_a, b"", rest)
        assert await left_b.receive_some(100) == b"early"
        await left_b.send_all(b"ping")
        assert await right_b.receive_some(100) == b"ping"
        await right_b.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await left_a.send_all(b"x")
