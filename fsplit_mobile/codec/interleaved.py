"""The interleaved rANS payload (docs/formats.md, section 4): N = 8, 16 or 32 independent 32-bit states over
the same tables and escape scheme as the CompressAI-compatible single stream, so SIMD code codes 8 to 32
symbols at once. The C core picks AVX2 (x86_64) or NEON (aarch64) at run time; every implementation writes
the same bytes. Latents only (planar: the CDF row of a symbol is its channel).

Why 8 lanes by default: each lane ends with a 4-byte state, and that flush is the format's whole rate cost.
On the bundled default model's latent (4.6 KB single stream) 8 lanes cost +0.45 %, 16 lanes +1.1 %, 32 lanes
+2.3 % (benchmarks/results/codec.md); more lanes decode faster, so large latents may prefer 32.
"""

from __future__ import annotations

import numpy as np

from ._binding import _rans
from .errors import InvalidInputError
from .rans import RawTables, raise_codec_error

LANES = (8, 16, 32)
DEFAULT_LANES = 8
IMPLEMENTATIONS = {"auto": 0, "scalar": 1, "avx2": 2, "neon": 3}  # FSR_IMPL_* in fsplit_interleaved.h


def available_implementations() -> tuple[str, tuple[str, ...]]:
    """(what "auto" picks on this CPU, every implementation this build and CPU can run)."""
    if not hasattr(_rans, "ilv_impls"):
        return "unavailable", ()
    return _rans.ilv_impls()


def _impl_code(impl: str) -> int:
    if impl not in IMPLEMENTATIONS:
        raise InvalidInputError(f"impl must be one of {sorted(IMPLEMENTATIONS)}, got {impl!r}")
    if impl != "auto" and impl not in available_implementations()[1]:
        raise InvalidInputError(
            f"implementation {impl!r} is not available here (available: {available_implementations()[1]})"
        )
    return IMPLEMENTATIONS[impl]


def _check_lanes(lanes: int) -> int:
    if lanes not in LANES:
        raise InvalidInputError(f"lanes must be one of {LANES}, got {lanes!r}")
    return int(lanes)


def encode_planar(symbols: np.ndarray, tables: RawTables, lanes: int = DEFAULT_LANES, impl: str = "auto") -> bytes:
    """Code a contiguous int32 (C, H, W) latent (row of a symbol = its channel) as an interleaved payload."""
    lanes, code = _check_lanes(lanes), _impl_code(impl)
    try:
        return _rans.ilv_encode_planar(symbols, max(symbols.shape[0], 1), lanes, code, *tables.args())
    except _rans.Error as err:
        raise_codec_error(err, "interleaved encode")


def decode_planar(
    payload, shape: tuple[int, int, int], tables: RawTables, lanes: int = DEFAULT_LANES, impl: str = "auto"
) -> np.ndarray:
    """Decode an interleaved payload of a (C, H, W) latent; refuses truncated or inconsistent payloads."""
    lanes, code = _check_lanes(lanes), _impl_code(impl)
    if shape[0] < 1:
        raise InvalidInputError(f"a latent needs at least one channel, got shape {shape}")
    out = np.empty(shape, dtype=np.int32)
    # the lookup always goes along: this decoder verifies each slot instead of checking it per call
    args = (*tables.args()[:-1], tables.lookup)
    try:
        _rans.ilv_decode_planar(payload, shape[0], lanes, code, *args, out)
    except _rans.Error as err:
        raise_codec_error(err, "interleaved decode")
    return out


# ---------------------------------------------------------------- version 2 (docs/formats.md, section 5)
# 14-bit requantized tables, lane states in [2^16, 2^32), 16-bit words, one refill round per group. The
# derived tables (requantized rows and the slot lookup) are built once per RawTables and cached on it.
V2_PRECISION = 14
_DERIVED: dict[int, tuple[object, bytearray, int]] = {}  # id(RawTables) -> (tables, derived memory, sym_stride)


def derived_tables(tables: RawTables) -> tuple[bytearray, int, int]:
    """(derived memory, num_rows, sym_stride) of the version 2 coder for these tables (built once, cached)."""
    hit = _DERIVED.get(id(tables))
    if hit is not None and hit[0] is tables:
        return hit[1], tables.num_cdfs, hit[2]
    try:
        mem, stride = _rans.ilv2_build(*tables.args()[:-1], None)
    except _rans.Error as err:
        raise_codec_error(err, "interleaved v2 tables")
    if len(_DERIVED) > 64:
        _DERIVED.clear()
    _DERIVED[id(tables)] = (tables, mem, stride)
    return mem, tables.num_cdfs, stride


def encode_planar_v2(symbols: np.ndarray, tables: RawTables, lanes: int = DEFAULT_LANES, impl: str = "auto") -> bytes:
    """Code a contiguous int32 (C, H, W) latent as an interleaved payload version 2."""
    lanes, code = _check_lanes(lanes), _impl_code(impl)
    mem, rows, stride = derived_tables(tables)
    try:
        return _rans.ilv2_encode_planar(symbols, max(symbols.shape[0], 1), lanes, code, mem, rows, stride)
    except _rans.Error as err:
        raise_codec_error(err, "interleaved v2 encode")


def decode_planar_v2(
    payload, shape: tuple[int, int, int], tables: RawTables, lanes: int = DEFAULT_LANES, impl: str = "auto"
) -> np.ndarray:
    """Decode an interleaved payload version 2 of a (C, H, W) latent; refuses truncated or inconsistent payloads."""
    lanes, code = _check_lanes(lanes), _impl_code(impl)
    if shape[0] < 1:
        raise InvalidInputError(f"a latent needs at least one channel, got shape {shape}")
    mem, rows, stride = derived_tables(tables)
    out = np.empty(shape, dtype=np.int32)
    try:
        _rans.ilv2_decode_planar(payload, shape[0], lanes, code, mem, rows, stride, out)
    except _rans.Error as err:
        raise_codec_error(err, "interleaved v2 decode")
    return out
