"""Display API: `/v2/user/info/`, `/v2/video/list/`, `/v2/video/query/` (Display API docs).

Checks run in TikTok's order: Bearer token → endpoint scope → rate limit → parameters
(→ per-field scopes for user/info). Every answer uses the v2 `{data, error}` envelope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.ids import media_signature
from sandbox.scopes import ENDPOINT_SCOPES, USER_FIELD_SCOPES, VIDEO_FIELDS, order_scopes
from sandbox.state import TokenGrant
from sandbox.web import Request, Response, api_error, api_ok
from sandbox.world import Creator, Video

if TYPE_CHECKING:
    from sandbox.core import Sandbox

MAX_COUNT_DEFAULT = 10  # video list docs
MAX_COUNT_LIMIT = 20  # video list docs
MAX_QUERY_IDS = 20  # video query docs
_VIDEO_FIELD_SET = frozenset(VIDEO_FIELDS)


class _RejectError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _bearer(req: Request) -> str | None:
    value = (req.header("authorization") or "").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _guard(sb: Sandbox, req: Request) -> tuple[TokenGrant, Creator]:
    """Token, then scope, then rate limit (TikTok's order); raises _RejectError with the answer."""
    token = _bearer(req)
    grant = None
    if token is not None:
        with sb.store.read() as tx:
            grant = tx.find_access_token(token, req.now)
    if grant is None:
        raise _RejectError(api_error(req, 401, "access_token_invalid"))
    creator = sb.world.creator(grant.open_id)
    if creator is None:
        sb.sync_world()  # a synthetic creator added by another process
        creator = sb.world.creator(grant.open_id)
    if creator is None:
        raise _RejectError(api_error(req, 401, "access_token_invalid", open_id=grant.open_id))
    needed = ENDPOINT_SCOPES[req.path]
    if needed not in grant.scopes.split(","):
        raise _RejectError(api_error(req, 401, "scope_not_authorized", open_id=grant.open_id))
    key = (req.path, grant.client_key, grant.open_id)
    if not sb.limiter.admit(key, req.now, sb.config.current.rate_limit_per_minute):
        raise _RejectError(api_error(req, 429, "rate_limit_exceeded", open_id=grant.open_id))
    return grant, creator


def _fields(req: Request, allowed: frozenset[str] | dict[str, str], open_id: str) -> list[str]:
    raw = req.arg("fields")
    names: list[str] = []
    for item in (raw or "").split(","):
        name = item.strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise _RejectError(
            api_error(
                req,
                400,
                "invalid_params",
                "fields is required: a comma-separated list of field names.",
                open_id=open_id,
            )
        )
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise _RejectError(
            api_error(
                req,
                400,
                "invalid_params",
                f"Invalid field name(s): {', '.join(unknown)}.",
                open_id=open_id,
            )
        )
    return names


def _json_object(req: Request, open_id: str) -> dict[str, object]:
    try:
        body = req.json_body()
    except ValueError:
        raise _RejectError(
            api_error(
                req, 400, "invalid_params", "The request body is not valid JSON.", open_id=open_id
            )
        ) from None
    if not isinstance(body, dict):
        raise _RejectError(
            api_error(
                req,
                400,
                "invalid_params",
                "The request body must be a JSON object.",
                open_id=open_id,
            )
        )
    return body


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- serialisation --------------------------------------------------------------------------


def avatar_url(sb: Sandbox, creator: Creator, size: int) -> str:
    return f"{sb.base_url}/_sandbox/media/avatar/{creator.username}/{size}.png"


def _user_value(sb: Sandbox, creator: Creator, name: str, now: float) -> object:
    spec = creator.spec
    if name in ("follower_count", "following_count", "likes_count", "video_count"):
        return getattr(creator.stats(now), name)
    return {
        "open_id": creator.open_id,
        "union_id": creator.union_id,
        "avatar_url": avatar_url(sb, creator, 168),
        "avatar_url_100": avatar_url(sb, creator, 100),
        "avatar_large_url": avatar_url(sb, creator, 720),
        "display_name": spec.display_name,
        "bio_description": spec.bio,
        "profile_deep_link": f"https://vm.tiktok.com/{creator.deep_link_code}/",
        "profile_web_link": f"https://www.tiktok.com/@{spec.username}",
        "is_verified": spec.is_verified,
        "username": spec.username,
    }[name]


def _tt4d(client_key: str) -> str:
    # video object docs: share links carry the app's client key for TikTok's attribution.
    return f"utm_campaign=tt4d_open_api&utm_source={client_key}"


def video_json(
    sb: Sandbox, video: Video, fields: list[str], client_key: str, now: float
) -> dict[str, object]:
    """Only the requested fields (video object docs)."""
    counts = video.counts_at(now) if any(f.endswith("_count") for f in fields) else (0, 0, 0, 0)
    user = video.username
    page_url = f"https://www.tiktok.com/@{user}/video/{video.id}"
    out: dict[str, object] = {}
    for name in fields:
        if name == "id":
            out[name] = video.id
        elif name == "create_time":
            out[name] = video.create_time
        elif name == "cover_image_url":
            # video object docs: cover URLs live 6 h; renew them with video/query.
            expires = int(now) + sb.config.current.cover_url_ttl
            sig = media_signature(sb.seed, video.id, expires)
            out[name] = (
                f"{sb.base_url}/_sandbox/media/cover/{video.id}.jpeg"
                f"?x-expires={expires}&x-signature={sig}"
            )
        elif name == "share_url":
            out[name] = f"{page_url}?{_tt4d(client_key)}"
        elif name == "video_description":
            out[name] = video.description
        elif name in ("duration", "height", "width", "title", "is_aigc"):
            out[name] = getattr(video, name)
        elif name == "embed_link":
            out[name] = f"https://www.tiktok.com/player/v1/{video.id}?{_tt4d(client_key)}"
        elif name == "embed_html":
            out[name] = (
                f'<blockquote class="tiktok-embed" cite="{page_url}" data-video-id="{video.id}" '
                'style="max-width: 605px;min-width: 325px;"><section><a target="_blank" '
                f'title="@{user}" href="https://www.tiktok.com/@{user}?refer=embed">@{user}</a>'
                "</section></blockquote> "
                '<script async src="https://www.tiktok.com/embed.js"></script>'
            )
        elif name == "view_count":
            out[name] = counts[0]
        elif name == "like_count":
            out[name] = counts[1]
        elif name == "comment_count":
            out[name] = counts[2]
        elif name == "share_count":
            out[name] = counts[3]
    return out


# --- endpoints ------------------------------------------------------------------------------


def user_info(sb: Sandbox, req: Request) -> Response:
    try:
        grant, creator = _guard(sb, req)
        names = _fields(req, USER_FIELD_SCOPES, grant.open_id)
    except _RejectError as exc:
        return exc.response
    granted = set(grant.scopes.split(","))
    missing = order_scopes({USER_FIELD_SCOPES[n] for n in names} - granted)
    if missing:
        # user info docs: fields without their scope → 400 scope_permission_missed (one report
        # says empty fields instead, undocumented; the documented behaviour is emulated).
        return api_error(
            req,
            400,
            "scope_permission_missed",
            f"The requested fields need scope(s) the user did not authorize: {', '.join(missing)}.",
            open_id=grant.open_id,
        )
    user = {n: _user_value(sb, creator, n, req.now) for n in names}
    return api_ok(req, {"user": user}, open_id=grant.open_id)


def video_list(sb: Sandbox, req: Request) -> Response:
    try:
        grant, creator = _guard(sb, req)
        names = _fields(req, _VIDEO_FIELD_SET, grant.open_id)
        body = _json_object(req, grant.open_id)
    except _RejectError as exc:
        return exc.response
    cursor = body.get("cursor")
    max_count = body.get("max_count", MAX_COUNT_DEFAULT)
    if cursor is not None and (not _is_int(cursor) or cursor < 0):  # type: ignore[operator]
        return api_error(
            req,
            400,
            "invalid_params",
            "cursor must be a non-negative integer (UTC epoch milliseconds).",
            open_id=grant.open_id,
        )
    if max_count is None:
        max_count = MAX_COUNT_DEFAULT
    if not _is_int(max_count) or not 1 <= max_count <= MAX_COUNT_LIMIT:  # type: ignore[operator]
        return api_error(
            req,
            400,
            "invalid_params",
            f"max_count must be an integer from 1 to {MAX_COUNT_LIMIT}.",
            open_id=grant.open_id,
        )
    # video list docs: the cursor is epoch ms; return videos posted strictly before it. 0 is read as
    # "unset" (the zero value of an int64 field), i.e. start from the newest video.
    before_s = -(-cursor // 1000) if cursor else None  # ct*1000 < cursor ⇔ ct < ceil(cursor/1000)
    videos, has_more = creator.page(req.now, before_s, max_count)  # type: ignore[arg-type]
    data = {
        "videos": [video_json(sb, v, names, grant.client_key, req.now) for v in videos],
        "cursor": videos[-1].create_time * 1000 if videos else (cursor or 0),
        "has_more": has_more,
    }
    return api_ok(req, data, open_id=grant.open_id)


def video_query(sb: Sandbox, req: Request) -> Response:
    try:
        grant, creator = _guard(sb, req)
        names = _fields(req, _VIDEO_FIELD_SET, grant.open_id)
        body = _json_object(req, grant.open_id)
    except _RejectError as exc:
        return exc.response
    filters = body.get("filters")
    ids = filters.get("video_ids") if isinstance(filters, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        return api_error(
            req,
            400,
            "invalid_params",
            "filters.video_ids must be a non-empty list of video id strings.",
            open_id=grant.open_id,
        )
    if len(ids) > MAX_QUERY_IDS:
        return api_error(
            req,
            400,
            "invalid_params",
            f"filters.video_ids accepts at most {MAX_QUERY_IDS} ids.",
            open_id=grant.open_id,
        )
    videos = []
    for vid in dict.fromkeys(ids):  # repeated ids answer once, request order kept
        video = sb.world.video(vid)
        # video query docs: only this user's public, live videos; the rest is silently left out.
        if video is not None and video.username == creator.username and video.listed_at(req.now):
            videos.append(video_json(sb, video, names, grant.client_key, req.now))
    # The video query reference shows only `videos`; Get-Started adds cursor 0 and has_more.
    return api_ok(req, {"videos": videos, "cursor": 0, "has_more": False}, open_id=grant.open_id)
