"""The one shape of an export backend: what a backend declares and what each of its hooks gets and returns.

An artifact (one target, one quantization) is made by the shared stages of `fsplit_mobile.export.stages`,
in this order; a backend only supplies the target-specific parts:

    req      = stages.check_request(backend, req)                 # quantization supported, options checked
    captured = stages.capture(backend, module, example, req)      # torch.export of backend.graph(...)
    quant    = stages.quantize(backend, captured, calib, req)     # None for "none"; runs backend.quantizer(...)
    lowered  = stages.lower(backend, Program(captured, quant), stage_dir, req)   # backend.lower(...)
    verified = stages.verify(backend, stage_dir, lowered, inputs, req)  # runs the file via fsplit_mobile.runtime
    report   = stages.report(...)                                 # fidelity against eager fp32

Capture, PT2E calibration, keep_float resolution, verification and the report exist once, in those stages.

A backend is one module `fsplit_mobile/export/backends/<name>.py` holding one `Backend` subclass, named by
its target's entry in the one description of the targets, `fsplit_mobile/runtime/targets.py` (which
`backends/__init__.py` reads). That entry holds the facts export, runtime and bench share; a subclass whose
`name` is described gets them as class attributes:

- `encoder_file`: the file `lower` writes into the artifact folder (manifest `files.encoder`).
- `quantizations`: the values of `--quantize` it supports (a subset of targets.QUANTIZATIONS).

It declares (class attributes):

- `name`: the target name (`--target`, `[targets.<name>]`, manifest `target`).
- `layout`: input layout of the written file (NCHW | NHWC).
- `options`: schema of its recipe table (options.COMMON_OPTIONS, i.e. keep_float and per_channel, plus its
  own); unknown or mistyped options are errors naming the recipe file and field. Hooks read
  `req.options[key]`: the stages validate and fill in the defaults before any hook runs.
- `runtime`: the fsplit_mobile.runtime target name that runs the file during verify (default: `name`).
- `tools`: distributions whose versions go into manifest.tool_versions (torch is always added).
- op hints: `op_patterns` (regexes whose group 1 names the operator in a converter or runtime error) and
  `op_hints` ({"capture" | "lower" | "verify": what to do}); the stages turn a matching failure into
  UnsupportedOpError(op, name, hint), anything else into a one-line ExportError (`lower_failure`: its
  prefix for lowering, e.g. "LiteRT conversion failed").

and implements the hooks:

- `graph(module, req) -> Graph` (optional): what torch.export captures. `module` is the eager
  ExportableEncoder (GDN baked) taking the *canonical input* (NCHW float32, pixel/255 when
  req.normalization_in_graph, else (x - mean) / std). Return a wrapper that gives the file the I/O the target
  wants, how a canonical batch becomes the wrapper's inputs, and the module path prefix under which the
  ExportableEncoder sits inside the wrapper (keep_float names are prefixed with it). Default: the module
  itself, positional input, prefix "".
- `quantizer(captured, req, keep_float) -> PT2EQuantizer | NativeQuantizer`: called only when
  req.quantization != "none". `captured` is the capture stage's result; `keep_float` holds the validated
  module names to leave in float, already prefixed ("auto" resolved to the layer producing the latent). A PT2EQuantizer is run by the shared stage on the captured
  program (observers, calibration on canonical images in batches, convert); a NativeQuantizer's
  `quantize(captured, calib_batches) -> Quantized` uses the target's own tool (Quantized.native holds the
  quantized model in the target's format, which `lower` then writes).
- `lower(program, stage_dir, req) -> LoweredModel`: `program` is a `Program` (the captured graph and, when
  quantized, the quantize stage's result). Convert, write `encoder_file` (and any companion files) into
  `stage_dir` exactly once, and return the files and the I/O TensorSpecs of the written file plus notes and
  details for the report. Raise UnsupportedOpError/ExportError, never leave a half-written encoder file
  claimed in `files`.
- `checks(path, lowered, req) -> dict` (optional): target checks of the written file, run by verify before
  it executes the file (raise VerificationError on a mismatch); the dict is reported. Default: none.
- `can_execute() -> bool` / `open_runtime(path)` (optional): whether this host runs the file, and an object
  with `.run(model_input) -> model_output`; default: fsplit_mobile.runtime.encoders.open_backend(runtime).
- `needs_calibration(req) -> bool` (optional): default True exactly for static "int8".

Verify converts canonical inputs to the file's input spec and its outputs back to the canonical output
(NCHW int32 symbols or float32 latent) with fsplit_mobile.runtime.preprocess; a backend that cannot run its
file here gets VerifyResult(executed=False, reason="not executed on this platform") and never fakes outputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from ...runtime.targets import TARGETS
from ..errors import ExportError, UnsupportedOpError
from ..options import COMMON_OPTIONS, Option
from ..request import ExportRequest
from ..results import LoweredModel

# ATen operator names as torch.export and the ExecuTorch/LiteRT converters print them.
ATEN_OP = re.compile(r"((?:aten|prims)[.:]+[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)")
CAPTURE_HINT = "torch.export cannot capture it; rewrite the layer with traceable ops"


def package_version(dist: str) -> str:
    """Installed version of a distribution, or 'not installed' (the tool versions a backend reports)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def to_positional(x: torch.Tensor) -> tuple[tuple, dict]:
    return (x,), {}


