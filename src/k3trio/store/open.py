"""Opening a backend from an endpoint string: ``async with open_backend(...) as store``.

Endpoints:

- ``None`` or ``sqlite://``: SQLite at ``<data_dir>/server/db/state.db`` (directories
  created with mode 0700, as K3s keeps its kine database);
- ``sqlite:///abs/path.db``: SQLite at that file;
- ``memory://``: the in-memory backend;
- ``etcd://...``, ``http://...``, ``https://...``: an external etcd (not available yet).

The context manager owns the backend's background tasks (group committer, compactor,
TTL sweeper) in its own nursery; leaving it stops them, closes every watcher with
``WatchClosedError`` and closes the database.
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from .core import BackendBase, StoreOptions
from .errors import StoreError


def sqlite_path(endpoint: str | None, data_dir: pathlib.Path) -> pathlib.Path | None:
    """The database file an endpoint names, or None when it is not a SQLite endpoint."""
    if endpoint is None or endpoint in ("sqlite://", "sqlite:"):
        return pathlib.Path(data_dir) / "server" / "db" / "state.db"
    if endpoint.startswith("sqlite://"):
        path = pathlib.Path(endpoint[len("sqlite://") :])
        if not path.is_absolute():
            raise StoreError(f"sqlite endpoint needs an absolute path: {endpoint!r}")
        return path
    return None


def make_backend(
    endpoint: str | None, data_dir: pathlib.Path, options: StoreOptions
) -> BackendBase:
    """Build (but do not start) the backend an endpoint names.

    Raises:
        StoreError: unknown or not yet supported endpoint.
    """
    path = sqlite_path(endpoint, data_dir)
    if path is not None:
        from .sqlite import SQLiteBackend

        return SQLiteBackend(path, options)
    assert endpoint is not None
    if endpoint == "memory://":
        from .memory import MemoryBackend

        return MemoryBackend(options)
    if endpoint.startswith(("etcd://", "http://", "https://", "unix://")):
        raise StoreError(f"external etcd datastores are not supported yet: {endpoint!r}")
    raise StoreError(f"unknown datastore endpoint: {endpoint!r}")


@asynccontextmanager
async def open_backend(
    endpoint: str | None, data_dir: pathlib.Path, **options: Any
) -> AsyncIterator[BackendBase]:
    """Open and run the backend ``endpoint`` names; stop it on exit.

    Args:
        endpoint: see the module docstring.
        data_dir: the server's data directory (for the default SQLite file).
        **options: fields of :class:`~.core.StoreOptions`.

    Raises:
        StoreError: bad endpoint, or the database cannot be opened.
        TypeError: unknown option.
    """
    backend = make_backend(endpoint, data_dir, StoreOptions(**options))
    await backend.open()
    # The caller's exception is re-raised as itself, not wrapped in the nursery's group.
    raised: BaseException | None = None
    async with trio.open_nursery() as nursery:
        await nursery.start(backend.run)
        try:
            yield backend
        except BaseException as exc:
            raised = exc
        finally:
            nursery.cancel_scope.cancel()
    if raised is not None:
        raise raised
