"""Content Posting API: creator_info, the three inits, status/fetch and cancel.

TikTok's references, followed to the letter (the upload PUT is in upload.py):
https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info
https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
https://developers.tiktok.com/doc/content-posting-api-reference-upload-video
https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
https://developers.tiktok.com/doc/content-sharing-guidelines (caps, unaudited clients)

Checks run token → scope → rate limit → parameters → posting rules. A post is one row in the
state store; its status is computed from that row and the simulated clock, so the same post
reads the same from every process and advancing the clock moves it along:

    init → PROCESSING_UPLOAD / PROCESSING_DOWNLOAD → (media in + processing_delay_s) → FAILED
         or PUBLISH_COMPLETE (direct) / SEND_TO_USER_INBOX (drafts) → (user posts) → COMPLETE
    publicaly_available_post_id: [] until moderation_delay_s after completion, public posts only.

Rate limits are per access token (the references say "per user access_token"), one window per
endpoint: each init reference states its own 6/min, and TikTok enforces its other limits "set
and enforced separately" per API (https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sandbox import mediacheck
from sandbox.display import _bearer, avatar_url
from sandbox.growth import VideoCurve
from sandbox.ids import secret_hash
from sandbox.web import Request, Response, api_error, api_ok, json_response
from sandbox.world import Creator, Video

if TYPE_CHECKING:
    from sandbox.core import Sandbox
    from sandbox.state import TokenGrant

DAY = 86400.0
MIB = 1024 * 1024
MIN_CHUNK, MAX_CHUNK, MAX_LAST_CHUNK = 5 * MIB, 64 * MIB, 128 * MIB
MAX_CHUNKS = 1000
MAX_VIDEO_BYTES = 4 * 1024**3
MAX_TITLE_VIDEO, MAX_TITLE_PHOTO, MAX_DESCRIPTION_PHOTO = 2200, 90, 4000
MAX_PHOTOS = 35

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
VIDEO_INIT = "/v2/post/publish/video/init/"
INBOX_INIT = "/v2/post/publish/inbox/video/init/"
CONTENT_INIT = "/v2/post/publish/content/init/"
STATUS = "/v2/post/publish/status/fetch/"
CANCEL = "/v2/post/publish/cancel/"

PUBLIC = "PUBLIC_TO_EVERYONE"
PUBLIC_OPTIONS = [PUBLIC, "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
PRIVATE_OPTIONS = ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]

MESSAGES = {
    "spam_risk_too_many_posts": "The daily post cap of this creator has been reached.",
    "spam_risk_user_banned_from_posting": "This creator is banned from making new posts.",
    "reached_active_user_cap": "The daily quota of active publishing users of this client "
    "has been reached.",
    "unaudited_client_can_only_post_to_private_accounts": "Unaudited clients can only post to "
    "a private account.",
    "url_ownership_unverified": "The domain or URL prefix of the media URL is not verified by "
    "this app.",
    "privacy_level_option_mismatch": "privacy_level is missing or not one of the creator's "
    "privacy_level_options.",
    "spam_risk_too_many_pending_share": "This creator has too many pending shares in the last "
    "24 hours.",
    "invalid_publish_id": "The publish_id does not exist.",
    "token_not_authorized_for_specified_publish_id": "The access token has no permission for "
    "this publish_id.",
    "publish_not_cancellable": "The post is not being downloaded and cannot be cancelled.",
}


class _Reject(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _error(req: Request, status: int, code: str, message: str | None = None, open_id=None):
    return _Reject(api_error(req, status, code, message or MESSAGES.get(code), open_id=open_id))


def _handler(fn):
    def wrapped(sb: Sandbox, req: Request) -> Response:
        try:
            return fn(sb, req)
        except _Reject as exc:
            return exc.response

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


# --- guards and small rules -----------------------------------------------------------------


def _guard(
    sb: Sandbox, req: Request, scopes: tuple[str, ...], limit: int
) -> tuple[TokenGrant, Creator]:
    token = _bearer(req)
    grant = None
    if token is not None:
        with sb.store.read() as tx:
            grant = tx.find_access_token(token, req.now)
    if grant is None:
        raise _error(req, 401, "access_token_invalid")
    creator = sb.world.creator(grant.open_id)
    if creator is None:
        sb.sync_world()
        creator = sb.world.creator(grant.open_id)
    if creator is None:
        raise _error(req, 401, "access_token_invalid")
    if not set(scopes) & set(grant.scopes.split(",")):
        raise _error(req, 401, "scope_not_authorized", open_id=grant.open_id)
    if not sb.limiter.admit((req.path, "token", secret_hash(token or "")), req.now, limit):
        raise _error(req, 429, "rate_limit_exceeded", open_id=grant.open_id)
    return grant, creator


def _body(req: Request, open_id: str) -> dict[str, object]:
    try:
        body = req.json_body()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _error(req, 400, "invalid_params", "The request body must be a JSON object.", open_id)
    return body


def _obj(req: Request, body: dict, key: str, open_id: str, required: bool = True) -> dict:
    value = body.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _error(req, 400, "invalid_params", f"{key} must be an object.", open_id)
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def utf16_len(text: str) -> int:
    """Caption limits count UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def privacy_options(creator: Creator) -> list[str]:
    return list(PRIVATE_OPTIONS if creator.spec.is_private else PUBLIC_OPTIONS)


