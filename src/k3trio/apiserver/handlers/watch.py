"""WATCH: a chunked stream of ``{"type":..,"object":..}`` lines served from the watch cache.

The stream ends at ``timeoutSeconds`` (default: a random 30-60 minutes, as upstream's
min-request-timeout), when the client goes away, or when the watcher is closed for being
too slow (the client then re-watches from its last resourceVersion). Bookmarks are sent
about once a minute when ``allowWatchBookmarks=true``; ``sendInitialEvents=true`` sends the
current objects as ADDED events followed by a bookmark annotated
``k8s.io/initial-events-end: "true"``.
"""

from __future__ import annotations

import random
from typing import Any

import trio

from ...api.errors import BadRequest
from ..storage.objects import dumps
from ..storage.resource import ResourceStorage
from ..watchcache import WatchEvent
from .common import Request
from .read import build_filter, make_table

__all__ = ["handle_watch"]

BOOKMARK_INTERVAL = 60.0
DEFAULT_TIMEOUT = 1800


def _event_line(req: Request, event: WatchEvent, first: list[bool]) -> bytes:
    info = req.resource
    api_version = info.api_version
    out = req.output
    if out.as_ == "Table":
        include = req.param("includeObject") or "Metadata"
        table = make_table(
            req, [event.obj.view(api_version)], include_object=include,
            list_meta={"resourceVersion": str(event.rv)}, no_headers=not first[0],
        )
        first[0] = False
        table["apiVersion"] = f"meta.k8s.io/{out.version}"
        body = dumps(table)
    elif out.as_:
        body = dumps({"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{out.version}", "metadata": event.obj.metadata})
    else:
        return event.json_line(api_version)
    return b'{"type":"' + event.type.encode() + b'","object":' + body + b"}\n"


def _bookmark(req: Request, rv: int, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    obj = {"kind": req.resource.kind, "apiVersion": req.resource.api_version, "metadata": meta}
    return b'{"type":"BOOKMARK","object":' + dumps(obj) + b"}\n"


async def handle_watch(req: Request, storage: ResourceStorage) -> None:
    cache = storage.cache
    if cache is None:
        raise BadRequest(f"watch is not supported on resources of kind {req.resource.resource}")
    await cache.wait_ready()
    match = build_filter(req, storage)
    rv_text = req.param("resourceVersion")
    initial = req.flag("sendInitialEvents")
    bookmarks = req.flag("allowWatchBookmarks")
    if initial and req.param("resourceVersionMatch") != "NotOlderThan":
        from ...api.errors import FieldError, Invalid

        raise Invalid("ListOptions", "", [FieldError.forbidden("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")], "meta.k8s.io")
    try:
        rv = int(rv_text) if rv_text else 0
    except ValueError:
        raise BadRequest(f'invalid resource version "{rv_text}"') from None
    timeout = req.int_param("timeoutSeconds")
    if timeout is None or timeout <= 0:
        timeout = int(DEFAULT_TIMEOUT * (1 + random.random()))
    prefix = storage.info.storage_list_prefix(req.info.namespace)
    # A name (from the path, or a ``metadata.name`` field selector) narrows the watch to one
    # key, unless the watch spans namespaces (the selector then does the filtering).
    if req.info.name and (req.info.namespace or not storage.info.namespaced):
        prefix = storage.key(req.info.namespace, req.info.name)
        name_key = prefix
        base = match
        match = (lambda o: o.key == name_key and (base is None or base(o)))  # noqa: E731
    watcher, replay = cache.watch(resource_version=rv or None, match=match, key_prefix=prefix, initial_events=initial)
    first = [True]
    send = req.send
    with watcher:
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", req.output.content_type.encode()),
                (b"cache-control", b"no-cache, private"),
                (b"x-content-type-options", b"nosniff"),
            ],
        })
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_wait_disconnect, req.receive, nursery.cancel_scope)
            with trio.move_on_after(timeout):
                last_rv = rv or cache.revision
                chunk = [_event_line(req, e, first) for e in replay]
                if replay:
                    last_rv = max(last_rv, max(e.rv for e in replay))
                if initial:
                    chunk.append(_bookmark(req, max(watcher.min_rv, last_rv), initial_end=True))
                if chunk:
                    await send({"type": "http.response.body", "body": b"".join(chunk), "more_body": True})
                while True:
                    with trio.move_on_after(BOOKMARK_INTERVAL if bookmarks else timeout + 1):
                        event = await _next(watcher)
                        if event is None:
                            break
                        lines = [_event_line(req, event, first)]
                        # Drain whatever else is queued into one write.
                        while len(lines) < 256:
                            try:
                                more = watcher.receive.receive_nowait()
                            except (trio.WouldBlock, trio.EndOfChannel):
                                break
                            lines.append(_event_line(req, more, first))
                        await send({"type": "http.response.body", "body": b"".join(lines), "more_body": True})
                        continue
                    if watcher.closed and watcher.overflowed:
                        break
                    if bookmarks:
                        await send({"type": "http.response.body", "body": _bookmark(req, cache.revision), "more_body": True})
            nursery.cancel_scope.cancel()
    with trio.move_on_after(1) as cs:
        cs.shield = True
        try:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception:
            pass


async def _next(watcher: Any) -> WatchEvent | None:
    try:
        event: WatchEvent = await watcher.receive.receive()
        return event
    except trio.EndOfChannel:
        return None


async def _wait_disconnect(receive: Any, scope: trio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return
