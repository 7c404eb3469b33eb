"""The drop-in decoder's trusted path: DecoderTables (tables validated once, private immutable copies) with
fsr_decode_trusted, and the table cache's identity fast path (snapshots of the caller's lists).

The trusted decoder must be indistinguishable from the checked one (fsr_decode): the same symbols on valid streams
and the same status on every damaged stream, truncation and bad index; nothing in Python can change the tables it
trusts; and bad tables still get clear errors.
"""

import numpy as np
import pytest

from fsplit_mobile.codec import (
    CorruptStreamError,
    InvalidInputError,
    InvalidTablesError,
    decode_with_indexes,
    encode_with_indexes,
    table_cache,
)
from fsplit_mobile.codec._binding import _rans
from fsplit_mobile.codec.rans import RawTables, decode

pytestmark = pytest.mark.skipif(not hasattr(_rans, "decoder_tables"), reason="needs the CPython extension")


@pytest.fixture(autouse=True)
def empty_cache():
    table_cache.clear()
    yield
    table_cache.clear()


# ---- random tables covering every kind of row the decoder table meets ------------------------------------------
def _row(rng, precision: int) -> np.ndarray:
    total = 1 << precision
    kind = int(rng.integers(0, 6))
    slots = int(rng.integers(1, min(total, 300) + 1))  # cdf_length = slots + 1, escape slot included
    if kind == 0:  # spread out: buckets holding several slots
        weights = rng.dirichlet(np.full(slots, rng.uniform(0.05, 3.0)))
    elif kind == 1:  # one dominant slot: the mode path
        weights = rng.dirichlet(np.ones(slots)) * rng.uniform(0.0, 0.3)
        weights[int(rng.integers(0, slots))] += 1.0
    elif kind == 2:  # zero-frequency slots, the escape's too sometimes
        weights = rng.dirichlet(np.ones(slots)) * (rng.random(slots) < 0.5)
        if weights.sum() == 0:
            weights[int(rng.integers(0, slots))] = 1.0
    elif kind == 3:  # all the mass in one slot
        weights = np.zeros(slots)
        weights[int(rng.integers(0, slots))] = 1.0
    elif kind == 4:  # mode right at the threshold (3/4 of the mass), either side
        weights = rng.dirichlet(np.ones(slots)) * 0.25
        weights[0] += 0.75 + rng.uniform(-0.01, 0.01)
    else:  # only the escape slot (cdf_length 2)
        weights = np.ones(1)
    freq = np.floor(weights / weights.sum() * total).astype(np.int64)
    freq[int(np.argmax(weights))] += total - freq.sum()
    return np.concatenate([[0], np.cumsum(freq)])


def _random_tables(rng, precision: int, num_rows: int | None = None):
    rows = [_row(rng, precision) for _ in range(num_rows or int(rng.integers(1, 7)))]
    width = max(len(r) for r in rows) + int(rng.integers(0, 3))  # padding past cdf_length is never read
    cdf = np.zeros((len(rows), width), dtype=np.int32)
    for c, r in enumerate(rows):
        cdf[c, : len(r)] = r
        cdf[c, len(r) :] = rng.integers(-5, 5, width - len(r))
    lengths = np.array([len(r) for r in rows], dtype=np.int32)
    offsets = rng.integers(-40, 40, len(rows)).astype(np.int32)
    if rng.random() < 0.2:  # decoded values beyond int32: refused as corrupt
        offsets[int(rng.integers(0, len(rows)))] = 2**31 - 1 - int(rng.integers(0, 3))
    tables = RawTables(cdf, lengths, offsets, precision)
    tables.check()
    return tables


