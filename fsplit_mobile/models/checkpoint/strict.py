"""Strict state-dict loading shared by every layout: map checkpoint keys to ours, then fill the modules.

Missing, unexpected and wrong-shape keys raise, naming the keys as the checkpoint spells them. Constant buffers
(derived from hyper-parameters) and the entropy tables may be absent; stored tables are used verbatim (the CDF
formula changed in CompressAI 1.2.5) after a validity check, absent ones are built with ``update()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ...entropy.bottleneck import EntropyBottleneck
from ...entropy.keys import current_name, is_legacy_name, legacy_name, matrix_index
from .errors import CheckpointError, MissingKeysError, ShapeMismatchError, StoredTablesError, UnexpectedKeysError

_CONSTANT_BUFFER = re.compile(r"(^|\.)(pedestal|lower_bound\.bound|likelihood_lower_bound\.bound|target)$")
_TABLE_BUFFER = re.compile(r"(^|\.)(_offset|_quantized_cdf|_cdf_length)$")


def _same(key: str) -> str:
    return key


@dataclass
class Part:
    """One module of ours filled from the checkpoint keys under `source_prefix`."""

    module: nn.Module
    source_prefix: str
    to_ours: Callable[[str], str | None] = field(default=_same)  # checkpoint suffix -> our key (None: no such key)
    to_source: Callable[[str], str] = field(default=_same)  # our key -> checkpoint suffix (to name missing keys)


def optional_key(key: str) -> bool:
    """Constant buffers and entropy tables may be absent from a checkpoint."""
    return bool(_CONSTANT_BUFFER.search(key) or _TABLE_BUFFER.search(key))


def eb_part(eb: EntropyBottleneck, prefix: str, state: Mapping[str, Any]) -> Part:
    """The entropy bottleneck under `prefix`, in whichever parameter spelling the checkpoint uses."""
    legacy = any(is_legacy_name(k[len(prefix) :]) for k in state if k.startswith(prefix))
    return Part(eb, prefix, current_name, legacy_name if legacy else _same)


def load_parts(state: Mapping[str, Any], parts: list[Part], context: str) -> None:
    """Fill every part from `state`, strictly: missing, unexpected and wrong-shape keys raise, naming them."""
    missing: list[str] = []
    unexpected: list[str] = []
    mismatches: list[tuple[str, tuple, tuple]] = []
    loads: list[tuple[Part, dict[str, torch.Tensor]]] = []
    for part in parts:
        expected = part.module.state_dict()
        provided: dict[str, torch.Tensor] = {}
        for key in sorted(k for k in state if k.startswith(part.source_prefix)):
            ours = part.to_ours(key[len(part.source_prefix) :])
            if ours is None or ours not in expected:
                unexpected.append(key)
                continue
            value = state[key]
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"{context}{key} holds a {type(value).__name__}, not a tensor")
            provided[ours] = value
            if not _TABLE_BUFFER.search(ours) and tuple(value.shape) != tuple(expected[ours].shape):
                mismatches.append((key, tuple(expected[ours].shape), tuple(value.shape)))
        missing += [
            part.source_prefix + part.to_source(k) for k in expected if k not in provided and not optional_key(k)
        ]
        loads.append((part, provided))
    if missing:
        raise MissingKeysError(missing, context, unexpected)
    if unexpected:
        raise UnexpectedKeysError(unexpected, context)
    if mismatches:
        raise ShapeMismatchError(mismatches, context)
    for part, provided in loads:
        part.module.load_state_dict(provided, strict=False)


def refuse_unclaimed(state: Mapping[str, Any], parts: list[Part], context: str) -> None:
    """Keys under none of the parts' prefixes are unexpected (layouts whose whole state dict is ours)."""
    unknown = sorted(k for k in state if not any(k.startswith(p.source_prefix) for p in parts))
    if unknown:
        raise UnexpectedKeysError(unknown, context)


def anchor(state: Mapping[str, Any], key: str, ndim: int, context: str) -> tuple[int, ...]:
    """Shape of a tensor the architecture's config is read from."""
    if key not in state:
        raise MissingKeysError([key], context)
    value = state[key]
    if not isinstance(value, torch.Tensor) or value.dim() != ndim:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise CheckpointError(f"{context}{key} should be a {ndim}-D tensor, checkpoint has {shape}")
    return tuple(value.shape)


def eb_filters(state: Mapping[str, Any], prefix: str, context: str) -> tuple[int, ...]:
    """The entropy bottleneck's `filters`, read from its matrix shapes (current or legacy names)."""
    shapes: dict[int, tuple[int, ...]] = {}
    spell: Callable[[str], str] = _same
    for key, value in state.items():
        if not key.startswith(prefix) or not isinstance(value, torch.Tensor):
            continue
        suffix = key[len(prefix) :]
        index = matrix_index(suffix)
        if index is not None and value.dim() == 3:
            shapes[index] = tuple(value.shape)
            spell = legacy_name if is_legacy_name(suffix) else _same
    if not shapes:
        raise MissingKeysError([prefix + spell("matrices.0")], context)
    count = max(shapes) + 1
    absent = [prefix + spell(f"matrices.{i}") for i in range(count) if i not in shapes]
    if absent:
        raise MissingKeysError(absent, context)
    return tuple(shapes[i][1] for i in range(count - 1))


def finish_tables(eb: EntropyBottleneck, prefix: str, context: str, required: bool = False) -> str:
    """Validate stored tables ('stored') or build them ('computed'; refused when `required`)."""
    cdf, lengths, offsets = eb._quantized_cdf, eb._cdf_length, eb._offset
    if cdf.numel() == 0 and lengths.numel() == 0 and offsets.numel() == 0:
        if required:
            raise StoredTablesError(f"{context}{prefix.rstrip('.')} has no stored CDF tables")
        eb.update(force=True)
        return "computed"
    c = eb.channels
    if cdf.dim() != 2 or cdf.shape[0] != c:
        raise ShapeMismatchError([(prefix + "_quantized_cdf", (c, "L"), tuple(cdf.shape))], context)
    for name, t in (("_cdf_length", lengths), ("_offset", offsets)):
        if tuple(t.shape) != (c,):
            raise ShapeMismatchError([(prefix + name, (c,), tuple(t.shape))], context)
    top = 1 << eb.precision
    width = cdf.shape[1]
    for ch in range(c):
        n = int(lengths[ch])
        row = cdf[ch, :n] if 3 <= n <= width else None
        if row is None or int(row[0]) != 0 or int(row[-1]) != top or bool((row[1:] < row[:-1]).any()):
            raise StoredTablesError(
                f"{context}{prefix}_quantized_cdf row {ch} is not a valid {eb.precision}-bit CDF "
                f"(length {n} of {width}; it must start at 0, rise and end at {top})"
            )
    return "stored"
