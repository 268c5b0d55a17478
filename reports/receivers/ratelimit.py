"""A fixed-window counter in Django's cache (Redis in production, memory otherwise)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def hit(scope: str, key: str, *, limit: int, window: int, now: float | None = None) -> bool:
    """Count one hit for ``key``; True while the window's count is within ``limit``.

    ``add`` creates the counter only if absent and ``incr`` is atomic in Redis and under
    the local-memory cache's lock, so concurrent hits are all counted.
    """
    slot = int((time.time() if now is None else now) // window)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # no token in cache keys
    name = f"rl:{scope}:{digest}:{slot}"
    cache.add(name, 0, timeout=window + 5)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr: this is the first hit again
        cache.add(name, 1, timeout=window + 5)
        count = 1
    return count <= limit


def retry_after(window: int, now: float | None = None) -> int:
    """Seconds until the current window ends."""
    current = time.time() if now is None else now
    return max(1, int(window - current % window))
