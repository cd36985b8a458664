"""Connected TikTok accounts: the connect flow, token refresh, reconnect and disconnect.

Connect (the architecture notes in README.md "Flows: Connect"; RFC 9700 (OAuth 2.0 Security BCP)
order): ``start_connect`` stores a one-time
state (hashed) and an encrypted PKCE verifier and returns TikTok's authorize URL;
``complete_connect`` validates the callback, consumes the state atomically, exchanges the code
exactly once, reads the profile the granted scopes allow, and upserts the account by open_id
with its tokens encrypted.

Refresh (the fault catalogue (tests/faults) R9, T1–T10): ``get_access_token`` refreshes ahead of
expiry once per
account even with concurrent callers — a per-account lock within the process and a lease row
(``refresh_lease_owner/until``, claimed in ``BEGIN IMMEDIATE``) across processes. The rotated
refresh token and the new access token are committed together before the new token is used.

No network call ever runs inside a write transaction, and no token reaches a log or a message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import sqlite_utils

from services.access import AccessDenied, Actor, audited, authorize, record
from services.clock import Clock, from_epoch, to_epoch, utc_now
from services.crypto import DecryptionError, KeyRing, UnknownKeyError
from services.db import write_transaction
from services.errors import ConfigError, ReelboardError, StorageError
from services.tiktok.client import TikTokClient, TokenGrant, build_authorize_url
from services.tiktok.errors import (
    OAuthError,
    TikTokAuthError,
    TikTokError,
    TikTokNetworkError,
    TikTokProtocolError,
    advice_for_oauth_error,
)
from services.tiktok.scopes import (
    BASE_SCOPE,
    LOGIN_KIT_SCOPES,
    FeatureStatus,
    feature_status,
    format_scopes,
    parse_scopes,
    user_fields_for,
)

log = logging.getLogger(__name__)

# RFC 9700 (OAuth 2.0 Security BCP): matches OAuth 2.1's maximum code lifetime.
STATE_TTL = timedelta(minutes=10)
# How long a used sign-in answer is remembered as "connected X" (only its hash and the open_id),
# so a reload, Back or the same link in another tab lands quietly instead of as an error.
COMPLETED_TTL = timedelta(days=1)
# the fault catalogue (tests/faults) C2: a TikTok code is ~100 chars; 2 kB is generous
MAX_PARAM_BYTES = 2048
CALLBACK_KEYS = ("code", "state", "scopes", "error", "error_description", "error_type")
LEASE_SECONDS = 120  # > one refresh: 4 connects of 5 s, their back-off (≤7 s) and a 30 s read
LEASE_POLL_SECONDS = 0.05
DEFAULT_MARGIN = 300  # refresh this many seconds before expiry (T1, T9: covers clock skew)

Purpose = Literal["connect", "grant_more", "reconnect"]
ConnectStep = Literal[
    "missing_parameters", "invalid_state", "access_denied", "token_exchange_failed",
    "user_info_failed", "storage_error", "wrong_user", "already_connected",
    "different_creator",
]
T = TypeVar("T")


# -- errors -------------------------------------------------------------------------------


class ConnectError(ReelboardError):
    """The connect callback failed at ``step``; the message says what happened and what to do.

    Never retry-safe: a sign-in answer (state and code) works once; the fix is a new connect.
    """

    step = "connect"
    retry_safe = False

    def __init__(self, step: ConnectStep, explanation: str, fix: str):
        self.explanation, self.fix = explanation, fix
        super().__init__(f"{explanation} {fix}", step=step, retry_safe=False)


class AlreadyConnected(ConnectError):
    """The sign-in answer was already used, by this person, to connect an account that is still
    connected: a reload, Back, or the same link opened again. Nothing to do; not a failure."""

    def __init__(self, account: Account):
        self.account = account
        super().__init__("already_connected", f"{account.label} is already connected.", "")


class DifferentCreator(ConnectError):
    """A grant-more or reconnect came back signed in as another creator than the card it
    started from. Nothing is stored yet: ``keep_pending_grant`` or ``discard_pending_grant``
    with ``pending_id`` decides (the grant waits, encrypted, for 10 minutes at most)."""

    def __init__(self, pending_id: str, purpose: str, expected: str, returned: str,
                 returned_is_connected: bool):
        self.pending_id, self.purpose = pending_id, purpose
        self.expected, self.returned = expected, returned
        self.returned_is_connected = returned_is_connected
        super().__init__(
            "different_creator",
            f"You started from {expected}, but TikTok signed in as {returned}, so "
            f"{expected} is unchanged.",
            "Keep it as a separate account, or discard it.")


class AccountError(ReelboardError):
    step = "account"


class AccountNotFound(AccountError):
    step = "account_not_found"


class AccountNeedsReconnect(AccountError):
    """The account cannot call TikTok until someone reconnects it (status shown on every page)."""

    step = "needs_reconnect"


class RefreshBusy(AccountError):
    """Another process kept the refresh lease longer than expected."""

    step = "refresh_busy"
    retry_safe = True


# -- model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A connected account as the pages see it. Deliberately has no token fields."""

    open_id: str
    display_name: str
    username: str | None
    avatar_url: str | None
    is_verified: bool | None
    follower_count: int | None
    union_id: str | None
    bio_description: str | None
    profile_deep_link: str | None
    granted_scopes: frozenset[str]
    status: str  # active | needs_reconnect | disconnected
    status_reason: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    last_refresh_at: datetime | None
    connected_at: datetime
    updated_at: datetime
    #: When ``follower_count`` was read (at connect or by the newest sync).
    follower_count_at: datetime | None = None
    #: Set only on the result of complete_connect: requested scopes the creator did not grant.
    declined_scopes: frozenset[str] = frozenset()

    @property
    def features(self) -> dict[str, FeatureStatus]:
        """Which features work with the granted scopes, and why not (the fault catalogue
        (tests/faults) R6, C8).
        """
        return feature_status(self.granted_scopes)

    @property
    def label(self) -> str:
        if self.username:
            return f"{self.display_name} (@{self.username})" if self.display_name else \
                f"@{self.username}"
        return self.display_name or self.open_id


_ACCOUNT_COLUMNS = (
    "open_id, display_name, username, avatar_url, is_verified, follower_count, union_id, "
    "bio_description, profile_deep_link, granted_scopes, status, status_reason, "
    "access_expires_at, refresh_expires_at, last_refresh_at, connected_at, updated_at, "
    "follower_count_at"
)