def _random_symbols(rng, tables: RawTables, n: int):
    idx = rng.integers(0, tables.num_cdfs, n).astype(np.int32)
    values = np.empty(n, dtype=np.int64)
    for i, c in enumerate(idx):
        row = tables.cdf[c, : tables.cdf_length[c]].astype(np.int64)
        freq = np.diff(row)
        coded = np.flatnonzero(freq[:-1] > 0)
        if freq[-1] > 0 and (coded.size == 0 or rng.random() < 0.1):  # an escape
            raw = int(rng.integers(0, 1 << int(rng.integers(1, 20))))
            values[i] = -(raw >> 1) - 1 if raw % 2 else (raw >> 1) + len(freq) - 1
        else:
            values[i] = int(rng.choice(coded))
    symbols = values + tables.offset[idx]
    keep = (symbols >= -(2**31)) & (symbols < 2**31)
    return symbols[keep].astype(np.int32), idx[keep]


def _outcome(fn):
    try:
        return ("ok", fn().tolist())
    except _rans.Error as err:
        return ("error", err.args[0])


def _both(tables: RawTables, dec, data: bytes, idx: np.ndarray):
    """(checked outcome with the lookup, checked without it, trusted outcome)."""

    def checked(lookup):
        out = np.empty(len(idx), dtype=np.int32)
        args = list(tables.args())
        args[-1] = tables.lookup if lookup else None
        _rans.decode(data, idx, *args, out)
        return out

    def trusted():
        out = np.empty(len(idx), dtype=np.int32)
        _rans.decode_trusted(dec, data, idx, out)
        return out

    return _outcome(lambda: checked(True)), _outcome(lambda: checked(False)), _outcome(trusted)


def test_trusted_decoder_agrees_with_the_checked_one_on_every_stream():
    rng = np.random.default_rng(22)
    seen = set()
    for case in range(120):
        precision = int(rng.choice([16, 16, 16, 12, 8, 5, 1])) if case % 3 else 16
        # over 256 rows the decoder table has 8-bit buckets instead of 10-bit ones
        tables = _random_tables(rng, precision, 300 if case % 10 == 9 else None).build_lookup()
        dec = _rans.decoder_tables(*tables.args())
        assert (dec.num_cdfs, dec.precision) == (tables.num_cdfs, precision)
        symbols, idx = _random_symbols(rng, tables, int(rng.integers(0, 600 if tables.num_cdfs < 300 else 3000)))
        try:
            data = _rans.encode(symbols, idx, *tables.args())
        except _rans.Error:
            continue
        a, b, c = _both(tables, dec, data, idx)
        assert a == b == c == ("ok", symbols.tolist())
        streams = [data[:cut] for cut in sorted(set(rng.integers(0, len(data), 6).tolist()) | {len(data) - 4})]
        streams.append(data + bytes(4))
        for _ in range(12):  # damaged bytes
            bad = bytearray(data)
            for _ in range(int(rng.integers(1, 4))):
                bad[int(rng.integers(0, len(bad)))] ^= int(rng.integers(1, 256))
            streams.append(bytes(bad))
        streams.append(rng.integers(0, 256, 4 * int(rng.integers(2, 40)), dtype=np.uint8).tobytes())
        for s in streams:
            a, b, c = _both(tables, dec, s, idx)
            assert a == b == c
            seen.add(c[0] if c[0] == "ok" else c[1])
        if len(idx):  # bad indexes anywhere: refused at that symbol, as the checked decoder does
            for bad_index in (-1, tables.num_cdfs, 2**31 - 1, -(2**31)):
                wrong = idx.copy()
                wrong[int(rng.integers(0, len(wrong)))] = bad_index
                a, b, c = _both(tables, dec, data, wrong)
                assert a == b == c and c[0] == "error"
                seen.add(c[1])
            a, b, c = _both(tables, dec, data, idx[:-1])  # one symbol short: stream not consumed
            assert a == b == c
    assert {"ok", _rans.FSR_ERR_TRUNCATED, _rans.FSR_ERR_CORRUPT, _rans.FSR_ERR_INDEX} <= seen


