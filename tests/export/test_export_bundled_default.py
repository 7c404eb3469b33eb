"""The bundled bottleneck units after block 16 of EfficientNet-Lite0 (recipe lite0_b16_units; the default before issue
20) exported: fp32 ExecuTorch, ONNX and LiteRT give the eager symbols (the LiteRT batch-norm fix of issue 10 is what
makes LiteRT exact on the teacher head), ONNX int8 meets the int8 fidelity targets (symbol flips <= 2 %, bpp change
<= 2 %, agreement drop <= 1 pp) on the 188 held-out samples, and the manifest names the model, its 320x7x7 symbols
and a server part that reproduces the eager server's logits."""

import json

import numpy as np
import pytest
import torch

from fsplit_mobile.evaluation.images import bundled_images
from fsplit_mobile.export import api
from fsplit_mobile.export.backends.onnx import cpu_has_vnni
from fsplit_mobile.models.bundled import BUNDLED_UNITS, load_rate_points
from fsplit_mobile.runtime import Artifact, open_encoder
from fsplit_mobile.runtime.encoders import open_backend
from fsplit_mobile.runtime.preprocess import load_rgb

pytestmark = pytest.mark.slow
UNITS_RECIPE = "lite0_b16_units"  # named: the bundled default is light-lite0 since issue 20


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundled-default")
    summary = api.export(["executorch", "onnx", "tflite"], ["none"], recipe=UNITS_RECIPE, out=out)
    int8 = api.export(["onnx", "executorch", "tflite"], ["int8"], recipe=UNITS_RECIPE, out=out)
    return summary, int8


def test_fp32_targets_exact(exported):
    summary, _ = exported
    assert summary.ok, [r.error for r in summary.results]
    assert summary.model_id == "bottleneck-units-lite0-b16"
    for r in summary.results:
        report = json.loads((r.path / "report.json").read_text())
        m = report["metrics"]
        assert report["samples"]["count"] == 188  # 94 held-out photos x 2 views
        # a symbol may move only where eager's value sat within tie_epsilon of a rounding tie
        assert m["symbols_unexplained"] == 0, (r.target, m["symbols_differing"], m["symbols_at_ties"])
        assert m["top1_same_as_reference"] == 1.0, r.target


def _int8_report(int8, target: str) -> dict:
    assert int8.ok, [r.error for r in int8.results]
    (r,) = [r for r in int8.results if r.target == target]
    return json.loads((r.path / "report.json").read_text())


@pytest.mark.skipif(
    cpu_has_vnni() is False,
    reason="x86 host without VNNI: ONNX Runtime's u8s8 kernels saturate, so the recipe exports with reduce_range "
    "(7-bit weights), which misses the int8 targets on the default (measured: 2.89 % flips, -9.0 pp; export.md); "
    "the ExecuTorch/LiteRT int8 tests below cover int8 on every host",
)
def test_onnx_int8_meets_the_int8_targets(exported):
    report = _int8_report(exported[1], "onnx")
    assert all(t["passed"] for t in report["targets"].values()), report["targets"]
    assert report["metrics"]["symbol_flip_fraction"] <= 0.02


@pytest.mark.parametrize("target", ["executorch", "tflite"])
def test_pt2e_int8_keeps_symbols_and_rate(exported, target):
    """ExecuTorch and LiteRT static int8 (PT2E, XNNPACK quantizer) with the recipe's keep_float (normalisation,
    stem, block 0 and the latent layer in float): at most 2 % of the symbols differ and the rate moves by at most
    2 %. With the latent layer alone in float 6 % of the symbols differed (issue 10, third session). Their top-1
    agreement drop (1-3 pp on 188 samples) misses the 1 pp target: the report records it, see export.md."""
    report = _int8_report(exported[1], target)
    targets = report["targets"]
    assert targets["symbol_flip_fraction"]["passed"] and targets["bpp_relative_change"]["passed"], targets
    kept = [n for n in report["notes"] if n.startswith("kept in float")]
    assert kept and "normalize" in kept[0] and "encoder.head.blocks.0" in kept[0], report["notes"]


def test_manifest_and_server_part(exported):
    summary, _ = exported
    model = next(iter(load_rate_points(BUNDLED_UNITS).values()))
    art = Artifact.open(next(r.path for r in summary.results if r.target == "onnx"))
    m = art.manifest
    assert m["model_id"] == "bottleneck-units-lite0-b16" and m["output"]["shape"] == [1, 320, 7, 7]
    assert m["server"] == {"file": "server.onnx", "input": "symbols", "output": "logits", "num_classes": 1000}
    enc = open_encoder(art)
    image = bundled_images("heldout")[0]
    sym = enc.symbols(load_rgb(image, (224, 224)))
    logits = open_backend("onnx", art.file("server")).run(sym[None])
    with torch.no_grad():
        want = model.server(torch.from_numpy(sym[None])).numpy()
    np.testing.assert_allclose(logits, want, rtol=1e-3, atol=1e-3)
