"""Stream container around a CompressAI-compatible payload, so the wrong tables are refused.

Layout (little-endian, 36-byte header, see docs/formats.md)::

    "FSCL" | u16 version=1 | u16 flags=0 | 8-byte table hash prefix | u32 C | u32 H | u32 W
    | u32 payload_length | u32 CRC-32 (header bytes 0..31, then the payload) | payload
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from . import _rans
from ._arrays import as_int32
from .errors import CorruptStreamError, InvalidInputError, TableMismatchError
from .rans import raise_codec_error
from .tables import CodecTables

MAGIC = b"FSCL"
VERSION = 1
HEADER = struct.Struct("<4sHH8sIIIII")
HEADER_SIZE = HEADER.size  # 36
CRC_COVERED = HEADER_SIZE - 4  # the CRC covers the header up to itself, then the payload
HASH_PREFIX = 8
MAX_SYMBOLS = 1 << 26  # decoders refuse larger latents (C * H * W)


@dataclass(frozen=True)
class ContainerHeader:
    table_hash: bytes  # first 8 bytes of the tables' SHA-256 content hash
    shape: tuple[int, int, int]  # (C, H, W)
    payload_length: int
    crc32: int


def _crc(header_without_crc: bytes, payload) -> int:
    return zlib.crc32(payload, zlib.crc32(header_without_crc)) & 0xFFFFFFFF


def pack(table_hash: bytes, shape, payload: bytes) -> bytes:
    """Wrap a payload: ``table_hash`` is the tables' content hash (its first 8 bytes are stored)."""
    if len(table_hash) < HASH_PREFIX:
        raise InvalidInputError(f"table_hash must have at least {HASH_PREFIX} bytes, got {len(table_hash)}")
    channels, height, width = (int(v) for v in shape)
    if min(channels, height, width) < 0 or max(channels, height, width) > 0xFFFFFFFF:
        raise InvalidInputError(f"latent shape {tuple(shape)} does not fit the container's u32 fields")
    if len(payload) > 0xFFFFFFFF:
        raise InvalidInputError("payload longer than 4 GiB")
    head = HEADER.pack(MAGIC, VERSION, 0, bytes(table_hash[:HASH_PREFIX]), channels, height, width, len(payload), 0)
    crc = _crc(head[:CRC_COVERED], payload)
    return head[:CRC_COVERED] + struct.pack("<I", crc) + bytes(payload)


def unpack(data) -> tuple[ContainerHeader, memoryview]:
    """Check magic, version, length and CRC; return the header and a view of the payload."""
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
    if len(view) < HEADER_SIZE:
        raise CorruptStreamError(f"container truncated: {len(view)} bytes, the header alone has {HEADER_SIZE}")
    magic, version, flags, table_hash, c, h, w, payload_length, crc = HEADER.unpack_from(view)
    if magic != MAGIC:
        raise CorruptStreamError(f"not an fsplit stream: magic {bytes(magic)!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise CorruptStreamError(f"unsupported container version {version} (this decoder knows {VERSION})")
    if flags != 0:
        raise CorruptStreamError(f"unknown container flags 0x{flags:04x}")
    available = len(view) - HEADER_SIZE
    if available < payload_length:
        raise CorruptStreamError(f"container truncated: payload declares {payload_length} bytes, {available} present")
    if available > payload_length:
        raise CorruptStreamError(f"container has {available - payload_length} trailing bytes after the payload")
    payload = view[HEADER_SIZE:]
    actual = _crc(view[:CRC_COVERED], payload)
    if actual != crc:
        raise CorruptStreamError(f"container checksum mismatch (stored {crc:08x}, computed {actual:08x})")
    return ContainerHeader(bytes(table_hash), (c, h, w), payload_length, crc), payload


def encode_latent(tables: CodecTables, symbols) -> bytes:
    """Entropy-code a (C, H, W) int32 latent (index of a symbol = its channel) into a container."""
    arr = as_int32(symbols, "symbols", ndim=None)
    if arr.ndim != 3:
        raise InvalidInputError(f"symbols must have shape (C, H, W), got {arr.shape}")
    if arr.shape[0] != tables.num_channels:
        raise TableMismatchError(f"latent has {arr.shape[0]} channels but the tables have {tables.num_channels}")
    if arr.size > MAX_SYMBOLS:
        raise InvalidInputError(f"latent of {arr.size} symbols exceeds the container limit of {MAX_SYMBOLS}")
    try:
        payload = _rans.encode_planar(arr, arr.shape[0], *tables.raw.args())
    except _rans.Error as err:
        if err.args[0] == _rans.FSR_ERR_SYMBOL:
            from .rans import describe_unencodable

            flat = arr.reshape(-1)
            channel = np.repeat(np.arange(arr.shape[0], dtype=np.int32), arr.shape[1] * arr.shape[2])
            raise InvalidInputError(describe_unencodable(flat, channel, tables.raw)) from None
        raise_codec_error(err, "encode_latent")
    return pack(tables.content_hash_bytes, arr.shape, payload)


def decode_latent(tables: CodecTables, data) -> np.ndarray:
    """Decode a container written with ``tables``; returns the (C, H, W) int32 latent."""
    header, payload = unpack(data)
    if header.table_hash != tables.content_hash_bytes[:HASH_PREFIX]:
        raise TableMismatchError(
            f"stream was coded with tables {header.table_hash.hex()}..., these tables are "
            f"{tables.content_hash[:2 * HASH_PREFIX]}..."
        )
    c, h, w = header.shape
    if c != tables.num_channels:
        raise TableMismatchError(f"stream has {c} channels but the tables have {tables.num_channels}")
    if c * h * w > MAX_SYMBOLS:
        raise CorruptStreamError(f"stream declares a {c}x{h}x{w} latent, beyond the limit of {MAX_SYMBOLS} symbols")
    out = np.empty((c, h, w), dtype=np.int32)
    try:
        _rans.decode_planar(payload, c, *tables.raw.args(out.size), out)
    except _rans.Error as err:
        raise_codec_error(err, "decode_latent")
    return out
