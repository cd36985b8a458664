"""Retention: keep daily snapshots for a while, then one per ISO week (``python -m services
compact``).

Every sync adds one row per video; a year of daily syncs of 1,000 videos is 365,000 rows
(README "Data retention" has the measured size). Past the retention horizon a week's runs are
thinned to the *first and last complete run of that ISO week* (in the app's time zone): the
last one is each week's value, and together they bracket every week boundary, which is where
the weekly report interpolates, so every weekly figure (value at the end of each week, growth
between weeks, the report's KPIs) is the same after compaction as before. Two rows per video a
week instead of seven: 71 % fewer.

Setting: ``REELBOARD_RETENTION`` or ``[reelboard] retention`` in secrets.toml: the number of days
of daily history to keep (default 365), or ``all`` to never thin. Compaction deletes rows
(one short transaction per account and week) and leaves the file's size alone: SQLite reuses
the freed pages for the next syncs. ``--vacuum`` rewrites the file to hand the space back to
the disk (it needs as much free space as the file and blocks writers while it runs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from services.clock import Clock, to_epoch, utc_now
from services.db import write_transaction
from services.errors import ConfigError

DEFAULT_DAILY_DAYS = 365
ENV = "REELBOARD_RETENTION"
_DAY = 86_400


@dataclass(frozen=True)
class RetentionPolicy:
    """``daily_days``: days of full (daily) history to keep; None keeps everything."""

    daily_days: int | None = DEFAULT_DAILY_DAYS

    @classmethod
    def parse(cls, text: str | None) -> RetentionPolicy:
        value = (text or "").strip().lower()
        if not value:
            return cls()
        if value in ("all", "keep-all", "forever"):
            return cls(None)
        if value.endswith("d"):
            value = value[:-1]
        if value.isdigit() and int(value) >= 7:
            return cls(int(value))
        raise ConfigError([
            f"{ENV}={text!r} must be a number of days of daily history to keep (at least 7, "
            "e.g. 365; older snapshots are thinned to one per week) or 'all'."
        ])

    @classmethod
    def from_environment(cls, secrets: Mapping[str, Any] | None = None,
                         environ: Mapping[str, str] | None = None) -> RetentionPolicy:
        """From REELBOARD_RETENTION, else ``[reelboard] retention`` in secrets.toml."""
        environ = os.environ if environ is None else environ
        text = environ.get(ENV)
        if text is None:
            if secrets is None:
                from services.config import read_secrets_file

                secrets = read_secrets_file()
            table = secrets.get("reelboard") or {}
            raw = table.get("retention") if isinstance(table, Mapping) else None
            text = None if raw is None else str(raw)
        return cls.parse(text)


@dataclass
class CompactResult:
    weeks: int = 0  # (account, week) groups thinned
    runs_removed: int = 0
    snapshot_rows_removed: int = 0
    horizon: int | None = None

    def summary(self) -> str:
        if self.horizon is None:
            return "Retention is 'all': nothing to compact."
        when = datetime.fromtimestamp(self.horizon, UTC).date().isoformat()
        if not self.runs_removed:
            return f"Nothing to compact: no week before {when} has more than one sync."
        return (f"Compacted {self.weeks} account-week(s) before {when}: removed "
                f"{self.runs_removed} sync run(s) and {self.snapshot_rows_removed:,} video "
                "snapshot rows; each week's first and last runs are kept.")


def compact(db: sqlite_utils.Database, policy: RetentionPolicy | None = None, *,
            clock: Clock = utc_now, tz: str = "UTC") -> CompactResult:
    """Thin every account's runs in whole ISO weeks (of ``tz``) that ended before the horizon
    to the week's first and last complete runs (else finished ones, else any)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    policy = policy or RetentionPolicy()
    result = CompactResult()
    if policy.daily_days is None:
        return result
    now = to_epoch(clock())
    horizon = now - policy.daily_days * _DAY
    result.horizon = horizon
    accounts = db.execute("SELECT open_id, account_key FROM accounts").fetchall()
    for open_id, account_key in accounts:
        runs = db.execute(
            """SELECT r.id, r.captured_at, r.status,
                      EXISTS (SELECT 1 FROM account_video_totals t
                              WHERE t.open_id = r.open_id AND t.captured_at = r.captured_at)
               FROM sync_runs r WHERE r.open_id = ? AND r.captured_at < ?
                 AND r.status != 'running'
               ORDER BY r.captured_at, r.id""", (open_id, horizon)).fetchall()
        weeks: dict[tuple[int, int], list[tuple[int, int, str, int]]] = {}
        for run in runs:
            day = datetime.fromtimestamp(run[1], zone).date()
            week_end = datetime.combine(day + timedelta(days=8 - day.isoweekday()),
                                        datetime.min.time(), zone)
            if week_end.timestamp() > horizon:
                continue  # only whole weeks before the horizon
            iso = day.isocalendar()
            weeks.setdefault((iso[0], iso[1]), []).append(run)
        for group in weeks.values():
            keep = _kept_runs(group)
            doomed = [r for r in group if r[0] not in keep]
            if not doomed:
                continue
            kept_times = {r[1] for r in group if r[0] in keep}
            with write_transaction(db):
                for run_id, captured_at, _, _ in doomed:
                    # Another run of the account at the same captured_at would share its rows;
                    # _start_run never makes one, but never delete what a kept run reads.
                    if captured_at in kept_times:
                        db.execute("DELETE FROM sync_runs WHERE id = ?", (run_id,))
                        continue
                    result.snapshot_rows_removed += db.execute(
                        "DELETE FROM video_snapshot_rows WHERE account_key = ? "
                        "AND captured_at = ?", (account_key, captured_at)).rowcount
                    for table in ("account_snapshots", "account_video_totals"):
                        db.execute(f"DELETE FROM {table} WHERE open_id = ? AND captured_at = ?",
                                   (open_id, captured_at))
                    db.execute("DELETE FROM sync_runs WHERE id = ?", (run_id,))
            result.weeks += 1
            result.runs_removed += len(doomed)
    return result


def _kept_runs(group: list[tuple[int, int, str, int]]) -> set[int]:
    """Ids of the week's first and last complete runs (else finished, else any)."""
    complete = [r for r in group if r[3] and r[2] in ("succeeded", "partial")]
    finished = [r for r in group if r[2] in ("succeeded", "partial")]
    best = complete or finished or group
    return {best[0][0], best[-1][0]}


def vacuum(db: sqlite_utils.Database) -> tuple[int, int]:
    """Rewrite the file to return freed pages to the disk; (bytes before, bytes after)."""
    def size() -> int:
        page = db.execute("PRAGMA page_size").fetchone()[0]
        return int(db.execute("PRAGMA page_count").fetchone()[0]) * int(page)

    before = size()
    db.execute("VACUUM")
    return before, size()


def compact_from_cli(rt: Any, *, do_vacuum: bool = False) -> int:
    """``python -m services compact [--vacuum]``: prints what was removed."""
    from services.db import open_db

    policy = RetentionPolicy.from_environment()
    with open_db(rt.settings.database_path) as db:
        result = compact(db, policy, tz=rt.settings.timezone)
        print(result.summary())
        if do_vacuum:
            before, after = vacuum(db)
            print(f"VACUUM: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0


__all__ = [
    "DEFAULT_DAILY_DAYS",
    "CompactResult",
    "RetentionPolicy",
    "compact",
    "compact_from_cli",
    "vacuum",
]
