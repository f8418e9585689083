"""Server-side patching: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386) and strategic
merge patch. Pure functions over decoded JSON; see each module for its invariants and
:mod:`k3trio.api.patch.errors` for the exception tree."""

from k3trio.api.patch.errors import BadPatch, PatchError, PatchInternal
from k3trio.api.patch.json_patch import MAX_OPERATIONS, apply_json_patch
from k3trio.api.patch.merge_patch import apply_merge_patch, create_merge_patch
from k3trio.api.patch.strategic import Schema, apply_strategic_merge_patch, schema_for_kind

__all__ = [
    "MAX_OPERATIONS",
    "BadPatch",
    "PatchError",
    "PatchInternal",
    "Schema",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "create_merge_patch",
    "schema_for_kind",
]
