"""``kubectl config``: view, get-contexts, get-clusters, get-users, current-context,
use-context, set-context, set-cluster, set-credentials, delete-context, delete-cluster,
delete-user, rename-context, set, unset.

Reads go through the merged view (``kubeconfig.load``); writes change the one file that
defines the entry (or the default destination for new entries), written back in kubectl's
canonical form: sorted keys, ``clusters``/``contexts``/``users`` lists (``null`` when empty),
``cluster`` and ``user`` of a context always present, empty optional fields dropped.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .kubeconfig import read_file, write_file

SHORT = "Modify kubeconfig files"
USAGE = "kubectl config SUBCOMMAND"
SUBCOMMANDS = {
    "current-context": "Display the current-context",
    "delete-cluster": "Delete the specified cluster from the kubeconfig",
    "delete-context": "Delete the specified context from the kubeconfig",
    "delete-user": "Delete the specified user from the kubeconfig",
    "get-clusters": "Display clusters defined in the kubeconfig",
    "get-contexts": "Describe one or many contexts",
    "get-users": "Display users defined in the kubeconfig",
    "rename-context": "Rename a context from the kubeconfig file",
    "set": "Set an individual value in a kubeconfig file",
    "set-cluster": "Set a cluster entry in kubeconfig",
    "set-context": "Set a context entry in kubeconfig",
    "set-credentials": "Set a user entry in kubeconfig",
    "unset": "Unset an individual value in a kubeconfig file",
    "use-context": "Set the current-context in a kubeconfig file",
    "view": "Display merged kubeconfig settings or a specified kubeconfig file",
}

_FLAGS: dict[str, list[Flag]] = {
    "view": [
        Flag("flatten", "bool", False, "Flatten the resulting kubeconfig file into self-contained output"),
        Flag("merge", "bool", True, "Merge the full hierarchy of kubeconfig files"),
        Flag("minify", "bool", False, "Remove all information not used by current-context from the output"),
        Flag("output", "string", "yaml", "Output format.", short="o"),
        Flag("raw", "bool", False, "Display raw byte data and sensitive data"),
        Flag("allow-missing-template-keys", "bool", True, ""),
    ],
    "get-contexts": [Flag("no-headers", "bool", False, "When using the default or custom-column output format, don't print headers."),
                     Flag("output", "string", "", "Output format. One of: (name).", short="o")],
    "set-context": [Flag("current", "bool", False, "Modify the current context"),
                    Flag("cluster", "string", "", "cluster for the context entry in kubeconfig"),
                    Flag("user", "string", "", "user for the context entry in kubeconfig"),
                    Flag("namespace", "string", "", "namespace for the context entry in kubeconfig", short="n")],
    "set-cluster": [Flag("server", "string", "", "server for the cluster entry in kubeconfig"),
                    Flag("certificate-authority", "string", "", "Path to certificate-authority file"),
                    Flag("embed-certs", "bool", False, "embed-certs for the cluster entry in kubeconfig"),
                    Flag("insecure-skip-tls-verify", "bool", False, "insecure-skip-tls-verify"),
                    Flag("tls-server-name", "string", "", "tls-server-name"),
                    Flag("proxy-url", "string", "", "proxy-url")],
    "set-credentials": [Flag("token", "string", "", "token for the user entry in kubeconfig"),
                        Flag("username", "string", "", "username"),
                        Flag("password", "string", "", "password"),
                        Flag("client-certificate", "string", "", "Path to client-certificate file"),
                        Flag("client-key", "string", "", "Path to client-key file"),
                        Flag("embed-certs", "bool", False, "Embed client cert/key")],
    "set": [Flag("set-raw-bytes", "bool", False, "When writing a []byte PROPERTY_VALUE, write the given string directly without base64 decoding.")],
}


def flags(sub: str | None) -> list[Flag]:
    return _FLAGS.get(sub or "", [])


_SECTIONS = {"clusters": "cluster", "contexts": "context", "users": "user"}


class _Files:
    """Per-file documents, loaded lazily and written back when changed."""

    def __init__(self, f: Factory) -> None:
        self.f = f
        self.cfg = f.config
        self.docs: dict[Path, dict[str, Any]] = {}
        self.dirty: set[Path] = set()

    def doc(self, path: Path) -> dict[str, Any]:
        if path not in self.docs:
            self.docs[path] = read_file(path)
        return self.docs[path]

    def where(self, section: str, name: str) -> Path:
        entries = {"clusters": self.cfg.clusters, "contexts": self.cfg.contexts,
                   "users": self.cfg.users}[section]
        entry = entries.get(name)
        if entry is not None and entry.source is not None:
            return entry.source
        return self.cfg.destination()

    def entry(self, section: str, name: str, create: bool = True) -> dict[str, Any] | None:
        path = self.where(section, name)
        doc = self.doc(path)
        items = doc.get(section) or []
        for item in items:
            if isinstance(item, dict) and item.get("name") == name:
                self.dirty.add(path)
                found = item.setdefault(_SECTIONS[section], {})
                return found if isinstance(found, dict) else {}
        if not create:
            return None
        value: dict[str, Any] = {}
        items.append({"name": name, _SECTIONS[section]: value})
        doc[section] = items
        self.dirty.add(path)
        return value

    def remove(self, section: str, name: str) -> Path | None:
        path = self.where(section, name)
        doc = self.doc(path)
        items = doc.get(section) or []
        kept = [i for i in items if not (isinstance(i, dict) and i.get("name") == name)]
        if len(kept) == len(items):
            return None
        doc[section] = kept
        self.dirty.add(path)
        return path

    def save(self) -> None:
        for path in self.dirty:
            write_file(path, canonical(self.docs[path]))


def canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """A kubeconfig document in the shape kubectl writes it."""
    out: dict[str, Any] = {"apiVersion": doc.get("apiVersion") or "v1"}
    for section, key in _SECTIONS.items():
        items = []
        for item in doc.get(section) or []:
            if not isinstance(item, dict):
                continue
            value = {k: v for k, v in (item.get(key) or {}).items() if v not in (None, "", [], {})
                     or (key == "context" and k in ("cluster", "user"))
                     or (key == "cluster" and k == "server")}
            if key == "context":
                value.setdefault("cluster", "")
                value.setdefault("user", "")
            if key == "cluster":
                value.setdefault("server", "")
            items.append({"name": item.get("name"), key: value})
        out[section] = sorted(items, key=lambda i: str(i["name"])) if items else None
    out["current-context"] = doc.get("current-context") or ""
    out["kind"] = "Config"
    if doc.get("preferences"):
        out["preferences"] = doc["preferences"]
    return out


def run(f: Factory, sub: str | None, args: list[str], opts: dict[str, Any]) -> int:
    if sub is None:
        from .help import command_help
        import sys

        f.out.write(command_help("config", None, sys.modules[__name__]))
        return 0
    handler = globals()["_" + sub.replace("-", "_")]
    code: int = handler(f, args, opts)
    return code


def _view(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    cfg = f.config
    names = None
    if opts["minify"]:
        ctx_name = f.overrides.context or cfg.current_context
        if not ctx_name:
            raise CommandError("error: current-context must exist in order to minify")
        ctx = cfg.contexts.get(ctx_name)
        if ctx is None:
            raise CommandError(f'error: cannot locate context {ctx_name}')
        names = {"contexts": {ctx_name}, "clusters": {ctx.value.get("cluster", "")},
                 "users": {ctx.value.get("user", "")}}
    doc = cfg.to_document(names=names)
    if opts["minify"]:
        doc["current-context"] = f.overrides.context or cfg.current_context
    raw = opts["raw"] or opts["flatten"]
    if opts["flatten"]:
        _flatten(cfg, doc)
    if not raw:
        _redact(doc)
    output = opts["output"] or "yaml"
    if output == "yaml":
        from .printers.yamlfmt import dump_yaml

        f.out.write(dump_yaml(doc))
    elif output == "json":
        from .printers.yamlfmt import go_json_indent

        f.out.write(go_json_indent(struct_order(doc), sort_keys=False))
    elif output.startswith("jsonpath="):
        from .printers.output import run_jsonpath

        f.out.write(run_jsonpath(output.split("=", 1)[1], doc))
    else:
        raise CommandError(f'error: unable to match a printer suitable for the output format '
                           f'"{output}"')
    return 0


_ORDER = {
    "config": ["kind", "apiVersion", "preferences", "clusters", "users", "contexts",
               "current-context", "extensions"],
    "cluster": ["server", "tls-server-name", "insecure-skip-tls-verify", "certificate-authority",
                "certificate-authority-data", "proxy-url", "disable-compression", "extensions"],
    "user": ["client-certificate", "client-certificate-data", "client-key", "client-key-data",
             "token", "tokenFile", "as", "as-uid", "as-groups", "as-user-extra", "username",
             "password", "auth-provider", "exec", "extensions"],
    "context": ["cluster", "user", "namespace", "extensions"],
}


def _ordered(value: dict[str, Any], order: list[str]) -> dict[str, Any]:
    out = {k: value[k] for k in order if k in value}
    out.update((k, v) for k, v in value.items() if k not in out)
    return out


def struct_order(doc: dict[str, Any]) -> dict[str, Any]:
    """The document in the field order of kubectl's Config struct (its JSON output order)."""
    out = _ordered(doc, _ORDER["config"])
    for section, key in _SECTIONS.items():
        if out.get(section):
            out[section] = [{"name": i["name"], key: _ordered(i[key], _ORDER[key])}
                            for i in out[section]]
    return out


