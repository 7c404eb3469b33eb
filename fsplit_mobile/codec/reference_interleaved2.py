"""Pure-Python model of the interleaved payload version 2 (docs/formats.md, section 5), written from the spec
and independent of the C core: the conformance generator and the tests check every implementation against it.
Slow (a few microseconds per symbol); not used for coding.

Version 2 codes with the tables requantized to 14 bits (:func:`requantize`), lane states in [2^16, 2^32) and
16-bit renormalisation words, so one refill round per group suffices and a small per-channel slot lookup
replaces the search.
"""

from __future__ import annotations

from .reference import StrictError

PRECISION = 14  # coding precision of version 2
L = 1 << 16  # lane states stay in [2^16, 2^32)
NIBBLE = 4


def requantize(cdf: list[int], precision: int) -> list[int]:
    """The 14-bit CDF version 2 codes a row with (normative; docs/formats.md section 5).

    Every slot of non-zero frequency f (at ``precision`` bits) gets max(1, (f * 2^14 + 2^(precision-1)) >> precision)
    (f << (14 - precision) when precision <= 14); then the total is brought to 2^14: a shortfall goes to the first
    slot of largest frequency, an excess is taken from the first slot of largest frequency (down to 1), repeatedly.
    ValueError when more than 2^14 slots have non-zero frequency."""
    freqs = [cdf[i + 1] - cdf[i] for i in range(len(cdf) - 1)]
    if sum(1 for f in freqs if f > 0) > 1 << PRECISION:
        raise ValueError("more than 16384 coded slots: not representable at 14 bits")
    if precision <= PRECISION:
        g = [f << (PRECISION - precision) for f in freqs]
    else:
        half = 1 << (precision - 1)
        g = [max(1, (f * (1 << PRECISION) + half) >> precision) if f > 0 else 0 for f in freqs]
    excess = sum(g) - (1 << PRECISION)
    while excess != 0:
        j = g.index(max(g))
        if excess < 0:
            g[j] -= excess
            excess = 0
        else:
            d = min(excess, g[j] - 1)
            g[j] -= d
            excess -= d
    out = [0]
    for f in g:
        out.append(out[-1] + f)
    return out


def _steps(symbol: int, row: list[int], offset: int) -> tuple[tuple[int, int], int | None]:
    """((start, freq) of the symbol's own step in the 14-bit row, raw escape value or None)."""
    max_value = len(row) - 2
    value = symbol - offset
    if 0 <= value < max_value:
        return (row[value], row[value + 1] - row[value]), None
    raw = -2 * value - 1 if value < 0 else 2 * (value - max_value)
    if raw >= 1 << 32:
        raise ValueError(f"symbol {symbol}: escape beyond 32 bits")
    return (row[max_value], row[max_value + 1] - row[max_value]), raw


def encode(
    symbols: list[int], rows: list[int], cdfs: list[list[int]], offsets: list[int], lanes: int, precision: int = 16
) -> bytes:
    """symbols[i] uses CDF row rows[i] (given at ``precision`` bits); symbol i is lane i % lanes."""
    q = {r: requantize(cdfs[r], precision) for r in set(rows)}
    x = [L] * lanes
    out: list[int] = []  # 16-bit words in emission order (reversed at the end)

    def nibble(k: int, v: int) -> None:
        if x[k] >> 28:
            out.append(x[k] & 0xFFFF)
            x[k] >>= 16
        x[k] = (x[k] << NIBBLE) + v

    n = len(symbols)
    for g0 in reversed(range(0, n, lanes)):
        m = min(lanes, n - g0)
        steps = [_steps(symbols[g0 + k], q[rows[g0 + k]], offsets[rows[g0 + k]]) for k in range(m)]
        if any(f == 0 for (_, f), _ in steps):
            raise ValueError("zero-frequency symbol")
        for k in reversed(range(m)):  # escapes: the decoder reads them last, lane by lane
            raw = steps[k][1]
            if raw is not None:
                count = 0
                while count < 8 and raw >> (NIBBLE * count):
                    count += 1
                for j in reversed(range(count)):
                    nibble(k, (raw >> (NIBBLE * j)) & 15)
                nibble(k, count)
        renorm = [(x[k] >> (32 - PRECISION)) >= steps[k][0][1] for k in range(m)]
        for k in reversed(range(m)):  # the decoder's refill round
            if renorm[k]:
                out.append(x[k] & 0xFFFF)
        for k in range(m):
            (start, freq), _ = steps[k]
            y = x[k] >> 16 if renorm[k] else x[k]
            x[k] = ((y // freq) << PRECISION) + y % freq + start
    head = b"".join(v.to_bytes(4, "little") for v in x)
    return head + b"".join(w.to_bytes(2, "little") for w in reversed(out))


def decode(
    data: bytes, rows: list[int], cdfs: list[list[int]], offsets: list[int], lanes: int, precision: int = 16
) -> list[int]:
    """Decode len(rows) symbols; StrictError(kind) for what every decoder must refuse."""
    if len(data) < 4 * lanes:
        raise StrictError("truncated", "shorter than the lane states")
    if len(data) % 2:
        raise StrictError("corrupt", "odd payload length")
    q = {r: requantize(cdfs[r], precision) for r in set(rows)}
    x = [int.from_bytes(data[4 * k : 4 * k + 4], "little") for k in range(lanes)]
    if min(x) < L:
        raise StrictError("corrupt", "initial state below 2^16")
    pos = 4 * lanes

    def refill(k: int) -> None:
        nonlocal pos
        if x[k] < L:
            if pos >= len(data):
                raise StrictError("truncated", "stream ends early")
            x[k] = (x[k] << 16) | int.from_bytes(data[pos : pos + 2], "little")
            pos += 2

    out: list[int] = []
    mask = (1 << PRECISION) - 1
    for g0 in range(0, len(rows), lanes):
        m = min(lanes, len(rows) - g0)
        slots = []
        for k in range(m):
            row = q[rows[g0 + k]]
            cum = x[k] & mask
            s = max(i for i in range(len(row) - 1) if row[i] <= cum)
            x[k] = (row[s + 1] - row[s]) * (x[k] >> PRECISION) + cum - row[s]
            slots.append(s)
        for k in range(m):
            refill(k)
        for k in range(m):
            row, offset = q[rows[g0 + k]], offsets[rows[g0 + k]]
            max_value, value = len(row) - 2, slots[k]
            if value == max_value:
                count = x[k] & 15
                x[k] >>= NIBBLE
                refill(k)
                if count > 8:
                    raise StrictError("corrupt", "escape count above 8")
                raw = 0
                for j in range(count):
                    raw |= (x[k] & 15) << (NIBBLE * j)
                    x[k] >>= NIBBLE
                    refill(k)
                if count and raw >> (NIBBLE * (count - 1)) == 0:
                    raise StrictError("corrupt", "non-minimal escape count")
                value = -(raw >> 1) - 1 if raw & 1 else (raw >> 1) + max_value
            symbol = value + offset
            if not -(2**31) <= symbol < 2**31:
                raise StrictError("corrupt", "symbol beyond int32")
            out.append(symbol)
    if pos != len(data):
        raise StrictError("corrupt", "bytes left over")
    if any(v != L for v in x):
        raise StrictError("corrupt", "final lane state is not 2^16")
    return out
