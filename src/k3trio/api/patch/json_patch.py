"""RFC 6902 JSON Patch, with the behaviour and messages of evanphx/json-patch (v4), the
library kube-apiserver applies ``application/json-patch+json`` requests with.

Invariants:
- Operations apply in order to a copy; the input document is never modified, and a
  failing patch leaves no partial result behind.
- Paths are JSON pointers (``~1`` is ``/``, ``~0`` is ``~``). The empty path (whole
  document) is not addressable, as upstream: it reports the path as missing.
- Array indices may be negative (counted from the end), as upstream allows; ``-`` appends.
- Errors: a malformed patch raises :class:`BadPatch` (400); an operation that does not
  apply raises :class:`PatchError` (422) with upstream's message.
"""

from __future__ import annotations

import re
from typing import Any

from k3trio.api.patch._json import deep_copy, json_equal
from k3trio.api.patch.errors import BadPatch, PatchError

__all__ = ["MAX_OPERATIONS", "apply_json_patch", "decode_pointer"]

MAX_OPERATIONS = 10000  # kube-apiserver's limit on operations in one JSON patch

_INT = re.compile(r"[+-]?[0-9]+")
_MISSING = "missing value"
_INVALID_INDEX = "invalid index referenced"


class _Fail(Exception):
    """Internal: a container-level failure, wrapped with the operation's context later."""


def decode_pointer(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _find_container(doc: Any, path: str) -> tuple[Any, str] | None:
    """``findObject``: the parent container of ``path`` and the last (decoded) token."""
    parts = path.split("/")
    if len(parts) < 2:
        return None
    node = doc
    for part in parts[1:-1]:
        try:
            node = _get(node, decode_pointer(part))
        except _Fail:
            return None
        if not isinstance(node, (dict, list)):
            return None
    return node, decode_pointer(parts[-1])


def _index(container: list[Any], key: str, *, for_add: bool = False) -> int:
    if not _INT.fullmatch(key):
        raise _Fail(
            f"value was not a proper array index: '{key}': strconv.Atoi: parsing \"{key}\": invalid syntax"
        )
    idx = int(key, 10)
    size = len(container)
    if idx < 0:
        if idx < -size:
            raise _Fail(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
        idx += size
    limit = size if for_add else size - 1
    if idx > limit:
        raise _Fail(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
    return idx


def _get(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        if key not in container:
            raise _Fail(f"unable to get nonexistent key: {key}: {_MISSING}")
        return container[key]
    if isinstance(container, list):
        return container[_index(container, key)]
    raise _Fail(f"unable to get nonexistent key: {key}: {_MISSING}")


def _add(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    elif key == "-":
        container.append(value)
    else:
        container.insert(_index(container, key, for_add=True), value)


def _set(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    else:
        container[_index(container, key)] = value


def _remove(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        if key not in container:
            raise _Fail(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        return container.pop(key)
    return container.pop(_index(container, key))


def _string_field(op: dict[str, Any], name: str) -> str | None:
    value = op.get(name)
    return value if isinstance(value, str) else None


def _apply_one(doc: Any, op: dict[str, Any]) -> None:
    kind = op.get("op")
    kind = kind if isinstance(kind, str) else "unknown"
    if kind not in ("add", "remove", "replace", "move", "copy", "test"):
        raise PatchError(f"Unexpected kind: {kind}")
    path = _string_field(op, "path")
    if path is None:
        raise PatchError(f"{kind} operation failed to decode path: {_MISSING}")
    found = _find_container(doc, path)
    try:
        if kind == "add":
            if found is None:
                raise PatchError(f'add operation does not apply: doc is missing path: "{path}": {_MISSING}')
            ctx = f"error in add for path: '{path}'"
            _add(found[0], found[1], deep_copy(op.get("value")))
        elif kind == "remove":
            if found is None:
                raise PatchError(f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}')
            ctx = f"error in remove for path: '{path}'"
            _remove(*found)
        elif kind == "replace":
            if found is None:
                raise PatchError(f"replace operation does not apply: doc is missing path: {path}: {_MISSING}")
            try:
                _get(*found)
            except _Fail:
                raise PatchError(
                    f"replace operation does not apply: doc is missing key: {path}: {_MISSING}"
                ) from None
            ctx = f"error in remove for path: '{path}'"
            _set(found[0], found[1], deep_copy(op.get("value")))
        elif kind == "test":
            if found is None:
                raise PatchError(f"test operation does not apply: is missing path: {path}: {_MISSING}")
            ctx = f"error in test for path: '{path}'"
            try:
                current = _get(*found)
                present = True
            except _Fail as exc:
                if _MISSING not in str(exc):
                    raise
                current, present = None, False
            expected = op.get("value")
            if (not present and expected is not None) or (present and not json_equal(current, expected)):
                raise PatchError(f"testing value {path} failed: test failed")
        else:  # move / copy
            source = _string_field(op, "from")
            if source is None:
                raise PatchError(f"{kind} operation failed to decode from: {_MISSING}")
            origin = _find_container(doc, source)
            if origin is None:
                raise PatchError(f"{kind} operation does not apply: doc is missing from path: {source}: {_MISSING}")
            if kind == "move":
                ctx = f"error in move for path: '{origin[1]}'"
                value = _get(*origin)
                _remove(*origin)
                found = _find_container(doc, path)
                if found is None:
                    raise PatchError(
                        f"move operation does not apply: doc is missing destination path: {path}: {_MISSING}"
                    )
                ctx = f"error in move for path: '{path}'"
                _add(found[0], found[1], value)
            else:
                ctx = f"error in copy for from: '{source}'"
                value = deep_copy(_get(*origin))
                if found is None:
                    raise PatchError(
                        f"copy operation does not apply: doc is missing destination path: {path}: {_MISSING}"
                    )
                ctx = f"error in copy for path: '{path}'"
                _add(found[0], found[1], value)
    except _Fail as exc:
        raise PatchError(f"{ctx}: {exc}") from None


def apply_json_patch(doc: Any, patch: Any) -> Any:
    """Apply a decoded JSON patch (a list of operation objects) to a decoded document.

    Returns:
        The patched document (a new object; ``doc`` is left untouched).

    Raises:
        BadPatch: ``patch`` is not a list of objects.
        PatchError: an operation does not apply (missing path, failed test, bad index...).
    """
    if not isinstance(patch, list):
        raise BadPatch(
            f"json: cannot unmarshal {_go_json_type(patch)} into Go value of type jsonpatch.Patch"
        )
    for op in patch:
        if not isinstance(op, dict):
            raise BadPatch(
                f"json: cannot unmarshal {_go_json_type(op)} into Go value of type jsonpatch.Operation"
            )
    result = deep_copy(doc)
    for op in patch:
        _apply_one(result, op)
    return result


def _go_json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "null"