def _redact(doc: dict[str, Any]) -> None:
    for section in ("clusters", "users"):
        for item in doc.get(section) or []:
            value = item.get(_SECTIONS[section]) or {}
            for k in list(value):
                if k.endswith("-data"):
                    value[k] = "DATA+OMITTED"
                elif k in ("token", "password"):
                    value[k] = "REDACTED"


def _flatten(cfg: Any, doc: dict[str, Any]) -> None:
    for section in ("clusters", "users"):
        entries = cfg.clusters if section == "clusters" else cfg.users
        for item in doc.get(section) or []:
            value = item[_SECTIONS[section]] = copy.deepcopy(item[_SECTIONS[section]])
            entry = entries.get(item["name"])
            base = entry.source.parent if entry is not None and entry.source else Path.cwd()
            for field in ("certificate-authority", "client-certificate", "client-key"):
                if value.get(field):
                    data = (base / value.pop(field)).read_bytes()
                    value[f"{field}-data"] = base64.b64encode(data).decode()


def _current_context(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if not f.config.current_context:
        raise CommandError("error: current-context is not set")
    f.out.write(f.config.current_context + "\n")
    return 0


def _get_contexts(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    cfg = f.config
    names = sorted(cfg.contexts)
    if args:
        missing = [a for a in args if a not in cfg.contexts]
        if missing:
            raise CommandError(f'error: context {missing[0]} not found')
        names = [n for n in names if n in args]
    if opts["output"] == "name":
        for n in names:
            f.out.write(n + "\n")
        return 0
    if opts["output"]:
        raise CommandError(f"error: output must be one of '' or 'name'")
    from .printers.tabwriter import format_rows

    rows = [] if opts["no_headers"] else [["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]]
    for n in names:
        c = cfg.contexts[n].value
        rows.append(["*" if n == cfg.current_context else "", n, c.get("cluster", ""),
                     c.get("user", ""), c.get("namespace", "")])
    f.out.write(format_rows(rows))
    return 0


def _get_clusters(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    f.out.write("NAME\n" + "".join(n + "\n" for n in sorted(f.config.clusters)))
    return 0


def _get_users(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    f.out.write("NAME\n" + "".join(n + "\n" for n in sorted(f.config.users)))
    return 0


def _need_name(args: list[str], usage: str) -> str:
    if len(args) != 1:
        raise CommandError(f"error: Unexpected args: {args}" if args else
                           f"error: Unexpected args: []\n\nUsage: {usage}")
    return args[0]


def _use_context(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if len(args) != 1:
        raise CommandError("error: Unexpected args: " + str(args))
    name = args[0]
    if name not in f.config.contexts:
        raise CommandError(f'error: no context exists with the name: "{name}"')
    files = _Files(f)
    path = f.config.destination()
    files.doc(path)["current-context"] = name
    files.dirty.add(path)
    files.save()
    f.out.write(f'Switched to context "{name}".\n')
    return 0


def _set_context(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if opts["current"]:
        if args:
            raise CommandError("error: you cannot specify a context name and --current")
        name = f.config.current_context
        if not name:
            raise CommandError("error: no current context is set")
    else:
        if len(args) != 1:
            raise CommandError("error: you must specify a non-empty context name or --current")
        name = args[0]
    exists = name in f.config.contexts
    files = _Files(f)
    ctx = files.entry("contexts", name)
    assert ctx is not None
    changed = opts["__changed__"]
    for key in ("cluster", "user", "namespace"):
        if key in changed:
            ctx[key] = opts[key]
    files.save()
    f.out.write(f'Context "{name}" {"modified" if exists else "created"}.\n')
    return 0


def _set_cluster(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if len(args) != 1:
        raise CommandError("error: Unexpected args: " + str(args))
    name = args[0]
    files = _Files(f)
    c = files.entry("clusters", name)
    assert c is not None
    changed = opts["__changed__"]
    if "server" in changed:
        c["server"] = opts["server"]
    if "tls_server_name" in changed:
        c["tls-server-name"] = opts["tls_server_name"]
    if "proxy_url" in changed:
        c["proxy-url"] = opts["proxy_url"]
    if "insecure_skip_tls_verify" in changed:
        c["insecure-skip-tls-verify"] = opts["insecure_skip_tls_verify"]
        if opts["insecure_skip_tls_verify"]:
            c.pop("certificate-authority", None)
            c.pop("certificate-authority-data", None)
    if "certificate_authority" in changed:
        path = opts["certificate_authority"]
        if opts["embed_certs"]:
            c["certificate-authority-data"] = base64.b64encode(Path(path).read_bytes()).decode()
            c.pop("certificate-authority", None)
        else:
            c["certificate-authority"] = str(Path(path).resolve())
            c.pop("certificate-authority-data", None)
        c.pop("insecure-skip-tls-verify", None)
    files.save()
    f.out.write(f'Cluster "{name}" set.\n')
    return 0


def _set_credentials(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if len(args) != 1:
        raise CommandError("error: Unexpected args: " + str(args))
    name = args[0]
    files = _Files(f)
    u = files.entry("users", name)
    assert u is not None
    changed = opts["__changed__"]
    for flag, key in (("token", "token"), ("username", "username"), ("password", "password")):
        if flag in changed:
            u[key] = opts[flag]
    for flag, key in (("client_certificate", "client-certificate"), ("client_key", "client-key")):
        if flag in changed:
            if opts["embed_certs"]:
                u[f"{key}-data"] = base64.b64encode(Path(opts[flag]).read_bytes()).decode()
                u.pop(key, None)
            else:
                u[key] = str(Path(opts[flag]).resolve())
                u.pop(f"{key}-data", None)
    files.save()
    f.out.write(f'User "{name}" set.\n')
    return 0


def _delete(f: Factory, args: list[str], section: str, label: str) -> int:
    if len(args) != 1:
        raise CommandError(f"error: Unexpected args: {args}")
    name = args[0]
    files = _Files(f)
    path = files.remove(section, name)
    if path is None:
        where = ", ".join(str(p) for p in f.config.files) or str(f.config.destination())
        raise CommandError(f"error: cannot delete {label} {name}, not in {where}")
    files.save()
    f.out.write(f"deleted {label} {name} from {path}\n")
    if section == "contexts" and name == f.config.current_context:
        f.err.write('warning: this removed your active context, use "kubectl config '
                    'use-context" to select a different one\n')
    return 0


def _delete_context(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    return _delete(f, args, "contexts", "context")


def _delete_cluster(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    return _delete(f, args, "clusters", "cluster")


def _delete_user(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    return _delete(f, args, "users", "user")


def _rename_context(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if len(args) != 2:
        raise CommandError("error: Unexpected args: " + str(args))
    old, new = args
    if old not in f.config.contexts:
        raise CommandError(f'error: cannot rename the context "{old}", it\'s not in '
                           f'{f.config.destination()}')
    if new in f.config.contexts:
        raise CommandError(f'error: cannot rename the context "{old}", the context "{new}" '
                           f"already exists in {f.config.destination()}")
    files = _Files(f)
    path = files.where("contexts", old)
    doc = files.doc(path)
    for item in doc.get("contexts") or []:
        if item.get("name") == old:
            item["name"] = new
    if doc.get("current-context") == old:
        doc["current-context"] = new
    files.dirty.add(path)
    files.save()
    f.out.write(f'Context "{old}" renamed to "{new}".\n')
    return 0


def _set(f: Factory, args: list[str], opts: dict[str, Any], unset: bool = False) -> int:
    if len(args) != (1 if unset else 2):
        raise CommandError(f"error: Unexpected args: {args}")
    prop = args[0]
    parts = prop.split(".")
    files = _Files(f)
    path = f.config.destination()
    doc = files.doc(path)
    if parts[0] in _SECTIONS and len(parts) >= 3:
        target = files.entry(parts[0], parts[1], create=not unset)
        if target is None:
            raise CommandError(f'error: current map key `{parts[1]}` is invalid')
        keys = parts[2:]
    else:
        target = doc
        keys = parts
    for k in keys[:-1]:
        target = target.setdefault(k, {})
    if unset:
        target.pop(keys[-1], None)
        files.dirty.add(path)
        files.save()
        f.out.write(f'Property "{prop}" unset.\n')
        return 0
    value: Any = args[1]
    if value in ("true", "false") and keys[-1] in ("insecure-skip-tls-verify", "colors"):
        value = value == "true"
    target[keys[-1]] = value
    files.dirty.add(path)
    files.save()
    f.out.write(f'Property "{prop}" set.\n')
    return 0


def _unset(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    return _set(f, args, opts, unset=True)
