"""Server-side apply and ``metadata.managedFields`` (structured-merge-diff semantics).

``FieldManager`` is the entry point (see :mod:`k3trio.api.ssa.manager`); the field-set
algebra, schema compilation and typed walks live in their own modules.
"""

from k3trio.api.ssa.manager import LAST_APPLIED, FieldManager, ResetFields, SchemaProvider, keep_timestamps_if_noop

__all__ = ["FieldManager", "LAST_APPLIED", "ResetFields", "SchemaProvider", "keep_timestamps_if_noop"]
