"""Load a split-computing checkpoint into a :class:`SplitModel`, detecting its layout.

Layouts (`load_checkpoint` tells them apart by their keys):

- ``fsplit-checkpoint/1`` (ours): ``{"format", "architecture", "config", "state_dict", "meta"}``; the state dict
  holds ``encoder.*``, ``entropy_bottleneck.*`` and optionally ``decoder.*`` of a registry architecture
  (see :mod:`.registry`). Architecture ``frankensplit-lite0`` (the bundled default model) is handed to
  :func:`fsplit_mobile.models.default_model.load_default_model`.
- FrankenSplit (torchdistill ``{"model": state_dict, ...}``): ``compression_module.g_a.rb{1,2,3}.*`` (the
  QuantizableSimpleAnalysisNetwork2 encoder) and ``compression_module.entropy_bottleneck.*`` form the device part;
  ``compression_module.g_s.*``, ``backbone.*`` ... are the server's (named in ``meta["server_keys"]``).
- sc2bench (torchdistill): ``bottleneck_layer.encoder.*`` (FPBasedResNetBottleneck) and
  ``bottleneck_layer.entropy_bottleneck.*``; ``bottleneck_layer.decoder.*``, ``layer2.*`` ... are the server's.
- CompressAI bmshj2018-factorized state dict: ``g_a.*``, ``entropy_bottleneck.*`` and ``g_s.*`` (the decoder,
  returned as the server part with no tail); N and M are read from the tensor shapes.

Entropy-bottleneck tables stored in the checkpoint (``_quantized_cdf``, ``_cdf_length``, ``_offset``) are used
verbatim (the CDF formula changed in CompressAI 1.2.5); without them they are built with ``update()``.
Files are read with ``torch.load(weights_only=True)``; anything needing arbitrary unpickling is refused unless
the caller passes ``trust_pickle=True``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..entropy.bottleneck import EntropyBottleneck
from . import registry
from .split import DeviceModel, ServerModel, SplitModel

FORMAT = "fsplit-checkpoint/1"
DEFAULT_MODEL_ARCHITECTURE = "frankensplit-lite0"

_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"  # pre-1.6 torch.save
_SAFE_GLOBALS = [argparse.Namespace]  # torchdistill stores the command-line args in its checkpoints
_MAX_NAMED = 20


# ---- errors ---------------------------------------------------------------------------------------------------
class CheckpointError(Exception):
    """Base class of every checkpoint import error."""


class CheckpointReadError(CheckpointError):
    """The file is missing, unreadable, or not a PyTorch checkpoint."""


class UnsafeCheckpointError(CheckpointReadError):
    """The file needs arbitrary unpickling (a class outside torch's weights-only allowlist)."""

    def __init__(self, message: str, global_name: str):
        super().__init__(message)
        self.global_name = global_name


class UnknownLayoutError(CheckpointError):
    """A readable checkpoint whose layout (or architecture) is not one this loader knows."""


def _name_list(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_NAMED])
    return shown + (f" ... ({len(keys)} in all)" if len(keys) > _MAX_NAMED else "")


class MissingKeysError(CheckpointError):
    def __init__(self, keys: list[str], context: str = ""):
        self.keys = list(keys)
        super().__init__(f"{context}missing key(s): {_name_list(self.keys)}")


class UnexpectedKeysError(CheckpointError):
    def __init__(self, keys: list[str], context: str = ""):
        self.keys = list(keys)
        super().__init__(f"{context}unexpected key(s): {_name_list(self.keys)}")


class ShapeMismatchError(CheckpointError):
    def __init__(self, mismatches: list[tuple[str, tuple, tuple]], context: str = ""):
        self.mismatches = list(mismatches)
        text = "; ".join(f"{k}: expected {tuple(e)}, checkpoint has {tuple(a)}" for k, e, a in self.mismatches[:_MAX_NAMED])
        super().__init__(f"{context}wrong tensor shape(s): {text}")


class InvalidTablesError(CheckpointError):
    """Stored entropy-coder tables that cannot be valid CDFs."""


