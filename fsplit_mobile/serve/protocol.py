"""The HTTP/1.1 connection layer of `fsplit-serve`: uvicorn's h11 protocol with the limits a hostile client
meets before any route runs.

- **Connection cap.** Beyond `max_connections` open connections (lowered to what RLIMIT_NOFILE allows, see
  `effective_max_connections`) a new connection gets a JSON 503 with `Retry-After` and is closed at once,
  so the process never runs out of file descriptors (an asyncio accept loop at EMFILE spins and logs).
- **Header timeout.** From the connect (or from the first byte of a keep-alive request) the request head must
  be complete within `header_timeout_s` (the deadline is spread over its last quarter); a silent connection is
  closed, a partial head gets a JSON 408. Bytes trickling in do not extend the deadline.
- **Parser errors as JSON.** What h11 refuses (malformed or differing Content-Length, bad chunk sizes, an
  oversized head, an unsupported Transfer-Encoding) is answered with the documented JSON body and status
  (400, 431, 501), `Connection: close`.
- **Lingering close.** A response sent before the request body was read ends the connection, but first the
  write side is shut and at most `LINGER_BYTES` / `LINGER_S` of the unread body are discarded, so the client
  gets the answer instead of a TCP reset, and refusing a huge declared body costs at most that much reading.

The routes (app.py) and the engine know nothing of this; `framing.py` (an ASGI middleware) refuses
conflicting framing headers and marks responses sent before the body was read with `Connection: close`.
"""

import asyncio
import json
import logging
import random
import resource
import sys
from dataclasses import asdict, dataclass
from typing import cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .limits import ServeLimits

log = logging.getLogger("fsplit_mobile.serve")

LINGER_BYTES = 64 * 1024  # unread request body discarded after an early answer (plus one read, at most)
READ_CHUNK = 256 * 1024  # what asyncio reads from a socket at once (selector transports' max_size)
LINGER_S = 2.0  # and for at most this long
HEAD_TIMEOUT_SPREAD = 0.75  # a head deadline falls between this fraction of header_timeout_s and all of it
ACCEPT_BACKLOG = 128  # listen backlog, also how many connections asyncio accepts per wake-up
FD_RESERVE = 64 + ACCEPT_BACKLOG  # descriptors kept free: model files, logs, threads, one accept batch


@dataclass
class ConnectionStats:
    """Counters of this process's connection layer (all servers in it), shown by /healthz."""

    open: int = 0
    accepted: int = 0
    refused_over_cap: int = 0
    header_timeouts: int = 0
    idle_closed: int = 0
    parser_errors: int = 0
    early_closes: int = 0  # answered before the body was read: lingering close
    bytes_read: int = 0  # request bytes taken from the sockets (what refusing a huge body really costs)

    def as_dict(self) -> dict:
        return asdict(self)


STATS = ConnectionStats()


def effective_max_connections(limits: ServeLimits, nofile_soft: int | None = None) -> int:
    """The connection cap actually used: `max_connections`, but never so many that accept() hits EMFILE."""
    if nofile_soft is None:
        nofile_soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if nofile_soft == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(1, min(limits.max_connections, nofile_soft - FD_RESERVE))


def raise_nofile_limit(wanted: int) -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE towards `wanted` (never above the hard limit); returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:  # not allowed here: the cap follows the limit we have
            log.warning("cannot raise RLIMIT_NOFILE from %d to %d: %s", soft, target, exc)
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def raw_error(status: int, code: str, detail: str, headers: dict | None = None) -> bytes:
    """A complete HTTP/1.1 JSON error response with `Connection: close`, for answers outside h11's state
    machine (before a request was parsed)."""
    body = json.dumps({"error": code, "detail": detail}).encode()
    phrase = _PHRASES.get(status, "Error")
    lines = [
        f"HTTP/1.1 {status} {phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
    ] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


_PHRASES = {
    400: "Bad Request",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    503: "Service Unavailable",
}
# h11's error_status_hint -> our error code
PARSER_ERRORS = {400: "bad_request", 431: "headers_too_large", 501: "not_implemented"}


