"""Fixtures running the shared store suite against every backend."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio
import trio.testing

from k3trio.store import open_backend
from k3trio.store.core import BackendBase

BACKENDS = ["memory", "sqlite"]

Opener = Callable[..., AbstractAsyncContextManager[BackendBase]]


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(backend_kind: str, tmp_path: pathlib.Path) -> Opener:
    """Open a fresh backend of the parametrized kind; the wall clock is trio's clock."""

    def opener(**options: Any) -> AbstractAsyncContextManager[BackendBase]:
        endpoint = "memory://" if backend_kind == "memory" else f"sqlite://{tmp_path}/s.db"
        options.setdefault("wall_clock", trio.current_time)
        return open_backend(endpoint, tmp_path, **options)

    return opener


@pytest.fixture
async def store(open_store: Opener) -> AsyncIterator[BackendBase]:
    async with open_store() as backend:
        yield backend


@pytest.fixture
def jump_clock() -> trio.testing.MockClock:
    """A mock clock that jumps to the next deadline once Trio has idled for 50 ms.

    (``autojump_clock`` jumps at once, even while SQLite commits in a worker thread,
    which would make virtual time pass in the middle of a write.)
    """
    return trio.testing.MockClock(autojump_threshold=0.05)
