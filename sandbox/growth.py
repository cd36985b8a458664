"""Engagement curves: per-video counters and account followers as pure functions of time.

A video's views follow a saturating burst (most views in the first 24-72 h after posting) times a
slow logarithmic tail, so counters keep creeping up for months. Likes, comments and shares are
fixed per-video ratios of views, so every counter is monotone non-decreasing in time and two
sandboxes with the same seed agree to the unit. Counters are evaluated on whole simulated
minutes (see `metric_instant`), which makes results cacheable and repeatable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TAIL_UNIT_S = 7 * 86400.0  # the log tail counts in weeks since posting
_SATURATED = 40.0  # exp(-40) is below float resolution relative to 1


def metric_instant(now: float) -> float:
    """Counters move once per simulated minute (cache key and repeatability)."""
    return math.floor(now / 60.0) * 60.0


@dataclass(frozen=True, slots=True)
class VideoCurve:
    scale: float  # views at the end of the launch burst (before the tail)
    tau_s: float  # time constant of the burst, 8-30 h
    tail: float  # strength of the slow tail (0.05-0.3)
    like_ratio: float
    comment_ratio: float
    share_ratio: float

    def views(self, age_s: float) -> float:
        """Views `age_s` seconds after posting (0 before posting)."""
        if age_s <= 0:
            return 0.0
        x = age_s / self.tau_s
        burst = 1.0 if x > _SATURATED else -math.expm1(-x)
        return self.scale * burst * (1.0 + self.tail * math.log1p(age_s / TAIL_UNIT_S))

    def counts(self, age_s: float) -> tuple[int, int, int, int]:
        """(views, likes, comments, shares) as integers; each is monotone in age."""
        v = self.views(age_s)
        return (
            int(v),
            int(v * self.like_ratio),
            int(v * self.comment_ratio),
            int(v * self.share_ratio),
        )


@dataclass(frozen=True, slots=True)
class FollowerModel:
    base: int  # followers before the first post in the world
    organic_per_day: float  # steady discovery, independent of videos
    per_view: float  # conversion: followers gained per view of a public video
    since: float  # epoch seconds the organic term starts counting

    def followers(self, now: float, total_public_views: float) -> int:
        days = max(0.0, (now - self.since) / 86400.0)
        return int(self.base + self.organic_per_day * days + self.per_view * total_public_views)
