"""Export benchmark: export time per target, artifact sizes, host latency of each artifact in its runtime vs
PyTorch eager fp32, for the bundled default model, all in one run.

    .venv/bin/python benchmarks/export/run.py [--targets all] [--runs 50] [--threads N] [--out benchmarks/results]

For every target and each quantization it supports (executorch none/int8, onnx none/int8, tflite
none/int8/int8-dynamic, coreml none/int8/int8-weights) the bundled model is exported with
fsplit_mobile.export (capture, quantize, lower, verify, report timed per artifact; model loading and the
shared preparation (eager reference, tables, server.onnx, calibration inputs) timed once per export run).
Latency: the encoder file alone (model input -> model output, preprocessing excluded), median of --runs
calls after warm-up, in the artifact's own runtime at each of --threads (default 1 and all
cores); eager is the fp32 DeviceModel on the same canonical input with torch at the same thread count. Core ML files cannot run on
Linux: listed with their size, no latency. Writes export.json and export.md (with a machine description).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
warnings.filterwarnings("ignore")


def _version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict:
    from fsplit_mobile.export.backends.onnx import cpu_has_vnni

    cpu, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    mem = "0"
    try:
        mem = next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "memory_gib": round(int(mem) / 2**20, 1),
        "simd": sorted(f for f in flags if f in {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "fma"}),
        "vnni": cpu_has_vnni(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            p: _version(p)
            for p in (
                "torch",
                "executorch",
                "onnxruntime",
                "onnx",
                "litert-torch",
                "ai-edge-litert",
                "coremltools",
                "numpy",
            )
        },
        "load_average_start": os.getloadavg(),
    }


def time_calls(fn, runs: int, warmup: int = 5) -> dict:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    return {
        "median_ms": statistics.median(samples),
        "p10_ms": samples[len(samples) // 10],
        "p90_ms": samples[(9 * len(samples)) // 10],
        "runs": runs,
    }


def eager_latency(runs: int, threads: int, x: np.ndarray) -> dict:
    import torch

    from fsplit_mobile.models.bundled import load_rate_points

    torch.set_num_threads(threads)
    split = next(iter(load_rate_points(with_server=False).values()))  # the default rate point
    mean = torch.tensor(split.mean).reshape(1, 3, 1, 1)
    std = torch.tensor(split.std).reshape(1, 3, 1, 1)
    xt = torch.from_numpy(x)

    def call():
        with torch.no_grad():
            split.device.symbols((xt - mean) / std)

    return time_calls(call, runs)


def artifact_latency(path: Path, runs: int, threads: int, canonical: np.ndarray) -> dict | None:
    from fsplit_mobile.runtime import Artifact, open_encoder

    art = Artifact.open(path)
    if art.target == "coreml":
        return None
    encoder = open_encoder(art, threads=threads)
    x = encoder.input_converter.to_model(canonical)
    stats = time_calls(lambda: encoder.run(x), runs)
    stats["runtime"] = encoder.backend.name
    stats["threads"] = getattr(encoder.backend, "threads", threads)
    return stats


def default_model() -> str:
    """What is exported: the bundled default's id, recipe and device compute (MACs counted from the exported
    encoder graph, and their share of the full network)."""
    from fsplit_mobile.export.recipe import DEFAULT_RECIPE, load_recipe
    from fsplit_mobile.models.bundled import load_rate_points
    from fsplit_mobile.models.macs import device_share

    recipe = load_recipe(DEFAULT_RECIPE)
    split = next(iter(load_rate_points(with_server=False).values()))  # the default rate point
    share = device_share(split.device.encoder, split.input_size)
    return (
        f"{recipe.model_id}, default rate point (bundled default, recipe {DEFAULT_RECIPE.stem}); device "
        f"{share['device_macs'] / 1e6:.1f} M MACs, {100 * share['share']:.1f} % of the network"
    )


def run(args) -> dict:
    from fsplit_mobile.export import api
    from fsplit_mobile.export.backends import backend_class, resolve_targets
    from fsplit_mobile.runtime.preprocess import InputConverter, load_rgb

    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "model": default_model(),
        "rows": [],
    }
    out_dir = Path(args.artifacts or tempfile.mkdtemp(prefix="fsplit-export-bench-"))
    image = sorted((REPO / "fsplit_mobile/data/images/eval").iterdir())[0]
    spec = {"shape": [1, 3, 224, 224], "layout": "NCHW", "value_range": [0.0, 1.0], "normalization_in_graph": True}
    canonical = InputConverter(spec).canonical(load_rgb(image, (224, 224)))
    report["threads"] = args.threads
    report["eager"] = {t: eager_latency(args.runs, t, canonical) for t in args.threads}
    report["eager_what"] = "PyTorch eager fp32 DeviceModel.symbols (torch.no_grad)"
    report["shared_steps_s"] = {}
    for target in resolve_targets(args.targets):
        quants = list(backend_class(target).quantizations)
        summary = api.export(target, quants, out=out_dir, keep_going=True)
        # the run's shared steps, once per export call: load (checkpoint) and prepare (eager reference on the
        # held-out set, tables, server.onnx, calibration inputs); no artifact's steps include them
        report["shared_steps_s"][target] = dict(summary.timings_s)
        fp32_size = next((r.size_bytes for r in summary.results if r.quantization == "none" and r.ok), None)
        for r in summary.results:
            row = {
                "target": target,
                "quantization": r.quantization,
                "ok": r.ok,
                "error": r.error,
                "export_s": round(sum(r.timings_s.values()), 2),
                "steps_s": r.timings_s,
                "size_bytes": r.size_bytes,
                "size_vs_fp32": (round(r.size_bytes / fp32_size, 3) if r.ok and fp32_size else None),
                "executed": r.executed,
                "fidelity": None,
                "latency": None,
            }
            if r.ok and r.metrics:
                m = r.metrics
                row["fidelity"] = {
                    "symbol_flip_fraction": m["symbol_flip_fraction"],
                    "bpp_relative_change": m["bpp_relative_change"],
                    "top1_agreement_change_pp": m["top1_agreement_change_pp"],
                }
            if r.ok:
                lat = {t: artifact_latency(r.path, args.runs, t, canonical) for t in args.threads}
                row["latency"] = None if all(v is None for v in lat.values()) else lat
            report["rows"].append(row)
    report["artifacts_dir"] = str(out_dir)
    report["load_average_end"] = os.getloadavg()
    return report


def markdown(report: dict) -> str:
    m, threads = report["machine"], report["threads"]
    e = {int(k): v for k, v in report["eager"].items()}
    for r in report["rows"]:
        if r.get("latency"):
            r["latency"] = {int(k): v for k, v in r["latency"].items()}
    lines = [
        f"# Export benchmark ({report['date']})",
        "",
        f"Model: {report['model']}. Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['memory_gib']} GiB, "
        f"SIMD {', '.join(m['simd'])} (VNNI: {m['vnni']}); {m['os']}; Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + ".",
        f"Load average at start {tuple(round(x, 2) for x in m['load_average_start'])}, at end "
        f"{tuple(round(x, 2) for x in report['load_average_end'])} (machine shared with other jobs: latencies "
        "are indicative).",
        "",
        f"Eager reference: {report['eager_what']}: "
        + "; ".join(
            f"{t} thread(s) median {e[t]['median_ms']:.2f} ms (p10 {e[t]['p10_ms']:.2f}, p90 {e[t]['p90_ms']:.2f})"
            for t in threads
        )
        + ".",
        "",
    ]
    if len(threads) > 1 and e[threads[-1]]["median_ms"] > 2 * e[threads[0]]["median_ms"]:
        lines += [
            f"Note: with {threads[-1]} threads torch eager was slower than with {threads[0]} "
            f"({e[threads[-1]]['median_ms']:.0f} vs {e[threads[0]]['median_ms']:.0f} ms): its OpenMP threads "
            "spin against the other jobs on this shared machine. The single-thread column is the fair "
            "comparison here.",
            "",
        ]
    shared = report.get("shared_steps_s") or {}
    if shared:
        lines += [
            "Shared steps of each export run (once per run, before its artifacts), load / prepare s: "
            + "; ".join(f"{t} {v.get('load', 0):.1f} / {v.get('prepare', 0):.1f}" for t, v in shared.items())
            + ".",
            "",
        ]
    lines += [
        "| target | quant | export s | size KiB | vs fp32 | "
        + " | ".join(f"latency ms, {t} thr (vs eager)" for t in threads)
        + " | symbols differing | bpp change | top-1 agreement change |",
        "|---|---|---:|---:|---:|" + "---:|" * len(threads) + "---:|---:|---:|",
    ]
    for r in report["rows"]:
        if not r["ok"]:
            lines.append(f"| {r['target']} | {r['quantization']} | failed: {r['error']} |" + " |" * (6 + len(threads)))
            continue
        f = r["fidelity"]
        if r["latency"] is None:
            lat = ["not run (no Core ML runtime on Linux)"] + [""] * (len(threads) - 1)
        else:
            lat = [
                f"{r['latency'][t]['median_ms']:.2f} ({e[t]['median_ms'] / r['latency'][t]['median_ms']:.1f}x)"
                for t in threads
            ]
        fl = (
            ("", "", "")
            if f is None
            else (
                f"{100 * f['symbol_flip_fraction']:.2f} %",
                f"{100 * f['bpp_relative_change']:+.2f} %",
                "n/a" if f["top1_agreement_change_pp"] is None else f"{f['top1_agreement_change_pp']:+.2f} pp",
            )
        )
        ratio = "" if r["size_vs_fp32"] is None else f"{100 * r['size_vs_fp32']:.0f} %"
        lines.append(
            f"| {r['target']} | {r['quantization']} | {r['export_s']:.1f} | {r['size_bytes'] / 1024:.0f} | "
            f"{ratio} | " + " | ".join(lat) + f" | {fl[0]} | {fl[1]} | {fl[2]} |"
        )
    lines += [
        "",
        "Export s = capture + quantize + lower + verify + report for that artifact (one torch thread; "
        "model loading and the shared preparation are timed separately, above; the first artifact of each target also "
        "pays the import of its converter: executorch.exir, coremltools, litert_torch). Latency = the encoder file alone, "
        "model input to model output, median of the runs after warm-up; '(Nx)' = speed-up over PyTorch eager "
        "fp32 at the same thread count. Fidelity columns compare with eager fp32 on the recipe's held-out samples (94 photos x 2 views = 188) "
        "(each artifact's report.md has the full report).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", default="all", help="comma-separated targets or 'all'")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--threads", default=f"1,{os.cpu_count() or 1}", help="comma-separated thread counts")
    p.add_argument("--artifacts", default=None, help="where to write the artifacts (default: a temp folder)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    p.add_argument("--from-json", default=None, help="only re-render the markdown of an earlier export.json")
    args = p.parse_args(argv)
    if args.from_json:
        report = json.loads(Path(args.from_json).read_text())
        Path(args.from_json).with_suffix(".md").write_text(markdown(report))
        return 0
    args.targets = args.targets.split(",") if args.targets != "all" else "all"
    args.threads = sorted({int(t) for t in args.threads.split(",")})
    report = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "export.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "export.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
