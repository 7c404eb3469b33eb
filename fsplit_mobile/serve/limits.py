"""Request limits of `fsplit-serve`: payload size, time per request, bounded concurrency with back-pressure.

`AdmissionGate` admits at most `max_concurrency` running plus `max_queue` waiting requests; one more is
refused at once (HTTP 503 with Retry-After) instead of piling up. A slot is held until the CPU work really
ends, even when the request already timed out, so the gate always reflects the load on the machine.
"""
import asyncio
import threading
from dataclasses import dataclass


class LimitsError(ValueError):
    """An invalid limit setting."""


@dataclass(frozen=True)
class ServeLimits:
    max_payload: int = 1 << 20  # bytes of request body
    timeout_s: float = 10.0  # receiving the body + decoding + running the server part
    max_concurrency: int = 2  # requests whose CPU work runs at the same time (worker threads)
    max_queue: int = 16  # admitted requests waiting for a worker thread
    retry_after_s: int = 1  # the Retry-After header of a 503

    def __post_init__(self):
        if self.max_payload < 1:
            raise LimitsError(f"max_payload must be >= 1 byte, got {self.max_payload}")
        if not self.timeout_s > 0:
            raise LimitsError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.max_concurrency < 1:
            raise LimitsError(f"max_concurrency must be >= 1, got {self.max_concurrency}")
        if self.max_queue < 0:
            raise LimitsError(f"max_queue must be >= 0, got {self.max_queue}")
        if self.retry_after_s < 0:
            raise LimitsError(f"retry_after_s must be >= 0, got {self.retry_after_s}")

    def as_dict(self) -> dict:
        return {
            "max_payload": self.max_payload,
            "timeout_s": self.timeout_s,
            "max_concurrency": self.max_concurrency,
            "max_queue": self.max_queue,
            "retry_after_s": self.retry_after_s,
        }


class Saturated(Exception):
    """All running and waiting slots are taken."""


class AdmissionGate:
    """Counts admitted requests; `try_enter` never waits. Thread-safe (slots are released from worker threads)."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise LimitsError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._admitted = 0
        self.refused = 0

    @property
    def admitted(self) -> int:
        return self._admitted

    def try_enter(self) -> "Slot":
        with self._lock:
            if self._admitted >= self.capacity:
                self.refused += 1
                raise Saturated(f"server saturated: {self._admitted} requests admitted (capacity {self.capacity})")
            self._admitted += 1
        return Slot(self)

    def _leave(self):
        with self._lock:
            self._admitted -= 1


class Slot:
    """One admitted request; `release` is idempotent."""

    def __init__(self, gate: AdmissionGate):
        self._gate = gate
        self._released = False
        self._lock = threading.Lock()

    def release(self):
        with self._lock:
            if self._released:
                return
            self._released = True
        self._gate._leave()


class PayloadTooLarge(Exception):
    """The request body exceeds `max_payload`."""


async def read_body_capped(stream, max_bytes: int) -> bytes:
    """Join the chunks of an async byte stream, raising PayloadTooLarge as soon as it exceeds max_bytes."""
    parts = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"payload exceeds the limit of {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def run_in_slot(executor, slot: Slot, fn, *args, timeout_s: float):
    """Run fn(*args) on `executor`; release `slot` when it ends. asyncio.TimeoutError after timeout_s
    (the work goes on, holding its slot, until it finishes)."""
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(executor, fn, *args)
    except BaseException:
        slot.release()
        raise
    future.add_done_callback(lambda f: _finish(f, slot))
    # shield: a timeout must not cancel the executor future (it cannot stop a running thread anyway).
    return await asyncio.wait_for(asyncio.shield(future), timeout=timeout_s)


def _finish(future, slot: Slot):
    slot.release()
    if not future.cancelled():
        future.exception()  # retrieved here so a timed-out request's error is not reported as never retrieved
