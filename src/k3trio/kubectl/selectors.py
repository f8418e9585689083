"""Client-side label selector matching (``apply -l`` filters manifests before sending)."""

from __future__ import annotations

from collections.abc import Mapping

from .errors import CommandError

__all__ = ["matches_labels"]


def matches_labels(selector: str, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy ``selector``.

    Raises:
        CommandError: the selector does not parse.
    """
    from ..api.labels import SelectorError, parse

    try:
        return bool(parse(selector).matches(dict(labels)))
    except SelectorError as exc:
        raise CommandError(f"error: {exc}") from exc
