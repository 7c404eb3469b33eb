"""The export contract suite's flows (issue 21 item 5, after ExecuTorch's backends/test/suite): one small flow per
CPU target, saying how to export to it and how its artifact is run or checked where it lives. The contract tests
(tests/export/test_export_contract.py) run every test over every flow; what only one target has stays in its own
file (tests/export/: test_export_coreml.py, test_export_tflite.py, test_export_default.py). Adding a CPU target
(docs/export.md) adds one `ExportFlow` to FLOWS.

A flow gives data (the target, what export makes, the input layout, whether its runtime runs here, the
converter's error texts, a layer it cannot lower) and checks for what its file says about itself (a Core ML spec,
a LiteRT interpreter's I/O and XNNPACK delegation, ExecuTorch's XNNPACK delegates, the full manifest and report of
the targets run here): every flow runs the same contract, each adds what its format can show.

The end-to-end exports are shared, once per test session: `export_case` runs one `fsplit_mobile.export` per small
checkpoint over every flow's target (one shared preparation); `default_export` is the bundled FrankenSplit model's
export to ExecuTorch and ONNX that tests/export/test_export_default.py checks, whose fp32 files the contract verifies
again for the flows with `default_artifact` (instead of lowering that encoder a second time).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from export_support import EVAL_DIR, RECIPES, eager_unrounded, make_checkpoint, one_torch_thread
from fsplit_mobile.codec import CodecTables
from fsplit_mobile.export import api, stages
from fsplit_mobile.export.api import ExportSummary
from fsplit_mobile.export.backends.base import Backend, Program, converter_error
from fsplit_mobile.export.errors import ExportError
from fsplit_mobile.export.request import ExportRequest
from fsplit_mobile.export.results import LoweredModel, TensorSpec
from fsplit_mobile.models import ExportableEncoder, bake_gdn
from fsplit_mobile.models.checkpoint import load_checkpoint
from fsplit_mobile.runtime import EncoderUnavailableError, open_encoder
from fsplit_mobile.runtime.artifact import sha256_path
from fsplit_mobile.runtime.preprocess import load_rgb
from fsplit_mobile.runtime.symbol_check import compare_many

SIZE = (64, 64)  # the small checkpoints' input size in the end-to-end exports
CASES = {
    "factorized-prior": ("bmshj2018-factorized", RECIPES / "bmshj2018_factorized.toml"),
    "entropic-student": ("entropic-student", RECIPES / "entropic_student.toml"),
}


# ---- helpers the flows and the target-specific tests share --------------------------------------------------------
def canonical(size, n=3):
    """Real held-out images as canonical inputs (NCHW float32, pixel/255)."""
    return [
        np.ascontiguousarray(load_rgb(p, size).astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
        for p in sorted(EVAL_DIR.iterdir())[:n]
    ]


def make_module(encoder, medians, output="symbols"):
    norm = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    return ExportableEncoder(bake_gdn(encoder).eval(), medians, output, norm).eval()


def lower(backend: Backend, tmp_path, module, size, quant="none", output="symbols", options=None, calib=()):
    """check_request, capture, quantize (calibrating on `calib`, canonical numpy inputs) and lower `module`."""
    with torch.no_grad():
        latent = tuple(module.encoder(torch.zeros(1, 3, *size)).shape[1:])
    req = ExportRequest("test", backend.name, quant, size, output=output, latent_shape=latent, options=options or {})
    req = stages.check_request(backend, req)
    captured = stages.capture(backend, module, torch.zeros(1, 3, *size), req)
    quantized = stages.quantize(backend, captured, [torch.from_numpy(x) for x in calib], req)
    return backend, stages.lower(backend, Program(captured, quantized), tmp_path, req), req


def eager(module, inputs):
    with torch.no_grad(), one_torch_thread():
        return [module(torch.from_numpy(x)).numpy() for x in inputs]


def overflow_warnings(caught) -> list:
    return [w for w in caught if "overflow" in str(w.message)]


class WithDeterminant(torch.nn.Module):
    """A layer Core ML, LiteRT and ExecuTorch cannot lower: torch.linalg.det."""

    def forward(self, x):
        return x + torch.linalg.det(x[0, 0, :4, :4])


class WithHistc(torch.nn.Module):
    """A layer torch.onnx has no translation for (it lowers torch.linalg.det to ONNX Det): torch.histc."""

    def forward(self, x):
        return x + torch.histc(x, bins=4).sum() * 0


def artifact_lowered(path: Path) -> tuple[LoweredModel, ExportRequest]:
    """The LoweredModel and ExportRequest an artifact folder was written from, read back from its manifest and
    report, so that `stages.verify` can run its encoder file again."""
    m = json.loads((path / "manifest.json").read_text())
    report = json.loads((path / "report.json").read_text())

    def spec(d: dict) -> TensorSpec:
        return TensorSpec(d["name"], tuple(d["shape"]), d["dtype"], d["layout"], d["quantization"])

    lowered = LoweredModel(
        files={"encoder": m["files"]["encoder"]},
        input=spec(m["input"]),
        output=spec(m["output"]),
        details=report.get("lowering") or {},
    )
    shape = m["input"]["shape"]
    req = ExportRequest(
        m["model_id"],
        m["target"],
        m["quantization"],
        tuple(shape[2:4] if m["input"]["layout"] == "NCHW" else shape[1:3]),
        output=m["output"]["kind"],
        latent_shape=tuple(m["output"]["shape"][1:]),
    )
    return lowered, req


# ---- the flows ---------------------------------------------------------------------------------------------------
def _no_more(*_args) -> None:
    """No check beyond the contract's."""


