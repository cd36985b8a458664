"""The Insights sections' narrow reads (issue 12): each must give the answer the all-in-one
computation gave, on TikTok's 19-digit ids (past float64's 2^53)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services import analytics
from services.analytics import metrics, views
from services.analytics import queries as q
from services.analytics.hashtags import video_tags
from services.db import open_db, write_transaction

D = 86_400
NOW = 1_780_000_000
FIRST_ID = 7_300_000_000_000_000_001  # > 2^62: float64 would merge neighbours
TAGS = ["#fyp", "#recipe #fyp", "#Café", "", "#travel #fyp #food"]


def _videos(n: int) -> list[tuple[str, int, int | None, str]]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        created = NOW - int(rng.integers(1, 120)) * D - i
        views = None if i == 5 else int(rng.lognormal(8, 1.5))
        out.append((str(FIRST_ID + i), created, views, f"Video {i} {TAGS[i % len(TAGS)]}"))
    return out


@pytest.fixture
def cache(tmp_path):
    videos = _videos(41)
    with open_db(tmp_path / "c.db", migrate=True) as db, write_transaction(db):
        db.execute("INSERT INTO accounts (open_id, display_name, connected_at, updated_at) "
                   "VALUES ('a', 'A', ?, ?)", [NOW - 400 * D, NOW])
        for vid, created, views, title in videos:
            db.execute(
                "INSERT INTO videos (id, video_key, open_id, create_time, title, description, "
                "first_seen_at, last_seen_at, view_count, counted_at) "
                "VALUES (?, ?, 'a', ?, ?, '', ?, ?, ?, ?)",
                [vid, int(vid), created, title, created, NOW, views, NOW])
            db.conn.executemany("INSERT INTO video_hashtags (video_id, tag) VALUES (?, ?)",
                                [(vid, tag) for tag in video_tags(title, "")])
    with open_db(tmp_path / "c.db") as db:
        yield db, videos


def test_video_reach_keeps_every_19_digit_key_and_says_unknown_as_nan(cache):
    db, videos = cache
    reach = q.video_reach(db, ["a"])
    assert sorted(reach["video_key"].tolist()) == sorted(int(v[0]) for v in videos)
    assert reach["create_time"].is_monotonic_increasing
    unknown = reach[reach["video_key"] == FIRST_ID + 5]
    assert unknown["view_count"].isna().all()
    start, end = NOW - 30 * D, NOW
    recent = q.video_reach(db, ["a"], start, end)
    assert set(recent["video_key"]) == {int(v[0]) for v in videos if start <= v[1] < end}


def test_median_views_sorted_in_sql_match_pandas(cache):
    db, videos = cache
    for age in (7, 30, 90):  # odd and even counts
        eligible = [v[2] for v in videos if v[2] is not None and NOW - v[1] >= age * D]
        median, n = q.median_views(db, ["a"], min_age_days=age)["a"]
        assert n == len(eligible)
        assert median == pytest.approx(float(np.median(eligible)))
    assert q.median_views(db, ["nobody"], min_age_days=7) == {"nobody": (None, 0)}


def test_outliers_from_sql_medians_equal_the_all_videos_answer(cache):
    db, _ = cache
    start, end = NOW - 40 * D, NOW
    whole = metrics.outliers(q.video_reach(db, ["a"]), posted_from=start, posted_to=end)
    narrow = metrics.outliers(q.video_reach(db, ["a"], start, end), posted_from=start,
                              posted_to=end, medians=q.median_views(db, ["a"], min_age_days=7))
    columns = ["video_key", "flag", "ratio", "account_median"]
    pd.testing.assert_frame_equal(whole.frame[columns], narrow.frame[columns])
    assert whole.enough_history == narrow.enough_history


def test_the_outlier_section_names_its_points_by_title(cache):
    db, videos = cache
    section = analytics.insights_section(db, ["a"], NOW - 120 * D, NOW + 1, "UTC", "outliers")
    frame = section.outliers.frame
    titles = {v[0]: v[3] for v in videos}
    assert len(frame) and all(titles[i] == t for i, t in zip(frame["video_id"], frame["title"],
                                                              strict=True))


def test_hashtags_from_the_table_equal_parsing_the_captions(cache):
    db, _ = cache
    start, end = NOW - 120 * D, NOW
    posted = q.posting_times(db, ["a"], start, end)
    parsed = metrics.hashtag_performance(posted, top=20)
    tags = q.video_hashtags(db, ["a"], start, end)
    stored = metrics.hashtag_performance(q.video_reach(db, ["a"], start, end), top=20, tags=tags)
    assert len(parsed.frame) >= 3
    pd.testing.assert_frame_equal(parsed.frame, stored.frame)


def _flags(n_above: int, n_below: int, n_rest: int) -> pd.DataFrame:
    flags = ["above"] * n_above + ["below"] * n_below + ["typical"] * n_rest
    ratio = [3.0 + i for i in range(n_above)] + [0.3 / (1 + i) for i in range(n_below)] \
        + [1.0] * n_rest
    n = len(flags)
    return pd.DataFrame({"video_key": range(n), "create_time": range(n), "flag": flags,
                         "ratio": ratio, "view_count": np.arange(n, dtype="float64")})


def test_outlier_points_keep_every_outlier_and_sample_the_rest():
    frame, note = views._outlier_points(_flags(40, 30, 6000))
    assert len(frame) == views.OUTLIER_POINTS
    assert (frame["flag"] == "above").sum() == 40 and (frame["flag"] == "below").sum() == 30
    assert "every outlier" in note and "6,070" in note
    # The sample spans the whole range of views, not the first thousand.
    rest = frame[frame["flag"] == "typical"]["view_count"]
    assert rest.min() < 200 and rest.max() > 5800


def test_outlier_points_cap_each_side_at_the_most_extreme():
    frame, note = views._outlier_points(_flags(900, 10, 500))
    assert len(frame) == views.OUTLIER_POINTS
    furthest = set(np.arange(900 - views.OUTLIER_EXTREMES, 900))  # the largest ratios
    assert furthest <= set(frame["video_key"])
    assert set(range(900, 910)) <= set(frame["video_key"])  # every "below" one
    assert f"the {views.OUTLIER_EXTREMES} furthest each way" in note


def test_a_small_account_is_drawn_whole():
    frame, note = views._outlier_points(_flags(3, 2, 50))
    assert len(frame) == 55 and note is None


def test_an_unknown_section_is_refused(cache):
    db, _ = cache
    with pytest.raises(ValueError, match="unknown Insights section"):
        analytics.insights_section(db, ["a"], NOW - D, NOW, "UTC", "everything")
