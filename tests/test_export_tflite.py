"""LiteRT/TFLite target: exports of the bundled default model, a factorized-prior and an entropic-student
encoder (fp32, static int8, dynamic-range int8), run in the real ai_edge_litert Interpreter, with manifests,
delegation checks and unsupported-op errors."""

import json
import logging

import numpy as np
import pytest
import torch

from export_support import EVAL_DIR, RECIPES, eager_unrounded, make_checkpoint, one_torch_thread
from fsplit_mobile.codec import decode_latent, encode_latent
from fsplit_mobile.export import api, stages
from fsplit_mobile.export.backends.base import Program
from fsplit_mobile.export.backends.tflite import (
    LiteRTBackend,
    conversion_error,
    float_module_types,
    tensor_quantization,
)
from fsplit_mobile.export.base import (
    ExportError,
    ExportRequest,
    UnsupportedOpError,
    UnsupportedQuantizationError,
)
from fsplit_mobile.export.recipe import RECIPES_DIR, load_recipe
from fsplit_mobile.models import (
    EntropicStudentEncoder,
    ExportableEncoder,
    FactorizedPriorEncoder,
    FrankenSplitEncoder,
    bake_gdn,
)
from fsplit_mobile.models.checkpoint import load_checkpoint
from fsplit_mobile.runtime import Artifact, open_encoder
from fsplit_mobile.runtime.artifact import sha256_path
from fsplit_mobile.runtime.preprocess import load_rgb
from fsplit_mobile.runtime.symbol_check import compare_many

BAKED_GDN = "fsplit_mobile.models.gdn.BakedGDN"
CPU_TAIL = {"CAST", "TRANSPOSE"}  # int32 cast and output transpose: the only ops XNNPACK leaves out


