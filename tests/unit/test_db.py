from __future__ import annotations

import threading

import pytest

from services.db import apply_migrations, connect, open_db, write_transaction
from services.errors import StorageError
from services.migrations import MIGRATIONS


def test_connection_pragmas(tmp_path):
    with open_db(tmp_path / "c.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_migrations_apply_once_and_are_recorded(tmp_path):
    with open_db(tmp_path / "c.db") as db:
        applied = apply_migrations(db)
        assert applied == [m.name for m in MIGRATIONS._migrations]
        assert apply_migrations(db) == []
        assert {"accounts", "videos", "video_snapshot_rows", "sync_runs"} <= set(db.table_names())
        assert "video_snapshots" in db.view_names()  # the old columns, over the compact table


def test_concurrent_startups_migrate_once(tmp_path):
    errors: list[BaseException] = []

    def start():
        try:
            with open_db(tmp_path / "c.db", migrate=True):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with open_db(tmp_path / "c.db") as db:
        names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations")]
    assert len(names) == len(set(names)) == len(MIGRATIONS._migrations)


def test_write_transaction_rolls_back_on_error(tmp_path):
    with open_db(tmp_path / "c.db", migrate=True) as db:
        with pytest.raises(RuntimeError), write_transaction(db):
            db.execute("INSERT INTO accounts (open_id, connected_at, updated_at) VALUES ('a',1,1)")
            raise RuntimeError("boom")
        assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0


def test_foreign_keys_are_enforced(tmp_path):
    import sqlite3

    with open_db(tmp_path / "c.db", migrate=True) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO videos (id, open_id, create_time, first_seen_at, last_seen_at)"
                   " VALUES ('1', 'nobody', 0, 0, 0)")


def test_not_a_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="never overwrites"):
        connect(path)
    assert path.read_bytes().startswith(b"this is not sqlite")