def _epoch_or_none(value: Any) -> datetime | None:
    return from_epoch(value) if value is not None else None


def _account_from_row(row: Sequence[Any]) -> Account:
    (open_id, display_name, username, avatar_url, is_verified, follower_count, union_id, bio,
     deep_link, scopes, status, reason, access_exp, refresh_exp, last_refresh, connected,
     updated, followers_at) = row
    return Account(
        open_id=open_id, display_name=display_name or "", username=username,
        avatar_url=avatar_url, is_verified=None if is_verified is None else bool(is_verified),
        follower_count=follower_count, union_id=union_id, bio_description=bio,
        profile_deep_link=deep_link, granted_scopes=parse_scopes(scopes), status=status,
        status_reason=reason, access_expires_at=_epoch_or_none(access_exp),
        refresh_expires_at=_epoch_or_none(refresh_exp),
        last_refresh_at=_epoch_or_none(last_refresh), connected_at=from_epoch(connected),
        updated_at=from_epoch(updated), follower_count_at=_epoch_or_none(followers_at),
    )


def list_accounts(db: sqlite_utils.Database) -> list[Account]:
    """Every account ever connected (disconnected ones keep their synced history)."""
    rows = db.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts "
        "ORDER BY status = 'disconnected', lower(display_name), open_id"
    ).fetchall()
    return [_account_from_row(r) for r in rows]


def get_account(db: sqlite_utils.Database, open_id: str) -> Account | None:
    row = db.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE open_id = ?", [open_id]
    ).fetchone()
    return _account_from_row(row) if row else None


# -- connect ------------------------------------------------------------------------------


def _hash_state(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


def _pkce_pair() -> tuple[str, str]:
    # https://developers.tiktok.com/doc/login-kit-web: verifier 43–128 chars of [A-Za-z0-9-._~];
    # challenge = hex(sha256)
    # (TikTok's S256 is hex, not RFC 7636 base64url). Sent on web too: harmless where ignored
    # (RFC 9700 (OAuth 2.0 Security BCP)) and protective where enforced.
    verifier = secrets.token_urlsafe(48)  # 64 chars, 384 bits
    return verifier, hashlib.sha256(verifier.encode("ascii")).hexdigest()


def start_connect(
    db: sqlite_utils.Database,
    settings,
    keyring: KeyRing,
    *,
    actor: Actor,
    scopes: Iterable[str],
    purpose: Purpose = "connect",
    target_open_id: str | None = None,
    add_another: bool = False,
    clock: Clock = utc_now,
) -> str:
    """Store a one-time state and return the TikTok authorize URL to send the browser to.

    The state (256 bits from ``secrets``) is kept only as its SHA-256 hash; the PKCE verifier is
    stored encrypted; both expire after 10 minutes (the fault catalogue (tests/faults) R1, R2,
    §1.4). The pending flow
    remembers who started it (``actor.email``): only that person may complete it (C5).
    ``purpose`` is also the action checked: connect, grant_more and reconnect are admin work.
    """
    if purpose not in ("connect", "grant_more", "reconnect"):
        raise ValueError(f"unknown purpose {purpose!r}")
    if purpose != "connect" and not target_open_id:
        raise ValueError(f"purpose {purpose!r} needs target_open_id")
    wanted = {BASE_SCOPE, *scopes}  # §9: user.info.basic is always part of a Login Kit grant
    unknown = sorted(s for s in wanted if s not in LOGIN_KIT_SCOPES)
    if unknown:
        raise ValueError(f"not Login Kit v2 scopes: {', '.join(unknown)} (https://developers.tiktok.com/doc/tiktok-api-scopes)")
    authorize(db, actor, purpose, target_open_id, clock=clock)
    if not settings.auth_url:
        raise ConfigError(["The TikTok authorize URL is not set (start Reelboard through "
                           "services.runtime so the sandbox or live endpoints are filled in)."])

    state = secrets.token_urlsafe(32)
    state_hash = _hash_state(state)
    verifier, challenge = _pkce_pair()
    now = clock()
    verifier_enc = keyring.encrypt(
        verifier, table="oauth_states", column="code_verifier_enc", row_key=state_hash
    )
    with write_transaction(db):
        _purge_states(db, now)
        has_accounts = db.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None
        db.execute(
            "INSERT INTO oauth_states (state_hash, code_verifier_enc, requested_scopes, purpose, "
            "target_open_id, redirect_uri, created_at, expires_at, dashboard_user) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [state_hash, verifier_enc, format_scopes(wanted), purpose, target_open_id,
             settings.redirect_uri, to_epoch(now), to_epoch(now + STATE_TTL), actor.email],
        )
    # https://developers.tiktok.com/doc/login-kit-web: with auto-auth TikTok silently re-authorizes
    # whoever is logged in,
    # so adding another account (or granting more to a specific one) must show the page.
    return build_authorize_url(
        auth_url=settings.auth_url,
        client_key=settings.client_key,
        scopes=wanted,
        state=state,
        redirect_uri=settings.redirect_uri,
        code_challenge=challenge,
        disable_auto_auth=add_another or has_accounts,
    )


