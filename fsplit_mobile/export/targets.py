"""Registry: target name -> exporter class (imported lazily; converters are heavy)."""
from __future__ import annotations

import importlib

from .base import TargetExporter, UnknownTargetError

# name -> "module:ClassName" inside fsplit_mobile.export
TARGETS: dict[str, str] = {
    "executorch": "executorch:ExecuTorchExporter",
    "coreml": "coreml:CoreMLExporter",
    "tflite": "tflite:LiteRTExporter",
    "onnx": "onnx:OnnxExporter",
}


def target_names() -> tuple[str, ...]:
    return tuple(TARGETS)


def resolve_targets(target: str | list[str] | tuple[str, ...]) -> list[str]:
    """'all' -> every target; a name or a list of names -> validated list (UnknownTargetError otherwise)."""
    names = [target] if isinstance(target, str) else list(target)
    out: list[str] = []
    for name in names:
        if name == "all":
            out.extend(n for n in TARGETS if n not in out)
        elif name in TARGETS:
            if name not in out:
                out.append(name)
        else:
            raise UnknownTargetError(name, TARGETS)
    return out


def get_exporter(name: str) -> TargetExporter:
    """A fresh exporter instance for `name`."""
    if name not in TARGETS:
        raise UnknownTargetError(name, TARGETS)
    module_name, class_name = TARGETS[name].split(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    return getattr(module, class_name)()
