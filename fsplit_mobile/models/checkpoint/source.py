"""What a layout sees of a checkpoint file (:class:`Source`) and what a layout provides (:class:`Layout`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import registry
from ..split import DeviceModel, ServerModel, SplitModel


def _is_state_dict(obj: Any) -> bool:
    """String keys holding tensors (a stray non-tensor is reported later, if it is a key the device needs)."""
    return (
        isinstance(obj, Mapping)
        and all(isinstance(k, str) for k in obj)
        and any(isinstance(v, torch.Tensor) for v in obj.values())
    )


def _unwrap(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The state dict inside a training checkpoint (torchdistill and most trainers nest it), DDP prefix removed."""
    state = next((obj[w] for w in ("model", "state_dict") if _is_state_dict(obj.get(w))), None)
    if state is None and _is_state_dict(obj):
        state = obj
    if state is None:
        return None
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel / DDP
        return {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


@dataclass
class Source:
    """A checkpoint file's path, its top-level dict and (when it has one) its state dict."""

    path: Path
    obj: Mapping[str, Any]
    state: dict[str, Any] | None

    @classmethod
    def of(cls, path: Path, obj: Mapping[str, Any]) -> Source:
        return cls(path, obj, _unwrap(obj))

    @property
    def context(self) -> str:
        """Prefix of every error message: the file it is about."""
        return f"{self.path}: "

    def keys(self) -> list[str]:
        return list(self.state or ())


@dataclass(frozen=True)
class Layout:
    """One checkpoint layout: how to recognise it and how to load it.

    `match` returns None when the file is not in this layout, else the key prefix the layout's keys sit under
    ("" at the top level); `load` gets that prefix back. `known_as` describes the layout in the error raised for
    a file no layout matches.
    """

    name: str
    known_as: str
    match: Callable[[Source], str | None]
    load: Callable[[Source, str], SplitModel]


def key_groups(keys: list[str]) -> dict[str, int]:
    """How many keys fall under each two-level module prefix (``backbone.head``: 1), to describe foreign keys."""
    groups: dict[str, int] = {}
    for key in keys:
        parts = key.split(".")
        group = ".".join(parts[:2]) if len(parts) > 2 else parts[0]
        groups[group] = groups.get(group, 0) + 1
    return groups


def split_model(
    src: Source, arch: str, cfg: dict[str, Any], device: DeviceModel, server: ServerModel | None, meta: dict[str, Any]
) -> SplitModel:
    """The loaded model, in eval mode, named after the file, with the architecture's normalisation."""
    a = registry.architecture(arch)
    device.eval()
    if server is not None:
        server.eval()
    return SplitModel(
        model_id=src.path.stem,
        architecture=arch,
        device=device,
        server=server,
        mean=a.mean,
        std=a.std,
        meta={"source": str(src.path), "config": cfg, **meta},
    )