# ---- reading --------------------------------------------------------------------------------------------------
def _describe_head(head: bytes) -> str:
    if not head:
        return "an empty file"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return f"text starting {head.decode('ascii')!r}"
    return f"bytes {head[:8].hex(' ')}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def read_checkpoint(path: str | os.PathLike, trust_pickle: bool = False) -> Any:
    """The object stored in a torch.save file, loaded weights-only (plus argparse.Namespace) unless trusted."""
    p = Path(path)
    if not p.exists():
        raise CheckpointReadError(f"checkpoint {p} does not exist")
    if not p.is_file():
        raise CheckpointReadError(f"checkpoint {p} is not a file")
    try:
        with open(p, "rb") as f:
            head = f.read(len(_LEGACY_MAGIC))
    except OSError as exc:
        raise CheckpointReadError(f"cannot read checkpoint {p}: {exc}") from exc
    if not (head.startswith(_ZIP_MAGIC) or head == _LEGACY_MAGIC):
        raise CheckpointReadError(
            f"{p} is not a PyTorch checkpoint (expected a torch.save archive, found {_describe_head(head)})"
        )
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        match = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if match is None:
            raise CheckpointReadError(f"{p} is corrupt or not a PyTorch checkpoint ({_first_line(exc)})") from exc
        if not trust_pickle:
            raise UnsafeCheckpointError(
                f"{p} needs arbitrary unpickling to load (it stores a {match.group(1)} object, which torch's "
                "weights-only loader refuses); load it with trust_pickle=True only if you trust its source",
                match.group(1),
            ) from exc
    except Exception as exc:  # torch raises RuntimeError, EOFError, KeyError, ... on damaged files
        raise CheckpointReadError(f"{p} is corrupt or not a PyTorch checkpoint ({_first_line(exc)})") from exc
    try:
        return torch.load(p, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointReadError(f"{p} could not be unpickled ({_first_line(exc)})") from exc


# ---- key mapping and strict loading ---------------------------------------------------------------------------
_CONSTANT_BUFFER = re.compile(r"(^|\.)(pedestal|lower_bound\.bound|likelihood_lower_bound\.bound|target)$")
_TABLE_BUFFER = re.compile(r"(^|\.)(_offset|_quantized_cdf|_cdf_length)$")
_EB_LEGACY = re.compile(r"^_(matrix|bias|factor)(\d+)$")
_EB_CURRENT = re.compile(r"^(matrices|biases|factors)\.(\d+)$")
_LEGACY_TO_CURRENT = {"matrix": "matrices", "bias": "biases", "factor": "factors"}
_CURRENT_TO_LEGACY = {v: k for k, v in _LEGACY_TO_CURRENT.items()}


def _optional(key: str) -> bool:
    """Constant buffers (derived from hyper-parameters) and entropy tables may be absent from a checkpoint."""
    return bool(_CONSTANT_BUFFER.search(key) or _TABLE_BUFFER.search(key))


@dataclass
class _Part:
    """One module of ours filled from the checkpoint keys under `source_prefix`."""

    module: nn.Module
    source_prefix: str
    to_ours: Callable[[str], str | None] = lambda s: s  # checkpoint suffix -> our key (None: no such key)
    to_source: Callable[[str], str] = lambda s: s  # our key -> checkpoint suffix (to name missing keys)


def _eb_part(eb: EntropyBottleneck, prefix: str, state: Mapping) -> _Part:
    legacy = any(_EB_LEGACY.match(k[len(prefix):]) for k in state if k.startswith(prefix))

    def to_ours(s: str) -> str:
        m = _EB_LEGACY.match(s)
        return f"{_LEGACY_TO_CURRENT[m.group(1)]}.{m.group(2)}" if m else s

    def to_source(s: str) -> str:
        m = _EB_CURRENT.match(s)
        return f"_{_CURRENT_TO_LEGACY[m.group(1)]}{m.group(2)}" if (m and legacy) else s

    return _Part(eb, prefix, to_ours, to_source)


def _load_parts(state: Mapping, parts: list[_Part], context: str) -> None:
    """Fill every part from `state`, strictly: missing, unexpected and wrong-shape keys raise, naming them."""
    missing: list[str] = []
    unexpected: list[str] = []
    mismatches: list[tuple[str, tuple, tuple]] = []
    loads: list[tuple[_Part, dict]] = []
    for part in parts:
        expected = part.module.state_dict()
        provided: dict[str, torch.Tensor] = {}
        for key in sorted(k for k in state if k.startswith(part.source_prefix)):
            ours = part.to_ours(key[len(part.source_prefix):])
            if ours is None or ours not in expected:
                unexpected.append(key)
                continue
            value = state[key]
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"{context}{key} holds a {type(value).__name__}, not a tensor")
            provided[ours] = value
            if not _TABLE_BUFFER.search(ours) and tuple(value.shape) != tuple(expected[ours].shape):
                mismatches.append((key, tuple(expected[ours].shape), tuple(value.shape)))
        missing += [part.source_prefix + part.to_source(k) for k in expected if k not in provided and not _optional(k)]
        loads.append((part, provided))
    if missing:
        raise MissingKeysError(missing, context)
    if unexpected:
        raise UnexpectedKeysError(unexpected, context)
    if mismatches:
        raise ShapeMismatchError(mismatches, context)
    for part, provided in loads:
        part.module.load_state_dict(provided, strict=False)


