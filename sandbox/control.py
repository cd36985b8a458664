"""The control API under /_sandbox/ (not part of TikTok) and the media routes.

JSON in and out. Lets tests and demos move the simulated clock, inject faults, read the request
log, finish a consent without a browser, add benchmark creators and tune lifetimes and limits.
Documented with curl examples in sandbox/README.md.
"""

from __future__ import annotations

import hmac
import re
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sandbox.authorize import ConsentError, complete_consent
from sandbox.clock import parse_instant
from sandbox.display import avatar_url
from sandbox.faults import ACTION_KINDS
from sandbox.ids import media_signature
from sandbox.media import AVATAR_SIZES, avatar_png, cover_jpeg
from sandbox.posting import control_ban, control_complete_draft, control_posts
from sandbox.sheets import control as sheets_control
from sandbox.web import Request, Response, html_response, json_response
from sandbox.world import MAX_SYNTHETIC_VIDEOS, USERNAME_RE, Creator

if TYPE_CHECKING:
    from collections.abc import Callable

    from sandbox.core import Sandbox

_AVATAR_RE = re.compile(r"^/_sandbox/media/avatar/([^/]+)/(\d+)\.png$")
_COVER_RE = re.compile(r"^/_sandbox/media/cover/(\d{19})\.jpeg$")


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def _body(req: Request) -> dict[str, object]:
    try:
        body = req.json_body()
    except ValueError as exc:
        raise ValueError("the body must be JSON") from exc
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds")
    return float(value)


# --- handlers -------------------------------------------------------------------------------


def health(sb: Sandbox, req: Request) -> Response:
    return json_response(200, {"ok": True})


def clock(sb: Sandbox, req: Request) -> Response:
    if req.method == "POST":
        body = _body(req)
        allowed = {"set", "advance", "reset", "freeze"}
        unknown = set(body) - allowed
        if unknown or not body:
            raise ValueError(f"give one of {sorted(allowed)}")
        target = parse_instant(body["set"]) if "set" in body else None
        step = _number(body["advance"], "advance") if "advance" in body else None
        freeze = body.get("freeze")
        if freeze is not None and not isinstance(freeze, bool):
            raise ValueError("freeze must be true or false")
        if body.get("reset") is True:
            sb.clock.reset()
        if freeze is not None:  # first, so {"set": t, "freeze": true} stops exactly at t
            sb.clock.freeze(freeze)
        if target is not None:
            sb.clock.set(target)
        if step is not None:
            sb.clock.advance(step)
    return json_response(200, sb.clock.describe())


def faults(sb: Sandbox, req: Request) -> Response:
    if req.method == "DELETE":
        sb.faults.clear()
        return json_response(200, {"faults": []})
    if req.method == "POST":
        body = _body(req)
        kind = body.get("kind")
        if kind in ACTION_KINDS:
            return _token_fault(sb, req, str(kind), body)
        fault = sb.faults.add(body)
        return json_response(200, {"fault": fault.__dict__, "faults": sb.faults.list()})
    return json_response(200, {"faults": sb.faults.list()})


def _token_fault(sb: Sandbox, req: Request, kind: str, body: dict[str, object]) -> Response:
    key = body.get("open_id", body.get("creator"))
    creator = sb.world.creator(key) if isinstance(key, str) else None
    if creator is None:
        raise ValueError(f"{kind} needs open_id (or creator username) of a known creator")
    with sb.store.transaction() as tx:
        if kind == "expire_token":
            # the user's current access tokens expire now; refresh still works
            affected = tx.expire_user_access_tokens(creator.open_id, req.now)
        else:
            # the user removed the app: every token of the authorization dies (webhooks docs)
            affected = tx.revoke_user_grants(creator.open_id, req.now)
    return json_response(200, {"kind": kind, "open_id": creator.open_id, "affected": affected})


def requests_log(sb: Sandbox, req: Request) -> Response:
    if req.method == "DELETE":
        sb.log.clear()
        return json_response(200, [])
    return json_response(200, sb.log.list(req.arg("path")))


def consent(sb: Sandbox, req: Request) -> Response:
    body = _body(req)
    try:
        url, open_id = complete_consent(
            sb,
            body.get("authorize_url"),
            body.get("creator"),
            body.get("scopes"),
            body.get("approve", True),
            req.now,
        )
    except ConsentError as exc:
        return _error(400, str(exc))
    resp = json_response(200, {"redirect_url": url})
    resp.open_id = open_id
    return resp


