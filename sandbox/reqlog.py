"""The request log read by tests through /_sandbox/requests.

Only what a test needs to count calls: never tokens, codes, secrets or query strings (a query
string may carry a code or state).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass

MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class LoggedRequest:
    ts: float  # simulated time
    method: str
    path: str  # without the query string
    status: int | None  # None when the connection was dropped on purpose
    open_id: str | None
    grant_type: str | None


class RequestLog:
    def __init__(self) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=MAX_ENTRIES)
        self._lock = threading.Lock()

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def list(self, path_prefix: str | None = None) -> list[dict[str, object]]:
        with self._lock:
            entries = list(self._entries)
        if path_prefix:
            entries = [e for e in entries if e.path.startswith(path_prefix)]
        return [asdict(e) for e in entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
