"""Accelerator export targets on a small checkpoint: qnn (Snapdragon HTP, compiled per SoC, verified in the x86
HTP simulator: numerics on this CPU, not a phone) and vulkan (ExecuTorch GPU delegate, not executable here).
The issue's fidelity targets on the bundled model are measured in benchmarks/accel/ (simulator is slow)."""

import json

import onnx
import pytest
import torch
from click.testing import CliRunner

from export_support import make_checkpoint
from fsplit_mobile.export import api
from fsplit_mobile.export.backends.delegate_placement import delegate_placement
from fsplit_mobile.export.backends.fallback import PlacementError
from fsplit_mobile.export.backends.qnn import QnnBackend
from fsplit_mobile.export.errors import ExportError
from fsplit_mobile.runtime import Artifact
from fsplit_mobile.runtime.placement import Placement

pytest.importorskip("onnxruntime_qnn")
SIZE = (64, 64)
# A random tiny model quantizes worse than the trained one; its int8 limit is raised (defaults: 2 % / 0.2 %).
TINY_INT8 = {"max_symbols_differing": 0.05}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ck") / "fp.pt", "frankensplit-fp", latent_std=1.0)


def _export(ckpt, out, quant, target="qnn", **options):
    return api.export(
        target,
        quant,
        checkpoint=ckpt,
        input_size=SIZE,
        out=out,
        keep_going=False,
        target_options={target: options} if options else None,
    )


@pytest.mark.slow
def test_qnn_int8_and_fp16_artifacts(ckpt, tmp_path):
    summary = api.export(
        "qnn", ["int8", "fp16"], checkpoint=ckpt, input_size=SIZE, out=tmp_path, target_options={"qnn": TINY_INT8}
    )
    assert summary.ok, [r.error for r in summary.results]
    assert [r.path.name for r in summary.results] == ["qnn-sm8650-int8", "qnn-sm8650-fp16"]
    for r in summary.results:
        art = Artifact.open(r.path)  # manifest valid, every file's sha256 checked
        acc = art.accelerator
        assert art.target == "qnn" and acc["kind"] == "npu" and acc["soc"] == "SM8650" and acc["soc_id"] == 57
        assert acc["qnn_sdk"] == "2.51.0" and acc["onnxruntime"] == "1.31.1" and acc["onnxruntime_qnn"] == "2.7.0"
        placement = Placement.from_dict(acc["placement"])
        assert placement.fully_offloaded and placement.partitions == 1 and len(placement.nodes) > 10
        assert {"Round", "Cast"} <= {n.op_type for n in placement.nodes}
        assert [n.op_type for n in onnx.load(str(art.encoder_file)).graph.node] == ["EPContext"]
        profile = json.loads((r.path / acc["profile"]).read_text())
        assert art.manifest["files"]["profile"] == "profile.json"
        assert "NOT device milliseconds" in profile["note"] and profile["total_cycles_mean"] > 0 and profile["ops"]
        report = json.loads((r.path / "report.json").read_text())
        assert report["executed"] and "simulator" in report["runtime"]
        assert report["metrics"]["bpp_artifact"] > 0
        assert "Placement (accelerator vs CPU fallback)" in (r.path / "report.md").read_text()
    int8, fp16 = summary.results
    assert fp16.metrics["symbol_flip_fraction"] <= 0.002  # the fp16 target, enforced by default
    assert fp16.targets["symbol_flip_fraction"]["limit"] == 0.002
    assert int8.metrics["symbol_flip_fraction"] <= 0.05
    assert "uint8 activations" in " ".join(json.loads((int8.path / "report.json").read_text())["notes"])


@pytest.mark.slow
def test_forced_a16_tail_fails_the_fidelity_check(ckpt, tmp_path):
    # 16-bit activations with the symbol tail quantized (QNN's own QDQ op set quantizes Round): the HTP's
    # round -> int32 goes wrong; the defaults (u8, tail kept float) avoid it.
    with pytest.raises(
        ExportError,
        match=r"qnn-sm8650-int8: .* % of symbols differ from eager fp32 \(limit "
        r"2\.00 %\)",
    ):
        _export(ckpt, tmp_path, "int8", activations="u16", keep_float=[])
    assert not (tmp_path / "qnn-sm8650-int8").exists()


