"""Watch streams decode across arbitrary chunk boundaries."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3trio.client.errors import DecodeError, Expired
from k3trio.client.watchstream import WatchDecoder, WatchEvent

EVENTS = [
    {"type": "ADDED", "object": {"kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "5"},
                                 "data": {"k": "välue ☃"}}},
    {"type": "MODIFIED", "object": {"kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "6"}}},
    {"type": "BOOKMARK", "object": {"kind": "ConfigMap", "metadata": {"resourceVersion": "9"}}},
    {"type": "DELETED", "object": {"kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "10"}}},
]
STREAM = b"".join(json.dumps(ev, ensure_ascii=False).encode() + b"\n" for ev in EVENTS)


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=20))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)])]
    dec = WatchDecoder()
    got: list[WatchEvent] = []
    for chunk in chunks:
        got.extend(dec.feed(chunk))
    got.extend(dec.close())
    assert [(g.type, g.object) for g in got] == [(e["type"], e["object"]) for e in EVENTS]
    assert got[2].resource_version == "9"


def test_unterminated_last_line_and_blank_lines() -> None:
    dec = WatchDecoder()
    assert dec.feed(b"\n\n" + STREAM[:-1]) != []
    assert [e.type for e in dec.close()] == ["DELETED"]


def test_malformed() -> None:
    with pytest.raises(DecodeError):
        WatchDecoder().feed(b"{not json}\n")
    with pytest.raises(DecodeError):
        WatchDecoder().feed(b'{"type": "WAT", "object": {}}\n')
    dec = WatchDecoder()
    dec.feed(b'{"type": "ADDED"')
    with pytest.raises(DecodeError):
        dec.close()


def test_error_event_is_typed() -> None:
    ev = WatchEvent("ERROR", {"kind": "Status", "status": "Failure", "code": 410,
                              "reason": "Expired", "message": "too old resource version"})
    assert isinstance(ev.error(), Expired)
    with pytest.raises(Expired):
        ev.raise_for_error()
    assert WatchEvent("ADDED", {}).error() is None