def _anchor(state: Mapping, key: str, ndim: int, context: str) -> tuple[int, ...]:
    """Shape of a tensor the architecture's config is read from."""
    if key not in state:
        raise MissingKeysError([key], context)
    value = state[key]
    if not isinstance(value, torch.Tensor) or value.dim() != ndim:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise CheckpointError(f"{context}{key} should be a {ndim}-D tensor, checkpoint has {shape}")
    return tuple(value.shape)


def _eb_filters(state: Mapping, prefix: str, context: str) -> tuple[int, ...]:
    """The entropy bottleneck's `filters`, read from its matrix shapes (current or legacy names)."""
    shapes: dict[int, tuple] = {}
    name = "matrices.{}"
    for key, value in state.items():
        if not key.startswith(prefix) or not isinstance(value, torch.Tensor):
            continue
        suffix = key[len(prefix):]
        m = _EB_CURRENT.match(suffix) or _EB_LEGACY.match(suffix)
        if m and m.group(1) in ("matrices", "matrix") and value.dim() == 3:
            shapes[int(m.group(2))] = tuple(value.shape)
            name = "matrices.{}" if m.group(1) == "matrices" else "_matrix{}"
    if not shapes:
        raise MissingKeysError([prefix + name.format(0)], context)
    count = max(shapes) + 1
    absent = [prefix + name.format(i) for i in range(count) if i not in shapes]
    if absent:
        raise MissingKeysError(absent, context)
    return tuple(shapes[i][1] for i in range(count - 1))


# ---- tables -----------------------------------------------------------------------------------------------------
def _finish_tables(eb: EntropyBottleneck, prefix: str, context: str) -> str:
    """Validate stored tables ('stored') or build them ('computed')."""
    cdf, lengths, offsets = eb._quantized_cdf, eb._cdf_length, eb._offset
    if cdf.numel() == 0 and lengths.numel() == 0 and offsets.numel() == 0:
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
            raise InvalidTablesError(
                f"{context}{prefix}_quantized_cdf row {ch} is not a valid {eb.precision}-bit CDF "
                f"(length {n} of {width}; it must start at 0, rise and end at {top})"
            )
    return "stored"


# ---- layouts ----------------------------------------------------------------------------------------------------
def _is_state_dict(obj: Any) -> bool:
    """String keys holding tensors (a stray non-tensor is reported later, if it is a key the device needs)."""
    return (
        isinstance(obj, Mapping)
        and all(isinstance(k, str) for k in obj)
        and any(isinstance(v, torch.Tensor) for v in obj.values())
    )