@dataclass(frozen=True)
class ExportFlow:
    """One CPU target in the contract suite; a new target needs the first five fields, the rest add its own checks.

    target: the --target name; backend: its Backend class; quants: what the end-to-end export makes.
    layout: the artifact's input layout; executes: whether its runtime runs the file here (verify executed it,
        open_encoder opens it).
    tools: keys its manifests' tool_versions must hold.
    rejects: (a quantization it does not support, text the refusal names); None: it supports them all.
    failure: the prefix of a lowering error that names no op ("<failure>: <first line>"; None: the backend's
        lower_failure); op_errors: (converter error, the op it must be reported as); conversion_error: the
        backend's mapper of converter errors (None: the shared converter_error of the lower stage).
    unsupported_layer: a layer the target cannot lower; unsupported_op: text the op it is reported as contains;
        unsupported_exact: that op's name exactly (None: not checked); unsupported_hint: what the hint suggests.
    default_inputs(): what verify runs the bundled FrankenSplit encoder (fp32, 224x224) on;
    default_artifact: verify the fp32 file of that encoder that `default_export` wrote
        (tests/export/test_export_default.py checks its export) instead of lowering it again here;
    check_default_fp32(lowered, result, module, inputs, tmp_path, caught): what the target's file and verify's
        result say about it (`caught`: the lowering's warnings).
    check_manifest(r, art, split): what the target adds to a manifest of an end-to-end artifact.
    check_symbols(r, compared): what it adds on the runtime's symbols of an artifact, `compared` = (runtime's,
        eager's, eager's unrounded y - median) per image (runtime.symbol_check.compare_many).
    check_report(r, report): what it adds to a report; check_sizes({quantization: size}) across the artifacts.
    marks: pytest marks of its parameter.
    """

    target: str
    backend: type[Backend]
    quants: tuple[str, ...]
    layout: str
    executes: bool
    tools: tuple[str, ...] = ()
    rejects: tuple[str, str] | None = None
    failure: str | None = None
    op_errors: tuple[tuple[BaseException, str], ...] = ()
    conversion_error: Callable[[BaseException], ExportError] | None = None
    unsupported_layer: type[torch.nn.Module] = WithDeterminant
    unsupported_op: str = "linalg_det"
    unsupported_exact: str | None = None
    unsupported_hint: str = ""
    default_inputs: Callable[[], list] = lambda: canonical((224, 224))
    default_artifact: bool = False
    check_default_fp32: Callable[..., None] = _no_more
    check_manifest: Callable[..., None] = _no_more
    check_symbols: Callable[..., None] = _no_more
    check_report: Callable[..., None] = _no_more
    check_sizes: Callable[[dict], None] = _no_more
    marks: tuple = ()

    def __str__(self):
        return self.target

    def convert_error(self, err: BaseException) -> ExportError:
        """What the lower stage raises for a converter failure `err`."""
        if self.conversion_error is not None:
            return self.conversion_error(err)
        return converter_error(self.backend(), "lower", err)

    @property
    def failure_prefix(self) -> str:
        return self.failure if self.failure is not None else self.backend.lower_failure


