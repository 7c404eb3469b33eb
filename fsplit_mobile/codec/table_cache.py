"""Content-keyed cache of the drop-in API's converted tables (``encode_with_indexes`` / ``decode_with_indexes``).

Why: CompressAI's calling convention hands over the CDF tables as Python lists (or tensors) on every call.
Converting them (48 rows: padding, validation, the decoder lookup) took longer than coding a whole 48x28x28
latent, so the drop-in was only ~3x faster than CompressAI's own coder. The same tables come back call after
call, so the converted form is kept, keyed by the tables' content: a key is built from a copy of the values
(tuples or bytes), so changing the caller's lists or arrays afterwards can never reach a cached entry, and
equal content under a different object hits the same entry. Lists of Python ints (CompressAI's own form) are
keyed by the extension's ``content_key`` (one int32 bytes copy built in C: 7-20 us a call where the Python key
below took 30-160 us, as long as decoding a 320x7x7 latent); anything else by the Python key.

Callers often pass the very same list objects call after call. When a content is seen again, the extension takes a
snapshot of the lists (with their content key, in one C call, compared with the entry's key): a reference to every
item. When the lists passed later hold the same item objects in the same places (a pointer comparison, no int is
read), their content is the one keyed, since ints are immutable and a referenced object's address cannot be reused.
That check takes ~1-3 us where the content key of 320 rows takes ~18 us (~27 us with the lookup), a third of
decoding a 320x7x7 latent. A content of which two snapshots in a row were never matched (new lists every call, as
CompressAI's own classes build with tensor.tolist()) is not snapshotted again: it keeps the content key alone.

Cached entries own read-only copies of the arrays; ``decoder=True`` attaches the extension's DecoderTables
(validated once, immutable: the drop-in decoder then skips the per-call table check).
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
try:  # absent from the ctypes build: no identity fast path there
    from ._rans import content_key_snapshot as _content_key_snapshot
    from ._rans import snapshot_matches as _snapshot_matches
except ImportError:
    _content_key_snapshot = _snapshot_matches = None

MAX_ENTRIES = 16  # distinct table sets kept (a model has one per entropy bottleneck / rate point)

_lock = threading.Lock()
_entries: OrderedDict = OrderedDict()
# id(cdfs) -> (snapshot of the lists, their entry, precision, its key): the identity fast path, as bounded as _entries
_by_lists: OrderedDict = OrderedDict()
# key -> snapshots of that content taken since one last matched; none is taken at SNAPSHOT_DEBT_MAX
_snapshot_debt: dict = {}
SNAPSHOT_DEBT_MAX = 2


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


def _complete(raw: RawTables, lookup: bool, decoder: bool) -> RawTables:
    # two threads may both build one: each result is valid, the last one stays
    if lookup and raw.lookup is None:
        raw.build_lookup()
    if decoder and raw.decoder is None:
        raw.build_decoder()
    return raw


def tables(
    cdfs, cdf_sizes, offsets, precision: int = PRECISION, *, lookup: bool = False, decoder: bool = False
) -> RawTables:
    """The converted (validated) tables for these arguments, from the cache when their content was seen.
    ``lookup`` / ``decoder``: make sure the entry has its decoder lookup / DecoderTables."""
    precision = int(precision)
    lists_id = id(cdfs)
    if _snapshot_matches is not None and (seen := _by_lists.get(lists_id)) is not None:
        snapshot, raw, seen_precision, seen_key = seen
        if seen_precision == precision and _snapshot_matches(snapshot, cdfs, cdf_sizes, offsets):
            if _snapshot_debt.get(seen_key):
                _snapshot_debt[seen_key] = 0  # its snapshots pay
            return _complete(raw, lookup, decoder)
        with _lock:  # other lists at a reused id, or these changed in place
            _by_lists.pop(lists_id, None)
    k = key(cdfs, cdf_sizes, offsets, precision)
    hit = None
    if k is not None:
        with _lock:
            hit = _entries.get(k)
            if hit is not None:
                _entries.move_to_end(k)
    if hit is None:
        raw = RawTables.from_compressai(cdfs, cdf_sizes, offsets, precision)
        # own read-only copies: an int32 array argument is used as is by the conversion, and the caller may change
        # it later
        for name in ("cdf", "cdf_length", "offset"):
            arr = getattr(raw, name).copy()
            arr.flags.writeable = False
            setattr(raw, name, arr)
        if k is not None:
            with _lock:
                _entries[k] = raw
                while len(_entries) > MAX_ENTRIES:
                    _entries.popitem(last=False)
        return _complete(raw, lookup, decoder)
    # Content seen before: snapshot these lists for the identity path, unless this content's last snapshots were never
    # used (a caller that builds new lists every call, e.g. with tensor.tolist(): snapshots would only cost it time).
    if k[0] == "c" and _content_key_snapshot is not None and _snapshot_debt.get(k, 0) < SNAPSHOT_DEBT_MAX:
        both = _content_key_snapshot(cdfs, cdf_sizes, offsets)  # key and snapshot in one C call
        if both is not None and ("c", both[0], precision) == k:  # still the content of this entry
            with _lock:
                _by_lists[lists_id] = (both[1], hit, precision, k)
                _by_lists.move_to_end(lists_id)
                while len(_by_lists) > MAX_ENTRIES:
                    _by_lists.popitem(last=False)
                if len(_snapshot_debt) > 4 * MAX_ENTRIES:
                    _snapshot_debt.clear()
                _snapshot_debt[k] = _snapshot_debt.get(k, 0) + 1
    return _complete(hit, lookup, decoder)


def clear() -> None:
    with _lock:
        _entries.clear()
        _by_lists.clear()
        _snapshot_debt.clear()


def size() -> int:
    return len(_entries)
