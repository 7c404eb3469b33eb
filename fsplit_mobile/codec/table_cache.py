"""Content-keyed cache of the drop-in API's converted tables (``encode_with_indexes`` / ``decode_with_indexes``).

Why: CompressAI's calling convention hands over the CDF tables as Python lists (or tensors) on every call.
Converting them (48 rows: padding, validation, the decoder lookup) took longer than coding a whole 48x28x28
latent, so the drop-in was only ~3x faster than CompressAI's own coder. The same tables come back call after
call, so the converted form is kept, keyed by the tables' content: a key is built from a copy of the values
(tuples or bytes), so changing the caller's lists or arrays afterwards can never reach a cached entry, and
equal content under a different object hits the same entry. Lists of Python ints (CompressAI's own form) are
keyed by the extension's ``content_key`` (one int32 bytes copy built in C: 7-20 us a call where the Python key
below took 30-160 us, as long as decoding a 320x7x7 latent); anything else by the Python key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .rans import PRECISION, RawTables

try:  # absent from the ctypes build: the Python key is used there
    from ._rans import content_key as _content_key
except ImportError:
    _content_key = None

MAX_ENTRIES = 16  # distinct table sets kept (a model has one per entropy bottleneck / rate point)

_lock = threading.Lock()
_entries: OrderedDict = OrderedDict()


def _part(values):
    """A hashable copy of one argument's content, or None when it cannot be keyed cheaply."""
    if isinstance(values, np.ndarray) or hasattr(values, "__array__"):
        arr = np.asarray(values)
        return ("a", arr.dtype.str, arr.shape, arr.tobytes()) if arr.dtype != object else None
    if isinstance(values, (list, tuple)):
        try:
            if (
                values
                and isinstance(values[0], (list, tuple, np.ndarray))
                or (values and hasattr(values[0], "__array__"))
            ):
                rows = tuple(_part(r) for r in values)
                return None if None in rows else ("r", rows)
            return ("l", tuple(values))
        except TypeError:
            return None
    return None


def key(cdfs, cdf_sizes, offsets, precision: int = PRECISION):
    if _content_key is not None:
        fast = _content_key(cdfs, cdf_sizes, offsets)
        if fast is not None:
            return ("c", fast, int(precision))
    parts = (_part(cdfs), _part(cdf_sizes), _part(offsets))
    if None in parts:
        return None
    try:
        hash(parts)
    except TypeError:  # e.g. a list holding unhashable items: not cached, converted every time
        return None
    return (*parts, int(precision))


def tables(cdfs, cdf_sizes, offsets, precision: int = PRECISION, *, lookup: bool = False) -> RawTables:
    """The converted (validated) tables for these arguments, from the cache when their content was seen."""
    k = key(cdfs, cdf_sizes, offsets, precision)
    if k is not None:
        with _lock:
            hit = _entries.get(k)
            if hit is not None:
                _entries.move_to_end(k)
        if hit is not None:
            if lookup and hit.lookup is None:
                hit.build_lookup()
            return hit
    raw = RawTables.from_compressai(cdfs, cdf_sizes, offsets, precision)
    # own copies: an int32 array argument is used as is by the conversion, and the caller may change it later
    raw.cdf, raw.cdf_length, raw.offset = raw.cdf.copy(), raw.cdf_length.copy(), raw.offset.copy()
    if lookup:
        raw.build_lookup()
    if k is not None:
        with _lock:
            _entries[k] = raw
            while len(_entries) > MAX_ENTRIES:
                _entries.popitem(last=False)
    return raw


def clear() -> None:
    with _lock:
        _entries.clear()


def size() -> int:
    return len(_entries)
