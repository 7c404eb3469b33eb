"""End-to-end exports to ExecuTorch and ONNX (fp32 and int8) of a FrankenSplit-style, a factorized-prior and an
entropic-student encoder, verified in the real runtimes (executorch.runtime, onnxruntime), with manifest checks.
The bundled default model is covered in test_export_default.py."""

import json

import numpy as np
import pytest
import torch

from export_support import EVAL_DIR, RECIPES, eager_unrounded, make_checkpoint, one_torch_thread
from fsplit_mobile.codec import CodecTables, decode_latent, encode_latent
from fsplit_mobile.export import api
from fsplit_mobile.models.checkpoint import load_checkpoint
from fsplit_mobile.runtime import Artifact, open_encoder
from fsplit_mobile.runtime.artifact import sha256_path
from fsplit_mobile.runtime.preprocess import load_rgb
from fsplit_mobile.runtime.symbol_check import compare_many

pytestmark = pytest.mark.slow

TARGETS = ["executorch", "onnx"]
QUANTS = ["none", "int8"]
SIZE = (64, 64)
CASES = {
    "factorized-prior": ("bmshj2018-factorized", RECIPES / "bmshj2018_factorized.toml"),
    "entropic-student": ("entropic-student", RECIPES / "entropic_student.toml"),
}
ENCODER_FILES = {"executorch": "encoder.pte", "onnx": "encoder.onnx"}


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    arch, recipe = CASES[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    ckpt = make_checkpoint(tmp / "model.pt", arch)
    summary = api.export(TARGETS, QUANTS, recipe=recipe, checkpoint=ckpt, input_size=SIZE, out=tmp / "art")
    return summary, load_checkpoint(ckpt), tmp / "art"


def _eager_symbols(split, rgb):
    """Eager symbols and the values they were rounded from (y - median)."""
    mean = torch.tensor(split.mean).reshape(1, 3, 1, 1)
    std = torch.tensor(split.std).reshape(1, 3, 1, 1)
    x = (torch.from_numpy(rgb.astype(np.float32).transpose(2, 0, 1)[None] / 255.0) - mean) / std
    with torch.no_grad(), one_torch_thread():
        symbols = split.device.symbols(x)[0].numpy()
    return symbols, eager_unrounded(split.device.encoder, split.device.entropy_bottleneck.medians(), x)


def test_every_artifact_exported_and_verified(exported):
    summary, _, out = exported
    assert summary.ok, [r.error for r in summary.results]
    assert sorted((r.target, r.quantization) for r in summary.results) == sorted(
        (t, q) for t in TARGETS for q in QUANTS
    )
    for r in summary.results:
        assert r.executed is True
        assert r.path == out / f"{r.target}-{r.quantization}"
    assert not list(out.glob("*.partial"))


def test_manifest_contract(exported):
    summary, split, out = exported
    eb = split.device.entropy_bottleneck
    want_hash = CodecTables.from_arrays(*eb.tables(), eb.precision).content_hash
    for r in summary.results:
        art = Artifact.open(r.path)  # validates schema, files and every sha256
        m = art.manifest
        assert m["schema"] == "fsplit-artifact/1"
        assert (m["target"], m["quantization"]) == (r.target, r.quantization)
        assert m["files"]["encoder"] == ENCODER_FILES[r.target]
        assert m["input"]["shape"] == [1, 3, *SIZE] and m["input"]["layout"] == "NCHW"
        assert m["input"]["dtype"] == "float32" and m["input"]["normalization_in_graph"] is True
        assert m["input"]["mean"] == list(split.mean) and m["input"]["resize"]["size"] == list(SIZE)
        c, h, w = split.latent_shape() if split.input_size == SIZE else art.latent_shape
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
        assert m["tables"]["content_hash"] == want_hash == art.tables().content_hash
        on_disk = {p.name for p in r.path.iterdir()} - {"manifest.json"}
        assert set(m["sha256"]) == on_disk >= {"report.json", "report.md", "tables.fsct", ENCODER_FILES[r.target]}
        for name, digest in m["sha256"].items():
            assert sha256_path(r.path / name) == digest
        assert m["tool_versions"]["torch"] == torch.__version__
        assert {"executorch": "executorch", "onnx": "onnxruntime"}[r.target] in m["tool_versions"]
        assert "server" not in m["files"] or m["files"]["server"] == "server.onnx"


def test_runtime_symbols_match_eager_and_code(exported):
    summary, split, _ = exported
    images = [load_rgb(p, SIZE) for p in sorted(EVAL_DIR.iterdir())[:2]]
    split.input_size = SIZE
    for r in summary.results:
        art = Artifact.open(r.path)
        encoder = open_encoder(art)
        tables = art.tables()
        flips, compared = [], []
        for rgb in images:
            got = encoder.symbols(rgb)
            want, unrounded = _eager_symbols(split, rgb)
            assert got.shape == want.shape and got.dtype == np.int32
            flips.append(np.mean(got != want))
            compared.append((got, want, unrounded))
            stream = encode_latent(tables, got)
            np.testing.assert_array_equal(decode_latent(tables, stream), got)
        if r.quantization == "none":
            # every symbol as eager's, except where eager's value sat on a rounding tie (runtime/symbol_check.py)
            c = compare_many(compared)
            assert c.unexplained == 0, (r.target, c.describe())
        else:
            # random-weight test models with a wide latent are harsh on int8; the bundled model has tight limits
            assert max(flips) <= 0.25, (r.target, flips)
        assert np.abs(want).max() > 0, "test model should give non-zero symbols"


def test_reports(exported):
    summary, _, _ = exported
    sizes = {}
    for r in summary.results:
        report = json.loads((r.path / "report.json").read_text())
        assert report["executed"] is True and report["target"] == r.target
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
        sizes[r.target, r.quantization] = r.size_bytes
    for t in TARGETS:
        assert sizes[t, "int8"] < sizes[t, "none"]
