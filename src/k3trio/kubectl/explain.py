"""``kubectl explain RESOURCE[.FIELD...]``: documentation from ``/openapi/v3``, in kubectl's
plain-text layout (``KIND``/``VERSION``/``GROUP`` header, ``DESCRIPTION`` and ``FIELDS``,
descriptions word-wrapped at 76 columns under a four-space indent, ``--recursive`` for the
field tree).
"""

from __future__ import annotations

from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag

SHORT = "Get documentation for a resource"
USAGE = "kubectl explain TYPE [--recursive=FALSE|TRUE] [--api-version=api-version-group] [-o|--output=plaintext|plaintext-openapiv2]"
FLAGS = [
    Flag("api-version", "string", "", "Use given api-version (group/version) of the resource."),
    Flag("output", "string", "plaintext", "Format in which to render the schema.", short="o"),
    Flag("recursive", "bool", False, "When true, print the name of all the fields recursively."),
]
WRAP = 76


def wrap(text: str, width: int = WRAP) -> list[str]:
    """go-wordwrap: break at spaces so lines stay within ``width`` (long words kept whole)."""
    out: list[str] = []
    for para in text.split("\n"):
        words = para.split(" ")
        line = ""
        for word in words:
            if not line:
                line = word
            elif len(line) + 1 + len(word) > width:
                out.append(line)
                line = word
            else:
                line += " " + word
        out.append(line)
    return out


class _Schemas:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = (doc.get("components") or {}).get("schemas") or {}

    def deref(self, schema: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """(the schema a property points to, its definition name or "")."""
        ref = schema.get("$ref")
        if ref is None and len(schema.get("allOf") or []) == 1:
            ref = schema["allOf"][0].get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            return self.schemas.get(name, {}), name
        return schema, ""

    def type_name(self, schema: dict[str, Any]) -> str:
        target, name = self.deref(schema)
        if target.get("x-kubernetes-int-or-string") or schema.get("x-kubernetes-int-or-string"):
            return "IntOrString"
        if name:
            if "properties" in target or target.get("type") == "object" or not target.get("type"):
                return name.rsplit(".", 1)[-1]
            return str(target.get("type"))
        t = schema.get("type")
        if t == "array":
            return "[]" + self.type_name(schema.get("items") or {})
        if t == "object":
            add = schema.get("additionalProperties")
            if isinstance(add, dict):
                return "map[string]" + self.type_name(add)
            return "Object"
        return str(t or "Object")


def _fetch(f: Factory, res: Any) -> dict[str, Any]:
    path = f"/openapi/v3/apis/{res.group}/{res.version}" if res.group else f"/openapi/v3/api/{res.version}"
    index = f.client.get("/openapi/v3").get("paths") or {}
    key = path[len("/openapi/v3/"):]
    url = (index.get(key) or {}).get("serverRelativeURL") or path
    doc: dict[str, Any] = f.client.get(url.split("?", 1)[0])
    return doc


def _gvk_schema(s: _Schemas, res: Any) -> tuple[str, dict[str, Any]]:
    for name, schema in s.schemas.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if gvk.get("group", "") == res.group and gvk.get("version") == res.version \
                    and gvk.get("kind") == res.kind:
                return name, schema
    raise CommandError(f"error: couldn't find resource for \"{res.api_version}, Kind={res.kind}\"")


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if len(args) != 1:
        raise CommandError("error: We accept only this format: explain RESOURCE\n"
                           if args else
                           "You must specify the type of resource to explain. Use \"kubectl "
                           "api-resources\" for a complete list of supported resources.\n")
    if opts["output"] not in ("plaintext",):
        raise CommandError(f"error: unsupported output format: {opts['output']}")
    first, *path = args[0].split(".")
    res = f.discovery.resolve(first)
    if opts["api_version"]:
        for r in f.discovery.resources():
            if r.resource == res.resource and r.api_version == opts["api_version"]:
                res = r
    s = _Schemas(_fetch(f, res))
    _, schema = _gvk_schema(s, res)
    field_schema: dict[str, Any] | None = None
    header = ([f"GROUP:      {res.group}"] if res.group else []) + [
        f"KIND:       {res.kind}", f"VERSION:    {res.version}", ""]
    for part in path:
        target, _ = s.deref(schema)
        while target.get("type") == "array" or "items" in target:
            target, _ = s.deref(target.get("items") or {})
        props = target.get("properties") or {}
        if part not in props:
            f.out.write("\n".join(header) + "\n")
            raise CommandError(f'error: field "{part}" does not exist')
        field_schema = props[part]
        schema = field_schema
    out: list[str] = list(header)
    body, _ = s.deref(schema)
    while "items" in body and "properties" not in body:
        body, _ = s.deref(body.get("items") or {})
    if field_schema is not None:
        out.append(f"FIELD: {path[-1]} <{s.type_name(field_schema)}>")
        out.append("")
        out.append("")
        desc = field_schema.get("description") or ""
        target, name = s.deref(field_schema)
        items_target = target
        if field_schema.get("type") == "array":
            items_target, name = s.deref(field_schema.get("items") or {})
        elif isinstance(field_schema.get("additionalProperties"), dict):
            items_target, name = s.deref(field_schema["additionalProperties"])
        if name and items_target.get("description") and items_target.get("description") != desc:
            desc = (desc + "\n" if desc else "") + items_target["description"]
    else:
        desc = schema.get("description") or ""
    out.append("DESCRIPTION:")
    out.extend(("    " + ln).rstrip() if ln else "    " for ln in wrap(desc))
    out.append("    ")
    props = body.get("properties") or {}
    if props:
        out.append("FIELDS:")
        if opts["recursive"]:
            _recursive(s, body, 1, out, set())
        else:
            required = set(body.get("required") or [])
            for name in sorted(props):
                p = props[name]
                flag = " -required-" if name in required else ""
                out.append(f"  {name}\t<{s.type_name(p)}>{flag}")
                d = p.get("description") or ""
                out.extend("    " + ln for ln in wrap(d))
                out.append("")
    out.append("")
    out.append("")
    f.out.write("\n".join(out))
    return 0


def _recursive(s: _Schemas, body: dict[str, Any], level: int, out: list[str], seen: set[str]) -> None:
    required = set(body.get("required") or [])
    for name in sorted(body.get("properties") or {}):
        p = body["properties"][name]
        flag = " -required-" if name in required else ""
        out.append(f"{'  ' * level}{name}\t<{s.type_name(p)}>{flag}")
        target, ref = s.deref(p)
        if p.get("type") == "array":
            target, ref = s.deref(p.get("items") or {})
        if ref and ref in seen:
            continue
        if target.get("properties"):
            _recursive(s, target, level + 1, out, seen | ({ref} if ref else set()))
