"""The interleaved payload (docs/formats.md section 4): round trips through the container for 8, 16 and 32 lanes,
the same bytes from every implementation this CPU runs and from the pure-Python model, 0 and 1 symbols, and
refusal of truncated, damaged or mislabelled payloads."""

import struct
import zlib

import numpy as np
import pytest

from codec_support import random_tables
from fsplit_mobile.codec import (
    CodecTables,
    CorruptStreamError,
    InvalidInputError,
    container,
    decode_latent,
    encode_latent,
    interleaved,
)
from fsplit_mobile.codec import reference_interleaved as ref


def _tables(channels=3, seed=0) -> CodecTables:
    return random_tables(channels, seed)


def _latent(tables, h, w, seed=1):
    rng = np.random.default_rng(seed)
    sym = rng.integers(-12, 20, (tables.num_channels, h, w)).astype(np.int32)
    sym.reshape(-1)[::97] = rng.integers(-(2**30), 2**30, sym.size // 97 + (sym.size % 97 > 0))  # big escapes
    return sym


def _ref_payload(tables, sym, lanes):
    cdfs = [tables.quantized_cdf[c, : tables.cdf_length[c]].tolist() for c in range(tables.num_channels)]
    rows = np.repeat(np.arange(sym.shape[0]), sym.shape[1] * sym.shape[2]).tolist()
    return ref.encode(sym.reshape(-1).tolist(), rows, cdfs, tables.offset.tolist(), lanes), rows, cdfs


@pytest.mark.parametrize("lanes", [8, 16, 32])
@pytest.mark.parametrize("hw", [(0, 0), (1, 1), (3, 5), (17, 9)])
def test_round_trip_matches_reference_and_every_implementation(lanes, hw):
    tables = _tables()
    sym = _latent(tables, *hw)
    data = encode_latent(tables, sym, payload_format="interleaved", lanes=lanes, rate_point=4)
    header, payload = container.unpack(data)
    assert (header.version, header.payload_format, header.lanes, header.rate_point) == (
        2,
        container.PayloadFormat.INTERLEAVED,
        lanes,
        4,
    )
    assert struct.unpack_from("<H", data, 6)[0] == 1 | ((lanes.bit_length() - 1) << 4) | (4 << 8)
    expected, rows, cdfs = _ref_payload(tables, sym, lanes)
    assert bytes(payload) == expected
    assert ref.decode(expected, rows, cdfs, tables.offset.tolist(), lanes) == sym.reshape(-1).tolist()
    assert np.array_equal(decode_latent(tables, data), sym)
    for impl in interleaved.available_implementations()[1]:
        assert interleaved.encode_planar(sym, tables.raw, lanes, impl) == expected, impl
        assert np.array_equal(interleaved.decode_planar(expected, sym.shape, tables.raw, lanes, impl), sym), impl


def test_zero_symbols_give_the_initial_states():
    tables = _tables(1)
    data = encode_latent(tables, np.zeros((1, 0, 0), dtype=np.int32), payload_format="interleaved")
    assert data[36:] == struct.pack("<I", 1 << 24) * interleaved.DEFAULT_LANES
    assert decode_latent(tables, data).shape == (1, 0, 0)


def test_single_stream_stays_the_default():
    tables = _tables()
    sym = _latent(tables, 4, 4)
    assert encode_latent(tables, sym)[4:8] == b"\x01\x00\x00\x00"
    assert container.read_header(encode_latent(tables, sym, payload_format="interleaved")).lanes == 8


def test_every_truncation_and_payload_damage_is_refused():
    tables = _tables()
    sym = _latent(tables, 4, 6)
    data = encode_latent(tables, sym, payload_format="interleaved", lanes=16)
    header = bytearray(data[:36])

    def wrap(payload: bytes) -> bytes:
        head = bytearray(header)
        head[28:32] = struct.pack("<I", len(payload))
        return bytes(head[:32]) + struct.pack("<I", zlib.crc32(payload, zlib.crc32(bytes(head[:32])))) + payload

    payload = data[36:]
    for cut in range(len(payload)):
        with pytest.raises(CorruptStreamError):
            decode_latent(tables, wrap(payload[:cut]))
    with pytest.raises(CorruptStreamError, match="stream is corrupt"):
        decode_latent(tables, wrap(payload + b"\0"))
    with pytest.raises(CorruptStreamError, match="stream is corrupt"):  # lane 0 starts below 2^24
        decode_latent(tables, wrap(b"\0\0\0\0" + payload[4:]))
    refused = 0
    for k in range(len(payload)):  # rANS maps many flips to other symbols: never a crash, mostly refused
        damaged = bytearray(payload)
        damaged[k] ^= 0x5A
        try:
            decode_latent(tables, wrap(bytes(damaged)))
        except CorruptStreamError:
            refused += 1
    assert refused > len(payload) // 2


def test_bad_arguments_are_named():
    tables = _tables()
    sym = _latent(tables, 2, 2)
    with pytest.raises(InvalidInputError, match=r"lanes must be one of \(8, 16, 32\)"):
        encode_latent(tables, sym, payload_format="interleaved", lanes=4)
    with pytest.raises(InvalidInputError, match="payload_format must be 'single', 'interleaved' or 'interleaved2'"):
        encode_latent(tables, sym, payload_format="simd")
    with pytest.raises(InvalidInputError, match="impl must be one of"):
        interleaved.encode_planar(sym, tables.raw, 8, "sse9")
    one = CodecTables.from_arrays([[0, 100, 65536]], [3], [5])
    bad = np.zeros((1, 3, 3), dtype=np.int32)
    bad[0, 1, 1] = -(2**31)
    with pytest.raises(InvalidInputError, match="symbol -2147483648 at position 4 .index 0.: escape value exceeds"):
        encode_latent(one, bad, payload_format="interleaved")


def test_stale_lookup_never_gives_wrong_symbols():
    tables, other = _tables(seed=0), _tables(seed=9)
    sym = _latent(tables, 30, 30)
    payload = interleaved.encode_planar(sym, tables.raw, 8)
    raw = tables.raw
    from fsplit_mobile.codec.rans import RawTables

    mixed = RawTables(raw.cdf, raw.cdf_length, raw.offset, raw.precision)
    mixed.lookup = np.resize(other.raw.lookup, raw.lookup.shape).astype(np.uint16)
    try:
        out = interleaved.decode_planar(payload, sym.shape, mixed, 8)
    except Exception as exc:  # noqa: BLE001 - the one allowed outcome besides the right symbols
        assert "invalid CDF tables" in str(exc)
    else:
        assert np.array_equal(out, sym)
