"""Custom resource definitions: structural schemas (validation, pruning, defaulting), CRD
object validation, Table printing from printer columns and OpenAPI v3 documents.

Public API:
    validate(schema, obj) -> list[FieldError]
    prune(schema, obj) -> list[str]             (dropped field paths)
    apply_defaults(schema, obj) -> None
    version_schema(crd, version) -> dict         (the version's openAPIV3Schema)
    validate_crd(crd, old=None) -> list[FieldError]
    printer_columns(crd, version) -> list[dict]
    printer_table(crd, version, objs, *, now, include_object, list_meta) -> Table dict
    crd_v3_document(group, version, crds) -> OpenAPI v3 document
"""

from k3trio.api.crd.openapi import crd_v3_document, schema_name, version_schema
from k3trio.api.crd.printers import printer_columns, printer_table
from k3trio.api.crd.schema import apply_defaults, prune, validate
from k3trio.api.crd.validation import validate_crd

__all__ = [
    "apply_defaults",
    "crd_v3_document",
    "printer_columns",
    "printer_table",
    "prune",
    "schema_name",
    "validate",
    "validate_crd",
    "version_schema",
]
