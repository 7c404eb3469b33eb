"""The CompressAI drop-in: ``encode_with_indexes`` / ``decode_with_indexes`` take CompressAI's arguments in
CompressAI's order, so ``RansEncoder().encode_with_indexes(...)`` becomes
``fsplit_mobile.codec.encode_with_indexes(...)``. Built on the core coder (:mod:`.rans`) and the content-keyed cache
of converted tables (:mod:`.table_cache`); the core coder imports neither.
"""

from __future__ import annotations

import numpy as np

from . import table_cache
from ._arrays import as_int32
from .rans import HAVE_DECODER_TABLES, LOOKUP_MIN_SYMBOLS, decode, encode


def encode_with_indexes(symbols, indexes, cdfs, cdf_sizes, offsets) -> bytes:
    """Encode ``symbols`` (CDF row ``indexes[i]`` for symbol i) exactly as CompressAI's RansEncoder does.
    The converted tables are cached by content (:mod:`.table_cache`)."""
    tables = table_cache.tables(cdfs, cdf_sizes, offsets)
    return encode(as_int32(symbols, "symbols"), as_int32(indexes, "indexes"), tables)


def decode_with_indexes(data, indexes, cdfs, cdf_sizes, offsets) -> np.ndarray:
    """Decode a CompressAI-compatible stream; returns an int32 array with one symbol per index."""
    indexes = as_int32(indexes, "indexes")
    if HAVE_DECODER_TABLES:  # the cached entry's DecoderTables: tables validated once, not on every call
        tables = table_cache.tables(cdfs, cdf_sizes, offsets, decoder=True)
    else:
        tables = table_cache.tables(cdfs, cdf_sizes, offsets, lookup=indexes.shape[0] >= LOOKUP_MIN_SYMBOLS)
    return decode(data, indexes, tables)


class RansEncoder:
    """Drop-in for ``compressai.ans.RansEncoder`` (same method, same arguments, same bytes)."""

    def encode_with_indexes(self, symbols, indexes, cdfs, cdf_sizes, offsets) -> bytes:
        return encode_with_indexes(symbols, indexes, cdfs, cdf_sizes, offsets)


class RansDecoder:
    """Drop-in for ``compressai.ans.RansDecoder``; returns an int32 numpy array instead of a list."""

    def decode_with_indexes(self, data, indexes, cdfs, cdf_sizes, offsets) -> np.ndarray:
        return decode_with_indexes(data, indexes, cdfs, cdf_sizes, offsets)
