"""The drop-in API's content-keyed table cache: equal content in new objects hits one entry, changing the
caller's lists or arrays afterwards never reaches a cached entry, bad tables are refused on every call, the cache
stays bounded, and the bytes are those of the uncached conversion."""

import numpy as np
import pytest

from fsplit_mobile.codec import InvalidTablesError, decode_with_indexes, encode_with_indexes, table_cache
from fsplit_mobile.codec.rans import RawTables, encode

CDFS = [[0, 16384, 49152, 65535, 65536], [0, 20000, 65536]]


@pytest.fixture(autouse=True)
def empty_cache():
    table_cache.clear()
    yield
    table_cache.clear()


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-3, 5, n).astype(np.int32), rng.integers(0, 2, n).astype(np.int32)


def test_same_bytes_as_the_uncached_conversion_and_one_entry_per_content():
    sym, idx = _data()
    uncached = encode(sym, idx, RawTables.from_compressai(CDFS, [5, 3], [0, -3]))
    assert encode_with_indexes(sym, idx, CDFS, [5, 3], [0, -3]) == uncached
    assert encode_with_indexes(sym, idx, [list(r) for r in CDFS], [5, 3], [0, -3]) == uncached  # new lists
    assert table_cache.size() == 1
    assert np.array_equal(decode_with_indexes(uncached, idx, [list(r) for r in CDFS], [5, 3], [0, -3]), sym)
    assert table_cache.size() == 1  # the decoder lookup is added to the same entry
    # other kinds of arguments (arrays, tensors) are keyed by their bytes: same output
    assert encode_with_indexes(sym, idx, [np.array(r) for r in CDFS], np.array([5, 3]), (0, -3)) == uncached


def test_changing_the_callers_tables_afterwards_is_seen():
    sym, idx = _data()
    cdfs = [list(r) for r in CDFS]
    offsets = np.array([0, -3], dtype=np.int32)
    first = encode_with_indexes(sym, idx, cdfs, [5, 3], offsets)
    cdfs[1][1] = 30000  # the caller edits its lists and its int32 array in place
    offsets[1] = -4
    second = encode_with_indexes(sym, idx, cdfs, [5, 3], offsets)
    assert second == encode(sym, idx, RawTables.from_compressai(cdfs, [5, 3], offsets)) and second != first
    assert np.array_equal(decode_with_indexes(first, idx, CDFS, [5, 3], [0, -3]), sym)


def test_bad_tables_are_refused_on_every_call_and_the_cache_is_bounded():
    sym, idx = _data(10)
    for _ in range(2):
        with pytest.raises(InvalidTablesError, match="must end at 2"):
            encode_with_indexes(sym, idx, [[0, 100, 65535], [0, 65536]], [3, 2], [0, 0])
    assert table_cache.size() == 0
    for k in range(table_cache.MAX_ENTRIES + 5):
        encode_with_indexes(sym, idx, [[0, 100 + k, 65536], [0, 65536]], [3, 2], [0, 0])
    assert table_cache.size() == table_cache.MAX_ENTRIES


def test_list_inputs_take_the_fast_copy_with_the_same_results_and_errors():
    from fsplit_mobile.codec import InvalidInputError
    from fsplit_mobile.codec._arrays import as_int32

    values = [0, -1, 2**31 - 1, -(2**31), 7]
    assert as_int32(values, "s").tolist() == values and as_int32(tuple(values), "s").dtype == np.int32
    with pytest.raises(InvalidInputError, match="values must fit int32"):
        as_int32([1, 2**31], "s")
    with pytest.raises(InvalidInputError, match="must be integers"):
        as_int32([1, 2.5], "s")
    sym, idx = _data()
    assert encode_with_indexes(sym.tolist(), idx.tolist(), CDFS, [5, 3], [0, -3]) == encode_with_indexes(
        sym, idx, CDFS, [5, 3], [0, -3]
    )


def test_lists_of_ints_are_keyed_by_a_copy_built_in_c():
    from fsplit_mobile.codec import _rans

    if not hasattr(_rans, "content_key"):
        pytest.skip("extension without content_key (ctypes build)")
    k = table_cache.key(CDFS, [5, 3], [0, -3])
    assert k[0] == "c" and k == table_cache.key([tuple(r) for r in CDFS], (5, 3), [0, -3])  # equal content
    # any other content, row boundaries included, gives another key
    assert table_cache.key([[0, 16384], [49152, 65535, 65536, 0, 20000, 65536]], [5, 3], [0, -3]) != k
    assert table_cache.key(CDFS, [5, 3], [0, -4]) != k and table_cache.key(CDFS, [3, 5], [0, -3]) != k
    # anything but exact ints within int32 takes the Python key, arrays included
    for odd in ([[0, True], [0, 65536]], [[0, 2**31], [0, 65536]], [[0, 1.0], [0, 65536]], [np.array([0, 65536])]):
        assert table_cache.key(odd, [2, 2], [0, 0]) is None or table_cache.key(odd, [2, 2], [0, 0])[0] != "c"
    # the caller editing its lists after a call is seen (the key is a copy)
    sym, idx = _data()
    cdfs, sizes, offsets = [list(r) for r in CDFS], [5, 3], [0, -3]
    first = encode_with_indexes(sym, idx, cdfs, sizes, offsets)
    cdfs[1][1], offsets[1] = 30000, -4
    second = encode_with_indexes(sym, idx, cdfs, sizes, offsets)
    assert second == encode(sym, idx, RawTables.from_compressai(cdfs, sizes, offsets)) and second != first
    assert np.array_equal(decode_with_indexes(second, idx, cdfs, sizes, offsets), sym)
    assert table_cache.size() == 2
