"""Pure-Python model of the coder: the executable specification of the stream format.

Slow (one Python step per symbol); used by tests as an independent implementation and by the
conformance generator to craft streams no valid encoder writes (for rejection vectors).
"""

from __future__ import annotations

RANS_L = 1 << 31
NIBBLE_BITS = 4
NIBBLE_CHUNK_MAX = 15


def _escape_raw(value: int, max_value: int) -> int:
    return -2 * value - 1 if value < 0 else 2 * (value - max_value)


def symbol_steps(symbol: int, cdf, length: int, offset: int, precision: int = 16) -> list[tuple[int, int, int]]:
    """Coding steps (start, freq, precision) of one symbol, in decoder order."""
    max_value = length - 2
    value = symbol - offset
    if 0 <= value < max_value:
        return [(cdf[value], cdf[value + 1] - cdf[value], precision)]
    raw = _escape_raw(value, max_value)
    steps = [(cdf[max_value], cdf[max_value + 1] - cdf[max_value], precision)]
    nibbles = 0
    while raw >> (NIBBLE_BITS * nibbles):
        nibbles += 1
    count = nibbles
    while count >= NIBBLE_CHUNK_MAX:
        steps.append((NIBBLE_CHUNK_MAX, 1, NIBBLE_BITS))
        count -= NIBBLE_CHUNK_MAX
    steps.append((count, 1, NIBBLE_BITS))
    steps += [((raw >> (NIBBLE_BITS * j)) & 15, 1, NIBBLE_BITS) for j in range(nibbles)]
    return steps


def encode_steps(steps) -> bytes:
    """rANS-encode (start, freq, precision) steps given in decoder order."""
    x = RANS_L
    words: list[int] = []  # in emission order (reversed in the output)
    for start, freq, precision in reversed(steps):
        if freq <= 0:
            raise ValueError("zero-frequency step")
        if x >= ((RANS_L >> precision) << 32) * freq:
            words.append(x & 0xFFFFFFFF)
            x >>= 32
        x = ((x // freq) << precision) + x % freq + start
    out = [x & 0xFFFFFFFF, x >> 32] + words[::-1]
    return b"".join(w.to_bytes(4, "little") for w in out)


def encode(symbols, indexes, cdfs, cdf_sizes, offsets, precision: int = 16) -> bytes:
    steps = []
    for s, i in zip(symbols, indexes):
        steps += symbol_steps(int(s), cdfs[i], int(cdf_sizes[i]), int(offsets[i]), precision)
    return encode_steps(steps)


class _Reader:
    def __init__(self, data: bytes):
        if len(data) < 8 or len(data) % 4:
            raise ValueError("stream length must be a multiple of 4 and at least 8")
        self.words = [int.from_bytes(data[k : k + 4], "little") for k in range(0, len(data), 4)]
        self.x = self.words[0] | (self.words[1] << 32)
        self.pos = 2

    def refill(self) -> None:
        if self.x < RANS_L:
            if self.pos >= len(self.words):
                raise ValueError("truncated")
            self.x = (self.x << 32) | self.words[self.pos]
            self.pos += 1

    def step(self, cdf, slots: int, precision: int) -> int:
        cum = self.x & ((1 << precision) - 1)
        s = max(k for k in range(slots) if cdf[k] <= cum)
        self.x = (cdf[s + 1] - cdf[s]) * (self.x >> precision) + cum - cdf[s]
        self.refill()
        return s

    def nibble(self) -> int:
        v = self.x & 15
        self.x >>= NIBBLE_BITS
        self.refill()
        return v


class StrictError(ValueError):
    """Raised by the strict decoder; ``kind`` is "truncated" or "corrupt" (the C codes' names)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def decode(data: bytes, indexes, cdfs, cdf_sizes, offsets, precision: int = 16, strict: bool = True) -> list[int]:
    """Decode a stream. ``strict=False`` behaves like CompressAI's decoder (trusts the stream);
    ``strict=True`` adds the checks of the C decoder and raises :class:`StrictError`."""
    data = bytes(data)
    if strict:
        if len(data) < 8:
            raise StrictError("truncated", "stream shorter than 8 bytes")
        if len(data) % 4:
            raise StrictError("corrupt", "stream length not a multiple of 4")
    r = _Reader(data)
    if strict and not RANS_L <= r.x < 1 << 63:
        raise StrictError("corrupt", "initial state outside [2^31, 2^63)")
    out = []
    try:
        for i in indexes:
            length = int(cdf_sizes[i])
            max_value = length - 2
            value = r.step(cdfs[i], length - 1, precision)
            if value == max_value:
                count = chunk = r.nibble()
                while chunk == NIBBLE_CHUNK_MAX and not strict:
                    chunk = r.nibble()
                    count += chunk
                if strict and count > 8:
                    raise StrictError("corrupt", f"escape nibble count {count} > 8")
                raw = 0
                for j in range(count):
                    raw |= r.nibble() << (NIBBLE_BITS * j)
                if strict and count and raw >> (NIBBLE_BITS * (count - 1)) == 0:
                    raise StrictError("corrupt", "non-minimal escape nibble count")
                value = -(raw >> 1) - 1 if raw & 1 else (raw >> 1) + max_value
            symbol = value + int(offsets[i])
            if strict and not -(2**31) <= symbol < 2**31:
                raise StrictError("corrupt", "decoded symbol outside int32")
            out.append(symbol)
    except ValueError as exc:
        if isinstance(exc, StrictError) or str(exc) != "truncated":
            raise
        raise StrictError("truncated", "stream ends early") from None
    if strict and (r.pos != len(r.words) or r.x != RANS_L):
        raise StrictError("corrupt", "trailing data or final state is not the initial state")
    return out
