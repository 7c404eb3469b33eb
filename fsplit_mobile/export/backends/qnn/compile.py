"""Offline compile of an ONNX encoder into a QNN EP-context model for one Snapdragon SoC, and its placement.

ONNX Runtime's ModelCompiler with the QNN EP (onnxruntime-qnn) prepares the HTP graph for the named SoC on
this host and embeds the context binary in a one-node ``EPContext`` model. The placement is read from the
compiled graph itself: every source node that is gone was taken by the HTP (fused into an EPContext node);
every node still there runs on the CPU. CPU fallback stays allowed while compiling so that a partial offload
still yields a graph whose CPU nodes can be named (rather than an opaque "cannot place node" failure); the
caller decides whether fallback fails the export.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ....runtime import qnn
from ....runtime.placement import ON_ACCELERATOR, ON_CPU, NodePlacement, Placement

EPCONTEXT_OP = "EPContext"
COMPAT_KEY = "ep_compatibility_info.QNNExecutionProvider"


class QnnCompileError(RuntimeError):
    """The QNN EP could not compile the model for the SoC (message names the SoC and the reason)."""


@dataclass
class CompileResult:
    soc: str
    seconds: float
    placement: Placement
    compatibility: str  # the EP's compatibility string recorded in the compiled model's metadata
    soc_id: int | None  # numeric SoC id inside that string (43/57/69/87 for SM8550/8650/8750/8850)


def resolve_socs(socs) -> list[str]:
    """'all' -> every known SoC; names are upper-cased and checked against qnn.SOCS."""
    names = [socs] if isinstance(socs, str) else list(socs or [])
    if not names:
        raise QnnCompileError(f"no SoC given; choose from {', '.join(qnn.SOCS)} or all")
    out: list[str] = []
    for name in names:
        for n in qnn.SOCS if str(name).lower() == "all" else [str(name).upper()]:
            if n not in qnn.SOCS:
                raise QnnCompileError(f"unknown Snapdragon SoC {name!r}; known: {', '.join(qnn.SOCS)}, all")
            if n not in out:
                out.append(n)
    return out


def compiled_placement(source: Path, compiled: Path, soc: str) -> Placement:
    """Placement of `source`'s nodes in the `compiled` EP-context model (see module docstring)."""
    import onnx

    src = onnx.load(str(source), load_external_data=False).graph.node
    out = onnx.load(str(compiled), load_external_data=False).graph.node
    ctx_nodes = [n.name for n in out if n.op_type == EPCONTEXT_OP]
    remaining = {n.name for n in out if n.op_type != EPCONTEXT_OP}
    one = ctx_nodes[0] if len(ctx_nodes) == 1 else ""
    nodes = [
        NodePlacement(n.name, n.op_type, ON_CPU, "CPUExecutionProvider")
        if n.name in remaining
        else NodePlacement(n.name, n.op_type, ON_ACCELERATOR, one)
        for n in src
    ]
    return Placement(f"QNN HTP ({soc})", nodes, len(ctx_nodes), "compiled EP-context graph (onnxruntime-qnn)")


def compatibility_info(compiled: Path) -> tuple[str, int | None]:
    """The QNN EP's compatibility string of a compiled model and the SoC id in it."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(compiled), load_external_data=False).metadata_props}
    info = meta.get(COMPAT_KEY, "")
    fields = info.split(":")
    soc_id = int(fields[5]) if len(fields) > 5 and fields[5].isdigit() else None
    return info, soc_id


def compile_for_soc(
    source: Path, dest: Path, soc: str, fp16: bool = False, libs: qnn.QnnLibs | None = None
) -> CompileResult:
    """Compile `source` (.onnx: QDQ for int8, fp32 for fp16) to the EP-context model `dest` for `soc`."""
    import onnxruntime as ort

    soc = resolve_socs(soc)[0]
    try:
        libs = libs or qnn.locate(None, "htp")
        devices = qnn.register(ort, libs)
    except qnn.QnnUnavailableError as e:
        raise QnnCompileError(str(e)) from None
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # node names stay comparable
    opts.add_provider_for_devices(devices, qnn.provider_options(libs, soc, fp16))
    dest = Path(dest)
    t0 = time.perf_counter()
    try:
        ort.ModelCompiler(opts, str(source), embed_compiled_data_into_model=True).compile_to_file(str(dest))
    except Exception as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise QnnCompileError(f"QNN compile for {soc} failed: {text}") from None
    seconds = time.perf_counter() - t0
    info, soc_id = compatibility_info(dest)
    return CompileResult(soc, round(seconds, 3), compiled_placement(Path(source), dest, soc), info, soc_id)
