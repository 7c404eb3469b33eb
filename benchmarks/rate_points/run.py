"""Variable bit-rate on the bundled default (models/bundled.py BUNDLED_DEFAULT with export/recipe.py DEFAULT_RECIPE;
since issue 20 light-lite0, three rate points; `--checkpoint units` runs the bottleneck units' five instead): export
one ONNX fp32 artifact with all of them (the recipe's evaluation: held-out photos x 2 views with the teacher, so
`measured` carries bytes and teacher top-1 agreement per point), serve it with a real fsplit-serve
process, send held-out photos at each rate point with the Python client, and tabulate what the bandwidth policy
picks for a latency budget.

    .venv/bin/python benchmarks/rate_points/run.py [--out benchmarks/results/rate_points] [--images 16]
        [--work .cache/rate_points]   (the artifact, not committed)
"""

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
HELDOUT = REPO / "fsplit_mobile/data/images/heldout"
BANDWIDTHS_MBIT = (0.02, 0.05, 0.1, 0.2, 0.5, 1, 10)
BUDGETS_MS = (10.0, 50.0)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/rate_points"))
    parser.add_argument("--work", default=str(REPO / ".cache/rate_points"), help="where the artifact is written")
    parser.add_argument("--reuse", action="store_true", help="use the artifact already in --work (no export)")
    parser.add_argument("--images", type=int, default=16, help="held-out photos sent per rate point")
    parser.add_argument(
        "--checkpoint", choices=("default", "units"), default="default", help="bundled model (default: the default)"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from fsplit_mobile.client import SplitClient
    from fsplit_mobile.e2e.probe import wait_ready
    from fsplit_mobile.export.rate_points import export_rate_points
    from fsplit_mobile.export.recipe import DEFAULT_RECIPE
    from fsplit_mobile.models.bundled import BUNDLED_DEFAULT, BUNDLED_UNITS
    from fsplit_mobile.runtime import Artifact, rate_points, rate_policy

    checkpoint, recipe = (
        (BUNDLED_DEFAULT, DEFAULT_RECIPE.stem) if args.checkpoint == "default" else (BUNDLED_UNITS, "lite0_b16_units")
    )

    t0 = time.perf_counter()
    art = Path(args.work) / "onnx-none"
    previous = out / "rate_points.json"
    if args.reuse and (art / "manifest.json").is_file() and previous.is_file():
        export_s = json.loads(previous.read_text())["export_s"]  # the run that made the artifact
    else:
        summary = export_rate_points("onnx", "none", checkpoint=checkpoint, recipe=recipe, out=Path(args.work))
        art = summary.results[0].path
        export_s = time.perf_counter() - t0
    artifact = Artifact.open(art)
    points = rate_points.rate_points(artifact)
    measured = {e["index"]: e["measured"] for e in artifact.manifest["rate_points"]}

    port = _port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "fsplit-serve"),
            "--artifact",
            str(art),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        start_new_session=True,
    )
    per_point = {}
    try:
        wait_ready(url, 120)  # the e2e probe's readiness wait
        images = sorted(HELDOUT.glob("*.jpg"))[: args.images]
        with SplitClient(art, url) as client:
            for p in points:
                rows = [client.infer(img, rate_point=p.index) for img in images]
                assert all(r.rate_point == p.index for r in rows)
                per_point[p.index] = {
                    "name": p.name,
                    "latent_shape": list(p.latent_shape),
                    "export_measured": measured[p.index],
                    "sent_bytes_mean": float(np.mean([r.payload_bytes for r in rows])),
                    "server_decode_ms_median": float(np.median([r.server_timings_ms["decode"] for r in rows])),
                    "server_total_ms_median": float(np.median([r.server_timings_ms["total"] for r in rows])),
                    "client_encode_ms_median": float(np.median([r.timings.encode_ms for r in rows])),
                    "images": len(rows),
                }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    policy = {
        str(b): {str(budget): rate_policy.choose(points, b * 1e6, budget).index for budget in BUDGETS_MS}
        for b in BANDWIDTHS_MBIT
    }
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 1) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    compute = artifact.manifest.get("device_compute") or {}
    results = {
        "checkpoint": str(checkpoint.resolve().relative_to(REPO)),
        "recipe": recipe,
        "device_compute": compute,
        "export_s": round(export_s, 1),
        "rate_points": per_point,
        "policy": policy,
        "machine": machine,
    }
    (out / "rate_points.json").write_text(json.dumps(results, indent=1))
    lines = [
        "# Variable bit-rate: the bundled default as one artifact with all its rate points",
        "",
        f"Checkpoint `{results['checkpoint']}` (recipe `{recipe}`), ONNX fp32, exported with `export_rate_points` "
        f"({results['export_s']} s for all points); served by `fsplit-serve`, driven by the Python client "
        f'({args.images} held-out photos per point). Script: `benchmarks/rate_points/run.py`. "export eval" = '
        "the recipe's evaluation (94 held-out photos x 2 views, teacher EfficientNet-Lite0), from "
        "each point's fidelity report. Its views are the whole photo resized to the input size and its mirror "
        "(export/calibration.py), not the crops of the SC2 comparison (benchmarks/results/sc2: centre crop + one "
        "seeded random crop per photo), so the agreements differ from those: light-lite0 agrees less on whole, "
        "squashed photos than on crops.",
        "",
        "| index | name | latent | device MACs (share) | bytes (export eval, mean) | bpp | "
        "teacher top-1 agreement (export eval) | bytes sent (mean) | server decode ms | server total ms | "
        "client encode ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    # the manifest's count from the exported encoder graph (one encoder architecture for every point)
    macs = (
        f"{compute['macs'] / 1e6:.1f} M ({100 * compute['share']:.1f} %)"
        if compute.get("macs") and compute.get("share") is not None
        else "n/a"
    )
    for index, r in per_point.items():
        m = r["export_measured"]
        agree = "n/a" if m.get("top1_agreement") is None else f"{m['top1_agreement']:.3f}"
        lines.append(
            f"| {index} | {r['name']} | {'x'.join(map(str, r['latent_shape']))} | {macs} | {m['bytes_mean']:.0f} | "
            f"{m['bpp']:.4f} | {agree} | {r['sent_bytes_mean']:.0f} | {r['server_decode_ms_median']:.2f} | "
            f"{r['server_total_ms_median']:.1f} | {r['client_encode_ms_median']:.1f} |"
        )
    lines += [
        "",
        "Rate point the bandwidth policy picks (largest whose measured bytes fit the budget):",
        "",
        "| bandwidth (Mbit/s) | " + " | ".join(f"budget {b:g} ms" for b in BUDGETS_MS) + " |",
        "|---|" + "---|" * len(BUDGETS_MS),
    ]
    for b, picks in policy.items():
        lines.append(f"| {b} | " + " | ".join(str(picks[str(x)]) for x in BUDGETS_MS) + " |")
    lines += [
        "",
        "## Machine",
        "",
        "```",
        *(f"{k}: {v}" for k, v in machine.items()),
        "shared 2-core VM, other jobs running (timings are indicative only)",
        "```",
        "",
    ]
    (out / "rate_points.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