# Core ML: lowered and spec-checked here; it runs only on Apple platforms (verify says not executed).
def _coreml_default_fp32(lowered, result, module, inputs, tmp_path, caught):
    from fsplit_mobile.export.backends.coreml import NOT_EXECUTED

    assert not overflow_warnings(caught)  # fp32 compute: no fp16 cast chain
    assert result.reason == NOT_EXECUTED and result.outputs is None
    checks = result.checks
    assert checks["inputs"] == [{"name": "image", "shape": [1, 3, 224, 224], "dtype": "float32"}]
    assert checks["outputs"] == [{"name": "symbols", "shape": [1, 48, 28, 28], "dtype": "int32"}]
    assert checks["tail"][-3:] == COREML_SYMBOL_TAIL and checks["opset"] == "CoreML7"
    assert checks["ops"]["conv"] == 9 and "int8" not in checks["weight_dtypes"]
    assert checks["size_bytes"] > 4 * 141_000  # fp32 weights of the 141k-parameter encoder
    import coremltools as ct

    reloaded = ct.models.MLModel(str(tmp_path / "encoder.mlpackage"), skip_model_load=True)
    assert reloaded.user_defined_metadata["fsplit.output"] == "symbols"


def _coreml_manifest(r, art, split):
    from fsplit_mobile.runtime.artifact import sha256_path

    m = art.manifest
    assert (r.path / "encoder.mlpackage").is_dir()
    assert m["sha256"]["encoder.mlpackage"] == sha256_path(r.path / "encoder.mlpackage")  # of the package dir
    assert m["input"]["dtype"] == "float32" and m["input"]["quantization"] is None
    c, h, w = (m["latent"][k] for k in ("channels", "height", "width"))
    assert m["output"] == {
        "name": "symbols",
        "kind": "symbols",
        "shape": [1, c, h, w],
        "dtype": "int32",
        "layout": "NCHW",
        "quantization": None,
    }
    with pytest.raises(EncoderUnavailableError, match="cannot execute Core ML on this platform"):
        open_encoder(art)


def _coreml_report(r, report):
    from fsplit_mobile.export.backends.coreml import NOT_EXECUTED

    assert report["metrics"] is None and r.metrics is None
    assert report["checks"]["outputs"][0]["dtype"] == "int32"
    assert NOT_EXECUTED in (r.path / "report.md").read_text()


def _coreml_sizes(sizes):
    assert sizes["int8-weights"] < sizes["none"]
    assert sizes["int8"] < sizes["none"]


COREML_SYMBOL_TAIL = ["clip:float32", "round:float32", "cast:int32"]


# LiteRT: run here in the real ai_edge_litert Interpreter, with XNNPACK.
LITERT_CPU_TAIL = {"CAST", "TRANSPOSE"}  # int32 cast and output transpose: the only ops XNNPACK leaves out


def _litert_default_fp32(lowered, result, module, inputs, tmp_path, caught):
    assert lowered.input.to_dict() == {
        "name": "image",
        "shape": [1, 224, 224, 3],
        "dtype": "float32",
        "layout": "NHWC",
        "quantization": None,
    }
    assert lowered.output.to_dict() == {
        "name": "symbols",
        "shape": [1, 48, 28, 28],
        "dtype": "int32",
        "layout": "NCHW",
        "quantization": None,
    }
    assert lowered.details["xnnpack_partitions"] == 1 and set(lowered.details["ops_on_cpu"]) <= LITERT_CPU_TAIL
    assert lowered.details["ops"]["ROUND"] == 1
    assert result.runtime == "ai_edge_litert Interpreter"
    compared = []
    for got, want, x in zip(result.outputs, eager(module, inputs), inputs):
        assert got.dtype == np.int32 and got.shape == want.shape
        normalised = module.normalize(torch.from_numpy(x))
        compared.append((got[0], want[0], eager_unrounded(module.encoder, module.medians, normalised)))
    # rounding survives conversion: every symbol as eager's, except where eager's value sat on a rounding tie
    c = compare_many(compared)
    assert c.unexplained == 0, c.describe()
    assert np.abs(want).max() > 0


