"""Migrations 0007/0008 convert a cache built by the previous schema in place."""

from __future__ import annotations

from services.db import open_db, write_transaction
from services.migrations import MIGRATIONS

T0 = 1_760_000_000
DAY = 86_400
IDS = ("7400000000000000001", "7400000000000000002", "9223372036854775807", "legacy-1")
OWNER = {IDS[0]: "acct_a", IDS[1]: "acct_a", IDS[2]: "acct_b", IDS[3]: "acct_b"}
CAPTIONS = {
    IDS[0]: ("Morning #Café routine", "more #fyp #FYP see https://x.example/p#frag"),
    IDS[1]: ("no tags", None),
    IDS[2]: ("#日本 trip", "#日本 again #travel"),
    IDS[3]: (None, "#old#school"),
}


def _old_cache(path):
    """A cache at 0006 (the schema before this change) with snapshots in the old table."""
    with open_db(path) as db:
        with write_transaction(db):
            MIGRATIONS.apply(db, stop_before="0007_video_latest_and_hashtags")
        with write_transaction(db):
            for open_id in ("acct_a", "acct_b"):
                db.execute(
                    "INSERT INTO accounts (open_id, connected_at, updated_at) VALUES (?, ?, ?)",
                    [open_id, T0, T0],
                )
            for i, vid in enumerate(IDS):
                title, description = CAPTIONS[vid]
                db.execute(
                    "INSERT INTO videos (id, open_id, create_time, title, description, "
                    "first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [vid, OWNER[vid], T0 - i * DAY, title, description, T0, T0 + 3 * DAY],
                )
                for k in range(4):
                    if vid == IDS[1] and k == 3:
                        continue  # not in the last run: its latest counters are from run 2
                    views = 100 * (i + 1) + 10 * k
                    db.execute(
                        "INSERT INTO video_snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [vid, T0 + k * DAY, OWNER[vid], views, k, None, 1],
                    )
        rows = db.execute("SELECT * FROM video_snapshots ORDER BY video_id, captured_at")
        return [tuple(r) for r in rows.fetchall()]


def test_conversion_keeps_every_snapshot_and_fills_latest_and_hashtags(tmp_path):
    path = tmp_path / "cache.db"
    before = _old_cache(path)
    with open_db(path, migrate=True) as db:
        # The view answers exactly what the old table held, column for column.
        after = [
            tuple(r)
            for r in db.execute(
                "SELECT video_id, captured_at, open_id, view_count, like_count, comment_count, "
                "share_count FROM video_snapshots ORDER BY video_id, captured_at"
            ).fetchall()
        ]
        assert after == before
        assert db.execute("SELECT count(*) FROM video_snapshot_rows").fetchone()[0] == len(before)
        # TikTok-style ids are their own integer keys; anything else gets a negative one.
        keys = dict(db.execute("SELECT id, video_key FROM videos").fetchall())
        assert keys[IDS[0]] == int(IDS[0]) and keys[IDS[2]] == 2**63 - 1
        assert keys[IDS[3]] < 0
        assert sorted(r[0] for r in db.execute("SELECT account_key FROM accounts")) == [1, 2]
        # Latest counters = the newest snapshot of each video.
        latest = {
            r[0]: r[1:]
            for r in db.execute("SELECT id, view_count, like_count, counted_at FROM videos")
        }
        assert latest[IDS[0]] == (130, 3, T0 + 3 * DAY)
        assert latest[IDS[1]] == (220, 2, T0 + 2 * DAY)
        tags = {}
        for vid, tag in db.execute("SELECT video_id, tag FROM video_hashtags"):
            tags.setdefault(vid, set()).add(tag)
        assert tags == {
            IDS[0]: {"café", "fyp"},
            IDS[2]: {"日本", "travel"},
            IDS[3]: {"old", "school"},
        }


def test_after_conversion_new_rows_get_keys_and_the_view_still_accepts_inserts(tmp_path):
    path = tmp_path / "cache.db"
    _old_cache(path)
    with open_db(path, migrate=True) as db, write_transaction(db):
        db.execute(
            "INSERT INTO accounts (open_id, connected_at, updated_at) VALUES ('acct_c', 1, 1)"
        )
        assert (
            db.execute("SELECT account_key FROM accounts WHERE open_id = 'acct_c'").fetchone()[0]
            == 3
        )
        db.execute(
            "INSERT INTO videos (id, open_id, create_time, first_seen_at, last_seen_at) "
            "VALUES ('legacy-2', 'acct_c', 5, 5, 5)"
        )
        key = db.execute("SELECT video_key FROM videos WHERE id = 'legacy-2'").fetchone()[0]
        assert (
            key < 0
            and key
            != db.execute("SELECT video_key FROM videos WHERE id = 'legacy-1'").fetchone()[0]
        )
        db.execute("INSERT INTO video_snapshots VALUES ('legacy-2', 9, 'acct_c', 5, 4, 3, 2)")
        assert db.execute(
            "SELECT * FROM video_snapshots WHERE video_id = 'legacy-2'"
        ).fetchall() == [("legacy-2", 9, "acct_c", 5, 4, 3, 2)]
        assert db.execute(
            "SELECT view_count, counted_at FROM videos WHERE id = 'legacy-2'"
        ).fetchone() == (5, 9)
        # Deleting an account still removes its videos' snapshots (foreign keys cascade).
        db.execute("DELETE FROM accounts WHERE open_id = 'acct_c'")
        assert (
            db.execute("SELECT count(*) FROM video_snapshots WHERE open_id = 'acct_c'").fetchone()[
                0
            ]
            == 0
        )


def test_an_upgrade_says_which_migrations_run_and_a_new_cache_does_not(tmp_path, caplog):
    # A migration can rebuild a big index for a minute at start-up: the log says so.
    import logging

    from services.db import apply_migrations, open_db
    from services.migrations import MIGRATIONS

    caplog.set_level(logging.INFO, logger="services.db")
    with open_db(tmp_path / "new.db") as db:
        apply_migrations(db)
    assert not caplog.records  # a new cache is created quietly
    with open_db(tmp_path / "old.db") as db:
        MIGRATIONS.apply(db, stop_before="0011_covering_run_index")
        assert apply_migrations(db) == ["0011_covering_run_index"]
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "0011_covering_run_index" in record.getMessage()
    assert str(tmp_path / "old.db") in record.getMessage()
