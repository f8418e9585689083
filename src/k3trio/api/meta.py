"""Object metadata: accessors, timestamps, generated names and uids, and the validation rules
common to every kind (``ValidateObjectMeta`` / ``ValidateObjectMetaUpdate`` upstream).

Objects are plain JSON dicts as decoded from the wire. Accessors never mutate and tolerate
missing or ``null`` fields; ``ensure_*`` helpers create containers on demand.

Invariants:
- Timestamps are RFC 3339 in UTC with second precision (``2026-11-24T21:00:00Z``), as
  ``metav1.Time`` marshals; ``MicroTime`` keeps six fractional digits.
- Generated names append five characters from the consonant-and-digit alphabet upstream uses,
  truncating the base so the result fits 63 characters.
- Validation returns ``FieldError`` lists with upstream paths and messages; it never raises.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from k3trio.api.errors import FieldError

__all__ = [
    "GENERATE_NAME_ALPHABET",
    "NameValidator",
    "annotations_of",
    "controller_of",
    "deletion_timestamp",
    "ensure_metadata",
    "finalizers",
    "format_micro_time",
    "format_time",
    "generate_name",
    "is_being_deleted",
    "iter_label_selector_errors",
    "labels",
    "meta",
    "name",
    "namespace",
    "new_uid",
    "owner_references",
    "parse_time",
    "validate_annotations",
    "validate_dns1123_label_name",
    "validate_dns1123_subdomain_name",
    "validate_dns1035_label_name",
    "validate_finalizers",
    "validate_labels",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_owner_references",
    "validate_path_segment_name",
]

GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_RANDOM_LENGTH = 5
_MAX_NAME_LENGTH = 63
MAX_GENERATED_NAME_BASE = _MAX_NAME_LENGTH - _RANDOM_LENGTH
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

FINALIZER_ORPHAN = "orphan"
FINALIZER_DELETE_DEPENDENTS = "foregroundDeletion"

# --------------------------------------------------------------------------------------------
# Accessors
# --------------------------------------------------------------------------------------------


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    """The ``metadata`` dict, or an empty dict if absent (not attached to ``obj``)."""
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def ensure_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def name(obj: dict[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def namespace(obj: dict[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict(meta(obj).get("labels") or {})


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict(meta(obj).get("annotations") or {})


def owner_references(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(meta(obj).get("ownerReferences") or [])


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The owner reference with ``controller: true``, as ``metav1.GetControllerOf``."""
    for ref in owner_references(obj):
        if ref.get("controller") is True:
            return ref
    return None


def finalizers(obj: dict[str, Any]) -> list[str]:
    return list(meta(obj).get("finalizers") or [])


def deletion_timestamp(obj: dict[str, Any]) -> str | None:
    ts = meta(obj).get("deletionTimestamp")
    return str(ts) if ts else None


def is_being_deleted(obj: dict[str, Any]) -> bool:
    return deletion_timestamp(obj) is not None


