"""Stream container around an rANS payload, so the wrong tables are refused and a decoder never guesses.

Layout (little-endian, 36-byte header, see docs/formats.md)::

    "FSCL" | u16 version (1 or 2) | u16 flags | 8-byte table hash prefix | u32 C | u32 H | u32 W
    | u32 payload_length | u32 CRC-32 (header bytes 0..31, then the payload) | payload

Version 1 has flags 0: a single CompressAI-compatible stream at rate point 0. Version 2 defines the flags:
bits 0-1 payload format, bits 2-3 reserved (0), bits 4-7 log2(interleaved lanes), bits 8-15 rate point.
Writers emit version 1 whenever the flags would be 0, so readers that only know version 1 keep working.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from . import interleaved
from ._arrays import as_int32
from ._binding import _rans
from .errors import CorruptStreamError, InvalidInputError, TableMismatchError
from .rans import raise_codec_error
from .tables import CodecTables

MAGIC = b"FSCL"
VERSION = 1  # flags 0 (the only version older readers know)
VERSION_FLAGS = 2  # flags field defined (payload format, lanes, rate point)
KNOWN_VERSIONS = (VERSION, VERSION_FLAGS)
HEADER = struct.Struct("<4sHH8sIIIII")
HEADER_SIZE = HEADER.size  # 36
CRC_COVERED = HEADER_SIZE - 4  # the CRC covers the header up to itself, then the payload
HASH_PREFIX = 8
MAX_SYMBOLS = 1 << 26  # decoders refuse larger latents (C * H * W)


MAX_RATE_POINT = 255


class PayloadFormat(IntEnum):
    """Flags bits 0-1: how the payload is coded (docs/formats.md sections 1 and 4)."""

    SINGLE = 0  # one rANS state, byte-compatible with CompressAI's RansEncoder
    INTERLEAVED = 1  # N interleaved 32-bit rANS states (SIMD-friendly)
    INTERLEAVED2 = 2  # version 2: 14-bit requantized tables, 16-bit words (docs/formats.md section 5)


INTERLEAVED_LANES = (8, 16, 32)  # the lane counts every implementation supports
_FORMAT_MASK, _RESERVED_MASK, _LANES_SHIFT, _LANES_MASK, _RATE_SHIFT = 0x3, 0xC, 4, 0xF0, 8


@dataclass(frozen=True)
class ContainerHeader:
    table_hash: bytes  # first 8 bytes of the tables' SHA-256 content hash
    shape: tuple[int, int, int]  # (C, H, W)
    payload_length: int
    crc32: int
    version: int = VERSION
    payload_format: PayloadFormat = PayloadFormat.SINGLE
    lanes: int = 1  # interleaved rANS states (1 for the single stream)
    rate_point: int = 0  # index of the rate point (variable bit-rate models), 0..255

    @property
    def flags(self) -> int:
        return encode_flags(self.payload_format, self.lanes, self.rate_point)


def encode_flags(payload_format=PayloadFormat.SINGLE, lanes: int = 1, rate_point: int = 0) -> int:
    """The u16 flags for these settings; InvalidInputError names the field that cannot be stored."""
    try:
        fmt = PayloadFormat(payload_format)
    except ValueError:
        raise InvalidInputError(
            f"payload_format must be one of {[f.name.lower() for f in PayloadFormat]}, got {payload_format!r}"
        ) from None
    if fmt is PayloadFormat.SINGLE and lanes != 1:
        raise InvalidInputError(f"lanes must be 1 for the single-stream payload format, got {lanes}")
    if fmt is not PayloadFormat.SINGLE and lanes not in INTERLEAVED_LANES:
        raise InvalidInputError(f"lanes must be one of {INTERLEAVED_LANES} for the interleaved format, got {lanes}")
    if not isinstance(rate_point, (int, np.integer)) or not 0 <= int(rate_point) <= MAX_RATE_POINT:
        raise InvalidInputError(f"rate_point must be an integer in 0..{MAX_RATE_POINT}, got {rate_point!r}")
    return int(fmt) | ((int(lanes).bit_length() - 1) << _LANES_SHIFT) | (int(rate_point) << _RATE_SHIFT)


def decode_flags(version: int, flags: int) -> tuple[PayloadFormat, int, int]:
    """(payload format, lanes, rate point) of a header; CorruptStreamError names the unknown field."""
    if version not in KNOWN_VERSIONS:
        raise CorruptStreamError(f"unsupported container version {version} (this decoder knows {KNOWN_VERSIONS})")
    if version == VERSION:
        if flags != 0:
            raise CorruptStreamError(f"unknown container flags 0x{flags:04x} (version 1 defines none)")
        return PayloadFormat.SINGLE, 1, 0
    if flags == 0:
        raise CorruptStreamError("container version 2 with flags 0 (such a stream is written as version 1)")
    fmt_bits = flags & _FORMAT_MASK
    if fmt_bits not in tuple(PayloadFormat):
        raise CorruptStreamError(f"unknown container flags: payload format {fmt_bits} (bits 0-1; known: 0, 1, 2)")
    if flags & _RESERVED_MASK:
        raise CorruptStreamError(f"unknown container flags: reserved bits 2-3 set (flags 0x{flags:04x})")
    fmt, log2_lanes = PayloadFormat(fmt_bits), (flags & _LANES_MASK) >> _LANES_SHIFT
    lanes = 1 << log2_lanes
    if fmt is PayloadFormat.SINGLE and log2_lanes != 0:
        raise CorruptStreamError(
            f"unknown container flags: lanes field {log2_lanes} (bits 4-7) must be 0 for the single-stream payload"
        )
    if fmt is not PayloadFormat.SINGLE and lanes not in INTERLEAVED_LANES:
        raise CorruptStreamError(
            f"unknown container flags: lanes field {log2_lanes} (bits 4-7) gives {lanes} "
            f"interleaved lanes, supported: {INTERLEAVED_LANES}"
        )
    return fmt, lanes, flags >> _RATE_SHIFT


def _crc(header_without_crc: bytes, payload) -> int:
    return zlib.crc32(payload, zlib.crc32(header_without_crc)) & 0xFFFFFFFF


def pack(
    table_hash: bytes,
    shape,
    payload: bytes,
    *,
    payload_format=PayloadFormat.SINGLE,
    lanes: int = 1,
    rate_point: int = 0,
) -> bytes:
    """Wrap a payload: ``table_hash`` is the tables' content hash (its first 8 bytes are stored).

    Version 1 is written when the flags are 0 (single stream, rate point 0), version 2 otherwise."""
    prefix = _header_prefix(table_hash, encode_flags(payload_format, lanes, rate_point))
    return _wrap(prefix, tuple(int(v) for v in shape), payload)


_PREFIX = struct.Struct("<4sHH8s")  # magic, version, flags, table hash prefix: header bytes 0..15
_SHAPE_LENGTH = struct.Struct("<IIII")  # C, H, W, payload length: header bytes 16..31
_U32 = struct.Struct("<I")


def _header_prefix(table_hash: bytes, flags: int) -> bytes:
    """The header's first 16 bytes, the same for every latent coded with these tables and settings."""
    if len(table_hash) < HASH_PREFIX:
        raise InvalidInputError(f"table_hash must have at least {HASH_PREFIX} bytes, got {len(table_hash)}")
    version = VERSION if flags == 0 else VERSION_FLAGS
    return _PREFIX.pack(MAGIC, version, flags, bytes(table_hash[:HASH_PREFIX]))