def _with_sinh(monkeypatch):
    """Make the qnn backend's ONNX graph end in a Sinh (an op the HTP does not take)."""
    convert = QnnBackend._convert

    def converted(self, captured, req):
        model = convert(self, captured, req)
        out = model.graph.output[0].name
        for node in model.graph.node:
            for i, name in enumerate(node.output):
                if name == out:
                    node.output[i] = out + "_pre"
        model.graph.node.append(onnx.helper.make_node("Cast", [out + "_pre"], [out + "_f"], name="to_float", to=1))
        model.graph.node.append(onnx.helper.make_node("Sinh", [out + "_f"], [out + "_s"], name="forced_sinh"))
        model.graph.node.append(onnx.helper.make_node("Cast", [out + "_s"], [out], name="to_int", to=6))
        return model

    monkeypatch.setattr(QnnBackend, "_convert", converted)


def test_cpu_fallback_fails_by_default_and_warns_on_request(ckpt, tmp_path, monkeypatch):
    _with_sinh(monkeypatch)
    with pytest.raises(PlacementError, match=r"qnn SM8650: 1 node\(s\) fall back to the CPU: forced_sinh \(Sinh\)"):
        _export(ckpt, tmp_path / "a", "fp16", simulate=False)
    assert not (tmp_path / "a" / "qnn-sm8650-fp16").exists()
    summary = _export(ckpt, tmp_path / "b", "fp16", fallback="warn", simulate=False)
    (r,) = summary.results
    assert r.ok and not r.executed  # simulate=false: compiled and placed, not run
    placement = Placement.from_dict(Artifact.open(r.path).accelerator["placement"])
    assert [(n.name, n.op_type) for n in placement.fallback] == [("forced_sinh", "Sinh")]
    assert placement.partitions == 2
    notes = json.loads((r.path / "report.json").read_text())["notes"]
    assert any(n.startswith("WARNING: CPU fallback allowed") and "forced_sinh (Sinh)" in n for n in notes)


