"""Streaming response bodies: watch events and raw subresource streams.

``WatchStream`` turns an open watch response into ``WatchEvent`` values through the sans-IO
``WatchDecoder``; ``raw_chunks`` yields the bytes of any streaming body (``pods/log`` with
``follow``). Both translate transport failures with ``errors.transport_errors``. Opening and
closing the response is the ``Client``'s job.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

import httpx

from .errors import transport_errors
from .watchstream import WatchDecoder, WatchEvent

__all__ = ["WatchStream", "raw_chunks"]


class WatchStream:
    """Async iterator of ``WatchEvent`` over one open watch response.

    With ``raise_errors`` (the default) an ERROR event raises its typed error (410 ->
    ``Expired``) instead of being yielded.
    """

    def __init__(self, response: httpx.Response, url: str, raise_errors: bool) -> None:
        self._response = response
        self._url = url
        self._raise = raise_errors
        self._decoder = WatchDecoder()
        self._chunks = response.aiter_raw()
        self._pending: deque[WatchEvent] = deque()
        self._done = False

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> WatchEvent:
        while not self._pending:
            if self._done:
                raise StopAsyncIteration
            with transport_errors("WATCH", self._url):
                try:
                    chunk = await self._chunks.__anext__()
                except StopAsyncIteration:
                    self._done = True
                    self._pending.extend(self._decoder.close())
                    continue
            self._pending.extend(self._decoder.feed(chunk))
        event = self._pending.popleft()
        if self._raise:
            event.raise_for_error()
        return event


async def raw_chunks(response: httpx.Response, url: str) -> AsyncIterator[bytes]:
    chunks = response.aiter_raw()
    while True:
        with transport_errors("GET", url):
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
        yield chunk
