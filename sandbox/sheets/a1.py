"""A1 notation as the Sheets API reads and writes it.

https://developers.google.com/sheets/api/guides/concepts#cell — `'My tab'!A1:B2` (quotes when the
title needs them, `''` escapes a quote), `Tab!A1`, bare `A1:B2` (first tab), open ranges `A2:E`,
`A:A`, `2:3`, and a whole tab `'My tab'`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")
_PLAIN_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RangeError(ValueError):
    """The text is not a range of this spreadsheet (the API answers 400 'Unable to parse range')."""


@dataclass(frozen=True)
class GridSpan:
    """Zero-based, end-exclusive; None means open (to the edge of the grid)."""

    title: str
    r0: int | None
    c0: int | None
    r1: int | None
    c1: int | None
    single: bool = False  # one cell (`A1`): for writes, only where the rectangle starts

    def bounded(self, rows: int, cols: int) -> tuple[int, int, int, int]:
        return (
            self.r0 or 0,
            self.c0 or 0,
            rows if self.r1 is None else self.r1,
            cols if self.c1 is None else self.c1,
        )


def col_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def quote_title(title: str) -> str:
    """Quotes only when needed, as the API echoes ranges back (`Sheet1`, `'2026-W47'`)."""
    if _PLAIN_TITLE.match(title) and not re.match(r"^[A-Za-z]{1,3}\d+$", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def format_range(title: str, r0: int, c0: int, r1: int, c1: int) -> str:
    """`Title!A1:C3` (end-exclusive indices in; the single-cell form when it is one cell)."""
    start = f"{col_letters(c0)}{r0 + 1}"
    end = f"{col_letters(c1 - 1)}{r1}"
    cells = start if (r1 - r0 == 1 and c1 - c0 == 1) else f"{start}:{end}"
    return f"{quote_title(title)}!{cells}"


def _split_title(text: str) -> tuple[str | None, str | None]:
    """(title or None, cell part or None)."""
    if text.startswith("'"):
        i = 1
        out = []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    out.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(out), None
                if not rest.startswith("!"):
                    raise RangeError(text)
                return "".join(out), rest[1:]
            out.append(ch)
            i += 1
        raise RangeError(text)
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


def _cell(part: str) -> tuple[int | None, int | None]:
    m = _CELL.match(part)
    if not m or not (m.group(1) or m.group(2)):
        raise RangeError(part)
    col = col_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise RangeError(part)
    return row, col


def parse_range(text: str, titles: list[str]) -> GridSpan:
    """Resolve `text` against the spreadsheet's tab titles (first tab for a bare A1 range)."""
    if not text or not titles:
        raise RangeError(text)
    title, cells = _split_title(text)
    if title is None:
        # A bare word that names a tab is that whole tab; otherwise it is A1 on the first tab.
        match = _find(titles, text)
        if match is not None:
            return GridSpan(match, None, None, None, None)
        title = titles[0]
    else:
        found = _find(titles, title)
        if found is None:
            raise RangeError(text)
        title = found
    if cells is None or cells == "":
        return GridSpan(title, None, None, None, None)
    first, _, second = cells.partition(":")
    r0, c0 = _cell(first)
    if not second:
        if r0 is None or c0 is None:
            raise RangeError(text)
        return GridSpan(title, r0, c0, r0 + 1, c0 + 1, single=True)
    r1, c1 = _cell(second)
    # `A2:E` / `A:A` / `2:3`: the missing side is open.
    if (r0 is None) != (r1 is None) and r0 is None:
        raise RangeError(text)
    if c0 is None and c1 is not None:
        raise RangeError(text)
    rs = [r for r in (r0, r1) if r is not None]
    cs = [c for c in (c0, c1) if c is not None]
    return GridSpan(
        title,
        min(rs) if rs else None,
        min(cs) if cs else None,
        (max(rs) + 1) if r1 is not None and r0 is not None else None,
        (max(cs) + 1) if c1 is not None and c0 is not None else None,
    )


def _find(titles: list[str], title: str) -> str | None:
    for t in titles:
        if t == title:
            return t
    lowered = title.lower()
    for t in titles:
        if t.lower() == lowered:  # tab titles are case-insensitive in ranges
            return t
    return None
