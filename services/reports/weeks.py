"""ISO weeks in the configured time zone: parse ``last`` / ``this`` / ``2026-W47``, bounds.

A report week is an ISO 8601 week: Monday 00:00 to the next Monday 00:00 *local time* in
``settings.timezone``, so it lasts 167 or 169 hours across a daylight-saving change. Its key is
``f"{iso_year}-W{week:02d}"`` from :meth:`datetime.date.isocalendar` — the ISO year, not the
calendar year (29 Dec 2025 is in ``2026-W01``; 2026 has 53 weeks, so 1 Jan 2027 is in
``2026-W53``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.analytics.metrics import Period, zone
from services.reports.errors import BadWeek

_KEY = re.compile(r"(?P<year>\d{4})-?W(?P<week>\d{1,2})", re.IGNORECASE)
#: The oldest week a report may ask for (TikTok launched in 2016; nothing earlier is stored).
MIN_YEAR = 2016


def weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always lies in the ISO year's last week."""
    return date(year, 12, 28).isocalendar().week


@dataclass(frozen=True, order=True)
class IsoWeek:
    """One ISO week, e.g. ``IsoWeek(2026, 47)`` = ``2026-W47`` (16–22 Nov 2026)."""

    year: int
    week: int

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9998 or not 1 <= self.week <= weeks_in_year(self.year):
            raise BadWeek(
                f"{self.year}-W{self.week:02d} does not exist: ISO year {self.year} has weeks "
                f"01 to {weeks_in_year(self.year) if 1 <= self.year <= 9998 else 52}."
            )

    @property
    def key(self) -> str:
        """``2026-W47``: the tab name in Sheets and the week column everywhere."""
        return f"{self.year}-W{self.week:02d}"

    def __str__(self) -> str:
        return self.key

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def bounds(self, tz: str) -> Period:
        """``[Monday 00:00, next Monday 00:00)`` local time in ``tz``, as Unix seconds."""
        zone_ = zone(tz)
        start = datetime.combine(self.monday, time(0), tzinfo=zone_)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=zone_)
        return Period(int(start.timestamp()), int(end.timestamp()))

    def previous(self) -> IsoWeek:
        return IsoWeek.containing(self.monday - timedelta(days=7))

    def next(self) -> IsoWeek:
        return IsoWeek.containing(self.monday + timedelta(days=7))

    def label(self) -> str:
        """``16–22 Nov 2026`` (or ``28 Dec 2026 – 3 Jan 2027`` across a year)."""
        first, last = self.monday, self.sunday
        if first.year != last.year:
            return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
        if first.month != last.month:
            return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
        return f"{first.day}–{last.day} {last:%b %Y}"

    @classmethod
    def containing(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def at(cls, moment: datetime, tz: str) -> IsoWeek:
        """The week that contains ``moment`` in ``tz``."""
        return cls.containing(moment.astimezone(zone(tz)).date())


def last_complete_week(now: datetime, tz: str) -> IsoWeek:
    """The week before the one running at ``now`` in ``tz`` (what Monday's report covers)."""
    return IsoWeek.at(now, tz).previous()


def parse_week(text: str, *, now: datetime | None = None, tz: str = "UTC") -> IsoWeek:
    """``last`` (the last complete week), ``this`` (the running one) or ``YYYY-Www``.

    Raises :class:`BadWeek` with a message that says what is accepted; a week that has not
    started yet at ``now`` is refused too (it has no data, and a cron typo should not export
    an empty tab).
    """
    now = now or datetime.now(UTC)
    raw = (text or "").strip()
    word = raw.lower()
    if word == "last":
        return last_complete_week(now, tz)
    if word == "this":
        return IsoWeek.at(now, tz)
    match = _KEY.fullmatch(raw)
    if match is None:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise BadWeek(
            f"{shown!r} is not a week. Use 'last' (the last complete week), 'this' (the week "
            "so far) or an ISO week such as 2026-W47 (ISO year, then W and the week number)."
        )
    year, week = int(match["year"]), int(match["week"])
    if year < MIN_YEAR:
        raise BadWeek(f"{year} is before any TikTok history: pick a week from {MIN_YEAR} on.")
    chosen = IsoWeek(year, week)
    if chosen > IsoWeek.at(now, tz):
        raise BadWeek(
            f"{chosen.key} has not started yet (this week is {IsoWeek.at(now, tz).key}): "
            "pick this week or an earlier one."
        )
    return chosen
