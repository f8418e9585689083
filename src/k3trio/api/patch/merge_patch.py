"""RFC 7386 JSON Merge Patch, as evanphx/json-patch's ``MergePatch`` applies it for
``application/merge-patch+json`` requests.

Invariants:
- Objects merge key by key; ``null`` deletes a key; anything else (arrays included)
  replaces the target value wholesale.
- Values copied in from the patch have their ``null`` members pruned (recursively, also
  inside objects within arrays), so a merge patch can never store a ``null`` member.
- A patch that is not an object replaces the document (an array, nulls pruned inside its
  objects); a ``null`` or scalar patch is rejected with upstream's ``Invalid JSON Patch``.
- Inputs are never modified.
"""

from __future__ import annotations

from typing import Any

from k3trio.api.patch._json import deep_copy, json_equal
from k3trio.api.patch.errors import BadPatch

__all__ = ["apply_merge_patch", "create_merge_patch"]


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _merge(target: Any, patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = _prune(value)
    return out


def apply_merge_patch(doc: Any, patch: Any) -> Any:
    """Apply a decoded merge patch to a decoded document; returns a new document.

    Raises:
        BadPatch: the patch is ``null`` or a scalar.
    """
    if isinstance(patch, dict):
        if not isinstance(doc, dict):
            return _prune(deep_copy(patch))
        return deep_copy(_merge(doc, patch))
    if isinstance(patch, list):
        return _prune(deep_copy(patch))
    raise BadPatch("Invalid JSON Patch")


def create_merge_patch(original: Any, modified: Any) -> Any:
    """The smallest merge patch turning ``original`` into ``modified`` (for clients/tests)."""
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return deep_copy(modified)
    patch: dict[str, Any] = {}
    for key in original:
        if key not in modified:
            patch[key] = None
    for key, value in modified.items():
        if key not in original:
            patch[key] = deep_copy(value)
        elif isinstance(value, dict) and isinstance(original[key], dict):
            sub = create_merge_patch(original[key], value)
            if sub:
                patch[key] = sub
        elif not json_equal(original[key], value):
            patch[key] = deep_copy(value)
    return patch
