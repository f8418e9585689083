"""``Client``: the verbs of the Kubernetes API over one pooled HTTP client.

Every call addresses a resource by a ``Resource`` handle (from ``client.discovery`` or the
constants in ``k3trio.client.resource``) or by a ``(group, version, resource)`` tuple, plus
namespace, name and subresource. Objects are plain JSON dicts, returned as the server sent
them. Failures are typed (``k3trio.client.errors``): HTTP status codes are turned into
exceptions in ``errors.error_from_response`` and transport errors in
``errors.transport_errors``, nowhere else.

Namespace rules: an explicit ``namespace`` wins, then the object's ``metadata.namespace``;
single-object verbs on a resource known to be namespaced fall back to the config's
namespace; ``list``/``watch``/``delete_collection`` without a namespace cover all namespaces.
A ``Resource`` known to be cluster-scoped ignores the namespace.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio

from .config import ClientConfig
from .discovery import Discovery
from .errors import (
    ConnectionLost,
    DecodeError,
    GoAway,
    error_from_response,
    transport_errors,
)
from .params import (
    METADATA_ACCEPT,
    METADATA_LIST_ACCEPT,
    PATCH_CONTENT_TYPES,
    TABLE_ACCEPT,
    PatchType,
    Params,
    delete_options,
    list_params,
    set_param,
    write_params,
)
from .ratelimit import TokenBucket
from .resource import Resource, ResourceLike, as_resource, object_path
from .streaming import WatchStream, raw_chunks
from .transport import build_http_client

__all__ = ["PATCH_CONTENT_TYPES", "TABLE_ACCEPT", "Client", "PatchType", "WatchStream"]

JSON = dict[str, Any]
#: Attempts for a request answered with ``Retry-After`` (429 or 5xx), and the longest wait.
MAX_RETRY_AFTER_ATTEMPTS = 4
MAX_RETRY_AFTER_SECONDS = 10.0
#: Methods repeated when the server closed the connection (GOAWAY) before answering.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
#: Methods repeated when an open connection broke mid-request.
READ_METHODS = frozenset({"GET", "HEAD"})


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


class Client:
    """The API client of one identity. Use as ``async with Client(config) as client:``.

    Args:
        config: where and as whom to connect.
        transport: an httpx transport to use instead of the network (tests).
    """

    def __init__(
        self, config: ClientConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._http = build_http_client(config, transport=transport)
        self._extensions: dict[str, Any] = (
            {"sni_hostname": config.tls_server_name} if config.tls_server_name else {}
        )
        self.discovery = Discovery(self)
        self._throttle = (
            TokenBucket(config.qps, max(config.burst, 1)) if config.qps > 0 else None
        )

    async def _wait_throttle(self) -> None:
        if self._throttle is not None:
            delay = self._throttle.reserve()
            if delay > 0:
                await trio.sleep(delay)

    @classmethod
    def from_kubeconfig(
        cls, path: str | None = None, *, context: str | None = None, component: str = "client"
    ) -> Client:
        return cls(ClientConfig.from_kubeconfig(path, context=context, component=component))

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await self._http.aclose()

    # -- raw requests -----------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        accept: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; return the (read) response if its status is below 400.

        A 429 or 5xx response carrying ``Retry-After`` is retried after that delay (at most
        ``MAX_RETRY_AFTER_ATTEMPTS`` attempts, waits capped at 10 s), as client-go does. An
        idempotent request cut off by the server's GOAWAY is repeated on a new connection.

        Raises:
            ApiError: (a subclass of) for a failure status.
            ConnectionFailed: no response.
        """
        headers: dict[str, str] = {}
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            content_type = content_type or "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        url = self.config.server + path
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        for attempt in range(MAX_RETRY_AFTER_ATTEMPTS):
            await self._wait_throttle()
            try:
                with transport_errors(method, url):
                    response = await self._http.request(
                        method, path, params=params, content=content, headers=headers,
                        extensions=self._extensions, **kwargs,
                    )
            except ConnectionLost as exc:
                # The connection was retired or broke under us: repeat what is safe to repeat
                # (after GOAWAY any idempotent verb, after a reset only reads).
                safe = IDEMPOTENT_METHODS if isinstance(exc, GoAway) else READ_METHODS
                if method not in safe or attempt + 1 == MAX_RETRY_AFTER_ATTEMPTS:
                    raise
                continue
            if response.status_code < 400:
                return response
            error = error_from_response(response.status_code, response.content,
                                        response.headers)
            # Like client-go: a 429 or 5xx that says when to come back is retried then.
            retry = response.headers.get("retry-after") is not None and (
                response.status_code == 429 or response.status_code >= 500)
            if not retry or attempt + 1 == MAX_RETRY_AFTER_ATTEMPTS:
                raise error
            await trio.sleep(min(error.retry_after or 1.0, MAX_RETRY_AFTER_SECONDS))
        raise AssertionError("unreachable")

    async def request_json(self, method: str, path: str, **kwargs: Any) -> JSON:
        """``request`` and decode the JSON object body.

        Raises:
            DecodeError: the body is not a JSON object.
        """
        response = await self.request(method, path, **kwargs)
        try:
            doc = response.json()
        except ValueError as exc:
            raise DecodeError(f"{method} {path}: response is not JSON") from exc
        if not isinstance(doc, dict):
            raise DecodeError(f"{method} {path}: response is not a JSON object")
        return doc

    # -- addressing -------------------------------------------------------------------

    def _namespace(
        self, res: Resource, namespace: str | None, obj: Mapping[str, Any] | None, single: bool
    ) -> str | None:
        if res.namespaced is False:
            return None
        ns = namespace or (str(_meta(obj).get("namespace") or "") if obj else "") or None
        if ns is None and single and res.namespaced:
            ns = self.config.namespace
        return ns

    def path(
        self,
        res: ResourceLike,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
    ) -> str:
        """The URL path for a collection or an object (see ``resource.object_path``)."""
        r = as_resource(res)
        ns = self._namespace(r, namespace, None, name is not None)
        return object_path(r, namespace=ns, name=name, subresource=subresource)

    # -- verbs ------------------------------------------------------------------------

    async def get(
        self,
        res: ResourceLike,
        name: str,
        *,
        namespace: str | None = None,
        subresource: str | None = None,
        resource_version: str | None = None,
        as_table: bool = False,
    ) -> JSON:
        """GET one object (or its subresource, e.g. ``scale``)."""
        params: Params = {}
        set_param(params, "resourceVersion", resource_version)
        return await self.request_json(
            "GET", self.path(res, namespace=namespace, name=name, subresource=subresource),
            params=params, accept=TABLE_ACCEPT if as_table else None,
        )

    async def get_text(
        self,
        res: ResourceLike,
        name: str,
        *,
        namespace: str | None = None,
        subresource: str = "log",
        params: Mapping[str, str] | None = None,
    ) -> str:
        """GET a text subresource, e.g. ``pods/log`` with ``{"container": ..., "tailLines": ...}``."""
        response = await self.request(
            "GET", self.path(res, namespace=namespace, name=name, subresource=subresource),
            params=params, accept="*/*",
        )
        return response.text

    async def list(
        self,
        res: ResourceLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
        timeout_seconds: int | None = None,
        as_table: bool = False,
        metadata_only: bool = False,
    ) -> JSON:
        """One LIST request (one page when ``limit`` is set; see ``list_pages``).

        ``metadata_only`` asks for a ``PartialObjectMetadataList`` (items carry only
        ``metadata``)."""
        params = list_params(label_selector, field_selector, limit, continue_,
                                   resource_version, resource_version_match, timeout_seconds)
        accept = TABLE_ACCEPT if as_table else METADATA_LIST_ACCEPT if metadata_only else None
        return await self.request_json(
            "GET", self.path(res, namespace=namespace), params=params, accept=accept,
        )

    async def list_pages(
        self,
        res: ResourceLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
        metadata_only: bool = False,
    ) -> AsyncIterator[JSON]:
        """Every page of a paginated LIST, following ``metadata.continue``.

        Raises:
            Expired: the continue token expired between pages (start over).
        """
        token: str | None = None
        while True:
            page = await self.list(
                res, namespace=namespace, label_selector=label_selector,
                field_selector=field_selector, limit=limit, continue_=token,
                resource_version=None if token else resource_version,
                resource_version_match=None if token else resource_version_match,
                metadata_only=metadata_only,
            )
            yield page
            token = str(_meta(page).get("continue") or "") or None
            if not token:
                return

    async def list_all(
        self,
        res: ResourceLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        metadata_only: bool = False,
    ) -> tuple[builtins.list[JSON], str]:
        """Every item over all pages, and the resourceVersion of the (last) list."""
        items: builtins.list[JSON] = []
        rv = ""
        async for page in self.list_pages(
            res, namespace=namespace, label_selector=label_selector,
            field_selector=field_selector, limit=limit, metadata_only=metadata_only,
        ):
            items.extend(i for i in page.get("items") or [] if isinstance(i, dict))
            rv = str(_meta(page).get("resourceVersion") or rv)
        return items, rv

    async def create(
        self,
        res: ResourceLike,
        obj: Mapping[str, Any],
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> JSON:
        """POST an object; with ``name`` and ``subresource`` POST to a subresource
        (``binding``, ``eviction``, ``token``)."""
        r = as_resource(res)
        ns = self._namespace(r, namespace, obj, True)
        path = object_path(r, namespace=ns, name=name, subresource=subresource)
        return await self.request_json(
            "POST", path, params=write_params(dry_run, field_manager, field_validation),
            body=obj,
        )

    async def update(
        self,
        res: ResourceLike,
        obj: Mapping[str, Any],
        *,
        namespace: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> JSON:
        """PUT an object (its ``metadata.resourceVersion`` makes it a compare-and-swap).

        Raises:
            Conflict: the object changed since ``resourceVersion``.
        """
        r = as_resource(res)
        name = str(_meta(obj).get("name") or "")
        if not name:
            raise ValueError("update needs metadata.name")
        ns = self._namespace(r, namespace, obj, True)
        path = object_path(r, namespace=ns, name=name, subresource=subresource)
        return await self.request_json(
            "PUT", path, params=write_params(dry_run, field_manager, field_validation),
            body=obj,
        )

    async def update_status(self, res: ResourceLike, obj: Mapping[str, Any], **kw: Any) -> JSON:
        """PUT the ``status`` subresource."""
        return await self.update(res, obj, subresource="status", **kw)

    async def patch(
        self,
        res: ResourceLike,
        name: str,
        patch: Any,
        *,
        patch_type: PatchType = "merge",
        namespace: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
        force: bool = False,
    ) -> JSON:
        """PATCH an object: ``json`` (a list of operations), ``merge``, ``strategic`` or
        ``apply`` (server-side apply; needs ``field_manager``; ``force`` takes conflicting
        fields over)."""
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(f"unknown patch type {patch_type!r}")
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        params = write_params(dry_run, field_manager, field_validation)
        if force:
            params["force"] = "true"
        content = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
        return await self.request_json(
            "PATCH", self.path(res, namespace=namespace, name=name, subresource=subresource),
            params=params, content=content, content_type=PATCH_CONTENT_TYPES[patch_type],
        )

    async def apply(
        self,
        res: ResourceLike,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        namespace: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> JSON:
        """Server-side apply of a (partial) object named by its metadata."""
        r = as_resource(res)
        name = str(_meta(obj).get("name") or "")
        ns = self._namespace(r, namespace, obj, True)
        return await self.patch(r, name, obj, patch_type="apply", namespace=ns,
                                subresource=subresource, field_manager=field_manager,
                                force=force, dry_run=dry_run)

    async def delete(
        self,
        res: ResourceLike,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
        dry_run: bool = False,
    ) -> JSON:
        """DELETE an object; returns the object (being finalized) or a ``Status``.

        ``uid``/``resource_version`` are preconditions (``Conflict`` when they do not match).
        ``propagation_policy`` is ``Orphan``, ``Background`` or ``Foreground``.
        """
        body = delete_options(propagation_policy, grace_period_seconds, uid, resource_version,
                               dry_run)
        return await self.request_json(
            "DELETE", self.path(res, namespace=namespace, name=name), body=body,
        )

    async def delete_collection(
        self,
        res: ResourceLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> JSON:
        """DELETE every selected object of a collection; returns the deleted list."""
        params = list_params(label_selector, field_selector, None, None, None, None, None)
        body = delete_options(propagation_policy, grace_period_seconds, None, None, dry_run)
        return await self.request_json(
            "DELETE", self.path(res, namespace=namespace), params=params, body=body,
        )

    @asynccontextmanager
    async def watch(
        self,
        res: ResourceLike,
        *,
        namespace: str | None = None,
        name: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
        send_initial_events: bool = False,
        raise_errors: bool = True,
        as_table: bool = False,
        metadata_only: bool = False,
    ) -> AsyncIterator[WatchStream]:
        """Open a watch: ``async with client.watch(...) as events: async for ev in events``.

        ``name`` watches one object (``fieldSelector=metadata.name=<name>``). The stream
        ends when the server closes it (``timeout_seconds``); reopen from the last seen
        resourceVersion. ``as_table`` asks for ``Table`` objects (kubectl ``get -w``);
        ``metadata_only`` for ``PartialObjectMetadata`` objects.

        Raises:
            Expired: the resourceVersion is too old (when opening or as an ERROR event).
        """
        if name is not None:
            selector = f"metadata.name={name}"
            field_selector = f"{field_selector},{selector}" if field_selector else selector
        params = list_params(label_selector, field_selector, None, None, resource_version,
                                   None, timeout_seconds)
        params["watch"] = "true"
        if allow_bookmarks:
            params["allowWatchBookmarks"] = "true"
        if send_initial_events:
            params["sendInitialEvents"] = "true"
            params.setdefault("resourceVersionMatch", "NotOlderThan")
        path = self.path(res, namespace=namespace)
        read = None if timeout_seconds is None else timeout_seconds + 30.0
        accept = TABLE_ACCEPT if as_table else METADATA_ACCEPT if metadata_only else None
        async with self._open_stream("GET", path, params, accept, read) as (response, url):
            yield WatchStream(response, url, raise_errors)

    @asynccontextmanager
    async def stream_bytes(
        self,
        res: ResourceLike,
        name: str,
        *,
        namespace: str | None = None,
        subresource: str = "log",
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Stream a subresource's body as it arrives, e.g. ``pods/log`` with
        ``{"follow": "true"}``: ``async with client.stream_bytes(PODS, name) as chunks``.

        Raises:
            ApiError: the request failed (before streaming started).
        """
        path = self.path(res, namespace=namespace, name=name, subresource=subresource)
        async with self._open_stream("GET", path, dict(params or {}), "*/*", None) as (
            response,
            url,
        ):
            yield raw_chunks(response, url)

    @asynccontextmanager
    async def _open_stream(
        self, method: str, path: str, params: Mapping[str, str], accept: str | None,
        read_timeout: float | None,
    ) -> AsyncIterator[tuple[httpx.Response, str]]:
        await self._wait_throttle()
        url = self.config.server + path
        headers = {"Accept": accept} if accept else {}
        request = self._http.build_request(
            method, path, params=params, headers=headers,
            timeout=httpx.Timeout(self.config.timeout, read=read_timeout),
            extensions=self._extensions,
        )
        with transport_errors(method, url):
            response = await self._http.send(request, stream=True)
        try:
            if response.status_code >= 400:
                with transport_errors(method, url):
                    body = await response.aread()
                raise error_from_response(response.status_code, body, response.headers)
            yield response, url
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await response.aclose()
