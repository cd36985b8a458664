"""A local, faithful emulator of TikTok's Login Kit v2, Display API and Content Posting API.

    from sandbox import start_sandbox
    with start_sandbox(port=0) as sb:
        print(sb.base_url, sb.auth_url)

See sandbox/README.md for the routes, the control API under /_sandbox/ and the choices made
where TikTok's docs are silent. Comments name TikTok's doc pages, all under
https://developers.tiktok.com/doc/: Login Kit = login-kit-web, token docs =
oauth-user-access-token-management, OAuth errors = oauth-error-handling, v2 conventions and error
codes = tiktok-api-v2-error-handling, user info / video list / video query / video object docs =
tiktok-api-v2-get-user-info / -video-list / -video-query / -video-object, rate-limit docs =
tiktok-api-v2-rate-limit, scope docs = tiktok-api-scopes; posting modules link their pages.
"""

from sandbox.server import (
    DEFAULT_CLIENT_KEY,
    DEFAULT_CLIENT_SECRET,
    SandboxServer,
    start_sandbox,
)

__all__ = ["DEFAULT_CLIENT_KEY", "DEFAULT_CLIENT_SECRET", "SandboxServer", "start_sandbox"]
