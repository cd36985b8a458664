"""The in-app sync schedule: parsing, next-run computation, one scheduler per data dir."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from services.config import load_settings
from services.db import open_db
from services.errors import ConfigError
from services.schedule import (
    DEFAULT_EVERY_S,
    SYSTEM_ACTOR,
    SyncScheduler,
    next_run_at,
    parse_every,
    schedule_status,
    sync_troubles,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6h", 6 * 3600),
        ("30m", 1800),
        ("1d", 86_400),
        ("2 d", 2 * 86_400),
        ("90M", 5400),
        ("0", 0),
        ("off", 0),
        ("", DEFAULT_EVERY_S),
        (None, DEFAULT_EVERY_S),
        ("daily", 86_400),
        ("1h30m", 5400),
    ],
)
def test_parse_every_accepts_durations(text, seconds):
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["6", "-1h", "abc", "6x", "1m", "400d", "h", "6h;rm", "1.5h"])
def test_parse_every_refuses_bad_values_with_the_fix(text):
    with pytest.raises(ValueError) as info:
        parse_every(text)
    assert "REELBOARD_SYNC_EVERY" in str(info.value)
    assert "6h" in str(info.value)  # an example of what works


def test_bad_setting_is_a_start_up_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings({}, {"REELBOARD_DATA_DIR": str(tmp_path), "REELBOARD_SYNC_EVERY": "often"})
    assert "REELBOARD_SYNC_EVERY" in str(info.value)
    settings = load_settings(
        {"reelboard": {"sync_every": "6h"}}, {"REELBOARD_DATA_DIR": str(tmp_path)}
    )
    assert settings.sync_every_s == 6 * 3600
    assert load_settings({}, {"REELBOARD_DATA_DIR": str(tmp_path)}).sync_every_s == 86_400
    off = load_settings({}, {"REELBOARD_DATA_DIR": str(tmp_path), "REELBOARD_SYNC_EVERY": "0"})
    assert off.sync_every_s == 0


def test_next_run_follows_the_last_run_and_catches_up_once():
    now = 1_000_000
    assert next_run_at(None, 3600, now) == now + 3600  # nothing synced yet: not at once
    assert next_run_at(now - 600, 3600, now) == now + 3000
    assert next_run_at(now - 10 * 3600, 3600, now) == now  # overdue: one run now, not ten
    assert next_run_at(now - 600, 0, now) is None  # off


def _settings(tmp_path, every="1h"):
    return load_settings(
        {}, {"REELBOARD_DATA_DIR": str(tmp_path / "data"), "REELBOARD_SYNC_EVERY": every}
    )


class FakeClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _migrated(settings):
    with open_db(settings.database_path, migrate=True):
        pass


def test_one_scheduler_runs_per_data_dir(tmp_path):
    settings = _settings(tmp_path)
    _migrated(settings)
    clock = FakeClock(datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
    calls: list[str] = []

    def runner(name):
        def run(_settings):
            calls.append(name)
            return []

        return run

    first = SyncScheduler(settings, clock=clock, run_sync=runner("first"))
    second = SyncScheduler(settings, clock=clock, run_sync=runner("second"))
    # Both claim at start-up; only one gets the lease.
    assert first.tick() is True
    assert second.tick() is False
    clock.now += timedelta(hours=1, minutes=1)
    first.tick()
    second.tick()
    assert calls == ["first"]
    with open_db(settings.database_path) as db:
        status = schedule_status(db, settings.sync_every_s, clock())
    assert status.next_run_at == int((clock.now + timedelta(hours=1)).timestamp())
    # The holder stops: the other one takes over once the lease is released.
    first.stop()
    clock.now += timedelta(hours=1, minutes=1)
    assert second.tick() is True
    assert calls == ["first", "second"]


def test_two_started_schedulers_one_sync(tmp_path):
    settings = _settings(tmp_path, "30m")
    _migrated(settings)
    clock = FakeClock(datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
    with open_db(settings.database_path) as db:  # a sync ran long ago: one is due now
        db.execute(
            "INSERT INTO sync_schedule (id, last_run_at) VALUES (1, ?)",
            [int((clock.now - timedelta(days=2)).timestamp())],
        )
    ran = threading.Event()
    calls: list[str] = []

    def run(_settings):
        calls.append(threading.current_thread().name)
        ran.set()
        return []

    schedulers = [
        SyncScheduler(settings, clock=clock, run_sync=run, wake_every_s=0.02) for _ in range(2)
    ]
    for s in schedulers:
        s.start()
    assert ran.wait(5)
    threading.Event().wait(0.3)  # several more wake-ups of both threads
    for s in schedulers:
        s.stop()
    assert len(calls) == 1
    assert all(not s.running for s in schedulers)


def test_failures_count_and_show_as_trouble(tmp_path):
    settings = _settings(tmp_path, "30m")
    _migrated(settings)
    clock = FakeClock(datetime(2026, 6, 1, 6, 0, tzinfo=UTC))

    def failing(_settings):
        raise RuntimeError("TikTok did not answer")

    scheduler = SyncScheduler(settings, clock=clock, run_sync=failing)
    with open_db(settings.database_path) as db:
        db.execute("INSERT INTO sync_schedule (id, last_run_at) VALUES (1, 0)")
    for _ in range(3):
        scheduler.tick()
        clock.now += timedelta(hours=1)
    with open_db(settings.database_path) as db:
        status = schedule_status(db, settings.sync_every_s, clock())
        troubles = sync_troubles(db)
    assert status.failures == 3
    assert troubles and "3 times in a row" in troubles[0]
    assert "Traceback" not in troubles[0]


def test_system_actor_may_sync_and_is_named():
    assert SYSTEM_ACTOR.can("sync")
    assert not SYSTEM_ACTOR.can("connect")
    assert "Automatic" in SYSTEM_ACTOR.name


def test_scheduled_run_syncs_every_active_account_as_the_system_actor(
    settings, db, keyring, sandbox
):
    from tests.services.test_sync import connect

    luna = connect(db, settings, keyring, sandbox, "lunakitchen")
    jo = connect(db, settings, keyring, sandbox, "trailrunnerjo")
    db.execute("UPDATE accounts SET status = 'needs_reconnect' WHERE open_id = ?", [jo])
    clock = FakeClock(datetime.now(UTC))
    db.execute("INSERT INTO sync_schedule (id, last_run_at) VALUES (1, 0)")
    scheduler = SyncScheduler(settings, clock=clock)  # the real sync
    assert scheduler.tick() is True
    runs = db.execute("SELECT open_id, status FROM sync_runs").fetchall()
    assert runs == [(luna, "succeeded")]  # active accounts only
    audit = db.execute(
        "SELECT actor_email, outcome, open_id FROM audit_events WHERE action = 'sync'"
    ).fetchall()
    assert (SYSTEM_ACTOR.email, "ok", luna) in audit
    status = schedule_status(db, settings.sync_every_s, clock())
    assert status.failures == 0 and status.last_outcome == "ok"
    assert status.next_run_at == int(clock().timestamp()) + settings.sync_every_s
