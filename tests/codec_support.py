"""Shared helper of the codec tests: small random CDF tables (every slot coded with non-zero frequency)."""

import numpy as np

from fsplit_mobile.codec import CodecTables


def random_tables(channels: int = 3, seed: int = 0) -> CodecTables:
    rng = np.random.default_rng(seed)
    rows, lengths = [], []
    for _ in range(channels):
        n = int(rng.integers(3, 30))
        cdf = np.concatenate([[0], np.cumsum(rng.integers(1, 1000, n - 1))])
        rows.append(np.maximum.accumulate(np.round(cdf * 65536 / cdf[-1]).astype(np.int64)))
        lengths.append(n)
    arr = np.zeros((channels, max(lengths)), dtype=np.int64)
    for c, row in enumerate(rows):
        arr[c, : len(row)] = row
    return CodecTables.from_arrays(arr, lengths, rng.integers(-10, 0, channels))
