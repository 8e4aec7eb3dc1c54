"""Tables on stdout that fit the terminal and never cut a value that is typed back (a serial, a fingerprint).

Rows are written as they come, so a listing of any length starts at once and holds little memory: the widths
are measured on the first rows; a later, longer value widens its row rather than being cut. When the columns
do not fit the terminal, the columns marked `wrap` (names, lists) are narrowed and their values wrapped onto
continuation lines; the others (ids, serials, fingerprints, dates) are never narrowed.
"""

from __future__ import annotations

import itertools
import shutil
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

MEASURED_ROWS = 500  # rows measured before the first is written
GAP = "  "
MIN_WRAPPED = 12


@dataclass(frozen=True)
class Column:
    name: str
    wrap: bool = False  # may be narrowed and wrapped to fit the terminal


def _cell(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split()) if isinstance(value, str) else str(value)


def _fit(widths: list[int], floors: list[int], columns: Sequence[Column], room: int | None) -> list[int]:
    """Narrow the wrapping columns, widest first, until the table fits `room` characters (None: no limit); none
    below its floor (its longest word, so that wrapping never splits one)."""
    if room is None:
        return widths
    widths = list(widths)
    while sum(widths) + len(GAP) * (len(widths) - 1) > room:
        candidates = [i for i, c in enumerate(columns) if c.wrap and widths[i] > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _lines(cells: list[str], widths: list[int], columns: Sequence[Column]) -> list[str]:
    parts = [textwrap.wrap(cell, width, break_on_hyphens=False) or [""] if column.wrap and len(cell) > width
             else [cell] for cell, width, column in zip(cells, widths, columns, strict=True)]
    lines = []
    for pieces in itertools.zip_longest(*parts, fillvalue=""):
        padded = [piece.ljust(width) for piece, width in zip(pieces, widths, strict=True)]
        lines.append(GAP.join(padded).rstrip())
    return lines


def write_table(title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], out: TextIO | None = None,
                empty: str | None = None) -> int:
    """Write the table (a title line, a header, the rows); returns the number of rows. `empty` is said instead of
    a header when there are no rows."""
    out = out or sys.stdout
    stream = iter(rows)
    first = [[_cell(v) for v in row] for row in itertools.islice(stream, MEASURED_ROWS)]
    if not first:
        out.write(f"{empty or f'no {title}'}\n")
        return 0
    widths = [max([len(c.name), *(len(row[i]) for row in first)]) for i, c in enumerate(columns)]
    floors = [min(widths[i], max([MIN_WRAPPED, *(len(word) for row in first for word in row[i].split())]))
              for i in range(len(columns))]
    room = shutil.get_terminal_size().columns if out.isatty() else None
    widths = _fit(widths, floors, columns, room)
    out.write(f"{title}\n")
    out.write(GAP.join(c.name.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n")
    out.write(GAP.join("-" * w for w in widths) + "\n")
    count = 0
    buffer: list[str] = []
    for row in itertools.chain(first, ([_cell(v) for v in row] for row in stream)):
        buffer.extend(_lines(row, widths, columns))
        count += 1
        if len(buffer) >= 1000:
            out.write("\n".join(buffer) + "\n")
            buffer.clear()
    if buffer:
        out.write("\n".join(buffer) + "\n")
    return count
