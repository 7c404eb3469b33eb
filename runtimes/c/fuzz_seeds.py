"""Write a seed corpus for fuzz_decode.c into DIR: valid streams, tables files and containers for the
target's built-in tables, and the conformance tables files.  python fuzz_seeds.py DIR
With --interleaved, seeds for fuzz_interleaved.c instead: valid interleaved payloads, symbol runs and
interleaved containers for the same built-in tables, for 8, 16 and 32 lanes; with --interleaved2 the same for
fuzz_interleaved2.c (payload version 2)."""

import os
import struct
import sys

import numpy as np

from fsplit_mobile.codec import CodecTables, encode_latent, encode_with_indexes

HERE = os.path.dirname(os.path.abspath(__file__))
INT32_MAX = 2**31 - 1


def builtin_tables() -> CodecTables:
    """The same rows as setup() in fuzz_decode.c."""
    rows = [
        [0, 16384, 49152, 65535, 65536],
        [0, 65536],
        [0, 1, 65535, 65536],
        [0, 0, 20000, 65000, 65536],
        [k * k * 40 for k in range(40)] + [65536],
        [0, 30000, 65536],
    ]
    cdf = np.zeros((6, 41), dtype=np.int64)
    for r, row in enumerate(rows):
        cdf[r, : len(row)] = row
    return CodecTables.from_arrays(cdf, [len(r) for r in rows], [0, 0, -1, 7, -20, INT32_MAX - 1])


def stream_seed(t: CodecTables, n: int, rng) -> bytes:
    idx_byte = 0x21  # multiplier 0x21 | 1, no forced bad index
    indexes = [(i * (idx_byte | 1) + (i >> 3)) % 6 for i in range(n)]
    symbols = []
    for i in indexes:
        max_value = int(t.cdf_length[i]) - 2
        v = int(rng.integers(0, max_value)) if max_value > 0 and rng.random() < 0.8 else int(rng.integers(-300, 300))
        if i == 3 and v == 0:
            v = 1
        if i == 5:
            v = min(v, 0)
        symbols.append(v + int(t.offset[i]))
    cdfs = [t.quantized_cdf[c, : t.cdf_length[c]].tolist() for c in range(6)]
    data = encode_with_indexes(symbols, indexes, cdfs, t.cdf_length, t.offset)
    return bytes([0, n // 16, (n % 16) | (idx_byte & 0xF0)]) + data


def interleaved_seeds(t: CodecTables, rng, version: int = 1) -> dict[str, bytes]:
    """First byte: target (mod 3) and lane choice (bits 2-3: 8, 16, 32 lanes)."""
    from fsplit_mobile.codec import interleaved

    encode = interleaved.encode_planar_v2 if version == 2 else interleaved.encode_planar
    fmt = "interleaved2" if version == 2 else "interleaved"

    seeds = {}
    for code, lanes in enumerate((8, 16, 32)):
        for planes, plane in ((6, 0), (6, 1), (6, 7), (2, 100), (6, 64)):
            sym = rng.integers(-2, 4, (planes, plane, 1)).astype(np.int32).reshape(planes, plane)
            sym[:, ::11] = rng.integers(-(2**20), 2**20, sym[:, ::11].shape)  # escapes
            if planes > 3:
                sym[3][sym[3] == 7] = 8
            if planes > 5:
                sym[5] = INT32_MAX - 1 + np.clip(sym[5], -2, 1)
            lat = np.ascontiguousarray(sym.reshape(planes, plane, 1))
            payload = encode(lat, t.raw, lanes)
            head = bytes([code << 2, planes - 1]) + struct.pack("<H", plane)
            seeds[f"ilv_payload_{lanes}_{planes}x{plane}"] = head + payload
        seeds[f"ilv_symbols_{lanes}"] = bytes([(code << 2) | 1, 5]) + bytes(rng.integers(0, 256, 400, dtype=np.uint8))
        latent = rng.integers(-3, 3, (6, 3, 4)).astype(np.int32)
        latent[3][latent[3] == 7] = 8
        latent[5] = INT32_MAX - 1 + np.clip(latent[5], -2, 1)
        seeds[f"ilv_container_{lanes}"] = bytes([(code << 2) | 2]) + encode_latent(
            t, latent, payload_format=fmt, lanes=lanes
        )
    return seeds


def main(out: str, ilv: bool = False, version: int = 1) -> None:
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    t = builtin_tables()
    seeds = interleaved_seeds(t, rng, version) if ilv else {}
    for k, n in [] if ilv else enumerate([0, 1, 2, 16, 100, 500]):
        seeds[f"stream_{k}"] = stream_seed(t, n, rng)
    for name in () if ilv else ("issue", "edge", "frankensplit"):
        path = os.path.join(HERE, "..", "conformance", "tables", f"{name}.fsct")
        with open(path, "rb") as f:
            body = f.read()
        head = struct.pack("<H", len(body))
        seeds[f"tables_{name}"] = bytes([1]) + head + body + bytes([4]) + bytes(40)
        seeds[f"tables_fixed_{name}"] = (
            bytes([2]) + struct.pack("<H", len(body) - 32) + body[:-32] + bytes([2]) + bytes(16)
        )
    if not ilv:
        latent = rng.integers(-3, 3, (6, 3, 4)).astype(np.int32)
        latent[3][latent[3] == 7] = 8
        latent[5] = INT32_MAX - 1 + np.clip(latent[5], -2, 1)
        seeds["container"] = bytes([3]) + encode_latent(t, latent)
        seeds["container_repaired"] = bytes([4]) + encode_latent(t, latent)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds)} seeds to {out}")


if __name__ == "__main__":
    v2 = "--interleaved2" in sys.argv[1:-1]
    main(sys.argv[-1], ilv=v2 or "--interleaved" in sys.argv[1:-1], version=2 if v2 else 1)