# --------------------------------------------------------------------------------------------
# Time, names, uids
# --------------------------------------------------------------------------------------------


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def format_time(now: datetime | None = None) -> str:
    """``metav1.Time`` wire form: ``2026-11-24T21:00:00Z``."""
    return _utc(now).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(now: datetime | None = None) -> str:
    """``metav1.MicroTime`` wire form: ``2026-11-24T21:00:00.123456Z``."""
    return _utc(now).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (any fraction, ``Z`` or offset) into an aware datetime.

    Raises:
        ValueError: if ``value`` is not RFC 3339.
    """
    m = _RFC3339.match(value)
    if not m:
        raise ValueError(f"invalid RFC3339 timestamp: {value!r}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    tz_text = m.group(8)
    if tz_text in ("Z", "z"):
        tz = timezone.utc
    else:
        sign = 1 if tz_text[0] == "+" else -1
        hh, mm = int(tz_text[1:3]), int(tz_text[4:6])
        from datetime import timedelta

        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(
        timezone.utc
    )


def generate_name(base: str, *, random: Callable[[str], str] | None = None) -> str:
    """``names.SimpleNameGenerator``: ``base`` (cut to 58 chars) plus 5 random characters.

    Args:
        base: the object's ``metadata.generateName``.
        random: optional ``choice(alphabet) -> char`` for deterministic tests.
    """
    if len(base) > MAX_GENERATED_NAME_BASE:
        base = base[:MAX_GENERATED_NAME_BASE]
    pick = random or secrets.choice
    return base + "".join(pick(GENERATE_NAME_ALPHABET) for _ in range(_RANDOM_LENGTH))


def new_uid() -> str:
    """A fresh object uid (random UUID, canonical text form)."""
    return str(uuid.uuid4())


# --------------------------------------------------------------------------------------------
# Name validators: fn(name, prefix) -> list of messages (``ValidateNameFunc``)
# --------------------------------------------------------------------------------------------

NameValidator = Callable[[str, bool], list[str]]


def _mask_trailing_dash(value: str) -> str:
    if len(value) > 1 and value.endswith("-"):
        return value[:-2] + "a"
    return value


def validate_dns1123_subdomain_name(value: str, prefix: bool) -> list[str]:
    from k3trio.api import names

    if prefix:
        value = _mask_trailing_dash(value)
    return list(names.is_dns1123_subdomain(value))


def validate_dns1123_label_name(value: str, prefix: bool) -> list[str]:
    from k3trio.api import names

    if prefix:
        value = _mask_trailing_dash(value)
    return list(names.is_dns1123_label(value))


def validate_dns1035_label_name(value: str, prefix: bool) -> list[str]:
    from k3trio.api import names

    if prefix:
        value = _mask_trailing_dash(value)
    return list(names.is_dns1035_label(value))


def validate_path_segment_name(value: str, prefix: bool) -> list[str]:
    """``path.ValidatePathSegmentName`` (RBAC object names)."""
    if not prefix and value in (".", ".."):
        return [f"may not be '{value}'"]
    errs = []
    for illegal in ("/", "%"):
        if illegal in value:
            errs.append(f"may not contain '{illegal}'")
    return errs


# --------------------------------------------------------------------------------------------
# Validation common to every kind
# --------------------------------------------------------------------------------------------


def _validate_labels(values: Any, path: str) -> list[FieldError]:
    from k3trio.api import names

    errs: list[FieldError] = []
    if not isinstance(values, dict):
        return [FieldError.invalid(path, values, "must be a map of strings")]
    for key, val in values.items():
        for msg in names.is_qualified_name(key):
            errs.append(FieldError.invalid(path, key, msg))
        if not isinstance(val, str):
            errs.append(FieldError.invalid(path, val, "must be a string"))
            continue
        for msg in names.is_valid_label_value(val):
            errs.append(FieldError.invalid(path, val, msg))
    return errs


def validate_labels(values: Any, path: str = "metadata.labels") -> list[FieldError]:
    """``ValidateLabels``: qualified-name keys and valid label values."""
    return _validate_labels(values, path)


def validate_annotations(values: Any, path: str = "metadata.annotations") -> list[FieldError]:
    """``ValidateAnnotations``: qualified-name keys (case-insensitive), 256 KiB in total."""
    from k3trio.api import names

    if not isinstance(values, dict):
        return [FieldError.invalid(path, values, "must be a map of strings")]
    errs: list[FieldError] = []
    total = 0
    for key, val in values.items():
        for msg in names.is_qualified_name(key.lower()):
            errs.append(FieldError.invalid(path, key, msg))
        total += len(key.encode()) + len(str(val).encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(FieldError.too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def _parse_api_version(api_version: str) -> tuple[str, str] | None:
    if api_version == "":
        return "", ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


def validate_owner_references(refs: Any, path: str = "metadata.ownerReferences") -> list[FieldError]:
    """``ValidateOwnerReferences``: apiVersion/kind/name/uid set, at most one controller."""
    if not isinstance(refs, list):
        return [FieldError.invalid(path, refs, "must be a list")]
    errs: list[FieldError] = []
    controllers: list[str] = []
    for ref in refs:
        if not isinstance(ref, dict):
            errs.append(FieldError.invalid(path, ref, "must be an object"))
            continue
        api_version = str(ref.get("apiVersion") or "")
        kind = str(ref.get("kind") or "")
        gv = _parse_api_version(api_version)
        if gv is None:
            errs.append(
                FieldError.invalid(
                    f"{path}.apiVersion",
                    api_version,
                    f"unexpected GroupVersion string: {api_version}",
                )
            )
        else:
            group, version = gv
            if not version:
                errs.append(
                    FieldError.invalid(
                        f"{path}.apiVersion", api_version, "version must not be empty"
                    )
                )
            if not kind:
                errs.append(FieldError.invalid(f"{path}.kind", kind, "kind must not be empty"))
            if group == "" and version == "v1" and kind == "Event":
                errs.append(
                    FieldError.invalid(path, ref, "v1, Kind=Event is disallowed from being an owner")
                )
        if not ref.get("name"):
            errs.append(
                FieldError.invalid(f"{path}.name", ref.get("name") or "", "name must not be empty")
            )
        if not ref.get("uid"):
            errs.append(
                FieldError.invalid(f"{path}.uid", ref.get("uid") or "", "uid must not be empty")
            )
        if ref.get("controller") is True:
            controllers.append(f"{kind}/{ref.get('name') or ''}")
    if len(controllers) > 1:
        errs.append(
            FieldError.invalid(
                path,
                refs,
                'Only one reference can have Controller set to true. Found "true" in references '
                f"for {' and '.join(controllers)}",
            )
        )
    return errs


def validate_finalizers(values: Any, path: str = "metadata.finalizers") -> list[FieldError]:
    """``ValidateFinalizers``: qualified names; orphan and foregroundDeletion are exclusive."""
    from k3trio.api import names

    if not isinstance(values, list):
        return [FieldError.invalid(path, values, "must be a list of strings")]
    errs: list[FieldError] = []
    for fin in values:
        if not isinstance(fin, str):
            errs.append(FieldError.invalid(path, fin, "must be a string"))
            continue
        for msg in names.is_qualified_name(fin):
            errs.append(FieldError.invalid(path, fin, msg))
    if FINALIZER_ORPHAN in values and FINALIZER_DELETE_DEPENDENTS in values:
        errs.append(
            FieldError.invalid(
                path, values, "finalizer orphan and foregroundDeletion cannot be both set"
            )
        )
    return errs


def validate_object_meta(
    obj: dict[str, Any],
    *,
    namespaced: bool,
    name_validator: NameValidator = validate_dns1123_subdomain_name,
    path: str = "metadata",
) -> list[FieldError]:
    """``ValidateObjectMeta`` for a create.

    Args:
        obj: the whole object; its ``metadata`` is validated.
        namespaced: whether the kind lives in namespaces.
        name_validator: the kind's name rule (``fn(name, prefix) -> messages``).
        path: field path of the metadata (``spec.template.metadata`` for templates).
    """
    m = obj.get("metadata") if path == "metadata" else obj
    if not isinstance(m, dict):
        return [FieldError.required(f"{path}.name", "name or generateName is required")]
    errs: list[FieldError] = []
    gen = m.get("generateName") or ""
    if gen:
        for msg in name_validator(gen, True):
            errs.append(FieldError.invalid(f"{path}.generateName", gen, msg))
    nm = m.get("name") or ""
    if not nm:
        errs.append(FieldError.required(f"{path}.name", "name or generateName is required"))
    else:
        for msg in name_validator(nm, False):
            errs.append(FieldError.invalid(f"{path}.name", nm, msg))
    ns = m.get("namespace") or ""
    if namespaced:
        if not ns:
            errs.append(FieldError.required(f"{path}.namespace", ""))
        else:
            for msg in validate_dns1123_label_name(ns, False):
                errs.append(FieldError.invalid(f"{path}.namespace", ns, msg))
    elif ns:
        errs.append(FieldError.forbidden(f"{path}.namespace", "not allowed on this type"))
    gen_no = m.get("generation")
    if isinstance(gen_no, int) and gen_no < 0:
        errs.append(
            FieldError.invalid(f"{path}.generation", gen_no, "must be greater than or equal to 0")
        )
    if m.get("labels") is not None:
        errs.extend(validate_labels(m["labels"], f"{path}.labels"))
    if m.get("annotations") is not None:
        errs.extend(validate_annotations(m["annotations"], f"{path}.annotations"))
    if m.get("ownerReferences") is not None:
        errs.extend(validate_owner_references(m["ownerReferences"], f"{path}.ownerReferences"))
    if m.get("finalizers") is not None:
        errs.extend(validate_finalizers(m["finalizers"], f"{path}.finalizers"))
    rv = m.get("resourceVersion")
    if rv not in (None, "") and not (isinstance(rv, str) and rv.isdigit()):
        errs.append(
            FieldError.invalid(f"{path}.resourceVersion", rv, "must be a decimal unsigned integer")
        )
    return errs


def _immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    if new != old:
        return [FieldError.invalid(path, new, "field is immutable")]
    return []


def validate_object_meta_update(
    new: dict[str, Any],
    old: dict[str, Any],
    *,
    require_resource_version: bool = True,
    path: str = "metadata",
) -> list[FieldError]:
    """``ValidateObjectMetaUpdate``: identity and lifecycle fields may not change.

    ``name``, ``namespace``, ``uid``, ``creationTimestamp``, ``deletionTimestamp`` and
    ``deletionGracePeriodSeconds`` are immutable; generation may not go down; no finalizer
    may be added once deletion started.
    """
    nm, om = meta(new), meta(old)
    errs: list[FieldError] = []
    if om.get("deletionTimestamp"):
        old_fins = set(om.get("finalizers") or [])
        extra = sorted(f for f in (nm.get("finalizers") or []) if f not in old_fins)
        if extra:
            listed = ", ".join(f'"{f}"' for f in extra)
            errs.append(
                FieldError.forbidden(
                    f"{path}.finalizers",
                    "no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{listed}}}",
                )
            )
    if require_resource_version and not nm.get("resourceVersion"):
        errs.append(
            FieldError.invalid(
                f"{path}.resourceVersion",
                nm.get("resourceVersion") or "",
                "must be specified for an update",
            )
        )
    new_gen, old_gen = nm.get("generation") or 0, om.get("generation") or 0
    if isinstance(new_gen, int) and isinstance(old_gen, int) and new_gen < old_gen:
        errs.append(FieldError.invalid(f"{path}.generation", new_gen, "must not be decremented"))
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        errs.extend(_immutable(nm.get(key) or "", om.get(key) or "", f"{path}.{key}"))
    errs.extend(
        _immutable(nm.get("deletionTimestamp"), om.get("deletionTimestamp"), f"{path}.deletionTimestamp")
    )
    errs.extend(
        _immutable(
            nm.get("deletionGracePeriodSeconds"),
            om.get("deletionGracePeriodSeconds"),
            f"{path}.deletionGracePeriodSeconds",
        )
    )
    return errs


def iter_label_selector_errors(selector: Any, path: str) -> Iterable[FieldError]:
    """``ValidateLabelSelector``: matchLabels valid, matchExpressions well formed."""
    from k3trio.api import names

    if selector is None:
        return
    if not isinstance(selector, dict):
        yield FieldError.invalid(path, selector, "must be an object")
        return
    ml = selector.get("matchLabels")
    if ml is not None:
        yield from _validate_labels(ml, f"{path}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        epath = f"{path}.matchExpressions[{i}]"
        op = expr.get("operator")
        vals = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not vals:
                yield FieldError.required(
                    f"{epath}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                )
        elif op in ("Exists", "DoesNotExist"):
            if vals:
                yield FieldError.forbidden(
                    f"{epath}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
        else:
            yield FieldError.invalid(f"{epath}.operator", op, "not a valid selector operator")
        key = expr.get("key") or ""
        for msg in names.is_qualified_name(key):
            yield FieldError.invalid(f"{epath}.key", key, msg)
        for j, v in enumerate(vals):
            for msg in names.is_valid_label_value(str(v)):
                yield FieldError.invalid(f"{epath}.values[{j}]", v, msg)
