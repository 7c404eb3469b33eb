"""The bundled FrankenSplit-style model (recipe fsplit_mobile/recipes/frankensplit_lite0.toml, the default before
issue 10) exported to ExecuTorch and ONNX, fp32 and int8: verified in the real runtimes, full manifest with
server.onnx and labels, and the int8 fidelity targets (symbol flips <= 2 %, bpp change <= 2 %, teacher top-1
agreement drop <= 1 pp). The export is shared (export_flows.default_export): the export contract suite verifies its
fp32 ExecuTorch and ONNX files too. The current default (bottleneck units) is tested in
test_export_bundled_default.py."""

import json

import numpy as np
import pytest
import torch

from export_flows import default_export
from export_support import EVAL_DIR
from fsplit_mobile.models.frankensplit_lite0 import load_default_model
from fsplit_mobile.runtime import Artifact, open_encoder
from fsplit_mobile.runtime.encoders import open_backend
from fsplit_mobile.runtime.preprocess import load_rgb
from fsplit_mobile.runtime.symbol_check import TIE_EPSILON

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return default_export(tmp_path_factory)


@pytest.fixture(scope="module")
def model():
    return load_default_model()


def test_all_exported(exported):
    summary, out = exported
    assert summary.ok, [r.error for r in summary.results]
    assert summary.model_id == "frankensplit-lite0"
    assert {p.name for p in out.iterdir()} == {"executorch-none", "executorch-int8", "onnx-none", "onnx-int8"}


def test_manifest_server_and_labels(exported, model):
    summary, _ = exported
    for r in summary.results:
        art = Artifact.open(r.path)
        m = art.manifest
        assert m["model_id"] == "frankensplit-lite0"
        assert m["input"]["shape"] == [1, 3, 224, 224] and m["output"]["shape"] == [1, 48, 28, 28]
        assert m["files"]["server"] == "server.onnx" and m["files"]["labels"] == "labels.txt"
        assert m["server"] == {"file": "server.onnx", "input": "symbols", "output": "logits", "num_classes": 1000}
        assert len(art.labels()) == 1000 and art.labels()[285].startswith("Egyptian cat")
        # device compute, counted from the captured graph: the encoder's MACs and their share of the teacher's
        from fsplit_mobile.models.macs import count_macs

        dc = m["device_compute"]
        assert dc["macs"] == count_macs(model.device.encoder) and dc["network"] == "efficientnet-lite0"
        assert dc["share"] == pytest.approx(dc["macs"] / dc["network_macs"]) and 1.3 < dc["share"] < 1.4
        # server.onnx gives the eager server part's logits for real symbols
        enc = open_encoder(art)
        sym = enc.symbols(load_rgb(EVAL_DIR / "chelsea.jpg", (224, 224)))
        logits = open_backend("onnx", art.file("server")).run(sym[None])
        with torch.no_grad():
            want = model.server(torch.from_numpy(sym[None])).numpy()
        np.testing.assert_allclose(logits, want, rtol=1e-3, atol=1e-3)


def test_fp32_bit_exact_and_int8_targets(exported):
    summary, _ = exported
    for r in summary.results:
        report = json.loads((r.path / "report.json").read_text())
        m = report["metrics"]
        assert report["samples"]["count"] >= 100
        assert m["top1_agreement_reference"] is not None
        if r.quantization == "none":
            # fp32 runtimes may reassociate float sums: only a symbol whose eager value sits within tie_epsilon of a
            # rounding tie may move (runtime/symbol_check.py); the report counts those
            assert m["symbols_unexplained"] == 0, (r.target, m["symbols_differing"], m["symbols_at_ties"])
            assert m["symbols_at_ties"] == m["symbols_differing"] and m["tie_epsilon"] == TIE_EPSILON
            print(f"{r.target} fp32: {m['symbols_differing']} of {m['symbols_total']} symbols differ, all at ties")
            assert m["top1_same_as_reference"] == 1.0
        else:
            assert m["symbol_flip_fraction"] <= 0.02, (r.target, m)
            assert abs(m["bpp_relative_change"]) <= 0.02, (r.target, m)
            assert m["top1_agreement_change_pp"] >= -1.0, (r.target, m)
            assert all(t["passed"] for t in report["targets"].values()), report["targets"]
            assert any("kept in float" in n for n in report["notes"])