def _normalise_params(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """Values as lists of str; anything odd (oversized, non-text) is rejected, not reflected."""
    result: dict[str, list[str]] = {}
    for key, value in params.items():
        values = list(value) if isinstance(value, list | tuple) else [value]
        for item in values:
            if not isinstance(item, str):
                raise ConnectError("missing_parameters",
                                   "TikTok's answer contains a value Reelboard cannot read.",
                                   "Start connecting again from the Accounts page.")
            if len(item.encode("utf-8", "surrogatepass")) > MAX_PARAM_BYTES:
                raise ConnectError(
                    "missing_parameters",
                    "TikTok's answer contains a parameter longer than 2 kB, which a genuine "
                    "answer never does, so it was ignored.",
                    "Start connecting again from the Accounts page.")
        result[str(key)] = values
    return result


def _single(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise ConnectError(
            "missing_parameters",
            f"TikTok's answer repeats the '{key}' parameter, so Reelboard cannot tell which "
            "value is genuine; nothing was saved.",
            "Start connecting again from the Accounts page.")
    return values[0]


@dataclass(frozen=True)
class _PendingFlow:
    state_hash: str
    code_verifier: str | None
    requested_scopes: frozenset[str]
    purpose: str
    target_open_id: str | None
    redirect_uri: str
    dashboard_user: str | None = None


def _consume_state(
    db: sqlite_utils.Database, keyring: KeyRing, state: str, clock: Clock,
    actor_email: str = "",
) -> _PendingFlow:
    """the fault catalogue (tests/faults) R8: one-time use — exactly one row may change, or the
    callback is refused.
    """
    state_hash = _hash_state(state)
    now = to_epoch(clock())
    with write_transaction(db):
        changed = db.execute(
            "UPDATE oauth_states SET consumed_at = ? "
            "WHERE state_hash = ? AND consumed_at IS NULL AND expires_at > ?",
            [now, state_hash, now],
        ).rowcount
        row = db.execute(
            "SELECT state_hash, code_verifier_enc, requested_scopes, purpose, target_open_id, "
            "redirect_uri, consumed_at, expires_at, dashboard_user, completed_open_id "
            "FROM oauth_states "
            "WHERE state_hash = ?",
            [state_hash],
        ).fetchone()
        if changed == 1:
            # The verifier is needed once, right now; keep no ciphertext of it afterwards.
            db.execute("UPDATE oauth_states SET code_verifier_enc = NULL WHERE state_hash = ?",
                       [state_hash])
    if changed != 1 or row is None or not hmac.compare_digest(row[0], state_hash):
        fix = "Start connecting again from the Accounts page."
        if row is None:
            raise ConnectError("invalid_state",
                               "This sign-in answer was not started from this Reelboard (or it "
                               "expired and was cleaned up), so it was refused.", fix)
        if row[6] is not None and row[9] and hmac.compare_digest(
            (row[8] or "").encode(), actor_email.encode()
        ):
            # Used by this same person to connect an account: a reload during the callback,
            # Back after connecting, or the link opened in another tab. Still one exchange.
            account = get_account(db, row[9])
            if account is not None and account.status != "disconnected":
                raise AlreadyConnected(account)
        if row[6] is not None:
            raise ConnectError("invalid_state",
                               "This sign-in link was already used; each one works only once.",
                               fix)
        raise ConnectError("invalid_state",
                           "This sign-in link expired: links last 10 minutes.", fix)
    verifier = None
    if row[1]:
        try:
            verifier = keyring.decrypt(row[1], table="oauth_states", column="code_verifier_enc",
                                       row_key=state_hash)
        except DecryptionError:
            raise ConnectError("invalid_state",
                               "The stored sign-in attempt failed its integrity check.",
                               "Start connecting again from the Accounts page.") from None
    return _PendingFlow(state_hash, verifier, parse_scopes(row[2]), row[3], row[4], row[5],
                        row[8])


def complete_connect(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    params: Mapping[str, Any],
    *,
    actor: Actor,
    redirect_uri: str,
    clock: Clock = utc_now,
) -> Account:
    """Handle TikTok's redirect back to the Accounts page (RFC 9700 (OAuth 2.0 Security BCP) steps
    1–7).

    ``params`` maps each query key to all its values (``st.query_params.get_all``), so repeated
    keys are seen. Raises ConnectError whose ``step`` says where it failed; on any failure
    nothing is stored. The page clears the query string afterwards either way (step 8).
    ``actor`` is whoever is signed in to this session: it must be the person who started the
    flow (the fault catalogue (tests/faults) C5) and still hold the role for it. Every outcome is
    audited.
    """
    seen: dict[str, Any] = {}
    try:
        account = _complete_connect(db, client, keyring, params, actor=actor,
                                    redirect_uri=redirect_uri, clock=clock, seen=seen)
    except (AccessDenied, AlreadyConnected):
        raise  # audited by authorize(); already connected is no new action
    except ConnectError as exc:
        _audit_quietly(db, actor, seen.get("purpose", "connect"), seen.get("target"),
                       "refused" if exc.step == "wrong_user" else "failed",
                       {"step": exc.step}, clock)
        raise
    _audit_quietly(db, actor, seen.get("purpose", "connect"), account.open_id, "ok",
                   {"granted": sorted(account.granted_scopes),
                    "declined": sorted(account.declined_scopes)}, clock)
    return account


def _audit_quietly(db, actor, action, open_id, outcome, details, clock) -> None:
    try:
        record(db, actor, action, open_id=open_id, outcome=outcome, details=details,
               clock=clock)
    except (sqlite3.Error, StorageError):  # the callback's own outcome matters more
        log.exception("could not write the audit row for %s", action)


def _complete_connect(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    params: Mapping[str, Any],
    *,
    actor: Actor,
    redirect_uri: str,
    clock: Clock,
    seen: dict[str, Any],
) -> Account:
    fix_again = "Start connecting again from the Accounts page."
    # 1. Parse: reject oversized, duplicated, missing, and code+error together (C1, C2, C6).
    values = _normalise_params(params)
    fields = {key: _single(values, key) for key in CALLBACK_KEYS}
    state, code, error = fields["state"], fields["code"], fields["error"]
    if not state:
        raise ConnectError("missing_parameters",
                           "TikTok's answer has no state, so Reelboard cannot tell that this "
                           "browser started it; it was refused.", fix_again)
    if code and error:
        raise ConnectError("missing_parameters",
                           "TikTok's answer contains both a sign-in code and an error, so it is "
                           "ambiguous and was refused.", fix_again)
    if not code and not error:
        raise ConnectError("missing_parameters",
                           "TikTok's answer has neither a sign-in code nor an error.", fix_again)
    code = code or ""
    if "\x00" in state or "\x00" in code:
        raise ConnectError("missing_parameters",
                           "TikTok's answer contains characters a genuine answer never has.",
                           fix_again)

    # 2. Consume the state atomically (R8); an error callback still uses it up (C7).
    try:
        flow = _consume_state(db, keyring, state, clock, actor.email)
    except (sqlite3.Error, StorageError) as exc:
        raise ConnectError("storage_error",
                           "The local cache could not be read or written (disk full or the "
                           "database is busy); nothing was connected.",
                           "Check free disk space, then connect again.") from exc
    seen.update(purpose=flow.purpose, target=flow.target_open_id)
    # the fault catalogue (tests/faults) C5: the answer must come back to the person who asked for
    # it. A link
    # finished in someone else's session (a forwarded or planted link) is refused; the state
    # is used up either way, so it cannot be replayed.
    if not hmac.compare_digest((flow.dashboard_user or "").encode(), actor.email.encode()):
        raise ConnectError(
            "wrong_user",
            "This TikTok authorization was started by another Reelboard user, so it cannot be "
            "completed in your session; no account was connected or changed.",
            "If you meant to connect an account, start again from the Accounts page yourself.")
    authorize(db, actor, flow.purpose, flow.target_open_id, clock=clock)
    if redirect_uri != flow.redirect_uri:
        log.warning("redirect URI changed since the connect started; using the one sent then")

    # 3. TikTok reported an error (the user cancelled, or the app is not allowed).
    if error:
        advice = advice_for_oauth_error(error)
        raise ConnectError("access_denied", advice.explanation,
                           advice.fix if error != "access_denied" else
                           "Nothing was connected. Start again and approve the permissions if "
                           "you want to connect this account.")

    # 4–5. Exchange the code exactly once (R7); the client validates the answer (C9–C11).
    try:
        grant = client.exchange_code(
            code, redirect_uri=flow.redirect_uri, code_verifier=flow.code_verifier
        )
    except TikTokNetworkError as exc:
        raise ConnectError(
            "token_exchange_failed",
            "The connection to TikTok failed while exchanging the sign-in code. A code works "
            "only once, so Reelboard does not resend it; nothing was saved.",
            fix_again) from exc
    except OAuthError as exc:
        fix = exc.fix if exc.error in ("invalid_client", "invalid_request") else fix_again
        raise ConnectError("token_exchange_failed",
                           f"TikTok did not accept the sign-in code: {exc.explanation}",
                           fix) from exc
    except TikTokError as exc:
        raise ConnectError("token_exchange_failed",
                           f"TikTok did not complete the sign-in: {exc.explanation} Nothing was "
                           "saved.", fix_again) from exc

    # 6. What was granted may be less than requested (R6, C8): read only what is allowed.
    granted = grant.scopes or frozenset()
    profile: dict[str, Any] = {}
    user_fields = user_fields_for(granted)
    if user_fields:
        try:
            profile = client.user_info(grant.access_token, user_fields)
        except TikTokError as exc:
            raise ConnectError("user_info_failed",
                               f"The account was authorized but its profile could not be read: "
                               f"{exc.explanation} Nothing was saved.", fix_again) from exc
        if profile.get("open_id") not in (None, grant.open_id):
            raise ConnectError("user_info_failed",
                               "TikTok returned the profile of a different account than the one "
                               "that signed in; nothing was saved.", fix_again)
    if flow.target_open_id and flow.target_open_id != grant.open_id:
        # Grant more / reconnect on one card, but TikTok signed in as someone else (the consent
        # page offers whoever is logged in to TikTok): ask before storing anything.
        _hold_pending(db, keyring, flow.state_hash, grant, profile, clock)
        expected = get_account(db, flow.target_open_id)
        returned = get_account(db, grant.open_id)
        raise DifferentCreator(
            flow.state_hash, flow.purpose,
            expected.label if expected else "the account you started from",
            _profile_label(profile) if returned is None else returned.label,
            returned is not None and returned.status != "disconnected")

    # 7. Upsert by open_id with the tokens encrypted (C12, the token-storage design (README, 'Tokens
    # at rest')).
    try:
        _upsert_account(db, keyring, grant, profile, clock)
    except (sqlite3.Error, StorageError) as exc:
        raise ConnectError("storage_error",
                           "The account was authorized but could not be saved in the local "
                           "cache (disk full or database locked).",
                           "Check free disk space, then connect again.") from exc
    _mark_completed(db, flow.state_hash, grant.open_id, clock)
    account = get_account(db, grant.open_id)
    if account is None:  # only if another process deleted it in between
        raise ConnectError("storage_error", "The account vanished right after it was saved.",
                           fix_again)
    return replace(account, declined_scopes=frozenset(flow.requested_scopes - granted))


def _mark_completed(db: sqlite_utils.Database, state_hash: str, open_id: str,
                    clock: Clock) -> None:
    """Remember which account this used answer connected (for a quiet "already connected")."""
    try:
        with write_transaction(db):
            db.execute(
                "UPDATE oauth_states SET completed_open_id = ?, pending_grant_enc = NULL, "
                "expires_at = max(expires_at, ?) WHERE state_hash = ?",
                [open_id, to_epoch(clock() + COMPLETED_TTL), state_hash],
            )
    except (sqlite3.Error, StorageError):  # the connect itself succeeded; only the note is lost
        log.exception("could not note the completed connect")


def _profile_label(profile: Mapping[str, Any]) -> str:
    name, username = _text(profile.get("display_name")), _text(profile.get("username"))
    if username:
        return f"{name} (@{username})" if name else f"@{username}"
    return name or "another TikTok account"


# -- a grant for a different creator: keep or discard ---------------------------------------


def _hold_pending(db: sqlite_utils.Database, keyring: KeyRing, state_hash: str,
                  grant: TokenGrant, profile: Mapping[str, Any], clock: Clock) -> None:
    blob = json.dumps({
        "access_token": grant.access_token, "refresh_token": grant.refresh_token,
        "open_id": grant.open_id, "scopes": sorted(grant.scopes or ()),
        "expires_in": grant.expires_in, "refresh_expires_in": grant.refresh_expires_in,
        "profile": dict(profile),
    })
    enc = keyring.encrypt(blob, table="oauth_states", column="pending_grant_enc",
                          row_key=state_hash)
    with write_transaction(db):
        db.execute("UPDATE oauth_states SET pending_grant_enc = ?, expires_at = ? "
                   "WHERE state_hash = ?",
                   [enc, to_epoch(clock() + STATE_TTL), state_hash])


def _take_pending(db: sqlite_utils.Database, keyring: KeyRing, pending_id: str, actor: Actor,
                  clock: Clock) -> tuple[TokenGrant, dict[str, Any]]:
    """Remove the held grant (whatever happens next, it is used once) and return it."""
    gone = AccountError("That choice expired (it waits 10 minutes) or was already made; "
                        "nothing was stored. Connect again from the Accounts page.")
    with write_transaction(db):
        row = db.execute(
            "SELECT pending_grant_enc, dashboard_user FROM oauth_states "
            "WHERE state_hash = ? AND expires_at > ?", [pending_id, to_epoch(clock())]
        ).fetchone()
        if row is None or not row[0]:
            raise gone
        if not hmac.compare_digest((row[1] or "").encode(), actor.email.encode()):
            raise ConnectError("wrong_user", "This choice belongs to whoever started the "
                               "connect; it cannot be made from another session.",
                               "Nothing was changed.")
        db.execute("UPDATE oauth_states SET pending_grant_enc = NULL WHERE state_hash = ?",
                   [pending_id])
    try:
        data = json.loads(keyring.decrypt(row[0], table="oauth_states",
                                          column="pending_grant_enc", row_key=pending_id))
    except DecryptionError:
        raise gone from None
    grant = TokenGrant(access_token=data["access_token"], refresh_token=data["refresh_token"],
                       open_id=data["open_id"], scopes=frozenset(data["scopes"]),
                       expires_in=data["expires_in"],
                       refresh_expires_in=data["refresh_expires_in"])
    return grant, data["profile"]


def keep_pending_grant(db: sqlite_utils.Database, keyring: KeyRing, pending_id: str, *,
                       actor: Actor, clock: Clock = utc_now) -> Account:
    """Store a grant that came back for a different creator as that creator's account."""
    authorize(db, actor, "connect", None, clock=clock)
    grant, profile = _take_pending(db, keyring, pending_id, actor, clock)
    with audited(db, actor, "connect", open_id=grant.open_id, clock=clock) as event:
        _upsert_account(db, keyring, grant, profile, clock)
        event.details["kept_other_creator"] = True
    _mark_completed(db, pending_id, grant.open_id, clock)
    account = get_account(db, grant.open_id)
    if account is None:
        raise AccountNotFound("The account vanished right after it was saved.")
    return account


def discard_pending_grant(db: sqlite_utils.Database, client: TikTokClient, keyring: KeyRing,
                          pending_id: str, *, actor: Actor, clock: Clock = utc_now) -> str:
    """Drop a grant that came back for a different creator; returns what happened, in words.

    A creator Reelboard does not hold is revoked at TikTok (nothing stays behind). A creator
    that is already connected is not: TikTok's revoke ends the whole authorization, which
    would disconnect that account too
    (https://developers.tiktok.com/doc/oauth-user-access-token-management).
    """
    authorize(db, actor, "connect", None, clock=clock)
    grant, profile = _take_pending(db, keyring, pending_id, actor, clock)
    existing = get_account(db, grant.open_id)
    name = existing.label if existing else _profile_label(profile)
    with audited(db, actor, "connect", open_id=grant.open_id, clock=clock) as event:
        event.details["discarded_other_creator"] = True
        if existing is not None and existing.status != "disconnected":
            return (f"Discarded: nothing was stored. {name} stays connected as it was.")
        try:
            client.revoke(grant.access_token)
        except TikTokError as exc:
            event.details["revoked_at_tiktok"] = False
            return (f"Discarded: nothing was stored, but TikTok did not confirm removing the "
                    f"permission {name} just gave ({exc.explanation}). {name} can remove "
                    "Reelboard in the TikTok app under Settings and privacy > Security > "
                    "Apps and services.")
        event.details["revoked_at_tiktok"] = True
    return f"Discarded: nothing was stored and TikTok removed the permission {name} just gave."


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _expiry(now: datetime, seconds: int | None) -> int | None:
    # https://developers.tiktok.com/doc/oauth-user-access-token-management: never hard-code
    # lifetimes; TikTok's answer says them (T10).
    return to_epoch(now + timedelta(seconds=seconds)) if seconds is not None else None


def _upsert_account(
    db: sqlite_utils.Database,
    keyring: KeyRing,
    grant: TokenGrant,
    profile: Mapping[str, Any],
    clock: Clock,
) -> None:
    open_id = grant.open_id
    now = clock()
    access_enc = keyring.encrypt(grant.access_token, table="accounts",
                                 column="access_token_enc", row_key=open_id)
    refresh_enc = keyring.encrypt(grant.refresh_token, table="accounts",
                                  column="refresh_token_enc", row_key=open_id)
    verified = profile.get("is_verified")
    values = {
        "open_id": open_id,
        "union_id": _text(profile.get("union_id")),
        "display_name": _text(profile.get("display_name")) or "",
        "username": _text(profile.get("username")),
        "avatar_url": _text(profile.get("avatar_url")),
        "bio_description": _text(profile.get("bio_description")),
        "profile_deep_link": _text(profile.get("profile_deep_link")),
        "is_verified": int(verified) if isinstance(verified, bool) else None,
        "follower_count": _count(profile.get("follower_count")),
        "follower_count_at": (to_epoch(now) if _count(profile.get("follower_count")) is not None
                              else None),
        "granted_scopes": format_scopes(grant.scopes or ()),
        "access_token_enc": access_enc,
        "refresh_token_enc": refresh_enc,
        "access_expires_at": _expiry(now, grant.expires_in),
        "refresh_expires_at": _expiry(now, grant.refresh_expires_in),
        "now": to_epoch(now),
    }
    with write_transaction(db):
        # Profile fields not fetched this time (scope not granted) keep their last value.
        db.execute(
            """
            INSERT INTO accounts (open_id, union_id, display_name, username, avatar_url,
                bio_description, profile_deep_link, is_verified, follower_count,
                follower_count_at, granted_scopes, status, status_reason, access_token_enc,
                refresh_token_enc, access_expires_at, refresh_expires_at, connected_at,
                updated_at)
            VALUES (:open_id, :union_id, :display_name, :username, :avatar_url,
                :bio_description, :profile_deep_link, :is_verified, :follower_count,
                :follower_count_at, :granted_scopes, 'active', NULL, :access_token_enc,
                :refresh_token_enc, :access_expires_at, :refresh_expires_at, :now, :now)
            ON CONFLICT(open_id) DO UPDATE SET
                union_id = coalesce(excluded.union_id, union_id),
                display_name = CASE WHEN excluded.display_name != '' THEN excluded.display_name
                                    ELSE display_name END,
                username = coalesce(excluded.username, username),
                avatar_url = coalesce(excluded.avatar_url, avatar_url),
                bio_description = coalesce(excluded.bio_description, bio_description),
                profile_deep_link = coalesce(excluded.profile_deep_link, profile_deep_link),
                is_verified = coalesce(excluded.is_verified, is_verified),
                follower_count = coalesce(excluded.follower_count, follower_count),
                follower_count_at = coalesce(excluded.follower_count_at, follower_count_at),
                granted_scopes = excluded.granted_scopes,
                status = 'active',
                status_reason = NULL,
                access_token_enc = excluded.access_token_enc,
                refresh_token_enc = excluded.refresh_token_enc,
                access_expires_at = excluded.access_expires_at,
                refresh_expires_at = excluded.refresh_expires_at,
                refresh_lease_owner = NULL,
                refresh_lease_until = NULL,
                updated_at = excluded.updated_at
            """,
            values,
        )


def purge_expired_states(db: sqlite_utils.Database, clock: Clock = utc_now) -> int:
    """Delete pending-flow rows past their expiry (RFC 9700 (OAuth 2.0 Security BCP)); returns how
    many.
    """
    with write_transaction(db):
        return _purge_states(db, clock())


def _purge_states(db: sqlite_utils.Database, now: datetime) -> int:
    return db.execute(
        "DELETE FROM oauth_states WHERE expires_at <= ?", [to_epoch(now)]
    ).rowcount


# -- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TokenRow:
    open_id: str
    status: str
    status_reason: str | None
    access_token_enc: str | None
    refresh_token_enc: str | None
    access_expires_at: int | None


def _token_row(db: sqlite_utils.Database, open_id: str) -> _TokenRow:
    row = db.execute(
        "SELECT open_id, status, status_reason, access_token_enc, refresh_token_enc, "
        "access_expires_at FROM accounts WHERE open_id = ?", [open_id]
    ).fetchone()
    if row is None:
        raise AccountNotFound(f"No connected account has the id {open_id!r}.")
    return _TokenRow(*row)


def _require_usable(row: _TokenRow) -> None:
    if row.status == "disconnected":
        raise AccountNeedsReconnect(
            "This account was disconnected; connect it again on the Accounts page to use it.",
            step="disconnected")
    if row.status != "active" or not row.access_token_enc or not row.refresh_token_enc:
        reason = row.status_reason or "Its authorization is no longer valid."
        raise AccountNeedsReconnect(f"{reason} Reconnect the account on the Accounts page.")


def _fresh(row: _TokenRow, clock: Clock, margin: float) -> bool:
    return (row.access_expires_at is not None
            and row.access_expires_at - margin > to_epoch(clock()))


_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _account_lock(db: sqlite_utils.Database, open_id: str) -> threading.Lock:
    """One lock per (database file, account) for every thread of this process."""
    path = db.execute("PRAGMA database_list").fetchone()[2] or f"memory:{id(db.conn)}"
    with _locks_guard:
        return _locks.setdefault((path, open_id), threading.Lock())


def _decrypt_column(
    db: sqlite_utils.Database, keyring: KeyRing, row: _TokenRow, column: str, clock: Clock
) -> str:
    envelope = getattr(row, column)
    try:
        return keyring.decrypt(envelope, table="accounts", column=column, row_key=row.open_id)
    except UnknownKeyError:
        # A key the installation lacks even after re-reading its source (the ring reloads on
        # an unknown key id, so a rotation by another process never lands here): a missing
        # key, not tampering; putting the key back fixes every account at once.
        raise
    except DecryptionError as exc:
        # the token-storage design (README, 'Tokens at rest') item 5, S10: only this account stops;
        # the ciphertext is kept.
        reason = ("Its stored tokens failed their integrity check (altered, copied from another "
                  "account, or restored from a different backup).")
        mark_needs_reconnect(db, row.open_id, reason, clock=clock)
        raise AccountNeedsReconnect(f"{reason} Reconnect the account on the Accounts page.",
                                    step="needs_reconnect") from exc


def _current(
    db: sqlite_utils.Database, keyring: KeyRing, row: _TokenRow, clock: Clock
) -> tuple[str, str]:
    """(access token, its ciphertext) of a row that _require_usable accepted."""
    envelope = row.access_token_enc
    if envelope is None:  # pragma: no cover - _require_usable refuses such rows
        raise AccountNeedsReconnect("No access token is stored; reconnect the account.")
    return _decrypt_column(db, keyring, row, "access_token_enc", clock), envelope


def get_access_token(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    open_id: str,
    *,
    clock: Clock = utc_now,
    margin: float = DEFAULT_MARGIN,
    force_refresh: bool = False,
) -> str:
    """A usable access token for ``open_id``, refreshed first if it is within ``margin``
    seconds of expiry (or ``force_refresh``). Raises AccountNeedsReconnect, ConfigError (the
    client key/secret is wrong), RefreshBusy, or a TikTokError for transient failures."""
    return _access_token(db, client, keyring, open_id, clock=clock, margin=margin,
                         force_refresh=force_refresh)[0]


def _access_token(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    open_id: str,
    *,
    clock: Clock,
    margin: float,
    force_refresh: bool,
    rejected: str | None = None,
) -> tuple[str, str]:
    """(token, its ciphertext). ``rejected``: the ciphertext of a token TikTok refused; a
    refresh is skipped if someone already replaced it."""
    row = _token_row(db, open_id)
    _require_usable(row)
    if not force_refresh and _fresh(row, clock, margin):
        return _current(db, keyring, row, clock)
    seen = rejected or row.access_token_enc
    lock = _account_lock(db, open_id)
    if not lock.acquire(timeout=LEASE_SECONDS + 30):
        raise RefreshBusy("Another refresh of this account is taking too long; try again.")
    try:
        return _refresh_locked(db, client, keyring, open_id, clock=clock, margin=margin,
                               force_refresh=force_refresh, seen=seen)
    finally:
        lock.release()


def _done_by_someone_else(
    row: _TokenRow, *, seen: str | None, force_refresh: bool, clock: Clock, margin: float
) -> bool:
    if force_refresh:
        return row.access_token_enc != seen and _fresh(row, clock, 0)
    return _fresh(row, clock, margin)


def _refresh_locked(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    open_id: str,
    *,
    clock: Clock,
    margin: float,
    force_refresh: bool,
    seen: str | None,
) -> tuple[str, str]:
    owner = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{secrets.token_hex(4)}"
    deadline = time.monotonic() + LEASE_SECONDS + 30
    while True:  # wait for another process's lease, re-reading the row each time
        row = _token_row(db, open_id)
        _require_usable(row)
        if _done_by_someone_else(row, seen=seen, force_refresh=force_refresh, clock=clock,
                                 margin=margin):
            return _current(db, keyring, row, clock)
        if _claim_lease(db, open_id, owner, clock):
            break
        if time.monotonic() > deadline:
            raise RefreshBusy("Another Reelboard process is refreshing this account; try again.")
        time.sleep(LEASE_POLL_SECONDS)

    try:
        # Re-read after the claim: another process may have committed its refresh between our
        # last read and the claim (its commit frees the lease in the same transaction).
        row = _token_row(db, open_id)
        _require_usable(row)
        if _done_by_someone_else(row, seen=seen, force_refresh=force_refresh, clock=clock,
                                 margin=margin):
            return _current(db, keyring, row, clock)
        refresh_token = _decrypt_column(db, keyring, row, "refresh_token_enc", clock)
        try:
            grant = client.refresh(refresh_token)
        except OAuthError as exc:
            if exc.error == "invalid_client":
                # T8: the app's credentials are wrong; no account is at fault.
                raise ConfigError([
                    "TikTok rejected Reelboard's client key or secret while refreshing a token "
                    "(invalid_client). Check TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET in the "
                    "TikTok developer portal and restart; accounts were left as they are."
                ]) from exc
            if exc.error == "invalid_grant":
                # R9: another worker may have rotated the token in the meantime.
                latest = _token_row(db, open_id)
                if (latest.refresh_token_enc != row.refresh_token_enc
                        and latest.status == "active" and _fresh(latest, clock, 0)):
                    return _current(db, keyring, latest, clock)
                reason = ("TikTok no longer accepts this account's refresh token (it expired or "
                          "access was removed in TikTok).")
                mark_needs_reconnect(db, open_id, reason, clock=clock)
                raise AccountNeedsReconnect(
                    f"{reason} Reconnect the account on the Accounts page.") from exc
            fallback = _still_usable(db, keyring, row, clock, force_refresh)
            if fallback is None:
                raise
            return fallback
        except TikTokError:
            fallback = _still_usable(db, keyring, row, clock, force_refresh)
            if fallback is None:
                raise
            return fallback
        if grant.open_id and grant.open_id != open_id:
            raise TikTokProtocolError(
                explanation="TikTok refreshed the token of a different account than asked.",
                fix="Nothing was saved; reconnect the account if this repeats.")
        access_enc = _store_refresh(db, keyring, open_id, grant, owner, clock)
        return grant.access_token, access_enc
    finally:
        _release_lease(db, open_id, owner)


def _still_usable(
    db: sqlite_utils.Database, keyring: KeyRing, row: _TokenRow, clock: Clock, forced: bool
) -> tuple[str, str] | None:
    """After an early refresh failed for a passing reason: the current token, if it works."""
    if forced or not _fresh(row, clock, 0):
        return None
    log.warning("early token refresh failed; the current access token is still valid")
    return _current(db, keyring, row, clock)


def _claim_lease(db: sqlite_utils.Database, open_id: str, owner: str, clock: Clock) -> bool:
    # Wall-clock time, not the injected clock: the lease is about real processes waiting for
    # each other, and the injected clock may be a simulated one (sandbox demo history).
    now = int(time.time())
    with write_transaction(db):
        return db.execute(
            "UPDATE accounts SET refresh_lease_owner = ?, refresh_lease_until = ? "
            "WHERE open_id = ? AND status = 'active' AND (refresh_lease_owner IS NULL "
            "OR refresh_lease_until IS NULL OR refresh_lease_until < ?)",
            [owner, now + LEASE_SECONDS, open_id, now],
        ).rowcount == 1


def _release_lease(db: sqlite_utils.Database, open_id: str, owner: str) -> None:
    try:
        with write_transaction(db):
            db.execute(
                "UPDATE accounts SET refresh_lease_owner = NULL, refresh_lease_until = NULL "
                "WHERE open_id = ? AND refresh_lease_owner = ?", [open_id, owner])
    except sqlite3.Error:  # the lease expires by itself; never hide the original error
        log.warning("could not release a refresh lease; it will expire")


def _store_refresh(
    db: sqlite_utils.Database,
    keyring: KeyRing,
    open_id: str,
    grant: TokenGrant,
    owner: str,
    clock: Clock,
) -> str:
    """R9/T3: new access and rotated refresh token in one transaction, before first use.
    Written even if our lease lapsed: the old refresh token is dead, this one is the only one."""
    now = clock()
    access_enc = keyring.encrypt(grant.access_token, table="accounts",
                                 column="access_token_enc", row_key=open_id)
    refresh_enc = keyring.encrypt(grant.refresh_token, table="accounts",
                                  column="refresh_token_enc", row_key=open_id)
    scopes = format_scopes(grant.scopes) if grant.scopes is not None else None
    with write_transaction(db):
        db.execute(
            "UPDATE accounts SET access_token_enc = ?, refresh_token_enc = ?, "
            "access_expires_at = ?, refresh_expires_at = ?, "
            "granted_scopes = coalesce(?, granted_scopes), last_refresh_at = ?, updated_at = ?, "
            "refresh_lease_owner = CASE WHEN refresh_lease_owner = ? THEN NULL "
            "ELSE refresh_lease_owner END, "
            "refresh_lease_until = CASE WHEN refresh_lease_owner = ? THEN NULL "
            "ELSE refresh_lease_until END "
            "WHERE open_id = ?",
            [access_enc, refresh_enc, _expiry(now, grant.expires_in),
             _expiry(now, grant.refresh_expires_in), scopes, to_epoch(now), to_epoch(now),
             owner, owner, open_id],
        )
    return access_enc


def call_with_token(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    open_id: str,
    fn: Callable[[str], T],
    *,
    clock: Clock = utc_now,
    margin: float = DEFAULT_MARGIN,
) -> T:
    """Run ``fn(access_token)``; on `access_token_invalid` refresh once and try once more (T6).

    If TikTok refuses the refresh, or rejects the fresh token too, the account is marked
    `needs_reconnect` and AccountNeedsReconnect is raised. Scope errors (T7), rate limits and
    network errors pass through unchanged.
    """
    token, envelope = _access_token(db, client, keyring, open_id, clock=clock, margin=margin,
                                    force_refresh=False)
    try:
        return fn(token)
    except TikTokAuthError:
        log.info("access token rejected by TikTok; refreshing once")
    return _retry_after_rejection(db, client, keyring, open_id, fn, envelope, clock=clock,
                                  margin=margin)


def _retry_after_rejection(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    open_id: str,
    fn: Callable[[str], T],
    envelope: str,
    *,
    clock: Clock,
    margin: float,
) -> T:
    """TikTok refused the token stored as ``envelope``: refresh once (unless someone already
    did) and call ``fn`` once more; a refused refresh or a refused fresh token marks the
    account ``needs_reconnect`` (the fault catalogue (tests/faults) T6)."""
    try:
        token, _ = _access_token(db, client, keyring, open_id, clock=clock, margin=margin,
                                 force_refresh=True, rejected=envelope)
    except OAuthError as exc:
        if exc.retry_safe:  # server_error / temporarily_unavailable: a passing problem
            raise
        reason = f"TikTok refused to refresh this account's token ({exc.error})."
        mark_needs_reconnect(db, open_id, reason, clock=clock)
        raise AccountNeedsReconnect(f"{reason} Reconnect the account on the Accounts page.") \
            from exc
    try:
        return fn(token)
    except TikTokAuthError as exc:
        reason = ("TikTok rejects even a freshly refreshed token: the creator probably removed "
                  "Reelboard's access in TikTok.")
        mark_needs_reconnect(db, open_id, reason, clock=clock)
        raise AccountNeedsReconnect(f"{reason} Reconnect the account on the Accounts page.") \
            from exc


class RunToken:
    """One sync run's access token: read and decrypted once, not for every request.

    The row is read again only when the token is within ``margin`` of its expiry (then it is
    refreshed as get_access_token does), after ``recheck_s`` seconds (so a disconnect or a
    refresh by another process is noticed), or after TikTok rejects it (:meth:`after_rejection`:
    refresh once, retry once, as call_with_token). Use it on the thread that owns ``db``;
    the token string itself may be handed to another thread for the request.
    """

    def __init__(self, db: sqlite_utils.Database, client: TikTokClient, keyring: KeyRing,
                 open_id: str, *, clock: Clock = utc_now, margin: float = DEFAULT_MARGIN,
                 recheck_s: float = 30.0) -> None:
        self.db, self.client, self.keyring, self.open_id = db, client, keyring, open_id
        self.clock, self.margin, self.recheck_s = clock, margin, recheck_s
        self._token: str | None = None
        self._envelope: str | None = None
        self._expires_at: int | None = None
        self._read_at = 0.0
        self.reads = 0  # rows read (and decrypted), for tests and benchmarks

    def current(self) -> str:
        """A token to send now."""
        now = to_epoch(self.clock())
        if (self._token is None or self._expires_at is None
                or self._expires_at - self.margin <= now
                or time.monotonic() - self._read_at > self.recheck_s):
            self._token, self._envelope = _access_token(
                self.db, self.client, self.keyring, self.open_id, clock=self.clock,
                margin=self.margin, force_refresh=False)
            self._remember()
        return self._token

    def call(self, fn: Callable[[str], T]) -> T:
        """``fn(token)``; on `access_token_invalid`, :meth:`after_rejection`."""
        token = self.current()
        try:
            return fn(token)
        except TikTokAuthError:
            log.info("access token rejected by TikTok; refreshing once")
        return self.after_rejection(fn)

    def after_rejection(self, fn: Callable[[str], T]) -> T:
        """TikTok refused the current token: refresh once and call ``fn`` again."""
        envelope = self._envelope or ""
        self._token = None  # whatever happens, read the row again next time
        result = _retry_after_rejection(self.db, self.client, self.keyring, self.open_id, fn,
                                        envelope, clock=self.clock, margin=self.margin)
        return result

    def _remember(self) -> None:
        row = self.db.execute("SELECT access_expires_at FROM accounts WHERE open_id = ?",
                              [self.open_id]).fetchone()
        self._expires_at = None if row is None else row[0]
        self._read_at = time.monotonic()
        self.reads += 1


def mark_needs_reconnect(
    db: sqlite_utils.Database, open_id: str, reason: str, *, clock: Clock = utc_now
) -> bool:
    """Flag an active account for reconnecting (shown on every page); keeps its ciphertext and
    history. Returns whether the account changed."""
    with write_transaction(db):
        return db.execute(
            "UPDATE accounts SET status = 'needs_reconnect', status_reason = ?, updated_at = ?, "
            "refresh_lease_owner = NULL, refresh_lease_until = NULL "
            "WHERE open_id = ? AND status = 'active'",
            [reason, to_epoch(clock()), open_id],
        ).rowcount == 1


# -- disconnect ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DisconnectResult:
    revoked: bool  # TikTok confirmed Reelboard's access was removed
    message: str


def disconnect(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    open_id: str,
    *,
    actor: Actor,
    clock: Clock = utc_now,
) -> DisconnectResult:
    """Revoke at TikTok (the fault catalogue (tests/faults) R13), then delete the tokens and mark
    the account
    `disconnected`. Synced history stays. Says plainly when TikTok could not be told.
    Admins only; audited."""
    with audited(db, actor, "disconnect", open_id=open_id, clock=clock) as event:
        result = _disconnect(db, client, keyring, open_id, clock=clock)
        event.details["revoked_at_tiktok"] = result.revoked
    return result


def _disconnect(
    db: sqlite_utils.Database,
    client: TikTokClient,
    keyring: KeyRing,
    open_id: str,
    *,
    clock: Clock,
) -> DisconnectResult:
    account = get_account(db, open_id)
    if account is None:
        raise AccountNotFound(f"No connected account has the id {open_id!r}.")
    row = _token_row(db, open_id)
    problem: str | None = None
    revoked = False
    if not row.access_token_enc:
        problem = "Reelboard held no token for it any more"
    else:
        token: str | None = None
        if row.status == "active" and not _fresh(row, clock, 0):
            # revoke needs a live access token
            # (https://developers.tiktok.com/doc/oauth-user-access-token-management)
            try:
                token = get_access_token(db, client, keyring, open_id, clock=clock, margin=0)
            except (ReelboardError, sqlite3.Error):
                token = None
        if token is None:
            try:
                token = keyring.decrypt(row.access_token_enc, table="accounts",
                                        column="access_token_enc", row_key=open_id)
            except DecryptionError:
                problem = "its stored token could not be read"
        if token is not None:
            try:
                client.revoke(token)
                revoked = True
            except TikTokError as exc:
                problem = f"TikTok did not confirm: {exc.explanation}"
    now = to_epoch(clock())
    with write_transaction(db):
        db.execute(
            "UPDATE accounts SET status = 'disconnected', status_reason = ?, "
            "access_token_enc = NULL, refresh_token_enc = NULL, access_expires_at = NULL, "
            "refresh_expires_at = NULL, refresh_lease_owner = NULL, refresh_lease_until = NULL, "
            "updated_at = ? WHERE open_id = ?",
            ["Disconnected in Reelboard." if revoked else
             "Disconnected in Reelboard; TikTok did not confirm the revocation.", now, open_id],
        )
    name = account.label
    if revoked:
        return DisconnectResult(True, f"{name} is disconnected: TikTok confirmed Reelboard's "
                                      "access is removed and its tokens were deleted. Synced "
                                      "history is kept.")
    return DisconnectResult(
        False,
        f"{name} is disconnected in Reelboard and its tokens were deleted, but revoking at "
        f"TikTok failed ({problem}). To be sure, remove Reelboard in the TikTok app under "
        "Settings and privacy > Security > Apps and services. Synced history is kept.")