def _planar_symbols(rng, tables: RawTables, plane: int) -> np.ndarray:
    """(C, plane) symbols: mostly coded slots, some escapes, and now and then a zero-frequency symbol."""
    out = np.empty((tables.num_cdfs, plane), dtype=np.int64)
    for c in range(tables.num_cdfs):
        n = int(tables.cdf_length[c])
        values = rng.integers(-4, n + 3, plane)
        freq = np.diff(tables.cdf[c, :n].astype(np.int64))
        coded = np.flatnonzero(freq[:-1] > 0)
        if coded.size and rng.random() < 0.8:  # keep most planes codable: zero-frequency draws become coded slots
            zero = (values >= 0) & (values < n - 1)
            zero[zero] = freq[values[zero]] == 0
            values[zero] = rng.choice(coded, int(zero.sum()))
        out[c] = values + int(tables.offset[c])
    return np.clip(out, -(2**31), 2**31 - 1).astype(np.int32)


def _call_outcome(call, *args):
    try:
        return ("ok", call(*args))
    except _rans.Error as err:
        return ("error", err.args[0])


def test_trusted_encoder_writes_the_checked_encoders_bytes():
    """encode_planar_trusted (a reciprocal per slot, tables validated once) gives encode_planar's bytes and status
    on random tables at every precision, with escapes and zero-frequency symbols; LatentWriter uses it."""
    rng = np.random.default_rng(23)
    outcomes = set()
    for case in range(150):
        precision = int(rng.integers(1, 17)) if case % 2 else 16
        tables = _random_tables(rng, precision)
        enc = _rans.encoder_tables(*tables.args())
        assert (enc.num_cdfs, enc.precision) == (tables.num_cdfs, precision)
        symbols = _planar_symbols(rng, tables, int(rng.integers(0, 300)))

        results = [
            _call_outcome(_rans.encode_planar, symbols, tables.num_cdfs, *tables.args()),
            _call_outcome(_rans.encode_planar_trusted, enc, symbols, tables.num_cdfs),
        ]
        assert results[0] == results[1]
        outcomes.add(results[0][0] if results[0][0] == "ok" else results[0][1])
    assert outcomes == {"ok", _rans.FSR_ERR_SYMBOL}
    with pytest.raises(TypeError):
        _rans.encode_planar_trusted(_rans.decoder_tables(*tables.args()), symbols, tables.num_cdfs)
    with pytest.raises(ValueError):
        _rans.encode_planar_trusted(enc, np.zeros(7, dtype=np.int32), 2)
    with pytest.raises(_rans.Error):  # more planes than rows
        _rans.encode_planar_trusted(enc, np.zeros(4 * (tables.num_cdfs + 1), dtype=np.int32), tables.num_cdfs + 1)


def test_latent_writer_codes_the_single_stream_with_the_trusted_encoder(monkeypatch):
    from fsplit_mobile.codec import CodecTables, decode_latent, encode_latent
    from fsplit_mobile.codec import rans as rans_module

    cdf = np.array([[0, 1, 40000, 40000, 65000, 65536], [0, 20000, 20001, 65535, 65536, 0]], dtype=np.int32)
    tables = CodecTables(cdf, np.array([6, 5], dtype=np.int32), np.array([-2, 3], dtype=np.int32), 16)
    assert tables.raw.encoder is None  # built on first use: a decoder-only reader never pays for it
    rng = np.random.default_rng(6)
    symbols = np.stack([rng.choice([-2, -1, 1, 2, 9, -30], (10, 7)), rng.choice([3, 4, 5, 6, 1000], (10, 7))])
    symbols = symbols.astype(np.int32)
    data = encode_latent(tables, symbols)
    assert tables.raw.encoder is not None
    assert data[36:] == _rans.encode_planar(symbols, 2, *tables.raw.args())  # escapes included
    assert decode_latent(tables, data).tolist() == symbols.tolist()
    symbols[0, 3, 4] = 0  # slot 2 of channel 0 has frequency 0: the same clear error as the checked path
    with pytest.raises(InvalidInputError, match="zero frequency"):
        encode_latent(tables, symbols)
    # tables too large for the encoder table (32 bytes an entry) keep the checked encoder, same bytes
    monkeypatch.setattr(rans_module, "ENCODER_TABLE_MAX_ENTRIES", 4)
    big = CodecTables(cdf, np.array([6, 5], dtype=np.int32), np.array([-2, 3], dtype=np.int32), 16)
    symbols[0, 3, 4] = 1
    assert encode_latent(big, symbols) == encode_latent(tables, symbols) and big.raw.encoder is None