def _creator_summary(sb: Sandbox, c: Creator, now: float) -> dict[str, object]:
    return {
        "open_id": c.open_id,
        "username": c.username,
        "display_name": c.display_name,
        "is_private": c.spec.is_private,
        "is_verified": c.spec.is_verified,
        "public_video_count": c.public_video_count(now),
        "synthetic": c.synthetic,
        "avatar_url": avatar_url(sb, c, 168),
    }


def creators(sb: Sandbox, req: Request) -> Response:
    sb.sync_world()
    if req.method == "POST":
        body = _body(req)
        username = body.get("username")
        count = body.get("videos")
        display_name = body.get("display_name", username)
        if not isinstance(username, str) or not USERNAME_RE.match(username):
            raise ValueError("username must be 2-24 characters of a-z, 0-9, '.' or '_'")
        if (
            isinstance(count, bool)
            or not isinstance(count, int)
            or not (0 <= count <= MAX_SYNTHETIC_VIDEOS)
        ):
            raise ValueError(f"videos must be an integer from 0 to {MAX_SYNTHETIC_VIDEOS}")
        if not isinstance(display_name, str) or not 1 <= len(display_name) <= 60:
            raise ValueError("display_name must be a string of 1-60 characters")
        if sb.world.creator(username) is not None:
            return _error(409, f"creator {username!r} already exists")
        with sb.store.transaction() as tx:
            tx.insert_extra_creator(username, display_name, count, req.now)
        created = sb.world.add_synthetic(username, display_name, count)
        return json_response(201, _creator_summary(sb, created, req.now))
    return json_response(
        200, [_creator_summary(sb, c, req.now) for c in sb.world.creators.values()]
    )


def config(sb: Sandbox, req: Request) -> Response:
    if req.method == "POST":
        sb.config.update(_body(req))
    return json_response(200, sb.config.as_dict())


def reset(sb: Sandbox, req: Request) -> Response:
    sb.reset()
    return json_response(200, {"ok": True})


def index(sb: Sandbox, req: Request) -> Response:
    """A human landing page at / with the essentials."""
    rows = "".join(
        f"<li><code>{escape(p)}</code></li>"
        for p in (
            "/v2/auth/authorize/",
            "/v2/oauth/token/",
            "/v2/oauth/revoke/",
            "/v2/user/info/",
            "/v2/video/list/",
            "/v2/video/query/",
            "/v2/post/publish/creator_info/query/",
            "/v2/post/publish/video/init/",
            "/v2/post/publish/inbox/video/init/",
            "/v2/post/publish/content/init/",
            "/upload/video/?upload_id=…&upload_token=…",
            "/v2/post/publish/status/fetch/",
            "/v2/post/publish/cancel/",
            "/_sandbox/health",
            "/_sandbox/clock",
            "/_sandbox/faults",
            "/_sandbox/requests",
            "/_sandbox/consent",
            "/_sandbox/creators",
            "/_sandbox/config",
            "/_sandbox/reset",
            "/v4/spreadsheets/… (fake Google Sheets)",
            "/token (fake Google OAuth)",
            "/_sandbox/sheets/view",
            "/_sandbox/posts",
            "/_sandbox/posts/complete_draft",
            "/_sandbox/posts/ban",
        )
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>TikTok sandbox</title>"
        "</head><body style='font-family:sans-serif;max-width:640px;margin:40px auto'>"
        f"<h1>Reelboard TikTok sandbox</h1><p>Base URL <code>{escape(sb.base_url)}</code>"
        "</p><ul>" + rows + "</ul><p>See sandbox/README.md.</p></body></html>"
    )
    return html_response(200, page)


# --- media ----------------------------------------------------------------------------------


def media(sb: Sandbox, req: Request) -> Response:
    if req.method not in ("GET", "HEAD"):
        return _error(405, "media is read-only")
    m = _AVATAR_RE.match(req.path)
    if m:
        creator = sb.world.creator(m.group(1))
        size = int(m.group(2))
        if creator is None or size not in AVATAR_SIZES:
            return _error(404, f"no such avatar (sizes: {AVATAR_SIZES})")
        png = avatar_png(creator.display_name, *creator.spec.colors, size)
        return Response(200, png, "image/png", [("Cache-Control", "public, max-age=86400")])
    m = _COVER_RE.match(req.path)
    if m:
        video = sb.world.video(m.group(1))
        if video is None:
            return _error(404, "no such video")
        if sb.config.current.enforce_media_expiry and not _cover_link_valid(sb, req, video.id):
            # video object docs: cover URLs expire after 6 h, like TikTok's signed CDN links.
            return _error(
                403, "cover URL expired or not signed; fetch a fresh one with /v2/video/query/"
            )
        return Response(
            200,
            cover_jpeg(video.id, video.title),
            "image/jpeg",
            [("Cache-Control", "private, max-age=3600")],
        )
    return _error(404, "no such media")


