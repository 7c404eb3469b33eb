"""Request limits of `fsplit-serve`: payload size, time per request, bounded concurrency with back-pressure,
and the connection limits a hostile client meets first.

`AdmissionGate` admits at most `max_concurrency` running plus `max_queue` waiting requests; one more is
refused at once (HTTP 503 with Retry-After) instead of piling up. A request enters it only once its body is
complete, so a slow sender cannot hold a compute slot; bodies still arriving count against their own gate
(`max_receiving`). A slot is held until the CPU work really ends, even when the request already timed out,
so the gate always reflects the load on the machine.
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
    max_receiving: int = 64  # requests whose body is still arriving (each buffers up to max_payload)
    max_connections: int = 2048  # open connections per process (lowered to what RLIMIT_NOFILE allows)
    header_timeout_s: float = 10.0  # from connect (or the first byte of a keep-alive request) to complete headers
    keep_alive_s: float = 30.0  # idle time after a response before the connection is closed

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
        if self.max_receiving < 1:
            raise LimitsError(f"max_receiving must be >= 1, got {self.max_receiving}")
        if self.max_connections < 1:
            raise LimitsError(f"max_connections must be >= 1, got {self.max_connections}")
        if not self.header_timeout_s > 0:
            raise LimitsError(f"header_timeout_s must be > 0, got {self.header_timeout_s}")
        if not self.keep_alive_s > 0:
            raise LimitsError(f"keep_alive_s must be > 0, got {self.keep_alive_s}")

    def as_dict(self) -> dict:
        return {
            "max_payload": self.max_payload,
            "timeout_s": self.timeout_s,
            "max_concurrency": self.max_concurrency,
            "max_queue": self.max_queue,
            "retry_after_s": self.retry_after_s,
            "max_receiving": self.max_receiving,
            "max_connections": self.max_connections,
            "header_timeout_s": self.header_timeout_s,
            "keep_alive_s": self.keep_alive_s,
        }


class Saturated(Exception):
    """All running and waiting slots are taken."""


class AdmissionGate:
    """Counts admitted requests; `try_enter` never waits. Thread-safe (slots are released from worker threads)."""

    def __init__(self, capacity: int, what: str = "requests admitted"):
        if capacity < 1:
            raise LimitsError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.what = what
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
                raise Saturated(f"server saturated: {self._admitted} {self.what} (capacity {self.capacity})")
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


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


async def receive_body(receive, max_bytes: int, receiving: AdmissionGate) -> bytes:
    """Join the ASGI `http.request` messages of one request body.

    PayloadTooLarge as soon as it exceeds max_bytes, ClientGone on a disconnect. A body that is complete in
    the first message (a small request sent in one write) needs no slot; a body that is still arriving holds
    one of `receiving`'s slots until it is complete (Saturated when none is free), so slow senders are
    bounded by their own count and never by the compute slots."""
    parts = []
    size = 0
    slot = None
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone("client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"payload exceeds the limit of {max_bytes} bytes")
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)
            if slot is None:
                slot = receiving.try_enter()
    finally:
        if slot is not None:
            slot.release()


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
