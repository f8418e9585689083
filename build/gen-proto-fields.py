#!/usr/bin/env python3
"""Write ``src/k3trio/api/data/proto_fields.json.gz``: the Kubernetes protobuf field table.

The wire numbers of the Kubernetes protobuf encoding are recorded in the Go API types
themselves: every field of a ``k8s.io/api`` / ``k8s.io/apimachinery`` struct carries a
``protobuf:"<wire>,<number>,<label>,name=<name>"`` tag next to its ``json:"..."`` tag, and the
``generated.proto`` files are produced from those tags. A Go binary keeps the struct tags of
every type reachable through reflection, so a kubectl binary of the API version we serve holds
the exact table. This script reads the Go type metadata of such a binary (ELF, amd64, Go 1.22+
runtime ABI) and keeps, for each API message:

    message name -> [[number, json name, type, flags(, key type, value type)], ...]

where the message name is the proto one (``k8s.io.api.core.v1.Container``), ``type`` is one of
``s`` string, ``b`` bool, ``i`` signed varint, ``u`` unsigned varint, ``d`` double, ``f``
float, ``y`` bytes (base64 in JSON), ``[X`` a wrapper message ``{repeated X items = 1}`` (a
named Go slice such as ``Verbs`` or ``ExtraValue``), or another message name; ``flags`` is a
bit set: 1 repeated, 2 Go pointer, 4 ``omitempty``, 8 inlined into the parent's JSON object, 16
``omitzero``, 32 map (entries ``{1: key, 2: value}`` with the two extra types).

The wire type comes from the Go type, not from the tag's first word (a few upstream tags say
``bytes`` for an int32). The group-version-kind -> message index comes from the shipped
swagger document's ``x-kubernetes-group-version-kind`` extensions.

Usage: build/gen-proto-fields.py [KUBECTL_BINARY]   (default: .venv/bin/kubectl)
"""

from __future__ import annotations

import gzip
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src/k3trio/api/data/proto_fields.json.gz"
SWAGGER = ROOT / "src/k3trio/api/data/swagger.json.gz"

PACKAGES = (
    "k8s.io/api/",
    "k8s.io/apimachinery/pkg/apis/meta/v1",
    "k8s.io/apimachinery/pkg/runtime",
    "k8s.io/apimachinery/pkg/util/intstr",
    "k8s.io/apimachinery/pkg/api/resource",
)
# Go reflect kinds
BOOL, INT, INT8, INT16, INT32, INT64 = 1, 2, 3, 4, 5, 6
UINT, UINT8, UINT16, UINT32, UINT64, UINTPTR = 7, 8, 9, 10, 11, 12
FLOAT32, FLOAT64, ARRAY, INTERFACE, MAP, POINTER, SLICE, STRING, STRUCT = 13, 14, 17, 20, 21, 22, 23, 24, 25
# size of the kind-specific type header, for finding the uncommon type that follows it
HEADER = {POINTER: 56, SLICE: 56, STRUCT: 80, ARRAY: 72, INTERFACE: 80, 19: 56}
TYPE_SIZE = 48

F_REPEATED, F_POINTER, F_OMITEMPTY, F_INLINE, F_OMITZERO, F_MAP = 1, 2, 4, 8, 16, 32


