"""Which stream payload an artifact's writers use: a measured choice made once per export (docs/artifact.md
"payload").

`choose(tables, symbols, "auto")` codes the given latents (an export passes the eager fp32 symbols of its first
16 calibration images, prepare.py: a format choice is not made on held-out images) as the CompressAI-compatible
single stream and as the interleaved payload version 2 (docs/formats.md section 5) at 16 and at 8 lanes, and picks
version 2 with the most lanes whose total is within `MAX_RATE_COST` of the single stream's (version 2 is the faster
one to code both ways, 16 lanes faster than 8 with AVX2: benchmarks/results/codec.md), else the single stream.
Tables that version 2 cannot code (a row with more than 2^14 coded slots) keep the single
stream. "single" / "interleaved2" (/ "interleaved") are explicit choices: both sizes are still measured and
recorded. The block goes into the manifest as written here; readers take `format` and `lanes`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ExportError

CHOICES = ("auto", "single", "interleaved2", "interleaved")
MAX_RATE_COST = 0.01  # version 2 is written when its bytes are at most 1 % above the single stream's
V2_LANES = (16, 8)  # version 2's lane counts, fastest first: the first within MAX_RATE_COST is written
V1_LANES = 8  # the version 1 payload's lane count (explicit choice "interleaved" only)


def _total(tables, symbols: Sequence[np.ndarray], fmt: str, lanes: int) -> int:
    from ..codec import encode_latent

    return sum(len(encode_latent(tables, s, payload_format=fmt, lanes=lanes)) for s in symbols)


def choose(tables, symbols: Sequence[np.ndarray], choice: str = "auto") -> dict:
    """The manifest's `payload` block for these tables and reference latents (see the module docstring)."""
    from ..codec.errors import CodecError

    if choice not in CHOICES:
        raise ExportError(f"payload must be one of {', '.join(CHOICES)}, got {choice!r}")
    if not symbols:
        raise ExportError("payload: no reference latents to measure the payloads on")
    single = _total(tables, symbols, "single", 1)
    measured: dict = {"latents": len(symbols), "single_bytes": single}
    candidate = "interleaved" if choice == "interleaved" else "interleaved2"
    try:
        sizes = {
            lanes: _total(tables, symbols, candidate, lanes)
            for lanes in ((V1_LANES,) if candidate == "interleaved" else V2_LANES)
        }
    except CodecError as e:  # e.g. a row with more than 2^14 coded slots (version 2's tables)
        if choice != "auto":
            raise ExportError(f"payload {choice}: these tables cannot be coded so: {e}") from e
        measured["interleaved2_error"] = str(e)
        return {"format": "single", "lanes": 1, "choice": choice, "measured": measured}
    within = [lanes for lanes, size in sizes.items() if size <= single * (1.0 + MAX_RATE_COST)]
    lanes = within[0] if within else min(sizes, key=lambda k: (sizes[k], -k))
    other = sizes[lanes]
    measured[f"{candidate}_bytes"] = other
    measured[f"{candidate}_lanes"] = lanes
    measured[f"{candidate}_bytes_by_lanes"] = {str(k): v for k, v in sizes.items()}
    measured["rate_cost"] = round(other / single - 1.0, 6) if single else 0.0
    fmt = (candidate if within else "single") if choice == "auto" else choice
    block = {"format": fmt, "lanes": 1 if fmt == "single" else lanes, "choice": choice, "measured": measured}
    if choice == "auto":
        block["rule"] = (
            f"interleaved2 with the most lanes of {V2_LANES} whose bytes are within {MAX_RATE_COST:.0%} of the "
            "single stream's"
        )
    return block
