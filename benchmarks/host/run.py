"""Host benchmark of the default model: every target this host can run x {fp32, int8}, in one run.

    .venv/bin/python benchmarks/host/run.py [--checkpoint PATH] [--artifacts DIR] [--runs N] [--threads T]

Exports (or reuses) executorch/tflite/onnx artifacts in fp32 ("none") and int8, benchmarks each with the
Python device agent on this host (and the native runner for ExecuTorch), adds PyTorch eager fp32 with the
same images, preprocessing and C coder, measures this CPU's GEMM peak and the encoder's MACs, and writes
benchmarks/results/host-<date>-<host>.{json,md,png} with a machine description. Goals checked (issue 5):
ExecuTorch int8 >= 2x faster than eager fp32 and within 1.2x of ONNX Runtime int8; entropy coding <= 5 %.
"""

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fsplit_mobile.bench import device_info  # noqa: E402
from fsplit_mobile.bench.bundle import RunnerSpec  # noqa: E402
from fsplit_mobile.bench.result import build_result  # noqa: E402
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark  # noqa: E402
from fsplit_mobile.bench.transports import LocalTransport  # noqa: E402

TARGETS = ("executorch", "tflite", "onnx")
QUANTS = ("none", "int8")


def export_artifacts(out: Path, checkpoint):
    from fsplit_mobile import export
    from fsplit_mobile.export.recipe import DEFAULT_RECIPE

    kwargs = {"recipe": DEFAULT_RECIPE}  # the bundled default (its default rate point); --checkpoint overrides
    if checkpoint:
        kwargs["checkpoint"] = checkpoint
    summary = export(list(TARGETS), list(QUANTS), out=out, keep_going=True, **kwargs)
    return summary


def find_artifacts(root: Path):
    found = {}
    for t in TARGETS:
        for q in QUANTS:
            d = root / f"{t}-{q}"
            if (d / "manifest.json").is_file():
                found[(t, q)] = d
    return found


def eager_result(checkpoint, artifact_dir: Path, runs: int, warmup: int, threads: int, image_limit) -> dict:
    """PyTorch eager fp32 encoder with the same inputs, conversions and C coder, as a bench result dict."""
    import hashlib
    import resource

    import torch

    from fsplit_mobile.bench.device.ppm import read_ppm
    from fsplit_mobile.bench.inputs import prepare_inputs
    from fsplit_mobile.codec import CodecTables, encode_latent
    from fsplit_mobile.models.bundled import load_rate_points
    from fsplit_mobile.runtime.preprocess import InputConverter

    torch.set_num_threads(threads)
    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    spec = dict(
        manifest["input"],
        normalization_in_graph=False,
        layout="NCHW",
        quantization=None,
        shape=[1, 3, *manifest["input"]["resize"]["size"]],
    )
    to_input = InputConverter(spec)
    t0 = time.perf_counter()
    model = next(iter(load_rate_points(checkpoint, with_server=False).values())).device.eval()
    t1 = time.perf_counter()
    tables = CodecTables.read(artifact_dir / manifest["files"]["tables"])
    with tempfile.TemporaryDirectory() as tmp:
        index = prepare_inputs(manifest["input"], tmp, limit=image_limit)
        images = [(i["name"], read_ppm(Path(tmp) / i["file"])) for i in index]
    events = [
        {
            "event": "hello",
            "runner": "pytorch-eager",
            "runtime": {"name": "torch", "version": torch.__version__},
            "threads": torch.get_num_threads(),
            "affinity": sorted(__import__("os").sched_getaffinity(0)),
        },
        {"event": "load", "model_load_ms": (t1 - t0) * 1e3},
    ]

    def one(rgb):
        a = time.perf_counter_ns()
        x = torch.from_numpy(to_input(rgb))
        b = time.perf_counter_ns()
        with torch.no_grad():
            sym = model.symbols(x)[0].to(torch.int32).numpy()
        c = time.perf_counter_ns()
        stream = encode_latent(tables, sym)
        d = time.perf_counter_ns()
        return (a, b, c, d), sym, stream

    for _ in range(warmup):
        one(images[0][1])
    for name, rgb in images:
        for r in range(runs):
            (a, b, c, d), sym, stream = one(rgb)
            events.append(
                {
                    "event": "sample",
                    "image": name,
                    "run": r,
                    "preprocess_ms": (b - a) / 1e6,
                    "encoder_ms": (c - b) / 1e6,
                    "entropy_ms": (d - c) / 1e6,
                    "total_ms": (d - a) / 1e6,
                }
            )
        events.append(
            {
                "event": "image",
                "image": name,
                "bytes": len(stream),
                "bpp": 8 * len(stream) / (rgb.shape[0] * rgb.shape[1]),
                "symbols_sha256": hashlib.sha256(sym.astype("<i4").tobytes()).hexdigest(),
                "stream_sha256": hashlib.sha256(stream).hexdigest(),
                "deterministic": True,
            }
        )
    events.append(
        {
            "event": "end",
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "samples": runs * len(images),
        }
    )
    meta = {
        "artifact": {"model_id": manifest["model_id"], "target": "pytorch-eager", "quantization": "none"},
        "device": device_info.collect(LocalTransport()),
        "config": {
            "runs": runs,
            "warmup": warmup,
            "threads": threads,
            "runner": "in-process",
            "images": [n for n, _ in images],
        },
    }
    return build_result(events, meta, "complete")