@pytest.mark.slow
def test_cli_soc_all_gives_one_artifact_per_soc(ckpt, tmp_path):
    from fsplit_mobile.export.cli import main

    res = CliRunner().invoke(
        main,
        [
            "--target",
            "qnn",
            "--soc",
            "all",
            "--quantize",
            "fp16",
            "--checkpoint",
            str(ckpt),
            "--input-size",
            "64",
            "64",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert res.output.count("placement: QNN HTP (SM8") == 4 and "1 partition(s)" in res.output
    arts = {p.name: Artifact.open(p) for p in sorted(tmp_path.glob("qnn-*"))}
    assert sorted(arts) == [f"qnn-{s}-fp16" for s in ("sm8550", "sm8650", "sm8750", "sm8850")]
    assert [a.accelerator["soc_id"] for a in arts.values()] == [43, 57, 69, 87]
    assert len({a.manifest["sha256"]["encoder.onnx"] for a in arts.values()}) == 4
    assert all(a.accelerator["compile_s"] > 0 for a in arts.values())
    bad = CliRunner().invoke(main, ["--target", "onnx", "--soc", "SM8650", "--checkpoint", str(ckpt)])
    assert bad.exit_code != 0 and "--soc applies to --target qnn only" in bad.output
    bad = CliRunner().invoke(
        main,
        [
            "--target",
            "qnn",
            "--soc",
            "SM9999",
            "--quantize",
            "fp16",
            "--checkpoint",
            str(ckpt),
            "--out",
            str(tmp_path / "x"),
            "-q",
        ],
    )
    assert bad.exit_code != 0 and "unknown Snapdragon SoC 'SM9999'" in bad.output


def test_all_leaves_accelerator_targets_out():
    from fsplit_mobile.export.backends import resolve_targets

    assert "qnn" not in resolve_targets("all") and "vulkan" not in resolve_targets("all")
    assert resolve_targets(["all", "qnn"])[-1] == "qnn"


@pytest.mark.slow
def test_vulkan_fp16_artifact_with_placement(ckpt, tmp_path):
    summary = _export(ckpt, tmp_path, "fp16", target="vulkan")
    (r,) = summary.results
    assert r.ok and not r.executed  # the PyPI ExecuTorch runtime has no Vulkan backend
    art = Artifact.open(r.path)
    acc = art.accelerator
    assert art.target == "vulkan" and acc["kind"] == "gpu" and acc["precision"] == "fp16"
    placement = Placement.from_dict(acc["placement"])
    assert placement.partitions >= 1 and placement.on_accelerator
    assert "aten.convolution.default" in {n.op_type for n in placement.on_accelerator}
    report = json.loads((r.path / "report.json").read_text())
    assert report["reason"] == "not executed on this platform" and "not in this ExecuTorch build" in report["runtime"]


@pytest.mark.slow
def test_delegate_placement_names_the_portable_op():
    from executorch.backends.vulkan.partitioner.vulkan_partitioner import VulkanPartitioner
    from executorch.exir import to_edge_transform_and_lower

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 4, 3)

        def forward(self, x):
            return self.b(torch.sinh(self.a(x)))

    edge = to_edge_transform_and_lower(
        torch.export.export(Net().eval(), (torch.rand(1, 3, 16, 16),)), partitioner=[VulkanPartitioner()]
    )
    p = delegate_placement(edge, "Vulkan GPU")
    assert [(n.name, n.op_type) for n in p.fallback] == [("aten_sinh_default", "aten.sinh.default")]
    assert p.partitions == 2 and [n.op_type for n in p.on_accelerator] == ["aten.convolution.default"] * 2


@pytest.mark.slow
def test_coreml_compute_units_for_the_neural_engine(tmp_path):
    """cpuAndNeuralEngine needs fp16 compute (refused otherwise), is checked from the spec (every conv fp16) and
    recorded in the package metadata and the manifest (Core ML places ops itself at load time on the device)."""
    import coremltools as ct

    from fsplit_mobile.export import stages
    from fsplit_mobile.export.backends.base import Program
    from fsplit_mobile.export.backends.coreml import CoreMLBackend, check_package
    from fsplit_mobile.export.errors import VerificationError
    from fsplit_mobile.export.request import ExportRequest
    from fsplit_mobile.models import ExportableEncoder, FrankenSplitEncoder, bake_gdn

    torch.manual_seed(0)
    module = ExportableEncoder(
        bake_gdn(FrankenSplitEncoder((8, 8, 8))).eval(),
        torch.zeros(8),
        "symbols",
        ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ).eval()

    def lower(options, out):
        out.mkdir()
        latent = tuple(module.encoder(torch.zeros(1, 3, 32, 32)).shape[1:])
        backend = CoreMLBackend()
        req = stages.check_request(
            backend, ExportRequest("t", "coreml", "none", (32, 32), latent_shape=latent, options=options)
        )
        captured = stages.capture(backend, module, torch.zeros(1, 3, 32, 32), req)
        return stages.lower(backend, Program(captured, None), out, req), req

    with pytest.raises(ExportError, match='cpuAndNeuralEngine.* needs compute_precision = "float16"'):
        lower({"compute_units": "cpuAndNeuralEngine"}, tmp_path / "a")
    lowered, req = lower({"compute_units": "cpuAndNeuralEngine", "compute_precision": "float16"}, tmp_path / "b")
    facts = check_package(tmp_path / "b" / "encoder.mlpackage", lowered, req)
    assert set(facts["conv_dtypes"]) == {"float16"}
    assert lowered.accelerator["kind"] == "npu" and lowered.accelerator["compute_units"] == "cpuAndNeuralEngine"
    meta = ct.models.MLModel(str(tmp_path / "b" / "encoder.mlpackage"), skip_model_load=True).user_defined_metadata
    assert meta["fsplit.compute_units"] == "cpuAndNeuralEngine"
    fp32, req32 = lower({"compute_units": "cpuAndGPU"}, tmp_path / "c")
    assert fp32.accelerator["kind"] == "gpu" and set(fp32.details["conv_dtypes"]) == {"float32"}
    with pytest.raises(VerificationError, match="computes its convs in .*float32.*expected float16"):
        check_package(
            tmp_path / "c" / "encoder.mlpackage",
            fp32,
            stages.check_request(
                CoreMLBackend(),
                ExportRequest(
                    "t",
                    "coreml",
                    "none",
                    (32, 32),
                    latent_shape=req32.latent_shape,
                    options={"compute_units": "cpuAndNeuralEngine", "compute_precision": "float16"},
                ),
            ),
        )
