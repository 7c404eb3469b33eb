"""Reading any torch.save file safely, and reading and writing the ``fsplit-checkpoint/1`` envelope.

``fsplit-checkpoint/1`` is ``{"format", "architecture", "config", "state_dict", "meta"}``: a registry
architecture (:mod:`fsplit_mobile.models.registry`), its config, and a state dict whose keys are prefixed by the
part they fill (``encoder.``, ``entropy_bottleneck.``, ``decoder.``). Files are read with
``torch.load(weights_only=True)``; anything needing arbitrary unpickling is refused unless the caller passes
``trust_pickle=True``. Writes are atomic (a ``.partial`` file renamed into place), so a crash never leaves a
half-written checkpoint under the real name.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import registry
from .errors import CheckpointError, CheckpointReadError, MissingKeysError, UnknownLayoutError, UnsafeCheckpointError

FORMAT = "fsplit-checkpoint/1"
FORMAT_FAMILY = "fsplit-checkpoint/"

_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"  # pre-1.6 torch.save
_SAFE_GLOBALS: list[Any] = [argparse.Namespace]  # torchdistill stores the command-line args in its checkpoints


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


def is_envelope(obj: Any) -> bool:
    """Whether `obj` claims to be an fsplit checkpoint (of any format version)."""
    return isinstance(obj, Mapping) and isinstance(obj.get("format"), str) and obj["format"].startswith(FORMAT_FAMILY)


def check_envelope(obj: Any, context: str, architecture: str | None = None) -> dict[str, Any]:
    """The envelope's entries (``meta`` defaulting to {}), after checking format, keys and, if given, architecture."""
    if not isinstance(obj, Mapping):
        raise UnknownLayoutError(f"{context}expected a {FORMAT} dict, found {type(obj).__name__}")
    if obj.get("format") != FORMAT:
        raise UnknownLayoutError(
            f"{context}unsupported checkpoint format {obj.get('format')!r} (this version reads {FORMAT})"
        )
    absent = [k for k in ("architecture", "config", "state_dict") if k not in obj]
    if absent:
        raise MissingKeysError(absent, context)
    if architecture is not None and obj["architecture"] != architecture:
        raise UnknownLayoutError(f"{context}architecture {obj['architecture']!r} is not {architecture!r}")
    meta = obj.get("meta")
    if (
        not isinstance(obj["config"], Mapping)
        or not isinstance(obj["state_dict"], Mapping)
        or not isinstance(meta, Mapping | None)
    ):
        raise CheckpointError(f"{context}'config', 'state_dict' and 'meta' must be dicts")
    return {**obj, "config": dict(obj["config"]), "state_dict": dict(obj["state_dict"]), "meta": dict(meta or {})}


def write_checkpoint(
    path: str | os.PathLike,
    architecture: str,
    config: Mapping[str, Any],
    parts: Mapping[str, nn.Module | None],
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """Write an ``fsplit-checkpoint/1`` file atomically; `parts` maps a key prefix (``encoder``...) to its module."""
    registry.resolve_config(architecture, dict(config))
    state: dict[str, torch.Tensor] = {}
    for prefix, module in parts.items():
        if module is not None:
            state.update({f"{prefix}.{k}": v.detach().cpu().clone() for k, v in module.state_dict().items()})
    obj = {
        "format": FORMAT,
        "architecture": architecture,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
        "state_dict": state,
        "meta": dict(meta or {}),
    }
    return save_atomically(obj, path)


def save_atomically(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save to a ``.partial`` file beside `path`, then rename it into place (removed if the save fails)."""
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
