"""List continue tokens, shaped as upstream's (``storage.EncodeContinue``).

A token is unpadded URL-safe base64 of ``{"v":"meta.k8s.io/v1","rv":<rev>,"start":"<key>"}``
where ``start`` is the next key relative to the list prefix (the last returned key plus
``\\x00``). The revision pins every page of one list to the same snapshot.
"""

from __future__ import annotations

import base64
import binascii
import json

from ...api.errors import BadRequest

__all__ = ["encode_continue", "decode_continue", "TOO_OLD_CONTINUE"]

_VERSION = "meta.k8s.io/v1"

TOO_OLD_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


def encode_continue(last_key: str, prefix: str, revision: int) -> str:
    """The token continuing after ``last_key`` (a full store key under ``prefix``)."""
    if not last_key.startswith(prefix):
        raise ValueError(f"key {last_key!r} is not under {prefix!r}")
    start = last_key[len(prefix):] + "\x00"
    payload = json.dumps({"v": _VERSION, "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()


def decode_continue(token: str, prefix: str) -> tuple[str, int]:
    """(full start key, revision) of a token.

    Raises:
        BadRequest: malformed token, with upstream's ``continue key is not valid`` text.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"continue key is not valid: {exc}") from None
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        raise BadRequest("continue key is not valid: server does not recognize this encoded key")
    rv = data.get("rv")
    start = data.get("start")
    if not isinstance(rv, int) or isinstance(rv, bool) or rv == 0:
        raise BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start:
        raise BadRequest("continue key is not valid: encoded start key empty")
    # Upstream cleans the path; refuse anything that would escape the prefix.
    if start.startswith("/") or "/../" in "/" + start:
        raise BadRequest(f"continue key is not valid: {start}")
    return prefix + start, rv
