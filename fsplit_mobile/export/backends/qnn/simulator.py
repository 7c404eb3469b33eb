"""Run a compiled QNN EP-context model in the x86_64 HTP simulator, with its per-op cycle profile.

The simulator (onnxruntime-qnn's x86_64 ``libQnnHtp.so``) executes the HTP program on this CPU: its outputs
check numerics, and its profile counts HTP cycles per op. Both are *simulator figures*: cycles of a simulated
HTP, never device milliseconds (the simulator takes 0.7-4.4 s per 224x224 inference on a PC).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ....runtime.accelerated import OrtAcceleratedBackend

PROFILE_KIND = "qnn-htp-simulator-cycles"
PROFILE_NOTE = (
    "HTP cycles counted by the x86_64 QNN HTP simulator (onnxruntime-qnn), per op and per run; "
    "simulator figures, NOT device milliseconds"
)
TOTAL_EVENT = "Accelerator (execute) time (cycles)"


def parse_profile_csv(path: Path) -> dict:
    """QNN profile CSV (profiling_level=detailed) -> per-op mean cycles over the runs it holds."""
    per_op: dict[str, list[int]] = {}
    totals: list[int] = []
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.DictReader(f):
            unit, ident = row.get("Unit of Measurement", ""), row.get("Event Identifier", "")
            if unit != "CYCLES":
                continue
            try:
                value = int(row.get("Time", ""))
            except ValueError:
                continue
            if ident == TOTAL_EVENT:
                totals.append(value)
            elif row.get("Message") == "NODE":
                name = ident.removesuffix(" (cycles)")
                per_op.setdefault(name, []).append(value)
    total = round(float(np.mean(totals)), 1) if totals else None
    ops = []
    for name, v in per_op.items():
        mean = round(float(np.mean(v)), 1)
        ops.append(
            {"op": name, "cycles_mean": mean, "runs": len(v), "share": round(mean / total, 4) if total else None}
        )
    return {
        "kind": PROFILE_KIND,
        "note": PROFILE_NOTE,
        "unit": "cycles",
        "runs": len(totals),
        "total_cycles_mean": total,
        "ops": ops,
    }


def simulate(
    compiled: Path, inputs: Sequence[np.ndarray], profile_runs: int = 1
) -> tuple[list[np.ndarray], dict, object]:
    """Outputs of `compiled` for each model-file input, the cycle profile of the first `profile_runs` inputs,
    and the run-time placement. Two sessions: profiling on for the profiled inputs only."""
    tmp = Path(tempfile.mkdtemp(prefix="fsplit-qnnsim-"))
    csv_path = tmp / "profile.csv"
    profile_runs = max(0, min(profile_runs, len(inputs)))
    outputs: list[np.ndarray] = []
    placement = None
    if profile_runs:
        backend = OrtAcceleratedBackend(str(compiled), "npu", qnn_profile_csv=str(csv_path))
        outputs += [backend.run(x) for x in inputs[:profile_runs]]
        placement = backend.placement
        del backend  # the profile CSV is complete once the session is gone
    rest = inputs[profile_runs:]
    if rest or placement is None:
        backend = OrtAcceleratedBackend(str(compiled), "npu")
        outputs += [backend.run(x) for x in rest]
        placement = placement or backend.placement
        del backend
    profile = (
        parse_profile_csv(csv_path)
        if csv_path.is_file()
        else {"kind": PROFILE_KIND, "note": PROFILE_NOTE, "runs": 0, "ops": []}
    )
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return outputs, profile, placement
