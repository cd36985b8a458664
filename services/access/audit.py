"""The audit trail (``audit_events``, append-only by trigger) and the one permission check.

``authorize`` is the check every guarded service calls first; a refusal is itself audited.
``record`` writes what happened afterwards; ``audited`` does both around a block of work, which
is how a new action (export, publish, draft) is wired with one call.
Details never hold secrets: keys that name one are dropped and every value goes through
services.redaction before it is stored.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlite_utils

from services.access.roles import Actor, required_role
from services.clock import Clock, from_epoch, to_epoch, utc_now
from services.db import write_transaction
from services.errors import ReelboardError
from services.redaction import redact

log = logging.getLogger(__name__)

Outcome = Literal["ok", "refused", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "refused", "failed")
#: Actions that are audited although ACTIONS does not guard them.
SIGN_IN = "sign_in"
_SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "code",
    "state",
    "verifier",
    "key",
    "cookie",
    "authorization",
)
_ROLE_ARTICLE = {"viewer": "a viewer", "editor": "an editor", "admin": "an admin"}
_ACTION_WORDS = {
    "view": "open this page",
    "view_reports": "see reports",
    "sync": "sync accounts",
    "export": "export to Google Sheets",
    "publish": "publish videos",
    "draft": "send videos to drafts",
    "connect": "connect accounts",
    "grant_more": "ask creators for more permissions",
    "reconnect": "reconnect accounts",
    "disconnect": "disconnect accounts",
    "rotate_key": "rotate the encryption key",
    "view_audit": "see the audit trail",
}


class AccessDenied(ReelboardError):
    """The signed-in person's role does not allow this action (nothing was done)."""

    step = "access_denied"
    retry_safe = False

    def __init__(self, actor: Actor, action: str, needed: str):
        self.action, self.needed, self.role = action, needed, actor.role
        super().__init__(
            f"{actor.email} is {_ROLE_ARTICLE.get(actor.role, actor.role)} and may not "
            f"{_ACTION_WORDS.get(action, action)}: that needs the {needed} role or higher. "
            "Nothing was changed; ask an admin if you need it."
        )


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return "[nested]"
    if isinstance(value, Mapping):
        return {
            str(k): (
                "[redacted]"
                if any(w in str(k).lower() for w in _SECRET_WORDS)
                else _clean(v, depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_clean(v, depth + 1) for v in list(items)[:50]]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return redact(str(value))[:500]


def details_json(details: Mapping[str, Any] | None) -> str:
    """JSON of ``details`` with secret-named keys dropped and every text redacted."""
    return redact(json.dumps(_clean(dict(details or {})), ensure_ascii=False, sort_keys=True))


def _account_name(db: sqlite_utils.Database, open_id: str | None) -> str | None:
    if not open_id:
        return None
    try:
        row = db.execute(
            "SELECT display_name, username FROM accounts WHERE open_id = ?", [open_id]
        ).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    return row[0] or (f"@{row[1]}" if row[1] else None)


def record(
    db: sqlite_utils.Database,
    actor: Actor | None,
    action: str,
    *,
    open_id: str | None = None,
    outcome: Outcome,
    details: Mapping[str, Any] | None = None,
    clock: Clock = utc_now,
    email: str | None = None,
) -> None:
    """Append one audit row. ``actor=None`` with ``email`` is a refused stranger's sign-in."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
    who = actor.email if actor else (email or "anonymous").strip().lower()
    row = [
        to_epoch(clock()),
        redact(who)[:320],
        actor.role if actor else "none",
        action,
        open_id,
        _account_name(db, open_id),
        outcome,
        details_json(details),
    ]
    sql = (
        "INSERT INTO audit_events (at, actor_email, actor_role, action, open_id, "
        "account_name, outcome, details) VALUES (?,?,?,?,?,?,?,?)"
    )
    if db.conn.in_transaction:  # the caller's transaction: the row commits (or not) with it
        db.execute(sql, row)
    else:
        with write_transaction(db):
            db.execute(sql, row)


def record_sign_in(
    db: sqlite_utils.Database,
    actor: Actor | None,
    *,
    email: str,
    login_at: int | None,
    outcome: Outcome,
    details: Mapping[str, Any] | None = None,
    clock: Clock = utc_now,
) -> bool:
    """Audit a sign-in once, not once per browser tab: ``login_at`` (the ID token's ``iat``)
    identifies one sign-in across the sessions its cookie opens. Returns True if written."""
    who = email.strip().lower()
    if login_at is not None:
        seen = db.execute(
            "SELECT 1 FROM audit_events WHERE action = ? AND actor_email = ? AND outcome = ? "
            "AND json_extract(details, '$.login_at') = ? LIMIT 1",
            [SIGN_IN, who, outcome, login_at],
        ).fetchone()
        if seen:
            return False
    record(
        db,
        actor,
        SIGN_IN,
        outcome=outcome,
        email=who,
        details={**dict(details or {}), "login_at": login_at},
        clock=clock,
    )
    return True


def authorize(
    db: sqlite_utils.Database,
    actor: Actor,
    action: str,
    open_id: str | None = None,
    *,
    clock: Clock = utc_now,
) -> None:
    """Raise AccessDenied (after auditing the refusal) unless ``actor`` may do ``action``."""
    needed = required_role(action)
    if actor.can(action):
        return
    record(
        db,
        actor,
        action,
        open_id=open_id,
        outcome="refused",
        details={"needs": needed},
        clock=clock,
    )
    log.warning("refused %s for %s (%s)", action, actor.email, actor.role)
    raise AccessDenied(actor, action, needed)


@dataclass
class AuditedAction:
    """What ``audited`` yields: add to ``details`` (or set ``open_id``) while working."""

    details: dict[str, Any] = field(default_factory=dict)
    open_id: str | None = None
    outcome: Outcome = "ok"  # set "failed" for a handled failure that should not raise


@contextmanager
def audited(
    db: sqlite_utils.Database,
    actor: Actor,
    action: str,
    *,
    open_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    clock: Clock = utc_now,
) -> Iterator[AuditedAction]:
    """Authorize, run the block, record ``ok`` — or ``failed`` with the error, re-raised.

    Usage (one call wires an action)::

        with access.audited(db, actor, "export", details={"week": "2026-W48"}) as event:
            result = export_week(...)
            event.details["calls"] = result.calls
    """
    authorize(db, actor, action, open_id, clock=clock)
    event = AuditedAction(dict(details or {}), open_id)
    try:
        yield event
    except BaseException as exc:
        event.details["error"] = exc.step if isinstance(exc, ReelboardError) else type(exc).__name__
        if isinstance(exc, ReelboardError):
            event.details["message"] = exc.message
        _safe_record(db, actor, action, event, "failed", clock)
        raise
    _safe_record(db, actor, action, event, event.outcome, clock)


def _safe_record(db, actor, action, event: AuditedAction, outcome: Outcome, clock) -> None:
    try:
        record(
            db,
            actor,
            action,
            open_id=event.open_id,
            outcome=outcome,
            details=event.details,
            clock=clock,
        )
    except sqlite3.Error:  # the action happened; losing its audit row must not hide that
        log.exception("could not write the audit row for %s", action)


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    actor_email: str
    actor_role: str
    action: str
    open_id: str | None
    account_name: str | None
    outcome: str
    details: str


@dataclass(frozen=True)
class AuditFilter:
    people: Sequence[str] = ()
    open_ids: Sequence[str] = ()
    actions: Sequence[str] = ()
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC
    limit: int = 5000


def list_events(
    db: sqlite_utils.Database, actor: Actor, where: AuditFilter = AuditFilter()
) -> list[AuditEvent]:
    """Newest first. Admins only (checked here, not just by hiding the page)."""
    authorize(db, actor, "view_audit")
    clauses, args = [], []
    for column, values in (
        ("actor_email", where.people),
        ("open_id", where.open_ids),
        ("action", where.actions),
    ):
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if where.since is not None:
        clauses.append("at >= ?")
        args.append(to_epoch(where.since))
    if where.until is not None:
        clauses.append("at < ?")
        args.append(to_epoch(where.until))
    sql = (
        "SELECT id, at, actor_email, actor_role, action, open_id, account_name, outcome, "
        "details FROM audit_events"
        + (" WHERE " + " AND ".join(clauses) if clauses else "")
        + " ORDER BY at DESC, id DESC LIMIT ?"
    )
    args.append(max(1, min(int(where.limit), 100_000)))
    return [AuditEvent(r[0], from_epoch(r[1]), *r[2:]) for r in db.execute(sql, args)]


def filter_choices(db: sqlite_utils.Database, actor: Actor) -> dict[str, list[Any]]:
    """Distinct people, accounts (open_id, name) and actions present, for the page's filters."""
    authorize(db, actor, "view_audit")
    people = [
        r[0]
        for r in db.execute("SELECT DISTINCT actor_email FROM audit_events ORDER BY actor_email")
    ]
    accounts = [
        (r[0], r[1])
        for r in db.execute(
            "SELECT open_id, MAX(account_name) FROM audit_events WHERE open_id IS NOT NULL "
            "GROUP BY open_id ORDER BY 2, 1"
        )
    ]
    actions = [r[0] for r in db.execute("SELECT DISTINCT action FROM audit_events ORDER BY action")]
    return {"people": people, "accounts": accounts, "actions": actions}


_CSV_COLUMNS = (
    "when_utc",
    "who",
    "role",
    "action",
    "account_open_id",
    "account_name",
    "outcome",
    "details",
)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection (OWASP CSV Injection): quote leading formula characters.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def events_csv(events: Sequence[AuditEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    e.at.strftime("%Y-%m-%d %H:%M:%S"),
                    e.actor_email,
                    e.actor_role,
                    e.action,
                    e.open_id,
                    e.account_name,
                    e.outcome,
                    e.details,
                )
            ]
        )
    return out.getvalue().encode("utf-8")
