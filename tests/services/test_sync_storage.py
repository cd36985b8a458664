"""What the sync keeps besides snapshots: latest counters on `videos`, parsed hashtags."""

from __future__ import annotations

from datetime import timedelta

from services.analytics import queries
from services.analytics.hashtags import video_tags
from tests.services.test_sync import T0, connect, freeze, run_one, world


def test_latest_counters_and_hashtags_follow_the_newest_run(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    later = T0 + timedelta(days=2)
    for moment in (T0, later):
        freeze(sandbox, moment)
        assert run_one(db, settings, keyring, open_id, moment=moment).ok

    # Every video's counters on `videos` are those of its newest snapshot …
    rows = db.execute(
        "SELECT v.id, v.view_count, v.like_count, v.comment_count, v.share_count, v.counted_at,"
        " s.view_count, s.like_count, s.comment_count, s.share_count, s.captured_at"
        " FROM videos v JOIN video_snapshots s ON s.video_id = v.id AND s.captured_at ="
        " (SELECT max(captured_at) FROM video_snapshots x WHERE x.video_id = v.id)"
    ).fetchall()
    assert rows and all(r[1:6] == r[6:11] for r in rows)
    # … which is the second run's, and matches the sandbox's own count at that instant.
    creator = world(sandbox, "quietpotter")
    vid, views, counted_at = db.execute(
        "SELECT id, view_count, counted_at FROM videos ORDER BY create_time DESC LIMIT 1"
    ).fetchone()
    assert counted_at == int(later.timestamp())
    assert views == next(v for v in creator.videos if v.id == vid).counts_at(later.timestamp())[0]

    # A history run (older than what is stored) leaves the latest counters alone.
    before = db.execute("SELECT id, view_count, counted_at FROM videos ORDER BY id").fetchall()
    earlier = T0 - timedelta(days=1)
    freeze(sandbox, earlier)
    run_one(db, settings, keyring, open_id, moment=earlier)
    after = db.execute("SELECT id, view_count, counted_at FROM videos ORDER BY id").fetchall()
    assert after == [r for r in before if r[0] in {a[0] for a in after}]

    # Hashtags: exactly those of each stored caption, one row per tag.
    stored: dict[str, set[str]] = {}
    for video_id, tag in db.execute("SELECT video_id, tag FROM video_hashtags"):
        stored.setdefault(video_id, set()).add(tag)
    expected = {
        r[0]: set(video_tags(r[1], r[2]))
        for r in db.execute("SELECT id, title, description FROM videos")
        if video_tags(r[1], r[2])
    }
    assert expected and stored == expected
    # … and what Insights reads through services.analytics.queries.
    frame = queries.video_hashtags(db, [open_id])
    assert {(r.video_id, r.tag) for r in frame.itertuples()} == {
        (vid, tag) for vid, tags in expected.items() for tag in tags
    }
    assert set(frame["open_id"]) == {open_id}


def test_an_edited_caption_replaces_its_hashtags(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    assert run_one(db, settings, keyring, open_id).ok
    vid = db.execute("SELECT id FROM videos ORDER BY create_time DESC LIMIT 1").fetchone()[0]
    video = next(v for v in world(sandbox, "quietpotter").videos if v.id == vid)
    video.description = "Edited: #NewTag and #newtag, not https://example.com/a#anchor"
    later = T0 + timedelta(hours=6)
    freeze(sandbox, later)
    assert run_one(db, settings, keyring, open_id, moment=later).ok
    tags = {r[0] for r in db.execute("SELECT tag FROM video_hashtags WHERE video_id = ?", [vid])}
    assert tags == set(video_tags(video.title, video.description))
    assert "newtag" in tags and "anchor" not in tags


def test_the_token_is_decrypted_once_per_run(settings, db, keyring, sandbox, monkeypatch):
    """Many list pages, one decryption of the stored access token (not one per request)."""
    open_id = connect(db, settings, keyring, sandbox, "lunakitchen")
    freeze(sandbox, T0)
    calls = []
    real = type(keyring).decrypt

    def counting(self, envelope, **kwargs):
        calls.append(kwargs.get("column"))
        return real(self, envelope, **kwargs)

    monkeypatch.setattr(type(keyring), "decrypt", counting)
    result = run_one(db, settings, keyring, open_id)
    assert result.ok and result.requests_made > 5  # user/info + several list pages
    assert calls.count("access_token_enc") == 1
