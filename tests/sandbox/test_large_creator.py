"""A 50,000-video synthetic creator fits the sandbox: post times after 2000, newest first."""

from __future__ import annotations

import itertools

from sandbox.world import SYNTHETIC_SPAN_DAYS, World
from tests.sandbox.helpers import ANCHOR_TS

YEAR_2000 = 946_684_800


def test_50k_creator_has_positive_distinct_times_and_pages_newest_first() -> None:
    world = World(seed=7, anchor=ANCHOR_TS)
    creator = world.add_synthetic("bench_big", "Bench big", 50_000)
    times = [v.create_time for v in creator.videos]
    assert len(times) == 50_000
    assert min(times) > YEAR_2000  # the sync refuses post times before 2000
    assert len(set(times)) == len(times)  # list cursors are post times: no ties
    assert max(times) < ANCHOR_TS
    assert max(times) - min(times) <= (SYNTHETIC_SPAN_DAYS + 1) * 86_400

    # Page through video/list's model the way a client does: strictly newest first, no repeats.
    now = ANCHOR_TS
    before = None
    seen: list[int] = []
    while True:
        page, more = creator.page(now, before, 20)
        seen.extend(v.create_time for v in page)
        if not more:
            break
        before = page[-1].create_time
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == creator.public_video_count(now)


def test_small_synthetic_creators_keep_daily_spacing() -> None:
    # Existing benchmark and test creators (≤ 1,000 videos) are unchanged: about a day apart.
    world = World(seed=7, anchor=ANCHOR_TS)
    times = sorted(v.create_time for v in world.add_synthetic("bench_small", "S", 300).videos)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.5 * 86_400 - 1 and max(gaps) <= 1.5 * 86_400 + 1
    assert (
        World(seed=7, anchor=ANCHOR_TS).add_synthetic("bench_small", "S", 300).videos[0].id
        == world.creators["bench_small"].videos[0].id
    )
