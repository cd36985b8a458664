"""A synthetic Reelboard cache for benchmarks: big accounts with a year of daily snapshots.

Written with the real migrations and in the layout the sync writes (compact snapshot rows with
integer keys, latest counters on ``videos``, hashtags parsed into ``video_hashtags``), but
directly with SQL: syncing 18 million snapshot rows through the sandbox would take hours.
Used by ``bench.pages_bench``, ``bench.report_bench`` and the browser and memory benches.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from services.analytics.hashtags import video_tags
from services.db import open_db

BIG = "bench_big_account"
SMALL = "bench_small_account"
DAY = 86_400
#: Fixed clock: the last sync of the synthetic history (2026-06-01 03:00 UTC).
LAST_RUN = 1_780_283_200

HASHTAGS = [
    "fyp",
    "foryou",
    "marketing",
    "tips",
    "behindthescenes",
    "tutorial",
    "café",
    "MüNCHEN",
    "日本",
    "recette",
    "skincare",
    "ootd",
    "booktok",
    "comedy",
    "dance",
]


# --------------------------------------------------------------------------------------------
# building the cache


@dataclass(frozen=True)
class Shape:
    videos: int
    days: int
    small_videos: int


def _run_times(days: int) -> np.ndarray:
    # Daily syncs at ~03:00 UTC with a few minutes of jitter, ending at LAST_RUN.
    rng = np.random.default_rng(7)
    base = LAST_RUN - (days - 1) * DAY + np.arange(days, dtype=np.int64) * DAY
    return base + rng.integers(-600, 600, size=days)


def _videos(n: int, first_run: int, last_run: int, seed: int) -> pd.DataFrame:
    """Videos: 90 % posted in the three years before history starts, 10 % during it."""
    rng = np.random.default_rng(seed)
    during = rng.random(n) < 0.10
    create = np.where(
        during,
        rng.integers(first_run, last_run - 3600, size=n),
        rng.integers(first_run - 3 * 365 * DAY, first_run, size=n),
    ).astype(np.int64)
    order = np.argsort(create, kind="stable")
    create = create[order]
    # 19-digit ids that grow with posting time, like TikTok's.
    ids = [str(7_100_000_000_000_000_000 + i * 1_000_003 + seed) for i in range(n)]
    final = np.exp(rng.normal(9.0, 1.6, size=n)).astype(np.float64)  # heavy-tailed reach
    tau = rng.uniform(0.5, 4.0, size=n) * DAY  # how fast a video reaches its audience
    tags = [
        " ".join(f"#{HASHTAGS[j]}" for j in rng.choice(len(HASHTAGS), size=3, replace=False))
        for _ in range(n)
    ]
    return pd.DataFrame(
        {
            "id": ids,
            "create_time": create,
            "final": final,
            "tau": tau,
            "like_rate": rng.uniform(0.03, 0.12, size=n),
            "title": [f"Video {i} {t}" for i, t in enumerate(tags)],
        }
    )


def _views(videos: pd.DataFrame, at: int) -> np.ndarray:
    age = np.maximum(at - videos["create_time"].to_numpy(), 0)
    grown = 1.0 - np.exp(-age / videos["tau"].to_numpy())
    tail = 1.0 + 0.02 * age / (30 * DAY)  # a slow long tail
    return np.floor(videos["final"].to_numpy() * grown * tail).astype(np.int64)


def build_cache(
    path: Path,
    shape: Shape,
    log: Callable[[str], None] = print,
    accounts: list[tuple[str, int, int]] | None = None,
) -> dict:
    """The synthetic cache; ``accounts`` = (open_id, videos, seed) overrides the default big +
    small pair (bench/report_bench.py builds ten accounts)."""
    with open_db(path, migrate=True):
        pass
    conn = sqlite3.connect(path, isolation_level=None)
    # Build speed only: this throwaway file needs no durability while it is written.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    runs = _run_times(shape.days)
    accounts = accounts or [(BIG, shape.videos, 1), (SMALL, shape.small_videos, 2)]
    rows = 0
    started = time.perf_counter()
    conn.execute("BEGIN")
    for open_id, n, seed in accounts:
        conn.execute(
            "INSERT INTO accounts (open_id, display_name, connected_at, updated_at) "
            "VALUES (?, ?, ?, ?)",
            (open_id, open_id.replace("_", " ").title(), int(runs[0]), int(runs[-1])),
        )
        account_key = conn.execute(
            "SELECT account_key FROM accounts WHERE open_id = ?", (open_id,)
        ).fetchone()[0]
        vids = _videos(n, int(runs[0]), int(runs[-1]), seed)
        conn.executemany(
            "INSERT INTO videos (id, open_id, create_time, title, description, duration, "
            "cover_image_url, share_url, first_seen_at, last_seen_at) "
            "VALUES (?, ?, ?, ?, ?, 30, ?, ?, ?, ?)",
            [
                (
                    vid,
                    open_id,
                    int(ct),
                    title,
                    "",
                    f"https://p16.example/{vid}.jpg",
                    f"https://www.tiktok.com/@x/video/{vid}",
                    max(int(ct), int(runs[0])),
                    int(runs[-1]),
                )
                for vid, ct, title in zip(
                    vids["id"], vids["create_time"], vids["title"], strict=True
                )
            ],
        )
        # The hashtags the sync would have parsed (services.sync keeps video_hashtags).
        conn.executemany(
            "INSERT OR IGNORE INTO video_hashtags (video_id, tag) VALUES (?, ?)",
            [(vid, tag) for vid, title in zip(vids["id"], vids["title"], strict=True)
             for tag in video_tags(title, "")],
        )
        followers = 1000 + 40 * np.arange(shape.days) ** 1.3
        for d, at in enumerate(runs):
            at = int(at)
            live = vids["create_time"].to_numpy() <= at
            v = vids.loc[live]
            views = _views(v, at)
            likes = np.floor(views * v["like_rate"].to_numpy()).astype(np.int64)
            comments = views // 500
            shares = views // 300
            # Straight into the compact table (migration 0008) as the sync does: the ids are
            # numeric, so each one is its own video_key.
            conn.executemany(
                "INSERT INTO video_snapshot_rows (video_key, captured_at, account_key, "
                "view_count, like_count, comment_count, share_count) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                zip(
                    [int(x) for x in v["id"].tolist()],
                    [at] * len(v),
                    [account_key] * len(v),
                    views.tolist(),
                    likes.tolist(),
                    comments.tolist(),
                    shares.tolist(),
                    strict=True,
                ),
            )
            rows += len(v)
            conn.execute(
                "INSERT INTO sync_runs (open_id, captured_at, started_at, finished_at, status, "
                "rows_written, videos_seen) VALUES (?, ?, ?, ?, 'succeeded', ?, ?)",
                (open_id, at, at, at + 60, len(v), len(v)),
            )
            conn.execute(
                "INSERT INTO account_snapshots VALUES (?, ?, ?, 10, ?, ?)",
                (open_id, at, int(followers[d]) * seed, int(likes.sum()), len(v)),
            )
            conn.execute(
                "INSERT INTO account_video_totals VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    open_id,
                    at,
                    len(v),
                    int(views.sum()),
                    int(likes.sum()),
                    int(comments.sum()),
                    int(shares.sum()),
                ),
            )
            if d % 30 == 29:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
                log(f"  {open_id}: {d + 1}/{shape.days} days, {rows:,} snapshot rows")
    # Each video's latest counters, as the sync keeps them on `videos` (migration 0007).
    conn.execute(
        "UPDATE videos SET (view_count, like_count, comment_count, share_count, counted_at) = ("
        "SELECT s.view_count, s.like_count, s.comment_count, s.share_count, s.captured_at "
        "FROM video_snapshot_rows s WHERE s.video_key = videos.video_key "
        "ORDER BY s.captured_at DESC LIMIT 1)"
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return {
        "build_seconds": round(time.perf_counter() - started, 1),
        "video_snapshot_rows": rows,
        "db_bytes": path.stat().st_size,
        "run_times": [int(runs[0]), int(runs[-1])],
    }
