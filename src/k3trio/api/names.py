"""Name, label and annotation syntax: the checks of apimachinery's ``util/validation``.

Every ``is_*`` function returns a list of human-readable messages, empty when the value is
valid, worded exactly as kube-apiserver words them (callers prefix a field path and build
``StatusCause`` entries from them). Nothing here raises on bad input.

Invariants:
- Regular expressions are anchored full matches; the pattern text shown in messages is the
  unanchored upstream pattern, character for character.
- Length limits are counted in characters of the (ASCII-only when valid) string, as upstream
  counts bytes of the UTF-8 form; a non-ASCII value always fails the pattern anyway.
- ``annotations_size`` counts UTF-8 bytes of keys and values, as ``ValidateAnnotationsSize``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "DNS1035_LABEL_MAX_LENGTH",
    "DNS1123_LABEL_MAX_LENGTH",
    "DNS1123_SUBDOMAIN_MAX_LENGTH",
    "LABEL_VALUE_MAX_LENGTH",
    "QUALIFIED_NAME_MAX_LENGTH",
    "TOTAL_ANNOTATION_SIZE_LIMIT",
    "annotation_errors",
    "annotations_size",
    "empty_error",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_qualified_name",
    "is_valid_label_value",
    "is_valid_path_segment_name",
    "label_errors",
    "max_len_error",
    "name_is_dns1035_label",
    "name_is_dns_label",
    "name_is_dns_subdomain",
    "regex_error",
]

QUALIFIED_NAME_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
DNS1035_LABEL_MAX_LENGTH = 63
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

_QNAME_CHAR = "[A-Za-z0-9]"
_QNAME_EXT_CHAR = "[-A-Za-z0-9_.]"
QUALIFIED_NAME_FMT = f"({_QNAME_CHAR}{_QNAME_EXT_CHAR}*)?{_QNAME_CHAR}"
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
LABEL_VALUE_FMT = f"({QUALIFIED_NAME_FMT})?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)

_QUALIFIED_NAME_RE = re.compile(QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE_FMT)
_DNS1123_LABEL_RE = re.compile(DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(DNS1035_LABEL_FMT)


def _full(pattern: re.Pattern[str], value: str) -> bool:
    # Go's regexp has no "$ before trailing newline" leniency; fullmatch has none either.
    return pattern.fullmatch(value) is not None


def empty_error() -> str:
    """``EmptyError()``."""
    return "must be non-empty"


def max_len_error(length: int) -> str:
    """``MaxLenError(n)``."""
    return f"must be no more than {length} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``RegexError``: the message, examples and the pattern, spaced exactly as upstream.

    Upstream joins examples with ``"', " + " or "``, which leaves two spaces between
    examples (``'MyName',  or 'my.name'``); clients see that text, so it is kept.
    """
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    out = msg + " (e.g. "
    for i, example in enumerate(examples):
        if i > 0:
            out += " or "
        out += f"'{example}', "
    return out + f"regex used for validation is '{fmt}')"


def _byte_len(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def is_qualified_name(value: str) -> list[str]:
    """``IsQualifiedName``: label and annotation keys, ``[prefix/]name``."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif _byte_len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if not _full(_QUALIFIED_NAME_RE, name):
        errs.append(
            "name part "
            + regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """``IsValidLabelValue``: empty, or up to 63 alphanumerics with ``-_.`` inside."""
    errs: list[str] = []
    if _byte_len(value) > LABEL_VALUE_MAX_LENGTH:
        errs.append(max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not _full(_LABEL_VALUE_RE, value):
        errs.append(regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_dns1123_label(value: str) -> list[str]:
    """``IsDNS1123Label``: a lowercase RFC 1123 label (namespace names, port names...)."""
    errs: list[str] = []
    if _byte_len(value) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _full(_DNS1123_LABEL_RE, value):
        if _full(_DNS1123_SUBDOMAIN_RE, value):
            # A valid subdomain that is not a label can only be failing on its dots.
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """``IsDNS1123Subdomain``: most object names."""
    errs: list[str] = []
    if _byte_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _full(_DNS1123_SUBDOMAIN_RE, value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """``IsDNS1035Label``: service names and the like."""
    errs: list[str] = []
    if _byte_len(value) > DNS1035_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if not _full(_DNS1035_LABEL_RE, value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_valid_path_segment_name(value: str) -> list[str]:
    """``IsValidPathSegmentName``: names that must be usable as one URL path segment."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in value]


def _mask_trailing_dash(value: str) -> str:
    """``maskTrailingDash``: a generateName prefix may end in '-', the final name may not."""
    if len(value) > 1 and value.endswith("-"):
        return value[:-1] + "a"
    return value


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    """``NameIsDNSSubdomain``: object-name check; ``prefix`` for ``generateName`` values."""
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    """``NameIsDNSLabel``."""
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    """``NameIsDNS1035Label``."""
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def label_errors(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """All problems of a labels map as ``(bad value, message)`` pairs, keys then values.

    Mirrors ``ValidateLabels``: each key must be a qualified name, each value a label value.
    """
    out: list[tuple[str, str]] = []
    for key in sorted(labels):
        out.extend((key, msg) for msg in is_qualified_name(key))
        value = labels[key]
        out.extend((value, msg) for msg in is_valid_label_value(value))
    return out


def annotations_size(annotations: Mapping[str, str]) -> int:
    """Total bytes of keys and values, as ``ValidateAnnotationsSize`` counts them."""
    return sum(_byte_len(k) + _byte_len(v) for k, v in annotations.items())


def annotation_errors(annotations: Mapping[str, str]) -> list[tuple[str, str]]:
    """Problems of an annotations map as ``(bad value, message)`` pairs.

    Keys are checked case-insensitively (upstream lower-cases them first). A total size over
    :data:`TOTAL_ANNOTATION_SIZE_LIMIT` adds ``("", "must have at most 262144 bytes")``, which
    the caller renders as a ``TooLong`` field error on the annotations map.
    """
    out: list[tuple[str, str]] = []
    for key in sorted(annotations):
        out.extend((key, msg) for msg in is_qualified_name(key.lower()))
    if annotations_size(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT:
        out.append(("", f"must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"))
    return out
