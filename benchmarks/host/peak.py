"""This CPU's measured compute peak and an encoder's MAC count (for the compute-bound gap).

Peak = best of several runs of a 1024x1024x1024 GEMM through ExecuTorch/XNNPACK (fp32, and int8 via the
XNNPACK PT2E quantizer), the kernels the encoder itself runs on; torch.mm fp32 is recorded for reference.
"""

import time

import numpy as np
import torch

N = 1024


def encoder_macs(module: torch.nn.Module, input_shape) -> int:
    """Multiply-accumulates of conv/linear/matmul ops in one forward pass (FlopCounterMode FLOPs / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.rand(*input_shape))
    return int(counter.get_total_flops() // 2)


def _best_seconds(fn, repeats=7, warmup=2):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def torch_mm_gflops(threads: int) -> float:
    torch.set_num_threads(threads)
    a, b = torch.rand(N, N), torch.rand(N, N)
    return 2 * N**3 / _best_seconds(lambda: torch.mm(a, b)) / 1e9


def _linear_pte(quantized: bool) -> bytes:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    model = torch.nn.Linear(N, N, bias=False).eval()
    example = (torch.rand(N, N),)
    ep = torch.export.export(model, example)
    if quantized:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
        prepared = prepare_pt2e(ep.module(), quantizer)
        prepared(*example)
        ep = torch.export.export(convert_pt2e(prepared), example)
    return to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()]).to_executorch().buffer


def xnnpack_gemm_gops(quantized: bool, threads: int, workdir) -> float:
    """Best GOP/s (2 ops per MAC) of a 1024^3 GEMM in ExecuTorch/XNNPACK, fp32 or int8."""
    from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool
    from executorch.runtime import Runtime

    path = f"{workdir}/gemm-{'int8' if quantized else 'fp32'}.pte"
    with open(path, "wb") as f:
        f.write(_linear_pte(quantized))
    _unsafe_reset_threadpool(threads)
    method = Runtime.get().load_program(path).load_method("forward")
    x = torch.from_numpy(np.random.default_rng(0).random((N, N), dtype=np.float32))
    return 2 * N**3 / _best_seconds(lambda: method.execute([x])) / 1e9
