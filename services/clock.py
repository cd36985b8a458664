"""Time for services: always timezone-aware UTC, always injectable.

Components take a ``clock`` (a zero-argument callable returning an aware UTC datetime) so tests
can move time; stored times are integer Unix seconds, which are UTC by definition.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Reelboard stores UTC only")
    return int(moment.timestamp())


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
