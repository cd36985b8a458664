"""Scope and field tables of Login Kit v2 and the Display API.

Everything here is copied from the user info, video object and scope docs; the rest of the
sandbox reads these tables instead of repeating the strings.
"""

from __future__ import annotations

# scope docs: the public TT4D v2 scopes that Login Kit can grant to a web app.
# (research.*, portability.* and local.* belong to other products and are rejected.)
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "user.info.basic": "Read your profile info (avatar, display name)",
    "user.info.profile": "Read your profile details (username, bio, profile links, verified badge)",
    "user.info.stats": "Read your statistics (likes, followers, following and video counts)",
    "video.list": "Read your public videos on TikTok",
    "video.publish": "Directly post content to your TikTok profile",
    "video.upload": "Share content to TikTok as drafts for you to finish in the app",
}
KNOWN_SCOPES: frozenset[str] = frozenset(SCOPE_DESCRIPTIONS)

# scope docs: "user.info.basic … added by default with Login Kit", so it is always granted
# and the consent page shows it as required.
REQUIRED_SCOPE = "user.info.basic"

# user info docs: user object fields and the scope each one needs.
USER_FIELD_SCOPES: dict[str, str] = {
    "open_id": "user.info.basic",
    "union_id": "user.info.basic",
    "avatar_url": "user.info.basic",
    "avatar_url_100": "user.info.basic",
    "avatar_large_url": "user.info.basic",
    "display_name": "user.info.basic",
    "bio_description": "user.info.profile",
    "profile_deep_link": "user.info.profile",
    "profile_web_link": "user.info.profile",
    "is_verified": "user.info.profile",
    "username": "user.info.profile",
    "follower_count": "user.info.stats",
    "following_count": "user.info.stats",
    "likes_count": "user.info.stats",
    "video_count": "user.info.stats",
}

# video object docs: every video field needs only video.list.
VIDEO_FIELDS: tuple[str, ...] = (
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    "is_aigc",
)

# The scope each Display endpoint checks before anything else (TikTok's order).
ENDPOINT_SCOPES: dict[str, str] = {
    "/v2/user/info/": "user.info.basic",
    "/v2/video/list/": "video.list",
    "/v2/video/query/": "video.list",
}


def split_scopes(raw: str) -> list[str]:
    """Split a comma-separated scope string, keeping order and dropping blanks and repeats.

    Login Kit: scopes are comma-separated; a percent-encoded comma arrives here already
    decoded by the query-string parser.
    """
    seen: list[str] = []
    for item in raw.split(","):
        scope = item.strip()
        if scope and scope not in seen:
            seen.append(scope)
    return seen


def order_scopes(scopes: set[str] | list[str]) -> list[str]:
    """Scopes in the canonical order of SCOPE_DESCRIPTIONS (stable output for callbacks/tokens)."""
    wanted = set(scopes)
    return [s for s in SCOPE_DESCRIPTIONS if s in wanted]
