"""`/v2/auth/authorize/`: validation, the consent page, and code issuance (Login Kit).

The same validation and the same code issuance serve three callers: the browser GET (render the
consent page), the consent form POST, and the non-interactive /_sandbox/consent control call.
Errors about the app itself (client_key, redirect_uri) never redirect, like TikTok's
`error_type=client_key` page (Login Kit); everything else redirects back with `error=`
(OAuth errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from sandbox.ids import new_code
from sandbox.pages import CreatorChoice, ScopeChoice, consent_page, error_page
from sandbox.scopes import (
    KNOWN_SCOPES,
    REQUIRED_SCOPE,
    SCOPE_DESCRIPTIONS,
    order_scopes,
    split_scopes,
)
from sandbox.state import AppRecord
from sandbox.web import Request, Response, html_response, redirect

if TYPE_CHECKING:
    from sandbox.core import Sandbox

AUTHORIZE_PATH = "/v2/auth/authorize/"
# The page also answers without its trailing slash: Arctic's authorize URL has none and its
# users reach the consent page (https://developers.tiktok.com/doc/login-kit-web).
AUTHORIZE_ALIAS = "/v2/auth/authorize"
# Everything the authorize request may carry (Login Kit); carried through the consent form.
AUTH_PARAMS = (
    "client_key",
    "scope",
    "redirect_uri",
    "state",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "disable_auto_auth",
)
# Which demo creator "is logged in to TikTok" in this browser (for disable_auto_auth=0).
SESSION_COOKIE = "tt_sandbox_session"


class AuthorizePageError(Exception):
    """An error shown on TikTok's own page: the redirect_uri cannot be trusted (Login Kit)."""

    def __init__(self, error_type: str, err_code: int, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.err_code = err_code
        self.message = message


class AuthorizeRedirectError(Exception):
    """An error sent back to the app's redirect_uri as `error=…&error_description=…`."""

    def __init__(self, location: str, error: str) -> None:
        super().__init__(error)
        self.location = location
        self.error = error


@dataclass(frozen=True)
class AuthorizeRequest:
    app: AppRecord
    redirect_uri: str
    scopes: list[str]  # requested, in request order
    state: str | None
    code_challenge: str | None
    disable_auto_auth: bool
    params: dict[str, str]  # the original parameters, for the consent form


def callback_url(redirect_uri: str, items: list[tuple[str, str]]) -> str:
    """redirect_uri + query. Codes contain `*` and `!`, so they arrive percent-encoded and the
    app must URL-decode them (Login Kit); commas in `scopes` stay readable."""
    query = urlencode(items, quote_via=quote, safe=",")
    base = quote(redirect_uri, safe=":/?#[]@!$&'()*+,;=%~")
    return f"{base}{'&' if '?' in base else '?'}{query}"


def _with_state(items: list[tuple[str, str]], state: str | None) -> list[tuple[str, str]]:
    return items + ([("state", state)] if state is not None else [])


def parse_authorize(sb: Sandbox, params: Mapping[str, str]) -> AuthorizeRequest:
    """Validate an authorize request in TikTok's order: app, redirect_uri, then the rest."""
    client_key = params.get("client_key") or ""
    if not client_key:
        hint = " (the parameter is client_key, not client_id)" if "client_id" in params else ""
        raise AuthorizePageError("client_key", 10003, f"client_key is missing{hint}.")
    with sb.store.read() as tx:
        app = tx.get_app(client_key)
    if app is None:
        raise AuthorizePageError(
            "client_key", 10003, "This client_key is not registered with the sandbox."
        )
    redirect_uri = params.get("redirect_uri") or ""
    if redirect_uri not in app.redirect_uris:
        # Login Kit: must exactly match a registered URI; never redirect to an unregistered one.
        raise AuthorizePageError(
            "redirect_uri", 10006, "redirect_uri does not match any URI registered for this app."
        )
    state = params.get("state")

    def fail(error: str, description: str) -> AuthorizeRedirectError:
        items = [("error", error), ("error_description", description)]
        return AuthorizeRedirectError(callback_url(redirect_uri, _with_state(items, state)), error)

    if params.get("response_type") != "code":
        raise fail("unsupported_response_type", "response_type must be code.")
    scopes = split_scopes(params.get("scope") or "")
    if not scopes:
        raise fail("invalid_scope", "scope is required: a comma-separated list of scopes.")
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise fail("invalid_scope", f"Unknown or unavailable scope: {', '.join(unknown)}.")
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is not None or method is not None:
        # Login Kit: only S256, and the challenge is hex(sha256(verifier)) — checked at /token/.
        if challenge is None:
            raise fail("invalid_request", "code_challenge is required with code_challenge_method.")
        if method != "S256":
            raise fail("invalid_request", "code_challenge_method must be S256.")
    kept = {k: params[k] for k in AUTH_PARAMS if k in params}
    return AuthorizeRequest(
        app=app,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=challenge,
        disable_auto_auth=params.get("disable_auto_auth") == "1",
        params=kept,
    )


def granted_scopes(areq: AuthorizeRequest, ticked: list[str] | None) -> list[str]:
    """What the user grants: the ticked subset of the request, plus user.info.basic (scope docs)."""
    chosen = set(areq.scopes if ticked is None else ticked) & set(areq.scopes)
    return order_scopes(chosen | {REQUIRED_SCOPE})


def issue_code(
    sb: Sandbox, areq: AuthorizeRequest, open_id: str, scopes: list[str], now: float
) -> str:
    """Store a single-use code bound to app, redirect_uri, scopes, user and PKCE challenge;
    return the success callback URL (Login Kit)."""
    code = new_code()
    with sb.store.transaction() as tx:
        tx.insert_code(
            code,
            client_key=areq.app.client_key,
            redirect_uri=areq.redirect_uri,
            open_id=open_id,
            scopes=",".join(scopes),
            code_challenge=areq.code_challenge,
            now=now,
            ttl=sb.config.current.code_ttl,
        )
    items = [("code", code), ("scopes", ",".join(scopes))]
    return callback_url(areq.redirect_uri, _with_state(items, areq.state))


def denied_url(areq: AuthorizeRequest) -> str:
    items = [
        ("error", "access_denied"),
        ("error_description", "The user denied the authorization request."),
    ]
    return callback_url(areq.redirect_uri, _with_state(items, areq.state))


def _first_values(multi: Mapping[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in multi.items() if v}


def _render(
    sb: Sandbox,
    req: Request,
    areq: AuthorizeRequest,
    *,
    status: int = 200,
    selected: str | None = None,
    ticked: list[str] | None = None,
    error: str | None = None,
) -> Response:
    sb.sync_world()
    requested = set(areq.scopes) | {REQUIRED_SCOPE}
    scopes = [
        ScopeChoice(
            s,
            SCOPE_DESCRIPTIONS[s],
            s == REQUIRED_SCOPE,
            ticked is None or s in ticked or s == REQUIRED_SCOPE,
        )
        for s in order_scopes(requested)
    ]
    creators = [
        CreatorChoice(
            c.open_id,
            c.username,
            c.display_name,
            f"/_sandbox/media/avatar/{c.username}/100.png",
            c.spec.is_private,
            c.spec.is_verified,
            c.stats(req.now).follower_count,
        )
        for c in sb.world.creators.values()
    ]
    page = consent_page(
        app_name=areq.app.app_name,
        action=AUTHORIZE_PATH,
        hidden=areq.params,
        scopes=scopes,
        creators=creators,
        selected_open_id=selected,
        error=error,
    )
    return html_response(status, page)


def _page_error(exc: AuthorizePageError) -> Response:
    return html_response(
        400, error_page(error_type=exc.error_type, err_code=exc.err_code, message=exc.message)
    )


def _session_creator(sb: Sandbox, req: Request) -> str | None:
    value = req.cookie(SESSION_COOKIE)
    creator = sb.world.creator(value) if value else None
    return creator.open_id if creator else None


def get_authorize(sb: Sandbox, req: Request) -> Response:
    try:
        areq = parse_authorize(sb, _first_values(req.query))
    except AuthorizePageError as exc:
        return _page_error(exc)
    except AuthorizeRedirectError as exc:
        return redirect(exc.location)
    session = _session_creator(sb, req)
    if session is not None and not areq.disable_auto_auth:
        # Login Kit: disable_auto_auth=0 (the default) silently re-authorizes an account that is
        # logged in and already granted these scopes; the app must send 1 to switch accounts.
        wanted = set(granted_scopes(areq, None))
        with sb.store.read() as tx:
            grants = tx.live_grant_scopes(areq.app.client_key, session)
        if any(wanted <= g for g in grants):
            return redirect(
                issue_code(sb, areq, session, order_scopes(wanted), req.now), open_id=session
            )
    return _render(sb, req, areq, selected=session)


def post_authorize(sb: Sandbox, req: Request) -> Response:
    """The consent form: re-validate everything, then approve or deny."""
    if req.content_type != "application/x-www-form-urlencoded":
        return html_response(
            400,
            error_page(
                error_type="request",
                err_code=10001,
                message="The consent form must be posted as application/x-www-form-urlencoded.",
            ),
        )
    try:
        form = req.form()
    except ValueError:
        return html_response(
            400,
            error_page(
                error_type="request", err_code=10001, message="The consent form could not be read."
            ),
        )
    try:
        areq = parse_authorize(sb, _first_values({k: form[k] for k in AUTH_PARAMS if k in form}))
    except AuthorizePageError as exc:
        return _page_error(exc)
    except AuthorizeRedirectError as exc:
        return redirect(exc.location)
    action = (form.get("action") or [""])[0]
    ticked = form.get("granted_scope", [])
    if action == "deny":
        return redirect(denied_url(areq))
    creator_key = (form.get("creator") or [""])[0]
    sb.sync_world()
    creator = sb.world.creator(creator_key) if creator_key else None
    if action != "approve" or creator is None:
        message = (
            "Choose an account to log in with."
            if action == "approve"
            else ("Choose Authorize or Cancel.")
        )
        return _render(sb, req, areq, status=400, ticked=ticked, error=message)
    scopes = granted_scopes(areq, ticked)
    location = issue_code(sb, areq, creator.open_id, scopes, req.now)
    # Path without the slash: the cookie then also reaches the slash-less page (AUTHORIZE_ALIAS).
    cookie = f"{SESSION_COOKIE}={creator.open_id}; Path={AUTHORIZE_ALIAS}; HttpOnly; SameSite=Lax"
    return redirect(location, headers=[("Set-Cookie", cookie)], open_id=creator.open_id)


class ConsentError(ValueError):
    """A /_sandbox/consent request that cannot be completed (answered with 400)."""


def complete_consent(
    sb: Sandbox,
    authorize_url: object,
    creator_key: object,
    scopes: object,
    approve: object,
    now: float,
) -> tuple[str, str | None]:
    """The control API's non-interactive consent: (redirect_url, open_id).

    Errors TikTok shows on its own page raise ConsentError; errors TikTok redirects with are
    returned as that redirect, exactly like the browser flow.
    """
    if not isinstance(authorize_url, str) or not authorize_url:
        raise ConsentError("authorize_url must be the full authorize URL the app generated")
    parts = urlsplit(authorize_url)
    if parts.path not in (AUTHORIZE_PATH, AUTHORIZE_ALIAS):
        raise ConsentError(f"authorize_url path must be {AUTHORIZE_PATH}, got {parts.path!r}")
    if not isinstance(approve, bool):
        raise ConsentError("approve must be true or false")
    params = _first_values(parse_qs(parts.query, keep_blank_values=True))
    try:
        areq = parse_authorize(sb, params)
    except AuthorizePageError as exc:
        raise ConsentError(f"{exc.error_type}: {exc.message}") from exc
    except AuthorizeRedirectError as exc:
        return exc.location, None
    if not approve:
        return denied_url(areq), None
    sb.sync_world()
    creator = sb.world.creator(creator_key) if isinstance(creator_key, str) else None
    if creator is None:
        raise ConsentError(
            f"unknown creator {creator_key!r}: give a username or open_id "
            "from GET /_sandbox/creators"
        )
    ticked: list[str] | None = None
    if scopes is not None:
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ConsentError("scopes must be a list of scope strings")
        extra = [s for s in scopes if s not in areq.scopes and s != REQUIRED_SCOPE]
        if extra:
            raise ConsentError(f"scopes not in the authorize request: {', '.join(extra)}")
        ticked = list(scopes)
    granted = granted_scopes(areq, ticked)
    return issue_code(sb, areq, creator.open_id, granted, now), creator.open_id