def _litert_manifest(r, art, split):
    from ai_edge_litert.interpreter import Interpreter

    from fsplit_mobile.export.backends.tflite import tensor_quantization
    from fsplit_mobile.runtime.artifact import sha256_path

    m = art.manifest
    eb = split.device.entropy_bottleneck
    assert m["input"]["name"] == "image" and m["input"]["normalization_in_graph"] is True
    c = len(m["latent"]["medians"])
    assert m["output"]["name"] == "symbols" and m["output"]["kind"] == "symbols"
    assert m["output"]["dtype"] == "int32" and m["output"]["layout"] == "NCHW"
    assert m["output"]["shape"] == [1, c, m["latent"]["height"], m["latent"]["width"]]
    np.testing.assert_allclose(m["latent"]["medians"], eb.medians().numpy(), atol=1e-6)
    # the manifest's I/O description is what the file really has (int8 I/O recorded with its parameters)
    interp = Interpreter(model_path=str(r.path / "encoder.tflite"))
    detail = interp.get_input_details()[0]
    assert m["input"]["dtype"] == np.dtype(detail["dtype"]).name
    assert m["input"]["quantization"] == tensor_quantization(detail)
    if m["input"]["quantization"] is not None:
        assert r.quantization == "int8" and m["input"]["quantization"]["zero_point"] == -128
    assert m["sha256"]["encoder.tflite"] == sha256_path(r.path / "encoder.tflite")


def _litert_report(r, report):
    assert report["lowering"]["xnnpack_partitions"] == 1, report["lowering"]
    assert set(report["lowering"]["ops_on_cpu"]) <= LITERT_CPU_TAIL
    if r.quantization == "none":
        assert r.metrics["symbol_flip_fraction"] <= 1e-3
    else:
        assert any(("int8" in n) for n in report["notes"])


def _litert_sizes(sizes):
    assert sizes["int8"] < sizes["none"] and sizes["int8-dynamic"] < sizes["none"]


# ExecuTorch and ONNX Runtime: NCHW float32 in, int32 symbols out, both run here (executorch.runtime with XNNPACK,
# onnxruntime's CPU provider); their manifests and reports are checked in full.
def _nchw_default_fp32(runtime: str):
    def check(lowered, result, module, inputs, tmp_path, caught):
        assert lowered.input.to_dict() == {
            "name": "image",
            "shape": [1, 3, 224, 224],
            "dtype": "float32",
            "layout": "NCHW",
            "quantization": None,
        }
        assert lowered.output.to_dict() == {
            "name": "symbols",
            "shape": [1, 48, 28, 28],
            "dtype": "int32",
            "layout": "NCHW",
            "quantization": None,
        }
        assert result.runtime == runtime
        compared = []
        for got, want, x in zip(result.outputs, eager(module, inputs), inputs):
            assert got.dtype == np.int32 and got.shape == want.shape
            normalised = module.normalize(torch.from_numpy(x))
            compared.append((got[0], want[0], eager_unrounded(module.encoder, module.medians, normalised)))
        # every symbol as eager's, except where eager's value sat on a rounding tie (runtime/symbol_check.py)
        c = compare_many(compared)
        assert c.unexplained == 0, c.describe()
        assert np.abs(want).max() > 0

    return check


def _executorch_default_fp32(lowered, result, module, inputs, tmp_path, caught):
    _nchw_default_fp32("executorch.runtime")(lowered, result, module, inputs, tmp_path, caught)
    assert lowered.details["xnnpack_delegates"] >= 1  # the convolutions run in XNNPACK


