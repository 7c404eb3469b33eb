"""Stream container: pack/unpack, encode_latent/decode_latent, and refusal of damaged or foreign streams."""

import struct
import zlib

import numpy as np
import pytest

from codec_support import random_tables
from fsplit_mobile.codec import (
    CodecTables,
    CorruptStreamError,
    InvalidInputError,
    TableMismatchError,
    container,
    decode_latent,
    encode_latent,
)


def _tables(channels=3, seed=0) -> CodecTables:
    return random_tables(channels, seed)


def _latent(tables, h=5, w=7, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(-15, 25, (tables.num_channels, h, w)).astype(np.int32)


def test_round_trip_and_header_layout():
    tables = _tables()
    symbols = _latent(tables)
    data = encode_latent(tables, symbols)
    assert data[:4] == b"FSCL" and struct.unpack_from("<HH", data, 4) == (1, 0)
    assert data[8:16] == tables.content_hash_bytes[:8]
    assert struct.unpack_from("<IIII", data, 16) == (3, 5, 7, len(data) - 36)
    assert struct.unpack_from("<I", data, 32)[0] == zlib.crc32(data[36:], zlib.crc32(data[:32]))
    out = decode_latent(tables, data)
    assert out.dtype == np.int32 and out.shape == (3, 5, 7) and np.array_equal(out, symbols)
    header, payload = container.unpack(data)
    assert header.shape == (3, 5, 7) and header.table_hash == tables.content_hash_bytes[:8]
    assert container.pack(tables.content_hash_bytes, (3, 5, 7), bytes(payload)) == data


def test_accepts_other_integer_dtypes_and_tensors():
    import torch

    tables = _tables()
    symbols = _latent(tables)
    expected = encode_latent(tables, symbols)
    assert encode_latent(tables, symbols.astype(np.int64)) == expected
    assert encode_latent(tables, torch.from_numpy(symbols)) == expected
    assert encode_latent(tables, np.asfortranarray(symbols)) == expected
    assert decode_latent(tables, bytearray(expected)).tolist() == symbols.tolist()


def test_empty_latent():
    tables = _tables()
    data = encode_latent(tables, np.zeros((3, 0, 4), dtype=np.int32))
    assert len(data) == 44
    assert decode_latent(tables, data).shape == (3, 0, 4)


def test_wrong_tables_and_shapes_are_refused():
    tables, other = _tables(seed=0), _tables(seed=5)
    data = encode_latent(tables, _latent(tables))
    with pytest.raises(TableMismatchError, match="coded with tables"):
        decode_latent(other, data)
    with pytest.raises(TableMismatchError, match="4 channels but the tables have 3"):
        encode_latent(tables, np.zeros((4, 2, 2), dtype=np.int32))
    with pytest.raises(InvalidInputError, match=r"shape \(C, H, W\)"):
        encode_latent(tables, np.zeros((3, 4), dtype=np.int32))
    with pytest.raises(InvalidInputError, match="must be integers"):
        encode_latent(tables, np.zeros((3, 2, 2), dtype=np.float32))
    # same hash prefix, fewer channels declared (CRC recomputed): refused as a mismatch
    body = bytearray(data[:32])
    body[16:20] = struct.pack("<I", 2)
    forged = bytes(body) + struct.pack("<I", zlib.crc32(data[36:], zlib.crc32(bytes(body)))) + data[36:]
    with pytest.raises(TableMismatchError, match="2 channels"):
        decode_latent(tables, forged)


def test_unencodable_symbol_is_named():
    tables = CodecTables.from_arrays([[0, 100, 65536]], [3], [5])
    symbols = np.zeros((1, 2, 2), dtype=np.int32)
    symbols[0, 1, 0] = -(2**31)
    with pytest.raises(InvalidInputError, match="symbol -2147483648 at position 2 .index 0.: escape value exceeds"):
        encode_latent(tables, symbols)


def test_every_truncation_and_bit_flip_is_refused():
    tables = _tables()
    data = encode_latent(tables, _latent(tables, 3, 4))
    for cut in range(len(data)):
        with pytest.raises(CorruptStreamError):
            decode_latent(tables, data[:cut])
    for k in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[k] ^= 1 << bit
            with pytest.raises((CorruptStreamError, TableMismatchError)):
                decode_latent(tables, bytes(damaged))


@pytest.mark.parametrize(
    "offset,raw,message",
    [
        (0, b"XXXX", "not an fsplit stream"),
        (4, struct.pack("<H", 9), "unsupported container version 9"),
        (6, struct.pack("<H", 1), "unknown container flags"),
        (20, struct.pack("<II", 1 << 15, 1 << 15), "beyond the limit"),
    ],
)
def test_header_problems_are_named(offset, raw, message):
    tables = _tables()
    data = bytearray(encode_latent(tables, _latent(tables)))
    data[offset : offset + len(raw)] = raw
    data[32:36] = struct.pack("<I", zlib.crc32(bytes(data[36:]), zlib.crc32(bytes(data[:32]))))
    with pytest.raises(CorruptStreamError, match=message):
        decode_latent(tables, bytes(data))


def test_length_and_checksum_messages():
    tables = _tables()
    data = encode_latent(tables, _latent(tables))
    with pytest.raises(CorruptStreamError, match="header alone has 36"):
        container.unpack(data[:10])
    with pytest.raises(CorruptStreamError, match="payload declares"):
        container.unpack(data[:-4])
    with pytest.raises(CorruptStreamError, match="1 trailing bytes"):
        container.unpack(data + b"\0")
    damaged = bytearray(data)
    damaged[-1] ^= 0xFF
    with pytest.raises(CorruptStreamError, match="checksum mismatch"):
        container.unpack(bytes(damaged))
    with pytest.raises(InvalidInputError, match="at least 8 bytes"):
        container.pack(b"abc", (1, 1, 1), b"")


def _rewrite_header(data: bytes, version: int, flags: int) -> bytes:
    head = bytearray(data[:32])
    head[4:8] = struct.pack("<HH", version, flags)
    return bytes(head) + struct.pack("<I", zlib.crc32(data[36:], zlib.crc32(bytes(head)))) + data[36:]


def test_rate_point_writes_version_2_and_round_trips():
    tables = _tables()
    symbols = _latent(tables)
    plain = encode_latent(tables, symbols)
    data = encode_latent(tables, symbols, rate_point=17)
    assert struct.unpack_from("<HH", data, 4) == (2, 17 << 8)
    assert data[8:] != plain[8:] and data[36:] == plain[36:]  # same payload, CRC covers the flags
    header = container.read_header(data)
    assert (header.version, header.rate_point, header.payload_format, header.lanes) == (2, 17, 0, 1)
    assert header.payload_format is container.PayloadFormat.SINGLE and header.flags == 17 << 8
    assert np.array_equal(decode_latent(tables, data), symbols)
    assert container.read_header(plain).rate_point == 0 and container.read_header(plain).version == 1
    assert encode_latent(tables, symbols, rate_point=0) == plain


def test_flags_layout():
    fmt = container.PayloadFormat
    assert container.encode_flags(fmt.SINGLE, 1, 0) == 0
    assert container.encode_flags(fmt.INTERLEAVED, 8, 0) == 0x31
    assert container.encode_flags(fmt.INTERLEAVED, 32, 255) == 0xFF51
    assert container.decode_flags(2, 0x0741) == (fmt.INTERLEAVED, 16, 7)
    assert container.decode_flags(1, 0) == (fmt.SINGLE, 1, 0)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"rate_point": 256}, "rate_point must be an integer in 0..255"),
        ({"rate_point": -1}, "rate_point"),
        ({"payload_format": 3}, "payload_format must be one of"),
        ({"lanes": 8}, "lanes must be 1 for the single-stream"),
        ({"payload_format": 1, "lanes": 4}, r"lanes must be one of \(8, 16, 32\)"),
    ],
)
def test_unstorable_formats_are_refused_by_writers(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        container.pack(b"\0" * 8, (1, 1, 1), b"", **kwargs)


@pytest.mark.parametrize(
    "version,flags,message",
    [
        (1, 0x0100, "version 1 defines none"),
        (2, 0, "version 2 with flags 0"),
        (3, 0x0100, "unsupported container version 3"),
        (2, 0x0002, r"lanes field 0 .bits 4-7. gives 1 interleaved lanes"),
        (2, 0x0003, "payload format 3"),
        (2, 0x0004, "reserved bits 2-3"),
        (2, 0x0008, "reserved bits 2-3"),
        (2, 0x0010, "lanes field 1 .bits 4-7. must be 0 for the single-stream"),
        (2, 0x0021, r"lanes field 2 .bits 4-7. gives 4 interleaved lanes"),
        (2, 0x0061, "gives 64 interleaved lanes"),
    ],
)
def test_unknown_flags_are_refused_naming_the_field(version, flags, message):
    tables = _tables()
    data = _rewrite_header(encode_latent(tables, _latent(tables)), version, flags)
    with pytest.raises(CorruptStreamError, match=message):
        container.unpack(data)
    with pytest.raises(CorruptStreamError, match=message):
        decode_latent(tables, data)


@pytest.mark.parametrize(("fmt", "lanes"), [("single", None), ("interleaved", 16), ("interleaved2", 8)])
def test_latent_writer_is_encode_latent_once_set_up(fmt, lanes):
    """A LatentWriter (settings checked once, the per-frame path of the device agent, client and e2e) writes
    exactly encode_latent's bytes, call after call, for any latent size; strided/int64 input is converted."""
    tables = _tables(4)
    write = container.LatentWriter(tables, rate_point=3, payload_format=fmt, lanes=lanes)
    for seed, (h, w) in enumerate([(5, 7), (1, 1), (16, 9), (5, 7)]):
        symbols = _latent(tables, h, w, seed)
        data = write(symbols)
        assert data == encode_latent(tables, symbols, rate_point=3, payload_format=fmt, lanes=lanes)
        header = container.read_header(data)
        assert (header.rate_point, header.shape) == (3, (4, h, w))
        assert np.array_equal(decode_latent(tables, data), symbols)
    strided = np.asfortranarray(_latent(tables, 6, 6, 9).astype(np.int64))
    assert write(strided) == write(np.ascontiguousarray(strided, dtype=np.int32))


def test_latent_writer_refuses_bad_settings_and_latents():
    tables = _tables(4)
    with pytest.raises(InvalidInputError, match="lanes"):
        container.LatentWriter(tables, payload_format="interleaved2", lanes=12)
    with pytest.raises(InvalidInputError, match="rate_point"):
        container.LatentWriter(tables, rate_point=256)
    write = container.LatentWriter(tables, payload_format="interleaved2")
    with pytest.raises(TableMismatchError, match="3 channels but the tables have 4"):
        write(_latent(_tables(3), 2, 2))
    with pytest.raises(InvalidInputError, match=r"shape \(C, H, W\)"):
        write(np.zeros((4, 5), np.int32))


def test_pack_refuses_what_the_header_cannot_hold():
    """pack() (and so every writer, which shares its header builder) names the field that does not fit."""
    tables = _tables()
    payload = b"\0" * 8
    with pytest.raises(InvalidInputError, match="table_hash must have at least 8 bytes"):
        container.pack(b"1234567", (3, 5, 7), payload)
    for shape in [(3, -1, 7), (3, 5, 2**32), (3, 5)]:
        with pytest.raises(InvalidInputError, match="does not fit the container's u32 fields"):
            container.pack(tables.content_hash_bytes, shape, payload)
    data = container.pack(tables.content_hash_bytes, (3, 5, 7), bytearray(payload), rate_point=2)
    header, body = container.unpack(data)
    assert (header.shape, header.rate_point, bytes(body)) == ((3, 5, 7), 2, payload)