def _cover_link_valid(sb: Sandbox, req: Request, video_id: str) -> bool:
    expires_raw = req.arg("x-expires") or ""
    signature = req.arg("x-signature") or ""
    if not expires_raw.isdigit():
        return False
    expires = int(expires_raw)
    good = hmac.compare_digest(signature, media_signature(sb.seed, video_id, expires))
    return good and req.now < expires


# --- routing --------------------------------------------------------------------------------

_CONTROL: dict[str, tuple[tuple[str, ...], Callable[[Sandbox, Request], Response]]] = {
    "/_sandbox/health": (("GET",), health),
    "/_sandbox/clock": (("GET", "POST"), clock),
    "/_sandbox/faults": (("GET", "POST", "DELETE"), faults),
    "/_sandbox/requests": (("GET", "DELETE"), requests_log),
    "/_sandbox/consent": (("POST",), consent),
    "/_sandbox/creators": (("GET", "POST"), creators),
    "/_sandbox/config": (("GET", "POST"), config),
    "/_sandbox/reset": (("POST",), reset),
    "/_sandbox/posts": (("GET",), control_posts),
    "/_sandbox/posts/complete_draft": (("POST",), control_complete_draft),
    "/_sandbox/posts/ban": (("POST",), control_ban),
}


def _own_origins(sb: Sandbox) -> set[str]:
    """The sandbox's own origin, under each loopback name it may be reached by."""
    parts = urlsplit(sb.base_url)
    port = f":{parts.port}" if parts.port else ""
    return {
        f"{parts.scheme}://{host}{port}"
        for host in (parts.hostname, "127.0.0.1", "localhost", "[::1]")
    }


def _refuse_foreign(sb: Sandbox, req: Request) -> Response | None:
    """State-changing control calls come from tests, demos and Reelboard, never from a web page.

    A page on any site can make the browser POST a "simple" request (text/plain, no preflight)
    to loopback; without this check it could revoke a connected sandbox account or move the
    clock. So: a browser's cross-site marker or a foreign ``Origin`` is refused, and a POST must
    be ``application/json`` (a content type no page can send cross-origin without a CORS
    preflight, which the sandbox never answers). DELETE is never a simple request.
    """
    if req.method in ("GET", "HEAD", "OPTIONS"):
        return None
    fetch_site = (req.header("sec-fetch-site") or "").strip().lower()
    if fetch_site in ("cross-site", "same-site"):
        return _error(403, "control calls from another site are refused")
    origin = req.header("origin")
    if origin is not None and origin.strip().rstrip("/") not in _own_origins(sb):
        return _error(
            403,
            f"control calls from origin {origin!r} are refused; the control API "
            "accepts only its own origin (or none, as curl and tests send)",
        )
    if req.method == "POST" and req.content_type != "application/json":
        return _error(415, "control POSTs must have Content-Type: application/json")
    return None


def dispatch(sb: Sandbox, req: Request) -> Response:
    if req.path in ("/", "/_sandbox", "/_sandbox/"):
        return index(sb, req)
    if req.path.startswith("/_sandbox/media/"):
        return media(sb, req)
    if req.path.startswith("/_sandbox/sheets"):
        # Its routes change state too (keys, shares, faults): the same web-page checks apply.
        refused = _refuse_foreign(sb, req)
        return refused if refused is not None else sheets_control.dispatch(sb, req)
    route = _CONTROL.get(req.path.rstrip("/"))
    if route is None:
        return _error(404, f"unknown control endpoint {req.path}")
    methods, handler = route
    if req.method not in methods:
        return _error(405, f"{req.method} is not allowed on {req.path}; use {', '.join(methods)}")
    refused = _refuse_foreign(sb, req)
    if refused is not None:
        return refused
    try:
        return handler(sb, req)
    except ValueError as exc:
        return _error(400, str(exc))
