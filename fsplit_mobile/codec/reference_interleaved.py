"""Pure-Python model of the interleaved payload (docs/formats.md, section 4), written from the spec and
independent of the C core: the conformance generator and the tests check every implementation against it.
Slow (a few microseconds per symbol); not used for coding.
"""

from __future__ import annotations

from .reference import StrictError

L = 1 << 24  # lane states stay in [2^24, 2^32)
NIBBLE = 4


def _steps(symbol: int, row: list[int], offset: int) -> tuple[tuple[int, int], int | None]:
    """((start, freq) of the symbol's own step, raw escape value or None)."""
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
    """symbols[i] uses CDF row rows[i]; symbol i is lane i % lanes."""
    x = [L] * lanes
    out: list[int] = []  # bytes in emission order (reversed at the end)

    def nibble(k: int, v: int) -> None:
        if x[k] >> (32 - NIBBLE):
            out.append(x[k] & 255)
            x[k] >>= 8
        x[k] = (x[k] << NIBBLE) + v

    n = len(symbols)
    for g0 in reversed(range(0, n, lanes)):
        m = min(lanes, n - g0)
        steps = [_steps(symbols[g0 + k], cdfs[rows[g0 + k]], offsets[rows[g0 + k]]) for k in range(m)]
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
        counts = []
        for k in range(m):
            freq, y, c = steps[k][0][1], x[k], 0
            while (y >> (32 - precision)) >= freq:
                y >>= 8
                c += 1
            counts.append(c)
        for k in reversed(range(m)):  # refill round 2 of the decoder: the first byte shifted out
            if counts[k] == 2:
                out.append(x[k] & 255)
        for k in reversed(range(m)):  # refill round 1: the last byte shifted out
            if counts[k]:
                out.append((x[k] >> (8 * (counts[k] - 1))) & 255)
        for k in range(m):
            (start, freq), _ = steps[k]
            y = x[k] >> (8 * counts[k])
            x[k] = ((y // freq) << precision) + y % freq + start
    head = b"".join(v.to_bytes(4, "little") for v in x)
    return head + bytes(reversed(out))


def decode(
    data: bytes, rows: list[int], cdfs: list[list[int]], offsets: list[int], lanes: int, precision: int = 16
) -> list[int]:
    """Decode len(rows) symbols; StrictError(kind) for what every decoder must refuse."""
    if len(data) < 4 * lanes:
        raise StrictError("truncated", "shorter than the lane states")
    x = [int.from_bytes(data[4 * k : 4 * k + 4], "little") for k in range(lanes)]
    if min(x) < L:
        raise StrictError("corrupt", "initial state below 2^24")
    pos = 4 * lanes

    def refill(k: int) -> None:
        nonlocal pos
        if x[k] < L:
            if pos >= len(data):
                raise StrictError("truncated", "stream ends early")
            x[k] = (x[k] << 8) | data[pos]
            pos += 1

    out: list[int] = []
    mask = (1 << precision) - 1
    for g0 in range(0, len(rows), lanes):
        m = min(lanes, len(rows) - g0)
        slots = []
        for k in range(m):
            row = cdfs[rows[g0 + k]]
            cum = x[k] & mask
            s = max(i for i in range(len(row) - 1) if row[i] <= cum)
            x[k] = (row[s + 1] - row[s]) * (x[k] >> precision) + cum - row[s]
            slots.append(s)
        for _ in range(2):
            for k in range(m):
                refill(k)
        for k in range(m):
            row, offset = cdfs[rows[g0 + k]], offsets[rows[g0 + k]]
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
        raise StrictError("corrupt", "final lane state is not 2^24")
    return out
