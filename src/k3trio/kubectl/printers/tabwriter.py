"""Go's ``text/tabwriter`` as kubectl configures it (min width 6, padding 3, spaces).

Cells are separated by tabs; a column's width is the widest cell of the column block plus
the padding, at least the minimum width; the last cell of a line is never padded. A column
block is a run of consecutive lines that have a cell in that column, as in Go. Widths count
characters (Go counts runes).
"""

from __future__ import annotations

__all__ = ["format_rows"]


def format_rows(rows: list[list[str]], *, minwidth: int = 6, padding: int = 3) -> str:
    """Align ``rows`` (cells without tabs) into text lines, each ending in a newline."""
    lines = [list(r) for r in rows]
    widths: list[list[int]] = [[0] * max(len(r) - 1, 0) for r in lines]
    _layout(lines, widths, 0, 0, len(lines), minwidth, padding)
    out: list[str] = []
    for cells, ws in zip(lines, widths):
        parts = [cell.ljust(ws[i]) for i, cell in enumerate(cells[:-1])]
        if cells:
            parts.append(cells[-1])
        out.append("".join(parts) + "\n")
    return "".join(out)


def _layout(lines: list[list[str]], widths: list[list[int]], col: int, start: int, end: int,
            minwidth: int, padding: int) -> None:
    i = start
    while i < end:
        if len(lines[i]) - 1 <= col:
            i += 1
            continue
        j = i
        width = minwidth
        while j < end and len(lines[j]) - 1 > col:
            w = len(lines[j][col]) + padding
            if w > width:
                width = w
            j += 1
        for k in range(i, j):
            widths[k][col] = width
        _layout(lines, widths, col + 1, i, j, minwidth, padding)
        i = j