def _canonical(size, n=3):
    """Real held-out images as canonical inputs (NCHW float32, pixel/255)."""
    return [
        np.ascontiguousarray(load_rgb(p, size).astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
        for p in sorted(EVAL_DIR.iterdir())[:n]
    ]


def _module(encoder, medians, output="symbols"):
    norm = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    return ExportableEncoder(bake_gdn(encoder).eval(), medians, output, norm).eval()


def _lower(tmp_path, module, size, quant="none", output="symbols", options=None, calib=()):
    with torch.no_grad():
        latent = tuple(module.encoder(torch.zeros(1, 3, *size)).shape[1:])
    req = ExportRequest("test", "tflite", quant, size, output=output, latent_shape=latent, options=options or {})
    exporter = LiteRTBackend()
    req = stages.check_request(exporter, req)
    captured = stages.capture(exporter, module, torch.zeros(1, 3, *size), req)
    quantized = stages.quantize(exporter, captured, [torch.from_numpy(x) for x in calib], req)
    return exporter, stages.lower(exporter, Program(captured, quantized), tmp_path, req), req


def _training_mode_warnings(caplog) -> list[str]:
    """litert_torch's "Your model is converted in training mode" (it logs it when the module passed is train-mode)."""
    return [r.getMessage() for r in caplog.records if "training mode" in r.getMessage()]


def _eager(module, inputs):
    with torch.no_grad(), one_torch_thread():
        return [module(torch.from_numpy(x)).numpy() for x in inputs]


# ---- units -----------------------------------------------------------------------------------------------------
def test_tensor_quantization_from_interpreter_details():
    assert tensor_quantization({"dtype": np.float32, "quantization": (0.0, 0)}) is None
    assert tensor_quantization({"dtype": np.int32, "quantization": (0.0, 0)}) is None
    q = tensor_quantization({"dtype": np.int8, "quantization": (1 / 255, -128)})
    assert q == {"scale": pytest.approx(1 / 255), "zero_point": -128, "dtype": "int8"}


def test_float_gdn_choice():
    assert float_module_types(bake_gdn(EntropicStudentEncoder())) == (BAKED_GDN,)  # simplified GDN: float
    assert float_module_types(bake_gdn(FactorizedPriorEncoder(16, 24))) == ()  # full GDN stays int8
    assert float_module_types(bake_gdn(FactorizedPriorEncoder(16, 24)), True) == (BAKED_GDN,)
    assert float_module_types(bake_gdn(EntropicStudentEncoder()), False) == ()
    assert float_module_types(FrankenSplitEncoder(), True) == ()
    with pytest.raises(ExportError, match="float_gdn"):
        float_module_types(FrankenSplitEncoder(), "yes")


def test_converter_errors_name_the_op():
    err = conversion_error(RuntimeError("Lowering not found: aten.special_i0e.default\n\nWhile executing ..."))
    assert isinstance(err, UnsupportedOpError)
    assert (err.op, err.target) == ("aten.special_i0e.default", "tflite") and err.hint
    err = conversion_error(RuntimeError("loc(x): error: failed to legalize operation 'stablehlo.fft'"))
    assert isinstance(err, UnsupportedOpError) and err.op == "stablehlo.fft"
    err = conversion_error(ValueError("something else\nmore"))
    assert type(err) is ExportError and str(err) == "LiteRT conversion failed: something else"


def test_rejects_quantization_it_cannot_do():
    req = ExportRequest("m", "tflite", "int8-weights", (64, 64), latent_shape=(48, 8, 8))
    with pytest.raises(UnsupportedQuantizationError, match="int8-dynamic"):
        stages.check_request(LiteRTBackend(), req)


# ---- direct exports --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_default_model_fp32_symbols_bit_exact(tmp_path):
    split = load_checkpoint(load_recipe(RECIPES_DIR / "frankensplit_lite0.toml").checkpoint)
    module = split.device.export_module("symbols", (split.mean, split.std)).eval()
    exporter, lowered, req = _lower(tmp_path, module, (224, 224))
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
    assert lowered.details["xnnpack_partitions"] == 1 and set(lowered.details["ops_on_cpu"]) <= CPU_TAIL
    assert lowered.details["ops"]["ROUND"] == 1
    inputs = _canonical((224, 224))
    result = stages.verify(exporter, tmp_path, lowered, inputs, req)
    assert result.executed and result.runtime == "ai_edge_litert Interpreter"
    compared = []
    for got, want, x in zip(result.outputs, _eager(module, inputs), inputs):
        assert got.dtype == np.int32 and got.shape == want.shape
        normalised = module.normalize(torch.from_numpy(x))
        compared.append((got[0], want[0], eager_unrounded(module.encoder, module.medians, normalised)))
    # rounding survives conversion: every symbol as eager's, except where eager's value sat on a rounding tie
    c = compare_many(compared)
    assert c.unexplained == 0, c.describe()
    assert np.abs(want).max() > 0


@pytest.mark.slow
def test_float_latent_output(tmp_path, caplog):
    torch.manual_seed(0)
    module = _module(FrankenSplitEncoder((16, 24, 16)), torch.zeros(16), output="latent")
    with caplog.at_level(logging.WARNING):
        exporter, lowered, req = _lower(tmp_path, module, (64, 64), output="latent")
    assert not _training_mode_warnings(caplog)
    assert (lowered.output.name, lowered.output.dtype) == ("latent", "float32")
    inputs = _canonical((64, 64), 2)
    result = stages.verify(exporter, tmp_path, lowered, inputs, req)
    for got, want in zip(result.outputs, _eager(module, inputs)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_batch_norm_encoder_fp32_keeps_its_eval_statistics(tmp_path, caplog):
    """An encoder with eval-mode batch norms (the teacher head of the bottleneck units has 49) lowered in fp32 gives
    the eager latent: the graph is marked eval without torchao's train-to-eval batch-norm rewrite, which changed
    what the batch norms compute: it put back the default eps 1e-5 in place of the module's (EfficientNet-Lite0's
    are 1e-3), 0.25 absolute error on its head before the fix."""
    torch.manual_seed(0)
    layers = []
    for c_in, c_out in ((3, 16), (16, 24), (24, 8)):
        bn = torch.nn.BatchNorm2d(c_out, eps=1e-3)  # a TF-ported network's eps; small variances make it matter
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.002, 0.02)
        bn.weight.data.uniform_(0.5, 2)
        bn.bias.data.uniform_(-1, 1)
        layers += [torch.nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), bn, torch.nn.ReLU6()]
    module = _module(torch.nn.Sequential(*layers).eval(), torch.zeros(8), output="latent")
    with caplog.at_level(logging.WARNING):
        exporter, lowered, req = _lower(tmp_path, module, (64, 64), output="latent")
    assert not _training_mode_warnings(caplog)
    inputs = _canonical((64, 64), 2)
    result = stages.verify(exporter, tmp_path, lowered, inputs, req)
    for got, want in zip(result.outputs, _eager(module, inputs)):
        assert np.abs(want).max() > 0.5
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_unsupported_op_names_op_target_and_hint(tmp_path):
    class WithDeterminant(torch.nn.Module):
        def forward(self, x):
            return x + torch.linalg.det(x[0, 0, :4, :4])

    req = ExportRequest("m", "tflite", "none", (16, 16), output="latent", latent_shape=(3, 16, 16))
    exporter = LiteRTBackend()
    req = stages.check_request(exporter, req)
    captured = stages.capture(exporter, WithDeterminant(), torch.zeros(1, 3, 16, 16), req)
    with pytest.raises(UnsupportedOpError) as info:
        stages.lower(exporter, Program(captured), tmp_path, req)
    assert "linalg_det" in info.value.op and info.value.target == "tflite"
    assert "executorch or onnx" in str(info.value)
    assert not (tmp_path / "encoder.tflite").exists()


