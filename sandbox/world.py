"""The sandbox world: creators and their videos, deterministic from (seed, anchor).

The anchor is the world's time origin: demo creators have ~20 months of history before it and
keep posting for two years after it, so advancing the simulated clock brings new posts. Every
random choice comes from `random.Random` seeded with a string made of the seed, the username and
a purpose, so the same seed and anchor always build the same world, in any process.
"""

from __future__ import annotations

import bisect
import math
import random
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sandbox.catalog import DEMO_CREATORS, CreatorSpec, synthetic_spec
from sandbox.growth import FollowerModel, VideoCurve, metric_instant
from sandbox.ids import open_id_for, profile_short_code, union_id_for

DAY = 86400.0
YEAR = 365.25 * DAY
USERNAME_RE = re.compile(r"^[a-z0-9._]{2,24}$")
MAX_SYNTHETIC_VIDEOS = 200_000


@dataclass(slots=True)
class Video:
    id: str  # 19-digit decimal string starting with 7 (video object docs: string id)
    username: str
    create_time: int  # epoch seconds, unique per creator
    is_public: bool  # False: SELF_ONLY, never returned by video/list or video/query
    deleted_at: float | None  # disappears from the API from this instant on
    title: str
    description: str
    duration: int
    width: int
    height: int
    is_aigc: bool
    curve: VideoCurve

    def live_at(self, now: float) -> bool:
        """Posted at or before `now` and not yet deleted."""
        return self.create_time <= now and (self.deleted_at is None or now < self.deleted_at)

    def listed_at(self, now: float) -> bool:
        """What video/list and video/query may return (video list docs: public posts only)."""
        return self.is_public and self.live_at(now)

    def counts_at(self, now: float) -> tuple[int, int, int, int]:
        """(views, likes, comments, shares) at `now`; frozen once deleted."""
        t = metric_instant(now)
        if self.deleted_at is not None:
            t = min(t, self.deleted_at)
        return self.curve.counts(t - self.create_time)


@dataclass(frozen=True, slots=True)
class UserStats:
    follower_count: int
    following_count: int
    likes_count: int
    video_count: int


