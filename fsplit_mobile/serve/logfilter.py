"""Rate-limited logging for the server process: a flood of bad connections must not fill the disk.

Each (logger, message template) may log `burst` records per `window_s`; the rest are dropped and counted, and
the next record that passes says how many were dropped. All keys together are bounded by `total` per window
(so a flood of distinct messages is bounded too)."""

import logging
import threading
import time

FLOODABLE_LOGGERS = ("asyncio", "uvicorn.error", "fsplit_mobile.serve")


class RateLimitFilter(logging.Filter):
    def __init__(self, burst: int = 10, window_s: float = 10.0, total: int = 100, clock=time.monotonic):
        super().__init__()
        self.burst, self.window_s, self.total, self.clock = burst, window_s, total, clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._counts: dict = {}
        self._passed = 0
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg)[:200])
        with self._lock:
            now = self.clock()
            if now - self._window_start >= self.window_s:
                self._window_start, self._counts, self._passed = now, {}, 0
            n = self._counts.get(key, 0)
            self._counts[key] = n + 1
            if n >= self.burst or self._passed >= self.total:
                self._dropped += 1
                return False
            self._passed += 1
            dropped, self._dropped = self._dropped, 0
        if dropped:
            record.msg = f"{record.msg} [{dropped} log records dropped by the rate limit before this one]"
        return True


_installed: RateLimitFilter | None = None


def install_rate_limit(loggers=FLOODABLE_LOGGERS) -> RateLimitFilter:
    """Attach one shared RateLimitFilter to the loggers a hostile client can make talk (idempotent). Records
    logged by these loggers directly are filtered, also when they propagate to the root's handlers."""
    global _installed
    if _installed is None:
        _installed = RateLimitFilter()
    for name in loggers:
        logger = logging.getLogger(name)
        if _installed not in logger.filters:
            logger.addFilter(_installed)
    return _installed
