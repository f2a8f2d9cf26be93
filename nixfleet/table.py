"""Plain-text tables for people: every summary nixfleet prints lines its columns up here."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from tabulate import tabulate


def aligned(
    rows: Sequence[Sequence[str]], *, indent: int = 2, right: Collection[int] = ()
) -> list[str]:
    """One line per row, each column as wide as its widest cell, columns two spaces apart.

    Cells are kept as written (no number parsing), a newline in a cell becomes a space so that a
    row stays one line, and trailing blanks are dropped. Columns whose index is in ``right`` are
    right-aligned. A short row leaves its last columns empty.

    >>> rows = [["nas", "unchanged", "0.0 s"], ["a-much-longer-host", "switched", "12.5 s"]]
    >>> for line in aligned(rows, right={2}):
    ...     print(line)
      nas                 unchanged   0.0 s
      a-much-longer-host  switched   12.5 s
    >>> aligned([["laptop", "FAIL", "syncthing\\nnot running"], ["vps", ""]], indent=0)
    ['laptop  FAIL  syncthing not running', 'vps']
    >>> aligned([])
    []
    """
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    cells = [[" ".join(cell.splitlines()) for cell in row] for row in rows]
    text = tabulate(
        cells,
        tablefmt="plain",
        disable_numparse=True,
        colalign=["right" if i in right else "left" for i in range(columns)],
    )
    return [" " * indent + line.rstrip() for line in text.splitlines()]
