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
MAX_SYMBOLS = 1 << 31  # the tail length is one or two 16-bit words
MAX_TAIL_WORDS_LEFT = 9  # after the parked words: at most one symbol's words (main + count + 8 nibbles) - 1


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
    symbols: list[int],
    rows: list[int],
    cdfs: list[list[int]],
    offsets: list[int],
    lanes: int,
    precision: int = 16,
    tail_stop: int | None = None,
) -> bytes:
    """symbols[i] uses CDF row rows[i] (given at ``precision`` bits). The tail (the last K symbols) is lane 0's
    alone; symbol i < n - K is lane i % lanes (docs/formats.md section 5). ``tail_stop`` (tests only) ends the
    tail at that many words instead of lanes - 1, which makes a payload every decoder must refuse."""
    stop = lanes - 1 if tail_stop is None else tail_stop
    n = len(symbols)
    if n >= MAX_SYMBOLS:
        raise ValueError(f"{n} symbols: version 2 codes fewer than 2^31")
    q = {r: requantize(cdfs[r], precision) for r in set(rows)}
    x = [L] * lanes
    out: list[int] = []  # 16-bit words in emission order (reversed at the end)

    def nibble(k: int, v: int) -> None:
        if x[k] >> 28:
            out.append(x[k] & 0xFFFF)
            x[k] >>= 16
        x[k] = (x[k] << NIBBLE) + v

    def group(idx: list[int]) -> None:  # symbol idx[k] on lane k
        m = len(idx)
        steps = [_steps(symbols[i], q[rows[i]], offsets[rows[i]]) for i in idx]
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

    main = n  # the tail: lane 0 alone, last symbol first, until it has emitted lanes - 1 words
    while main > 0 and len(out) < stop:
        main -= 1
        group([main])
    if main > 0:  # park the tail's first lanes - 1 words (in read order) in the other lanes' start states
        for k in range(1, lanes):
            x[k] = L + out.pop()
        for g0 in reversed(range(0, main, lanes)):
            group(list(range(g0, min(g0 + lanes, main))))
    tail = n - main
    head = [tail] if tail < 1 << 15 else [0x8000 | (tail & 0x7FFF), tail >> 15]
    states = x if main > 0 else x[:1]
    return (
        b"".join(w.to_bytes(2, "little") for w in head)
        + b"".join(v.to_bytes(4, "little") for v in states)
        + b"".join(w.to_bytes(2, "little") for w in reversed(out))
    )


def decode(
    data: bytes, rows: list[int], cdfs: list[list[int]], offsets: list[int], lanes: int, precision: int = 16
) -> list[int]:
    """Decode len(rows) symbols; StrictError(kind) for what every decoder must refuse."""
    n = len(rows)
    if len(data) % 2:
        raise StrictError("corrupt", "odd payload length")
    words = [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]
    if not words:
        raise StrictError("truncated", "no tail length")
    tail, pos = words[0], 1
    if tail & 0x8000:
        if len(words) < 2:
            raise StrictError("truncated", "tail length cut short")
        if words[1] == 0:
            raise StrictError("corrupt", "non-minimal tail length")
        tail, pos = (tail & 0x7FFF) | (words[1] << 15), 2
    if tail > n or (n > 0 and tail == 0):
        raise StrictError("corrupt", "tail length out of range")
    main = n - tail
    count = lanes if main > 0 else 1
    if len(words) < pos + 2 * count:
        raise StrictError("truncated", "shorter than the lane states")
    x = [words[pos + 2 * k] | words[pos + 2 * k + 1] << 16 for k in range(count)] + [L] * (lanes - count)
    if min(x) < L:
        raise StrictError("corrupt", "initial state below 2^16")
    pos += 2 * count
    q = {r: requantize(cdfs[r], precision) for r in set(rows)}
    mask = (1 << PRECISION) - 1
    out = [0] * n

    def refill(k: int) -> None:
        nonlocal pos
        if x[k] < L:
            if pos >= len(words):
                raise StrictError("truncated", "stream ends early")
            x[k] = (x[k] << 16) | words[pos]
            pos += 1

    def group(idx: list[int]) -> None:  # symbol idx[k] on lane k
        slots = []
        for k, i in enumerate(idx):
            row = q[rows[i]]
            cum = x[k] & mask
            s = max(j for j in range(len(row) - 1) if row[j] <= cum)
            x[k] = (row[s + 1] - row[s]) * (x[k] >> PRECISION) + cum - row[s]
            slots.append(s)
        for k in range(len(idx)):
            refill(k)
        for k, i in enumerate(idx):
            row, offset = q[rows[i]], offsets[rows[i]]
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
            out[i] = symbol

    for g0 in range(0, main, lanes):
        group(list(range(g0, min(g0 + lanes, main))))
    if main > 0:  # the other lanes' final states hold the tail's first lanes - 1 words
        if any(not L <= v < 2 * L for v in x[1:]):
            raise StrictError("corrupt", "final lane state outside [2^16, 2^17)")
        if len(words) - pos > MAX_TAIL_WORDS_LEFT:
            raise StrictError("corrupt", "too many words after the main part")
        words[pos:pos] = [v - L for v in x[1:]]
        x[1:] = [L] * (lanes - 1)
    start = pos
    for i in range(main, n):
        group([i])
        if i == main:
            first = pos - start
    if n > 0 and pos - start - first > lanes - 2:
        raise StrictError("corrupt", "tail longer than the encoder makes it")
    if pos != len(words):
        raise StrictError("corrupt", "bytes left over")
    if x[0] != L:
        raise StrictError("corrupt", "final lane state is not 2^16")
    return out
