"""Identifiers: stable ones derived from the seed, random ones for secrets.

World identifiers (open_id, union_id, video ids) are pure functions of the seed so that two
sandboxes with the same seed agree. Codes, tokens and log ids are random (secrets module): they
must never be guessable, even in a sandbox, because the app treats them as credentials.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

_OPEN_ID_PREFIX = "-000"  # v2 conventions: a real open_id looks like -000YSS_OTWKQzsQ-Q6f…


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()


def open_id_for(seed: int, username: str) -> str:
    """`-000` + 32 url-safe characters, stable for (seed, username) (v2 conventions)."""
    text = base64.urlsafe_b64encode(_digest(seed, "open_id", username)).decode()
    return _OPEN_ID_PREFIX + text[:32]


def union_id_for(seed: int, username: str) -> str:
    """A UUID-shaped id; the user info docs say it is shared across one developer's apps, so no
    client key."""
    h = _digest(seed, "union_id", username).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def profile_short_code(seed: int, username: str) -> str:
    """Short-link code for profile_deep_link (https://vm.tiktok.com/ZM…/)."""
    text = base64.urlsafe_b64encode(_digest(seed, "deep_link", username)).decode()
    return "ZM" + "".join(c for c in text if c.isalnum())[:7]


def new_code() -> str:
    """An authorization code shaped like TikTok's: `<b64>*<d>!<4 digits>`.

    Login Kit: codes contain `*` and `!` (e.g. `…*0!6410`), so clients must URL-decode.
    """
    return f"{secrets.token_urlsafe(48)}*{secrets.randbelow(3)}!{1000 + secrets.randbelow(9000)}"


def _token_body() -> str:
    # Shaped like real tokens: hex, then base64url, then `!<digits>.va`.
    return f"{secrets.token_hex(16)}{secrets.token_urlsafe(24)}!{secrets.randbelow(10000):04d}.va"


def new_access_token() -> str:
    """`act.` prefix as in the docs' examples (v2 conventions)."""
    return f"act.{_token_body()}"


def new_refresh_token() -> str:
    """`rft.` prefix as in the docs' examples (v2 conventions)."""
    return f"rft.{_token_body()}"


def new_client_token() -> str:
    """`clt.` prefix (client token docs)."""
    return f"clt.{secrets.token_hex(16)}{secrets.token_urlsafe(24)}"


def secret_hash(value: str) -> str:
    """What the state store keeps instead of a code or token: never the plaintext on disk."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_log_id(now: float) -> str:
    """`YYYYMMDDhhmmss` + 20 upper-hex chars, like `20220829194722CBE87ED59D524E01AB0D` (OAuth
    errors docs)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + secrets.token_hex(10).upper()


def new_trace_id() -> str:
    """W3C traceparent-style value for the `x-tt-trace-id` header (v2 conventions)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def media_signature(seed: int, video_id: str, expires: int) -> str:
    """`x-signature` of a cover URL: ties `x-expires` to the video so it cannot be extended."""
    mac = hashlib.sha256(f"sandbox-media:{seed}:{video_id}:{expires}".encode()).digest()
    return base64.urlsafe_b64encode(mac[:12]).decode()
