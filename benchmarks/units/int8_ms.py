"""Measured int8 latency (ONNX Runtime, CPU, 1 thread) of the device parts next to the full teacher, side by side.

Per split model: the int8 encoder, and the entropy coding of its real symbols (the project's C rANS coder, the
container the device sends), so the device total = encoder + coding and the coding share are measured in the same
rounds as the full network's int8 time (issue 20's device-time target: split total <= 15 % of the full network's).

Why side by side: the machine is shared and noisy, so only ratios measured in one run, interleaved round by
round, mean anything. Each model is quantized the same way (ONNX Runtime static QDQ int8, per-channel weights,
reduce_range on x86 without VNNI, calibrated on 16 crops of the training photos) and fed the same 224x224 input.

    python benchmarks/units/int8_ms.py --unit runs/units.pt --model light_lite0.pt --rounds 30 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _calibration(n: int = 16) -> list[np.ndarray]:
    from fsplit_mobile.evaluation.images import bundled_images, center_crop, normalize, open_rgb, to_tensor

    paths = bundled_images("train")[:n]
    return [normalize(to_tensor(center_crop(open_rgb(p), 224)))[None].numpy() for p in paths]


def quantize(module: torch.nn.Module, folder: Path, name: str, calib: list[np.ndarray]) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from fsplit_mobile.export.backends.onnx import cpu_has_vnni, export_onnx

    fp32 = export_onnx(module.eval(), torch.zeros(1, 3, 224, 224), folder / f"{name}.onnx", "image", "out")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(calib)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {"image": x}

    out = folder / f"{name}-int8.onnx"
    quantize_static(
        str(fp32),
        str(out),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8,
        reduce_range=platform.machine() in ("x86_64", "AMD64") and not cpu_has_vnni(),
    )
    return out


class _Latent(torch.nn.Module):
    """A device part up to its float latent (rounding to int32 is not quantizable and costs nothing)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x):
        return self.encoder(x)


def main(argv=None) -> int:
    import onnxruntime as ort

    from fsplit_mobile.models.checkpoint import load_checkpoint
    from fsplit_mobile.models.frankensplit_lite0 import load_default_model
    from fsplit_mobile.models.gdn import bake_gdn
    from fsplit_mobile.models.teacher import load_efficientnet_lite0

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", action="append", default=[], help="bottleneck-unit checkpoint (repeatable)")
    parser.add_argument("--model", action="append", default=[], help="any split checkpoint (repeatable)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    calib = _calibration()
    models = {
        "teacher efficientnet-lite0 (local inference)": load_efficientnet_lite0(),
        "frankensplit-lite0 encoder (the default before issue 10)": _Latent(
            bake_gdn(load_default_model(with_server=False).device.encoder)
        ),
    }
    splits = {}
    for path in args.unit:
        split = load_checkpoint(path)
        name = f"{Path(path).stem} device part (head + unit encoder)"
        models[name] = _Latent(bake_gdn(split.device.encoder))
        splits[name] = split
    for path in args.model:
        split = load_checkpoint(path)
        name = f"{split.model_id} encoder"
        if name in models:  # two checkpoints of one model id (e.g. a candidate beside the bundled one)
            name = f"{split.model_id} encoder ({Path(path).stem})"
        models[name] = _Latent(bake_gdn(split.device.encoder))
        splits[name] = split
    folder = Path(tempfile.mkdtemp(prefix="int8-ms-"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    sessions = {}
    for i, (name, module) in enumerate(models.items()):
        path = quantize(module, folder, f"m{i}", calib)
        sessions[name] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    from fsplit_mobile.codec import CodecTables, encode_latent
    from fsplit_mobile.models.macs import count_macs

    x = calib[0]
    coders = {}
    for name, split in splits.items():
        eb = split.device.entropy_bottleneck
        tables = CodecTables.from_arrays(*eb.tables())
        with torch.no_grad():
            symbols = eb.symbols(split.device.encoder(torch.from_numpy(x))).numpy()[0]
        coders[name] = (tables, symbols)
    times = {name: [] for name in sessions}
    coding = {name: [] for name in coders}
    coding2 = {name: [] for name in coders}  # the interleaved payload version 2 (8 lanes, AVX2 where present)
    for s in sessions.values():  # warm-up
        for _ in range(3):
            s.run(None, {"image": x})
    for _ in range(args.rounds):
        for name, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, {"image": x})
            times[name].append((time.perf_counter() - t0) * 1e3)
            if name in coders:
                t0 = time.perf_counter()
                encode_latent(*coders[name])
                coding[name].append((time.perf_counter() - t0) * 1e3)
                t0 = time.perf_counter()
                encode_latent(*coders[name], payload_format="interleaved2")
                coding2[name].append((time.perf_counter() - t0) * 1e3)
    result = {
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "onnxruntime": ort.__version__,
        "threads": 1,
        "rounds": args.rounds,
        "median_ms": {k: float(np.median(v)) for k, v in times.items()},
        "p10_ms": {k: float(np.percentile(v, 10)) for k, v in times.items()},
        "coding_median_ms": {k: float(np.median(v)) for k, v in coding.items()},
        "coding_interleaved2_median_ms": {k: float(np.median(v)) for k, v in coding2.items()},
        "macs": {k: count_macs(m) for k, m in models.items()},
    }
    full = result["median_ms"]["teacher efficientnet-lite0 (local inference)"]
    result["device_total"] = {}
    for k in sessions:
        line = f"{result['median_ms'][k]:8.2f} ms median  {result['p10_ms'][k]:8.2f} ms p10  {k}"
        if k in coding:
            total = result["median_ms"][k] + result["coding_median_ms"][k]
            result["device_total"][k] = {
                "encoder_ms": result["median_ms"][k],
                "coding_ms": result["coding_median_ms"][k],
                "total_ms": total,
                "share_of_full_network_time": total / full,
                "coding_share": result["coding_median_ms"][k] / total,
            }
            c2 = result["coding_interleaved2_median_ms"][k]
            total2 = result["median_ms"][k] + c2
            result["device_total"][k]["interleaved2"] = {
                "coding_ms": c2,
                "total_ms": total2,
                "share_of_full_network_time": total2 / full,
                "coding_share": c2 / total2,
            }
            line += (
                f"  + coding {result['coding_median_ms'][k]:.3f} ms = {total:.2f} ms "
                f"({100 * total / full:.1f} % of the full network's int8 time; coding {100 * result['coding_median_ms'][k] / total:.1f} %)"
                f"; interleaved v2: + {c2:.3f} ms = {total2:.2f} ms ({100 * total2 / full:.1f} %; coding {100 * c2 / total2:.1f} %)"
            )
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
