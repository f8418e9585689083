"""Pieces shared by the commands that change objects: flags (``--dry-run``, ``-o``,
``--field-manager``, ``--validate``), where a manifest goes (resource and namespace), and the
one-line result (``deployment.apps/web configured``) or the object in the ``-o`` format.
"""

from __future__ import annotations

from typing import Any

from .discovery import ApiResource
from .errors import CommandError
from .factory import Factory
from .flags import Flag

__all__ = ["DRY_RUN_FLAG", "OUTPUT_FLAGS", "Placement", "dry_run_mode", "place", "report",
           "validation_param", "write_params"]

DRY_RUN_FLAG = Flag("dry-run", "string", "none", "Must be \"none\", \"server\", or \"client\".",
                    no_opt="unchanged")
OUTPUT_FLAGS = [
    Flag("output", "string", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).", short="o"),
    Flag("allow-missing-template-keys", "bool", True, "If true, ignore any errors in templates when a field or map key is missing in the template."),
    Flag("show-managed-fields", "bool", False, "If true, keep the managedFields when printing objects in JSON or YAML format."),
    Flag("template", "string", "", "Template string or path to template file to use."),
]
FILE_FLAGS = [
    Flag("filename", "slice", [], "Filename, directory, or URL to files to use.", short="f"),
    Flag("recursive", "bool", False, "Process the directory used in -f, --filename recursively.", short="R"),
    Flag("kustomize", "string", "", "Process a kustomization directory.", short="k"),
]
VALIDATE_FLAG = Flag("validate", "string", "strict", "Must be one of: strict (or true), warn, ignore (or false).", no_opt="strict")


def dry_run_mode(opts: dict[str, Any]) -> str:
    """``none``, ``client`` or ``server``.

    Raises:
        CommandError: another value.
    """
    value = opts.get("dry_run") or "none"
    if value == "unchanged":
        value = "client"
    if value in ("true",):
        value = "client"
    if value == "false":
        value = "none"
    if value not in ("none", "client", "server"):
        raise CommandError(f"error: Invalid dry-run value ({value}). Must be \"none\", "
                           f"\"server\", or \"client\".")
    return str(value)


def validation_param(opts: dict[str, Any]) -> str:
    value = str(opts.get("validate") or "strict").lower()
    mapping = {"strict": "Strict", "true": "Strict", "warn": "Warn", "ignore": "Ignore",
               "false": "Ignore"}
    if value not in mapping:
        raise CommandError(f'error: invalid - validate option "{value}"; must be one of: '
                           "strict (or true), warn, ignore (or false)")
    return mapping[value]


def write_params(opts: dict[str, Any], manager: str, *, validate: bool = True) -> dict[str, str]:
    params: dict[str, str] = {}
    if dry_run_mode(opts) == "server":
        params["dryRun"] = "All"
    if manager:
        params["fieldManager"] = manager
    if validate and "validate" in opts:
        params["fieldValidation"] = validation_param(opts)
    return params


class Placement:
    """Where one object lives: its resource, namespace (None if cluster-scoped) and name."""

    def __init__(self, resource: ApiResource, namespace: str | None, name: str) -> None:
        self.resource = resource
        self.namespace = namespace
        self.name = name

    def path(self, subresource: str | None = None) -> str:
        return self.resource.path(self.namespace, self.name or None, subresource)

    def collection(self) -> str:
        return self.resource.path(self.namespace)


def place(f: Factory, obj: dict[str, Any], source: str = "") -> Placement:
    """Resolve a manifest's resource and namespace, as kubectl's resource builder does.

    Raises:
        CommandError: the manifest's namespace conflicts with ``--namespace``.
        UnknownResource: the kind is not served.
    """
    from .discovery import UnknownResource

    api_version = str(obj.get("apiVersion") or "")
    kind = str(obj.get("kind") or "")
    meta = obj.setdefault("metadata", {})
    name = str(meta.get("name") or "")
    try:
        res = f.discovery.for_kind(api_version, kind)
    except UnknownResource as exc:
        raise CommandError(
            f'error: resource mapping not found for name: "{name}" namespace: '
            f'"{meta.get("namespace", "")}" from "{source}": no matches for kind "{kind}" in '
            f'version "{api_version}"\nensure CRDs are installed first') from exc
    if not res.namespaced:
        return Placement(res, None, name)
    ns = meta.get("namespace")
    if ns and f.namespace_explicit and ns != f.namespace:
        raise CommandError(
            f'error: the namespace from the provided object "{ns}" does not match the '
            f'namespace "{f.namespace}". You must pass \'--namespace={ns}\' to perform this '
            "operation.")
    ns = ns or f.namespace
    meta["namespace"] = ns
    return Placement(res, ns, name)


def report(f: Factory, opts: dict[str, Any], res: ApiResource, obj: dict[str, Any],
           verb: str, *, name: str | None = None, typed: bool = False) -> None:
    """Print ``kind.group/name verb`` (with the dry-run suffix) or the object per ``-o``."""
    output = opts.get("output") or ""
    mode = dry_run_mode(opts) if "dry_run" in opts else "none"
    if output and output != "name":
        from .printers.output import OutputFormat, render

        fmt = OutputFormat.parse(output)
        shown = obj
        if not opts.get("show_managed_fields"):
            meta = obj.get("metadata")
            if isinstance(meta, dict) and "managedFields" in meta:
                shown = {**obj, "metadata": {k: v for k, v in meta.items()
                                             if k != "managedFields"}}
        f.out.write(render(fmt, [shown], single=True, typed=typed))
        return
    obj_name = name if name is not None else str((obj.get("metadata") or {}).get("name", ""))
    text = f"{res.kind_prefix}/{obj_name}"
    if output == "name":
        f.out.write(text + "\n")
        return
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(mode, "")
    f.out.write(f"{text} {verb}{suffix}\n")


_META_ORDER = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
               "generation", "creationTimestamp", "deletionTimestamp",
               "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
               "finalizers", "managedFields")


def enforce_namespace(f: Factory, obj: dict[str, Any]) -> dict[str, Any]:
    """Put ``--namespace`` into a locally built object (ObjectMeta field order), as kubectl
    does for generated objects when the namespace was given explicitly."""
    if not f.namespace_explicit:
        return obj
    meta = dict(obj.get("metadata") or {})
    meta["namespace"] = f.namespace
    obj["metadata"] = {k: meta[k] for k in _META_ORDER if k in meta}
    obj["metadata"].update((k, v) for k, v in meta.items() if k not in obj["metadata"])
    return obj
