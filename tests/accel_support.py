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
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(np.zeros(8, np.float32), "b1"),
             numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.zeros(4, np.float32), "b2")]
    nodes = [helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1],
                              strides=[2, 2]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["y"], name="conv2", pads=[1, 1, 1, 1])]
    last = "y"
    if inject:
        nodes.append(helper.make_node(inject, ["y"], ["y2"], name=f"injected_{inject.lower()}"))
        last = "y2"
    nodes += [helper.make_node("Round", [last], ["yr"], name="round"),
              helper.make_node("Cast", ["yr"], ["symbols"], name="to_int32", to=TensorProto.INT32)]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("symbols", TensorProto.INT32, (1, 4, 8, 8))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def inputs(n: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random(SHAPE, dtype=np.float32) for _ in range(n)]


def qdq_model(src: Path, dest: Path, activation: str = "u8") -> Path:
    """Static QDQ quantization of `src` (u8 or u16 activations, int8 weights), calibrated on `inputs`."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    class Reader:
        def __init__(self):
            self._it = iter([{"image": x} for x in inputs(4, seed=7)])

        def get_next(self):
            return next(self._it, None)

    act = {"u8": QuantType.QUInt8, "u16": QuantType.QUInt16}[activation]
    quantize_static(str(src), str(dest), Reader(), quant_format=QuantFormat.QDQ, activation_type=act,
                    weight_type=QuantType.QInt8, per_channel=True)
    return Path(dest)
