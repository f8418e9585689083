"""Facts about the single-file build this code runs from.

In a source checkout or an installed package nothing is frozen and every value is empty;
``build/stage.py`` overwrites this module in the zipapp with the architecture, the CPython
versions the file carries binary modules for, and the oldest glibc its wheels accept.
"""

from __future__ import annotations

#: ``uname -m`` name of the architecture the file was built for; None when not frozen.
ARCH: str | None = None
#: CPython (major, minor) versions the file carries extension modules for.
PYTHONS: tuple[tuple[int, int], ...] = ()
#: Oldest glibc (major, minor) every binary wheel in the file accepts; None if none needed.
GLIBC: tuple[int, int] | None = None
