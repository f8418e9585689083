"""Conformance cases, one module per area."""
