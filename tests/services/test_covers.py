"""services.covers against a real sandbox: expired cover links are renewed with video/query.

Ground truth is the wire: whether a stored URL loads (the sandbox answers 403 for an expired
signed link, like TikTok's CDN) and how many /v2/video/query/ requests its log shows.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import pytest
import requests

from services.access import LOCAL_ACTOR
from services.accounts import complete_connect, start_connect
from services.covers import COVER_TTL_S, cover_expires_at, refresh_stale_covers
from services.sync import sync_account
from services.tiktok.client import TikTokClient
from services.tiktok.scopes import ANALYTICS
from tests.services.conftest import ANCHOR

T0 = ANCHOR + timedelta(days=3, hours=9)
SEVEN_HOURS = 7 * 3600
QUERY = "/v2/video/query/"
JPEG_MAGIC = b"\xff\xd8\xff"


# -- helpers -------------------------------------------------------------------------------


def fixed(moment: datetime):
    return lambda: moment


def set_clock(sandbox, moment: datetime, *, freeze: bool = False) -> None:
    sandbox._post("/_sandbox/clock", {"set": moment.timestamp(), "freeze": freeze})


def connect(db, settings, keyring, sandbox, creator: str, moment: datetime) -> str:
    """Connect through the real flow with our clock at the sandbox's ``moment``, so token
    expiry times agree on both sides, as they do between a server and TikTok."""
    client = TikTokClient.from_settings(settings)
    try:
        url = start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=ANALYTICS,
                            clock=fixed(moment))
        params = sandbox.callback_params(url, creator=creator)
        return complete_connect(db, client, keyring, params, actor=LOCAL_ACTOR,
                                redirect_uri=settings.redirect_uri,
                                clock=fixed(moment)).open_id
    finally:
        client.session.close()


def covers(db, open_id: str) -> dict[str, str]:
    return dict(db.execute("SELECT id, cover_image_url FROM videos WHERE open_id = ?",
                           [open_id]).fetchall())


def page_ids(db, open_id: str, limit: int | None = None) -> list[str]:
    """The ids a page would show: newest first."""
    rows = db.execute("SELECT id FROM videos WHERE open_id = ? ORDER BY create_time DESC",
                      [open_id]).fetchall()
    return [r[0] for r in rows][:limit]


def query_calls(sandbox) -> int:
    return sum(1 for e in sandbox.requests(QUERY) if e["path"] == QUERY)


def fetch(url: str) -> requests.Response:
    return requests.get(url, timeout=10)


@pytest.fixture
def synced(settings, db, keyring, sandbox, client):
    """trailrunnerjo (~145 public videos) connected and synced at T0; its covers are stored."""
    set_clock(sandbox, T0)
    open_id = connect(db, settings, keyring, sandbox, "trailrunnerjo", T0)
    result = sync_account(db, client, keyring, open_id, clock=fixed(T0))
    assert result.status == "succeeded", result.error
    sandbox.clear_requests()
    return open_id


# -- cover_expires_at ------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:1/_sandbox/media/cover/7.jpeg?x-expires=1793000000&x-signature=ab",
     1793000000),
    ("https://p16-sign.tiktokcdn.com/obj/abc~tplv.jpeg?x-signature=zz%3D&X-Expires=1700000001",
     1700000001),
    ("https://cdn.example/cover.jpeg", None),
    ("https://cdn.example/cover.jpeg?x-expires=", None),
    ("https://cdn.example/cover.jpeg?x-expires=soon", None),
    ("https://cdn.example/cover.jpeg?x-expires=-5", None),
    ("http://[::1/cover.jpeg?x-expires=1", None),  # not a URL
    ("", None),
    (None, None),
])
def test_cover_expires_at(url, expected):
    assert cover_expires_at(url) == expected


# -- against the sandbox ---------------------------------------------------------------------


def test_expired_covers_are_renewed_in_batches_of_twenty(db, keyring, sandbox, client, synced):
    open_id = synced
    before = covers(db, open_id)
    ids = page_ids(db, open_id)
    assert len(ids) > 100
    sample = before[ids[0]]
    assert cover_expires_at(sample) == pytest.approx(T0.timestamp() + COVER_TTL_S, abs=60)
    assert fetch(sample).status_code == 200

    sandbox.advance(SEVEN_HOURS)
    assert fetch(sample).status_code == 403  # the stored link is dead, as on TikTok's CDN

    later = T0 + timedelta(seconds=SEVEN_HOURS)
    renewed = refresh_stale_covers(db, client, keyring, open_id, ids, clock=fixed(later))

    assert renewed == len(ids)
    assert query_calls(sandbox) == math.ceil(len(ids) / 20)
    after = covers(db, open_id)
    assert all(after[v] != before[v] for v in ids)
    response = fetch(after[ids[0]])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content.startswith(JPEG_MAGIC)
    assert cover_expires_at(after[ids[0]]) > later.timestamp() + 5 * 3600

    # Now they are fresh: a second render costs no request at all.
    sandbox.clear_requests()
    assert refresh_stale_covers(db, client, keyring, open_id, ids, clock=fixed(later)) == 0
    assert query_calls(sandbox) == 0


def test_a_page_of_45_costs_three_requests_and_touches_nothing_else(db, keyring, sandbox, client,
                                                                    synced):
    open_id = synced
    before = covers(db, open_id)
    shown = page_ids(db, open_id, limit=45)
    sandbox.advance(SEVEN_HOURS)

    renewed = refresh_stale_covers(db, client, keyring, open_id, shown + shown[:5],  # repeats
                                   clock=fixed(T0 + timedelta(seconds=SEVEN_HOURS)))

    assert renewed == 45
    assert query_calls(sandbox) == 3
    after = covers(db, open_id)
    assert {v for v in after if after[v] != before[v]} == set(shown)


def test_fresh_covers_are_not_fetched(db, keyring, sandbox, client, synced):
    open_id = synced
    ids = page_ids(db, open_id)
    before = covers(db, open_id)
    # Up to just under five hours after they were issued (more than an hour left): no request.
    for elapsed in (0, 1800, 5 * 3600 - 120):
        moment = T0 + timedelta(seconds=elapsed)
        assert refresh_stale_covers(db, client, keyring, open_id, ids, clock=fixed(moment)) == 0
    assert query_calls(sandbox) == 0
    assert covers(db, open_id) == before

    # Once less than an hour is left they are renewed (the sandbox is there too).
    moment = T0 + timedelta(seconds=5 * 3600 + 120)
    set_clock(sandbox, moment)
    assert refresh_stale_covers(db, client, keyring, open_id, ids[:20],
                                clock=fixed(moment)) == 20
    assert query_calls(sandbox) == 1


def test_max_age_is_the_callers_choice(db, keyring, sandbox, client, synced):
    open_id = synced
    ids = page_ids(db, open_id, limit=10)
    moment = T0 + timedelta(hours=2)
    set_clock(sandbox, moment)
    assert refresh_stale_covers(db, client, keyring, open_id, ids, clock=fixed(moment)) == 0
    assert refresh_stale_covers(db, client, keyring, open_id, ids, clock=fixed(moment),
                                max_age_s=3600) == 10
    assert query_calls(sandbox) == 1


def test_without_x_expires_last_seen_decides(db, keyring, sandbox, client, synced):
    open_id = synced
    old, recent = page_ids(db, open_id, limit=2)
    later = T0 + timedelta(seconds=SEVEN_HOURS)
    with db.conn:
        db.execute("UPDATE videos SET cover_image_url = 'https://cdn.example/a.jpeg', "
                   "last_seen_at = ? WHERE id = ?", [int(T0.timestamp()), old])
        db.execute("UPDATE videos SET cover_image_url = 'https://cdn.example/b.jpeg', "
                   "last_seen_at = ? WHERE id = ?", [int(later.timestamp()) - 60, recent])
    sandbox.advance(SEVEN_HOURS)

    assert refresh_stale_covers(db, client, keyring, open_id, [old, recent],
                                clock=fixed(later)) == 1

    after = covers(db, open_id)
    assert cover_expires_at(after[old]) is not None and fetch(after[old]).status_code == 200
    assert after[recent] == "https://cdn.example/b.jpeg"
    assert query_calls(sandbox) == 1


def test_videos_tiktok_no_longer_returns_are_left_alone(db, keyring, sandbox, client, synced):
    open_id = synced
    live = page_ids(db, open_id, limit=3)
    stale_url = covers(db, open_id)[live[0]]
    gone = "7000000000000000001"  # deleted or made private since the sync: query omits it
    removed = page_ids(db, open_id)[-1]
    with db.conn:
        db.execute(
            "INSERT INTO videos (id, open_id, create_time, cover_image_url, first_seen_at, "
            "last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            [gone, open_id, int(T0.timestamp()) - 86400, stale_url, int(T0.timestamp()),
             int(T0.timestamp())])
        db.execute("UPDATE videos SET removed_at = ? WHERE id = ?", [int(T0.timestamp()), removed])
        db.execute("UPDATE videos SET cover_image_url = NULL WHERE id = ?", [live[2]])
    sandbox.advance(SEVEN_HOURS)
    later = T0 + timedelta(seconds=SEVEN_HOURS)

    renewed = refresh_stale_covers(
        db, client, keyring, open_id, [gone, *live, removed, "7999999999999999999", ""],
        clock=fixed(later))

    assert renewed == 2  # live[0] and live[1]
    after = covers(db, open_id)
    assert after[gone] == stale_url  # not returned: untouched
    assert after[live[2]] is None  # no stored cover: not asked for
    assert after[live[0]] != stale_url and fetch(after[live[1]]).status_code == 200
    # One request, for the stale ones we hold a cover for (gone, live[0], live[1]).
    assert query_calls(sandbox) == 1


def test_a_5xx_burst_returns_zero_without_raising(db, keyring, sandbox, client, synced, sleeps,
                                                   caplog):
    open_id = synced
    ids = page_ids(db, open_id, limit=45)
    before = covers(db, open_id)
    sandbox.advance(SEVEN_HOURS)
    sandbox.fault("server_error", count=50, status=503, path=QUERY)

    with caplog.at_level(logging.WARNING, logger="services.covers"):
        renewed = refresh_stale_covers(db, client, keyring, open_id, ids,
                                       clock=fixed(T0 + timedelta(seconds=SEVEN_HOURS)))

    assert renewed == 0
    assert covers(db, open_id) == before
    # The client retried the first batch (backing off, not slept here) and then we stopped:
    # no further batch was tried against a failing TikTok.
    assert query_calls(sandbox) == client.max_attempts
    assert len(sleeps) == client.max_attempts - 1
    assert "stopped after renewing 0 of 45" in caplog.text
    assert "act." not in caplog.text  # no token in the log


def test_an_error_midway_keeps_what_was_renewed(db, keyring, sandbox, client, synced,
                                                monkeypatch):
    open_id = synced
    ids = page_ids(db, open_id, limit=45)
    before = covers(db, open_id)
    sandbox.advance(SEVEN_HOURS)
    real_query = client.query_videos

    def query_then_break(*args, **kwargs):
        result = real_query(*args, **kwargs)
        sandbox.fault("drop", count=50, path=QUERY)  # every later request: connection dropped
        return result

    monkeypatch.setattr(client, "query_videos", query_then_break)

    renewed = refresh_stale_covers(db, client, keyring, open_id, ids,
                                   clock=fixed(T0 + timedelta(seconds=SEVEN_HOURS)))

    assert renewed == 20
    after = covers(db, open_id)
    assert {v for v in ids if after[v] != before[v]} == set(ids[:20])  # the top of the page


def test_an_account_that_needs_reconnecting_is_not_an_error_for_the_page(
        db, keyring, sandbox, client, synced):
    open_id = synced
    ids = page_ids(db, open_id, limit=5)
    before = covers(db, open_id)
    sandbox.advance(SEVEN_HOURS)
    sandbox.fault("revoke", open_id=open_id)  # the creator removed the app in TikTok

    assert refresh_stale_covers(db, client, keyring, open_id, ids,
                                clock=fixed(T0 + timedelta(seconds=SEVEN_HOURS))) == 0
    assert covers(db, open_id) == before
    status = db.execute("SELECT status FROM accounts WHERE open_id = ?", [open_id]).fetchone()[0]
    assert status == "needs_reconnect"


def test_nothing_to_do_spends_no_request(db, keyring, sandbox, client, synced):
    assert refresh_stale_covers(db, client, keyring, synced, []) == 0
    assert refresh_stale_covers(db, client, keyring, "-000unknown", page_ids(db, synced)) == 0
    assert query_calls(sandbox) == 0
