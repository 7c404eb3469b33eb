"""What only the Core ML target has (its contract, over every target, is test_export_contract.py with the coreml
flow of export_flows.py): the int32 symbol tail (clamped, kept fp32 under fp16 compute), its spec checks, a latent
output, what each quantization puts in the .mlpackage (Core ML cannot predict on Linux: the spec is reloaded),
and the bundled default model exported as is."""

import sys
import warnings

import numpy as np
import pytest
import torch

from export_flows import CASES, COREML_SYMBOL_TAIL, FLOWS, export_case, flow_summary, make_module
from export_flows import lower as lower_with
from fsplit_mobile.export import api, stages
from fsplit_mobile.export.backends.coreml import (
    INT32_SAFE_MAX,
    INT32_SAFE_MIN,
    ClampedSymbols,
    CoreMLBackend,
    inspect_package,
)
from fsplit_mobile.export.errors import ExportError, VerificationError
from fsplit_mobile.export.request import ExportRequest
from fsplit_mobile.export.results import LoweredModel, TensorSpec
from fsplit_mobile.models import EntropicStudentEncoder, FrankenSplitEncoder
from fsplit_mobile.runtime import Artifact

pytestmark = pytest.mark.skipif(sys.platform == "darwin", reason="these tests check the Linux (spec-only) path")

SYMBOL_TAIL = COREML_SYMBOL_TAIL
_module = make_module


def _lower(tmp_path, module, size, quant="none", output="symbols", options=None):
    return lower_with(CoreMLBackend(), tmp_path, module, size, quant, output, options)


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


def test_rejects_an_unknown_compute_precision():
    # the refused quantization and can_execute: test_export_contract.py
    exporter = CoreMLBackend()
    req = ExportRequest("m", "coreml", "none", (32, 32), latent_shape=(8, 4, 4), options={"compute_precision": "int4"})
    with pytest.raises(ExportError, match="compute_precision"):
        stages.check_request(exporter, req)


# ---- direct exports --------------------------------------------------------------------------------------------
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


# ---- end to end through fsplit_mobile.export (the exports the contract suite shares) --------------------------------
@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    summary, split, out = export_case(tmp_path_factory, request.param)
    return flow_summary(summary, FLOWS["coreml"]), split, out


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


# ---- the bundled default model through fsplit_mobile.export --------------------------------------------------------
@pytest.mark.slow
def test_default_model_coreml_as_is(tmp_path):
    """`fsplit-export --target coreml` with no options: the bundled model, spec-validated, sizes as expected."""
    from fsplit_mobile.export.recipe import DEFAULT_RECIPE, load_recipe
    from fsplit_mobile.models.bundled import load_rate_points

    default = load_recipe(DEFAULT_RECIPE)
    model = next(iter(load_rate_points(with_server=False).values()))
    latent = list(model.latent_shape())
    summary = api.export("coreml", ["none", "int8-weights", "int8"], out=tmp_path)
    assert summary.ok, [r.error for r in summary.results]
    sizes = {r.quantization: r.size_bytes for r in summary.results}
    # int8-weights stores every weight tensor of at least weight_threshold (2048) elements in one byte instead of
    # four (plus per-channel scales): the package shrinks by nearly 3 bytes per such element. (The units' 369 M-MAC
    # encoder shrank to 0.30x; the light default's tensors are mostly under the threshold.)
    big = sum(p.numel() for p in model.device.encoder.parameters() if p.dim() > 1 and p.numel() >= 2048)
    assert big > 0 and sizes["none"] - sizes["int8-weights"] >= 0.9 * 3 * big, (sizes, big)
    for r in summary.results:
        assert r.executed is False
        m = Artifact.open(r.path).manifest
        assert m["model_id"] == default.model_id and m["output"]["shape"] == [1, *latent]
