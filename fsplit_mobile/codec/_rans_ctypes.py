"""The C99 coder (runtimes/c/fsplit_rans.c) through ctypes: the same functions, arguments and errors as the
CPython extension ``_rans``, backed by a plain shared library ``libfsplit_rans.so``.

Why: the extension needs the target's Python headers and a compiler for the target, which a board often lacks;
the plain library cross-builds with ``aarch64-linux-gnu-gcc -shared`` alone (no Python headers), so the slim
device-side install (fsplit_mobile/bench/provision.py) ships it for any architecture. :mod:`._binding` picks
the extension where it was built and this module otherwise. The library is looked up at ``$FSPLIT_RANS_LIB``,
then next to this file.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

LIBRARY_NAME = "libfsplit_rans.so"
LOOKUP_STRIDE = (1 << 8) + 1  # FSR_LOOKUP_STRIDE in fsplit_rans.h
FSR_OK = 0
FSR_ERR_ARGUMENT, FSR_ERR_TABLES, FSR_ERR_INDEX, FSR_ERR_SYMBOL, FSR_ERR_BUFFER = -1, -2, -3, -4, -5
FSR_ERR_TRUNCATED, FSR_ERR_CORRUPT, FSR_ERR_FORMAT, FSR_ERR_MISMATCH = -6, -7, -8, -9
FSR_ERR_CHECKSUM, FSR_ERR_LIMIT = -10, -11


class Error(Exception):
    """args = (status code, message), as ``_rans.Error``."""


class _Tables(ctypes.Structure):
    _fields_ = [
        ("cdf", ctypes.c_void_p),
        ("cdf_stride", ctypes.c_size_t),
        ("cdf_length", ctypes.c_void_p),
        ("offset", ctypes.c_void_p),
        ("num_cdfs", ctypes.c_uint32),
        ("precision", ctypes.c_uint32),
        ("lookup", ctypes.c_void_p),
    ]


def library_path() -> Path:
    return Path(os.environ.get("FSPLIT_RANS_LIB") or Path(__file__).with_name(LIBRARY_NAME))


def _load() -> ctypes.CDLL:
    path = library_path()
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise ImportError(
            f"C coder library {path} not loadable ({e}); build it for this machine with "
            "fsplit_mobile.bench.provision.coder_lib or set FSPLIT_RANS_LIB"
        ) from None
    P, S = ctypes.c_void_p, ctypes.c_size_t
    tp = ctypes.POINTER(_Tables)
    signatures = {
        "fsr_strerror": ([ctypes.c_int], ctypes.c_char_p),
        "fsr_tables_check": ([tp], ctypes.c_int),
        "fsr_lookup_build": ([tp, P, S], ctypes.c_int),
        "fsr_encode_bound": ([S], S),
        "fsr_encode": ([tp, P, P, S, P, S, ctypes.POINTER(S)], ctypes.c_int),
        "fsr_decode": ([tp, P, S, P, S, P], ctypes.c_int),
        "fsr_encode_planar": ([tp, P, ctypes.c_uint32, S, P, S, ctypes.POINTER(S)], ctypes.c_int),
        "fsr_decode_planar": ([tp, ctypes.c_uint32, S, P, S, P], ctypes.c_int),
    }
    optional = {  # the interleaved payload (fsplit_interleaved.c), absent from libraries built without it
        "fsr_ilv_encode_bound": ([S, ctypes.c_uint32], S),
        "fsr_ilv_encode_planar_with": (
            [ctypes.c_int, tp, ctypes.c_uint32, P, ctypes.c_uint32, S, P, S, ctypes.POINTER(S)],
            ctypes.c_int,
        ),
        "fsr_ilv_decode_planar_with": ([ctypes.c_int, tp, ctypes.c_uint32, ctypes.c_uint32, S, P, S, P], ctypes.c_int),
        "fsr_ilv_impl_available": ([ctypes.c_int], ctypes.c_int),
        "fsr_ilv_impl_auto": ([], ctypes.c_int),
        "fsr_ilv_impl_name": ([ctypes.c_int], ctypes.c_char_p),
        # the trusted single-stream encoder (reciprocals), absent from libraries built before it
        "fsr_etable_entries": ([tp], S),
        "fsr_etable_build": ([tp, P, S], ctypes.c_int),
        "fsr_encode_planar_trusted": ([tp, P, P, ctypes.c_uint32, S, P, S, ctypes.POINTER(S)], ctypes.c_int),
    }
    for name, (args, res) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res
    for name, (args, res) in optional.items():
        if hasattr(lib, name):
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, res
    return lib


_lib = _load()


def _status(st: int) -> None:
    if st != FSR_OK:
        raise Error(st, _lib.fsr_strerror(st).decode())


def _int32(obj, name: str, writable: bool = False) -> np.ndarray:
    """A C-contiguous 4-byte integer view of `obj` (never a silent copy or conversion, as the extension)."""
    arr = np.asarray(obj) if not isinstance(obj, np.ndarray) else obj
    if (
        arr.dtype.kind not in "iu"
        or arr.dtype.itemsize != 4
        or arr.dtype.kind == "u"
        or not arr.flags.c_contiguous
        or (writable and not arr.flags.writeable)
    ):
        raise TypeError(
            f"{name} must be a contiguous{' writable' if writable else ''} int32 buffer "
            f"(got {arr.dtype}, contiguous={arr.flags.c_contiguous})"
        )
    return arr


def _tables(cdf, stride, length, offset, precision, lookup) -> tuple[_Tables, list]:
    cdf, length, offset = _int32(cdf, "cdf"), _int32(length, "cdf_length"), _int32(offset, "offset")
    n = length.size
    if stride <= 0 or n == 0 or offset.size != n or cdf.size < n * stride or n > 0xFFFFFFFF:
        raise ValueError("inconsistent table buffer sizes")
    keep = [cdf, length, offset]
    view = _Tables(cdf.ctypes.data, stride, length.ctypes.data, offset.ctypes.data, n, precision, None)
    if lookup is not None:
        lk = np.asarray(lookup)
        if lk.dtype.itemsize != 2 or not lk.flags.c_contiguous or lk.size < n * LOOKUP_STRIDE:
            raise ValueError("lookup must be a uint16 buffer of num_cdfs * LOOKUP_STRIDE entries")
        keep.append(lk)
        view.lookup = lk.ctypes.data
    return view, keep


def _bytes(data) -> np.ndarray:
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    return np.frombuffer(data, dtype=np.uint8)


def _encoded(call, n: int) -> bytes:
    cap = _lib.fsr_encode_bound(n)
    if cap == 0:
        raise OverflowError("too many symbols")
    buf = ctypes.create_string_buffer(cap)
    out_len = ctypes.c_size_t(0)
    _status(call(buf, cap, ctypes.byref(out_len)))
    return buf.raw[: out_len.value]


def encode(symbols, indexes, cdf, cdf_stride, cdf_length, offset, precision, lookup) -> bytes:
    sym, idx = _int32(symbols, "symbols"), _int32(indexes, "indexes")
    t, _keep = _tables(cdf, cdf_stride, cdf_length, offset, precision, lookup)
    if idx.size != sym.size:
        raise ValueError("symbols and indexes differ in length")
    return _encoded(
        lambda buf, cap, out_len: _lib.fsr_encode(
            ctypes.byref(t), sym.ctypes.data, idx.ctypes.data, sym.size, buf, cap, out_len
        ),
        sym.size,
    )


def encode_planar(symbols, num_planes, cdf, cdf_stride, cdf_length, offset, precision, lookup) -> bytes:
    sym = _int32(symbols, "symbols")
    t, _keep = _tables(cdf, cdf_stride, cdf_length, offset, precision, lookup)
    if num_planes <= 0 or num_planes > 0xFFFFFFFF or sym.size % num_planes:
        raise ValueError("symbol count is not a multiple of num_planes")
    return _encoded(
        lambda buf, cap, out_len: _lib.fsr_encode_planar(
            ctypes.byref(t), sym.ctypes.data, num_planes, sym.size // num_planes, buf, cap, out_len
        ),
        sym.size,
    )


ETABLE_ENTRY_BYTES = 32  # sizeof(fsr_eentry)


class EncoderTables:
    """Private copies of validated tables with their encoder table (fsr_etable_build), for encode_planar_trusted:
    as the extension's EncoderTables, built only by :func:`encoder_tables` (the library's trusted encoder reads them
    without a per-call check)."""

    __slots__ = ("_keep", "_view", "_etable", "num_cdfs", "precision")

    def __init__(self, keep: list, view: _Tables, etable: np.ndarray, precision: int):
        self._keep, self._view, self._etable = keep, view, etable
        self.num_cdfs, self.precision = int(view.num_cdfs), precision


def encoder_tables(cdf, cdf_stride, cdf_length, offset, precision, lookup) -> EncoderTables:
    if not hasattr(_lib, "fsr_encode_planar_trusted"):
        raise Error(FSR_ERR_ARGUMENT, "this C coder library has no trusted encoder (rebuild it)")
    copies = [np.array(_int32(a, name), copy=True) for a, name in ((cdf, "cdf"), (cdf_length, "cdf_length"))]
    copies.append(np.array(_int32(offset, "offset"), copy=True))
    view, keep = _tables(copies[0], cdf_stride, copies[1], copies[2], precision, None)
    entries = _lib.fsr_etable_entries(ctypes.byref(view))
    if entries == 0:
        _status(FSR_ERR_TABLES)
    etable = np.zeros(entries * ETABLE_ENTRY_BYTES // 8, np.uint64)  # 8-byte aligned, as fsr_eentry needs
    _status(_lib.fsr_etable_build(ctypes.byref(view), etable.ctypes.data, entries))
    return EncoderTables(keep, view, etable, int(precision))


def encode_planar_trusted(encoder, symbols, num_planes) -> bytes:
    if not isinstance(encoder, EncoderTables):
        raise TypeError("encode_planar_trusted: first argument must be an EncoderTables")
    sym = _int32(symbols, "symbols")
    if num_planes <= 0 or num_planes > 0xFFFFFFFF or sym.size % num_planes:
        raise ValueError("symbol count is not a multiple of num_planes")
    return _encoded(
        lambda buf, cap, out_len: _lib.fsr_encode_planar_trusted(
            ctypes.byref(encoder._view),
            encoder._etable.ctypes.data,
            sym.ctypes.data,
            num_planes,
            sym.size // num_planes,
            buf,
            cap,
            out_len,
        ),
        sym.size,
    )


def decode(data, indexes, cdf, cdf_stride, cdf_length, offset, precision, lookup, out) -> None:
    raw, idx, dst = _bytes(data), _int32(indexes, "indexes"), _int32(out, "out", writable=True)
    t, _keep = _tables(cdf, cdf_stride, cdf_length, offset, precision, lookup)
    if dst.size != idx.size:
        raise ValueError("out and indexes differ in length")
    _status(_lib.fsr_decode(ctypes.byref(t), idx.ctypes.data, idx.size, raw.ctypes.data, raw.size, dst.ctypes.data))


def decode_planar(data, num_planes, cdf, cdf_stride, cdf_length, offset, precision, lookup, out) -> None:
    raw, dst = _bytes(data), _int32(out, "out", writable=True)
    t, _keep = _tables(cdf, cdf_stride, cdf_length, offset, precision, lookup)
    if num_planes <= 0 or num_planes > 0xFFFFFFFF or dst.size % num_planes:
        raise ValueError("out length is not a multiple of num_planes")
    _status(
        _lib.fsr_decode_planar(
            ctypes.byref(t), num_planes, dst.size // num_planes, raw.ctypes.data, raw.size, dst.ctypes.data
        )
    )


def check_tables(cdf, cdf_stride, cdf_length, offset, precision, lookup) -> None:
    t, _keep = _tables(cdf, cdf_stride, cdf_length, offset, precision, lookup)
    _status(_lib.fsr_tables_check(ctypes.byref(t)))


def build_lookup(cdf, cdf_stride, cdf_length, offset, precision, lookup, out) -> None:
    dst = np.asarray(out)
    if dst.dtype.itemsize != 2 or not dst.flags.c_contiguous or not dst.flags.writeable:
        raise TypeError("out must be a uint16 buffer")
    t, _keep = _tables(cdf, cdf_stride, cdf_length, offset, precision, None)
    _status(_lib.fsr_lookup_build(ctypes.byref(t), dst.ctypes.data, dst.size))


def _need_interleaved() -> None:
    if not hasattr(_lib, "fsr_ilv_encode_planar_with"):
        raise Error(
            FSR_ERR_ARGUMENT,
            f"{library_path()} was built without the interleaved payload (runtimes/c/fsplit_interleaved*.c)",
        )


def ilv_impls() -> tuple[str, tuple[str, ...]]:
    _need_interleaved()
    names = tuple(_lib.fsr_ilv_impl_name(i).decode() for i in (1, 2, 3) if _lib.fsr_ilv_impl_available(i))
    return _lib.fsr_ilv_impl_name(0).decode(), names


def ilv_encode_planar(
    symbols, num_planes, lanes, impl, cdf, cdf_stride, cdf_length, offset, precision, lookup
) -> bytes:
    _need_interleaved()
    sym = _int32(symbols, "symbols")
    t, _keep = _tables(cdf, cdf_stride, cdf_length, offset, precision, lookup)
    if num_planes <= 0 or num_planes > 0xFFFFFFFF or sym.size % num_planes:
        raise ValueError("symbol count is not a multiple of num_planes")
    cap = _lib.fsr_ilv_encode_bound(sym.size, lanes)
    if cap == 0:
        _status(FSR_ERR_ARGUMENT)
    buf = ctypes.create_string_buffer(cap)
    out_len = ctypes.c_size_t(0)
    _status(
        _lib.fsr_ilv_encode_planar_with(
            impl,
            ctypes.byref(t),
            lanes,
            sym.ctypes.data,
            num_planes,
            sym.size // num_planes,
            buf,
            cap,
            ctypes.byref(out_len),
        )
    )
    return buf.raw[: out_len.value]


def ilv_decode_planar(
    data, num_planes, lanes, impl, cdf, cdf_stride, cdf_length, offset, precision, lookup, out
) -> None:
    _need_interleaved()
    raw, dst = _bytes(data), _int32(out, "out", writable=True)
    t, _keep = _tables(cdf, cdf_stride, cdf_length, offset, precision, lookup)
    if num_planes <= 0 or num_planes > 0xFFFFFFFF or dst.size % num_planes:
        raise ValueError("out length is not a multiple of num_planes")
    _status(
        _lib.fsr_ilv_decode_planar_with(
            impl, ctypes.byref(t), lanes, num_planes, dst.size // num_planes, raw.ctypes.data, raw.size, dst.ctypes.data
        )
    )
