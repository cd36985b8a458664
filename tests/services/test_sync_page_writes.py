"""A page's writes (services.sync._store_page) leave exactly what the general upsert leaves.

The page writer takes shortcuts for the common case (videos the account already owns, last seen
by an older run: one UPDATE for the page; snapshots inserted with their integer keys). This
replays random sequences of pages (new and known videos, another account's videos, history
runs older than what is stored, a resumed run re-reading a page, repeated ids, ids that are
not numbers, removed videos, counters newer than the last sighting, and the run's memory
going stale behind its back) through it and through the reference below (the writes as they
were before the shortcuts), and compares every table the sync writes and the counts returned.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest

from services import sync as sync_module
from services.analytics.hashtags import video_tags
from services.db import open_db, write_transaction

ME, OTHER = "acct_me", "acct_other"
CAPTIONS = ["Day 1 #fyp", "Day 1 #fyp #new", "no tags", None, "#Café and #cafe"]


def _reference_page(conn: sqlite3.Connection, open_id: str, captured_at: int,
                    rows: list[dict[str, Any]], account_key: int,
                    captions: dict[str, tuple[Any, ...]]) -> tuple[int, int]:
    """One page as the sync wrote it before the shortcuts: the upsert and the joined snapshot
    insert for every video, hashtags for new or edited captions of the account's videos
    (``captions``: the run's memory of the account's (title, description, last_seen_at))."""
    params = [{**r, "open_id": open_id, "seen": captured_at, "captured_at": captured_at,
               "account_key": account_key, "video_key": sync_module._video_key(r["id"])}
              for r in rows]
    known = {p["id"]: (open_id, *captions[p["id"]]) for p in params if p["id"] in captions}
    lookup = [p["id"] for p in params if p["id"] not in known]
    known.update((r[0], r[1:]) for r in conn.execute(
        "SELECT id, open_id, title, description, last_seen_at FROM videos "
        f"WHERE id IN ({','.join('?' * len(lookup))})", lookup))
    upserted = max(conn.executemany(sync_module._UPSERT_VIDEO, params).rowcount, 0)
    inserted = max(conn.executemany(sync_module._INSERT_SNAPSHOT, params).rowcount, 0)
    changed = []
    for p in params:
        before = known.get(p["id"])
        if before is not None:
            owner, title, description, last_seen = before
            if owner != open_id or last_seen > captured_at \
                    or (title, description) == (p["title"], p["description"]):
                continue
        changed.append(p)
    conn.executemany("DELETE FROM video_hashtags WHERE video_id = ?",
                     [(p["id"],) for p in changed if p["id"] in known])
    conn.executemany(
        "INSERT OR IGNORE INTO video_hashtags (video_id, tag) VALUES (?, ?)",
        [(p["id"], tag) for p in changed for tag in video_tags(p["title"], p["description"])])
    for p in params:
        before = known.get(p["id"])
        if before is None or (before[0] == open_id and before[3] <= captured_at):
            captions[p["id"]] = (p["title"], p["description"], captured_at)
    return upserted + inserted, inserted


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "videos": conn.execute("SELECT * FROM videos ORDER BY id").fetchall(),
        "snapshots": conn.execute(
            "SELECT * FROM video_snapshot_rows ORDER BY video_key, captured_at").fetchall(),
        "hashtags": conn.execute(
            "SELECT video_id, tag FROM video_hashtags ORDER BY video_id, tag").fetchall(),
    }


def _video(rng: random.Random, video_id: str) -> dict[str, Any]:
    count = (lambda: rng.choice([None, 0, rng.randrange(10**6)]))  # noqa: E731
    return {
        "id": video_id, "create_time": 1_700_000_000 + rng.randrange(10**6),
        "title": rng.choice(CAPTIONS), "description": rng.choice(CAPTIONS),
        "cover_image_url": f"https://cdn.example/{rng.randrange(10**9)}.jpeg",
        "share_url": rng.choice([None, f"https://www.tiktok.com/v/{video_id}"]),
        "embed_link": None, "duration": rng.choice([None, 15, 60]), "width": 1080,
        "height": 1920, "view_count": count(), "like_count": count(),
        "comment_count": count(), "share_count": count(),
    }


def _setup(path) -> Any:
    manager = open_db(path, migrate=True)
    db = manager.__enter__()
    with write_transaction(db):
        for open_id in (ME, OTHER):
            db.execute("INSERT INTO accounts (open_id, connected_at, updated_at) "
                       "VALUES (?, 1, 1)", [open_id])
    return manager, db


@pytest.mark.parametrize("seed", range(12))
def test_page_writes_match_the_general_upsert(tmp_path, seed):
    rng = random.Random(seed)
    pool = [str(7_300_000_000_000_000_000 + i * 7919) for i in range(40)]
    pool += ["legacy-a", "legacy-b", "0123", str(2**63)]  # keys the database assigns
    managers, (fast, ref) = zip(*(_setup(tmp_path / f"{name}.db") for name in ("fast", "ref")),
                                strict=True)
    try:
        keys = {open_id: fast.execute("SELECT account_key FROM accounts WHERE open_id = ?",
                                      [open_id]).fetchone()[0] for open_id in (ME, OTHER)}
        moment = 1_800_000_000
        for _run in range(10):
            # Mostly forward runs; some history runs (older), some resumed ones (same moment).
            moment += rng.choice([3600, 3600, 86_400, -5 * 86_400, 0])
            open_id = rng.choice([ME, ME, ME, OTHER])
            captions = sync_module._run_memory(fast, open_id)
            reference_captions = {i: c[:3] for i, c in captions.items()}
            for _page in range(rng.randrange(1, 5)):
                ids = rng.sample(pool, rng.randrange(1, 21))
                if rng.random() < 0.1:
                    ids.append(ids[0])  # TikTok repeating a video within a page
                rows = [_video(rng, i) for i in ids]
                outside = []
                if rng.random() < 0.15:
                    outside.append(("removed_at", moment - 60, ids[0]))
                if rng.random() < 0.1:  # counters written later than the last sighting
                    outside.append(("counted_at", moment + 60, ids[-1]))
                if rng.random() < 0.05:  # a sighting the run's memory does not know of
                    outside.append(("last_seen_at", moment + 120, ids[0]))
                for db in (fast, ref):  # the same outside changes on both sides
                    for column, value, video_id in outside:
                        db.execute(f"UPDATE videos SET {column} = ? WHERE id = ?",
                                   [value, video_id])
                with write_transaction(fast):
                    written = sync_module._store_page(fast, open_id, moment, rows,
                                                      keys[open_id], captions)
                with write_transaction(ref):
                    expected = _reference_page(ref.conn, open_id, moment, rows, keys[open_id],
                                               reference_captions)
                assert (written.rows, written.new_snapshots) == expected
                assert _tables(fast.conn) == _tables(ref.conn)
    finally:
        for manager in managers:
            manager.__exit__(None, None, None)
