"""The export contract (issue 21 item 5): every test here runs over every CPU target's flow (tests/export_flows.py,
one `ExportFlow` per target: how to export to it, how its artifact runs or is checked here). Covered: converter
errors that name the op, refused quantizations, the bundled FrankenSplit encoder lowered in fp32, unsupported
ops, and end-to-end exports of a factorized-prior and an entropic-student checkpoint (manifests, the runtime's
symbols against eager where the runtime runs here, reports). The flows: Core ML, LiteRT, ExecuTorch and ONNX Runtime.
What only one target has is in its own file (test_export_coreml.py, test_export_tflite.py; the bundled default
model's ExecuTorch and ONNX artifacts: test_export_default.py)."""

import json
import warnings

import numpy as np
import pytest
import torch

from export_flows import (
    CASES,
    FLOWS,
    SIZE,
    artifact_lowered,
    default_export,
    executing,
    export_case,
    flow_summary,
    lower,
)
from export_support import EVAL_DIR, eager_unrounded
from fsplit_mobile.codec import decode_latent, encode_latent
from fsplit_mobile.export import stages
from fsplit_mobile.export.backends.base import Program
from fsplit_mobile.export.errors import ExportError, UnsupportedOpError, UnsupportedQuantizationError
from fsplit_mobile.export.recipe import RECIPES_DIR, load_recipe
from fsplit_mobile.export.request import ExportRequest
from fsplit_mobile.models.checkpoint import load_checkpoint
from fsplit_mobile.runtime import Artifact, open_encoder
from fsplit_mobile.runtime.preprocess import load_rgb


def _over(names):
    """Parametrise a test over these flows (one parameter per flow, with its marks)."""
    return pytest.mark.parametrize("flow", [pytest.param(FLOWS[n], id=n, marks=FLOWS[n].marks) for n in names])


flows = _over(FLOWS)
executing_flows = _over(executing())


# ---- units -----------------------------------------------------------------------------------------------------
@flows
def test_converter_errors_name_the_op(flow):
    for cause, op in flow.op_errors:
        err = flow.convert_error(cause)
        assert isinstance(err, UnsupportedOpError)
        assert (err.op, err.target) == (op, flow.target) and err.hint
    err = flow.convert_error(ValueError("odd\nmore"))
    assert type(err) is ExportError and str(err) == f"{flow.failure_prefix}: odd"


@flows
def test_rejects_quantization_it_cannot_do(flow):
    if flow.rejects is None:
        pytest.skip(f"{flow.target} supports every quantization")
    quant, names = flow.rejects
    req = ExportRequest("m", flow.target, quant, (64, 64), latent_shape=(48, 8, 8))
    with pytest.raises(UnsupportedQuantizationError, match=names):
        stages.check_request(flow.backend(), req)
    assert flow.backend().can_execute() is flow.executes


# ---- direct exports --------------------------------------------------------------------------------------------
@pytest.mark.slow
@flows
def test_default_model_fp32(flow, tmp_path, tmp_path_factory):
    """The FrankenSplit encoder lowered in fp32 at 224x224 and verified: what the file and the runtime say. A flow
    with `default_artifact` verifies the fp32 file the shared export of that model wrote (default_export, checked
    by test_export_default.py) rather than lowering the encoder once more."""
    split = load_checkpoint(load_recipe(RECIPES_DIR / "frankensplit_lite0.toml").checkpoint)
    module = split.device.export_module("symbols", (split.mean, split.std)).eval()
    if flow.default_artifact:
        summary, _ = default_export(tmp_path_factory)
        (r,) = [r for r in summary.results if (r.target, r.quantization) == (flow.target, "none")]
        assert r.ok, r.error
        exporter, stage_dir, caught = flow.backend(), r.path, []
        lowered, req = artifact_lowered(stage_dir)
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exporter, lowered, req = lower(flow.backend(), tmp_path, module, (224, 224))
        stage_dir = tmp_path
    assert (lowered.output.name, lowered.output.dtype) == ("symbols", "int32")
    inputs = flow.default_inputs()
    result = stages.verify(exporter, stage_dir, lowered, inputs, req)
    assert result.executed is flow.executes
    flow.check_default_fp32(lowered, result, module, inputs, stage_dir, caught)


@pytest.mark.slow
@flows
def test_unsupported_op_names_op_target_and_hint(flow, tmp_path):
    req = ExportRequest("m", flow.target, "none", (16, 16), output="latent", latent_shape=(3, 16, 16))
    exporter = flow.backend()
    req = stages.check_request(exporter, req)
    captured = stages.capture(exporter, flow.unsupported_layer(), torch.zeros(1, 3, 16, 16), req)
    with pytest.raises(UnsupportedOpError) as info:
        stages.lower(exporter, Program(captured), tmp_path, req)
    assert flow.unsupported_op in info.value.op and info.value.target == flow.target
    if flow.unsupported_exact is not None:
        assert info.value.op == flow.unsupported_exact
    assert flow.unsupported_hint in str(info.value)
    assert not (tmp_path / exporter.encoder_file).exists()


# ---- end to end through fsplit_mobile.export ----------------------------------------------------------------------
@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    return export_case(tmp_path_factory, request.param)


@pytest.mark.slow
@flows
def test_artifacts_exported_and_manifests(flow, exported):
    summary, split, out = exported
    summary = flow_summary(summary, flow)
    assert summary.ok, [r.error for r in summary.results]
    assert sorted(r.quantization for r in summary.results) == sorted(flow.quants)
    assert not list(out.glob("*.partial"))
    encoder_file = flow.backend.encoder_file
    for r in summary.results:
        assert r.executed is flow.executes and r.path == out / f"{flow.target}-{r.quantization}"
        art = Artifact.open(r.path)  # validates schema, files and sha256s
        m = art.manifest
        assert (m["target"], m["quantization"], m["files"]["encoder"]) == (flow.target, r.quantization, encoder_file)
        shape = [1, 3, *SIZE] if flow.layout == "NCHW" else [1, *SIZE, 3]
        assert m["input"]["shape"] == shape and m["input"]["layout"] == flow.layout
        assert set(flow.tools) <= set(m["tool_versions"])
        flow.check_manifest(r, art, split)


@pytest.mark.slow
@executing_flows
def test_runtime_symbols_match_eager_and_decode(flow, exported):
    summary, split, _ = exported
    mean = torch.tensor(split.mean).reshape(1, 3, 1, 1)
    std = torch.tensor(split.std).reshape(1, 3, 1, 1)
    images = [load_rgb(p, SIZE) for p in sorted(EVAL_DIR.iterdir())[:2]]
    medians = split.device.entropy_bottleneck.medians()
    for r in flow_summary(summary, flow).results:
        art = Artifact.open(r.path)
        encoder, tables = open_encoder(art), art.tables()
        compared = []
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
            compared.append((got, want, eager_unrounded(split.device.encoder, medians, (x - mean) / std)))
        flow.check_symbols(r, compared)


@pytest.mark.slow
@flows
def test_reports(flow, exported):
    summary, _, _ = exported
    sizes = {}
    for r in flow_summary(summary, flow).results:
        report = json.loads((r.path / "report.json").read_text())
        assert report["executed"] is flow.executes and report["target"] == flow.target
        flow.check_report(r, report)
        sizes[r.quantization] = r.size_bytes
    flow.check_sizes(sizes)
