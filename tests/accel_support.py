"""Tiny ONNX encoders for the accelerator tests: conv -> relu -> conv -> round -> int32, quantized to QDQ
(u8 activations, int8 weights) by onnxruntime's quantizer, optionally with an op the HTP does not take."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHAPE = (1, 3, 16, 16)


def float_model(path: Path, inject: str | None = None, seed: int = 0) -> Path:
    """fp32 encoder; `inject` puts that unary op (e.g. "Sinh") between the last conv and round."""
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.5).astype(np.float32)
    w2 = (rng.standard_normal((4, 8, 3, 3)) * 0.8).astype(np.float32)
    inits = [
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(np.zeros(8, np.float32), "b1"),
        numpy_helper.from_array(w2, "w2"),
        numpy_helper.from_array(np.zeros(4, np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["y"], name="conv2", pads=[1, 1, 1, 1]),
    ]
    last = "y"
    if inject:
        nodes.append(helper.make_node(inject, ["y"], ["y2"], name=f"injected_{inject.lower()}"))
        last = "y2"
    nodes += [
        helper.make_node("Round", [last], ["yr"], name="round"),
        helper.make_node("Cast", ["yr"], ["symbols"], name="to_int32", to=TensorProto.INT32),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("symbols", TensorProto.INT32, (1, 4, 8, 8))],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def inputs(n: int, seed: int = 1, shape=SHAPE) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random(shape, dtype=np.float32) for _ in range(n)]


def qdq_model(src: Path, dest: Path, activation: str = "u8", shape=SHAPE) -> Path:
    """Static QDQ quantization of `src` (u8 or u16 activations, int8 weights), calibrated on `inputs`."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    class Reader:
        def __init__(self):
            self._it = iter([{"image": x} for x in inputs(4, seed=7, shape=shape)])

        def get_next(self):
            return next(self._it, None)

    act = {"u8": QuantType.QUInt8, "u16": QuantType.QUInt16}[activation]
    quantize_static(
        str(src),
        str(dest),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=act,
        weight_type=QuantType.QInt8,
        per_channel=True,
    )
    return Path(dest)


def qnn_artifact(onnx_artifact: Path, dest: Path, soc: str = "SM8650", inject: str | None = None) -> Path:
    """A qnn artifact (docs/artifact.md) made from a float onnx artifact of the bench tests: QDQ u8, compiled for
    `soc`; `inject` adds an op the HTP does not take (it then runs on the CPU)."""
    import json
    import shutil

    from fsplit_mobile.export.backends.qnn.compile import compile_for_soc
    from fsplit_mobile.runtime import qnn
    from fsplit_mobile.runtime.artifact import sha256_path

    dest = Path(dest)
    dest.mkdir(parents=True)
    manifest = json.loads((Path(onnx_artifact) / "manifest.json").read_text())
    src = onnx.load(str(Path(onnx_artifact) / manifest["files"]["encoder"]))
    if inject:
        out = src.graph.output[0].name
        last = src.graph.node[-1]
        last.output[0] = out + "_pre"
        src.graph.node.append(helper.make_node(inject, [out + "_pre"], [out], name=f"injected_{inject.lower()}"))
    work = dest / "work"
    work.mkdir()
    onnx.save(src, str(work / "fp32.onnx"))
    qdq_model(work / "fp32.onnx", work / "qdq.onnx", shape=tuple(manifest["input"]["shape"]))
    res = compile_for_soc(work / "qdq.onnx", dest / "encoder.onnx", soc)
    shutil.rmtree(work)
    shutil.copy(Path(onnx_artifact) / "tables.fsct", dest / "tables.fsct")
    name, arch = qnn.SOCS[soc]
    manifest.update(target="qnn", quantization="int8")
    manifest["accelerator"] = {
        "kind": "npu",
        "name": "Qualcomm Hexagon HTP",
        "soc": soc,
        "soc_name": name,
        "htp_arch": arch,
        "placement": res.placement.to_dict(),
    }
    manifest["sha256"] = {n: sha256_path(dest / n) for n in manifest["files"].values()}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return dest