def p50(result, stage):
    return result["stages"][stage]["p50"]


def machine_description() -> dict:
    info = device_info.collect(LocalTransport())
    try:
        info["lscpu"] = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        pass
    info["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    import onnxruntime
    import torch
    from executorch import version as etv

    info["versions"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "executorch": etv.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
    }
    try:
        import ai_edge_litert

        info["versions"]["ai_edge_litert"] = getattr(ai_edge_litert, "__version__", "?")
    except ImportError:
        pass
    return info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="fsplit-checkpoint/1 file (default: bundled model)")
    p.add_argument("--artifacts", default=None, help="reuse <target>-<quant> folders here (else export)")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--image-limit", type=int, default=4)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = p.parse_args(argv)

    started = datetime.datetime.now()
    work = Path(tempfile.mkdtemp(prefix="fsplit-host-bench-"))
    machine = machine_description()
    if args.artifacts:
        art_root = Path(args.artifacts)
        export_note = f"reused artifacts from {art_root}"
    else:
        art_root = work / "artifacts"
        t = time.time()
        summary = export_artifacts(art_root, args.checkpoint)
        export_note = f"exported in {time.time() - t:.0f} s: {summary}"
    artifacts = find_artifacts(art_root)
    if not artifacts:
        sys.exit(f"no artifacts under {art_root}")
    print(f"artifacts: {', '.join(f'{t}-{q}' for t, q in artifacts)}", flush=True)

    native = subprocess.run([str(REPO / "runtimes/native/build.sh"), "host"], capture_output=True, text=True)
    native_bin = REPO / "runtimes/native/build/fsplit-bench-native" if native.returncode == 0 else None

    results = []
    common = dict(runs=args.runs, warmup=args.warmup, threads=args.threads, image_limit=args.image_limit)
    for (target, quant), folder in artifacts.items():
        specs = [RunnerSpec(kind="python", python=sys.executable)]
        if target == "executorch" and native_bin:
            specs.append(RunnerSpec(kind="native", native_binary=str(native_bin)))
        for spec in specs:
            label = f"{target}-{quant}-{spec.kind}"
            print(f"benchmarking {label} ...", flush=True)
            try:
                results.append(
                    run_benchmark(
                        folder,
                        LocalTransport(),
                        BenchConfig(runner=spec, **common),
                        out_dir=work / "runs" / label,
                        progress=False,
                        write_report=False,
                    )
                )
            except Exception as e:  # keep going: one failing target must not lose the others
                print(f"  {label} failed: {type(e).__name__}: {e}", flush=True)
    reference = artifacts.get(("executorch", "none")) or next(iter(artifacts.values()))
    print("benchmarking pytorch eager fp32 ...", flush=True)
    eager = eager_result(args.checkpoint, reference, args.runs, args.warmup, args.threads, args.image_limit)
    results.append(eager)

    from peak import encoder_macs, torch_mm_gflops, xnnpack_gemm_gops

    from fsplit_mobile.models.bundled import load_rate_points

    default = next(iter(load_rate_points(args.checkpoint, with_server=False).values()))
    macs = encoder_macs(default.device.encoder, (1, 3, 224, 224))
    peaks = {
        "torch_mm_fp32_gflops": torch_mm_gflops(args.threads),
        "xnnpack_gemm_fp32_gflops": xnnpack_gemm_gops(False, args.threads, work),
        "xnnpack_gemm_int8_gops": xnnpack_gemm_gops(True, args.threads, work),
    }

    summary = summarize(results, eager, macs, peaks)
    write_outputs(Path(args.out), results, summary, machine, started, export_note, args)


def _find(results, target, quant, runner):
    for r in results:
        if (r["artifact"]["target"], r["artifact"]["quantization"], r["config"]["runner"]) == (target, quant, runner):
            return r
    return None


