"""Injected faults: latency, 429 bursts, 5xx, dropped connections, hostile answers.

Counted faults hit the next N matching TikTok API calls (paths under /v2/ except the browser
authorize page); latency applies to every matching /v2/ request until cleared. Token faults
(expire_token, revoke) are one-off actions on the state store, handled by the control API.

Rewrite faults stand for a hostile or broken TikTok (a proxy that edits answers): the call
succeeds, then its JSON is changed before it leaves. ``cursor_rewind`` sets video/list's
``data.cursor`` (default 1000 ms: before every video, so the next page is empty and says
``has_more: false``); ``counter_override`` puts ``values[i]`` into ``field`` of the i-th video of a
video/list or video/query answer, or of user/info's ``user`` (values are any JSON: 2**62, 10**30,
-1, "12", true).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import asdict, dataclass

# lose_response: the request takes effect but its answer is dropped (after `ms`);
# drop with `after_bytes`: an upload PUT's connection dies after that many body bytes.
COUNTED_KINDS = ("rate_limit", "server_error", "drop", "lose_response")
UPLOAD_PATH = "/upload/video/"  # sandbox/upload.py: the upload PUT takes faults too
ACTION_KINDS = ("expire_token", "revoke")
REWRITE_KINDS = ("cursor_rewind", "counter_override")
ALL_KINDS = ("latency", *COUNTED_KINDS, *REWRITE_KINDS, *ACTION_KINDS)
AUTHORIZE_PAGES = ("/v2/auth/authorize/", "/v2/auth/authorize")
# : The numeric fields counter_override may replace
# (https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info,
# https://developers.tiktok.com/doc/tiktok-api-v2-video-object).
OVERRIDABLE_FIELDS = (
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
    "create_time",
    "duration",
    "width",
    "height",
    "follower_count",
    "following_count",
    "likes_count",
    "video_count",
)


@dataclass
class Fault:
    id: int
    kind: str
    path: str | None = None  # prefix filter, e.g. "/v2/video/list/"
    remaining: int | None = None  # counted kinds; None for latency (until cleared)
    ms: int | None = None  # latency
    status: int | None = None  # server_error: 500, 502 or 503
    after_bytes: int | None = None  # drop: read this many body bytes first (upload PUT)
    cursor: int | None = None  # cursor_rewind: the cursor to answer with (epoch ms)
    field: str | None = None  # counter_override: which number to replace
    values: list[object] | None = None  # counter_override: one replacement per record

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
    if kind == "cursor_rewind":
        return Fault(
            next_id,
            "cursor_rewind",
            path,
            _int(body, "count", 1, 1, 1_000_000),
            cursor=_int(body, "cursor", 1000, 0, 2**63 - 1),
        )
    if kind == "counter_override":
        field, values = body.get("field"), body.get("values")
        if field not in OVERRIDABLE_FIELDS:
            raise ValueError(f"field must be one of {', '.join(OVERRIDABLE_FIELDS)}")
        if not isinstance(values, list) or not values:
            raise ValueError("values must be a non-empty list (one value per record)")
        return Fault(
            next_id,
            "counter_override",
            path,
            _int(body, "count", 1, 1, 1_000_000),
            field=str(field),
            values=list(values),
        )
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

    def rewrite(self, path: str, body: bytes) -> bytes:
        """A successful API answer as a hostile TikTok would send it (rewrite faults used up
        by one), or ``body`` unchanged."""
        if not is_api_path(path):
            return body
        with self._lock:
            chosen = []
            for f in list(self._faults):
                if f.kind in REWRITE_KINDS and f.matches(path) and _applies(f, path):
                    chosen.append(f)
                    f.remaining = (f.remaining or 1) - 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
        if not chosen:
            return body
        payload = json.loads(body)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            return body
        for f in chosen:
            if f.kind == "cursor_rewind":
                data["cursor"] = f.cursor
                continue
            records = data.get("videos") if "videos" in data else [data.get("user")]
            for record, value in zip(records or [], f.values or [], strict=False):
                if isinstance(record, dict):
                    record[str(f.field)] = value
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _applies(fault: Fault, path: str) -> bool:
    if fault.kind == "cursor_rewind":
        return path == "/v2/video/list/"
    return path in ("/v2/video/list/", "/v2/video/query/", "/v2/user/info/")
