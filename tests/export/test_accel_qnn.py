"""QNN HTP: offline compile per SoC, placement (compiled graph and run time), the x86 simulator and its cycle
profile, and clear errors when the EP or its libraries are missing. Real onnxruntime-qnn 2.7.0 throughout
(its x86_64 libQnnHtp.so is the HTP simulator: numerics on this CPU, not a phone)."""

import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from accel_support import float_model, inputs, qdq_model
from fsplit_mobile.export.backends.qnn.compile import QnnCompileError, compile_for_soc, resolve_socs
from fsplit_mobile.export.backends.qnn.simulator import PROFILE_KIND, simulate
from fsplit_mobile.runtime import qnn
from fsplit_mobile.runtime.accelerated import AcceleratorUnavailableError, OrtAcceleratedBackend
from fsplit_mobile.runtime.placement import Placement

pytest.importorskip("onnxruntime_qnn")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("qnn")
    out = {"fp32": float_model(d / "fp32.onnx"), "dir": d}
    out["qdq"] = qdq_model(out["fp32"], d / "qdq.onnx")
    out["qdq_sinh"] = qdq_model(float_model(d / "fp32_sinh.onnx", inject="Sinh"), d / "qdq_sinh.onnx")
    out["ctx"] = compile_for_soc(out["qdq"], d / "ctx_sm8650.onnx", "SM8650")
    out["ctx_sinh"] = compile_for_soc(out["qdq_sinh"], d / "ctx_sinh.onnx", "SM8650")
    return out


def _ops(path):
    return [n.op_type for n in onnx.load(str(path)).graph.node]


def test_compile_offloads_whole_graph_as_one_epcontext_node(models):
    res = models["ctx"]
    assert _ops(models["dir"] / "ctx_sm8650.onnx") == ["EPContext"]
    p = res.placement
    src = onnx.load(str(models["qdq"])).graph.node
    assert p.fully_offloaded and p.partitions == 1
    assert {n.name for n in p.on_accelerator} == {n.name for n in src}  # round and the int32 cast included
    assert {"Round", "Cast", "QuantizeLinear"} <= {n.op_type for n in p.nodes}
    assert res.soc == "SM8650" and res.soc_id == 57 and "2.51" in res.compatibility
    assert res.seconds > 0


def test_socs_give_distinct_binaries(models):
    d = models["dir"]
    a = compile_for_soc(models["qdq"], d / "ctx_sm8550.onnx", "sm8550")
    b = compile_for_soc(models["qdq"], d / "ctx_sm8750.onnx", "SM8750")
    assert (a.soc_id, b.soc_id) == (43, 69)
    blobs = [bytes(onnx.load(str(d / f)).graph.node[0].attribute[1].s) for f in ("ctx_sm8550.onnx", "ctx_sm8750.onnx")]
    assert blobs[0] != blobs[1]


def test_fallback_is_named_in_the_compiled_placement(models):
    p = models["ctx_sinh"].placement
    assert not p.fully_offloaded
    assert [(n.name, n.op_type) for n in p.fallback] == [("injected_sinh", "Sinh")]
    assert p.partitions == 2  # the HTP graph is cut in two around the CPU node
    assert "injected_sinh (Sinh)" in p.summary()
    again = Placement.from_dict(p.to_dict())
    assert again.summary() == p.summary()


def test_resolve_socs():
    assert resolve_socs("all") == list(qnn.SOCS)
    assert resolve_socs(["sm8650", "SM8650", "SM8850"]) == ["SM8650", "SM8850"]
    with pytest.raises(QnnCompileError, match="unknown Snapdragon SoC 'SM9999'"):
        resolve_socs(["SM9999"])


