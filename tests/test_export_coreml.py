"""Core ML target: exports of the bundled default model, a factorized-prior and an entropic-student encoder
(fp32, int8-weights, W8A8), validated by reloading the .mlpackage spec (Core ML cannot predict on Linux, and
the reports must say so), with manifests, the int32 symbol tail and unsupported-op errors."""

import json
import sys
import warnings

import numpy as np
import pytest
import torch

from export_support import RECIPES, make_checkpoint
from fsplit_mobile.export import api, stages
from fsplit_mobile.export.backends.base import Program
from fsplit_mobile.export.backends.coreml import (
    INT32_SAFE_MAX,
    INT32_SAFE_MIN,
    NOT_EXECUTED,
    ClampedSymbols,
    CoreMLBackend,
    conversion_error,
    inspect_package,
)
from fsplit_mobile.export.base import (
    ExportError,
    ExportRequest,
    LoweredModel,
    TensorSpec,
    UnsupportedOpError,
    UnsupportedQuantizationError,
    VerificationError,
)
from fsplit_mobile.export.recipe import RECIPES_DIR, load_recipe
from fsplit_mobile.models import EntropicStudentEncoder, ExportableEncoder, FrankenSplitEncoder, bake_gdn
from fsplit_mobile.models.checkpoint import load_checkpoint
from fsplit_mobile.runtime import Artifact, EncoderUnavailableError, open_encoder
from fsplit_mobile.runtime.artifact import sha256_path

pytestmark = pytest.mark.skipif(sys.platform == "darwin", reason="these tests check the Linux (spec-only) path")

SYMBOL_TAIL = ["clip:float32", "round:float32", "cast:int32"]


def _module(encoder, medians, output="symbols"):
    norm = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    return ExportableEncoder(bake_gdn(encoder).eval(), medians, output, norm).eval()


def _lower(tmp_path, module, size, quant="none", output="symbols", options=None, calib=()):
    with torch.no_grad():
        latent = tuple(module.encoder(torch.zeros(1, 3, *size)).shape[1:])
    req = ExportRequest("test", "coreml", quant, size, output=output, latent_shape=latent, options=options or {})
    exporter = CoreMLBackend()
    req = stages.check_request(exporter, req)
    captured = stages.capture(exporter, module, torch.zeros(1, 3, *size), req)
    quantized = stages.quantize(exporter, captured, list(calib), req)
    return exporter, stages.lower(exporter, Program(captured, quantized), tmp_path, req), req


# ---- units -----------------------------------------------------------------------------------------------------
def test_clamped_symbols_equal_eager_and_make_the_cast_defined():
    torch.manual_seed(0)
    module = _module(FrankenSplitEncoder((8, 8, 8)), torch.randn(8))
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        np.testing.assert_array_equal(ClampedSymbols(module)(x).numpy(), module(x).numpy())
        for layer in (module.encoder.layers[-1].conv2, module.encoder.layers[-1].skip):  # latent of ~1e12
            layer.weight.mul_(1e12)
            layer.bias.mul_(1e12)
        clamped = ClampedSymbols(module)(x).numpy()
    assert clamped.dtype == np.int32
    assert clamped.max() == int(INT32_SAFE_MAX) and clamped.min() == int(INT32_SAFE_MIN)
    assert np.float32(INT32_SAFE_MAX) == INT32_SAFE_MAX and INT32_SAFE_MAX < 2**31  # exact in fp32, fits int32
    assert module.output == "symbols"  # the wrapped module itself is left as it was


def test_clamped_symbols_needs_a_symbols_module():
    with pytest.raises(ExportError, match="output='symbols'"):
        ClampedSymbols(_module(FrankenSplitEncoder((8, 8, 8)), torch.zeros(8), output="latent"))


def test_converter_errors_name_the_op():
    err = conversion_error(NotImplementedError("Unsupported fx node linalg_det, kind linalg_det"))
    assert isinstance(err, UnsupportedOpError) and (err.op, err.target) == ("linalg_det", "coreml") and err.hint
    err = conversion_error(NotImplementedError("PyTorch convert function for op 'fft_rfft2' not implemented."))
    assert isinstance(err, UnsupportedOpError) and err.op == "fft_rfft2"
    err = conversion_error(ValueError("odd\nmore"))
    assert type(err) is ExportError and str(err) == "Core ML conversion failed: odd"