def summarize(results, eager, macs, peaks) -> dict:
    rows = []
    for r in results:
        total = p50(r, "total_ms")
        quant = r["artifact"]["quantization"]
        peak = peaks["xnnpack_gemm_int8_gops"] if quant.startswith("int8") else peaks["xnnpack_gemm_fp32_gflops"]
        bound_ms = 2 * macs / (peak * 1e9) * 1e3
        enc_min = r["stages"]["encoder_ms"]["min"]
        rows.append(
            {
                "target": r["artifact"]["target"],
                "quantization": quant,
                "runner": r["config"]["runner"],
                "encoder_ms": p50(r, "encoder_ms"),
                "encoder_min_ms": enc_min,
                "entropy_ms": p50(r, "entropy_ms"),
                "preprocess_ms": p50(r, "preprocess_ms"),
                "total_ms": total,
                "total_p90_ms": r["stages"]["total_ms"]["p90"],
                "bytes": r["bytes"].get("mean"),
                "entropy_share": p50(r, "entropy_ms") / total if total else None,
                "speedup_vs_eager_fp32": p50(eager, "encoder_ms") / p50(r, "encoder_ms"),
                "compute_bound_ms": bound_ms,
                "gap_to_bound": enc_min / bound_ms,
            }
        )
    ort_int8 = _find(results, "onnx", "int8", "python")
    goals = {}
    for runner in ("python", "native"):
        et_int8 = _find(results, "executorch", "int8", runner)
        if et_int8 is None:
            continue
        speedup = p50(eager, "encoder_ms") / p50(et_int8, "encoder_ms")
        goals[f"executorch_int8_{runner}_speedup_vs_eager_fp32"] = speedup
        goals[f"executorch_int8_{runner}_ge_2x_eager"] = speedup >= 2.0
        if ort_int8:
            ratio = p50(et_int8, "encoder_ms") / p50(ort_int8, "encoder_ms")
            goals[f"executorch_int8_{runner}_over_ort_int8"] = ratio
            goals[f"executorch_int8_{runner}_within_1p2x_ort"] = ratio <= 1.2
    goals["max_entropy_share"] = max(r["entropy_share"] for r in rows if r["entropy_share"] is not None)
    goals["entropy_le_5pct_everywhere"] = goals["max_entropy_share"] <= 0.05
    return {"encoder_macs": macs, "peaks": peaks, "rows": rows, "goals": goals}


def write_outputs(out: Path, results, summary, machine, started, export_note, args):
    from fsplit_mobile.bench.plots import plot_stage_bars

    out.mkdir(parents=True, exist_ok=True)
    stem = f"host-{started:%Y%m%d-%H%M}-{platform.node()}"
    payload = {
        "schema": "fsplit-host-benchmark/1",
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "machine": machine,
        "export": export_note,
        "settings": vars(args),
        "summary": summary,
        "results": [{k: v for k, v in r.items() if k != "samples"} for r in results],
    }
    (out / f"{stem}.json").write_text(json.dumps(payload, indent=1))
    plot_stage_bars(results, out / f"{stem}.png")
    s = summary
    lines = [
        f"# Host benchmark {started:%Y-%m-%d %H:%M} on {platform.node()}",
        "",
        f"Machine: {machine.get('cpu_model')}, {machine.get('cores')} cores, SIMD {machine.get('simd')}, "
        f"load average at start {' '.join(machine.get('loadavg', []))}. Versions: {machine.get('versions')}.",
        f"Settings: {args.runs} runs x {args.image_limit} images after {args.warmup} warm-up runs, "
        f"{args.threads} threads. {export_note.split(':')[0]}.",
        "",
        "| target | quant | runner | encoder p50 ms | encoder min ms | entropy p50 ms | preprocess p50 ms "
        "| total p50 ms | total p90 ms | bytes | entropy share | vs eager fp32 | bound ms | gap to bound |",
        "|---" * 14 + "|",
    ]
    for r in s["rows"]:
        lines.append(
            f"| {r['target']} | {r['quantization']} | {r['runner']} | {r['encoder_ms']:.2f} | "
            f"{r['encoder_min_ms']:.2f} | "
            f"{r['entropy_ms']:.3f} | {r['preprocess_ms']:.3f} | {r['total_ms']:.2f} | "
            f"{r['total_p90_ms']:.2f} | {r['bytes']:.0f} | {100 * r['entropy_share']:.1f} % | "
            f"{r['speedup_vs_eager_fp32']:.2f}x | {r['compute_bound_ms']:.2f} | {r['gap_to_bound']:.1f}x |"
        )
    pk = s["peaks"]
    lines += [
        "",
        f"Encoder: {s['encoder_macs'] / 1e6:.1f} M MACs per 224x224 image. Measured peaks "
        f"({args.threads} threads, 1024^3 GEMM): XNNPACK fp32 {pk['xnnpack_gemm_fp32_gflops']:.1f} GFLOP/s, "
        f"XNNPACK int8 {pk['xnnpack_gemm_int8_gops']:.1f} GOP/s, torch.mm fp32 {pk['torch_mm_fp32_gflops']:.1f} "
        "GFLOP/s. Bound = 2 x MACs / peak of the row's precision; gap = encoder min / bound (min: least "
        "disturbed by other load on a shared machine). 'vs eager fp32' and the goals compare p50s.",
        "",
        "Goals: "
        + ", ".join(f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}" for k, v in s["goals"].items()),
        "",
    ]
    (out / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {out / stem}.json/.md/.png")


if __name__ == "__main__":
    main()
