"""Keep stored cover URLs loadable: renew them through video/query before they expire.

TikTok's ``cover_image_url`` is a signed CDN link that lives 6 hours
(https://developers.tiktok.com/doc/tiktok-api-v2-video-object,
https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit);
after that the CDN (and the sandbox) answers 403 and the page shows a broken image. The cache
keeps the URL from the last sync, which may be days old. ``refresh_stale_covers`` is called by a
page with the ids it is about to show: it renews only the links that are expired or expire
within the hour, with ``POST /v2/video/query/`` (§3.3: ≤ 20 ids, "use it to renew
cover_image_url"), so a page of fresh covers costs no request at all.

Failures never reach the page: a TikTok or network error ends the refresh early, is logged, and
the page renders with what it has (a placeholder at worst). Programming errors still raise.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import sqlite_utils

from services.accounts import call_with_token
from services.clock import Clock, to_epoch, utc_now
from services.crypto import KeyRing
from services.db import write_transaction
from services.errors import ReelboardError
from services.tiktok.client import MAX_QUERY_IDS, TikTokClient

log = logging.getLogger(__name__)

# https://developers.tiktok.com/doc/tiktok-api-v2-video-object,
# https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit: cover_image_url TTL
COVER_TTL_S = 6 * 3600
#: Renew a link once it is this old, i.e. less than an hour before it expires, so a page
#: rendered now still shows the image when the browser fetches it (and for a while after).
DEFAULT_MAX_AGE_S = 5 * 3600
QUERY_FIELDS = ("id", "cover_image_url")
_EXPIRES_PARAM = "x-expires"
_SELECT_CHUNK = 500  # ids per SELECT: well under SQLite's bound-parameter limit

_UPDATE_COVER = (
    # Compare-and-set on the link we judged stale: if a sync stored a newer one meanwhile, it
    # is at least as fresh as ours, so it stays.
    "UPDATE videos SET cover_image_url = ? "
    "WHERE id = ? AND open_id = ? AND cover_image_url = ?"
)


def cover_expires_at(url: str | None) -> int | None:
    """The ``x-expires`` epoch seconds of a signed cover URL, or None if it has none."""
    if not url:
        return None
    try:
        query = urlsplit(url).query
    except ValueError:  # not a URL at all (e.g. an unbalanced IPv6 bracket)
        return None
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.lower() == _EXPIRES_PARAM:
            value = value.strip()
            return int(value) if value.isdigit() else None
    return None


def refresh_stale_covers(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    open_id: str,
    video_ids: Iterable[str],
    *,
    clock: Clock = utc_now,
    max_age_s: float = DEFAULT_MAX_AGE_S,
) -> int:
    """Renew the stored cover URLs among ``video_ids`` (this account's) that are stale.

    A link is stale when it was issued ``max_age_s`` or more ago: its ``x-expires`` minus the
    6 h TTL, or — for a link without ``x-expires`` — the video's ``last_seen_at`` (the sync that
    stored it). Videos without a stored cover, of another account, or already marked removed
    are not asked for. Stale ones are queried 20 per request (in the order given, so the top of
    the page is renewed first), each batch's answer written in one short transaction.

    Returns how many URLs were renewed. Videos TikTok no longer returns (deleted, made private)
    keep their stored link. A TikTok, network or account error stops early and returns the
    count so far; it is logged, not raised.
    """
    now = to_epoch(clock())
    stale = _stale_covers(db, open_id, _unique_ids(video_ids), now - max_age_s)
    if not stale:
        return 0
    renewed = 0
    for start in range(0, len(stale), MAX_QUERY_IDS):
        batch = stale[start:start + MAX_QUERY_IDS]
        try:
            videos = call_with_token(db, client, keyring, open_id,
                                     _query(client, [vid for vid, _ in batch]), clock=clock)
        except ReelboardError as exc:  # TikTok, network, token or account trouble
            _log_stop(open_id, renewed, len(stale), exc)
            return renewed
        fresh = _fresh_urls(videos)
        updates = [(fresh[vid], vid, open_id, old) for vid, old in batch
                   if vid in fresh and fresh[vid] != old]
        if not updates:
            continue
        try:
            with write_transaction(db):
                changed = db.conn.executemany(_UPDATE_COVER, updates).rowcount
        except sqlite3.OperationalError as exc:  # busy/locked past the timeout, disk trouble
            _log_stop(open_id, renewed, len(stale), exc)
            return renewed
        renewed += max(changed, 0)
    log.debug("covers %s: renewed %d of %d stale", open_id, renewed, len(stale))
    return renewed


def _unique_ids(video_ids: Iterable[str]) -> list[str]:
    # Ids are 19-digit text (the architecture notes in README.md "Data"); keep the caller's order,
    # drop repeats.
    seen: dict[str, None] = {}
    for vid in video_ids:
        text = str(vid).strip()
        if text:
            seen.setdefault(text, None)
    return list(seen)


def _stale_covers(db: sqlite_utils.Database, open_id: str, ids: Sequence[str],
                  issued_before: float) -> list[tuple[str, str]]:
    """(id, stored URL) of the stale ones among ``ids``, in the order of ``ids``."""
    rows: dict[str, tuple[str, int]] = {}
    for start in range(0, len(ids), _SELECT_CHUNK):
        chunk = ids[start:start + _SELECT_CHUNK]
        marks = ", ".join("?" * len(chunk))
        for vid, url, last_seen in db.execute(
            "SELECT id, cover_image_url, last_seen_at FROM videos "
            "WHERE open_id = ? AND removed_at IS NULL AND cover_image_url IS NOT NULL "
            f"AND cover_image_url != '' AND id IN ({marks})",
            [open_id, *chunk],
        ):
            rows[vid] = (url, last_seen)
    stale = []
    for vid in ids:
        if vid not in rows:
            continue
        url, last_seen = rows[vid]
        expires = cover_expires_at(url)
        issued = expires - COVER_TTL_S if expires is not None else last_seen
        if issued <= issued_before:
            stale.append((vid, url))
    return stale


def _query(client: TikTokClient, ids: list[str]) -> Callable[[str], list[dict[str, Any]]]:
    # A function per batch (not a lambda in the loop), so it cannot see a later batch's ids.
    return lambda token: client.query_videos(token, ids, QUERY_FIELDS)


def _fresh_urls(videos: list[dict[str, Any]]) -> dict[str, str]:
    fresh: dict[str, str] = {}
    for video in videos:
        vid, url = video.get("id"), video.get("cover_image_url")
        # One bad record costs its own cover only (the fault catalogue (tests/faults) N6), not the
        # batch.
        if (isinstance(vid, str | int) and not isinstance(vid, bool)
                and isinstance(url, str) and url.strip()):
            fresh[str(vid)] = url.strip()
    return fresh


def _log_stop(open_id: str, renewed: int, stale: int, exc: BaseException) -> None:
    # The message of a ReelboardError is written for people and holds no token (the fault catalogue
    # (tests/faults)).
    log.warning("covers %s: stopped after renewing %d of %d stale cover URLs: %s: %s",
                open_id, renewed, stale, type(exc).__name__, exc)
