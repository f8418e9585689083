"""The patch exception tree; ``code`` is the HTTP status kube-apiserver answers with.

    PatchError (422: the patch is well-formed but cannot be applied to this object)
    ├── BadPatch        (400: the patch document itself is malformed)
    └── PatchInternal   (500: upstream surfaces these strategic-merge errors unwrapped,
                         e.g. a list element missing its declared merge key)

The API server turns ``code`` and ``str(exc)`` into a ``Status``; messages follow the
upstream libraries (evanphx/json-patch, apimachinery's strategicpatch) word for word where
clients are known to show them.
"""

from __future__ import annotations

__all__ = ["BadPatch", "PatchError", "PatchInternal"]


class PatchError(ValueError):
    """A patch could not be applied."""

    code = 422


class BadPatch(PatchError):
    """The patch document is malformed (wrong JSON shape, unknown directive...)."""

    code = 400


class PatchInternal(PatchError):
    """An error upstream returns unwrapped, which the API server reports as 500."""

    code = 500
