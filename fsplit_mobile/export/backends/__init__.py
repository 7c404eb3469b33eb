"""Backend registry: target name -> the Backend class of one module in this package (see backends/base.py).

The targets, their order and their backend classes are read from the one description of every target,
fsplit_mobile/runtime/targets.py. Adding a target = one entry there, `backends/<name>.py` with one Backend
subclass, and one flow in the contract tests (docs/export.md "Adding a CPU target"). Modules are imported on
first use; converters are imported inside the hooks, so listing or validating options never loads them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from ...runtime.targets import TARGETS, accelerator_targets
from ..errors import UnknownTargetError
from .base import Backend

# name -> "module:ClassName" inside fsplit_mobile.export.backends; the order is the order of --target all
BACKENDS: dict[str, str] = {name: t.backend for name, t in TARGETS.items()}
# Accelerator targets are compiled for a named chip or GPU API and fail on ops it lacks: "all" (the portable CPU
# targets) leaves them out; they are exported when named (docs/accelerators.md).
NAMED_ONLY = accelerator_targets()


def backend_names() -> tuple[str, ...]:
    return tuple(BACKENDS)


def backend_class(name: str) -> type[Backend]:
    if name not in BACKENDS:
        raise UnknownTargetError(name, tuple(BACKENDS))
    module_name, class_name = BACKENDS[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module_name}"), class_name)


def get_backend(name: str) -> Backend:
    """A fresh backend instance for `name` (UnknownTargetError otherwise)."""
    return backend_class(name)()


def resolve_targets(target: str | Sequence[str]) -> list[str]:
    """'all' -> every CPU target (not NAMED_ONLY); a name or a list of names -> validated list
    (UnknownTargetError otherwise)."""
    names = [target] if isinstance(target, str) else list(target)
    out: list[str] = []
    for name in names:
        if name == "all":
            out.extend(n for n in BACKENDS if n not in out and n not in NAMED_ONLY)
        elif name in BACKENDS:
            if name not in out:
                out.append(name)
        else:
            raise UnknownTargetError(name, tuple(BACKENDS))
    return out
