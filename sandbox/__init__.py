"""A local, faithful emulator of TikTok's Login Kit v2, Display API and Content Posting API.

    from sandbox import start_sandbox
    with start_sandbox(port=0) as sb:
        print(sb.base_url, sb.auth_url)

See sandbox/README.md for the routes, the control API under /_sandbox/ and the choices made
where tiktok-api.md marks TikTok's behaviour as unverified.
"""

from sandbox.server import (
    DEFAULT_CLIENT_KEY,
    DEFAULT_CLIENT_SECRET,
    SandboxServer,
    start_sandbox,
)

__all__ = ["DEFAULT_CLIENT_KEY", "DEFAULT_CLIENT_SECRET", "SandboxServer", "start_sandbox"]