def _wrap(prefix: bytes, shape: tuple, payload) -> bytes:
    """Header (prefix, shape, payload length, CRC-32 of header bytes 0..31 and the payload) + payload."""
    if len(payload) > 0xFFFFFFFF:
        raise InvalidInputError("payload longer than 4 GiB")
    try:
        head = prefix + _SHAPE_LENGTH.pack(*shape, len(payload))
    except struct.error:
        raise InvalidInputError(f"latent shape {shape} does not fit the container's u32 fields") from None
    return b"".join((head, _U32.pack(_crc(head, payload)), payload))


def unpack(data) -> tuple[ContainerHeader, memoryview]:
    """Check magic, version, flags, length and CRC; return the header and a view of the payload."""
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
    if len(view) < HEADER_SIZE:
        raise CorruptStreamError(f"container truncated: {len(view)} bytes, the header alone has {HEADER_SIZE}")
    magic, version, flags, table_hash, c, h, w, payload_length, crc = HEADER.unpack_from(view)
    if magic != MAGIC:
        raise CorruptStreamError(f"not an fsplit stream: magic {bytes(magic)!r}, expected {MAGIC!r}")
    payload_format, lanes, rate_point = decode_flags(version, flags)
    available = len(view) - HEADER_SIZE
    if available < payload_length:
        raise CorruptStreamError(f"container truncated: payload declares {payload_length} bytes, {available} present")
    if available > payload_length:
        raise CorruptStreamError(f"container has {available - payload_length} trailing bytes after the payload")
    payload = view[HEADER_SIZE:]
    actual = _crc(view[:CRC_COVERED], payload)
    if actual != crc:
        raise CorruptStreamError(f"container checksum mismatch (stored {crc:08x}, computed {actual:08x})")
    header = ContainerHeader(
        bytes(table_hash), (c, h, w), payload_length, crc, version, payload_format, lanes, rate_point
    )
    return header, payload


