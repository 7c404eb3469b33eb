"""The interleaved payload version 2 (docs/formats.md section 5): the C scalar and AVX2 coders against the
pure-Python model, the container round trip, refusal of damaged payloads, and the 14-bit requantization."""

from __future__ import annotations

import numpy as np
import pytest

from fsplit_mobile.codec import CodecTables, container, interleaved
from fsplit_mobile.codec import reference_interleaved2 as ref2
from fsplit_mobile.codec.errors import CorruptStreamError
from fsplit_mobile.codec.reference import StrictError

IMPLS = [i for i in ("scalar", "avx2", "neon") if i in interleaved.available_implementations()[1]]


def _tables(seed: int, channels: int = 6) -> CodecTables:
    rng = np.random.default_rng(seed)
    rows, lengths = [], []
    for _ in range(channels):
        n = int(rng.integers(3, 40))
        p = rng.dirichlet(np.full(n - 1, 0.3))
        f = np.maximum(1, np.round(p * (65536 - n))).astype(np.int64)
        f[np.argmax(f)] += 65536 - f.sum()
        rows.append(np.concatenate([[0], np.cumsum(f)]))
        lengths.append(n)
    cdf = np.zeros((channels, max(lengths)), dtype=np.int32)
    for c, r in enumerate(rows):
        cdf[c, : len(r)] = r
    offsets = rng.integers(-20, 5, channels)
    return CodecTables.from_arrays(cdf, np.array(lengths), offsets)


def _latent(t: CodecTables, h: int, w: int, seed: int, escapes: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = t.num_channels
    lat = np.empty((c, h, w), dtype=np.int64)
    for ch in range(c):
        lat[ch] = rng.integers(0, t.cdf_length[ch] - 2 if t.cdf_length[ch] > 2 else 1, (h, w)) + t.offset[ch]
    flat = lat.reshape(-1)
    if escapes and flat.size:
        pos = rng.choice(flat.size, min(escapes, flat.size), replace=False)
        flat[pos] = rng.integers(-(2**31), 2**31 - 1, pos.size) >> rng.integers(0, 31, pos.size)
    return np.ascontiguousarray(lat.astype(np.int32))


def _ref_args(t: CodecTables, lat: np.ndarray):
    cdfs = [t.quantized_cdf[c, : t.cdf_length[c]].tolist() for c in range(t.num_channels)]
    hw = lat.shape[1] * lat.shape[2]
    return lat.reshape(-1).tolist(), [i // hw for i in range(lat.size)], cdfs, t.offset.tolist()


@pytest.mark.parametrize("lanes", [8, 16, 32])
@pytest.mark.parametrize("shape,escapes", [((5, 7), 0), ((9, 13), 12), ((1, 3), 1), ((0, 4), 0)])
def test_every_implementation_writes_the_models_bytes(lanes, shape, escapes):
    t = _tables(lanes + shape[0])
    lat = _latent(t, *shape, seed=lanes * 7 + shape[1], escapes=escapes)
    flat, rows, cdfs, offs = _ref_args(t, lat)
    expected = ref2.encode(flat, rows, cdfs, offs, lanes)
    assert ref2.decode(expected, rows, cdfs, offs, lanes) == flat
    for impl in IMPLS:
        assert interleaved.encode_planar_v2(lat, t.raw, lanes, impl) == expected, impl
        assert np.array_equal(interleaved.decode_planar_v2(expected, lat.shape, t.raw, lanes, impl), lat), impl


def test_requantization_matches_the_c_tables_and_keeps_every_coded_slot():
    t = _tables(3)
    for c in range(t.num_channels):
        row = t.quantized_cdf[c, : t.cdf_length[c]].tolist()
        q = ref2.requantize(row, 16)
        assert q[0] == 0 and q[-1] == 1 << 14 and len(q) == len(row)
        for s in range(len(row) - 1):
            assert (q[s + 1] > q[s]) == (row[s + 1] > row[s])
    assert ref2.requantize([0, 1, 3, 4], 2) == [0, 4096, 12288, 16384]  # precision <= 14: exact scaling


def test_container_round_trip_and_header():
    t = _tables(5)
    lat = _latent(t, 6, 6, seed=1, escapes=3)
    data = container.encode_latent(t, lat, payload_format="interleaved2", rate_point=4)
    header = container.read_header(data)
    assert header.payload_format is container.PayloadFormat.INTERLEAVED2 and header.lanes == 8
    assert header.rate_point == 4 and header.flags == 0x0432
    assert np.array_equal(container.decode_latent(t, data), lat)


def test_damaged_payloads_are_refused_like_the_model():
    t = _tables(9)
    lat = _latent(t, 5, 5, seed=2, escapes=4)
    flat, rows, cdfs, offs = _ref_args(t, lat)
    good = ref2.encode(flat, rows, cdfs, offs, 8)
    rng = np.random.default_rng(0)
    cases = [good[:-2], good[:-1], good[:30], good + b"\0\0", b"\xff\xff\0\0" + good[4:]]
    for _ in range(150):
        bad = bytearray(good)
        bad[int(rng.integers(0, len(bad)))] ^= 1 << int(rng.integers(0, 8))
        cases.append(bytes(bad))
    for bad in cases:
        try:
            decoded, model = ref2.decode(bad, rows, cdfs, offs, 8), None
        except StrictError as exc:
            decoded, model = None, exc.kind
        for impl in IMPLS:
            if model is None:
                out = interleaved.decode_planar_v2(bad, lat.shape, t.raw, 8, impl)
                assert out.reshape(-1).tolist() == decoded
            else:
                with pytest.raises(CorruptStreamError):
                    interleaved.decode_planar_v2(bad, lat.shape, t.raw, 8, impl)