@dataclass
class Graph:
    """What the capture stage exports: `module` called with `inputs(canonical_batch)` = (args, kwargs)."""

    module: torch.nn.Module
    inputs: Callable[[torch.Tensor], tuple[tuple, dict]] = to_positional
    prefix: str = ""  # module path of the ExportableEncoder inside `module`
    notes: list[str] = field(default_factory=list)


@dataclass
class Captured:
    """The capture stage's result: the batch-1 ExportedProgram and how it was made."""

    program: torch.export.ExportedProgram
    graph: Graph
    example: torch.Tensor  # canonical example input (1, 3, H, W)
    module_names: frozenset[str]  # module names of the eager ExportableEncoder (keep_float must name one)

    def example_inputs(self) -> tuple[tuple, dict]:
        return self.graph.inputs(self.example)


@dataclass
class PT2EQuantizer:
    """Quantize the captured graph with a torchao PT2E quantizer (the shared stage calibrates and converts).

    `notes` may contain "{samples}", replaced by the number of calibration samples; `keeps_float`: whether
    the quantizer leaves the keep_float modules in float (the stage notes them then)."""

    quantizer: Any
    notes: list[str] = field(default_factory=list)
    fold_quantize: bool = True
    keeps_float: bool = True


@dataclass
class Quantized:
    """The quantize stage's result: a PT2E-converted graph module, or a native quantizer's model."""

    module: torch.fx.GraphModule | None = None
    native: Any = None
    quantizer: Any = None  # the PT2E quantizer (LiteRT's converter takes it again)
    notes: list[str] = field(default_factory=list)
    samples: int = 0  # calibration samples seen


@dataclass
class NativeQuantizer:
    """Quantize with the target's own tool: `quantize(captured, calib_batches)` -> Quantized whose `native`
    is the quantized model in the target's format (calib_batches is empty unless needs_calibration)."""

    quantize: Callable[[Captured, list[torch.Tensor]], Quantized]


@dataclass
class Program:
    """What `lower` converts: the captured graph, and the quantize stage's result when quantized."""

    captured: Captured
    quantized: Quantized | None = None

    @property
    def notes(self) -> list[str]:
        return list(self.captured.graph.notes) + (list(self.quantized.notes) if self.quantized else [])

    def exported(self) -> torch.export.ExportedProgram:
        """The graph to convert as an ExportedProgram at the example's shape (the quantized module is
        exported again: PT2E's convert returns a GraphModule, possibly batch-polymorphic from calibration)."""
        if self.quantized is None:
            return self.captured.program
        if self.quantized.module is None:
            raise TypeError("a natively quantized program has no torch graph")
        args, kwargs = self.captured.example_inputs()
        return torch.export.export(self.quantized.module, args, kwargs)