def test_decoder_tables_cannot_be_changed_from_python():
    tables = _random_tables(np.random.default_rng(3), 16)
    cdf, lengths, offsets = tables.cdf.copy(), tables.cdf_length.copy(), tables.offset.copy()
    dec = _rans.decoder_tables(cdf, cdf.shape[1], lengths, offsets, 16, None)
    symbols, idx = _random_symbols(np.random.default_rng(4), tables, 500)
    data = _rans.encode(symbols, idx, *tables.args())
    out = np.empty(len(idx), dtype=np.int32)
    # the arrays it was built from are copied: changing them (here into invalid tables) changes nothing
    cdf[:] = 7
    lengths[:] = 2**20
    offsets[:] = 2**31 - 1
    _rans.decode_trusted(dec, data, idx, out)
    assert out.tolist() == symbols.tolist()
    with pytest.raises(TypeError):
        memoryview(dec)  # no buffer onto its private copies
    with pytest.raises(AttributeError):
        dec.precision = 8
    with pytest.raises(AttributeError):
        dec.cdf = cdf
    with pytest.raises(TypeError):
        _rans.DecoderTables()  # only decoder_tables() builds one, validated


def test_bad_tables_are_refused_with_clear_errors():
    good = np.array([[0, 30000, 65536]], dtype=np.int32)
    one, zero = np.array([3], dtype=np.int32), np.array([0], dtype=np.int32)
    for cdf, lengths, precision in [
        (np.array([[0, 30000, 20000, 65536]], dtype=np.int32), np.array([4], dtype=np.int32), 16),
        (np.array([[0, 30000, 65535]], dtype=np.int32), one, 16),
        (np.array([[1, 30000, 65536]], dtype=np.int32), one, 16),
        (good, np.array([4], dtype=np.int32), 16),
        (good, np.array([1], dtype=np.int32), 16),
        (good, one, 17),
        (good, one, 0),
    ]:
        with pytest.raises(_rans.Error) as err:
            _rans.decoder_tables(cdf, cdf.shape[1], lengths, zero, precision, None)
        assert err.value.args[0] == _rans.FSR_ERR_TABLES
    with pytest.raises(ValueError, match="inconsistent"):
        _rans.decoder_tables(good, 3, one, np.array([0, 0], dtype=np.int32), 16, None)
    with pytest.raises(TypeError, match="int32"):
        _rans.decoder_tables(good.astype(np.int64), 3, one, zero, 16, None)
    # through the drop-in, on every call: the validation message names the problem
    for _ in range(2):
        with pytest.raises(InvalidTablesError, match=r"channel 0: cdf decreases at entry 2"):
            decode_with_indexes(bytes(8), [0], [[0, 30000, 20000, 65536]], [4], [0])
    assert table_cache.size() == 0


def test_decode_trusted_checks_its_arguments():
    dec = _rans.decoder_tables(np.array([[0, 30000, 65536]], dtype=np.int32), 3, np.array([3], dtype=np.int32),
                               np.array([0], dtype=np.int32), 16, None)  # fmt: skip
    data = encode_with_indexes([0, 1, 0], [0, 0, 0], [[0, 30000, 65536]], [3], [0])
    idx, out = np.zeros(3, dtype=np.int32), np.empty(3, dtype=np.int32)
    _rans.decode_trusted(dec, data, idx, out)
    assert out.tolist() == [0, 1, 0]
    with pytest.raises(TypeError, match="DecoderTables"):
        _rans.decode_trusted(object(), data, idx, out)
    with pytest.raises(TypeError):
        _rans.decode_trusted(dec, data, idx)
    with pytest.raises(ValueError, match="differ in length"):
        _rans.decode_trusted(dec, data, idx, np.empty(2, dtype=np.int32))
    with pytest.raises(TypeError, match="int32"):
        _rans.decode_trusted(dec, data, idx.astype(np.int64), out)
    with pytest.raises(TypeError):
        _rans.decode_trusted(dec, "text", idx, out)
    ro = np.empty(3, dtype=np.int32)
    ro.flags.writeable = False
    with pytest.raises((BufferError, TypeError, ValueError)):
        _rans.decode_trusted(dec, data, idx, ro)