@dataclass
class Creator:
    spec: CreatorSpec
    open_id: str
    union_id: str
    deep_link_code: str
    videos: list[Video]  # every video, ascending create_time
    followers: FollowerModel
    synthetic: bool = False
    # derived indexes, filled by _index()
    times: list[int] = field(default_factory=list)
    public: list[Video] = field(default_factory=list)
    public_times: list[int] = field(default_factory=list)
    public_deleted: list[Video] = field(default_factory=list)
    _stats: dict[float, UserStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.videos.sort(key=lambda v: v.create_time)
        self.times = [v.create_time for v in self.videos]
        self.public = [v for v in self.videos if v.is_public]
        self.public_times = [v.create_time for v in self.public]
        self.public_deleted = [v for v in self.public if v.deleted_at is not None]

    @property
    def username(self) -> str:
        return self.spec.username

    @property
    def display_name(self) -> str:
        return self.spec.display_name

    def public_video_count(self, now: float) -> int:
        """Public, posted, not-deleted videos at `now` (what video/list can page through)."""
        posted = bisect.bisect_right(self.public_times, now)
        gone = sum(1 for v in self.public_deleted if v.create_time <= now and v.deleted_at <= now)
        return posted - gone

    def page(self, now: float, before_s: int | None, limit: int) -> tuple[list[Video], bool]:
        """Newest-first listed videos with create_time < before_s (seconds), and has_more.

        Bisect on create_time, then walk back skipping the few deleted ones: O(log n + limit).
        """
        hi = bisect.bisect_right(self.public_times, now)
        if before_s is not None:
            hi = min(hi, bisect.bisect_left(self.public_times, before_s))
        out: list[Video] = []
        i = hi - 1
        while i >= 0 and len(out) < limit:
            v = self.public[i]
            if v.deleted_at is None or now < v.deleted_at:
                out.append(v)
            i -= 1
        while i >= 0:  # has_more: is any older listed video left?
            v = self.public[i]
            if v.deleted_at is None or now < v.deleted_at:
                return out, True
            i -= 1
        return out, False

    def stats(self, now: float) -> UserStats:
        """user/info stats, cached per simulated minute (10k videos take ~10 ms to sum)."""
        t = metric_instant(now)
        cached = self._stats.get(t)
        if cached is not None:
            return cached
        posted = bisect.bisect_right(self.times, t)
        public_views = 0.0
        likes = 0
        video_count = 0
        for v in self.videos[:posted]:
            end = t if v.deleted_at is None or t < v.deleted_at else v.deleted_at
            views = v.curve.views(end - v.create_time)
            if v.is_public:
                public_views += views  # deleted videos keep the followers they brought
            if end == t:  # still live
                likes += int(views * v.curve.like_ratio)
                if v.is_public:
                    video_count += 1
        result = UserStats(
            follower_count=self.followers.followers(t, public_views),
            following_count=self.spec.following_count,
            likes_count=likes,
            video_count=video_count,
        )
        if len(self._stats) > 16:
            self._stats.clear()
        self._stats[t] = result
        return result


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _truncate(text: str, limit: int = 150) -> str:
    """video object docs: title and video_description are at most 150 characters."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _post_times(spec: CreatorSpec, seed: int, anchor: float) -> list[int]:
    """Posting instants of the public schedule: gaps around the mean interval, evening-ish."""
    rng = random.Random(f"{seed}:{spec.username}:schedule")
    peak_hour = rng.uniform(15.0, 20.0)  # UTC; each creator has a habit
    first_day = math.floor((anchor - spec.history_days * DAY) / DAY)
    last_day = math.floor((anchor + spec.future_days * DAY) / DAY)
    day = first_day
    used: set[int] = set()
    while day < last_day:
        hour = (rng.gauss(peak_hour, 2.5)) % 24.0
        t = int(day * DAY + hour * 3600 + rng.randrange(60))
        while t in used:
            t += 1
        used.add(t)
        gap = round(rng.gauss(spec.mean_interval_days, spec.mean_interval_days * 0.35))
        day += max(0, gap)
    return sorted(used)


#: A synthetic creator's history spans at most this many days: up to this many videos they are
#: about a day apart (as before, so small benchmark creators keep their data); a larger one
#: posts several times a day instead of reaching back before 2000 (or 1970).
SYNTHETIC_SPAN_DAYS = 1_000


def _synthetic_times(username: str, seed: int, anchor: float, count: int) -> list[int]:
    """N distinct instants, ending a few hours before the anchor: about a day apart, or
    ``SYNTHETIC_SPAN_DAYS / N`` days apart when N is larger (50,000 videos: ~50 a day)."""
    rng = random.Random(f"{seed}:{username}:schedule")
    step = DAY if count <= SYNTHETIC_SPAN_DAYS else SYNTHETIC_SPAN_DAYS * DAY / count
    t = anchor - rng.uniform(3600.0, 20 * 3600.0)
    out: list[int] = []
    for _ in range(count):
        # Whole seconds, strictly decreasing: list cursors are post times
        # (https://developers.tiktok.com/doc/tiktok-api-v2-video-list).
        second = int(t) if not out else min(int(t), out[-1] - 1)
        out.append(second)
        t -= step * rng.uniform(0.5, 1.5)
    return sorted(out)


class _VideoFactory:
    """Makes the videos of one creator; one RNG per purpose keeps them independent."""

    def __init__(self, spec: CreatorSpec, seed: int, anchor: float) -> None:
        self.spec = spec
        self.anchor = anchor
        self._ids = random.Random(f"{seed}:{spec.username}:ids")
        self._text = random.Random(f"{seed}:{spec.username}:text")
        self._curve = random.Random(f"{seed}:{spec.username}:curves")
        self._shape = random.Random(f"{seed}:{spec.username}:shape")

    def video_id(self, create_time: int) -> str:
        # 19 digits starting with 7, like real ids; the middle digits follow the post time.
        return f"7{create_time % 10**9:09d}{self._ids.randrange(10**9):09d}"

    def caption(self) -> tuple[str, str]:
        pool = self.spec.text
        rng = self._text
        title = rng.choice(pool.templates).format(s=rng.choice(pool.subjects), n=rng.randint(2, 30))
        title = _truncate(title[:1].upper() + title[1:])
        tags = " ".join(rng.sample(pool.hashtags, k=rng.randint(2, 4)))
        return title, _truncate(f"{title} {tags}")

    def curve(self, create_time: int, multiplier: float | None, private: bool) -> VideoCurve:
        rng = self._curve
        years = (create_time - self.anchor) / YEAR
        median = self.spec.median_views * self.spec.yearly_growth**years
        if multiplier is not None:
            scale = median * multiplier
        else:
            scale = median * math.exp(self.spec.views_sigma * rng.gauss(0.0, 1.0))
            if rng.random() < self.spec.hit_rate:
                scale *= rng.uniform(20.0, 100.0)
        if private:
            scale *= 0.05  # only the creator and a few viewers see SELF_ONLY posts
        return VideoCurve(
            scale=max(scale, 3.0),
            tau_s=rng.uniform(8.0, 30.0) * 3600.0,
            tail=rng.uniform(0.05, 0.3),
            like_ratio=_clamp(rng.gauss(0.085, 0.025), 0.02, 0.2),
            comment_ratio=_clamp(rng.gauss(0.0035, 0.0015), 0.0003, 0.02),
            share_ratio=_clamp(rng.gauss(0.004, 0.002), 0.0002, 0.03),
        )

    def make(self, create_time: int, *, public: bool, multiplier: float | None = None) -> Video:
        rng = self._shape
        title, description = self.caption()
        shape = rng.random()
        width, height = (
            (1080, 1920) if shape < 0.85 else (720, 1280) if shape < 0.95 else (1920, 1080)
        )
        duration = int(_clamp(rng.lognormvariate(math.log(28.0), 0.6), 7.0, 180.0))
        return Video(
            id=self.video_id(create_time),
            username=self.spec.username,
            create_time=create_time,
            is_public=public,
            deleted_at=None,
            title=title,
            description=description,
            duration=duration,
            width=width,
            height=height,
            is_aigc=rng.random() < 0.03,
            curve=self.curve(create_time, multiplier, private=not public),
        )


def build_creator(
    spec: CreatorSpec, seed: int, anchor: float, synthetic_count: int | None = None
) -> Creator:
    factory = _VideoFactory(spec, seed, anchor)
    if synthetic_count is not None:
        times = _synthetic_times(spec.username, seed, anchor, synthetic_count)
    else:
        times = _post_times(spec, seed, anchor)
    before = [t for t in times if t < anchor]
    # Forced hits sit at fixed fractions of the pre-anchor history (outliers to find).
    hit_at = {
        before[int(len(before) * (0.35 + 0.3 * k))]: m
        for k, m in enumerate(spec.forced_hits)
        if before
    }
    videos = [factory.make(t, public=True, multiplier=hit_at.get(t)) for t in times]

    rng = random.Random(f"{seed}:{spec.username}:extras")
    used = set(times)
    start = anchor - spec.history_days * DAY
    for _ in range(spec.private_videos):
        t = int(rng.uniform(start, anchor))
        while t in used:
            t += 1
        used.add(t)
        videos.append(factory.make(t, public=False))
    # Deleted videos: half were removed before the anchor, half get removed after it, so
    # advancing the clock makes them vanish from list/query.
    candidates = [v for v in videos if v.is_public and v.create_time < anchor - 7 * DAY]
    for k, v in enumerate(rng.sample(candidates, k=min(spec.deleted_videos, len(candidates)))):
        if k % 2 == 0:
            v.deleted_at = min(anchor - 3600.0, v.create_time + rng.uniform(1.0, 30.0) * DAY)
        else:
            v.deleted_at = anchor + rng.uniform(1.0, 60.0) * DAY

    first = min((v.create_time for v in videos), default=int(anchor))
    followers = FollowerModel(
        base=spec.base_followers,
        organic_per_day=spec.organic_followers_per_day,
        per_view=spec.followers_per_view,
        since=float(first),
    )
    return Creator(
        spec=spec,
        open_id=open_id_for(seed, spec.username),
        union_id=union_id_for(seed, spec.username),
        deep_link_code=profile_short_code(seed, spec.username),
        videos=videos,
        followers=followers,
        synthetic=synthetic_count is not None,
    )


class World:
    """All creators, with lookups by username, open_id and video id."""

    def __init__(self, seed: int, anchor: float) -> None:
        self.seed = seed
        self.anchor = anchor
        self._lock = threading.Lock()
        self.creators: dict[str, Creator] = {}
        self._by_open_id: dict[str, Creator] = {}
        self._videos: dict[str, Video] = {}
        for spec in DEMO_CREATORS:
            self._register(build_creator(spec, seed, anchor))

    def _register(self, creator: Creator) -> None:
        self.creators[creator.username] = creator
        self._by_open_id[creator.open_id] = creator
        for v in creator.videos:
            self._videos[v.id] = v

    def creator(self, key: str) -> Creator | None:
        """By username (with or without @) or open_id."""
        return self._by_open_id.get(key) or self.creators.get(key.removeprefix("@"))

    def video(self, video_id: str) -> Video | None:
        return self._videos.get(video_id)

    def add_synthetic(self, username: str, display_name: str, count: int) -> Creator:
        with self._lock:
            existing = self.creators.get(username)
            if existing is not None:
                return existing
            creator = build_creator(
                synthetic_spec(username, display_name),
                self.seed,
                self.anchor,
                synthetic_count=count,
            )
            self._register(creator)
            return creator

    def add_posted(self, username: str, video: Video) -> bool:
        """Add a video published through the Content Posting API; False if already there.

        Its create_time is moved to the next free second (create_time is unique per creator:
        the video/list cursor is built on it)."""
        with self._lock:
            creator = self.creators[username]
            if video.id in self._videos:
                return False
            taken = set(creator.times)
            while video.create_time in taken:
                video.create_time += 1
            # A new Creator object swapped in whole: a request holding the old one keeps a
            # consistent snapshot (lists are never re-sorted in place under a reader).
            updated = replace(creator, videos=[*creator.videos, video], _stats={})
            self.creators[username] = updated
            self._by_open_id[updated.open_id] = updated
            self._videos[video.id] = video
            return True

    def ensure_synthetic(self, extras: Iterable[tuple[str, str, int]]) -> None:
        """Build the stored extra creators this process has not built yet."""
        for username, display_name, count in extras:
            if username not in self.creators:
                self.add_synthetic(username, display_name, count)
