"""`/v2/oauth/token/` and `/v2/oauth/revoke/` (token docs).

Flat JSON both ways (token docs, OAuth errors), form bodies only (v2 conventions), single-use
short-lived codes with an exact redirect_uri match and optional hex-S256 PKCE (base64url too for
web redirects), refresh rotation (token docs), and the error status from the config (200 by
default: what clients observe; undocumented).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sandbox.ids import new_access_token, new_client_token, new_refresh_token, secret_hash
from sandbox.web import Request, Response, json_response, oauth_error

if TYPE_CHECKING:
    from sandbox.core import Sandbox

MALFORMED = "The request parameters are malformed."
CODE_EXPIRED = "Authorization code is expired."
REDIRECT_MISMATCH = "Redirect_uri is not matched with the uri when requesting code."
PKCE_INVALID = "Code verifier or code challenge is invalid."
REFRESH_INVALID = "Refresh token is invalid or expired."
CLIENT_INVALID = "Client key or client secret is invalid."
# Login Kit: a verifier is 43-128 characters of [A-Za-z0-9-._~].
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class _OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _read_form(req: Request) -> dict[str, str]:
    # v2 conventions: OAuth endpoints take application/x-www-form-urlencoded only; JSON is rejected.
    if req.content_type != "application/x-www-form-urlencoded":
        raise _OAuthError("invalid_request", MALFORMED)
    try:
        multi = req.form()
    except ValueError as exc:
        raise _OAuthError("invalid_request", MALFORMED) from exc
    return {k: v[0] for k, v in multi.items() if v}


def _require(form: dict[str, str], *names: str) -> None:
    for name in names:
        if not form.get(name):
            if name == "client_secret":
                raise _OAuthError("invalid_request", "Client secret is missed in request.")
            raise _OAuthError("invalid_request", f"{name} is missed in request.")


def _check_client(sb: Sandbox, form: dict[str, str]) -> None:
    with sb.store.read() as tx:
        app = tx.get_app(form["client_key"])
    if app is None or not hmac.compare_digest(
        app.client_secret_hash, secret_hash(form["client_secret"])
    ):
        raise _OAuthError("invalid_client", CLIENT_INVALID)


def is_web_redirect(redirect_uri: str) -> bool:
    """An https redirect to a host that is not loopback: a web app, not a desktop one."""
    parts = urlsplit(redirect_uri)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a DNS name other than localhost


def pkce_ok(challenge: str, verifier: str | None, *, allow_base64url: bool = False) -> bool:
    """TikTok's S256 is the *hex* SHA-256 of the verifier, not RFC 7636 base64url
    (https://developers.tiktok.com/doc/login-kit-desktop). Web redirect URIs also take the
    RFC 7636 form: standard clients (Arctic) send it there and their users connect."""
    if verifier is None or not _VERIFIER_RE.match(verifier):
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    if hmac.compare_digest(digest.hex(), challenge.lower()):
        return True
    if not allow_base64url:
        return False
    rfc7636 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(rfc7636, challenge)


def _token_payload(
    access: str, access_ttl: int, open_id: str, refresh: str, refresh_expires_in: int, scopes: str
) -> dict[str, object]:
    # token docs: exactly these keys, flat, no data wrapper.
    return {
        "access_token": access,
        "expires_in": access_ttl,
        "open_id": open_id,
        "refresh_expires_in": refresh_expires_in,
        "refresh_token": refresh,
        "scope": scopes,
        "token_type": "Bearer",
    }


def _authorization_code(sb: Sandbox, req: Request, form: dict[str, str]) -> dict[str, object]:
    _require(form, "code", "redirect_uri")
    cfg = sb.config.current
    now = req.now
    code = form["code"]
    with sb.store.transaction() as tx:
        rec = tx.get_code(code)
        if rec is None or rec.client_key != form["client_key"]:
            raise _OAuthError("invalid_grant", CODE_EXPIRED)
        if rec.used_at is not None:
            # OAuth 2.1 §4.1.3: a reused code revokes the tokens already issued from it.
            # The revocation must commit, so the error is raised after the transaction.
            if rec.grant_id is not None:
                tx.revoke_grant(rec.grant_id, now)
            reused = True
        else:
            reused = False
            if now >= rec.expires_at:
                raise _OAuthError("invalid_grant", CODE_EXPIRED)
            if form["redirect_uri"] != rec.redirect_uri:
                raise _OAuthError("invalid_request", REDIRECT_MISMATCH)
            if rec.code_challenge is not None and not pkce_ok(
                rec.code_challenge,
                form.get("code_verifier"),
                allow_base64url=is_web_redirect(rec.redirect_uri),
            ):
                raise _OAuthError("invalid_request", PKCE_INVALID)
            # A verifier without a challenge is ignored (Postiz does this and it works, Login Kit).
            grant_id = tx.insert_grant(rec.client_key, rec.open_id, rec.scopes, now)
            access, refresh = new_access_token(), new_refresh_token()
            tx.insert_access_token(access, grant_id, now, cfg.access_ttl)
            tx.insert_refresh_token(refresh, grant_id, now, cfg.refresh_ttl)
            tx.mark_code_used(code, now, grant_id)
    if reused:
        raise _OAuthError("invalid_grant", CODE_EXPIRED)
    return _token_payload(access, cfg.access_ttl, rec.open_id, refresh, cfg.refresh_ttl, rec.scopes)


def _refresh_token(sb: Sandbox, req: Request, form: dict[str, str]) -> dict[str, object]:
    _require(form, "refresh_token")
    cfg = sb.config.current
    now = req.now
    old = form["refresh_token"]
    with sb.store.transaction() as tx:
        rec = tx.find_refresh_token(old)
        if (
            rec is None
            or rec.client_key != form["client_key"]
            or rec.replaced_at is not None
            or rec.grant_revoked_at is not None
            or now >= rec.expires_at
        ):
            raise _OAuthError("invalid_grant", REFRESH_INVALID)
        access = new_access_token()
        tx.insert_access_token(access, rec.grant_id, now, cfg.access_ttl)
        if cfg.rotate_refresh_tokens:
            # token docs (Nov 2026 docs): always rotated; the previous refresh token stops working
            # at once. The new one gets a full lifetime of its own (see README).
            refresh = new_refresh_token()
            tx.insert_refresh_token(refresh, rec.grant_id, now, cfg.refresh_ttl)
            tx.mark_refresh_replaced(old, now)
            refresh_expires_in = cfg.refresh_ttl
        else:
            refresh = old
            refresh_expires_in = int(rec.expires_at - now)
    return _token_payload(
        access, cfg.access_ttl, rec.open_id, refresh, refresh_expires_in, rec.scopes
    )


def token(sb: Sandbox, req: Request) -> Response:
    grant_type: str | None = None
    try:
        form = _read_form(req)
        grant_type = form.get("grant_type")
        _require(form, "client_key", "client_secret", "grant_type")
        _check_client(sb, form)
        if grant_type == "authorization_code":
            payload = _authorization_code(sb, req, form)
        elif grant_type == "refresh_token":
            payload = _refresh_token(sb, req, form)
        elif grant_type == "client_credentials":
            # A client token is for the Research/Commercial Content APIs only; the Display
            # endpoints here reject it like any unknown token.
            return json_response(
                200,
                {"access_token": new_client_token(), "expires_in": 7200, "token_type": "Bearer"},
                grant_type=grant_type,
            )
        else:
            raise _OAuthError(
                "unsupported_grant_type", f"Grant type {grant_type!r} is not supported."
            )
    except _OAuthError as exc:
        return oauth_error(
            req,
            sb.config.current.oauth_error_status,
            exc.error,
            exc.description,
            grant_type=grant_type,
        )
    return json_response(200, payload, open_id=str(payload["open_id"]), grant_type=grant_type)


def revoke(sb: Sandbox, req: Request) -> Response:
    """token docs: revoke with the access token; the whole authorization goes (the app disappears
    from the user's connected apps). Unknown tokens succeed too (RFC 7009 §2.2)."""
    try:
        form = _read_form(req)
        _require(form, "client_key", "client_secret", "token")
        _check_client(sb, form)
    except _OAuthError as exc:
        return oauth_error(req, sb.config.current.oauth_error_status, exc.error, exc.description)
    open_id = None
    with sb.store.transaction() as tx:
        found = tx.find_grant_of_any_token(form["token"])
        if found is not None and found[1] == form["client_key"]:
            open_id = found[2]
            tx.revoke_user_grants(open_id, req.now, client_key=form["client_key"])
    return json_response(200, {}, open_id=open_id)