def _strip_module_prefix(state: Mapping) -> dict:
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel / DDP
        return {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def _find_prefix(keys, marker: str) -> str | None:
    """The text before `marker` in the first key containing it at a module boundary."""
    for key in keys:
        i = key.find(marker)
        if i == 0 or (i > 0 and key[i - 1] == "."):
            return key[:i]
    return None


def _key_groups(keys: list[str]) -> dict[str, int]:
    groups: dict[str, int] = {}
    for key in keys:
        parts = key.split(".")
        group = ".".join(parts[:2]) if len(parts) > 2 else parts[0]
        groups[group] = groups.get(group, 0) + 1
    return groups


def _split_model(path: Path, arch: str, cfg: dict, device: DeviceModel, server: ServerModel | None, meta: dict):
    a = registry.architecture(arch)
    device.eval()
    if server is not None:
        server.eval()
    return SplitModel(
        model_id=path.stem, architecture=arch, device=device, server=server, mean=a.mean, std=a.std,
        meta={"source": str(path), "config": cfg, **meta},
    )


def _import_frankensplit(path: Path, state: dict, outer: str, context: str) -> SplitModel:
    g_a, eb_prefix = outer + "g_a.", outer + "entropy_bottleneck."
    for other in ("h_a.", "h_s.", "gaussian_conditional."):
        if any(k.startswith(outer + other) for k in state):
            raise UnknownLayoutError(
                f"{context}FrankenSplit checkpoint with a hyperprior ({outer}{other}* keys): only the "
                "factorized-prior (FP) FrankenSplit encoder is supported"
            )
    channels = tuple(_anchor(state, f"{g_a}rb{i}.conv1.weight", 4, context)[0] for i in (1, 2, 3))
    in_channels = _anchor(state, f"{g_a}rb1.conv1.weight", 4, context)[1]
    cfg = registry.resolve_config(
        "frankensplit-fp",
        {"channels": channels, "in_channels": in_channels, "eb_filters": _eb_filters(state, eb_prefix, context)},
    )
    device = registry.build_device_model("frankensplit-fp", cfg)

    def to_ours(s: str) -> str | None:
        m = re.match(r"^rb([1-9]\d*)\.(.+)$", s)
        return f"layers.{int(m.group(1)) - 1}.{m.group(2)}" if m else None

    def to_source(s: str) -> str:
        m = re.match(r"^layers\.(\d+)\.(.+)$", s)
        return f"rb{int(m.group(1)) + 1}.{m.group(2)}"

    _load_parts(
        state,
        [_Part(device.encoder, g_a, to_ours, to_source), _eb_part(device.entropy_bottleneck, eb_prefix, state)],
        context,
    )
    tables = _finish_tables(device.entropy_bottleneck, eb_prefix, context)
    server_keys = sorted(k for k in state if not (k.startswith(g_a) or k.startswith(eb_prefix)))
    return _split_model(path, "frankensplit-fp", cfg, device, None, {
        "layout": "frankensplit", "tables": tables, "server_keys": server_keys,
        "server_key_groups": _key_groups(server_keys),
    })


def _import_sc2bench(path: Path, state: dict, outer: str, context: str) -> SplitModel:
    enc, eb_prefix = outer + "encoder.", outer + "entropy_bottleneck."
    if any(k.startswith(outer + "g_a.") or k.startswith(outer + "gaussian_conditional.") for k in state):
        raise UnknownLayoutError(
            f"{context}sc2bench checkpoint with a hyperprior bottleneck ({outer}g_a/h_a keys): only the "
            "FP-based (factorized prior) entropic student is supported"
        )
    shapes = [_anchor(state, f"{enc}{i}.weight", 4, context) for i in (0, 2, 4)]
    cfg = registry.resolve_config(
        "entropic-student",
        {"num_channels": tuple(s[0] for s in shapes), "in_channels": shapes[0][1],
         "eb_filters": _eb_filters(state, eb_prefix, context)},
    )
    device = registry.build_device_model("entropic-student", cfg)
    _load_parts(
        state,
        [_Part(device.encoder, enc, lambda s: "layers." + s, lambda s: s[len("layers."):]),
         _eb_part(device.entropy_bottleneck, eb_prefix, state)],
        context,
    )
    tables = _finish_tables(device.entropy_bottleneck, eb_prefix, context)
    server_keys = sorted(k for k in state if not (k.startswith(enc) or k.startswith(eb_prefix)))
    return _split_model(path, "entropic-student", cfg, device, None, {
        "layout": "sc2bench", "tables": tables, "server_keys": server_keys,
        "server_key_groups": _key_groups(server_keys),
    })


def _import_compressai(path: Path, state: dict, context: str) -> SplitModel:
    for other in ("h_a.", "h_s.", "gaussian_conditional.", "context_prediction.", "entropy_parameters."):
        if any(k.startswith(other) for k in state):
            raise UnknownLayoutError(
                f"{context}CompressAI model with {other}* keys (a hyperprior or autoregressive model): only "
                "bmshj2018-factorized (g_a, g_s, entropy_bottleneck) is supported"
            )
    first = _anchor(state, "g_a.0.weight", 4, context)
    last = _anchor(state, "g_a.6.weight", 4, context)
    cfg = registry.resolve_config(
        "bmshj2018-factorized",
        {"N": first[0], "M": last[0], "in_channels": first[1],
         "eb_filters": _eb_filters(state, "entropy_bottleneck.", context)},
    )
    device = registry.build_device_model("bmshj2018-factorized", cfg)
    parts = [
        _Part(device.encoder, "g_a.", lambda s: "g_a." + s, lambda s: s[len("g_a."):]),
        _eb_part(device.entropy_bottleneck, "entropy_bottleneck.", state),
    ]
    decoder = None
    if any(k.startswith("g_s.") for k in state):
        decoder = registry.build_decoder("bmshj2018-factorized", cfg)
        parts.append(_Part(decoder, "g_s.", lambda s: "g_s." + s, lambda s: s[len("g_s."):]))
    unknown = sorted(k for k in state if not any(k.startswith(p.source_prefix) for p in parts))
    if unknown:
        raise UnexpectedKeysError(unknown, context)
    _load_parts(state, parts, context)
    tables = _finish_tables(device.entropy_bottleneck, "entropy_bottleneck.", context)
    server = None
    if decoder is not None:
        server = ServerModel(decoder, None, device.entropy_bottleneck.medians())
    return _split_model(path, "bmshj2018-factorized", cfg, device, server, {"layout": "compressai", "tables": tables})


def _import_fsplit(path: Path, obj: Mapping, context: str) -> SplitModel:
    if obj["format"] != FORMAT:
        raise UnknownLayoutError(f"{context}unsupported checkpoint format {obj['format']!r} (this version reads {FORMAT})")
    absent = [k for k in ("architecture", "config", "state_dict") if k not in obj]
    if absent:
        raise MissingKeysError(absent, context)
    arch = obj["architecture"]
    if arch == DEFAULT_MODEL_ARCHITECTURE:
        return _load_default_model(path)
    if not isinstance(obj["config"], Mapping) or not isinstance(obj["state_dict"], Mapping):
        raise CheckpointError(f"{context}'config' and 'state_dict' must be dicts")
    try:
        cfg = registry.resolve_config(arch, dict(obj["config"]))
        device = registry.build_device_model(arch, cfg)
        decoder = registry.build_decoder(arch, cfg)
    except registry.ArchitectureError as exc:
        raise UnknownLayoutError(f"{context}{exc}") from exc
    state = dict(obj["state_dict"])
    parts = [
        _Part(device.encoder, "encoder."),
        _eb_part(device.entropy_bottleneck, "entropy_bottleneck.", state),
    ]
    if decoder is not None and any(k.startswith("decoder.") for k in state):
        parts.append(_Part(decoder, "decoder."))
    else:
        decoder = None
    unknown = sorted(k for k in state if not any(k.startswith(p.source_prefix) for p in parts))
    if unknown:
        raise UnexpectedKeysError(unknown, context)
    _load_parts(state, parts, context)
    tables = _finish_tables(device.entropy_bottleneck, "entropy_bottleneck.", context)
    server = ServerModel(decoder, None, device.entropy_bottleneck.medians()) if decoder is not None else None
    meta = dict(obj.get("meta") or {})
    return _split_model(path, arch, cfg, device, server, {"layout": FORMAT, "tables": tables, "checkpoint_meta": meta})


def _load_default_model(path: Path) -> SplitModel:
    try:
        module = importlib.import_module(".default_model", __package__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.default_model":
            raise
        raise CheckpointError(
            f"{path} holds the bundled default model ({DEFAULT_MODEL_ARCHITECTURE}), but its loader "
            f"{__package__}.default_model is not available"
        ) from exc
    own_error = getattr(module, "CheckpointFormatError", None)
    try:
        return module.load_default_model(path)
    except Exception as exc:
        if own_error is not None and isinstance(exc, own_error):  # keep one error hierarchy for callers
            raise CheckpointError(str(exc)) from exc
        raise


def load_checkpoint(path: str | os.PathLike, trust_pickle: bool = False) -> SplitModel:
    """Read `path`, detect its layout, and return the split model (device part with tables; server if known)."""
    p = Path(path)
    obj = read_checkpoint(p, trust_pickle=trust_pickle)
    context = f"{p}: "
    if not isinstance(obj, Mapping):
        raise UnknownLayoutError(f"{context}expected a dict (a state dict or a training checkpoint), found {type(obj).__name__}")
    fmt = obj.get("format")
    if isinstance(fmt, str) and fmt.startswith("fsplit-checkpoint/"):
        return _import_fsplit(p, obj, context)
    state = None
    for wrapper in ("model", "state_dict"):  # torchdistill (and most trainers) nest the weights
        if _is_state_dict(obj.get(wrapper)):
            state = obj[wrapper]
            break
    if state is None and _is_state_dict(obj):
        state = obj
    if state is None:
        keys = ", ".join(sorted(map(str, obj))[:_MAX_NAMED])
        raise UnknownLayoutError(f"{context}no state dict found (top-level keys: {keys or 'none'})")
    state = _strip_module_prefix(state)
    keys = list(state)
    outer = _find_prefix(keys, "compression_module.g_a.")
    if outer is not None:
        return _import_frankensplit(p, state, outer + "compression_module.", context)
    outer = _find_prefix(keys, "bottleneck_layer.encoder.")
    if outer is None:
        outer = _find_prefix(keys, "bottleneck_layer.entropy_bottleneck.")
    if outer is not None:
        return _import_sc2bench(p, state, outer + "bottleneck_layer.", context)
    if any(k.startswith("g_a.") for k in keys) and any(k.startswith("entropy_bottleneck.") for k in keys):
        return _import_compressai(p, state, context)
    raise UnknownLayoutError(
        f"{context}unknown checkpoint layout (key groups: {', '.join(list(_key_groups(keys))[:_MAX_NAMED])}); "
        "known: FrankenSplit (compression_module.g_a.*), sc2bench (bottleneck_layer.encoder.*), CompressAI "
        f"bmshj2018-factorized (g_a.*, entropy_bottleneck.*), {FORMAT}"
    )


def save_checkpoint(
    path: str | os.PathLike,
    architecture: str,
    config: dict,
    device: DeviceModel,
    decoder: nn.Module | None = None,
    meta: dict | None = None,
) -> Path:
    """Write an ``fsplit-checkpoint/1`` file (atomically) that :func:`load_checkpoint` reads back."""
    registry.resolve_config(architecture, config)
    state = {f"encoder.{k}": v for k, v in device.encoder.state_dict().items()}
    state.update({f"entropy_bottleneck.{k}": v for k, v in device.entropy_bottleneck.state_dict().items()})
    if decoder is not None:
        state.update({f"decoder.{k}": v for k, v in decoder.state_dict().items()})
    obj = {
        "format": FORMAT,
        "architecture": architecture,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
        "state_dict": state,
        "meta": dict(meta or {}),
    }
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".partial", dir=p.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
