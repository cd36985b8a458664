"""The TikTok for Developers v2 client: endpoints, scopes, errors and the HTTP client.

Facts come from TikTok's own reference (https://developers.tiktok.com/doc/overview); nothing
here touches SQLite or knows about accounts: token storage and refresh live in services.accounts.
"""

from services.tiktok.client import TikTokClient, TokenGrant, VideoPage
from services.tiktok.errors import (
    OAuthError,
    TikTokAuthError,
    TikTokError,
    TikTokNetworkError,
    TikTokPostingError,
    TikTokProtocolError,
    TikTokRateLimited,
    TikTokRequestError,
    TikTokScopeError,
    TikTokServerError,
)

__all__ = [
    "OAuthError",
    "TikTokAuthError",
    "TikTokClient",
    "TikTokError",
    "TikTokNetworkError",
    "TikTokPostingError",
    "TikTokProtocolError",
    "TikTokRateLimited",
    "TikTokRequestError",
    "TikTokScopeError",
    "TikTokServerError",
    "TokenGrant",
    "VideoPage",
]
