"""The simulated clock: real time plus a stored offset, optionally frozen.

Everything time-dependent in the sandbox (video growth, code and token expiry, rate-limit
windows, cover URL expiry) reads this clock, so tests can jump ahead hours or months. The offset
lives in the state store, so two processes sharing a state file share one clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sandbox.state import StateStore

_OFFSET = "clock_offset"
_FROZEN_AT = "clock_frozen_at"


def parse_instant(value: object) -> float:
    """Epoch seconds from a number or an ISO-8601 string (naive strings are taken as UTC)."""
    if isinstance(value, bool):
        raise ValueError("expected epoch seconds or an ISO-8601 string, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"not an ISO-8601 time: {value!r}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime must be timezone-aware")
        return value.timestamp()
    raise ValueError(f"expected epoch seconds or an ISO-8601 string, got {type(value).__name__}")


def iso_z(epoch: float) -> str:
    """`2026-03-01T12:00:00.000Z` (UTC, millisecond precision)."""
    dt = datetime.fromtimestamp(epoch, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class SimClock:
    def __init__(self, store: StateStore, real_time: Callable[[], float] = time.time) -> None:
        self._store = store
        self._real_time = real_time

    def _read(self) -> tuple[float, float | None]:
        with self._store.read() as tx:
            offset = tx.get_meta(_OFFSET)
            frozen = tx.get_meta(_FROZEN_AT)
        return (float(offset) if offset else 0.0, float(frozen) if frozen else None)

    def now(self) -> float:
        offset, frozen = self._read()
        return frozen if frozen is not None else self._real_time() + offset

    def describe(self) -> dict[str, object]:
        offset, frozen = self._read()
        now = frozen if frozen is not None else self._real_time() + offset
        if frozen is not None:
            offset = frozen - self._real_time()
        return {
            "now": now,
            "iso": iso_z(now),
            "offset_seconds": offset,
            "frozen": frozen is not None,
        }

    def set(self, target: float) -> None:
        with self._store.transaction() as tx:
            if tx.get_meta(_FROZEN_AT) is not None:
                tx.set_meta(_FROZEN_AT, repr(target))
            tx.set_meta(_OFFSET, repr(target - self._real_time()))

    def advance(self, seconds: float) -> None:
        with self._store.transaction() as tx:
            frozen = tx.get_meta(_FROZEN_AT)
            if frozen is not None:
                tx.set_meta(_FROZEN_AT, repr(float(frozen) + seconds))
            offset = float(tx.get_meta(_OFFSET) or 0.0)
            tx.set_meta(_OFFSET, repr(offset + seconds))

    def freeze(self, frozen: bool) -> None:
        """Stop (or restart) the flow of time at the current simulated instant (an extension:
        handy for byte-identical snapshots in tests)."""
        with self._store.transaction() as tx:
            was = tx.get_meta(_FROZEN_AT)
            if frozen and was is None:
                offset = float(tx.get_meta(_OFFSET) or 0.0)
                tx.set_meta(_FROZEN_AT, repr(self._real_time() + offset))
            elif not frozen and was is not None:
                tx.set_meta(_OFFSET, repr(float(was) - self._real_time()))
                tx.set_meta(_FROZEN_AT, None)

    def reset(self) -> None:
        with self._store.transaction() as tx:
            tx.set_meta(_OFFSET, None)
            tx.set_meta(_FROZEN_AT, None)