class _LingeringTransport:
    """The connection's transport as the request/response cycle sees it: `close()` becomes a lingering close
    (shut the write side, discard a bounded amount of unread input, then close)."""

    def __init__(self, transport: asyncio.Transport, protocol: "GuardedH11Protocol"):
        self._transport = transport
        self._protocol = protocol

    def close(self):
        self._protocol.begin_lingering_close()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def __getattr__(self, name):
        return getattr(self._transport, name)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's H11Protocol with a connection cap, a header timeout, JSON parser errors and lingering close.

    Use `protocol_class(limits)` to get a subclass bound to one process's limits (uvicorn instantiates the
    class itself, once per connection)."""

    limits: ServeLimits = ServeLimits()
    max_connections: int = ServeLimits.max_connections

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # uvicorn annotates timeout_keep_alive as int but only hands it to loop.call_later, which takes seconds as float
        self.timeout_keep_alive = self.limits.keep_alive_s  # type: ignore[assignment]
        self._head_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._raw_transport: asyncio.Transport | None = None
        self.lingering = False
        self._lingered = 0

    # -- connection cap and header timeout --------------------------------------------------------------

    def connection_made(self, transport):
        super().connection_made(transport)
        STATS.open += 1
        STATS.accepted += 1
        self._raw_transport = transport
        # a duck-typed proxy (unknown attributes go to the real transport), not an asyncio.Transport subclass
        self.transport = cast(asyncio.Transport, _LingeringTransport(transport, self))
        if len(self.connections) > self.max_connections:
            STATS.refused_over_cap += 1
            log.warning(
                "connection refused: %d open connections (cap %d)", len(self.connections) - 1, self.max_connections
            )
            transport.write(
                raw_error(
                    503,
                    "too_many_connections",
                    f"server has {self.max_connections} open connections; retry later",
                    {"retry-after": str(self.limits.retry_after_s)},
                )
            )
            self._close_now()
            return
        self._arm_head_timer()

    def _arm_head_timer(self):
        """The deadline falls in the last quarter of header_timeout_s, spread at random: a thousand connections
        opened together are not all closed (and reconnected by their owner) in the same instant."""
        if self._head_timer is None:
            delay = self.limits.header_timeout_s * random.uniform(HEAD_TIMEOUT_SPREAD, 1.0)
            self._head_timer = self.loop.call_later(delay, self._head_timeout)

    def _cancel_head_timer(self):
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self):
        self._head_timer = None
        if self._raw_transport is None or self._raw_transport.is_closing() or self.lingering:
            return
        if self.conn.their_state is not h11.IDLE:
            return  # the head arrived in the meantime
        if self.conn.trailing_data[0]:  # part of a head: tell the client why
            STATS.header_timeouts += 1
            self._raw_transport.write(
                raw_error(408, "header_timeout", f"request head not complete within {self.limits.header_timeout_s} s")
            )
            self.begin_lingering_close()
        else:  # a silent connection: just close it
            STATS.idle_closed += 1
            self._close_now()

    def data_received(self, data: bytes) -> None:
        STATS.bytes_read += len(data)
        if self.lingering:
            self._discard(len(data))
            return
        if self.conn.their_state is h11.IDLE and self._head_timer is None:
            self._arm_head_timer()  # first byte of a keep-alive request: its head has header_timeout_s
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        assert self._raw_transport is not None  # set by connection_made, before any response
        if self.lingering or self._raw_transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
            self._arm_head_timer()  # a pipelined partial head is already waiting

    # -- JSON parser errors -----------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """Called by H11Protocol.handle_events inside its `except h11.RemoteProtocolError` block."""
        exc = sys.exc_info()[1]
        status = getattr(exc, "error_status_hint", 400) if exc is not None else 400
        status = status if status in PARSER_ERRORS else 400
        detail = f"invalid HTTP request: {exc}" if exc is not None and str(exc) else f"invalid HTTP request: {msg}"
        log.warning("%s", detail)
        STATS.parser_errors += 1
        self._cancel_head_timer()
        if self.cycle is not None and self.cycle.response_started:
            self._close_now()  # the answer is already on its way: all we can do is end the connection
            return
        if self.cycle is not None:  # a request in progress: its app must not write after this answer
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        assert self._raw_transport is not None  # set by connection_made, before any request is parsed
        self._raw_transport.write(raw_error(status, PARSER_ERRORS[status], detail))
        self.begin_lingering_close()

    # -- lingering close --------------------------------------------------------------------------------

    def begin_lingering_close(self):
        """Shut the write side after what is queued, then discard unread input for a bounded time/amount."""
        if self.lingering or self._raw_transport is None or self._raw_transport.is_closing():
            return
        self.lingering = True
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.IDLE) and not self.conn.trailing_data[0]:
            self._close_now()  # nothing unread is coming: a plain close cannot reset the answer
            return
        STATS.early_closes += 1
        try:
            self._raw_transport.write_eof()
        except (OSError, RuntimeError, NotImplementedError):
            self._close_now()
            return
        self._raw_transport.resume_reading()
        self._linger_timer = self.loop.call_later(LINGER_S, self._close_now)

    def _discard(self, n: int):
        self._lingered += n
        if self._lingered > LINGER_BYTES:
            self._close_now()

    def eof_received(self):
        if self.lingering:
            self._close_now()
        return super().eof_received()

    def _close_now(self):
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        self._cancel_head_timer()
        if self._raw_transport is not None and not self._raw_transport.is_closing():
            self._raw_transport.close()

    def connection_lost(self, exc):
        STATS.open -= 1
        self._cancel_head_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        super().connection_lost(exc)


def protocol_class(limits: ServeLimits) -> type[GuardedH11Protocol]:
    """A GuardedH11Protocol subclass bound to `limits` (and the connection cap this process can afford)."""
    return type(
        "BoundGuardedH11Protocol",
        (GuardedH11Protocol,),
        {"limits": limits, "max_connections": effective_max_connections(limits)},
    )
