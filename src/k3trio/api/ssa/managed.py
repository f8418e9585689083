"""``metadata.managedFields`` entries: decoding, identity, ordering, capping, encoding.

An entry is identified as kube-apiserver identifies it: by the JSON of its manager,
operation, apiVersion (left out for ``Apply``, so an applier keeps one entry across
versions) and subresource. Times and field sets are not part of the identity.

Invariants:
- Entries decoded from a stored object keep their original dict (``raw``) so an entry whose
  set and time did not change is written back byte-for-byte without re-encoding.
- ``encode`` sorts as upstream: operation, time (seconds), manager, apiVersion, subresource;
  so ``Apply`` entries come before ``Update`` ones.
- At most ``max_updaters`` ``Update`` entries are kept: the oldest are folded into one
  ``ancient-changes`` entry per apiVersion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from k3trio.api.ssa.fieldset import FieldSet, canonical, to_json, union

__all__ = [
    "APPLY",
    "ANCIENT_CHANGES",
    "Entry",
    "Managed",
    "UPDATE",
    "cap_updaters",
    "decode",
    "encode",
    "identity",
    "print_manager",
]

APPLY = "Apply"
UPDATE = "Update"
ANCIENT_CHANGES = "ancient-changes"
FIELDS_V1 = "FieldsV1"


def identity(manager: str, operation: str, api_version: str, subresource: str) -> str:
    """``BuildManagerIdentifier``: the JSON of the identifying fields, Go field order."""
    out: dict[str, str] = {}
    if manager:
        out["manager"] = manager
    if operation:
        out["operation"] = operation
    if api_version and operation != APPLY:
        out["apiVersion"] = api_version
    if subresource:
        out["subresource"] = subresource
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Entry:
    manager: str
    operation: str
    api_version: str
    time: str | None
    subresource: str
    fields: FieldSet
    raw: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return identity(self.manager, self.operation, self.api_version, self.subresource)

    def with_fields(self, fields: FieldSet) -> Entry:
        return replace(self, fields=fields, raw=None)

    def to_json(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        out: dict[str, Any] = {}
        if self.manager:
            out["manager"] = self.manager
        out["operation"] = self.operation
        out["apiVersion"] = self.api_version
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = FIELDS_V1
        out["fieldsV1"] = to_json(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


#: Entries by identity, in the order they were read or added.
Managed = dict[str, Entry]


def decode(entries: Any, *, client: bool = False) -> Managed:
    """Decode a ``managedFields`` list.

    Args:
        entries: the list (None: no entries).
        client: the list came from a request body: path elements are canonicalised and the
            entries are re-encoded on output.

    Raises:
        ValueError: with upstream's message when an entry is malformed.
    """
    managed: Managed = {}
    if entries is None:
        return managed
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise ValueError(f"managed fields entry {i} must be an object")
        operation = raw.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        api_version = raw.get("apiVersion")
        if not api_version or not isinstance(api_version, str):
            raise ValueError("apiVersion must not be empty")
        fields_type = raw.get("fieldsType")
        if not fields_type:
            raise ValueError(f"missing fieldsType in managed fields entry {i}")
        if fields_type != FIELDS_V1:
            raise ValueError(f"invalid fieldsType {json.dumps(fields_type)} in managed fields entry {i}")
        fields_raw = raw.get("fieldsV1")
        if fields_raw is None:
            fields: FieldSet = {}
        elif client:
            fields = canonical(fields_raw)
        elif isinstance(fields_raw, dict):
            fields = fields_raw
        else:
            raise ValueError(f"invalid fieldsV1 in managed fields entry {i}")
        time = raw.get("time")
        entry = Entry(
            manager=str(raw.get("manager") or ""),
            operation=operation,
            api_version=api_version,
            time=time if isinstance(time, str) else None,
            subresource=str(raw.get("subresource") or ""),
            fields=fields,
            raw=None if client else raw,
        )
        managed[entry.key] = entry
    return managed


def _time_key(time: str | None) -> str:
    # RFC 3339 UTC timestamps at second precision sort as text; fractions are ignored as
    # upstream compares Unix seconds.
    if not time:
        return ""
    return time[:19]


def encode(managed: Managed) -> list[dict[str, Any]]:
    """The ``managedFields`` list, in upstream's order."""
    entries = sorted(
        managed.values(),
        key=lambda e: (e.operation, _time_key(e.time), e.manager, e.api_version, e.subresource),
    )
    return [e.to_json() for e in entries]


def cap_updaters(managed: Managed, max_updaters: int) -> Managed:
    """Fold the oldest ``Update`` entries into ``ancient-changes`` beyond ``max_updaters``."""
    updaters = [k for k, e in managed.items() if e.operation == UPDATE]
    if len(updaters) <= max_updaters:
        return managed
    out = dict(managed)
    updaters.sort(key=lambda k: (_time_key(out[k].time), k))
    first_for_version: dict[str, str] = {}
    remaining = len(updaters)
    for key in updaters:
        if remaining <= max_updaters:
            break
        entry = managed[key]
        version = entry.api_version
        bucket = identity(ANCIENT_CHANGES, UPDATE, version, "")
        first = first_for_version.get(version)
        if first is None:
            first_for_version[version] = key
            continue
        if bucket not in out:
            seed = out.pop(first)
            out[bucket] = Entry(ANCIENT_CHANGES, UPDATE, version, seed.time, "", seed.fields)
        current = out[bucket]
        out[bucket] = Entry(
            ANCIENT_CHANGES, UPDATE, version, entry.time, "", union(entry.fields, current.fields)
        )
        del out[key]
        remaining -= 1
    return out


def print_manager(key: str) -> str:
    """How conflict messages name a manager (``printManager`` upstream)."""
    try:
        data = json.loads(key)
    except ValueError:
        return json.dumps(key)
    text = json.dumps(data.get("manager", ""), ensure_ascii=False)
    if data.get("subresource"):
        text += f" with subresource {json.dumps(data['subresource'], ensure_ascii=False)}"
    if data.get("operation") == UPDATE:
        return f"{text} using {data.get('apiVersion', '')}"
    return text
