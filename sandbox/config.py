"""Per-process tunables of the sandbox (lifetimes, limits), changeable through /_sandbox/config."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class SandboxConfig:
    # tiktok-api.md §2.3 / §11: newest docs say 2 h access, 180 d refresh, always rotated.
    access_ttl: int = 7200
    refresh_ttl: int = 15552000
    rotate_refresh_tokens: bool = True
    # §1.3 / §13: code lifetime is undocumented ("within minutes"); 5 minutes here.
    code_ttl: int = 300
    # §6: 600 requests/min per Display endpoint, one-minute sliding window.
    rate_limit_per_minute: int = 600
    # §2.5 / §13: HTTP status of OAuth errors is undocumented; 200 is what clients observe.
    oauth_error_status: int = 200
    # §3.4: cover_image_url has a 6 h TTL; the media route refuses expired links (403).
    cover_url_ttl: int = 6 * 3600
    enforce_media_expiry: bool = True


_VALIDATORS: dict[str, tuple[type, object]] = {
    "access_ttl": (int, lambda v: 1 <= v <= 10 * 365 * 86400),
    "refresh_ttl": (int, lambda v: 1 <= v <= 10 * 365 * 86400),
    "code_ttl": (int, lambda v: 1 <= v <= 86400),
    "rate_limit_per_minute": (int, lambda v: 1 <= v <= 1_000_000),
    "oauth_error_status": (int, lambda v: v in (200, 400)),
    "cover_url_ttl": (int, lambda v: 1 <= v <= 30 * 86400),
    "rotate_refresh_tokens": (bool, lambda v: True),
    "enforce_media_expiry": (bool, lambda v: True),
}


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
