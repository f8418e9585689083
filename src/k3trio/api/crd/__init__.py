"""Custom resource definitions: structural schemas (validation, pruning, defaulting), CRD
object validation, printer columns and OpenAPI documents for custom resources."""
