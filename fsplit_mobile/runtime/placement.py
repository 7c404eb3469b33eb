"""Where the operators of a model run: on the accelerator, or fallen back to the CPU.

Silent CPU fallback is the failure users of NPU delegates hit most, so every accelerator target records a
placement: export writes it into manifest.json (``accelerator.placement``), the device agent measures it again
at run time, and both print it. One shape serves all accelerators (QNN HTP, Vulkan GPU, CUDA...): a list of
nodes, each with its name, op type and the device it was assigned to. Stdlib only: it ships to devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ON_ACCELERATOR = "accelerator"
ON_CPU = "cpu"


@dataclass(frozen=True)
class NodePlacement:
    name: str
    op_type: str
    device: str  # ON_ACCELERATOR | ON_CPU
    runtime_node: str = ""  # the node that runs it (e.g. the fused EPContext/delegate node), when known

    def to_dict(self) -> dict:
        d = {"name": self.name, "op_type": self.op_type, "device": self.device}
        if self.runtime_node:
            d["runtime_node"] = self.runtime_node
        return d


@dataclass
class Placement:
    """Placement of one model on one accelerator. `source` says how it was found (compiled graph, profile...)."""

    accelerator: str  # e.g. "QNN HTP (SM8650)", "Vulkan GPU"
    nodes: list[NodePlacement] = field(default_factory=list)
    partitions: int = 0  # accelerator subgraphs (1 = one delegate/EPContext node)
    source: str = ""

    @property
    def on_accelerator(self) -> list[NodePlacement]:
        return [n for n in self.nodes if n.device == ON_ACCELERATOR]

    @property
    def fallback(self) -> list[NodePlacement]:
        return [n for n in self.nodes if n.device != ON_ACCELERATOR]

    @property
    def fully_offloaded(self) -> bool:
        return bool(self.nodes) and not self.fallback

    @property
    def accelerator_fraction(self) -> float:
        return len(self.on_accelerator) / len(self.nodes) if self.nodes else 0.0

    def summary(self) -> str:
        """One line: counts, partitions and the fallen-back nodes by name and op type."""
        line = (
            f"{self.accelerator}: {len(self.on_accelerator)}/{len(self.nodes)} nodes on the accelerator "
            f"({100 * self.accelerator_fraction:.1f} %), {self.partitions} partition(s)"
        )
        if self.fallback:
            line += "; CPU fallback: " + ", ".join(f"{n.name} ({n.op_type})" for n in self.fallback)
        return line

    def to_dict(self) -> dict:
        return {
            "accelerator": self.accelerator,
            "source": self.source,
            "partitions": self.partitions,
            "nodes_total": len(self.nodes),
            "nodes_on_accelerator": len(self.on_accelerator),
            "fallback": [n.to_dict() for n in self.fallback],
            "nodes": [n.to_dict() for n in self.nodes],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Placement:
        nodes = [
            NodePlacement(n["name"], n.get("op_type", "?"), n["device"], n.get("runtime_node", ""))
            for n in d.get("nodes", [])
        ]
        return cls(d.get("accelerator", "?"), nodes, int(d.get("partitions", 0)), d.get("source", ""))

    def markdown(self) -> str:
        """A short section for report.md: the summary and a table of the fallback (or 'none')."""
        lines = [f"- {self.summary()}", f"- found from: {self.source or 'unknown'}"]
        if self.fallback:
            lines += ["", "| node on CPU | op type |", "|---|---|"]
            lines += [f"| {n.name} | {n.op_type} |" for n in self.fallback]
        else:
            lines.append("- CPU fallback: none")
        return "\n".join(lines)
