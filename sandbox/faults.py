"""Injected faults: latency, 429 bursts, 5xx, dropped connections.

Counted faults hit the next N matching TikTok API calls (paths under /v2/ except the browser
authorize page); latency applies to every matching /v2/ request until cleared. Token faults
(expire_token, revoke) are one-off actions on the state store, handled by the control API.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass

# lose_response: the request takes effect but its answer is dropped (after `ms`);
# drop with `after_bytes`: an upload PUT's connection dies after that many body bytes.
COUNTED_KINDS = ("rate_limit", "server_error", "drop", "lose_response")
UPLOAD_PATH = "/upload/video/"  # sandbox/upload.py: the upload PUT takes faults too
ACTION_KINDS = ("expire_token", "revoke")
ALL_KINDS = ("latency", *COUNTED_KINDS, *ACTION_KINDS)
AUTHORIZE_PAGES = ("/v2/auth/authorize/", "/v2/auth/authorize")


@dataclass
class Fault:
    id: int
    kind: str
    path: str | None = None  # prefix filter, e.g. "/v2/video/list/"
    remaining: int | None = None  # counted kinds; None for latency (until cleared)
    ms: int | None = None  # latency
    status: int | None = None  # server_error: 500, 502 or 503
    after_bytes: int | None = None  # drop: read this many body bytes first (upload PUT)

    def matches(self, path: str) -> bool:
        return self.path is None or path.startswith(self.path)


def _int(body: dict[str, object], key: str, default: int | None, lo: int, hi: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{key} must be an integer in [{lo}, {hi}]")
    return value


def parse_fault(body: dict[str, object], next_id: int) -> Fault:
    """Validate a POST /_sandbox/faults body for a stored kind (not the token actions)."""
    kind = body.get("kind")
    path = body.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise ValueError("path must be a string starting with '/'")
    if kind == "latency":
        count = body.get("count")
        return Fault(
            next_id,
            "latency",
            path,
            None if count is None else _int(body, "count", 1, 1, 1_000_000),
            ms=_int(body, "ms", None, 0, 120_000),
        )
    if kind in COUNTED_KINDS:
        fault = Fault(next_id, str(kind), path, _int(body, "count", 1, 1, 1_000_000))
        if kind == "drop" and "after_bytes" in body:
            fault.after_bytes = _int(body, "after_bytes", None, 1, 1 << 40)
        if kind == "lose_response":
            fault.ms = _int(body, "ms", 0, 0, 120_000)
        if kind == "server_error":
            status = _int(body, "status", 500, 500, 599)
            if status not in (500, 502, 503):
                raise ValueError("status must be 500, 502 or 503")
            fault.status = status
        return fault
    raise ValueError(f"kind must be one of {', '.join(ALL_KINDS)}")


def is_api_path(path: str) -> bool:
    return (path.startswith("/v2/") and path not in AUTHORIZE_PAGES) or path == UPLOAD_PATH


class FaultBoard:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, body: dict[str, object]) -> Fault:
        with self._lock:
            fault = parse_fault(body, next(self._ids))
            self._faults.append(fault)
            return fault

    def list(self) -> list[dict[str, object]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def latency_ms(self, path: str) -> int:
        """Total delay for this request; counted latency faults are used up here."""
        if not path.startswith("/v2/") and path != UPLOAD_PATH:
            return 0
        total = 0
        with self._lock:
            for f in list(self._faults):
                if f.kind == "latency" and f.matches(path):
                    total += f.ms or 0
                    if f.remaining is not None:
                        f.remaining -= 1
                        if f.remaining <= 0:
                            self._faults.remove(f)
        return total

    def take(self, path: str) -> Fault | None:
        """The first counted fault that matches this API call, used up by one."""
        if not is_api_path(path):
            return None
        with self._lock:
            for f in self._faults:
                if f.kind in COUNTED_KINDS and f.matches(path):
                    f.remaining = (f.remaining or 1) - 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
                    return f
        return None
