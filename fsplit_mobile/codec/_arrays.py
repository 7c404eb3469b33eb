"""Conversion of user inputs (lists, numpy arrays, CPU tensors) into contiguous int32 arrays."""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError

try:  # the extension's fast list copy (absent from the ctypes build: numpy's conversion is used there)
    from ._rans import fill_int32 as _fill_int32
except ImportError:
    _fill_int32 = None

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def as_int32(values, name: str, error=InvalidInputError, ndim: int | None = 1) -> np.ndarray:
    """Return ``values`` as a C-contiguous int32 array, refusing non-integers and out-of-range values."""
    if isinstance(values, np.ndarray) and values.dtype == np.int32:
        arr = values
    elif (
        ndim == 1
        and isinstance(values, (list, tuple))
        and _fill_int32 is not None
        and (_fill_int32(values, arr := np.empty(len(values), dtype=np.int32)))
    ):
        pass  # flat list of ints, copied in C; anything unusual takes the numpy path below (clear errors)
    else:
        try:
            arr = np.asarray(values)
        except (ValueError, TypeError, OverflowError) as exc:
            raise error(f"{name}: cannot be read as an integer array ({exc})") from None
        if arr.size == 0:
            arr = arr.astype(np.int32)
        elif arr.dtype == object:
            raise error(f"{name}: must be integers (ragged or mixed input, or values beyond 64 bits)")
        elif arr.dtype.kind not in "iu":
            raise error(f"{name}: must be integers, got dtype {arr.dtype}")
        elif arr.dtype != np.int32:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < INT32_MIN or hi > INT32_MAX:
                raise error(f"{name}: values must fit int32, got range [{lo}, {hi}]")
            arr = arr.astype(np.int32)
    if ndim == 1:
        arr = arr.reshape(-1)
    elif ndim is not None and arr.ndim != ndim:
        raise error(f"{name}: expected {ndim} dimensions, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def pad_rows(rows, name: str, error) -> np.ndarray:
    """CDF rows (list of lists, possibly ragged, or a 2-D array) -> 2-D int32 array padded with zeros."""
    if isinstance(rows, np.ndarray) or hasattr(rows, "__array__"):
        arr = as_int32(np.asarray(rows), name, error, ndim=None)
        if arr.ndim != 2:
            raise error(f"{name}: expected a 2-D array or a list of lists, got shape {arr.shape}")
        return arr
    rows = [as_int32(r, f"{name}[{i}]", error) for i, r in enumerate(rows)]
    if not rows:
        raise error(f"{name}: no CDF rows given")
    width = max(len(r) for r in rows)
    out = np.zeros((len(rows), max(width, 1)), dtype=np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out
