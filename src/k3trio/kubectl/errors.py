"""kubectl's error output: how failures are worded on stderr and which exit code they give.

``CommandError`` carries an already-worded message (``error: ...`` lines) and an exit code.
``message_for`` words any failure the commands raise the way kubectl's ``CheckErr`` does:

- a server ``Status``: ``Error from server (Reason): message`` (``Error from server: ...``
  without a reason); 401 as ``error: You must be logged in to the server (...)``; an
  ``Invalid`` status with causes as ``The Kind "name" is invalid: field: message`` (one
  cause) or a ``* ``-bulleted list;
- a connection failure: ``The connection to the server host:port was refused - ...`` or
  ``Unable to connect to the server: ...``;
- anything else: ``error: <message>``.

Every failure exits 1, as kubectl's ``DefaultErrorExitCode``.
"""

from __future__ import annotations

from typing import Any

from .rest import ConnectError, StatusError

__all__ = ["CommandError", "UsageError", "message_for"]


class CommandError(Exception):
    """A failure whose text is final (printed as is, ``error: `` added if missing)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class UsageError(CommandError):
    """A bad command line: the message, then ``See 'kubectl <cmd> -h' for help ...``."""

    def __init__(self, message: str, command: str = "", code: int = 1) -> None:
        super().__init__(message, code)
        self.command = command


def _cause_text(cause: dict[str, Any]) -> str:
    field = cause.get("field") or ""
    msg = cause.get("message") or ""
    return f"{field}: {msg}" if field else msg


def status_message(err: StatusError) -> str:
    s = err.status
    reason = s.get("reason") or ""
    message = s.get("message") or ""
    if reason == "Unauthorized":
        return f"error: You must be logged in to the server ({message})"
    if reason == "Invalid":
        details = s.get("details") or {}
        kind = details.get("kind") or ""
        head = f'The {kind} "{details.get("name", "")}" is invalid' if details else \
            "The request is invalid"
        causes = details.get("causes") or []
        if not causes:
            return head
        if len(causes) == 1:
            return f"{head}: {_cause_text(causes[0])}"
        return f"{head}: \n" + "\n".join(f"* {_cause_text(c)}" for c in causes)
    if reason:
        return f"Error from server ({reason}): {message}"
    return f"Error from server: {message}"


def message_for(exc: BaseException) -> str:
    """kubectl's stderr text for ``exc`` (no trailing newline)."""
    if isinstance(exc, StatusError):
        return status_message(exc)
    if isinstance(exc, ConnectError):
        return str(exc)
    text = str(exc)
    if isinstance(exc, CommandError) and not isinstance(exc, UsageError):
        if text.startswith(("error: ", "Error from server", "The ", "Unable to connect",
                            "the server doesn't have")):
            return text
    return text if text.startswith("error: ") else f"error: {text}"
