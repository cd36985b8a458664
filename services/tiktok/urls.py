"""Every TikTok endpoint path Reelboard calls, in one module (the gspread `urls.py` habit).

Paths are relative to ``Settings.api_base_url`` (live: https://open.tiktokapis.com); the
authorize page is a full URL of its own (``Settings.auth_url``), because it lives on another host
(https://developers.tiktok.com/doc/tiktok-api-v2-error-handling). The trailing slashes are part of
TikTok's paths.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# Login Kit / token management (https://developers.tiktok.com/doc/login-kit-web,
# https://developers.tiktok.com/doc/oauth-user-access-token-management).
LIVE_AUTHORIZE_URL = "https://www.tiktok.com/v2/auth/authorize/"
OAUTH_TOKEN = "/v2/oauth/token/"  # §2.1–§2.3 (code and refresh grants)
OAUTH_REVOKE = "/v2/oauth/revoke/"  # §2.4

# Display API (https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info).
USER_INFO = "/v2/user/info/"  # §3.1, GET ?fields=
VIDEO_LIST = "/v2/video/list/"  # §3.2, POST ?fields=
VIDEO_QUERY = "/v2/video/query/"  # §3.3, POST ?fields=

# Content Posting API (https://developers.tiktok.com/doc/content-posting-api-get-started); used by
# services.publishing.
CREATOR_INFO = "/v2/post/publish/creator_info/query/"  # §4.1
VIDEO_INIT = "/v2/post/publish/video/init/"  # §4.2 direct post
INBOX_VIDEO_INIT = "/v2/post/publish/inbox/video/init/"  # §4.3 drafts
CONTENT_INIT = "/v2/post/publish/content/init/"  # §4.4 photos
STATUS_FETCH = "/v2/post/publish/status/fetch/"  # §4.6
PUBLISH_CANCEL = "/v2/post/publish/cancel/"  # §4.7

#: Endpoints that only read, so a request may be sent again after a timeout or a 5xx without
#: changing anything at TikTok (our reliability rules: retry idempotent calls only).
READ_ONLY = frozenset({USER_INFO, VIDEO_LIST, VIDEO_QUERY, CREATOR_INFO, STATUS_FETCH})


def join(base_url: str, path: str) -> str:
    """``base_url`` (no trailing slash needed) + an endpoint path from this module."""
    return base_url.rstrip("/") + path


def path_of(url: str) -> str:
    return urlsplit(url).path
