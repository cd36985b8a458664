"""The shared pacing window reserves slots in batches without ever under-counting a window."""

from __future__ import annotations

import sqlite3

from services.ratelimit import RESERVE_HOLD_S, RESERVE_MAX, Pacer


class Wall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _logged(path) -> list[float]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT at FROM sent ORDER BY at")]


def test_one_transaction_reserves_a_batch_logged_no_earlier_than_use(tmp_path):
    wall, path = Wall(), tmp_path / "pacing.db"
    pacer = Pacer(600, shared_path=path, wall_clock=wall, sleep=wall.sleep)
    started = wall.now
    for _ in range(3):
        assert pacer.acquire("/v2/video/list/", "acct") == 0
    logged = _logged(path)
    assert len(logged) == RESERVE_MAX  # one batch
    assert all(at >= started + RESERVE_HOLD_S for at in logged)  # never before the real send
    pacer.close()
    assert len(_logged(path)) == 3  # the unused slots were given back


def test_a_reservation_past_its_hold_is_not_used(tmp_path):
    wall, path = Wall(), tmp_path / "pacing.db"
    pacer = Pacer(600, shared_path=path, wall_clock=wall, sleep=wall.sleep)
    pacer.acquire("/v2/video/list/", "acct")
    wall.now += 5  # far past the hold: the next request needs a fresh reservation
    pacer.acquire("/v2/video/list/", "acct")
    logged = _logged(path)
    # The first batch's unused slots went back; the second request is logged after its send.
    assert len([at for at in logged if at < wall.now]) == 1
    assert min(at for at in logged if at > wall.now - 1) >= wall.now + RESERVE_HOLD_S
    pacer.close()
    assert len(_logged(path)) == 2


def test_two_pacers_never_exceed_the_budget_together(tmp_path):
    """Interleaved requests of two processes: whatever they reserve, the log never holds more
    than the budget, and what one gives back on close the other can use at once."""
    wall, path = Wall(), tmp_path / "pacing.db"
    a = Pacer(30, shared_path=path, wall_clock=wall, sleep=wall.sleep)
    b = Pacer(30, shared_path=path, wall_clock=wall, sleep=wall.sleep)
    sent = 0
    for i in range(20):
        pacer = a if i % 2 else b
        if pacer.acquire("/v2/video/list/", "acct") == 0:
            sent += 1
        assert len(_logged(path)) <= 27  # 90 % of 30/min, reservations included
    assert sent == 20
    b.close()  # b's unused slots go back ...
    while sent < 27:  # ... so a gets the whole rest of the budget without waiting
        assert a.acquire("/v2/video/list/", "acct") == 0
        sent += 1
    assert 60 < a.acquire("/v2/video/list/", "acct") < 60.2  # the 28th waits a window
    a.close()