class Binary:
    """Go type metadata of a statically linked amd64 ELF Go binary."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        shoff = struct.unpack_from("<Q", data, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        raw = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
        strtab = raw[shstrndx][4]
        self.sections: dict[str, tuple[int, int, int]] = {}
        for name, kind, _flags, addr, off, size in raw:
            end = data.index(b"\0", strtab + name)
            if kind != 8:  # skip NOBITS
                self.sections[data[strtab + name : end].decode()] = (addr, off, size)
        self.types_base = self.sections[".rodata"][0]
        _, off, size = self.sections[".typelink"]
        self.typelinks = struct.unpack_from(f"<{size // 4}i", data, off)
        self.cache: dict[int, dict[str, Any]] = {}

    def offset(self, vaddr: int) -> int:
        for addr, off, size in self.sections.values():
            if addr and addr <= vaddr < addr + size:
                return off + vaddr - addr
        raise ValueError(f"address {vaddr:#x} is in no section")

    def _varint(self, pos: int) -> tuple[int, int]:
        result = shift = 0
        while True:
            byte = self.data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result, pos

    def name(self, vaddr: int) -> tuple[str, str, bool]:
        """(name, tag, embedded) of a runtime name record."""
        pos = self.offset(vaddr)
        flags = self.data[pos]
        length, pos = self._varint(pos + 1)
        text = self.data[pos : pos + length].decode()
        pos += length
        tag = ""
        if flags & 2:
            tlen, pos = self._varint(pos)
            tag = self.data[pos : pos + tlen].decode()
        return text, tag, bool(flags & 8)

    def type(self, vaddr: int) -> dict[str, Any]:
        cached = self.cache.get(vaddr)
        if cached is not None:
            return cached
        pos = self.offset(vaddr)
        tflag = self.data[pos + 20]
        kind = self.data[pos + 23] & 0x1F
        str_off = struct.unpack_from("<i", self.data, pos + 40)[0]
        text = self.name(self.types_base + str_off)[0]
        if tflag & 2:
            text = text[1:]
        desc: dict[str, Any] = {"kind": kind, "name": text.rsplit(".", 1)[-1] if tflag & 4 else text}
        self.cache[vaddr] = desc
        if tflag & 4 and tflag & 1 and kind != MAP:
            pkg_off = struct.unpack_from("<i", self.data, pos + HEADER.get(kind, TYPE_SIZE))[0]
            if pkg_off:
                desc["pkg"] = self.name(self.types_base + pkg_off)[0]
        if kind in (POINTER, SLICE, ARRAY):
            desc["elem"] = self.type(struct.unpack_from("<Q", self.data, pos + 48)[0])
        elif kind == MAP:
            key, elem = struct.unpack_from("<QQ", self.data, pos + 48)
            desc["key"], desc["elem"] = self.type(key), self.type(elem)
        elif kind == STRUCT:
            fields_ptr, count = struct.unpack_from("<QQ", self.data, pos + 56)
            base = self.offset(fields_ptr) if count else 0
            fields = []
            for i in range(count):
                name_ptr, type_ptr, _ = struct.unpack_from("<QQQ", self.data, base + 24 * i)
                fname, tag, embedded = self.name(name_ptr)
                fields.append({"name": fname, "tag": tag, "embedded": embedded, "type": self.type(type_ptr)})
            desc["fields"] = fields
        return desc

    def all_types(self) -> list[dict[str, Any]]:
        for link in self.typelinks:
            try:
                self.type(self.types_base + link)
            except (ValueError, IndexError, UnicodeDecodeError):
                continue
        return list(self.cache.values())


def message_name(desc: dict[str, Any]) -> str:
    return desc["pkg"].replace("/", ".") + "." + desc["name"]


def scalar(desc: dict[str, Any]) -> str:
    kind = desc["kind"]
    if kind == STRING:
        return "s"
    if kind == BOOL:
        return "b"
    if INT <= kind <= INT64:
        return "i"
    if UINT <= kind <= UINTPTR:
        return "u"
    if kind == FLOAT64:
        return "d"
    if kind == FLOAT32:
        return "f"
    if kind == SLICE and desc["elem"]["kind"] == UINT8:
        return "y"
    if kind == STRUCT and "pkg" in desc:
        return message_name(desc)
    if kind == SLICE and "pkg" in desc:
        return "[" + element(desc["elem"])
    raise ValueError(f"no protobuf type for Go type {desc.get('pkg', '')}.{desc['name']} (kind {kind})")


def element(desc: dict[str, Any]) -> str:
    if desc["kind"] == POINTER:
        desc = desc["elem"]
    return scalar(desc)


_TAG = re.compile(r'(\w+):"([^"]*)"')


def field_record(field: dict[str, Any]) -> list[Any] | None:
    tags = dict(_TAG.findall(field["tag"]))
    proto = tags.get("protobuf")
    if not proto or proto == "-":
        return None
    number = int(proto.split(",")[1])
    json_parts = tags.get("json", "").split(",")
    json_name = json_parts[0]
    flags = 0
    if "omitempty" in json_parts[1:]:
        flags |= F_OMITEMPTY
    if "omitzero" in json_parts[1:]:
        flags |= F_OMITZERO
    if json_name == "" and field["embedded"]:
        flags |= F_INLINE
    elif json_name == "":
        json_name = field["name"]
    typ = field["type"]
    if typ["kind"] == POINTER:
        flags |= F_POINTER
        typ = typ["elem"]
    if typ["kind"] == MAP:
        return [number, json_name, "", flags | F_MAP, element(typ["key"]), element(typ["elem"])]
    if typ["kind"] == SLICE and "pkg" not in typ and typ["elem"]["kind"] != UINT8:
        return [number, json_name, element(typ["elem"]), flags | F_REPEATED]
    return [number, json_name, scalar(typ), flags]


def build(binary: Binary) -> dict[str, Any]:
    messages: dict[str, list[list[Any]]] = {}
    for desc in binary.all_types():
        if desc["kind"] != STRUCT or not desc.get("pkg", "").startswith(PACKAGES):
            continue
        if not any(desc["pkg"] == p or (p.endswith("/") and desc["pkg"].startswith(p)) for p in PACKAGES):
            continue
        records = [r for r in (field_record(f) for f in desc["fields"]) if r is not None]
        if records or not desc["fields"]:  # an empty struct is an empty message
            messages[message_name(desc)] = sorted(records, key=lambda r: r[0])
    return messages


def kinds_index(messages: dict[str, Any]) -> dict[str, str]:
    swagger = json.loads(gzip.decompress(SWAGGER.read_bytes()))
    index: dict[str, str] = {}
    for name, schema in sorted(swagger["definitions"].items()):
        message = name.replace("io.k8s.api.", "k8s.io.api.", 1).replace(
            "io.k8s.apimachinery.", "k8s.io.apimachinery.", 1
        )
        if message not in messages:
            continue
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            index.setdefault(f"{api_version}/{gvk['kind']}", message)
    return index


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".venv/bin/kubectl")
    data = Path(os.path.realpath(path)).read_bytes()
    version = json.loads(
        subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, check=True).stdout
    )["clientVersion"]["gitVersion"]
    messages = build(Binary(data))
    table = {
        "source": f"Go struct tags of the k8s.io/api and k8s.io/apimachinery types in kubectl {version}",
        "messages": dict(sorted(messages.items())),
        "kinds": kinds_index(messages),
    }
    OUT.write_bytes(gzip.compress(json.dumps(table, separators=(",", ":")).encode(), 9, mtime=0))
    print(f"{OUT.relative_to(ROOT)}: {len(messages)} messages, {len(table['kinds'])} kinds, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