def _nchw_manifest(r, art, split):
    """The whole manifest of a NCHW float32 -> int32 symbols artifact: I/O, latent, tables, files and hashes."""
    m = art.manifest
    eb = split.device.entropy_bottleneck
    assert m["schema"] == "fsplit-artifact/1"
    assert m["input"]["dtype"] == "float32" and m["input"]["normalization_in_graph"] is True
    assert m["input"]["mean"] == list(split.mean) and m["input"]["resize"]["size"] == list(SIZE)
    with torch.no_grad(), one_torch_thread():
        c, h, w = split.device.encoder(torch.zeros(1, 3, *SIZE)).shape[1:]
    assert (c, h, w) == art.latent_shape
    assert m["output"] == {
        "name": "symbols",
        "kind": "symbols",
        "shape": [1, c, h, w],
        "dtype": "int32",
        "layout": "NCHW",
        "quantization": None,
    }
    assert len(m["latent"]["medians"]) == c
    np.testing.assert_allclose(m["latent"]["medians"], eb.medians().numpy(), rtol=0, atol=1e-6)
    want_hash = CodecTables.from_arrays(*eb.tables(), eb.precision).content_hash
    assert m["tables"]["content_hash"] == want_hash == art.tables().content_hash
    encoder_file = m["files"]["encoder"]
    on_disk = {p.name for p in r.path.iterdir()} - {"manifest.json"}
    assert set(m["sha256"]) == on_disk >= {"report.json", "report.md", "tables.fsct", encoder_file}
    for name, digest in m["sha256"].items():
        assert sha256_path(r.path / name) == digest
    assert m["tool_versions"]["torch"] == torch.__version__
    assert "server" not in m["files"] or m["files"]["server"] == "server.onnx"


def _fp32_only_ties(r, compared):
    """fp32: every symbol as eager's, except where eager's value sat on a rounding tie (runtime/symbol_check.py)."""
    if r.quantization == "none":
        c = compare_many(compared)
        assert c.unexplained == 0, (r.target, c.describe())


def _executed_report(r, report):
    m = report["metrics"]
    assert m == r.metrics
    assert m["symbols_total"] > 0 and 0 <= m["symbol_flip_fraction"] <= 1
    assert m["bpp_reference"] > 0 and m["bpp_artifact"] > 0
    if r.quantization == "none":
        assert m["symbol_flip_fraction"] <= 1e-3 and report["targets"] is None
    else:
        assert set(report["targets"]) == {"symbol_flip_fraction", "bpp_relative_change", "top1_agreement_drop_pp"}
        assert any("calibration" in n for n in report["notes"])
    md = (r.path / "report.md").read_text()
    assert "symbols differing" in md and r.target in md


def _int8_smaller(sizes):
    assert sizes["int8"] < sizes["none"]


def _flows() -> dict[str, ExportFlow]:
    from fsplit_mobile.export.backends import coreml, executorch, onnx, tflite

    return {
        "coreml": ExportFlow(
            target="coreml",
            backend=coreml.CoreMLBackend,
            quants=("none", "int8", "int8-weights"),
            layout="NCHW",
            executes=False,
            tools=("coremltools",),
            rejects=("int8-dynamic", "int8-weights"),
            conversion_error=coreml.conversion_error,
            op_errors=(
                (NotImplementedError("Unsupported fx node linalg_det, kind linalg_det"), "linalg_det"),
                (NotImplementedError("PyTorch convert function for op 'fft_rfft2' not implemented."), "fft_rfft2"),
            ),
            failure="Core ML conversion failed",
            unsupported_exact="linalg_det",
            unsupported_hint="executorch, tflite or onnx",
            default_inputs=lambda: [np.zeros((1, 3, 224, 224), np.float32)],
            check_default_fp32=_coreml_default_fp32,
            check_manifest=_coreml_manifest,
            check_report=_coreml_report,
            check_sizes=_coreml_sizes,
            marks=(
                pytest.mark.skipif(sys.platform == "darwin", reason="these tests check the Linux (spec-only) path"),
            ),
        ),
        "tflite": ExportFlow(
            target="tflite",
            backend=tflite.LiteRTBackend,
            quants=("none", "int8", "int8-dynamic"),
            layout="NHWC",
            executes=True,
            tools=("litert-torch", "ai-edge-litert", "torch"),
            rejects=("int8-weights", "int8-dynamic"),
            conversion_error=tflite.conversion_error,
            op_errors=(
                (
                    RuntimeError("Lowering not found: aten.special_i0e.default\n\nWhile executing ..."),
                    "aten.special_i0e.default",
                ),
                (RuntimeError("loc(x): error: failed to legalize operation 'stablehlo.fft'"), "stablehlo.fft"),
            ),
            failure="LiteRT conversion failed",
            unsupported_hint="executorch or onnx",
            default_inputs=lambda: canonical((224, 224)),
            check_default_fp32=_litert_default_fp32,
            check_manifest=_litert_manifest,
            check_report=_litert_report,
            check_sizes=_litert_sizes,
        ),
        "executorch": ExportFlow(
            target="executorch",
            backend=executorch.ExecuTorchBackend,
            quants=("none", "int8"),
            layout="NCHW",
            executes=True,
            tools=("executorch", "torchao", "torch"),
            rejects=("int8-dynamic", "supported: none, int8"),
            op_errors=(
                (RuntimeError("Missing out variants: {'aten::_linalg_det'}"), "aten::_linalg_det"),
                (RuntimeError("Operator aten.histc.default is not Aten Canonical"), "aten.histc.default"),
            ),
            unsupported_exact="aten._linalg_det.default",
            unsupported_hint="no XNNPACK delegate and no portable out-variant kernel",
            default_artifact=True,
            check_default_fp32=_executorch_default_fp32,
            check_manifest=_nchw_manifest,
            check_symbols=_fp32_only_ties,
            check_report=_executed_report,
            check_sizes=_int8_smaller,
        ),
        "onnx": ExportFlow(
            target="onnx",
            backend=onnx.OnnxBackend,
            quants=("none", "int8"),
            layout="NCHW",
            executes=True,
            tools=("onnx", "onnxruntime", "onnxscript", "torch"),
            rejects=("int8-weights", "supported: none, int8"),
            op_errors=(
                (
                    RuntimeError("No ONNX function found for <OpOverload(op='aten.histc', overload='default')>"),
                    "aten.histc",
                ),
                (
                    RuntimeError("Unsupported FX nodes: target=torch.ops.aten.special_i0e.default"),
                    "aten.special_i0e.default",
                ),
                (RuntimeError("Could not find an implementation for Det(22) node with name 'n0'"), "Det"),
            ),
            unsupported_layer=WithHistc,
            unsupported_op="histc",
            unsupported_hint="no ONNX translation for it in torch.onnx",
            default_artifact=True,
            check_default_fp32=_nchw_default_fp32("onnxruntime CPUExecutionProvider"),
            check_manifest=_nchw_manifest,
            check_symbols=_fp32_only_ties,
            check_report=_executed_report,
            check_sizes=_int8_smaller,
        ),
    }


