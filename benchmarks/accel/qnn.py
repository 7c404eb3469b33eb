"""QNN HTP benchmark of the bundled default model: int8 and fp16 compiled for each Snapdragon SoC, placement,
compile time, and fidelity in the x86_64 HTP simulator (NOT a phone: numerics and simulator cycle counts only).

    .venv/bin/python benchmarks/accel/qnn.py [--socs all] [--simulate-socs SM8650] [--views 32]
                                             [--quantize int8 fp16] [--out benchmarks/results]

Two fsplit_mobile.export(target="qnn") runs: every SoC in --socs compiled and placed without simulation
(offline compile time, placement), then the SoCs in --simulate-socs verified in the simulator on the held-out
images with --views views each (the simulator takes seconds per 224x224 inference, so not every SoC is
simulated on a shared machine). Writes qnn.json and qnn.md: per artifact the compile time (ModelCompiler,
seconds on this host), the placement (nodes on the HTP, EPContext nodes, CPU fallback), and where simulated:
symbols differing vs PyTorch eager fp32, bpp change, teacher top-1 agreement change, simulator seconds per
inference and the simulator's HTP cycles per inference (simulator figures, never device milliseconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "export"))
warnings.filterwarnings("ignore")


def _recipe(tmp: Path, views: int | None) -> Path | None:
    """The bundled recipe with another number of evaluation views (None: the bundled one as is)."""
    if views is None:
        return None
    import re

    from fsplit_mobile.export.recipe import DEFAULT_RECIPE

    text = re.sub(r"(?m)^views = 32\b.*$", f"views = {int(views)}", DEFAULT_RECIPE.read_text())
    text = text.replace("@package/", str(DEFAULT_RECIPE.parent.parent) + "/")
    path = tmp / "recipe.toml"
    path.write_text(text)
    return path


def _row(r, art) -> dict:
    acc = art.accelerator
    report = json.loads((art.path / "report.json").read_text())
    profile = json.loads((art.path / acc["profile"]).read_text()) if acc.get("profile") else {}
    p = acc["placement"]
    m = r.metrics or {}
    samples = report["samples"]["count"]
    return {
        "artifact": art.path.name,
        "soc": acc["soc"],
        "soc_name": acc["soc_name"],
        "quantization": r.quantization,
        "compile_s": acc["compile_s"],
        "soc_id": acc["soc_id"],
        "encoder_bytes": r.size_bytes,
        "nodes_total": p["nodes_total"],
        "nodes_on_htp": p["nodes_on_accelerator"],
        "partitions": p["partitions"],
        "fallback": [f"{n['name']} ({n['op_type']})" for n in p["fallback"]],
        "samples": samples if report["executed"] else 0,
        "symbols_differing": m.get("symbol_flip_fraction"),
        "symbols_unexplained": m.get("symbols_unexplained"),
        "bpp_eager": m.get("bpp_reference"),
        "bpp_artifact": m.get("bpp_artifact"),
        "bpp_change": m.get("bpp_relative_change"),
        "top1_agreement_change_pp": m.get("top1_agreement_change_pp"),
        "targets": report.get("targets"),
        "simulated": report["executed"],
        "simulator_s_per_inference": round(r.timings_s["verify"] / samples, 3) if report["executed"] else None,
        "simulator_htp_cycles_per_inference": profile.get("total_cycles_mean"),
        "timings_s": r.timings_s,
    }


def markdown(doc: dict) -> str:
    lines = [
        "# QNN HTP (Snapdragon NPU) artifacts of the default model",
        "",
        f"Measured {doc['created']} on {doc['machine']['cpu']} ({doc['machine']['logical_cpus']} logical CPUs, shared; load at start {doc['machine']['load_average_start'][0]:.1f}), "
        f"{doc['machine']['os']}; onnxruntime {doc['versions']['onnxruntime']}, onnxruntime-qnn "
        f"{doc['versions']['onnxruntime-qnn']} (QNN SDK {doc['versions']['qnn_sdk']}).",
        "",
        "**No phone was used.** Fidelity comes from the x86_64 HTP simulator; cycles are simulator counts, "
        "never device milliseconds. Compile time is the offline ModelCompiler on this host.",
        "",
        "## Compile and placement (every SoC)",
        "",
        "| artifact | compile s | nodes on HTP | EPContext nodes | CPU fallback | SoC id |",
        "|---" * 6 + "|",
    ]
    for a in doc["compiled"]:
        if "error" in a:
            lines.append(f"| {a['artifact']} | FAILED: {a['error']} | | | | |")
            continue
        lines.append(
            f"| {a['artifact']} | {a['compile_s']:.2f} | {a['nodes_on_htp']}/{a['nodes_total']} | "
            f"{a['partitions']} | {', '.join(a['fallback']) or 'none'} | {a['soc_id']} |"
        )
    lines += [
        "",
        f"## Fidelity in the x86_64 HTP simulator ({doc['samples']} held-out views each)",
        "",
        "| artifact | symbols differing | bpp eager / artifact | top-1 agreement change | simulator s/inference "
        "| simulator HTP cycles / inference |",
        "|---" * 6 + "|",
    ]
    for a in doc["simulated"]:
        if "error" in a:
            lines.append(f"| {a['artifact']} | FAILED: {a['error']} | | | | |")
            continue
        agree = a["top1_agreement_change_pp"]
        lines.append(
            f"| {a['artifact']} | {100 * a['symbols_differing']:.3f} % | {a['bpp_eager']:.4f} / "
            f"{a['bpp_artifact']:.4f} ({100 * a['bpp_change']:+.2f} %) | "
            f"{'n/a' if agree is None else f'{agree:+.2f} pp'} | {a['simulator_s_per_inference']:.2f} | "
            f"{a['simulator_htp_cycles_per_inference']:.3g} |"
        )
    lines += [
        "",
        "Targets: symbols differing <= 2 % (int8), <= 0.2 % (fp16), enforced by the export (an artifact "
        "above them is not written); 100 % of nodes on the HTP as one EPContext node. Simulator seconds "
        "include the shared machine's load.",
        "",
        f"Command: `{doc['command']}` ({doc['wall_s']:.0f} s wall).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socs", nargs="+", default=["all"])
    ap.add_argument("--simulate-socs", nargs="*", default=["SM8650"])
    ap.add_argument("--views", type=int, default=None, help="held-out views per image (default: the recipe's)")
    ap.add_argument("--quantize", nargs="+", default=["int8", "fp16"])
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    from run import machine  # benchmarks/export/run.py

    from fsplit_mobile.export import api
    from fsplit_mobile.runtime import Artifact, qnn

    t0 = time.perf_counter()

    def log(kind, **info):
        if kind in ("artifact_end", "step_end", "prepare_end"):
            print(kind, info, file=sys.stderr, flush=True)

    def rows_of(summary):
        return [
            _row(r, Artifact.open(r.path))
            if r.ok
            else {"artifact": f"qnn-{r.variant}-{r.quantization}", "error": r.error}
            for r in summary.results
        ]

    ok = True
    with tempfile.TemporaryDirectory(prefix="fsplit-qnn-bench-") as tmp:
        compiled = api.export(
            "qnn",
            args.quantize,
            out=Path(tmp) / "compiled",
            keep_going=True,
            target_options={"qnn": {"socs": args.socs, "simulate": False}},
            progress=log,
        )
        compiled_rows = rows_of(compiled)
        simulated_rows = []
        if args.simulate_socs:
            simulated = api.export(
                "qnn",
                args.quantize,
                out=Path(tmp) / "simulated",
                keep_going=True,
                recipe=_recipe(Path(tmp), args.views),
                target_options={"qnn": {"socs": args.simulate_socs}},
                progress=log,
            )
            simulated_rows = rows_of(simulated)
            ok = simulated.ok
        ok = ok and compiled.ok
        samples = next((a["samples"] for a in simulated_rows if a.get("samples")), 0)
    doc = {
        "schema": "fsplit-bench-qnn/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": {
            "onnxruntime": __import__("onnxruntime").__version__,
            "onnxruntime-qnn": qnn.ep_version(),
            "qnn_sdk": qnn.qnn_sdk_version(),
        },
        "command": "python benchmarks/accel/qnn.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "wall_s": round(time.perf_counter() - t0, 1),
        "samples": samples,
        "compiled": compiled_rows,
        "simulated": simulated_rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "qnn.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "qnn.md").write_text(markdown(doc))
    print(markdown(doc))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
