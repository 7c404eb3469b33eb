"""Portable rANS entropy coder, byte-compatible with CompressAI (C99 core in runtimes/c).

CompressAI users switch with one import (``RansEncoder``/``RansDecoder`` also exist as drop-in classes)::

    from fsplit_mobile.codec import encode_with_indexes, decode_with_indexes

Higher level: :class:`~fsplit_mobile.codec.tables.CodecTables` (the .fsct tables file) and
:mod:`~fsplit_mobile.codec.container` (``encode_latent`` / ``decode_latent``; ``payload_format="interleaved"``
selects the SIMD-friendly payload of :mod:`~fsplit_mobile.codec.interleaved`, ``rate_point`` the header field).
"""

from . import interleaved, table_cache
from .compat import RansDecoder, RansEncoder, decode_with_indexes, encode_with_indexes
from .container import decode_latent, encode_latent
from .errors import CodecError, CorruptStreamError, InvalidInputError, InvalidTablesError, TableMismatchError
from .tables import CodecTables

__all__ = [
    "interleaved",
    "table_cache",
    "encode_with_indexes",
    "decode_with_indexes",
    "RansEncoder",
    "RansDecoder",
    "CodecTables",
    "encode_latent",
    "decode_latent",
    "CodecError",
    "CorruptStreamError",
    "TableMismatchError",
    "InvalidTablesError",
    "InvalidInputError",
]
