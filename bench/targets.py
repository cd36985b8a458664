"""The issue's targets as one summary: each benchmark records its rows here, `python -m bench`
prints them all at the end with ✓/✗.

A benchmark calls :func:`record` once per target it measured (any number of rows; the page
benchmarks add theirs the same way) and :func:`summary` prints the table. Rows live in this
process only; each benchmark also writes its own JSON under bench/results/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str  # "2. sync 10,000 videos / bare loop"
    measured: str  # "1.12x (min 1.05, max 1.31)"
    goal: str  # "<= 1.3x"
    ok: bool


_ROWS: list[Target] = []


def record(name: str, measured: str, goal: str, ok: bool) -> Target:
    row = Target(name, measured, goal, bool(ok))
    _ROWS.append(row)
    return row


def rows() -> list[Target]:
    return list(_ROWS)


def load_average() -> str:
    """The machine's 1/5/15-minute load average (the machine is shared: say how busy it was)."""
    try:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "load average unknown"


def summary() -> str:
    if not _ROWS:
        return "No targets were measured."
    width = max(len(r.name) for r in _ROWS)
    mwidth = max(len(r.measured) for r in _ROWS)
    lines = [f"{'target':<{width}}  {'measured':<{mwidth}}  goal", "-" * (width + mwidth + 16)]
    for r in _ROWS:
        lines.append(f"{r.name:<{width}}  {r.measured:<{mwidth}}  {r.goal:<10} "
                     f"{'✓' if r.ok else '✗'}")
    passed = sum(r.ok for r in _ROWS)
    lines.append(f"{passed}/{len(_ROWS)} targets met; {load_average()}")
    return "\n".join(lines)