def test_rejects_what_it_cannot_do():
    exporter = CoreMLBackend()
    with pytest.raises(UnsupportedQuantizationError, match="int8-weights"):
        stages.check_request(exporter, ExportRequest("m", "coreml", "int8-dynamic", (64, 64), latent_shape=(8, 8, 8)))
    req = ExportRequest("m", "coreml", "none", (32, 32), latent_shape=(8, 4, 4), options={"compute_precision": "int4"})
    with pytest.raises(ExportError, match="compute_precision"):
        stages.check_request(exporter, req)
    assert exporter.can_execute() is False


# ---- direct exports --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_default_model_fp32_spec_and_no_round_overflow(tmp_path):
    split = load_checkpoint(load_recipe(RECIPES_DIR / "frankensplit_lite0.toml").checkpoint)
    module = split.device.export_module("symbols", (split.mean, split.std)).eval()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exporter, lowered, req = _lower(tmp_path, module, (224, 224))
    assert not [w for w in caught if "overflow" in str(w.message)]  # fp32 compute: no fp16 cast chain
    inputs = [np.zeros((1, 3, 224, 224), np.float32)]
    result = stages.verify(exporter, tmp_path, lowered, inputs, req)
    assert result.executed is False and result.reason == NOT_EXECUTED and result.outputs is None
    checks = result.checks
    assert checks["inputs"] == [{"name": "image", "shape": [1, 3, 224, 224], "dtype": "float32"}]
    assert checks["outputs"] == [{"name": "symbols", "shape": [1, 48, 28, 28], "dtype": "int32"}]
    assert checks["tail"][-3:] == SYMBOL_TAIL and checks["opset"] == "CoreML7"
    assert checks["ops"]["conv"] == 9 and "int8" not in checks["weight_dtypes"]
    assert checks["size_bytes"] > 4 * 141_000  # fp32 weights of the 141k-parameter encoder
    import coremltools as ct

    reloaded = ct.models.MLModel(str(tmp_path / "encoder.mlpackage"), skip_model_load=True)
    assert reloaded.user_defined_metadata["fsplit.output"] == "symbols"


