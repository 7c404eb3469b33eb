"""Generate the rANS conformance vectors (runtimes/conformance/vectors.txt + tables/*.fsct).

    python runtimes/conformance/generate.py --bundled-model      # tables of fsplit_mobile/data/default
    python runtimes/conformance/generate.py --tables path/to/tables.fsct

The FrankenSplit tables get vectors for every channel: those of the bundled default model
(``--bundled-model``), of a tables file (``--tables``, e.g. an artifact's tables.fsct), or, with neither,
the committed tables/frankensplit.fsct again; ``--synthesize`` builds a parametric stand-in instead
(needs the CompressAI oracle).
Expected bytes come from the C coder through the Python binding; every stream is also checked
here against the pure-Python reference model. tests/codec/test_codec_conformance.py cross-checks them
against CompressAI's compiled coder. The file format is described in vectors.txt's header.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fsplit_mobile.codec import CodecTables, container, encode_with_indexes  # noqa: E402
from fsplit_mobile.codec import reference as ref  # noqa: E402
from fsplit_mobile.codec import reference_interleaved as ref_ilv  # noqa: E402
from fsplit_mobile.codec import reference_interleaved2 as ref_ilv2  # noqa: E402

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
FORMAT_DOC = """\
# fsplit-mobile rANS conformance vectors. Whitespace-separated tokens; '#' starts a comment line.
#   table <name> <file.fsct relative to this file>
#   encode <name> <table> <n>      then n indexes, n symbols, hex of the expected stream
#   reject <name> <table> <n> <kind>   then n indexes, hex of a stream decoding must refuse
#   latent <name> <table> <C> <H> <W>  then C*H*W symbols (C order), hex of the expected container
#   latent-reject <name> <table> <kind>  then hex of a container decoding must refuse
#   stream <name> <table> <format> <lanes> <rate_point> <C> <H> <W>  then C*H*W symbols, hex of the expected
#          container written in that payload format (single|interleaved|interleaved2), lane count and rate point
# kinds: truncated corrupt format checksum mismatch limit (C: FSR_ERR_<KIND>). Empty hex is '-'.
"""


class Tables:
    def __init__(self, name: str, codec: CodecTables):
        self.name, self.codec = name, codec
        n = codec.num_channels
        self.cdfs = [codec.quantized_cdf[c, : codec.cdf_length[c]].tolist() for c in range(n)]
        self.sizes = codec.cdf_length.tolist()
        self.offsets = codec.offset.tolist()

    def value_to_symbol(self, channel: int, value: int) -> int:
        return value + self.offsets[channel]

    def raw_to_symbol(self, channel: int, raw: int) -> int:
        max_value = self.sizes[channel] - 2
        value = -(raw >> 1) - 1 if raw & 1 else (raw >> 1) + max_value
        return value + self.offsets[channel]


class Writer:
    def __init__(self):
        self.lines = ["fsplit-rans-vectors 1", FORMAT_DOC.rstrip("\n")]
        self.names = set()
        self.counts = {"encode": 0, "reject": 0, "latent": 0, "latent-reject": 0, "stream": 0}

    def _name(self, name: str) -> None:
        assert name not in self.names, name
        self.names.add(name)

    def table(self, t: Tables, rel: str, comment: str) -> None:
        self.lines.append(f"# {comment}")
        self.lines.append(f"table {t.name} {rel}")

    def encode(self, t: Tables, name: str, indexes, symbols) -> bytes:
        self._name(name)
        indexes = [int(i) for i in indexes]
        symbols = [int(s) for s in symbols]
        data = encode_with_indexes(symbols, indexes, t.cdfs, t.sizes, t.offsets)
        assert data == ref.encode(symbols, indexes, t.cdfs, t.sizes, t.offsets), name
        assert ref.decode(data, indexes, t.cdfs, t.sizes, t.offsets) == symbols, name
        self.lines += [f"encode {name} {t.name} {len(symbols)}", _ints(indexes), _ints(symbols), _hex(data)]
        self.counts["encode"] += 1
        return data

    def reject(self, t: Tables, name: str, indexes, data: bytes, kind: str) -> None:
        self._name(name)
        try:
            ref.decode(data, indexes, t.cdfs, t.sizes, t.offsets, strict=True)
            raise AssertionError(f"{name}: the reference decoder accepts this stream")
        except ref.StrictError as exc:
            assert exc.kind == kind, (name, exc)
        self.lines += [f"reject {name} {t.name} {len(indexes)} {kind}", _ints(indexes), _hex(data)]
        self.counts["reject"] += 1

    def latent(self, t: Tables, name: str, symbols: np.ndarray) -> bytes:
        self._name(name)
        data = container.encode_latent(t.codec, symbols)
        header, payload = container.unpack(data)
        flat = symbols.reshape(-1).tolist()
        idx = np.repeat(np.arange(symbols.shape[0]), symbols.shape[1] * symbols.shape[2]).tolist()
        assert bytes(payload) == ref.encode(flat, idx, t.cdfs, t.sizes, t.offsets), name
        c, h, w = symbols.shape
        self.lines += [f"latent {name} {t.name} {c} {h} {w}", _ints(flat), _hex(data)]
        self.counts["latent"] += 1
        return data

    def stream(self, t: Tables, name: str, symbols: np.ndarray, fmt: str, lanes: int, rate_point: int) -> bytes:
        """A container in a given payload format; interleaved payloads are checked against the Python model."""
        self._name(name)
        data = container.encode_latent(t.codec, symbols, payload_format=fmt, lanes=lanes, rate_point=rate_point)
        header, payload = container.unpack(data)
        assert (header.payload_format.name.lower(), header.lanes, header.rate_point) == (fmt, lanes, rate_point)
        flat = symbols.reshape(-1).tolist()
        idx = np.repeat(np.arange(symbols.shape[0]), symbols.shape[1] * symbols.shape[2]).tolist()
        if fmt == "interleaved2":
            assert bytes(payload) == ref_ilv2.encode(flat, idx, t.cdfs, t.offsets, lanes), name
            assert ref_ilv2.decode(bytes(payload), idx, t.cdfs, t.offsets, lanes) == flat, name
        elif fmt == "interleaved":
            assert bytes(payload) == ref_ilv.encode(flat, idx, t.cdfs, t.offsets, lanes), name
            assert ref_ilv.decode(bytes(payload), idx, t.cdfs, t.offsets, lanes) == flat, name
        else:
            assert bytes(payload) == ref.encode(flat, idx, t.cdfs, t.sizes, t.offsets), name
        c, h, w = symbols.shape
        self.lines += [f"stream {name} {t.name} {fmt} {lanes} {rate_point} {c} {h} {w}", _ints(flat), _hex(data)]
        self.counts["stream"] += 1
        return data

    def latent_reject(self, t: Tables, name: str, data: bytes, kind: str) -> None:
        self._name(name)
        self.lines += [f"latent-reject {name} {t.name} {kind}", _hex(data)]
        self.counts["latent-reject"] += 1


def _ints(values) -> str:
    return " ".join(str(int(v)) for v in values) if len(values) else "# (none)"


def _hex(data: bytes) -> str:
    return data.hex() if data else "-"


# ---------------------------------------------------------------- tables


def issue_tables() -> Tables:
    return Tables("issue", CodecTables.from_arrays([[0, 16384, 49152, 65535, 65536]], [5], [0]))


def edge_tables() -> Tables:
    """Hand-made channels exercising the corners of the format."""
    uniform = [round(k * 65536 / 299) for k in range(300)]
    rows = [
        ([0, 65536], 0),  # 0: escape slot only, probability 1: every symbol is an escape
        ([0, 1, 65535, 65536], -1),  # 1: a 1/65536 slot, a near-certain slot, a 1/65536 escape
        ([0, 0, 20000, 65000, 65536], 7),  # 2: slot 0 has zero width (never coded)
        ([0, 30000, 60000, 65536], 1_000_000_000),  # 3: large positive offset
        ([0, 30000, 60000, 65536], -1_000_000_000),  # 4: large negative offset
        (uniform, -150),  # 5: long, flat CDF (298 slots + escape)
        ([0, 100, 65536], 3),  # 6: cheap escapes (escape slot ~99.8%)
    ]
    width = max(len(r) for r, _ in rows)
    cdf = np.zeros((len(rows), width), dtype=np.int32)
    for c, (row, _) in enumerate(rows):
        cdf[c, : len(row)] = row
    return Tables("edge", CodecTables.from_arrays(cdf, [len(r) for r, _ in rows], [o for _, o in rows]))


# ---------------------------------------------------------------- vectors


def issue_vectors(w: Writer, t: Tables) -> None:
    known = {
        "issue_known_1": ([0, 1, 2, 0, 1, 2, 0, 1], "dc10c68400100000"),
        "issue_known_2": ([-1, 0, 0, 0, 0, 0, 0, 0], "ffff00002000000011000000"),
        "issue_known_3": ([100, 0, 0, 0, 0, 0, 0, 0], "ffff000000020000220c0000"),
    }
    for name, (symbols, expected) in known.items():
        data = w.encode(t, name, [0] * 8, symbols)
        assert data.hex() == expected, (name, data.hex())
    w.encode(t, "zero_symbols", [], [])
    for name, s in [("one_symbol_in_range", 2), ("one_symbol_negative", -5), ("one_symbol_huge", 123456789)]:
        w.encode(t, name, [0], [s])
    # escape payloads at every nibble-count boundary, both signs (raw odd = negative side)
    for nibbles in range(0, 9):
        raws = (
            [0]
            if nibbles == 0
            else sorted({16 ** (nibbles - 1), 16 ** (nibbles - 1) + 1, 16**nibbles - 2, 16**nibbles - 1})
        )
        if nibbles == 8:
            raws.append(2 * (INT32_MAX - 3))  # the largest positive escape an int32 symbol needs
        symbols = [t.raw_to_symbol(0, r) for r in raws]
        symbols = [s for s in symbols if INT32_MIN <= s <= INT32_MAX] + [1, 0]
        w.encode(t, f"escape_nibbles_{nibbles}", [0] * len(symbols), symbols)
    # many escapes in a row, so that nibble steps renormalise repeatedly
    rng = np.random.default_rng(3)
    raws = rng.integers(0, 1 << 27, 400)
    w.encode(t, "escape_run", [0] * 400, [t.raw_to_symbol(0, int(r)) for r in raws])
    w.encode(t, "int32_extremes", [0] * 6, [INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1, 0, -1])
    # a long stream of the known distribution
    symbols = rng.choice([0, 1, 2], size=5000, p=[0.25, 0.5, 0.25]).tolist()
    w.encode(t, "issue_long", [0] * 5000, symbols)

    # interleaved payloads: 0 and 1 symbols, partial groups, escapes of every size, all lane counts
    w.stream(t, "ilv_zero_symbols", np.zeros((1, 0, 0), dtype=np.int32), "interleaved", 8, 0)
    w.stream(t, "ilv_one_symbol", np.array([[[2]]], dtype=np.int32), "interleaved", 8, 0)
    w.stream(t, "ilv_one_escape", np.array([[[-123456]]], dtype=np.int32), "interleaved", 16, 0)
    esc_syms = [t.raw_to_symbol(0, 16**k - 1) for k in range(9)] + [INT32_MIN, INT32_MAX, 0, 1, 2]
    for lanes in (8, 16, 32):
        sym = rng.choice([0, 1, 2], size=(1, 7, 11), p=[0.25, 0.5, 0.25]).astype(np.int64)
        sym.reshape(-1)[::5][: len(esc_syms)] = esc_syms[: len(sym.reshape(-1)[::5])]
        w.stream(t, f"ilv_issue_{lanes}_lanes", sym.astype(np.int32), "interleaved", lanes, lanes)
    long_sym = rng.choice([0, 1, 2], size=(1, 40, 50), p=[0.25, 0.5, 0.25]).astype(np.int32)
    w.stream(t, "ilv_issue_long", long_sym, "interleaved", 32, 0)
    # the version 2 interleaved payload: the same shapes
    w.stream(t, "ilv2_zero_symbols", np.zeros((1, 0, 0), dtype=np.int32), "interleaved2", 8, 0)
    w.stream(t, "ilv2_one_symbol", np.array([[[2]]], dtype=np.int32), "interleaved2", 8, 0)
    w.stream(t, "ilv2_one_escape", np.array([[[-123456]]], dtype=np.int32), "interleaved2", 16, 0)
    for lanes in (8, 16, 32):
        sym = rng.choice([0, 1, 2], size=(1, 7, 11), p=[0.25, 0.5, 0.25]).astype(np.int64)
        sym.reshape(-1)[::5][: len(esc_syms)] = esc_syms[: len(sym.reshape(-1)[::5])]
        w.stream(t, f"ilv2_issue_{lanes}_lanes", sym.astype(np.int32), "interleaved2", lanes, lanes)
    w.stream(t, "ilv2_issue_long", long_sym, "interleaved2", 32, 0)

    # streams the decoder must refuse
    w.reject(t, "empty_stream", [], b"", "truncated")
    w.reject(t, "four_bytes", [], bytes(4), "truncated")
    w.reject(t, "length_not_multiple_of_4", [], ref.encode_steps([]) + b"\x00", "corrupt")
    w.reject(t, "state_below_lower_bound", [], bytes(8), "corrupt")
    w.reject(t, "state_top_bit_set", [], bytes.fromhex("0000008000000080"), "corrupt")
    good = ref.encode([-1, 0, 0, 0, 0, 0, 0, 0], [0] * 8, t.cdfs, t.sizes, t.offsets)
    w.reject(t, "trailing_word", [0] * 8, good + bytes(4), "corrupt")
    w.reject(t, "missing_last_word", [0] * 8, good[:-4], "truncated")
    w.reject(t, "fewer_symbols_than_coded", [0] * 7, good, "corrupt")
    w.reject(t, "more_symbols_than_coded", [0] * 9, good, "truncated")
    esc = (t.cdfs[0][3], t.cdfs[0][4] - t.cdfs[0][3], 16)

    def nib(v):
        return (v, 1, 4)

    long_count = [esc, nib(15), nib(0)] + [nib(1)] * 15
    w.reject(t, "escape_count_15_chunked", [0], ref.encode_steps(long_count), "corrupt")
    w.reject(t, "escape_count_9", [0], ref.encode_steps([esc, nib(9)] + [nib(1)] * 9), "corrupt")
    w.reject(t, "escape_non_minimal_count", [0], ref.encode_steps([esc, nib(2), nib(5), nib(0)]), "corrupt")
    w.reject(t, "escape_truncated", [0], ref.encode_steps([esc, nib(8)] + [nib(7)] * 8)[:8], "truncated")


def edge_vectors(w: Writer, t: Tables) -> None:
    rng = np.random.default_rng(7)
    n = 3000
    idx = rng.integers(1, t.codec.num_channels, n)  # channel 0 (probability-1 escape slot) crashes CompressAI
    symbols = []
    for c in idx:
        c = int(c)
        max_value = t.sizes[c] - 2
        r = rng.random()
        if r < 0.15 or max_value == 0:
            raw = int(rng.integers(0, 1 << int(rng.integers(1, 28))))
            symbols.append(t.raw_to_symbol(c, raw))
        else:
            value = int(rng.integers(0, max_value))
            if c == 2 and value == 0:
                value = 1  # the zero-width slot cannot be coded
            symbols.append(t.value_to_symbol(c, value))
    w.encode(t, "edge_mixed", idx, symbols)
    for c in range(t.codec.num_channels):
        max_value = t.sizes[c] - 2
        values = [v for v in range(max_value) if not (c == 2 and v == 0)]
        syms = [t.value_to_symbol(c, v) for v in values] + [t.raw_to_symbol(c, r) for r in (0, 1, 2, 3, 31, 32)]
        w.encode(t, f"edge_channel_{c}", [c] * len(syms), syms)
    # int32 ends through large offsets (escape values up to 32 bits)
    # (INT32_MIN on channel 3 would need a 33-bit escape: the encoders refuse it, see the tests)
    w.encode(
        t,
        "edge_offset_extremes",
        [3, 4, 3, 4, 3, 4],
        [INT32_MAX, INT32_MIN, 1_000_000_001, -999_999_999, -1_147_483_648, 1_147_483_647],
    )
    # the escape of INT32_MIN - offset(4)... that raw value leaves int32 when decoded
    esc4 = (t.cdfs[4][2], t.cdfs[4][3] - t.cdfs[4][2], 16)
    big = [esc4, (8, 1, 4)] + [(15, 1, 4)] * 8  # raw = 2^32 - 1 -> value -2^31 -> symbol < INT32_MIN
    w.reject(t, "escape_symbol_beyond_int32", [4], ref.encode_steps(big), "corrupt")
    # interleaved: every channel (the probability-1 escape slot, a zero-width slot, int32 ends through offsets)
    lat = np.zeros((t.codec.num_channels, 9, 9), dtype=np.int64)
    for c in range(t.codec.num_channels):
        max_value = t.sizes[c] - 2
        for k in range(81):
            if max_value == 0 or rng.random() < 0.2:
                lat[c].flat[k] = t.raw_to_symbol(c, int(rng.integers(0, 1 << int(rng.integers(1, 31)))))
            else:
                value = int(rng.integers(1 if c == 2 else 0, max_value))
                lat[c].flat[k] = t.value_to_symbol(c, value)
    lat = np.clip(lat, INT32_MIN + 1, INT32_MAX).astype(np.int32)
    lat[3, 0, :3] = [INT32_MAX, 1_000_000_001, -1_147_483_648]
    lat[4, 0, :3] = [INT32_MIN, -999_999_999, 1_147_483_647]
    for lanes in (8, 16, 32):
        w.stream(t, f"ilv_edge_{lanes}_lanes", lat, "interleaved", lanes, 0)
    for lanes in (8, 16, 32):
        w.stream(t, f"ilv2_edge_{lanes}_lanes", lat, "interleaved2", lanes, 0)


def frankensplit_vectors(w: Writer, t: Tables) -> None:
    rng = np.random.default_rng(11)
    for c in range(t.codec.num_channels):
        max_value = t.sizes[c] - 2
        values = list(range(max_value))
        syms = [t.value_to_symbol(c, v) for v in values]
        syms += [t.raw_to_symbol(c, r) for r in (0, 1, 2, 3, 200, 201, 65536, 65537)]
        syms = [syms[k] for k in rng.permutation(len(syms))]
        w.encode(t, f"frankensplit_channel_{c}", [c] * len(syms), syms)
    latent = sample_latent(t.codec, 8, 8, seed=12)
    idx = np.repeat(np.arange(t.codec.num_channels), 64)
    order = rng.permutation(idx.size)
    w.encode(t, "frankensplit_interleaved", idx[order], latent.reshape(-1)[order])

    full_latent = sample_latent(t.codec, 28, 28, seed=13)
    full = w.latent(t, "frankensplit_latent_28x28", full_latent)
    small = w.latent(t, "frankensplit_latent_2x3", sample_latent(t.codec, 2, 3, seed=14))
    w.latent(t, "frankensplit_latent_empty", np.zeros((t.codec.num_channels, 0, 5), dtype=np.int32))
    container_rejects(w, t, small, full)
    # version 2 containers: a rate point on the single stream; the interleaved payload at every lane count
    w.stream(t, "frankensplit_single_rate_point_7", sample_latent(t.codec, 2, 3, seed=14), "single", 1, 7)
    for lanes in (8, 16, 32):
        w.stream(t, f"frankensplit_ilv_28x28_{lanes}_lanes", full_latent, "interleaved", lanes, 0)
    ilv_small = w.stream(t, "frankensplit_ilv_5x7", sample_latent(t.codec, 5, 7, seed=15), "interleaved", 8, 3)
    interleaved_rejects(w, t, ilv_small)
    for lanes in (8, 16, 32):
        w.stream(t, f"frankensplit_ilv2_28x28_{lanes}_lanes", full_latent, "interleaved2", lanes, 0)
    ilv2_small = w.stream(t, "frankensplit_ilv2_5x7", sample_latent(t.codec, 5, 7, seed=15), "interleaved2", 8, 3)
    interleaved2_rejects(w, t, ilv2_small)


def container_rejects(w: Writer, t: Tables, small: bytes, full: bytes) -> None:
    def with_crc(data: bytearray) -> bytes:
        payload = bytes(data[36:])
        data[32:36] = struct.pack("<I", zlib.crc32(payload, zlib.crc32(bytes(data[:32]))) & 0xFFFFFFFF)
        return bytes(data)

    def patched(offset: int, raw: bytes, fix_crc: bool = True) -> bytes:
        data = bytearray(small)
        data[offset : offset + len(raw)] = raw
        return with_crc(data) if fix_crc else bytes(data)

    w.latent_reject(t, "container_bad_magic", patched(0, b"FSCX"), "format")
    w.latent_reject(t, "container_version_2", patched(4, b"\x02\x00"), "format")
    w.latent_reject(t, "container_flags_set", patched(6, b"\x01\x00"), "format")
    w.latent_reject(t, "container_header_only_20_bytes", small[:20], "truncated")
    w.latent_reject(t, "container_payload_truncated", small[:-1], "truncated")
    w.latent_reject(t, "container_trailing_byte", small + b"\x00", "format")
    w.latent_reject(t, "container_crc_flipped", patched(32, bytes([small[32] ^ 1]), fix_crc=False), "checksum")
    flipped = bytearray(full)
    flipped[len(full) // 2] ^= 0x10
    w.latent_reject(t, "container_payload_bit_flip", bytes(flipped), "checksum")
    w.latent_reject(t, "container_other_tables", patched(8, bytes(8)), "mismatch")
    w.latent_reject(t, "container_channel_count", patched(16, struct.pack("<I", t.codec.num_channels - 1)), "mismatch")
    w.latent_reject(t, "container_huge_shape", patched(20, struct.pack("<II", 65536, 65536)), "limit")
    # payload damaged but CRC recomputed: the rANS decoder itself must refuse it (first bit flip it notices;
    # rANS decodes many flips into other symbols, which only the CRC catches)
    idx = np.repeat(np.arange(t.codec.num_channels), 6).tolist()
    for bit in range(8 * (len(small) - 36)):
        payload = bytearray(small[36:])
        payload[bit // 8] ^= 1 << (bit % 8)
        try:
            ref.decode(bytes(payload), idx, t.cdfs, t.sizes, t.offsets, strict=True)
        except ref.StrictError as exc:
            kind = exc.kind
            break
    else:
        raise AssertionError("no single bit flip of the payload is refused")
    w.latent_reject(t, "container_payload_damaged_crc_fixed", with_crc(bytearray(small[:36] + payload)), kind)
    w.latent_reject(
        t,
        "container_payload_cut_crc_fixed",
        with_crc(bytearray(patched(28, struct.pack("<I", len(small) - 40))[:-4])),
        "truncated",
    )


def interleaved_rejects(w: Writer, t: Tables, good: bytes) -> None:
    """Interleaved containers every decoder must refuse (CRC recomputed, so the payload decoder decides)."""

    def wrap(head: bytes, payload: bytes) -> bytes:
        h = bytearray(head[:32])
        h[28:32] = struct.pack("<I", len(payload))
        return bytes(h) + struct.pack("<I", zlib.crc32(payload, zlib.crc32(bytes(h))) & 0xFFFFFFFF) + payload

    head, payload = good[:36], good[36:]

    def flags(value: int) -> bytes:
        return wrap(head[:6] + struct.pack("<H", value) + head[8:], payload)

    idx = np.repeat(np.arange(t.codec.num_channels), 35).tolist()
    for name, data in [("ilv_payload_cut", payload[:-1]), ("ilv_lane_states_cut", payload[:31])]:
        try:
            ref_ilv.decode(data, idx, t.cdfs, t.offsets, 8)
            raise AssertionError(name)
        except ref.StrictError as exc:
            assert exc.kind == "truncated", (name, exc)
        w.latent_reject(t, name, wrap(head, data), "truncated")
    w.latent_reject(t, "ilv_trailing_byte", wrap(head, payload + b"\x00"), "corrupt")
    w.latent_reject(t, "ilv_lane_state_below_2_24", wrap(head, b"\xff\xff\xff\x00" + payload[4:]), "corrupt")
    w.latent_reject(t, "ilv_flags_4_lanes", flags(0x0321), "format")
    w.latent_reject(t, "ilv_flags_64_lanes", flags(0x0361), "format")
    w.latent_reject(t, "ilv_flags_payload_format_3", flags(0x0333), "format")
    w.latent_reject(t, "ilv_flags_reserved_bit", flags(0x0335), "format")
    w.latent_reject(t, "ilv_flags_single_with_lanes", flags(0x0330), "format")
    w.latent_reject(t, "ilv_flags_in_version_1", wrap(head[:4] + b"\x01\x00" + head[6:], payload), "format")


def interleaved2_rejects(w: Writer, t: Tables, good: bytes) -> None:
    """Version 2 interleaved containers every decoder must refuse (CRC recomputed: the payload decoder decides)."""

    def wrap(head: bytes, payload: bytes) -> bytes:
        h = bytearray(head[:32])
        h[28:32] = struct.pack("<I", len(payload))
        return bytes(h) + struct.pack("<I", zlib.crc32(payload, zlib.crc32(bytes(h))) & 0xFFFFFFFF) + payload

    head, payload = good[:36], good[36:]
    idx = np.repeat(np.arange(t.codec.num_channels), 35).tolist()
    cases = [
        ("ilv2_payload_cut", payload[:-2], "truncated"),
        ("ilv2_lane_states_cut", payload[:30], "truncated"),
        ("ilv2_odd_length", payload[:-1], "corrupt"),
        ("ilv2_trailing_word", payload + b"\x00\x00", "corrupt"),
        ("ilv2_lane_state_below_2_16", b"\xff\xff\x00\x00" + payload[4:], "corrupt"),
        ("ilv2_final_state_wrong", payload[:4] + bytes([payload[4] ^ 1]) + payload[5:], None),
    ]
    for name, data, kind in cases:
        try:
            ref_ilv2.decode(data, idx, t.cdfs, t.offsets, 8)
            raise AssertionError(name)
        except ref.StrictError as exc:
            assert kind is None or exc.kind == kind, (name, exc)
            kind = exc.kind  # the damaged lane state: whatever the model finds first
        w.latent_reject(t, name, wrap(head, data), kind)
    w.latent_reject(t, "ilv2_flags_4_lanes", wrap(head[:6] + struct.pack("<H", 0x0322) + head[8:], payload), "format")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", help="FrankenSplit tables file (.fsct) to cover channel by channel")
    ap.add_argument("--bundled-model", action="store_true", help="use the bundled default model's tables")
    ap.add_argument("--synthesize", action="store_true", help="rebuild tables/frankensplit.fsct synthetically")
    ap.add_argument("--origin", help="one line saying where the FrankenSplit tables come from (kept in tables/)")
    ap.add_argument("--out", default=HERE, help="output directory (default: this directory)")
    args = ap.parse_args()

    os.makedirs(os.path.join(args.out, "tables"), exist_ok=True)
    fs_path = os.path.join(args.out, "tables", "frankensplit.fsct")
    origin_path = os.path.join(args.out, "tables", "frankensplit.origin.txt")
    origin = args.origin
    if args.synthesize:
        from synth_tables import synthesize

        CodecTables.from_arrays(*synthesize(48, seed=48)[:3]).write(fs_path)
        origin = origin or (
            "SYNTHETIC stand-in built by synth_tables.py (Laplace scales, seed 48); "
            "regenerate from the bundled model's tables.fsct"
        )
    elif args.bundled_model:
        import hashlib

        from fsplit_mobile.models.frankensplit_lite0 import DEFAULT_CHECKPOINT, load_default_model

        model = load_default_model(with_server=False)
        CodecTables.from_arrays(*model.device.entropy_bottleneck.tables()).write(fs_path)
        with open(DEFAULT_CHECKPOINT, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        origin = origin or (
            f"bundled default model fsplit_mobile/data/default/{DEFAULT_CHECKPOINT.name} (file sha256 {digest[:16]}...)"
        )
    elif args.tables and os.path.abspath(args.tables) != os.path.abspath(fs_path):
        shutil.copyfile(args.tables, fs_path)
        origin = origin or f"copied from {args.tables}"
    if origin:
        with open(origin_path, "w") as f:
            f.write(origin + "\n")
    elif os.path.exists(origin_path):
        with open(origin_path) as f:
            origin = f.read().strip()
    fs_codec = CodecTables.read(fs_path)
    w = Writer()
    sets = [
        (issue_tables(), "the issue's known-vector table", issue_vectors),
        (edge_tables(), "hand-made corner cases", edge_vectors),
        (
            Tables("frankensplit", fs_codec),
            f"FrankenSplit 48-channel table: {origin or 'origin not recorded'}",
            frankensplit_vectors,
        ),
    ]
    for t, comment, _ in sets:
        rel = f"tables/{t.name}.fsct"
        if t.name != "frankensplit":
            t.codec.write(os.path.join(args.out, rel))
        w.table(t, rel, f"{comment}; sha256 {t.codec.content_hash}")
    for t, _, fill in sets:
        fill(w, t)
    w.lines.append("end")
    with open(os.path.join(args.out, "vectors.txt"), "w") as f:
        f.write("\n".join(w.lines) + "\n")
    print(f"wrote {os.path.join(args.out, 'vectors.txt')}: {w.counts}")


from synth_tables import sample_latent  # noqa: E402

if __name__ == "__main__":
    main()
