"""Connection counters, so tests can prove what the lab did (or was never asked to do)."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    """Thread-safe counters keyed like ``https/127.0.1.1`` or ``tripwire/smtp/::1``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

    def total(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for key, n in self._counts.items() if key.startswith(prefix))
