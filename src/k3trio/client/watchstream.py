"""Sans-IO decoding of a watch response: bytes in, ``WatchEvent`` values out.

The API server streams one JSON object per event, ``{"type": ..., "object": {...}}``,
each followed by a newline; HTTP chunk boundaries fall anywhere, including inside a
multi-byte UTF-8 character. ``WatchDecoder.feed`` buffers partial lines and returns the
complete events; ``close`` checks nothing but whitespace is left over.

Invariants:
- Event order is stream order; no event is returned twice or dropped.
- A line that is not a JSON object with a known ``type`` and an object ``object`` raises
  ``DecodeError``; blank lines are ignored.
- ``ERROR`` events are returned as events (their object is a ``Status``); turning them
  into exceptions is the caller's choice (``WatchEvent.raise_for_error``).
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from .errors import ApiError, DecodeError, error_from_status

__all__ = ["EVENT_TYPES", "WatchDecoder", "WatchEvent"]

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
BOOKMARK = "BOOKMARK"
ERROR = "ERROR"
EVENT_TYPES = frozenset({ADDED, MODIFIED, DELETED, BOOKMARK, ERROR})

#: Refuse lines longer than this (a runaway stream must not exhaust memory).
MAX_LINE_BYTES = 64 * 1024 * 1024


@attrs.frozen(slots=True)
class WatchEvent:
    """One watch event: ``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."""

    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        meta = self.object.get("metadata")
        return str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""

    def error(self) -> ApiError | None:
        """The typed error of an ERROR event (410 -> ``Expired``), None otherwise."""
        if self.type != ERROR:
            return None
        code = self.object.get("code")
        return error_from_status(code if isinstance(code, int) else 500, self.object)

    def raise_for_error(self) -> None:
        err = self.error()
        if err is not None:
            raise err


class WatchDecoder:
    """Incremental newline-delimited JSON decoder for watch streams."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[WatchEvent]:
        """Add received bytes; return every event completed by them.

        Raises:
            DecodeError: a malformed line, or a line over ``MAX_LINE_BYTES``.
        """
        self._buffer += data
        events: list[WatchEvent] = []
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end < 0:
                break
            line = bytes(self._buffer[start:end])
            start = end + 1
            if line.strip():
                events.append(_decode_line(line))
        del self._buffer[:start]
        if len(self._buffer) > MAX_LINE_BYTES:
            raise DecodeError(f"watch event longer than {MAX_LINE_BYTES} bytes")
        return events

    def close(self) -> list[WatchEvent]:
        """End of stream: decode a final unterminated line, if any.

        Raises:
            DecodeError: the leftover bytes are not one complete event.
        """
        rest = bytes(self._buffer).strip()
        self._buffer.clear()
        return [_decode_line(rest)] if rest else []


def _decode_line(line: bytes) -> WatchEvent:
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise DecodeError(f"malformed watch event: {line[:200]!r}") from exc
    if not isinstance(doc, dict):
        raise DecodeError(f"watch event is not an object: {line[:200]!r}")
    kind = doc.get("type")
    obj = doc.get("object")
    if kind not in EVENT_TYPES or not isinstance(obj, dict):
        raise DecodeError(f"watch event without a known type and an object: {line[:200]!r}")
    return WatchEvent(str(kind), obj)
