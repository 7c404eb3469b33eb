"""What every accelerator backend does with its placement: fail the export on CPU fallback by default.

Silent fallback is how an "NPU" artifact ends up running on the CPU, so the default is to refuse it, naming
every node that would fall back; the recipe option ``fallback = "warn"`` (CLI ``--allow-fallback``) writes the
artifact anyway and says so in its notes.
"""

from __future__ import annotations

from ...runtime.placement import Placement
from ..errors import ExportError
from ..options import Option

FALLBACK_OPTION = Option((str,), "fail", choices=("fail", "warn"), fold_case=True)


class PlacementError(ExportError):
    """Part of the graph would run on the CPU instead of the accelerator (the message names the nodes)."""


def enforce_placement(placement: Placement, policy: str, target: str, where: str) -> list[str]:
    """Raise PlacementError on any fallback when `policy` is "fail"; else the notes for the report."""
    notes = [placement.summary()]
    if not placement.fallback:
        return notes
    names = ", ".join(f"{n.name} ({n.op_type})" for n in placement.fallback)
    if policy == "fail":
        raise PlacementError(
            f"{target} {where}: {len(placement.fallback)} node(s) fall back to the CPU: {names}; "
            f'replace those ops, or set fallback = "warn" in [targets.{target}] '
            "(fsplit-export --allow-fallback) to export anyway"
        )
    return notes + [f'WARNING: CPU fallback allowed (fallback = "warn"): {names}']