@pytest.mark.slow
def test_fp16_compute_keeps_the_symbol_tail_in_fp32(tmp_path):
    torch.manual_seed(0)
    module = _module(FrankenSplitEncoder((16, 24, 16)), torch.randn(16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, lowered, _ = _lower(tmp_path, module, (64, 64), options={"compute_precision": "float16"})
    assert not [w for w in caught if "overflow" in str(w.message)]
    facts = lowered.details
    assert facts["tail"] == ["sub:float32"] + SYMBOL_TAIL
    assert facts["weight_dtypes"].get("float16", 0) > 0  # the convs themselves run in fp16


@pytest.mark.slow
def test_spec_validation_catches_mismatches(tmp_path):
    torch.manual_seed(0)
    module = _module(FrankenSplitEncoder((16, 24, 16)), torch.zeros(16))
    exporter, lowered, req = _lower(tmp_path, module, (64, 64))
    path = tmp_path / "encoder.mlpackage"
    wrong_name = LoweredModel(lowered.files, lowered.input, TensorSpec("latent", lowered.output.shape, "int32"))
    with pytest.raises(VerificationError, match="outputs"):
        exporter.checks(path, wrong_name, req)
    wrong_shape = LoweredModel(lowered.files, TensorSpec("image", (1, 3, 32, 32), "float32"), lowered.output)
    with pytest.raises(VerificationError, match="inputs"):
        exporter.checks(path, wrong_shape, req)
    as_int8 = ExportRequest("test", "coreml", "int8-weights", (64, 64), latent_shape=req.latent_shape)
    with pytest.raises(VerificationError, match="no int8 weights"):
        exporter.checks(path, lowered, as_int8)


@pytest.mark.slow
def test_latent_output(tmp_path):
    module = _module(EntropicStudentEncoder((24, 16, 8)), torch.zeros(8), output="latent")
    exporter, lowered, req = _lower(tmp_path, module, (64, 64), output="latent")
    result = stages.verify(exporter, tmp_path, lowered, [np.zeros((1, 3, 64, 64), np.float32)], req)
    assert result.checks["outputs"] == [{"name": "latent", "shape": [1, 8, 15, 15], "dtype": "float32"}]
    assert {"abs", "real_div"} <= set(result.checks["ops"])  # the baked simplified GDN
    assert "clip" not in result.checks["ops"] and "round" not in result.checks["ops"]


@pytest.mark.slow
def test_unsupported_op_names_op_target_and_hint(tmp_path):
    class WithDeterminant(torch.nn.Module):
        def forward(self, x):
            return x + torch.linalg.det(x[0, 0, :4, :4])

    req = ExportRequest("m", "coreml", "none", (16, 16), output="latent", latent_shape=(3, 16, 16))
    exporter = CoreMLBackend()
    req = stages.check_request(exporter, req)
    captured = stages.capture(exporter, WithDeterminant(), torch.zeros(1, 3, 16, 16), req)
    with pytest.raises(UnsupportedOpError) as info:
        stages.lower(exporter, Program(captured), tmp_path, req)
    assert info.value.op == "linalg_det" and info.value.target == "coreml"
    assert "executorch, tflite or onnx" in str(info.value)
    assert not (tmp_path / "encoder.mlpackage").exists()


# ---- end to end through fsplit_mobile.export ----------------------------------------------------------------------
QUANTS = ["none", "int8", "int8-weights"]
SIZE = (64, 64)
CASES = {
    "factorized-prior": ("bmshj2018-factorized", RECIPES / "bmshj2018_factorized.toml"),
    "entropic-student": ("entropic-student", RECIPES / "entropic_student.toml"),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    arch, recipe = CASES[request.param]
    tmp = tmp_path_factory.mktemp(f"coreml-{request.param}")
    ckpt = make_checkpoint(tmp / "model.pt", arch)
    summary = api.export("coreml", QUANTS, recipe=recipe, checkpoint=ckpt, input_size=SIZE, out=tmp / "art")
    return summary, load_checkpoint(ckpt), tmp / "art"


@pytest.mark.slow
def test_artifacts_exported_and_manifests(exported):
    summary, split, out = exported
    assert summary.ok, [r.error for r in summary.results]
    assert sorted(r.quantization for r in summary.results) == sorted(QUANTS)
    assert not list(out.glob("*.partial"))
    for r in summary.results:
        assert r.executed is False and r.path == out / f"coreml-{r.quantization}"
        art = Artifact.open(r.path)  # validates schema, files and sha256s (of the package dir)
        m = art.manifest
        assert (m["target"], m["quantization"], m["files"]["encoder"]) == (
            "coreml",
            r.quantization,
            "encoder.mlpackage",
        )
        assert (r.path / "encoder.mlpackage").is_dir()
        assert m["sha256"]["encoder.mlpackage"] == sha256_path(r.path / "encoder.mlpackage")
        assert m["input"]["shape"] == [1, 3, *SIZE] and m["input"]["layout"] == "NCHW"
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
        assert "coremltools" in m["tool_versions"]
        with pytest.raises(EncoderUnavailableError, match="cannot execute Core ML on this platform"):
            open_encoder(art)


@pytest.mark.slow
def test_packages_hold_what_the_quantization_says(exported):
    summary, _, _ = exported
    facts = {r.quantization: inspect_package(r.path / "encoder.mlpackage") for r in summary.results}
    for quant, f in facts.items():
        assert f["inputs"][0]["name"] == "image" and f["outputs"][0]["name"] == "symbols"
        assert f["tail"][-3:] == SYMBOL_TAIL, (quant, f["tail"])
    assert "int8" not in facts["none"]["weight_dtypes"]
    assert facts["int8-weights"]["weight_dtypes"]["int8"] > 0 and "quantize" not in facts["int8-weights"]["ops"]
    assert facts["int8"]["weight_dtypes"]["int8"] > 0
    assert facts["int8"]["ops"]["quantize"] > 0 and facts["int8"]["ops"]["dequantize"] > 0
    assert facts["int8-weights"]["size_bytes"] < facts["none"]["size_bytes"]
    assert facts["int8"]["size_bytes"] < facts["none"]["size_bytes"]


@pytest.mark.slow
def test_reports_say_not_executed(exported):
    summary, _, _ = exported
    for r in summary.results:
        report = json.loads((r.path / "report.json").read_text())
        assert report["executed"] is False and report["target"] == "coreml"
        assert report["metrics"] is None and r.metrics is None
        assert report["checks"]["outputs"][0]["dtype"] == "int32"
        assert NOT_EXECUTED in (r.path / "report.md").read_text()


# ---- the bundled default model through fsplit_mobile.export --------------------------------------------------------
@pytest.mark.slow
def test_default_model_coreml_as_is(tmp_path):
    """`fsplit-export --target coreml` with no options: the bundled model, spec-validated, sizes as expected."""
    summary = api.export("coreml", ["none", "int8-weights", "int8"], out=tmp_path)
    assert summary.ok, [r.error for r in summary.results]
    sizes = {r.quantization: r.size_bytes for r in summary.results}
    assert sizes["int8-weights"] <= 0.30 * sizes["none"]
    for r in summary.results:
        assert r.executed is False
        m = Artifact.open(r.path).manifest
        assert m["model_id"] == "bottleneck-units-lite0-b16" and m["output"]["shape"] == [1, 320, 7, 7]