def read_header(data) -> ContainerHeader:
    """The checked header of a container (format, lanes, rate point, shape) without decoding the payload."""
    return unpack(data)[0]


def _payload_format(value) -> PayloadFormat:
    if isinstance(value, str):
        try:
            return PayloadFormat[value.upper()]
        except KeyError:
            raise InvalidInputError(
                f"payload_format must be 'single', 'interleaved' or 'interleaved2', got {value!r}"
            ) from None
    try:
        return PayloadFormat(value)
    except ValueError:
        raise InvalidInputError(
            f"payload_format must be 'single', 'interleaved' or 'interleaved2', got {value!r}"
        ) from None


def _encoder_tables(tables: CodecTables):
    """The trusted single-stream encoder's tables of these CodecTables, built on first use (a CodecTables is
    immutable once hashed, so the private copy stays right); None where it is not available."""
    if tables.raw.encoder is None:
        tables.raw.build_encoder()
    return tables.raw.encoder


class LatentWriter:
    """Entropy coder + container for a fixed (tables, payload format, lanes, rate point): the settings are checked
    and the header's constant part built once, so each call is one C call and a few bytes of header.

    Meant for a device's per-frame loop (the benchmark's timed entropy stage runs right after the encoder, when
    the interpreter's own caches are cold: every Python step counts there); :func:`encode_latent` is the same
    path for one-off calls."""

    __slots__ = ("tables", "payload_format", "lanes", "rate_point", "_prefix", "_encode")

    def __init__(self, tables: CodecTables, *, rate_point: int = 0, payload_format="single", lanes: int | None = None):
        fmt = _payload_format(payload_format)
        if lanes is None:
            lanes = interleaved.DEFAULT_LANES if fmt is not PayloadFormat.SINGLE else 1
        flags = encode_flags(fmt, lanes, rate_point)
        self.tables, self.payload_format, self.lanes, self.rate_point = tables, fmt, lanes, flags >> _RATE_SHIFT
        self._prefix = _header_prefix(tables.content_hash_bytes, flags)
        if fmt is PayloadFormat.INTERLEAVED2:
            mem, rows, stride = interleaved.derived_tables(tables.raw)
            self._encode = lambda a: _rans.ilv2_encode_planar(a, a.shape[0], lanes, 0, mem, rows, stride)
        elif fmt is PayloadFormat.INTERLEAVED:
            args = tables.raw.args()
            self._encode = lambda a: _rans.ilv_encode_planar(a, a.shape[0], lanes, 0, *args)
        elif _encoder_tables(tables) is not None:  # reciprocals, tables validated when built: same bytes
            enc = tables.raw.encoder
            self._encode = lambda a: _rans.encode_planar_trusted(enc, a, a.shape[0])
        else:
            args = tables.raw.args()
            self._encode = lambda a: _rans.encode_planar(a, a.shape[0], *args)

    def __call__(self, symbols) -> bytes:
        """The container of one (C, H, W) int32 latent (index of a symbol = its channel)."""
        arr = symbols
        if not (type(arr) is np.ndarray and arr.dtype == np.int32 and arr.flags.c_contiguous):
            arr = np.ascontiguousarray(as_int32(symbols, "symbols", ndim=None))
        shape = arr.shape
        if len(shape) != 3:
            raise InvalidInputError(f"symbols must have shape (C, H, W), got {shape}")
        if shape[0] != self.tables.num_channels:
            raise TableMismatchError(f"latent has {shape[0]} channels but the tables have {self.tables.num_channels}")
        if arr.size > MAX_SYMBOLS:
            raise InvalidInputError(f"latent of {arr.size} symbols exceeds the container limit of {MAX_SYMBOLS}")
        try:
            payload = self._encode(arr)
        except _rans.Error as err:
            if err.args[0] == _rans.FSR_ERR_SYMBOL:
                from .rans import describe_unencodable

                flat = arr.reshape(-1)
                channel = np.repeat(np.arange(shape[0], dtype=np.int32), shape[1] * shape[2])
                raise InvalidInputError(describe_unencodable(flat, channel, self.tables.raw)) from None
            raise_codec_error(err, "encode_latent")
        return _wrap(self._prefix, shape, payload)


