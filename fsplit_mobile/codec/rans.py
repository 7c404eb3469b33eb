"""rANS coding with explicit CDF indexes over converted tables (:class:`RawTables`), backed by the C99 core
(runtimes/c). The CompressAI drop-in built on it (``encode_with_indexes`` / ``decode_with_indexes``, its table
cache) is :mod:`.compat`; this module imports neither.
"""

from __future__ import annotations

from typing import NoReturn

import numpy as np

from ._arrays import as_int32, pad_rows
from ._binding import _rans
from .errors import CodecError, CorruptStreamError, InvalidInputError, InvalidTablesError, TableMismatchError

PRECISION = 16  # CompressAI's fixed CDF precision

_ERROR_CLASSES = {
    _rans.FSR_ERR_ARGUMENT: InvalidInputError,
    _rans.FSR_ERR_TABLES: InvalidTablesError,
    _rans.FSR_ERR_INDEX: InvalidInputError,
    _rans.FSR_ERR_SYMBOL: InvalidInputError,
    _rans.FSR_ERR_TRUNCATED: CorruptStreamError,
    _rans.FSR_ERR_CORRUPT: CorruptStreamError,
    _rans.FSR_ERR_FORMAT: CorruptStreamError,
    _rans.FSR_ERR_CHECKSUM: CorruptStreamError,
    _rans.FSR_ERR_LIMIT: CorruptStreamError,
    _rans.FSR_ERR_MISMATCH: TableMismatchError,
}


LOOKUP_MIN_SYMBOLS = 2048  # below this, checking the decoder lookup (once per call) costs more than it saves


HAVE_DECODER_TABLES = hasattr(_rans, "decoder_tables")  # absent from the ctypes build
HAVE_ENCODER_TABLES = hasattr(_rans, "encoder_tables")
# The encoder table takes 32 bytes per CDF entry (8x the CDF): above this many entries (32 MiB) encoding keeps the
# checked path instead of allocating it (a tables file may hold up to 2^24 entries). The C header's
# FSR_ETABLE_MAX_ENTRIES, which the native runner uses.
ENCODER_TABLE_MAX_ENTRIES = 1 << 20


class RawTables:
    """Validated, contiguous int32 table arrays as the C core wants them, plus the optional uint16 decoder
    lookup (``build_lookup``): it only speeds decoding up; the C decoder refuses one that does not match.

    ``build_decoder`` adds the extension's DecoderTables: an immutable private copy of the tables, validated once,
    with the decoder's bucket table; :func:`decode` then uses it and skips the per-call table check. It holds the
    tables as they were when it was built: build it only for arrays nobody changes afterwards (the drop-in's
    table cache, whose arrays are its own read-only copies).

    ``build_encoder`` likewise adds the EncoderTables (a reciprocal per slot instead of a division per symbol,
    same bytes) that :class:`~fsplit_mobile.codec.container.LatentWriter` codes the single stream with."""

    __slots__ = ("cdf", "cdf_length", "offset", "precision", "lookup", "decoder", "encoder")

    def __init__(self, cdf: np.ndarray, cdf_length: np.ndarray, offset: np.ndarray, precision: int):
        self.cdf, self.cdf_length, self.offset, self.precision = cdf, cdf_length, offset, precision
        self.lookup: np.ndarray | None = None
        self.decoder = None
        self.encoder = None

    def build_lookup(self) -> RawTables:
        lookup = np.empty(self.num_cdfs * _rans.LOOKUP_STRIDE, dtype=np.uint16)
        _rans.build_lookup(*self.args(), lookup)
        self.lookup = lookup
        return self

    def build_decoder(self) -> RawTables:
        """Attach the DecoderTables (no-op without the extension: decode then takes the checked path)."""
        if HAVE_DECODER_TABLES:
            self.decoder = _rans.decoder_tables(*self.args())
        return self

    def build_encoder(self) -> RawTables:
        """Attach the EncoderTables (no-op where the C coder has none, e.g. an older ctypes library on a board, or
        for tables beyond ENCODER_TABLE_MAX_ENTRIES: encoding then takes the checked path)."""
        if HAVE_ENCODER_TABLES and self.cdf.size <= ENCODER_TABLE_MAX_ENTRIES:
            try:
                self.encoder = _rans.encoder_tables(*self.args())
            except _rans.Error:  # only for a library without it: the tables themselves were checked
                self.encoder = None
        return self

    @classmethod
    def from_compressai(cls, cdfs, cdf_sizes, offsets, precision: int = PRECISION) -> RawTables:
        cdf = pad_rows(cdfs, "cdfs", InvalidTablesError)
        sizes = as_int32(cdf_sizes, "cdf_sizes", InvalidTablesError)
        offs = as_int32(offsets, "offsets", InvalidTablesError)
        n = cdf.shape[0]
        if sizes.shape[0] != n or offs.shape[0] != n:
            raise InvalidTablesError(
                f"cdfs has {n} rows but cdf_sizes has {sizes.shape[0]} and offsets {offs.shape[0]} entries"
            )
        tables = cls(cdf, sizes, offs, precision)
        tables.check()
        return tables

    @property
    def num_cdfs(self) -> int:
        return int(self.cdf.shape[0])

    def args(self, symbols: int = 0) -> tuple:
        """Arguments for the _rans calls; the lookup goes along only for decoding `symbols` >= the threshold."""
        lookup = self.lookup if symbols >= LOOKUP_MIN_SYMBOLS else None
        return (self.cdf, self.cdf.shape[1], self.cdf_length, self.offset, self.precision, lookup)

    def check(self) -> None:
        """Raise InvalidTablesError naming the first bad row, if any (fast C check, slow description)."""
        try:
            _rans.check_tables(*self.args())
        except _rans.Error:
            problem = describe_table_problem(self.cdf, self.cdf_length, self.precision)
            raise InvalidTablesError(problem or "invalid CDF tables") from None


