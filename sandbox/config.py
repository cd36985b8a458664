"""Per-process tunables of the sandbox (lifetimes, limits), changeable through /_sandbox/config."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class SandboxConfig:
    # token docs / docs disagree: newest docs say 2 h access, 180 d refresh, always rotated.
    access_ttl: int = 7200
    refresh_ttl: int = 15552000
    rotate_refresh_tokens: bool = True
    # Login Kit / undocumented: code lifetime is undocumented ("within minutes"); 5 minutes here.
    code_ttl: int = 300
    # rate-limit docs: 600 requests/min per Display endpoint, one-minute sliding window.
    rate_limit_per_minute: int = 600
    # The HTTP status of OAuth errors is undocumented; 200 is what clients observe.
    oauth_error_status: int = 200
    # video object docs: cover_image_url has a 6 h TTL; the media route refuses expired links (403).
    cover_url_ttl: int = 6 * 3600
    enforce_media_expiry: bool = True
    # Content Posting (https://developers.tiktok.com/doc/content-posting-api-get-started).
    # Per access token, one sliding minute each; every init endpoint has its own window.
    creator_info_per_minute: int = 20
    post_init_per_minute: int = 6
    status_per_minute: int = 30
    # Content Sharing Guidelines: about 15 posts a day per creator; 5 pending inbox shares/24 h.
    posts_per_day: int = 15
    pending_shares_per_day: int = 5
    # An app that has not passed TikTok's audit: public accounts refused, 5 posting users/24 h.
    unaudited_client: bool = False
    unaudited_user_cap: int = 5
    upload_url_ttl: int = 3600  # upload_url is valid for 1 h
    # Simulated seconds: download (PULL), processing after the media arrived, moderation of a
    # public post before its post id appears. Short so demos and tests are quick.
    download_delay_s: int = 1
    processing_delay_s: int = 2
    moderation_delay_s: int = 5
    # URL properties verified for PULL_FROM_URL: "https://host/path/" prefixes or bare domains
    # (a domain covers its subdomains). A new app has none.
    verified_url_prefixes: tuple[str, ...] = ()


_VALIDATORS: dict[str, tuple[type, object]] = {
    "access_ttl": (int, lambda v: 1 <= v <= 10 * 365 * 86400),
    "refresh_ttl": (int, lambda v: 1 <= v <= 10 * 365 * 86400),
    "code_ttl": (int, lambda v: 1 <= v <= 86400),
    "rate_limit_per_minute": (int, lambda v: 1 <= v <= 1_000_000),
    "oauth_error_status": (int, lambda v: v in (200, 400)),
    "cover_url_ttl": (int, lambda v: 1 <= v <= 30 * 86400),
    "rotate_refresh_tokens": (bool, lambda v: True),
    "enforce_media_expiry": (bool, lambda v: True),
    "creator_info_per_minute": (int, lambda v: 1 <= v <= 1_000_000),
    "post_init_per_minute": (int, lambda v: 1 <= v <= 1_000_000),
    "status_per_minute": (int, lambda v: 1 <= v <= 1_000_000),
    "posts_per_day": (int, lambda v: 1 <= v <= 100_000),
    "pending_shares_per_day": (int, lambda v: 1 <= v <= 100_000),
    "unaudited_client": (bool, lambda v: True),
    "unaudited_user_cap": (int, lambda v: 1 <= v <= 100_000),
    "upload_url_ttl": (int, lambda v: 1 <= v <= 7 * 86400),
    "download_delay_s": (int, lambda v: 0 <= v <= 86400),
    "processing_delay_s": (int, lambda v: 0 <= v <= 86400),
    "moderation_delay_s": (int, lambda v: 0 <= v <= 7 * 86400),
    "verified_url_prefixes": (tuple, lambda v: len(v) <= 50 and all(map(_url_property, v))),
}


def _url_property(value: object) -> bool:
    """An https prefix with a path ("https://host/dir/") or a bare domain ("cdn.example.com")."""
    if not isinstance(value, str) or not 1 <= len(value) <= 512 or " " in value:
        return False
    if value.startswith("https://"):
        return "/" in value[len("https://") :]
    return ("/" not in value and ":" not in value and "." in value) or value == "localhost"


def validate_update(changes: dict[str, object]) -> dict[str, object]:
    """Check a /_sandbox/config body; raise ValueError naming the bad key."""
    known = {f.name for f in fields(SandboxConfig)}
    clean: dict[str, object] = {}
    for key, value in changes.items():
        if key not in known:
            raise ValueError(f"unknown config key {key!r}; known: {sorted(known)}")
        kind, check = _VALIDATORS[key]
        # bool is a subclass of int: refuse true/false where a number is meant
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{key} must be an integer")
        if kind is bool and not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
        if kind is tuple:
            if not isinstance(value, list | tuple):
                raise ValueError(f"{key} must be a list")
            value = tuple(value)
        if not check(value):  # type: ignore[operator]
            raise ValueError(f"{key}={value!r} is out of range")
        clean[key] = value
    return clean


class ConfigHolder:
    """The start-up config plus runtime overrides; `reset` drops the overrides."""

    def __init__(self, initial: SandboxConfig) -> None:
        self._initial = initial
        self._current = initial
        self._lock = threading.Lock()

    @property
    def current(self) -> SandboxConfig:
        return self._current

    def update(self, changes: dict[str, object]) -> SandboxConfig:
        clean = validate_update(changes)
        with self._lock:
            self._current = replace(self._current, **clean)  # type: ignore[arg-type]
            return self._current

    def reset(self) -> None:
        with self._lock:
            self._current = self._initial

    def as_dict(self) -> dict[str, object]:
        return asdict(self._current)
