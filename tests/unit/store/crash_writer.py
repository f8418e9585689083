"""Helper process for the crash-safety test: write under load until killed.

Usage: ``python crash_writer.py DB_PATH WRITERS``. Every acknowledged write is printed
as ``<revision> <key>`` (flushed at once) only after ``create`` returned, so each line
on stdout is a write the store promised to keep.
"""

from __future__ import annotations

import pathlib
import sys

import trio

from k3trio.store import open_backend


def value_for(key: str) -> bytes:
    return (key * 20).encode()


async def main(path: str, writers: int) -> None:
    out = sys.stdout

    async def writer(w: int) -> None:
        i = 0
        while True:
            key = f"/crash/{w}/{i}"
            kv = await store.create(key, value_for(key))
            out.write(f"{kv.mod_revision} {key}\n")
            out.flush()
            i += 1

    async with open_backend(f"sqlite://{path}", pathlib.Path(path).parent) as store:
        async with trio.open_nursery() as nursery:
            for w in range(writers):
                nursery.start_soon(writer, w)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], int(sys.argv[2]))