def test_drop_in_decode_uses_the_cached_decoder_and_keeps_its_errors():
    cdfs, sizes, offsets = [[0, 16384, 49152, 65535, 65536], [0, 60000, 65536]], [5, 3], [0, -3]
    symbols = [-1, 0, 2, 200, -3, -2, 1, 0]
    idx = [0, 1, 0, 0, 1, 1, 0, 1]
    data = encode_with_indexes(symbols, idx, cdfs, sizes, offsets)
    assert decode_with_indexes(data, idx, cdfs, sizes, offsets).tolist() == symbols
    raw = table_cache.tables(cdfs, sizes, offsets)
    assert isinstance(raw.decoder, _rans.DecoderTables)
    for arr in (raw.cdf, raw.cdf_length, raw.offset):  # the entry's own copies are read-only
        assert not arr.flags.writeable
    assert decode(data, np.array(idx, dtype=np.int32), raw).tolist() == symbols
    for cut in range(len(data)):
        with pytest.raises(CorruptStreamError):
            decode_with_indexes(data[:cut], idx, cdfs, sizes, offsets)
    with pytest.raises(CorruptStreamError, match="corrupt"):
        decode_with_indexes(data + bytes(4), idx, cdfs, sizes, offsets)
    with pytest.raises(InvalidInputError, match=r"index 2 at position 3 outside \[0, 2\)"):
        decode_with_indexes(data, idx[:3] + [2] + idx[4:], cdfs, sizes, offsets)
    with pytest.raises(InvalidInputError, match=r"index -1 at position 0"):
        decode_with_indexes(data, [-1] + idx[1:], cdfs, sizes, offsets)


# ---- the identity fast path of the table cache -----------------------------------------------------------------
def test_snapshot_matches_only_the_same_item_objects():
    cdfs = [[0, 16384, 49152, 65535, 65536], [0, 40000, 65536]]
    sizes, offsets = [5, 3], [0, -3]
    key, snap = _rans.content_key_snapshot(cdfs, sizes, offsets)
    assert key == _rans.content_key(cdfs, sizes, offsets)
    assert _rans.snapshot_matches(snap, cdfs, sizes, offsets)
    assert _rans.snapshot_matches(snap, [list(r) for r in cdfs], tuple(sizes), list(offsets))  # same items
    big = cdfs[1][1]
    equal_other_object = int(str(big))
    assert equal_other_object is not big
    changed = [
        [cdfs[0], [0, equal_other_object, 65536]],  # equal value, other object: compared by content instead
        [cdfs[0], [0, 40001, 65536]],
        [cdfs[0], [0, 40000, 65536, 0]],
        [cdfs[0]],
        [cdfs[0], cdfs[1], cdfs[1]],
    ]
    for other in changed:
        assert not _rans.snapshot_matches(snap, other, sizes, offsets)
    assert not _rans.snapshot_matches(snap, cdfs, [5, 4], offsets)
    assert not _rans.snapshot_matches(snap, cdfs, sizes, [0, -4])
    assert not _rans.snapshot_matches(snap, cdfs, np.array(sizes), offsets)
    assert not _rans.snapshot_matches(snap, np.array(cdfs[1]), sizes, offsets)
    assert _rans.content_key_snapshot(np.array(cdfs[1]), sizes, offsets) is None
    with pytest.raises(TypeError):
        _rans.snapshot_matches(key, cdfs, sizes, offsets)


