"""Fault suite, issue 11 item 3: a video listing that is not complete must not look complete.

Catalogue row proposed to the lead (the fault catalogue (tests/faults)):

* N12 — video/list's cursor goes backwards or jumps back in time, an empty page claims more,
  or the listing ends far short of user/info's ``video_count``: the run ends ``partial`` with
  a plain sentence, and nothing is marked removed from that listing (extends N7).

The sandbox's ``cursor_rewind`` fault reproduces the reported case: after the first page the
cursor jumps to 1970, the next page is empty with ``has_more: false``, and the old code said
"succeeded — 20 videos" and marked the account's other videos removed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.sync import sync_account
from services.tiktok.client import VideoPage
from tests.services.test_sync import (
    T0,
    ScriptedClient,
    connect,
    fake_videos,
    fixed,
    freeze,
    listed_ids,
    run_one,
    world,
)


def _removed(db, open_id: str) -> int:
    return db.execute(
        "SELECT count(*) FROM videos WHERE open_id = ? AND removed_at IS NOT NULL", (open_id,)
    ).fetchone()[0]


def test_a_cursor_that_jumps_back_in_time_is_an_incomplete_listing(settings, db, keyring, sandbox):
    """N12, the issue's case: ~150 public videos, user/info says so, the list stops at 20."""
    open_id = connect(db, settings, keyring, sandbox, "trailrunnerjo")
    freeze(sandbox, T0)
    first = run_one(db, settings, keyring, open_id)
    assert first.status == "succeeded", first.error
    known = listed_ids(sandbox, "trailrunnerjo", T0)
    assert first.videos_seen == len(known) > 100
    removed_before = _removed(db, open_id)

    later = T0 + timedelta(hours=2)
    freeze(sandbox, later)
    sandbox.fault("cursor_rewind", count=1)
    second = run_one(db, settings, keyring, open_id, moment=later)

    expected = world(sandbox, "trailrunnerjo").stats(later.timestamp()).video_count
    assert second.status == "partial"
    assert second.videos_seen == 20
    assert f"20 of the {expected}" in second.error
    assert "nothing was marked as removed" in second.error.lower()
    assert _removed(db, open_id) == removed_before  # no video marked removed
    # An incomplete listing gives no account totals either.
    assert (
        db.execute(
            "SELECT count(*) FROM account_video_totals WHERE captured_at = ?", (second.captured_at,)
        ).fetchone()[0]
        == 0
    )

    # The next clean sync is complete again.
    third_at = later + timedelta(hours=2)
    freeze(sandbox, third_at)
    third = run_one(db, settings, keyring, open_id, moment=third_at)
    assert third.status == "succeeded", third.error
    assert third.videos_seen == len(listed_ids(sandbox, "trailrunnerjo", third_at))


def test_a_cursor_that_goes_backwards_stops_the_listing(settings, db, keyring, sandbox):
    """N12: a cursor newer than the previous one would re-read pages (or loop)."""
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    pages = [
        VideoPage(fake_videos(0), 1_000, True),
        VideoPage(fake_videos(20), 5_000, True),
        VideoPage(fake_videos(40), 900, False),
    ]
    client = ScriptedClient(settings, pages)
    result = sync_account(db, client, keyring, open_id, clock=fixed(T0))
    assert client.list_calls == 2
    assert result.status == "partial"
    assert "cursor went backwards" in result.error
    assert _removed(db, open_id) == 0


@pytest.mark.parametrize("short, incomplete", [(0, False), (2, False), (4, True), (9, True)])
def test_far_short_of_video_count(settings, db, keyring, sandbox, short, incomplete):
    """ "Far short": more than a tenth (and more than one video) below user/info's
    video_count, after subtracting the videos we already know are gone."""
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    expected = world(sandbox, "quietpotter").stats(T0.timestamp()).video_count
    assert 25 <= expected <= 35  # ~30 videos: a tenth is 2 or 3 of them
    listed = expected - short
    client = ScriptedClient(settings, [VideoPage(fake_videos(0, listed), 5, False)])
    result = sync_account(db, client, keyring, open_id, clock=fixed(T0))
    if incomplete:
        assert result.status == "partial" and f"{listed} of the {expected}" in result.error
    else:
        assert result.status == "succeeded", result.error
