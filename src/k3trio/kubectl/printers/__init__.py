"""Output printers of ``k3trio kubectl``: tables, YAML, JSON, names, JSONPath, custom columns.

Each printer is a pure function of decoded JSON objects to text, formatted byte-for-byte as
kubectl formats it; the command modules choose one from ``-o``.
"""