def test_lists_changed_in_place_between_decodes_are_seen():
    cdfs, sizes, offsets = [[0, 16384, 49152, 65535, 65536], [0, 20000, 65536]], [5, 3], [0, -3]
    rng = np.random.default_rng(0)
    symbols, idx = rng.integers(-3, 5, 3000).astype(np.int32), rng.integers(0, 2, 3000).astype(np.int32)
    first = encode_with_indexes(symbols, idx, [list(r) for r in cdfs], list(sizes), list(offsets))
    assert decode_with_indexes(first, idx, cdfs, sizes, offsets).tolist() == symbols.tolist()
    assert decode_with_indexes(first, idx, cdfs, sizes, offsets).tolist() == symbols.tolist()  # identity hit
    cdfs[1][1] = 30000  # the caller edits its lists in place
    offsets[1] = -4
    second = encode_with_indexes(symbols, idx, [list(r) for r in cdfs], list(sizes), list(offsets))
    assert second != first
    assert decode_with_indexes(second, idx, cdfs, sizes, offsets).tolist() == symbols.tolist()
    cdfs[1][1] = 20000
    offsets[1] = -3
    assert decode_with_indexes(first, idx, cdfs, sizes, offsets).tolist() == symbols.tolist()
    cdfs[1][1] = 70000  # now invalid: refused, not served from the cache
    with pytest.raises(InvalidTablesError):
        decode_with_indexes(first, idx, cdfs, sizes, offsets)
    assert len(table_cache._by_lists) <= table_cache.MAX_ENTRIES


def test_identity_entries_stay_bounded():
    rng = np.random.default_rng(1)
    symbols, idx = rng.integers(-3, 5, 50).astype(np.int32), np.zeros(50, dtype=np.int32)
    alive = []  # distinct ids: a freed list's id may come back
    for k in range(table_cache.MAX_ENTRIES + 5):
        cdfs = [[0, 100 + k, 65536]]
        alive.append(cdfs)
        data = encode_with_indexes(symbols, idx, cdfs, [3], [0])
        assert decode_with_indexes(data, idx, cdfs, [3], [0]).tolist() == symbols.tolist()
    assert len(table_cache._by_lists) == table_cache.MAX_ENTRIES
    assert table_cache.size() == table_cache.MAX_ENTRIES


def test_list_copy_with_runs_of_one_object_matches_numpy():
    from fsplit_mobile.codec._arrays import as_int32

    big = 10**6
    items = [0] * 5 + [big] * 4 + [-(2**31)] * 3 + [2**31 - 1, 7, 7, big]
    assert as_int32(items, "x").tolist() == np.array(items, dtype=np.int64).tolist()
    out = np.empty(4, dtype=np.int32)
    assert not _rans.fill_int32([1, 1, True, 1], out)  # a bool after a run: not an exact int, slow path
    assert not _rans.fill_int32([2**31, 2**31], out[:2])
    with pytest.raises(InvalidInputError, match="fit int32"):
        as_int32([5, 5, 2**40, 2**40], "x")
    assert as_int32([True, True, 1], "x").tolist() == [1, 1, 1]


def test_only_lists_passed_again_keep_being_snapshotted():
    cdfs0, sizes, offsets = [[0, 16384, 49152, 65535, 65536], [0, 20000, 65536]], [5, 3], [0, -3]
    rng = np.random.default_rng(2)
    symbols, idx = rng.integers(-3, 5, 500).astype(np.int32), rng.integers(0, 2, 500).astype(np.int32)
    data = encode_with_indexes(symbols, idx, cdfs0, sizes, offsets)  # the entry; no snapshot on a first sight
    assert len(table_cache._by_lists) == 0
    for _ in range(3):  # the same lists: snapshotted once, then found by identity
        assert decode_with_indexes(data, idx, cdfs0, sizes, offsets).tolist() == symbols.tolist()
    assert len(table_cache._by_lists) == 1 and not any(table_cache._snapshot_debt.values())
    keep = []
    for _ in range(6):  # new lists of new int objects every call, as tensor.tolist() builds them
        cdfs = [[int(str(v)) for v in r] for r in cdfs0]
        keep.append(cdfs)
        assert decode_with_indexes(data, idx, cdfs, sizes, offsets).tolist() == symbols.tolist()
    assert len(table_cache._by_lists) == 1 + table_cache.SNAPSHOT_DEBT_MAX  # then no more snapshots
    assert table_cache.size() == 1
