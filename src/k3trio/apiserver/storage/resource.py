"""Generic storage of one resource over the revisioned store (upstream's ``registry.Store``).

Every stored resource gets one :class:`ResourceStorage`; per-kind behaviour comes from its
:class:`~.strategy.Strategy`. Reads of the latest state go to the store (consistent), and
decoded objects are shared with the watch cache when the revision matches, so a repeated
GET does not parse or encode again.

Write pipeline (create/update)::

    defaults -> mutating admission -> strategy.prepare -> server-owned metadata
      -> validation -> validating admission -> managedFields -> store (CAS)

Invariants:
- Updates are compare-and-swap on the object's ``mod_revision``. A request carrying a
  resourceVersion that no longer matches gets 409 Conflict; a request without one retries
  against the newest state (``GuaranteedUpdate``).
- An object with ``deletionTimestamp``, no finalizers and ``deletionGracePeriodSeconds == 0``
  is removed by the update that leaves it so.
- Dry-run requests do everything except the store write.
"""

from __future__ import annotations

import builtins
import copy
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ...api import meta as _meta
from ...api.errors import (
    AlreadyExists,
    APIError,
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
)
from ...api.registry import ResourceInfo
from ...store import (
    Backend,
    CompactedError,
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
)
from ..interfaces import AdmissionAttributes, Operation
from .context import Plugins, RequestContext
from .continue_token import TOO_OLD_CONTINUE, decode_continue, encode_continue
from .objects import StoredObject, decode, encode_for_store
from .strategy import Strategy

if TYPE_CHECKING:
    from ..watchcache import WatchCache

log = logging.getLogger("k3trio.apiserver.storage")

__all__ = ["ResourceStorage", "ListPage", "Updater"]

Obj = dict[str, Any]
Updater = Callable[[Obj | None], Awaitable[Obj] | Obj]

#: Create attempts with a generated name before giving up (upstream's limit).
GENERATE_NAME_ATTEMPTS = 8
#: Optimistic retries of an unconditional update.
UPDATE_RETRIES = 16