def chunk_error(video_size: int, chunk_size: int, count: int) -> str | None:
    """The media transfer guide's chunk rules; None when the plan is valid.

    count = floor(size / chunk) with the remainder merged into the last chunk; chunks of
    5-64 MiB (the last up to 128 MiB); files under 5 MiB go whole; a single chunk must be the
    whole file and at most 64 MiB (larger files need 2+ chunks); 1-1000 chunks."""
    chunk_bad, count_bad = "The chunk size is invalid", "The total chunk count is invalid"
    if video_size < MIN_CHUNK or count == 1:
        if chunk_size != video_size or video_size > MAX_CHUNK:
            return chunk_bad
        return None if count == 1 else count_bad
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK or chunk_size > video_size:
        return chunk_bad
    if count != video_size // chunk_size or not 1 <= count <= MAX_CHUNKS:
        return count_bad
    if video_size - chunk_size * (count - 1) > MAX_LAST_CHUNK:
        return chunk_bad
    return None


def url_verified(url: str, properties: tuple[str, ...]) -> bool:
    """HTTPS and under a verified URL prefix (exact prefix) or domain (with its subdomains)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return False
    host = parts.hostname.lower()
    for prop in properties:
        if prop.startswith("https://"):
            if url.startswith(prop):
                return True
        elif host == prop.lower() or host.endswith("." + prop.lower()):
            return True
    return False


def _failed(post: dict) -> bool:
    return bool(post["result"]) or post["cancelled_at"] is not None


def _banned(sb: Sandbox, open_id: str) -> bool:
    with sb.store.read() as tx:
        return tx.get_meta(f"posting_banned:{open_id}") == "1"


def _unaudited(sb: Sandbox, creator: Creator) -> bool:
    return sb.config.current.unaudited_client or creator.spec.unaudited_app


def _usage(sb: Sandbox, open_id: str, now: float) -> tuple[int, int]:
    """(posts, pending drafts) of a creator in the last 24 h, across all apps."""
    with sb.store.read() as tx:
        rows = tx.posts(open_id, since=now - DAY)
    posts = sum(1 for r in rows if r["mode"] == "direct" and not _failed(r))
    posts += sum(1 for r in rows if r["user_posted_at"] is not None and not _failed(r))
    pending = sum(
        1 for r in rows if r["mode"] == "inbox" and r["user_posted_at"] is None and not _failed(r)
    )
    return posts, pending


def _active_cap_reached(sb: Sandbox, grant: TokenGrant, creator: Creator, now: float) -> bool:
    """Unaudited clients: at most N distinct posting users in 24 h."""
    if not _unaudited(sb, creator):
        return False
    with sb.store.read() as tx:
        users = {r["open_id"] for r in tx.client_posts_since(grant.client_key, now - DAY)}
    return creator.open_id not in users and len(users) >= sb.config.current.unaudited_user_cap


# --- creator_info ---------------------------------------------------------------------------


@_handler
def creator_info(sb: Sandbox, req: Request) -> Response:
    cfg = sb.config.current
    grant, creator = _guard(sb, req, ("video.publish",), cfg.creator_info_per_minute)
    # The body is empty by the reference; a JSON body is ignored, not rejected.
    # These three codes come back with HTTP 200 ("200 (intentional)" in the reference).
    for code, hit in (
        ("spam_risk_user_banned_from_posting", lambda: _banned(sb, creator.open_id)),
        (
            "spam_risk_too_many_posts",
            lambda: _usage(sb, creator.open_id, req.now)[0] >= cfg.posts_per_day,
        ),
        ("reached_active_user_cap", lambda: _active_cap_reached(sb, grant, creator, req.now)),
    ):
        if hit():
            return api_error(req, 200, code, MESSAGES[code], open_id=creator.open_id)
    spec = creator.spec

    data = {
        "creator_avatar_url": avatar_url(sb, creator, 168),
        "creator_username": creator.username,
        "creator_nickname": creator.display_name,
        "privacy_level_options": privacy_options(creator),
        "comment_disabled": spec.comment_disabled,
        "duet_disabled": spec.duet_disabled or spec.is_private,
        "stitch_disabled": spec.stitch_disabled or spec.is_private,
        "max_video_post_duration_sec": spec.max_video_post_duration_sec,
    }
    return api_ok(req, data, open_id=creator.open_id)


# --- inits ----------------------------------------------------------------------------------


def _new_id() -> str:
    return f"7{secrets.randbelow(10**18):018d}"


def _source(req: Request, body: dict, open_id: str, photo: bool = False) -> dict[str, object]:
    """Validated source_info: {source, video_size, chunk_size, count} or {source, urls}."""
    info = _obj(req, body, "source_info", open_id)
    source = info.get("source")
    allowed = ("PULL_FROM_URL",) if photo else ("FILE_UPLOAD", "PULL_FROM_URL")
    if source not in allowed:
        raise _error(
            req,
            400,
            "invalid_params",
            f"source_info.source must be {' or '.join(allowed)}.",
            open_id,
        )
    if photo:
        images = info.get("photo_images")
        if (
            not isinstance(images, list)
            or not 1 <= len(images) <= MAX_PHOTOS
            or not all(isinstance(u, str) and u for u in images)
        ):
            raise _error(
                req,
                400,
                "invalid_params",
                f"source_info.photo_images must be a list of 1-{MAX_PHOTOS} URLs.",
                open_id,
            )
        cover = info.get("photo_cover_index")
        if not _is_int(cover) or not 0 <= cover < len(images):
            raise _error(
                req,
                400,
                "invalid_params",
                "source_info.photo_cover_index must be the 0-based index of one of the images.",
                open_id,
            )
        return {"source": source, "urls": list(images)}
    if source == "PULL_FROM_URL":
        url = info.get("video_url")
        if not isinstance(url, str) or not url:
            raise _error(req, 400, "invalid_params", "source_info.video_url is required.", open_id)
        return {"source": source, "urls": [url]}
    size, chunk, count = (info.get(k) for k in ("video_size", "chunk_size", "total_chunk_count"))
    if not (_is_int(size) and _is_int(chunk) and _is_int(count)) or size <= 0 or chunk <= 0:
        raise _error(
            req,
            400,
            "invalid_params",
            "source_info needs video_size, chunk_size and total_chunk_count as positive integers.",
            open_id,
        )
    if size > MAX_VIDEO_BYTES:
        raise _error(req, 400, "invalid_params", "The video size is invalid", open_id)
    problem = chunk_error(size, chunk, count)
    if problem:
        raise _error(req, 400, "invalid_params", problem, open_id)
    return {"source": source, "video_size": size, "chunk_size": chunk, "count": count}


def _text(req: Request, info: dict, key: str, limit: int, open_id: str) -> str:
    value = info.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _error(req, 400, "invalid_params", f"post_info.{key} must be a string.", open_id)
    if utf16_len(value) > limit:
        raise _error(
            req,
            400,
            "invalid_params",
            f"post_info.{key} is longer than {limit} UTF-16 code units.",
            open_id,
        )
    return value


def _flags(req: Request, info: dict, keys: tuple[str, ...], open_id: str) -> None:
    for key in keys:
        if key in info and info[key] is not None and not isinstance(info[key], bool):
            raise _error(req, 400, "invalid_params", f"post_info.{key} must be a boolean.", open_id)


_VIDEO_FLAGS = (
    "disable_duet",
    "disable_stitch",
    "disable_comment",
    "brand_content_toggle",
    "brand_organic_toggle",
    "is_aigc",
)
_PHOTO_FLAGS = ("disable_comment", "auto_add_music", "brand_content_toggle", "brand_organic_toggle")


def _direct_rules(
    sb: Sandbox, req: Request, grant: TokenGrant, creator: Creator, privacy: object
) -> None:
    """403s of a direct post, in this order: ban, active-user cap, unaudited/public account,
    privacy, daily post cap (TikTok does not document an order)."""
    oid = creator.open_id
    if _banned(sb, oid):
        raise _error(req, 403, "spam_risk_user_banned_from_posting", open_id=oid)
    # The app-wide cap first: a client over its user cap is refused for any new user.
    if _active_cap_reached(sb, grant, creator, req.now):
        raise _error(req, 403, "reached_active_user_cap", open_id=oid)
    # The condition is the *account* being public, whatever privacy the post asks for.
    if _unaudited(sb, creator) and not creator.spec.is_private:
        raise _error(req, 403, "unaudited_client_can_only_post_to_private_accounts", open_id=oid)
    if privacy not in privacy_options(creator):
        raise _error(req, 403, "privacy_level_option_mismatch", open_id=oid)
    if _usage(sb, oid, req.now)[0] >= sb.config.current.posts_per_day:
        raise _error(req, 403, "spam_risk_too_many_posts", open_id=oid)


def _inbox_rules(sb: Sandbox, req: Request, creator: Creator) -> None:
    oid = creator.open_id
    if _banned(sb, oid):
        raise _error(req, 403, "spam_risk_user_banned_from_posting", open_id=oid)
    if _usage(sb, oid, req.now)[1] >= sb.config.current.pending_shares_per_day:
        raise _error(req, 403, "spam_risk_too_many_pending_share", open_id=oid)


def _ownership(sb: Sandbox, req: Request, urls: list[str], open_id: str) -> None:
    props = sb.config.current.verified_url_prefixes
    if not all(url_verified(u, props) for u in urls):
        raise _error(req, 403, "url_ownership_unverified", open_id=open_id)


def _create(
    sb: Sandbox,
    req: Request,
    grant: TokenGrant,
    creator: Creator,
    *,
    prefix: str,
    media: str,
    mode: str,
    src: dict[str, object],
    privacy: str | None,
    title: str,
    post_info: dict,
) -> Response:
    cfg = sb.config.current
    publish_id = f"{prefix}.{_new_id()}"
    row: dict[str, object] = {
        "publish_id": publish_id,
        "client_key": grant.client_key,
        "open_id": creator.open_id,
        "media": media,
        "mode": mode,
        "source": src["source"],
        "privacy_level": privacy,
        "title": title,
        "post_info": json.dumps(post_info, ensure_ascii=False),
        "pull_urls": json.dumps(src.get("urls", [])),
        "created_at": req.now,
        "post_id": _new_id(),
    }
    data: dict[str, object] = {"publish_id": publish_id}
    if src["source"] == "FILE_UPLOAD":
        upload_id, token = _new_id(), secrets.token_urlsafe(24)
        row |= {
            "video_size": src["video_size"],
            "chunk_size": src["chunk_size"],
            "chunk_count": src["count"],
            "upload_id": upload_id,
            "upload_token_hash": secret_hash(token),
            "upload_expires_at": req.now + cfg.upload_url_ttl,
        }
        data["upload_url"] = (
            f"{sb.base_url}/upload/video/?upload_id={upload_id}&upload_token={token}"
        )
    with sb.store.transaction() as tx:
        tx.insert_post(row)
    if src["source"] == "PULL_FROM_URL":
        threading.Thread(
            target=_pull,
            args=(
                sb,
                publish_id,
                list(src["urls"]),
                media,
                creator.spec.max_video_post_duration_sec,
            ),
            name=f"sandbox-pull-{publish_id}",
            daemon=True,
        ).start()
    return api_ok(req, data, open_id=creator.open_id)


@_handler
def video_init(sb: Sandbox, req: Request) -> Response:
    grant, creator = _guard(sb, req, ("video.publish",), sb.config.current.post_init_per_minute)
    oid = creator.open_id
    body = _body(req, oid)
    info = _obj(req, body, "post_info", oid)
    src = _source(req, body, oid)
    title = _text(req, info, "title", MAX_TITLE_VIDEO, oid)
    _flags(req, info, _VIDEO_FLAGS, oid)
    cover = info.get("video_cover_timestamp_ms")
    if cover is not None and not _is_int(cover):
        raise _error(
            req, 400, "invalid_params", "video_cover_timestamp_ms must be an integer.", oid
        )
    privacy = info.get("privacy_level")
    _direct_rules(sb, req, grant, creator, privacy)
    if src["source"] == "PULL_FROM_URL":
        _ownership(sb, req, src["urls"], oid)
    prefix = "v_pub_file~v2-1" if src["source"] == "FILE_UPLOAD" else "v_pub_url~v2"
    return _create(
        sb, req, grant, creator, prefix=prefix, media="video", mode="direct", src=src,
        privacy=str(privacy), title=title, post_info=info,
    )  # fmt: skip


@_handler
def inbox_init(sb: Sandbox, req: Request) -> Response:
    # video.publish alone does not authorize drafts: scope_not_authorized (integrators' reports).
    grant, creator = _guard(sb, req, ("video.upload",), sb.config.current.post_init_per_minute)
    oid = creator.open_id
    body = _body(req, oid)
    src = _source(req, body, oid)  # only source_info; post_info and other fields are ignored
    _inbox_rules(sb, req, creator)
    if src["source"] == "PULL_FROM_URL":
        _ownership(sb, req, src["urls"], oid)
    prefix = "v_inbox_file~v2" if src["source"] == "FILE_UPLOAD" else "v_inbox_url~v2"
    return _create(
        sb, req, grant, creator, prefix=prefix, media="video", mode="inbox", src=src,
        privacy=None, title="", post_info={},
    )  # fmt: skip


@_handler
def content_init(sb: Sandbox, req: Request) -> Response:
    try:
        peek = req.json_body()
    except ValueError:
        peek = None
    mode = peek.get("post_mode") if isinstance(peek, dict) else None
    scopes = {"DIRECT_POST": ("video.publish",), "MEDIA_UPLOAD": ("video.upload",)}.get(
        mode, ("video.publish", "video.upload")
    )
    grant, creator = _guard(sb, req, scopes, sb.config.current.post_init_per_minute)
    oid = creator.open_id
    body = _body(req, oid)
    if body.get("media_type") != "PHOTO":
        raise _error(req, 400, "invalid_params", "media_type must be PHOTO.", oid)
    if mode not in ("DIRECT_POST", "MEDIA_UPLOAD"):
        raise _error(
            req, 400, "invalid_params", "post_mode must be DIRECT_POST or MEDIA_UPLOAD.", oid
        )
    info = _obj(req, body, "post_info", oid, required=mode == "DIRECT_POST")
    src = _source(req, body, oid, photo=True)
    title = _text(req, info, "title", MAX_TITLE_PHOTO, oid)
    _text(req, info, "description", MAX_DESCRIPTION_PHOTO, oid)
    _flags(req, info, _PHOTO_FLAGS, oid)
    if "is_aigc" in body and not isinstance(body["is_aigc"], bool):
        raise _error(req, 400, "invalid_params", "is_aigc must be a boolean.", oid)
    if mode == "DIRECT_POST":
        privacy = info.get("privacy_level")
        _direct_rules(sb, req, grant, creator, privacy)
    else:
        privacy = None
        _inbox_rules(sb, req, creator)
    _ownership(sb, req, src["urls"], oid)
    direct = mode == "DIRECT_POST"
    return _create(
        sb, req, grant, creator, prefix="p_pub_url~v2" if direct else "p_inbox_url~v2",
        media="photo", mode="direct" if direct else "inbox", src=src,
        privacy=None if privacy is None else str(privacy), title=title, post_info=info,
    )  # fmt: skip


# --- the media: pulls, checks, completion ---------------------------------------------------


def upload_dir(sb: Sandbox) -> Path:
    """Where uploads and pulls are written: next to the state file, else a private temp dir."""
    return sb.media_dir()


def media_path(sb: Sandbox, publish_id: str, part: int | str = "upload") -> Path:
    name = hashlib.sha256(publish_id.encode()).hexdigest()[:24]
    return upload_dir(sb) / f"{name}.{part}"


def finish_media(
    sb: Sandbox, post: dict, result: str, info: dict[str, int] | None = None
) -> dict[str, object]:
    """The media has fully arrived (or failed to): record the check result and the instants at
    which the post becomes final and, for public direct posts, publicly available."""
    cfg = sb.config.current
    now = sb.clock.now()
    start = now
    if post["source"] == "PULL_FROM_URL":
        start = max(now, float(post["created_at"]) + cfg.download_delay_s)
    ready = start + (cfg.processing_delay_s if not result.endswith("_pull_failed") else 0)
    changes: dict[str, object] = {"media_done_at": now, "result": result, "ready_at": ready}
    if info:
        changes |= info
    if not result and post["mode"] == "direct" and _is_public(sb, post):
        changes["public_at"] = ready + cfg.moderation_delay_s
    with sb.store.transaction() as tx:
        tx.update_post(str(post["publish_id"]), changes)
    return changes


def _is_public(sb: Sandbox, post: dict) -> bool:
    if post["privacy_level"] != PUBLIC:
        return False
    creator = sb.world.creator(str(post["open_id"]))
    # Unaudited clients only ever post privately (Content Sharing Guidelines).
    return creator is not None and not _unaudited(sb, creator)


def _pull(sb: Sandbox, publish_id: str, urls: list[str], media: str, max_s: int) -> None:
    try:
        _pull_all(sb, publish_id, urls, media, max_s)
    except sqlite3.ProgrammingError:
        pass  # the sandbox stopped (its store is closed) while this download ran


def _pull_all(sb: Sandbox, publish_id: str, urls: list[str], media: str, max_s: int) -> None:
    result, info = "", None
    files: list[Path] = []
    done = 0

    def progress(n: int) -> None:
        with sb.store.transaction() as tx:
            tx.update_post(publish_id, {"downloaded_bytes": done + n})

    try:
        for i, url in enumerate(urls):
            dest = media_path(sb, publish_id, i)
            files.append(dest)
            try:
                done += mediacheck.fetch(url, dest, progress)
            except mediacheck.PullError:
                result = f"{media}_pull_failed"
                break
            if media == "photo":
                result = mediacheck.check_photo(dest)
            else:
                result, info = mediacheck.check_video(dest, max_s)
            if result:
                break
    except Exception:  # never leave a post hanging on a sandbox bug
        result = "internal"
    finally:
        for f in files:
            f.unlink(missing_ok=True)
    with sb.store.read() as tx:
        post = tx.get_post(publish_id)
    if post is not None:
        finish_media(sb, post, result, info)


def status_data(post: dict, now: float) -> dict[str, object]:
    """status/fetch `data` for a post at `now`, with only the fields that apply (a real FAILED
    answer carries just status and fail_reason)."""
    if post["cancelled_at"] is not None:
        return {"status": "FAILED", "fail_reason": "publish_cancelled"}
    upload = post["source"] == "FILE_UPLOAD"
    key = "uploaded_bytes" if upload else "downloaded_bytes"
    ready = post["ready_at"]
    if post["result"] is None or ready is None or now < ready:
        return {"status": "PROCESSING_UPLOAD" if upload else "PROCESSING_DOWNLOAD", key: post[key]}
    if post["result"]:
        return {"status": "FAILED", "fail_reason": post["result"]}
    if post["mode"] == "inbox" and (post["user_posted_at"] is None or now < post["user_posted_at"]):
        return {"status": "SEND_TO_USER_INBOX", key: post[key]}
    public_at = post["public_at"]
    ids = [int(str(post["post_id"]))] if public_at is not None and now >= public_at else []
    return {"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": ids, key: post[key]}


def _own_post(sb: Sandbox, req: Request, grant: TokenGrant) -> dict:
    oid = grant.open_id
    body = _body(req, oid)
    publish_id = body.get("publish_id")
    post = None
    if isinstance(publish_id, str) and publish_id:
        with sb.store.read() as tx:
            post = tx.get_post(publish_id)
    if post is None:
        raise _error(req, 400, "invalid_publish_id", open_id=oid)
    if post["open_id"] != oid or post["client_key"] != grant.client_key:
        raise _error(req, 400, "token_not_authorized_for_specified_publish_id", open_id=oid)
    return post


@_handler
def status_fetch(sb: Sandbox, req: Request) -> Response:
    scopes = ("video.upload", "video.publish")
    grant, _ = _guard(sb, req, scopes, sb.config.current.status_per_minute)
    post = _own_post(sb, req, grant)
    return api_ok(req, status_data(post, req.now), open_id=grant.open_id)


@_handler
def cancel(sb: Sandbox, req: Request) -> Response:
    # No documented rate limit for cancel.
    grant, _ = _guard(sb, req, ("video.upload", "video.publish"), 1_000_000_000)
    post = _own_post(sb, req, grant)
    status = status_data(post, req.now)["status"]
    # Best effort, PULL downloads only: a task already processing (or final) cannot be cancelled.
    downloading = req.now < float(post["created_at"]) + sb.config.current.download_delay_s
    if post["source"] != "PULL_FROM_URL" or status != "PROCESSING_DOWNLOAD" or not downloading:
        raise _error(req, 400, "publish_not_cancellable", open_id=grant.open_id)
    with sb.store.transaction() as tx:
        tx.update_post(str(post["publish_id"]), {"cancelled_at": req.now})
    return api_ok(req, {}, open_id=grant.open_id)


# --- published videos in the world ----------------------------------------------------------


def sync_posts(sb: Sandbox) -> None:
    """Put public videos that posted successfully into their creator's list (from the instant
    they pass moderation: video/list and video/query return public posts only)."""
    with sb.store.read() as tx:
        rows = [
            r
            for r in tx.posts()
            if r["media"] == "video" and r["result"] == "" and r["public_at"] is not None
        ]
    for r in rows:
        if sb.world.video(str(r["post_id"])) is not None or r["cancelled_at"] is not None:
            continue
        creator = sb.world.creator(str(r["open_id"]))
        if creator is None:
            continue
        caption = str(r["title"] or "")
        sb.world.add_posted(
            creator.username,
            Video(
                id=str(r["post_id"]),
                username=creator.username,
                create_time=int(float(r["public_at"])),
                is_public=True,
                deleted_at=None,
                title=caption[:150],
                description=caption[:150],
                duration=int(r["duration"] or 0),
                width=int(r["width"] or 0),
                height=int(r["height"] or 0),
                is_aigc=bool(json.loads(str(r["post_info"] or "{}")).get("is_aigc")),
                curve=VideoCurve(
                    scale=creator.spec.median_views,
                    tau_s=12 * 3600.0,
                    tail=0.1,
                    like_ratio=0.08,
                    comment_ratio=0.003,
                    share_ratio=0.004,
                ),
            ),
        )


# --- control routes (/_sandbox/posts…) ------------------------------------------------------


def _summary(sb: Sandbox, post: dict, now: float) -> dict[str, object]:
    creator = sb.world.creator(str(post["open_id"]))
    return {
        "publish_id": post["publish_id"],
        "creator": creator.username if creator else None,
        "open_id": post["open_id"],
        "media": post["media"],
        "mode": post["mode"],
        "source": post["source"],
        "privacy_level": post["privacy_level"],
        "title": post["title"],
        "created_at": post["created_at"],
        "post_id": post["post_id"],
        **status_data(post, now),
    }


def control_posts(sb: Sandbox, req: Request) -> Response:
    """GET /_sandbox/posts[?creator=username|open_id]: every post with its current status."""
    key = req.arg("creator")
    open_id = None
    if key:
        creator = sb.world.creator(key)
        if creator is None:
            return json_response(404, {"error": f"no creator {key!r}"})
        open_id = creator.open_id
    with sb.store.read() as tx:
        rows = tx.posts(open_id)
    return json_response(200, [_summary(sb, r, req.now) for r in rows])


def control_complete_draft(sb: Sandbox, req: Request) -> Response:
    """POST /_sandbox/posts/complete_draft {"publish_id", "privacy_level"?, "title"?}: the
    creator opens the inbox notification and posts the draft."""
    body = req.json_body()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    publish_id = body.get("publish_id")
    with sb.store.read() as tx:
        post = tx.get_post(publish_id) if isinstance(publish_id, str) else None
    if post is None:
        return json_response(404, {"error": "no such publish_id"})
    if status_data(post, req.now)["status"] != "SEND_TO_USER_INBOX":
        return json_response(409, {"error": "only a post in SEND_TO_USER_INBOX can be posted"})
    creator = sb.world.creator(str(post["open_id"]))
    options = privacy_options(creator) if creator else PUBLIC_OPTIONS
    privacy = body.get("privacy_level", options[0])
    if privacy not in options:
        raise ValueError(f"privacy_level must be one of {options}")
    title = body.get("title", "")
    if not isinstance(title, str) or utf16_len(title) > MAX_TITLE_VIDEO:
        raise ValueError(f"title must be a string of at most {MAX_TITLE_VIDEO} UTF-16 units")
    changes: dict[str, object] = {
        "user_posted_at": req.now,
        "privacy_level": privacy,
        "title": title,
    }
    post |= changes
    if _is_public(sb, post):
        changes["public_at"] = req.now + sb.config.current.moderation_delay_s
    with sb.store.transaction() as tx:
        tx.update_post(str(publish_id), changes)
        post = tx.get_post(str(publish_id)) or post
    return json_response(200, _summary(sb, post, req.now))


def control_ban(sb: Sandbox, req: Request) -> Response:
    """POST /_sandbox/posts/ban {"creator", "banned": bool}: spam_risk_user_banned_from_posting."""
    body = req.json_body()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    key, banned = body.get("creator"), body.get("banned", True)
    creator = sb.world.creator(key) if isinstance(key, str) else None
    if creator is None or not isinstance(banned, bool):
        raise ValueError("give creator (username or open_id) and banned (true or false)")
    with sb.store.transaction() as tx:
        tx.set_meta(f"posting_banned:{creator.open_id}", "1" if banned else None)
    return json_response(200, {"creator": creator.username, "banned": banned})


ROUTES = {
    CREATOR_INFO: {"POST": creator_info},
    VIDEO_INIT: {"POST": video_init},
    INBOX_INIT: {"POST": inbox_init},
    CONTENT_INIT: {"POST": content_init},
    STATUS: {"POST": status_fetch},
    CANCEL: {"POST": cancel},
}
