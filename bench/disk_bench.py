"""Bytes per video snapshot row written by the real sync, and what a year of history costs.

    python -m bench.disk_bench            # 1,000 videos x 30 daily syncs (about a minute)
    python -m bench.disk_bench --quick    # 300 videos x 8 daily syncs

One synthetic creator in the sandbox (a separate process, as in bench/sync_bench.py), synced
once per simulated day by ``sync_accounts`` (the cron path: pacing, token, pages, final
transaction). Then ``dbstat`` says how many bytes each table and index takes. For comparison
the same rows are copied into the layout before migration 0008 (TEXT ``open_id`` in every row
and in the ``(open_id, captured_at)`` index), inserted in the order the sync writes them.

Target (issue 12, target 4): <= 100 bytes per snapshot row, table and its index together.
Prints a table, records the target in bench.targets and writes ``bench/results/disk.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import targets
from bench.sync_bench import Bench
from services.demo_history import SandboxClock

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "disk.json"
TARGET_BYTES = 100
SNAPSHOT_OBJECTS = ("video_snapshot_rows", "video_snapshot_rows_account_time")
OLD_LAYOUT = """
    CREATE TABLE old.video_snapshots (
        video_id TEXT NOT NULL, captured_at INTEGER NOT NULL, open_id TEXT NOT NULL,
        view_count INTEGER, like_count INTEGER, comment_count INTEGER, share_count INTEGER,
        PRIMARY KEY (video_id, captured_at)) WITHOUT ROWID;
    CREATE INDEX old.video_snapshots_account_time ON video_snapshots(open_id, captured_at);
"""


def _sizes(conn: sqlite3.Connection, schema: str = "main") -> dict[str, int]:
    return {name: int(size) for name, size in conn.execute(
        "SELECT name, sum(pgsize) FROM dbstat(?) GROUP BY name", (schema,))}


def run(videos: int, days: int, root: Path) -> dict[str, Any]:
    bench = Bench(root)
    try:
        open_id = bench.creator(f"bench_disk_{videos}", videos)
        clock = SandboxClock(bench.base)
        for day in range(days):
            bench.fresh_windows()
            _, [result] = bench.sync([open_id], clock=clock)
            if result.status != "succeeded":
                raise RuntimeError(f"sync {day} ended {result.status}: {result.error}")
            bench.control("POST", "/_sandbox/clock", {"advance": 86_400})
            clock.refresh()
            print(f"  day {day + 1}/{days}", end="\r", flush=True)
        print()
    finally:
        bench.close()
    path = Path(bench.settings.database_path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT count(*) FROM video_snapshot_rows").fetchone()[0]
        sizes = _sizes(conn)
        conn.execute("ATTACH DATABASE ? AS old", (str(root / "old-layout.db"),))
        conn.executescript(OLD_LAYOUT)
        conn.execute(
            "INSERT INTO old.video_snapshots SELECT s.video_id, s.captured_at, s.open_id, "
            "s.view_count, s.like_count, s.comment_count, s.share_count FROM video_snapshots s "
            "JOIN videos v ON v.id = s.video_id ORDER BY s.captured_at, v.create_time DESC")
        conn.commit()
        old = _sizes(conn, "old")
    file_bytes = path.stat().st_size
    snapshot_bytes = sum(sizes.get(n, 0) for n in SNAPSHOT_OBJECTS)
    old_bytes = sum(old.values())
    per_row = snapshot_bytes / rows
    # What one video costs once (its row, caption, hashtags, indexes), and one run of one
    # account (sync_runs, account_snapshots, account_video_totals): the rest of the file.
    per_video = sum(v for k, v in sizes.items()
                    if k.startswith(("videos", "video_hashtags", "sqlite_autoindex_videos")))
    per_video /= videos
    year_bytes = per_row * 365 * 1000 + per_video * 1000
    return {
        "videos": videos,
        "daily_syncs": days,
        "snapshot_rows": rows,
        "bytes_per_snapshot_row": round(per_row, 1),
        "table_bytes_per_row": round(sizes.get(SNAPSHOT_OBJECTS[0], 0) / rows, 1),
        "index_bytes_per_row": round(sizes.get(SNAPSHOT_OBJECTS[1], 0) / rows, 1),
        "old_layout_bytes_per_row": round(old_bytes / rows, 1),
        "old_layout_index_bytes_per_row": round(
            old.get("video_snapshots_account_time", 0) / rows, 1),
        "file_bytes_per_snapshot_row": round(file_bytes / rows, 1),
        "bytes_per_video_once": round(per_video, 1),
        "year_mb_per_1000_videos_daily": round(year_bytes / 1e6, 1),
        "year_mb_per_1000_videos_after_compaction": round(
            (per_row * 365 * 1000 * 2 / 7 + per_video * 1000) / 1e6, 1),
        "objects_bytes": sizes,
        "meets_target": per_row <= TARGET_BYTES,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.disk_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="300 videos x 8 syncs")
    parser.add_argument("--videos", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    videos = args.videos or (300 if args.quick else 1_000)
    days = args.days or (8 if args.quick else 30)
    print(f"disk: {videos:,} videos x {days} daily syncs ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="reelboard-disk-bench-") as tmp:
        result = run(videos, days, Path(tmp))
    r = result
    print(f"snapshot rows: {r['snapshot_rows']:,}")
    print(f"bytes per snapshot row: {r['bytes_per_snapshot_row']} (table "
          f"{r['table_bytes_per_row']} + index {r['index_bytes_per_row']}); before migration "
          f"0008: {r['old_layout_bytes_per_row']} (index {r['old_layout_index_bytes_per_row']})")
    print(f"whole file per snapshot row: {r['file_bytes_per_snapshot_row']}; per video once: "
          f"{r['bytes_per_video_once']}")
    print(f"a year per 1,000 videos: {r['year_mb_per_1000_videos_daily']} MB daily, "
          f"{r['year_mb_per_1000_videos_after_compaction']} MB once compacted to weekly")
    targets.record("4. disk bytes per snapshot row (table + index)",
                   f"{r['bytes_per_snapshot_row']} B (was {r['old_layout_bytes_per_row']} B)",
                   f"<= {TARGET_BYTES} B", r["meets_target"])
    document = {"benchmark": "disk", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "load_average": targets.load_average(), "sqlite": sqlite3.sqlite_version, **r}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"Wrote {args.output}")
    return 0 if r["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