def describe_table_problem(cdf: np.ndarray, cdf_length: np.ndarray, precision: int) -> str | None:
    """A sentence naming what is wrong with these CDF rows, or None when they are valid."""
    if not 1 <= precision <= 16:
        return f"precision must be in 1..16, got {precision}"
    if cdf.ndim != 2 or cdf.shape[0] == 0:
        return f"cdf must be a non-empty 2-D array, got shape {cdf.shape}"
    total = 1 << precision
    for c in range(cdf.shape[0]):
        n = int(cdf_length[c])
        if n < 2 or n > cdf.shape[1] or n > total + 1:
            return f"channel {c}: cdf_length {n} outside [2, {min(cdf.shape[1], total + 1)}]"
        row = cdf[c, :n]
        if row[0] != 0:
            return f"channel {c}: cdf must start at 0, starts at {int(row[0])}"
        if row[-1] != total:
            return f"channel {c}: cdf must end at 2^{precision} = {total}, ends at {int(row[-1])}"
        drops = np.flatnonzero(np.diff(row) < 0)
        if drops.size:
            k = int(drops[0])
            return f"channel {c}: cdf decreases at entry {k + 1} ({int(row[k])} -> {int(row[k + 1])})"
    return None


def raise_codec_error(err: _rans.Error, what: str) -> NoReturn:
    code, message = err.args
    cls = _ERROR_CLASSES.get(code, CodecError)
    raise cls(f"{what}: {message}") from None


def describe_unencodable(symbols: np.ndarray, indexes: np.ndarray, tables: RawTables) -> str:
    """Name the first symbol the encoder refused (slow path, runs only after an error)."""
    bad_index = np.flatnonzero((indexes < 0) | (indexes >= tables.num_cdfs))
    if bad_index.size:
        i = int(bad_index[0])
        return f"index {int(indexes[i])} at position {i} outside [0, {tables.num_cdfs})"
    value = symbols.astype(np.int64) - tables.offset[indexes]
    max_value = tables.cdf_length[indexes].astype(np.int64) - 2
    raw = np.where(value < 0, -2 * value - 1, 2 * (value - max_value))
    escaped = (value < 0) | (value >= max_value)
    slot = np.where(escaped, max_value, value)
    freq = tables.cdf[indexes, slot + 1].astype(np.int64) - tables.cdf[indexes, slot]
    for i in np.flatnonzero((escaped & (raw > 0xFFFFFFFF)) | (freq == 0))[:1]:
        i = int(i)
        if freq[i] == 0:
            kind = "the escape slot" if escaped[i] else "its slot"
            return f"symbol {int(symbols[i])} at position {i} (index {int(indexes[i])}): {kind} has zero frequency"
        return f"symbol {int(symbols[i])} at position {i} (index {int(indexes[i])}): escape value exceeds 32 bits"
    return "symbols cannot be coded"


def encode(symbols: np.ndarray, indexes: np.ndarray, tables: RawTables) -> bytes:
    if symbols.shape[0] != indexes.shape[0]:
        raise InvalidInputError(f"{symbols.shape[0]} symbols but {indexes.shape[0]} indexes")
    try:
        return _rans.encode(symbols, indexes, *tables.args())
    except _rans.Error as err:
        if err.args[0] in (_rans.FSR_ERR_INDEX, _rans.FSR_ERR_SYMBOL):
            raise InvalidInputError(describe_unencodable(symbols, indexes, tables)) from None
        raise_codec_error(err, "encode")


def decode(data, indexes: np.ndarray, tables: RawTables) -> np.ndarray:
    out = np.empty(indexes.shape[0], dtype=np.int32)
    try:
        if tables.decoder is not None:  # validated once when built: no per-call table check
            _rans.decode_trusted(tables.decoder, as_bytes(data), indexes, out)
        else:
            _rans.decode(as_bytes(data), indexes, *tables.args(indexes.shape[0]), out)
    except _rans.Error as err:
        if err.args[0] == _rans.FSR_ERR_INDEX:
            bad = np.flatnonzero((indexes < 0) | (indexes >= tables.num_cdfs))
            i = int(bad[0])
            raise InvalidInputError(f"index {int(indexes[i])} at position {i} outside [0, {tables.num_cdfs})") from None
        raise_codec_error(err, "decode")
    return out


def as_bytes(data) -> bytes | memoryview:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data
    if isinstance(data, str):
        raise InvalidInputError("data must be bytes, not str")
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise InvalidInputError(f"data must be bytes-like, got {type(data).__name__}") from None
