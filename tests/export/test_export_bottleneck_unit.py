"""A bottleneck-unit checkpoint exports through the public API (recipe bottleneck_unit_lite0): the device graph is
the frozen teacher head + unit encoder + int32 rounding, the server part is the unit decoder + teacher tail, and
the fp32 artifact matches the eager model (fidelity report)."""

import json

import pytest
import torch

from fsplit_mobile.export import api
from fsplit_mobile.models import bottleneck_unit as bu
from fsplit_mobile.models.checkpoint import units as unit_io
from fsplit_mobile.runtime import Artifact

pytestmark = pytest.mark.slow
pytest.importorskip("efficientnet_lite_pytorch")


def test_onnx_fp32_export_matches_eager(tmp_path):
    torch.manual_seed(0)
    cfg = bu.model_config(16, [{"name": "r0", "latent_channels": 8, "width": 32}])
    unit = bu.build_unit(16, cfg["units"][0])
    unit.entropy_bottleneck.update(force=True)
    ckpt = unit_io.save_units(tmp_path / "unit.pt", cfg, [unit])
    summary = api.export("onnx", "none", checkpoint=ckpt, recipe="bottleneck_unit_lite0", out=tmp_path / "out")
    assert summary.ok, [r.error for r in summary.results]
    (result,) = summary.results
    manifest = Artifact.open(result.path).manifest
    assert manifest["output"]["shape"] == [1, 8, 7, 7]
    assert manifest["server"]["num_classes"] == 1000
    report = json.loads((result.path / "report.json").read_text())
    assert report["metrics"]["symbol_flip_fraction"] <= 1e-5
    assert report["metrics"]["top1_same_as_reference"] == 1.0
