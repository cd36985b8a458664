"""Which accounts and period a person looks at: in the URL (shareable) and remembered per person.

The URL carries usernames, never open_ids (``?accounts=@luna,@jo&period=28d``): a link can be
shared inside the team without handing out TikTok's stable user ids. Values from the URL are
data typed by anyone: parsed against the connected accounts and a fixed grammar, bounded in
length, anything else ignored and reported.

The last choice is kept per signed-in person in ``view_preferences`` (local mode: the one local
user). Streamlit 1.67 cannot write cookies from Python and a browser-storage component would
answer only after the first render (a flash of the default view, and nothing AppTest can
check), so the server keeps it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import sqlite_utils

from services.db import write_transaction

#: Preset periods: URL value → days.
PRESET_DAYS = {"7d": 7, "28d": 28, "90d": 90}
MAX_DAYS = 366
MAX_URL_ACCOUNTS = 20
MAX_PARAM_CHARS = 600
_DAYS = re.compile(r"^([1-9]\d{0,2})d$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_USERNAME = re.compile(r"^@?([A-Za-z0-9._]{1,64})$")


@dataclass(frozen=True)
class PeriodChoice:
    """A preset (``days`` set, ``first``/``last`` None) or a custom range of days."""

    days: int | None = None
    first: date | None = None
    last: date | None = None

    def to_param(self) -> str:
        if self.days is not None:
            return f"{self.days}d"
        return f"{self.first:%Y-%m-%d}..{self.last:%Y-%m-%d}"


def parse_period(text: str | None, today: date) -> PeriodChoice | None:
    """``7d`` / ``28d`` / ``90d``, another ``Nd`` (the last N days, N ≤ 366) or
    ``YYYY-MM-DD..YYYY-MM-DD`` (not after today, at most 366 days); None for anything else."""
    text = (text or "").strip()[:MAX_PARAM_CHARS]
    if text in PRESET_DAYS:
        return PeriodChoice(days=PRESET_DAYS[text])
    found = _DAYS.match(text)
    if found:
        days = int(found.group(1))
        if days > MAX_DAYS:
            return None
        return PeriodChoice(first=today - timedelta(days=days - 1), last=today)
    found = _RANGE.match(text)
    if not found:
        return None
    try:
        first, last = (date.fromisoformat(g) for g in found.groups())
    except ValueError:
        return None
    if first > last or last > today or (last - first).days >= MAX_DAYS:
        return None
    return PeriodChoice(first=first, last=last)


def usernames_param(usernames: Sequence[str | None]) -> str:
    """``@luna,@jo``; accounts without a username stay out of the URL."""
    return ",".join(f"@{u}" for u in usernames if u)


def parse_accounts(text: str | None, by_username: Mapping[str, str]) -> tuple[list[str], int]:
    """(open_ids found, how many values were ignored) for ``@luna,@jo``.

    ``by_username`` maps lower-case usernames to open_ids. Unknown, malformed and repeated
    values are ignored (counted); more than ``MAX_URL_ACCOUNTS`` values are ignored too.
    """
    raw = (text or "")[:MAX_PARAM_CHARS]
    values = [v.strip() for v in raw.split(",") if v.strip()]
    ignored = 0 if len(text or "") <= MAX_PARAM_CHARS else 1
    found: list[str] = []
    for i, value in enumerate(values):
        match = _USERNAME.match(value)
        open_id = by_username.get(match.group(1).lower()) if match else None
        if i >= MAX_URL_ACCOUNTS or open_id is None:
            ignored += 1
        elif open_id not in found:
            found.append(open_id)
    return found, ignored


@dataclass(frozen=True)
class ViewPreference:
    accounts: list[str]
    known: list[str]
    period: str | None


def load_preference(db: sqlite_utils.Database, email: str) -> ViewPreference | None:
    row = db.execute(
        "SELECT accounts, known, period FROM view_preferences WHERE actor_email = ?", [email]
    ).fetchone()
    if row is None:
        return None
    try:
        accounts, known = json.loads(row[0]), json.loads(row[1])
    except ValueError:
        return None
    return ViewPreference([str(a) for a in accounts], [str(k) for k in known], row[2])


def save_preference(db: sqlite_utils.Database, email: str, pref: ViewPreference, now: int) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT INTO view_preferences (actor_email, accounts, known, period, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(actor_email) DO UPDATE SET "
            "accounts = excluded.accounts, known = excluded.known, period = excluded.period, "
            "updated_at = excluded.updated_at",
            [email, json.dumps(pref.accounts), json.dumps(pref.known), pref.period, now],
        )