def test_simulator_matches_cpu_and_profiles_cycles(models):
    xs = inputs(3)
    outs, profile, placement = simulate(models["dir"] / "ctx_sm8650.onnx", xs, profile_runs=2)
    # reference: the QDQ graph as written (DequantizeLinear -> float op -> QuantizeLinear, no fused int8 kernels),
    # so it does not depend on the host CPU (x86 without VNNI saturates ORT's fused u8s8 kernels)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    cpu = ort.InferenceSession(str(models["qdq"]), so, providers=["CPUExecutionProvider"])
    ref = [cpu.run(None, {"image": x})[0] for x in xs]
    assert all(o.dtype == np.int32 and o.shape == r.shape for o, r in zip(outs, ref))
    assert np.all(np.abs(np.stack(outs) - np.stack(ref)) <= 1)
    assert np.mean(np.stack(outs) == np.stack(ref)) > 0.9
    assert profile["kind"] == PROFILE_KIND and "NOT device milliseconds" in profile["note"]
    assert profile["runs"] == 2 and profile["total_cycles_mean"] > 0
    names = " ".join(op["op"] for op in profile["ops"])
    assert "conv1" in names and "round" in names
    assert all(op["cycles_mean"] >= 0 and op["runs"] == 2 for op in profile["ops"])
    assert placement.fully_offloaded and "simulator" in placement.accelerator


def test_run_time_placement_flags_fallback(models):
    b = OrtAcceleratedBackend(str(models["dir"] / "ctx_sinh.onnx"), "npu")
    assert b.placement is None
    b.run(inputs(1)[0])
    assert [(n.name, n.op_type) for n in b.placement.fallback] == [("injected_sinh", "Sinh")]
    assert b.placement.partitions == 2 and "onnxruntime per-node profile" in b.placement.source
    with pytest.raises(AcceleratorUnavailableError, match="CPU"):  # CPU fallback off: the session refuses
        OrtAcceleratedBackend(str(models["dir"] / "ctx_sinh.onnx"), "npu", allow_fallback=False)


def test_epcontext_model_needs_the_npu(models):
    with pytest.raises(AcceleratorUnavailableError, match="runs only with --accelerator npu"):
        OrtAcceleratedBackend(str(models["dir"] / "ctx_sm8650.onnx"), "cpu")


def test_gpu_not_available_here(models):
    with pytest.raises(
        AcceleratorUnavailableError, match="neither CUDAExecutionProvider nor TensorrtExecutionProvider"
    ):
        OrtAcceleratedBackend(str(models["fp32"]), "gpu")


def test_missing_qnn_libraries_are_named(tmp_path):
    with pytest.raises(AcceleratorUnavailableError, match="libQnnHtp.so not found"):
        OrtAcceleratedBackend("x.onnx", "npu", qnn_libs=str(tmp_path))
    with pytest.raises(qnn.QnnUnavailableError, match="does not exist"):
        qnn.locate(tmp_path / "nope")
    wheel = qnn._wheel_dir()
    shutil.copy(wheel / "libQnnHtp.so", tmp_path / "libQnnHtp.so")
    with pytest.raises(qnn.QnnUnavailableError, match="missing libQnnSystem.so"):
        qnn.locate(tmp_path)
    shutil.copy(wheel / "libQnnSystem.so", tmp_path / "libQnnSystem.so")
    libs = qnn.locate(tmp_path)  # the EP plugin itself comes from the installed wheel
    assert libs.backend_path == str(tmp_path / "libQnnHtp.so") and libs.origin.startswith("--qnn-libs")
    assert libs.simulator and "simulator" in libs.describe()


def test_arm_device_needs_the_soc_stub(tmp_path, monkeypatch):
    for name in ("libQnnHtp.so", "libQnnSystem.so"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(qnn, "_is_simulator", lambda: False)
    with pytest.raises(qnn.QnnUnavailableError, match="libQnnHtpV75Stub.so"):
        qnn.locate(tmp_path, soc="SM8650")
    (tmp_path / "libQnnHtpV75Stub.so").write_bytes(b"")
    assert not qnn.locate(tmp_path, soc="SM8650").simulator
