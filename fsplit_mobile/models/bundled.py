"""The bundled default model: the checkpoint `fsplit-demo` and a bare `fsplit-export` use.

Since issue 20 the default is ``light-lite0`` (:data:`BUNDLED_LIGHT`, recipe ``light_lite0``): a lightweight
encoder of 17.2 M MACs (4.5 % of EfficientNet-Lite0; since session 10 a learned front, no layer at 112x112, with 32
channels since session 11) on the device, trained by head distillation, three rate points in one rate-point set
(checkpoint/point_set.py); the server restores the teacher's features after block 4 and runs the frozen rest. The same model with the teacher's own stem
and block 0 first (:data:`BUNDLED_LIGHT_TEACHER_FRONT`, recipe ``light_lite0_teacher_front``, 34.7 M MACs; the
default in sessions 8-9) stays bundled beside it: its held-out points meet issue 20's Must, at twice the device
time. The bottleneck units after block 16 (:data:`BUNDLED_UNITS`, recipe ``lite0_b16_units``; the default from issue
10 to issue 20) stay bundled as a named alternative: far fewer bytes, but their device part is 95.8 % of the
network. How each was made, and every run tried, is in ``data/README.md``; the FrankenSplit-style
``frankensplit-lite0`` (:mod:`.frankensplit_lite0`) stays bundled as the reference of its architecture (conformance
vectors, the Android demo's stand-in model).
"""

from __future__ import annotations

from pathlib import Path

from .split import SplitModel

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BUNDLED_UNITS = DATA_DIR / "default" / "bottleneck_units_lite0_b16.pt"  # bottleneck-units-lite0-b16 (95.8 % device)
BUNDLED_LIGHT = DATA_DIR / "default" / "light_lite0.pt"  # light-lite0 (the lightweight encoder, issue 20)
# light-lite0-teacher-front: the default of sessions 8-9 (the teacher's stem + block 0 first, 34.7 M MACs, 9.0 %)
BUNDLED_LIGHT_TEACHER_FRONT = DATA_DIR / "default" / "light_lite0_teacher_front.pt"
BUNDLED_DEFAULT = BUNDLED_LIGHT


def load_rate_points(path: str | Path | None = None, with_server: bool = True) -> dict[str, SplitModel]:
    """Every rate point of a checkpoint (default: the bundled default), default rate point first.

    A bottleneck-unit checkpoint gives one SplitModel per unit, a rate-point set (checkpoint/point_set.py) one
    per point; any other checkpoint layout (one model, one rate) gives a single entry named after its model id.
    Errors are the checkpoint reader's (CheckpointError).
    """
    from . import bottleneck_unit as bu
    from .checkpoint import load_checkpoint, read_checkpoint
    from .checkpoint.point_set import is_point_set, load_point_set
    from .checkpoint.units import load_units

    path = Path(path) if path is not None else BUNDLED_DEFAULT
    payload = read_checkpoint(path)
    if is_point_set(payload):
        return load_point_set(path, with_server=with_server)
    if isinstance(payload, dict) and payload.get("architecture") == bu.ARCHITECTURE:
        models = load_units(path, with_server=with_server)
        default = next(iter(models.values())).meta["config"].get("default_unit") or next(iter(models))
        return {default: models[default], **{k: v for k, v in models.items() if k != default}}
    model = load_checkpoint(path)
    return {model.model_id: model}
