"""The SQLite cache: connections, transactions, migrations.

One connection per unit of work (a page run, a sync, a CLI command), never shared across
Streamlit sessions or threads. Every connection gets WAL, a busy timeout and foreign keys; every
write runs in a short ``BEGIN IMMEDIATE`` transaction with no network call inside
(our reliability rules: a deferred transaction that later writes can fail with SQLITE_BUSY at once).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from services.errors import StorageError

BUSY_TIMEOUT_MS = 5000

log = logging.getLogger(__name__)


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open the cache at ``path`` (":memory:" for tests), configured for concurrent use."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        # isolation_level=None: we issue BEGIN IMMEDIATE/COMMIT ourselves (Python 3.11 sqlite3
        # would otherwise open implicit DEFERRED transactions).
        conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=True,
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _enable_wal(conn)
        conn.execute("PRAGMA foreign_keys=ON")
        # Rotated refresh tokens must survive a power cut (our reliability rules).
        conn.execute("PRAGMA synchronous=FULL")
    except sqlite3.DatabaseError as exc:
        raise StorageError(
            f"Cannot open the cache at {path}: {exc}. If the file is not a Reelboard database, "
            "move it aside; Reelboard never overwrites it."
        ) from exc
    return sqlite_utils.Database(conn)


def _enable_wal(conn: sqlite3.Connection, attempts: int = 20) -> None:
    """Switching a new file to WAL needs a moment of exclusive access; when several processes
    start at once the switch can report "locked" without waiting on the busy timeout."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


@contextmanager
def open_db(path: Path | str, *, migrate: bool = False) -> Iterator[sqlite_utils.Database]:
    """A connection for one unit of work, closed afterwards."""
    db = connect(path)
    try:
        if migrate:
            apply_migrations(db)
        yield db
    finally:
        db.close()


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception."""
    conn = db.conn
    if conn.in_transaction:
        raise StorageError("write_transaction() cannot nest: commit the outer transaction first")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; returns the names applied. Safe with concurrent starters."""
    from services.migrations import MIGRATIONS

    with write_transaction(db):  # serialises two processes starting at once
        pending = [m.name for m in MIGRATIONS.pending(db)]
        if pending and db.table_names():  # an upgrade, not a new cache
            # Some rebuild a table or an index: about a minute per 15 million snapshot rows,
            # silent otherwise (the app shows "Starting Reelboard…" meanwhile).
            log.warning("Upgrading the cache at %s: %s. A big cache takes a minute or two; "
                        "let it finish.", db.conn.execute("PRAGMA database_list").fetchone()[2]
                        or "memory", ", ".join(pending))
        if pending:
            MIGRATIONS.apply(db)
    return pending


def sqlite_error_sentence(exc: sqlite3.Error, path: Path | str) -> str:
    """What a person should know and do about a SQLite error on the cache at ``path``."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "full" in text:
        return (f"The disk holding the cache ({path}) is full: SQLite said {text!r}. The "
                "transaction in progress was rolled back, so nothing half-written was kept. "
                "Free some space and try again (safe to retry).")
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return (f"Another Reelboard process is holding the cache {path} (SQLite said {text!r}): "
                "most likely an upgrade after an update, which can take a minute or two on a "
                "big cache, or a long sync. Nothing was changed; try again once it has finished "
                "(safe to retry).")
    if isinstance(exc, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text or "corrupt" in text):
        return (f"The cache {path} is damaged or not a Reelboard database ({text}). Reelboard "
                "never overwrites it: move it aside (or restore it from a backup) and try again.")
    return (f"The cache {path} reported an unexpected SQLite error: {text}. Nothing "
            "half-written was kept; try again, and if it repeats check the disk "
            "and the file's permissions.")


def check_integrity(db: sqlite_utils.Database) -> str:
    return db.execute("PRAGMA quick_check").fetchone()[0]
