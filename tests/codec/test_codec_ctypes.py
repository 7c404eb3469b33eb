"""The ctypes build of the C coder (fsplit_mobile/codec/_rans_ctypes.py over libfsplit_rans.so, what the slim
device-side install ships to boards of another architecture) against the CPython extension: the same bytes,
the same decoded symbols, the same error codes, and the same refusal of wrongly typed buffers."""

import importlib.util
import platform

import numpy as np
import pytest

from fsplit_mobile.bench.provision.coder_lib import coder_library
from fsplit_mobile.codec import _rans

CDF = np.array([[0, 100, 30000, 65000, 65500, 65536], [0, 1, 2, 65535, 65536, 0]], np.int32)
LENGTH = np.array([6, 5], np.int32)
OFFSET = np.array([-1, 0], np.int32)


@pytest.fixture(scope="module")
def ctypes_rans(tmp_path_factory):
    lib = coder_library(platform.machine())
    spec = importlib.util.spec_from_file_location(
        "rans_ctypes_under_test", _rans.__file__.rsplit("/", 1)[0] + "/_rans_ctypes.py"
    )
    module = importlib.util.module_from_spec(spec)
    mp = pytest.MonkeyPatch()
    mp.setenv("FSPLIT_RANS_LIB", str(lib))
    try:
        spec.loader.exec_module(module)
    finally:
        mp.undo()
    return module


def _args(lookup=None):
    return (CDF, CDF.shape[1], LENGTH, OFFSET, 16, lookup)


def test_ctypes_coder_writes_the_extensions_bytes_and_decodes_them(ctypes_rans):
    rng = np.random.default_rng(7)
    symbols = rng.integers(-4, 7, 5000).astype(np.int32)  # includes escapes beyond both ends
    indexes = rng.integers(0, 2, 5000).astype(np.int32)
    stream = ctypes_rans.encode(symbols, indexes, *_args())
    assert stream == _rans.encode(symbols, indexes, *_args())
    planar = ctypes_rans.encode_planar(symbols, 2, *_args())
    assert planar == _rans.encode_planar(symbols, 2, *_args())

    lookup, expected = (np.empty(2 * ctypes_rans.LOOKUP_STRIDE, np.uint16) for _ in range(2))
    ctypes_rans.build_lookup(*_args(), lookup)
    _rans.build_lookup(*_args(), expected)
    assert np.array_equal(lookup, expected)
    out = np.empty(5000, np.int32)
    ctypes_rans.decode(stream, indexes, *_args(lookup), out)
    assert np.array_equal(out, symbols)
    out[:] = 0
    ctypes_rans.decode_planar(memoryview(planar), 2, *_args(), out)
    assert np.array_equal(out, symbols)


def test_ctypes_trusted_encoder_writes_the_extensions_bytes(ctypes_rans):
    """The slim install's trusted single-stream encoder (reciprocals): the checked encoder's bytes and errors."""
    symbols = np.random.default_rng(8).integers(-4, 7, 6000).astype(np.int32)  # escapes beyond both ends
    enc = ctypes_rans.encoder_tables(*_args())
    assert (enc.num_cdfs, enc.precision) == (2, 16)
    assert ctypes_rans.encode_planar_trusted(enc, symbols, 2) == _rans.encode_planar(symbols, 2, *_args())
    zero = np.array([[0, 0, 65536, 65536]], np.int32)  # slot 0 has frequency 0
    args = (zero, 4, np.array([4], np.int32), np.array([0], np.int32), 16, None)
    with pytest.raises(ctypes_rans.Error) as err:
        ctypes_rans.encode_planar_trusted(ctypes_rans.encoder_tables(*args), np.zeros(3, np.int32), 1)
    assert err.value.args[0] == ctypes_rans.FSR_ERR_SYMBOL
    with pytest.raises(_rans.Error) as err:
        _rans.encode_planar(np.zeros(3, np.int32), 1, *args)
    assert err.value.args[0] == ctypes_rans.FSR_ERR_SYMBOL
    with pytest.raises(TypeError):
        ctypes_rans.encode_planar_trusted(object(), symbols, 2)
    with pytest.raises(ValueError):
        ctypes_rans.encode_planar_trusted(enc, symbols[:-1], 2)


def test_ctypes_coder_reports_the_extensions_errors(ctypes_rans):
    symbols, indexes = np.zeros(64, np.int32), np.ones(64, np.int32)
    stream = ctypes_rans.encode(symbols, indexes, *_args())
    out = np.empty(64, np.int32)
    for damaged in (stream[:-4], stream + b"\0\0\0\0"):
        with pytest.raises(ctypes_rans.Error) as mine:
            ctypes_rans.decode(damaged, indexes, *_args(), out)
        with pytest.raises(_rans.Error) as theirs:
            _rans.decode(damaged, indexes, *_args(), out)
        assert mine.value.args == theirs.value.args
    bad = CDF.copy()
    bad[0, 2] = 50  # not monotone
    with pytest.raises(ctypes_rans.Error) as err:
        ctypes_rans.check_tables(bad, bad.shape[1], LENGTH, OFFSET, 16, None)
    assert err.value.args[0] == ctypes_rans.FSR_ERR_TABLES == _rans.FSR_ERR_TABLES
    with pytest.raises(ctypes_rans.Error) as err:
        ctypes_rans.encode(symbols, np.full(64, 5, np.int32), *_args())
    assert err.value.args[0] == _rans.FSR_ERR_INDEX


def test_ctypes_coder_refuses_buffers_it_would_misread(ctypes_rans):
    with pytest.raises(TypeError, match="int32"):
        ctypes_rans.encode(np.zeros(4, np.float32), np.zeros(4, np.int32), *_args())
    with pytest.raises(TypeError, match="int32"):
        ctypes_rans.encode(np.zeros(8, np.int32)[::2], np.zeros(4, np.int32), *_args())
    with pytest.raises(ValueError, match="differ in length"):
        ctypes_rans.encode(np.zeros(4, np.int32), np.zeros(3, np.int32), *_args())
    with pytest.raises(ValueError, match="inconsistent"):
        ctypes_rans.check_tables(CDF, 7, LENGTH, OFFSET, 16, None)


def test_ctypes_coder_interleaved_payload_matches_the_extension(ctypes_rans):
    symbols = np.random.default_rng(3).integers(-4, 7, 2 * 1024).astype(np.int32)
    assert ctypes_rans.ilv_impls() == _rans.ilv_impls()
    for lanes in (8, 16, 32):
        stream = ctypes_rans.ilv_encode_planar(symbols, 2, lanes, 0, *_args())
        assert stream == _rans.ilv_encode_planar(symbols, 2, lanes, 0, *_args())
        out = np.empty_like(symbols)
        ctypes_rans.ilv_decode_planar(stream, 2, lanes, 0, *_args(), out)
        assert np.array_equal(out, symbols)
