"""A hand-built snapshot cache with counters that grow linearly in time, so every weekly
figure has an exact answer (interpolation between snapshots is exact on a straight line).

Per account: followers = base + 1 per hour; each video's views = ``rate`` per hour since it was
posted, likes = views / 10, comments and shares 0. A "run" writes what a finished sync writes:
a ``sync_runs`` row, the account snapshot, one snapshot per video posted by then, and the
per-run totals row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.db import write_transaction

H = 3600
D = 86_400


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


@dataclass
class Video:
    id: str
    posted: int
    rate: int  # views per hour since posting
    title: str = ""
    share_url: str | None = None


@dataclass
class FakeAccount:
    open_id: str
    origin: int  # followers = followers_base + hours since origin
    followers_base: int = 1000
    username: str | None = None
    videos: list[Video] = field(default_factory=list)

    def followers(self, at: int) -> int:
        return self.followers_base + (at - self.origin) // H

    @staticmethod
    def views(video: Video, at: int) -> int:
        return video.rate * (at - video.posted) // H


def add_account(db, account: FakeAccount, connected_at: int) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT INTO accounts (open_id, display_name, username, connected_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                account.open_id,
                account.open_id.upper(),
                account.username,
                connected_at,
                connected_at,
            ],
        )
        for v in account.videos:
            db.execute(
                "INSERT INTO videos (id, open_id, create_time, title, share_url, first_seen_at,"
                " last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    v.id,
                    account.open_id,
                    v.posted,
                    v.title or f"Video {v.id}",
                    v.share_url,
                    connected_at,
                    connected_at,
                ],
            )


def add_run(db, account: FakeAccount, at: int, status: str = "succeeded") -> None:
    with write_transaction(db):
        db.execute(
            "INSERT INTO sync_runs (open_id, captured_at, started_at, finished_at, status)"
            " VALUES (?, ?, ?, ?, ?)",
            [account.open_id, at, at, at + 30, status],
        )
        db.execute(
            "INSERT INTO account_snapshots (open_id, captured_at, follower_count,"
            " following_count, likes_count, video_count) VALUES (?, ?, ?, 0, 0, ?)",
            [
                account.open_id,
                at,
                account.followers(at),
                sum(1 for v in account.videos if v.posted <= at),
            ],
        )
        views = likes = counted = 0
        for v in account.videos:
            if v.posted > at:
                continue
            n = account.views(v, at)
            db.execute(
                "INSERT INTO video_snapshots (video_id, captured_at, open_id, view_count,"
                " like_count, comment_count, share_count) VALUES (?, ?, ?, ?, ?, 0, 0)",
                [v.id, at, account.open_id, n, n // 10],
            )
            views, likes, counted = views + n, likes + n // 10, counted + 1
        db.execute(
            "INSERT INTO account_video_totals (open_id, captured_at, videos_counted,"
            " view_count, like_count, comment_count, share_count) VALUES (?, ?, ?, ?, ?, 0, 0)",
            [account.open_id, at, counted, views, likes],
        )


def daily_runs(db, account: FakeAccount, first: int, last: int, *, skip=()) -> None:
    at = first
    while at <= last:
        if at not in skip:
            add_run(db, account, at)
        at += D