#: Resources whose DELETE answers with the object rather than a Status.
RETURN_DELETED_OBJECT = frozenset(
    {
        ("", "pods"),
        ("", "services"),
        ("", "serviceaccounts"),
        ("", "nodes"),
        ("", "persistentvolumes"),
        ("", "persistentvolumeclaims"),
        ("", "namespaces"),
        ("storage.k8s.io", "storageclasses"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    }
)


class ListPage:
    """One page of a list: shared objects, the list revision and paging metadata."""

    __slots__ = ("items", "revision", "continue_token", "remaining")

    def __init__(self, items: list[StoredObject], revision: int, continue_token: str = "", remaining: int | None = None) -> None:
        self.items = items
        self.revision = revision
        self.continue_token = continue_token
        self.remaining = remaining


class ResourceStorage:
    """CRUD for one resource (all of its served versions share it)."""

    def __init__(
        self,
        info: ResourceInfo,
        store: Backend,
        strategy: Strategy,
        plugins: Plugins,
        *,
        namespaces: ResourceStorage | None = None,
        cache: WatchCache | None = None,
    ) -> None:
        self.info = info
        self.store = store
        self.strategy = strategy
        self.plugins = plugins
        self.namespaces = namespaces
        self.cache = cache
        self._is_namespaces = not info.group and info.resource == "namespaces"
        self.return_deleted_object = (info.group, info.resource) in RETURN_DELETED_OBJECT or info.custom

    # -- helpers -------------------------------------------------------------------------------
    @property
    def resource(self) -> str:
        return self.info.resource

    def key(self, namespace: str, name: str) -> str:
        return self.info.storage_key(namespace, name)

    def not_found(self, name: str) -> NotFound:
        return NotFound(self.info.resource, name, self.info.group)

    def _decode(self, key: str, value: bytes, rv: int) -> StoredObject:
        if self.cache is not None:
            hit = self.cache.peek(key)
            if hit is not None and hit.rv == rv:
                return hit
            return self.cache.decode(key, value, rv)
        return decode(key, value, rv)

    # -- reads ---------------------------------------------------------------------------------
    async def get(self, namespace: str, name: str) -> StoredObject:
        """The current object. Raises NotFound."""
        key = self.key(namespace, name)
        _, kv = await self.store.get(key)
        if kv is None:
            raise self.not_found(name)
        return self._decode(key, kv.value, kv.mod_revision)

    async def get_or_none(self, namespace: str, name: str) -> StoredObject | None:
        key = self.key(namespace, name)
        _, kv = await self.store.get(key)
        return None if kv is None else self._decode(key, kv.value, kv.mod_revision)

    async def list(
        self,
        namespace: str,
        *,
        limit: int = 0,
        continue_token: str = "",
        revision: int = 0,
        match: Callable[[StoredObject], bool] | None = None,
    ) -> ListPage:
        """A consistent page of objects from the store.

        ``revision`` 0 is the latest; a continue token pins its own revision. With a
        ``match`` filter, pages are filled by reading further (as upstream does).

        Raises:
            Gone: the token's or the requested revision was compacted.
        """
        prefix = self.info.storage_list_prefix(namespace)
        start = ""
        if continue_token:
            start, token_rev = decode_continue(continue_token, prefix)
            revision = token_rev if token_rev > 0 else 0
        items: list[StoredObject] = []
        read_rev = revision
        remaining: int | None = None
        more = False
        last_key = ""
        try:
            while True:
                want = 0 if limit <= 0 else max(limit - len(items), 1)
                if match is not None and want:
                    want = max(want, min(limit * 2, 10000))
                result = await self.store.list(prefix, revision=read_rev, limit=want, start=start)
                read_rev = result.revision
                for kv in result.kvs:
                    obj = self._decode(kv.key, kv.value, kv.mod_revision)
                    last_key = kv.key
                    if match is None or match(obj):
                        items.append(obj)
                        if limit > 0 and len(items) >= limit:
                            break
                if limit > 0 and len(items) >= limit:
                    idx = _index_after(result.kvs, last_key)
                    more = result.more or idx < len(result.kvs)
                    if more and match is None:
                        remaining = result.remaining + (len(result.kvs) - idx)
                    break
                if not result.more:
                    break
                start = result.kvs[-1].key + "\x00"
        except CompactedError:
            if continue_token:
                raise Gone(TOO_OLD_CONTINUE) from None
            raise Gone(f"The resourceVersion for the provided list is too old.") from None
        except FutureRevisionError:
            from ...api.errors import Timeout

            raise Timeout(f"Too large resource version: {revision}, current: {self.store.current_revision}", 1) from None
        token = encode_continue(last_key, prefix, read_rev) if more else ""
        return ListPage(items, read_rev, token, remaining if more else None)

    # -- admission -----------------------------------------------------------------------------
    def _attrs(
        self, op: Operation, ctx: RequestContext, namespace: str, name: str, obj: Obj | None, old: Obj | None, subresource: str
    ) -> AdmissionAttributes:
        return AdmissionAttributes(
            operation=op,
            user=ctx.user,
            group=self.info.group,
            version=self.info.version,
            kind=self.info.kind,
            resource=self.info.resource,
            subresource=subresource,
            namespace=namespace,
            name=name,
            obj=obj,
            old=old,
            dry_run=ctx.dry_run,
        )

    async def _mutate(self, attrs: AdmissionAttributes, *, redefault: bool = True) -> None:
        """Mutating admission; defaults run again over what the plug-ins added (as upstream
        decodes a mutated object again)."""
        ran = False
        for plugin in self.plugins.mutating:
            if plugin.handles(attrs):
                await plugin.admit(attrs)
                ran = True
        if ran and redefault and attrs.obj is not None:
            self.strategy.default(attrs.obj, self.info.version)

    async def _validate_admission(self, attrs: AdmissionAttributes) -> None:
        for plugin in self.plugins.validating:
            if plugin.handles(attrs):
                await plugin.validate(attrs)

    def _invalid(self, name: str, errors: builtins.list[FieldError]) -> Invalid:
        return Invalid(self.info.kind, name, errors, self.info.group)

    async def _check_namespace(self, namespace: str) -> None:
        """The namespace must exist and not be terminating (NamespaceLifecycle).

        As upstream's admission plugin reads its namespace lister first, the watch cache
        answers when it holds the namespace; a namespace it does not hold (yet) is read
        from the store, so one created a moment ago is found.
        """
        if not self.info.namespaced or self.namespaces is None:
            return
        cache = self.namespaces.cache
        ns = cache.peek(self.namespaces.key("", namespace)) if cache is not None else None
        if ns is None:
            ns = await self.namespaces.get_or_none("", namespace)
        if ns is None:
            raise NotFound("namespaces", namespace)
        if (ns.obj.get("status") or {}).get("phase") == "Terminating" or ns.metadata.get("deletionTimestamp"):
            raise Forbidden(
                self.info.resource,
                "",
                f"unable to create new content in namespace {namespace} because it is being terminated",
                self.info.group,
            )

    def _managed(self, old: Obj | None, new: Obj, ctx: RequestContext, subresource: str) -> Obj:
        fm = self.plugins.field_manager
        if fm is None or ctx.apply:
            return new
        return fm.update(
            old, new, manager=ctx.field_manager or "unknown", subresource=subresource,
            now=_meta.format_time(self.plugins.now()),
        )

    # -- create --------------------------------------------------------------------------------
    def _fix_namespace(self, obj: Obj, namespace: str) -> Obj:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        if self.info.namespaced:
            body_ns = meta.get("namespace") or ""
            if body_ns and body_ns != namespace:
                raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return meta

    async def create(self, namespace: str, obj: Obj, ctx: RequestContext, *, subresource: str = "") -> StoredObject:
        """Create ``obj`` (decoded request body, owned by this call). Raises APIError."""
        meta = self._fix_namespace(obj, namespace)
        obj["apiVersion"] = self.info.api_version
        obj["kind"] = self.info.kind
        self.strategy.default(obj, self.info.version)
        generated = not meta.get("name") and bool(meta.get("generateName"))
        if generated:
            meta["name"] = _meta.generate_name(meta["generateName"])
        await self._check_namespace(namespace)
        await self._mutate(self._attrs(Operation.CREATE, ctx, namespace, meta.get("name", ""), obj, None, subresource))
        meta = obj.setdefault("metadata", {})
        self.strategy.prepare_for_create(obj)
        for drop in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(drop, None)
        meta["uid"] = _meta.new_uid()
        meta["creationTimestamp"] = _meta.format_time(self.plugins.now())
        txn = self._allocate(obj, None, ctx)
        try:
            stored = await self._create_checked(namespace, obj, ctx, subresource, generated)
        except BaseException:
            if txn is not None:
                txn.revert()
            raise
        if txn is not None:
            txn.commit()
        return stored

    async def _create_checked(
        self, namespace: str, obj: Obj, ctx: RequestContext, subresource: str, generated: bool
    ) -> StoredObject:
        meta = obj["metadata"]
        errs = self.strategy.validate(obj, None)
        if errs:
            raise self._invalid(meta.get("name", "") or meta.get("generateName", ""), errs)
        await self._validate_admission(self._attrs(Operation.CREATE, ctx, namespace, meta["name"], obj, None, subresource))
        obj = self._managed(None, obj, ctx, subresource)
        meta = obj["metadata"]
        attempts = GENERATE_NAME_ATTEMPTS if generated else 1
        for attempt in range(attempts):
            key = self.key(namespace, meta["name"])
            if ctx.dry_run:
                _, existing = await self.store.get(key)
                if existing is not None:
                    raise AlreadyExists(self.info.resource, meta["name"], self.info.group)
                return StoredObject(key, obj, 0)
            try:
                kv = await self.store.create(key, encode_for_store(obj))
            except KeyExistsError:
                if attempt + 1 < attempts:
                    meta["name"] = _meta.generate_name(meta["generateName"])
                    continue
                raise AlreadyExists(self.info.resource, meta["name"], self.info.group) from None
            meta["resourceVersion"] = str(kv.mod_revision)
            return StoredObject(key, obj, kv.mod_revision)
        raise AssertionError("unreachable")

    def _allocate(self, obj: Obj, old: Obj | None, ctx: RequestContext) -> Any:
        """Reserve a Service's cluster IPs and node ports; the transaction to commit or revert."""
        allocator = self.plugins.service_allocator
        if allocator is None or self.info.resource != "services" or self.info.group:
            return None
        return allocator.allocate(obj, old, dry_run=ctx.dry_run)

    def _release(self, obj: Obj) -> None:
        if self.plugins.service_allocator is not None and self.info.resource == "services" and not self.info.group:
            try:
                self.plugins.service_allocator.release(obj)
            except Exception:  # pragma: no cover - release must not mask the real error
                log.exception("releasing service allocations failed")

    # -- update --------------------------------------------------------------------------------
    async def update(
        self,
        namespace: str,
        name: str,
        updater: Updater,
        ctx: RequestContext,
        *,
        subresource: str = "",
        force_allow_create: bool = False,
        unconditional: bool = False,
    ) -> tuple[StoredObject, bool]:
        """Read-modify-write ``name``; ``updater(old_copy_or_None)`` returns the new object.

        ``unconditional`` (patches, apply) skips the resourceVersion requirement of kinds that
        otherwise demand one on update (custom resources, CRDs).

        Returns (stored object, created). Raises NotFound, Conflict, Invalid.
        """
        key = self.key(namespace, name)
        for _ in range(UPDATE_RETRIES):
            _, kv = await self.store.get(key)
            current = None if kv is None else self._decode(key, kv.value, kv.mod_revision)
            old = None if current is None else current.mutable()
            result = updater(copy.deepcopy(old) if old is not None else None)
            new: Obj = await result if hasattr(result, "__await__") else result
            if not isinstance(new, dict):
                raise BadRequest("the request body must be an object")
            new_meta = new.get("metadata")
            if not isinstance(new_meta, dict):
                new_meta = new["metadata"] = {}
            body_name = new_meta.get("name") or ""
            if body_name and body_name != name:
                raise BadRequest(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
            new_meta["name"] = name
            self._fix_namespace(new, namespace)
            if current is None:
                if not (self.strategy.allow_create_on_update or force_allow_create) or subresource:
                    raise self.not_found(name)
                if new_meta.get("resourceVersion"):
                    raise self.not_found(name)
                created = await self.create(namespace, new, ctx)
                return created, True
            assert old is not None
            requested_rv = new_meta.get("resourceVersion") or ""
            if requested_rv:
                if requested_rv != str(current.rv):
                    raise Conflict(self.info.resource, name, group=self.info.group)
            elif not (self.strategy.allow_unconditional_update or unconditional):
                raise self._invalid(name, [FieldError.invalid("metadata.resourceVersion", "0x0", "must be specified for an update")])
            try:
                stored = await self._write_update(key, namespace, name, new, old, current, ctx, subresource)
            except ConflictError:
                if requested_rv:
                    raise Conflict(self.info.resource, name, group=self.info.group) from None
                continue
            except KeyNotFoundError:
                if requested_rv:
                    raise Conflict(self.info.resource, name, group=self.info.group) from None
                continue
            return stored, False
        raise Conflict(self.info.resource, name, group=self.info.group)

    async def _write_update(
        self, key: str, namespace: str, name: str, new: Obj, old: Obj, current: StoredObject, ctx: RequestContext, subresource: str
    ) -> StoredObject:
        new["apiVersion"] = self.info.api_version
        new["kind"] = self.info.kind
        if subresource == "status":
            new = self.strategy.prepare_for_status_update(new, old)
        elif subresource == "approval":
            new = self.strategy.prepare_for_approval(new, old)
        elif subresource == "finalize":
            finalizers = (new.get("spec") or {}).get("finalizers")
            new = copy.deepcopy(old)
            new["spec"] = dict(new.get("spec") or {})
            if finalizers:
                new["spec"]["finalizers"] = finalizers
            else:
                new["spec"].pop("finalizers", None)
        elif not subresource:
            self.strategy.default(new, self.info.version)
        await self._mutate(self._attrs(Operation.UPDATE, ctx, namespace, name, new, old, subresource), redefault=not subresource)
        meta = new.setdefault("metadata", {})
        old_meta = old.get("metadata") or {}
        if subresource in ("", "scale"):
            self.strategy.prepare_for_update(new, old)
        meta["resourceVersion"] = str(current.rv)
        # Server-owned metadata always comes from the stored object.
        for keep in ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if keep in old_meta:
                meta[keep] = old_meta[keep]
            else:
                meta.pop(keep, None)
        if not meta.get("uid"):
            meta["uid"] = old_meta.get("uid")
        if "generation" in old_meta and "generation" not in meta:
            meta["generation"] = old_meta["generation"]
        meta.pop("selfLink", None)
        txn = None if subresource else self._allocate(new, old, ctx)
        try:
            stored = await self._update_checked(key, namespace, name, new, old, current, ctx, subresource)
        except BaseException:
            if txn is not None:
                txn.revert()
            raise
        if txn is not None:
            txn.commit()
        return stored

    async def _update_checked(
        self, key: str, namespace: str, name: str, new: Obj, old: Obj, current: StoredObject, ctx: RequestContext, subresource: str
    ) -> StoredObject:
        if subresource == "status":
            errs = self.strategy.validate_status(new, old)
        elif subresource == "binding":
            errs = []
        else:
            errs = self.strategy.validate(new, old)
        if errs:
            raise self._invalid(name, errs)
        await self._validate_admission(self._attrs(Operation.UPDATE, ctx, namespace, name, new, old, subresource))
        new = self._managed(old, new, ctx, subresource)
        meta = new["metadata"]
        meta["resourceVersion"] = str(current.rv)
        if _same_object(new, current.obj):
            return current
        if ctx.dry_run:
            return StoredObject(key, new, current.rv)
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and meta.get("deletionGracePeriodSeconds", 0) == 0
            and not (self._is_namespaces and (new.get("spec") or {}).get("finalizers"))
        ):
            await self.store.delete(key, revision=current.rv)
            self._release(current.obj)
            return StoredObject(key, new, current.rv)
        kv = await self.store.update(key, encode_for_store(new), revision=current.rv)
        meta["resourceVersion"] = str(kv.mod_revision)
        return StoredObject(key, new, kv.mod_revision)

    # -- delete --------------------------------------------------------------------------------
    async def delete(self, namespace: str, name: str, options: Obj, ctx: RequestContext) -> tuple[StoredObject, bool]:
        """Delete with DeleteOptions. Returns (object, deleted now)."""
        key = self.key(namespace, name)
        for _ in range(UPDATE_RETRIES):
            _, kv = await self.store.get(key)
            if kv is None:
                raise self.not_found(name)
            current = self._decode(key, kv.value, kv.mod_revision)
            self._check_preconditions(current, options, name)
            obj = current.mutable()
            await self._validate_admission(self._attrs(Operation.DELETE, ctx, namespace, name, None, current.obj, ""))
            try:
                return await self._delete_one(key, current, obj, options, ctx)
            except (ConflictError, KeyNotFoundError):
                continue
        raise Conflict(self.info.resource, name, group=self.info.group)

    def _check_preconditions(self, current: StoredObject, options: Obj, name: str) -> None:
        pre = options.get("preconditions") or {}
        uid = pre.get("uid")
        if uid and uid != current.metadata.get("uid"):
            raise Conflict(
                self.info.resource, name,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: {current.metadata.get('uid', '')}",
                self.info.group,
            )
        rv = pre.get("resourceVersion")
        if rv and rv != str(current.rv):
            raise Conflict(
                self.info.resource, name,
                f"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {current.rv}",
                self.info.group,
            )

    def _grace_period(self, obj: Obj, options: Obj) -> int:
        """Pods delete gracefully; everything else at once."""
        if self.info.group or self.info.resource != "pods":
            return 0
        grace = options.get("gracePeriodSeconds")
        spec = obj.get("spec") or {}
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        if not spec.get("nodeName"):
            return 0
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        return max(int(grace), 0)

    async def _delete_one(
        self, key: str, current: StoredObject, obj: Obj, options: Obj, ctx: RequestContext
    ) -> tuple[StoredObject, bool]:
        meta = obj.setdefault("metadata", {})
        changed = self.strategy.prepare_for_delete(obj, _meta.format_time(self.plugins.now()))
        finalizers = list(meta.get("finalizers") or [])
        policy = options.get("propagationPolicy")
        orphan = options.get("orphanDependents")
        if policy is None and orphan is not None:
            policy = "Orphan" if orphan else "Background"
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
            changed = True
        elif policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
            changed = True
        if policy in ("Background", "Foreground") and "orphan" in finalizers:
            finalizers.remove("orphan")
            changed = True
        if policy in ("Background", "Orphan") and "foregroundDeletion" in finalizers:
            finalizers.remove("foregroundDeletion")
            changed = True
        grace = self._grace_period(obj, options)
        already = bool(meta.get("deletionTimestamp"))
        now = self.plugins.now()
        if self._is_namespaces and ((obj.get("spec") or {}).get("finalizers") or finalizers):
            # Namespaces terminate: the namespace controller empties them, then finalizes.
            if not already:
                meta["deletionTimestamp"] = _meta.format_time(now)
                meta["deletionGracePeriodSeconds"] = 0
                changed = True
            status = obj.setdefault("status", {})
            if status.get("phase") != "Terminating":
                status["phase"] = "Terminating"
                changed = True
            if finalizers:
                meta["finalizers"] = finalizers
            return await self._store_pending(key, current, obj, changed, ctx), False
        if grace > 0:
            current_grace = meta.get("deletionGracePeriodSeconds")
            if not already or current_grace is None or grace < int(current_grace):
                meta["deletionTimestamp"] = _meta.format_time(now + timedelta(seconds=grace))
                meta["deletionGracePeriodSeconds"] = grace
                changed = True
            if finalizers or grace > 0:
                meta["finalizers"] = finalizers
                if not finalizers:
                    meta.pop("finalizers")
                return await self._store_pending(key, current, obj, changed, ctx), False
        if finalizers:
            if not already:
                meta["deletionTimestamp"] = _meta.format_time(now)
                meta["deletionGracePeriodSeconds"] = 0
                changed = True
            elif meta.get("deletionGracePeriodSeconds"):
                meta["deletionGracePeriodSeconds"] = 0
                changed = True
            meta["finalizers"] = finalizers
            return await self._store_pending(key, current, obj, changed, ctx), False
        if ctx.dry_run:
            return current, True
        await self.store.delete(key, revision=current.rv)
        self._release(current.obj)
        return current, True

    async def _store_pending(self, key: str, current: StoredObject, obj: Obj, changed: bool, ctx: RequestContext) -> StoredObject:
        if not changed or ctx.dry_run:
            return StoredObject(key, obj, current.rv) if changed else current
        kv = await self.store.update(key, encode_for_store(obj), revision=current.rv)
        obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
        return StoredObject(key, obj, kv.mod_revision)


def _index_after(kvs: list[Any], last_key: str) -> int:
    for i, kv in enumerate(kvs):
        if kv.key == last_key:
            return i + 1
    return len(kvs)


def _same_object(new: Obj, old: Obj) -> bool:
    return new == old
