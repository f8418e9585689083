"""``/healthz``, ``/livez`` and ``/readyz`` bodies, as kube-apiserver renders them.

Pure: given named check results, produce the status code and text. A check is a name and
``None`` (passing) or a failure reason. The verbose form lists ``[+]name ok`` or
``[-]name failed: reason withheld`` per check, then ``<endpoint> check passed|failed``;
``exclude`` drops checks by name; ``/readyz/<name>`` asks for one check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Check = tuple[str, str | None]


def render_health(
    endpoint: str,
    checks: Sequence[Check],
    *,
    verbose: bool = False,
    exclude: Iterable[str] = (),
    only: str | None = None,
) -> tuple[int, str]:
    """Return (HTTP status, body) for ``endpoint`` (``healthz``, ``livez`` or ``readyz``)."""
    excluded = set(exclude)
    if only is not None:
        for name, failure in checks:
            if name == only:
                if failure is None:
                    return 200, "ok"
                return 500, f"internal server error: {name} check failed: {failure}\n"
        return 404, "404 page not found\n"
    selected = [(n, f) for n, f in checks if n not in excluded]
    failed = [n for n, f in selected if f is not None]
    if not verbose and not failed:
        return 200, "ok"
    lines = []
    for name, failure in selected:
        lines.append(f"[+]{name} ok" if failure is None else f"[-]{name} failed: reason withheld")
    for name in sorted(excluded):
        lines.append(f"[+]{name} excluded: ok")
    if failed:
        lines.append(f"{endpoint} check failed")
        return 500, "\n".join(lines) + "\n"
    lines.append(f"{endpoint} check passed")
    return 200, "\n".join(lines) + "\n"
