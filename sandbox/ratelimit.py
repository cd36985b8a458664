"""Sliding one-minute windows in simulated time (rate-limit docs).

Keyed by (endpoint, client_key, open_id): the rate-limit docs say each endpoint's limit is
enforced separately and leave per-app vs per-user open; per app and user is the stricter reading
for a client that syncs several accounts (the posting endpoints key by access token instead).
Only admitted requests count.
"""

from __future__ import annotations

import threading
from collections import deque

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self) -> None:
        self._hits: dict[tuple[str, str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, str, str], now: float, limit: int) -> bool:
        """Record a request at `now` if fewer than `limit` happened in (now-60 s, now]."""
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - WINDOW_S:
                hits.popleft()
            # If the clock was set back, requests "from the future" no longer count.
            if hits and hits[-1] > now:
                hits = deque(t for t in hits if t <= now)
                self._hits[key] = hits
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