def encode_latent(
    tables: CodecTables, symbols, *, rate_point: int = 0, payload_format="single", lanes: int | None = None
) -> bytes:
    """Entropy-code a (C, H, W) int32 latent (index of a symbol = its channel) into a container.

    ``rate_point`` (0..255) is stored in the header for variable bit-rate models. ``payload_format``
    "single" (default) is the CompressAI-compatible stream; "interleaved" the SIMD-friendly one with
    ``lanes`` states (default :data:`interleaved.DEFAULT_LANES`); "interleaved2" its faster version 2 (14-bit
    tables, 16-bit words). Single stream at rate point 0 keeps version 1. Repeated calls with the same settings:
    :class:`LatentWriter`."""
    return LatentWriter(tables, rate_point=rate_point, payload_format=payload_format, lanes=lanes)(symbols)


def decode_latent(tables: CodecTables, data) -> np.ndarray:
    """Decode a container written with ``tables``; returns the (C, H, W) int32 latent."""
    header, payload = unpack(data)
    if header.table_hash != tables.content_hash_bytes[:HASH_PREFIX]:
        raise TableMismatchError(
            f"stream was coded with tables {header.table_hash.hex()}..., these tables are "
            f"{tables.content_hash[: 2 * HASH_PREFIX]}..."
        )
    c, h, w = header.shape
    if c != tables.num_channels:
        raise TableMismatchError(f"stream has {c} channels but the tables have {tables.num_channels}")
    if c * h * w > MAX_SYMBOLS:
        raise CorruptStreamError(f"stream declares a {c}x{h}x{w} latent, beyond the limit of {MAX_SYMBOLS} symbols")
    if header.payload_format is PayloadFormat.INTERLEAVED2:
        return interleaved.decode_planar_v2(payload, (c, h, w), tables.raw, header.lanes)
    if header.payload_format is PayloadFormat.INTERLEAVED:
        return interleaved.decode_planar(payload, (c, h, w), tables.raw, header.lanes)
    out = np.empty((c, h, w), dtype=np.int32)
    try:
        _rans.decode_planar(payload, c, *tables.raw.args(out.size), out)
    except _rans.Error as err:
        raise_codec_error(err, "decode_latent")
    return out