class Backend:
    """Base of every backend; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    encoder_file: ClassVar[str] = ""
    quantizations: ClassVar[tuple[str, ...]] = ("none",)
    layout: ClassVar[str] = "NCHW"
    options: ClassVar[Mapping[str, Option]] = COMMON_OPTIONS
    runtime: ClassVar[str | None] = None  # None: same as name
    tools: ClassVar[tuple[str, ...]] = ()
    op_patterns: ClassVar[tuple[re.Pattern, ...]] = (ATEN_OP,)
    op_hints: ClassVar[Mapping[str, str]] = {"capture": CAPTURE_HINT}
    lower_failure: ClassVar[str] = ""  # message prefix of a lowering failure ("LiteRT conversion failed")

    def __init_subclass__(cls, **kwargs):
        """A backend of a described target takes its encoder file and quantizations from the description."""
        super().__init_subclass__(**kwargs)
        described = TARGETS.get(cls.__dict__.get("name", ""))
        if described is not None:
            cls.encoder_file = described.encoder_file
            cls.quantizations = described.quantizations

    # ---- hooks ------------------------------------------------------------------------------------------------
    def graph(self, module: torch.nn.Module, req: ExportRequest) -> Graph:
        return Graph(module)

    def quantizer(
        self, captured: Captured, req: ExportRequest, keep_float: Sequence[str]
    ) -> PT2EQuantizer | NativeQuantizer:
        raise NotImplementedError(f"backend {self.name} declares quantizations but no quantizer")

    def lower(self, program: Program, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        raise NotImplementedError

    def checks(self, path: Path, lowered: LoweredModel, req: ExportRequest) -> dict:
        return {}

    def can_execute(self) -> bool:
        return True

    def open_runtime(self, path: Path):
        from ...runtime.encoders import open_backend

        return open_backend(self.runtime or self.name, path)

    def runtime_name(self) -> str:
        from ...runtime.encoders import RUNTIME_NAMES

        return RUNTIME_NAMES.get(self.runtime or self.name, self.runtime or self.name)

    def needs_calibration(self, req: ExportRequest) -> bool:
        """Whether `quantizer` needs calibration images (static activation quantization)."""
        return req.quantization == "int8"

    def variants(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        """The artifacts made per quantization: (label part, option overrides) each. One by default; an
        accelerator compiled per chip makes one per chip (qnn: ("sm8650", {"soc": "SM8650"}) ...), written as
        <target>-<label part>-<quantization>/. `options` is the recipe table plus command-line overrides."""
        return [("", {})]

    def flip_limit(self, quantization: str) -> float | None:
        """Fraction of symbols differing from eager fp32 above which the export fails (None: api's sanity
        limits). Accelerator backends hold their fidelity targets here, so a broken numerics path fails."""
        return None

    def tool_versions(self) -> dict[str, str]:
        return {"torch": torch.__version__, **{dist: package_version(dist) for dist in self.tools}}

    def op_from_error(self, err: BaseException) -> str | None:
        return op_named(err, self.op_patterns)


def op_named(err: BaseException, patterns: Sequence[re.Pattern]) -> str | None:
    """The operator an error names (its own text or its cause's) by the first matching pattern, else None."""
    for text in (str(err), str(err.__cause__ or "")):
        for pattern in patterns:
            m = pattern.search(text)
            if m and m.group(1).strip():
                return m.group(1).strip().strip("{}").split(",")[0].strip("'\" .")
    return None


# ---- converter errors (the stages and the backends' own lowering both report them) ------------------------------
def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def converter_error(backend: Backend, stage: str, err: BaseException) -> ExportError:
    """UnsupportedOpError when the error names an operator (with the backend's hint for `stage`), else a
    one-line ExportError; ExportErrors pass through."""
    if isinstance(err, ExportError):
        return err
    op = backend.op_from_error(err)
    if op:
        return UnsupportedOpError(op, backend.name, backend.op_hints.get(stage, ""))
    what = {
        "capture": f"torch.export failed for target {backend.name}",
        "lower": backend.lower_failure,
        "verify": f"{backend.name} runtime cannot load the file",
    }[stage]
    return ExportError(f"{what or backend.name + ' lowering failed'}: {first_line(err)}")
