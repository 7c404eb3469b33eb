"""Placement of an ExecuTorch program lowered with a partitioner (Vulkan GPU, XNNPACK...): which operators are
inside the delegate and which stayed outside as portable CPU kernels.

Read from the lowered edge program: each ``executorch_call_delegate`` runs a LoweredBackendModule whose
``original_module`` holds the delegated operators; every other operator call in the top-level graph runs in
ExecuTorch's portable CPU kernels. Plumbing (``getitem``, the delegate calls themselves) is not an operator.
"""

from __future__ import annotations

from ...runtime.placement import ON_ACCELERATOR, ON_CPU, NodePlacement, Placement

_PLUMBING = ("getitem", "executorch_call_delegate")


def op_name(target) -> str:
    """'aten.convolution.default' for an edge/aten op overload, the function name otherwise."""
    name = getattr(target, "_name", None) or getattr(target, "__name__", None) or str(target)
    overload = getattr(target, "_overloadname", None)
    name = str(name).replace("::", ".")
    return f"{name}.{overload}" if overload and not name.endswith(overload) else name


def _calls(graph):
    return [n for n in graph.nodes if n.op == "call_function" and getattr(n.target, "__name__", "") not in _PLUMBING]


def delegate_placement(edge_program, accelerator: str) -> Placement:
    """Placement of an EdgeProgramManager (after to_edge_transform_and_lower) or its ExportedProgram."""
    program = edge_program.exported_program() if hasattr(edge_program, "exported_program") else edge_program
    gm = program.graph_module
    nodes: list[NodePlacement] = []
    partitions = 0
    for node in gm.graph.nodes:
        if node.op == "get_attr" and hasattr(getattr(gm, node.target, None), "original_module"):
            partitions += 1
            lowered = getattr(gm, node.target)
            nodes += [
                NodePlacement(n.name, op_name(n.target), ON_ACCELERATOR, node.target)
                for n in _calls(lowered.original_module.graph)
            ]
    nodes += [NodePlacement(n.name, op_name(n.target), ON_CPU, "portable") for n in _calls(gm.graph)]
    return Placement(accelerator, nodes, partitions, "lowered ExecuTorch program (delegate vs portable ops)")