@pytest.mark.slow
def test_simplified_gdn_kept_float_keeps_one_xnnpack_partition(tmp_path, caplog):
    torch.manual_seed(0)
    module = _module(EntropicStudentEncoder((24, 16, 8)), torch.zeros(8))
    calib = _canonical((64, 64), 4)
    with caplog.at_level(logging.WARNING):
        exporter, lowered, req = _lower(tmp_path / "a", module, (64, 64), "int8", calib=calib)
    assert not _training_mode_warnings(caplog)  # the PT2E-converted graph is marked eval too
    assert lowered.details["xnnpack_partitions"] == 1 and set(lowered.details["ops_on_cpu"]) <= CPU_TAIL
    assert any("GDN layers kept in float" in n for n in lowered.notes)
    # what happens otherwise: the converter makes int8 ABS/DIV, which XNNPACK does not take
    _, quantized_gdn, _ = _lower(tmp_path / "b", module, (64, 64), "int8", options={"float_gdn": False}, calib=calib)
    assert quantized_gdn.details["xnnpack_partitions"] > 1
    assert {"ABS", "DIV"} <= set(quantized_gdn.details["ops_on_cpu"])
    assert any("XNNPACK partitions" in n for n in quantized_gdn.notes)


# ---- end to end through fsplit_mobile.export ----------------------------------------------------------------------
QUANTS = ["none", "int8", "int8-dynamic"]
SIZE = (64, 64)
CASES = {
    "factorized-prior": ("bmshj2018-factorized", RECIPES / "bmshj2018_factorized.toml"),
    "entropic-student": ("entropic-student", RECIPES / "entropic_student.toml"),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    arch, recipe = CASES[request.param]
    tmp = tmp_path_factory.mktemp(f"tflite-{request.param}")
    ckpt = make_checkpoint(tmp / "model.pt", arch)
    summary = api.export("tflite", QUANTS, recipe=recipe, checkpoint=ckpt, input_size=SIZE, out=tmp / "art")
    return summary, load_checkpoint(ckpt), tmp / "art"


@pytest.mark.slow
def test_artifacts_exported_verified_and_manifests(exported):
    from ai_edge_litert.interpreter import Interpreter

    summary, split, out = exported
    assert summary.ok, [r.error for r in summary.results]
    assert sorted(r.quantization for r in summary.results) == sorted(QUANTS)
    assert not list(out.glob("*.partial"))
    eb = split.device.entropy_bottleneck
    for r in summary.results:
        assert r.executed is True and r.path == out / f"tflite-{r.quantization}"
        m = Artifact.open(r.path).manifest  # validates schema, files and sha256s
        assert (m["target"], m["quantization"], m["files"]["encoder"]) == ("tflite", r.quantization, "encoder.tflite")
        assert m["input"]["shape"] == [1, *SIZE, 3] and m["input"]["layout"] == "NHWC"
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
        assert {"litert-torch", "ai-edge-litert", "torch"} <= set(m["tool_versions"])


@pytest.mark.slow
def test_runtime_symbols_match_eager_and_decode(exported):
    summary, split, _ = exported
    mean = torch.tensor(split.mean).reshape(1, 3, 1, 1)
    std = torch.tensor(split.std).reshape(1, 3, 1, 1)
    images = [load_rgb(p, SIZE) for p in sorted(EVAL_DIR.iterdir())[:2]]
    for r in summary.results:
        art = Artifact.open(r.path)
        encoder, tables = open_encoder(art), art.tables()
        for rgb in images:
            got = encoder.symbols(rgb)
            x = torch.from_numpy(rgb.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
            with torch.no_grad():
                want = split.device.symbols((x - mean) / std)[0].numpy()
            assert got.dtype == np.int32 and got.shape == want.shape
            assert np.abs(want).max() > 0
            flips = np.mean(got != want)
            assert flips <= (1e-3 if r.quantization == "none" else 0.25), (r.quantization, flips)
            np.testing.assert_array_equal(decode_latent(tables, encode_latent(tables, got)), got)


@pytest.mark.slow
def test_reports_and_delegation(exported):
    summary, _, _ = exported
    sizes = {}
    for r in summary.results:
        report = json.loads((r.path / "report.json").read_text())
        assert report["executed"] is True and report["target"] == "tflite"
        assert report["lowering"]["xnnpack_partitions"] == 1, report["lowering"]
        assert set(report["lowering"]["ops_on_cpu"]) <= CPU_TAIL
        if r.quantization == "none":
            assert r.metrics["symbol_flip_fraction"] <= 1e-3
        else:
            assert any(("int8" in n) for n in report["notes"])
        sizes[r.quantization] = r.size_bytes
    assert sizes["int8"] < sizes["none"] and sizes["int8-dynamic"] < sizes["none"]


# ---- the bundled default model through fsplit_mobile.export --------------------------------------------------------
@pytest.fixture(scope="module")
def default_exported(tmp_path_factory):
    summary = api.export(
        "tflite",
        ["none", "int8", "int8-dynamic"],
        recipe=RECIPES_DIR / "frankensplit_lite0.toml",  # the FrankenSplit-style model (default before issue 10)
        out=tmp_path_factory.mktemp("tflite-default"),
    )
    assert summary.ok, [r.error for r in summary.results]
    return {r.quantization: r for r in summary.results}


@pytest.mark.slow
def test_default_model_exported_fp32_exact_int8_sizes(default_exported):
    results = default_exported
    m = results["none"].metrics  # fp32: a symbol may differ only at a rounding tie (runtime/symbol_check.py)
    assert m["symbols_unexplained"] == 0 and m["symbols_at_ties"] == m["symbols_differing"], m
    print(f"tflite fp32: {m['symbols_differing']} of {m['symbols_total']} symbols differ, all at rounding ties")
    assert results["int8-dynamic"].size_bytes <= 0.30 * results["none"].size_bytes
    assert results["int8"].size_bytes < results["none"].size_bytes
    manifest = Artifact.open(results["int8"].path).manifest
    assert manifest["model_id"] == "frankensplit-lite0" and manifest["input"]["shape"] == [1, 224, 224, 3]
    assert manifest["files"]["server"] == "server.onnx"


@pytest.mark.slow
@pytest.mark.parametrize("quant", ["int8", "int8-dynamic"])
@pytest.mark.parametrize("target", ["symbol_flip_fraction", "bpp_relative_change", "top1_agreement_drop_pp"])
def test_default_model_int8_fidelity_target(default_exported, quant, target):
    """The issue's int8 targets on the bundled model: flips <= 2 %, |bpp change| <= 2 %, agreement drop <= 1 pp."""
    assert default_exported[quant].targets[target]["passed"] is True, default_exported[quant].targets[target]
