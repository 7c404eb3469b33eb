"""Codec tables: CompressAI EntropyBottleneck CDF buffers, validated, hashed, stored as a .fsct file.

File layout (little-endian, see docs/formats.md)::

    "FSCT" | u16 version=1 | u16 precision | u32 num_channels | u32 max_length
    per channel: i32 offset | u32 cdf_length | cdf_length x u32 cdf
    32-byte SHA-256 of everything before it (the content hash)
"""

from __future__ import annotations

import hashlib
import os
import struct

import numpy as np

from ._arrays import as_int32
from .errors import InvalidTablesError
from .rans import PRECISION, RawTables

MAGIC = b"FSCT"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sHHII")
HASH_SIZE = 32
MAX_CHANNELS = 65536
MAX_ENTRIES = 1 << 24  # num_channels * max_length, refused beyond (as the C reader does)


class CodecTables:
    """Per-channel CDF tables of one entropy bottleneck; the CDF index of a latent symbol is its channel."""

    def __init__(self, quantized_cdf: np.ndarray, cdf_length: np.ndarray, offset: np.ndarray, precision: int):
        self._raw = RawTables(quantized_cdf, cdf_length, offset, precision)
        self._raw.check()
        self._raw.build_lookup()
        self._bytes = self._serialize()
        self._hash = hashlib.sha256(self._bytes[:-HASH_SIZE]).digest()
        self._bytes = self._bytes[:-HASH_SIZE] + self._hash

    @classmethod
    def from_arrays(cls, quantized_cdf, cdf_length, offset, precision: int = PRECISION) -> CodecTables:
        """Build from CompressAI EntropyBottleneck buffers ``_quantized_cdf`` (C, Lmax), ``_cdf_length``
        (C,) and ``_offset`` (C,) (numpy arrays, CPU tensors or lists)."""
        cdf = as_int32(np.asarray(quantized_cdf), "quantized_cdf", InvalidTablesError, ndim=None)
        if cdf.ndim != 2 or cdf.shape[0] == 0:
            raise InvalidTablesError(f"quantized_cdf must have shape (C, L) with C >= 1, got {cdf.shape}")
        lengths = as_int32(cdf_length, "cdf_length", InvalidTablesError)
        offsets = as_int32(offset, "offset", InvalidTablesError)
        channels = cdf.shape[0]
        if lengths.shape[0] != channels or offsets.shape[0] != channels:
            raise InvalidTablesError(
                f"quantized_cdf has {channels} channels but cdf_length has {lengths.shape[0]} "
                f"and offset {offsets.shape[0]} entries"
            )
        if channels > MAX_CHANNELS:
            raise InvalidTablesError(f"{channels} channels exceed the limit of {MAX_CHANNELS}")
        if not isinstance(precision, (int, np.integer)) or not 1 <= int(precision) <= 16:
            raise InvalidTablesError(f"precision must be an integer in 1..16, got {precision!r}")
        longest = int(lengths.max())
        if longest < 2 or longest > cdf.shape[1]:
            bad = int(np.flatnonzero((lengths < 2) | (lengths > cdf.shape[1]))[0])
            raise InvalidTablesError(
                f"channel {bad}: cdf_length {int(lengths[bad])} outside [2, {cdf.shape[1]}] (quantized_cdf width)"
            )
        if channels * longest > MAX_ENTRIES:
            raise InvalidTablesError(f"tables of {channels} x {longest} entries exceed the limit of {MAX_ENTRIES}")
        cdf = np.ascontiguousarray(cdf[:, :longest])
        cdf = np.where(np.arange(longest)[None, :] < lengths[:, None], cdf, 0).astype(np.int32)
        return cls(np.ascontiguousarray(cdf), lengths.copy(), offsets.copy(), int(precision))

    # ------------------------------------------------------------------ properties
    @property
    def raw(self) -> RawTables:
        """The validated int32 arrays handed to the C coder."""
        return self._raw

    @property
    def quantized_cdf(self) -> np.ndarray:
        return self._raw.cdf

    @property
    def cdf_length(self) -> np.ndarray:
        return self._raw.cdf_length

    @property
    def offset(self) -> np.ndarray:
        return self._raw.offset

    @property
    def precision(self) -> int:
        return self._raw.precision

    @property
    def num_channels(self) -> int:
        return self._raw.num_cdfs

    @property
    def max_length(self) -> int:
        return int(self._raw.cdf.shape[1])

    @property
    def content_hash(self) -> str:
        """Hex SHA-256 of the file content before the hash (what manifests and containers refer to)."""
        return self._hash.hex()

    @property
    def content_hash_bytes(self) -> bytes:
        return self._hash

    def __eq__(self, other) -> bool:
        return isinstance(other, CodecTables) and self._hash == other._hash

    def __hash__(self) -> int:
        return hash(self._hash)

    def __repr__(self) -> str:
        return (
            f"CodecTables(channels={self.num_channels}, max_length={self.max_length}, "
            f"precision={self.precision}, hash={self.content_hash[:16]})"
        )

    # ------------------------------------------------------------------ file format
    def _serialize(self) -> bytes:
        raw = self._raw
        parts = [HEADER.pack(MAGIC, FORMAT_VERSION, raw.precision, self.num_channels, self.max_length)]
        for c in range(self.num_channels):
            n = int(raw.cdf_length[c])
            parts.append(struct.pack("<iI", int(raw.offset[c]), n))
            parts.append(raw.cdf[c, :n].astype("<u4").tobytes())
        parts.append(bytes(HASH_SIZE))  # placeholder, replaced by the hash
        return b"".join(parts)

    def to_bytes(self) -> bytes:
        """The complete .fsct file content."""
        return self._bytes

    def write(self, path: str | os.PathLike) -> None:
        """Write the .fsct file (atomically: a temporary file renamed into place)."""
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(self._bytes)
        os.replace(tmp, path)

    @classmethod
    def read(cls, path: str | os.PathLike) -> CodecTables:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise InvalidTablesError(f"cannot read tables file {os.fspath(path)!r}: {exc}") from None
        try:
            return cls.from_bytes(data)
        except InvalidTablesError as exc:
            raise InvalidTablesError(f"{os.fspath(path)}: {exc}") from None

    @classmethod
    def from_bytes(cls, data: bytes) -> CodecTables:
        data = bytes(data)
        if len(data) < HEADER.size + HASH_SIZE:
            raise InvalidTablesError(f"tables file truncated: {len(data)} bytes, header and hash need 48")
        magic, version, precision, channels, max_length = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise InvalidTablesError(f"not a codec tables file: magic {magic!r}, expected {MAGIC!r}")
        if version != FORMAT_VERSION:
            raise InvalidTablesError(
                f"unsupported tables format version {version} (this reader knows {FORMAT_VERSION})"
            )
        if not 1 <= precision <= 16:
            raise InvalidTablesError(f"precision {precision} outside 1..16")
        if not 1 <= channels <= MAX_CHANNELS:
            raise InvalidTablesError(f"channel count {channels} outside 1..{MAX_CHANNELS}")
        if not 2 <= max_length <= (1 << precision) + 1:
            raise InvalidTablesError(f"max_length {max_length} outside 2..{(1 << precision) + 1}")
        if channels * max_length > MAX_ENTRIES:
            raise InvalidTablesError(f"tables of {channels} x {max_length} entries exceed the limit of {MAX_ENTRIES}")
        body_end = len(data) - HASH_SIZE
        cdf = np.zeros((channels, max_length), dtype=np.int32)
        lengths = np.zeros(channels, dtype=np.int32)
        offsets = np.zeros(channels, dtype=np.int32)
        pos = HEADER.size
        for c in range(channels):
            if body_end - pos < 8:
                raise InvalidTablesError(f"tables file truncated in the record of channel {c}")
            offsets[c], n = struct.unpack_from("<iI", data, pos)
            pos += 8
            if not 2 <= n <= max_length:
                raise InvalidTablesError(f"channel {c}: cdf_length {n} outside [2, {max_length}]")
            if body_end - pos < 4 * n:
                raise InvalidTablesError(f"tables file truncated in the CDF of channel {c}")
            values = np.frombuffer(data, dtype="<u4", count=n, offset=pos)
            if values.max() > 1 << precision:
                raise InvalidTablesError(f"channel {c}: cdf value {int(values.max())} exceeds 2^{precision}")
            cdf[c, :n] = values
            lengths[c] = n
            pos += 4 * n
        if pos != body_end:
            raise InvalidTablesError(f"tables file has {body_end - pos} unexpected bytes before its hash")
        if int(lengths.max()) != max_length:
            raise InvalidTablesError(f"header max_length {max_length} but the longest CDF has {int(lengths.max())}")
        stored = data[body_end:]
        actual = hashlib.sha256(data[:body_end]).digest()
        if stored != actual:
            raise InvalidTablesError(
                f"tables file content hash mismatch (stored {stored.hex()[:16]}..., computed {actual.hex()[:16]}...): "
                "the file is damaged"
            )
        return cls(cdf, lengths, offsets, int(precision))