FLOWS = _flows()


def executing() -> list[str]:
    """The flows whose runtime runs here."""
    return [name for name, f in FLOWS.items() if f.executes]


# ---- shared end-to-end exports -----------------------------------------------------------------------------------
_EXPORTS: dict[str, tuple] = {}


def export_case(tmp_path_factory, case: str):
    """(summary, split, out) of one `fsplit_mobile.export` of CASES[case]'s small checkpoint to every flow's target
    and quantizations (one shared preparation), once per test session."""
    if case not in _EXPORTS:
        arch, recipe = CASES[case]
        tmp = tmp_path_factory.mktemp(f"flows-{case}")
        ckpt = make_checkpoint(tmp / "model.pt", arch)
        quants = sorted({q for f in FLOWS.values() for q in f.quants})
        summary = api.export(list(FLOWS), quants, recipe=recipe, checkpoint=ckpt, input_size=SIZE, out=tmp / "art")
        _EXPORTS[case] = (summary, load_checkpoint(ckpt), tmp / "art")
    return _EXPORTS[case]


_DEFAULT: dict[str, tuple] = {}


def default_export(tmp_path_factory) -> tuple[ExportSummary, Path]:
    """(summary, out) of the bundled FrankenSplit model's export (recipe frankensplit_lite0, 224x224) to ExecuTorch
    and ONNX, fp32 and int8, once per test session: tests/export/test_export_default.py checks it; the contract's fp32
    test verifies its fp32 files again for the flows with `default_artifact`."""
    if "frankensplit-lite0" not in _DEFAULT:
        out = tmp_path_factory.mktemp("default")
        summary = api.export(
            ["executorch", "onnx"], ["none", "int8"], recipe=RECIPES / "frankensplit_lite0.toml", out=out
        )
        _DEFAULT["frankensplit-lite0"] = (summary, out)
    return _DEFAULT["frankensplit-lite0"]


def flow_summary(summary: ExportSummary, flow: ExportFlow) -> ExportSummary:
    """The part of a shared export's summary that is `flow`'s: its target in its quantizations (the shared export
    also reports, as failed, each other flow's quantization that this target does not support)."""
    mine = [r for r in summary.results if r.target == flow.target and r.quantization in flow.quants]
    return ExportSummary(summary.model_id, summary.out_dir, mine)
