"""Tables, speedups, crossovers and the plot of the end-to-end benchmark (from its results dict)."""

import math
from pathlib import Path


def crossover(bandwidths, split_ms, offload_ms):
    """Bandwidths (Mbit/s, interpolated on a log scale) where split and offload latency cross.

    Returns a list of {"mbit": x, "split_faster_below": bool}; empty when one is faster everywhere."""
    out = []
    pts = list(zip(bandwidths, split_ms, offload_ms))
    for (b0, s0, o0), (b1, s1, o1) in zip(pts, pts[1:]):
        d0, d1 = o0 - s0, o1 - s1  # > 0: split faster
        if d0 == 0:
            out.append({"mbit": b0, "split_faster_below": d1 < 0})
        elif d0 * d1 < 0:
            t = d0 / (d0 - d1)
            x = math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0)))
            out.append({"mbit": round(x, 2), "split_faster_below": d0 > 0})
    return out


def speedups(results: dict) -> dict:
    """{split: {codec: {"per_bandwidth": {bw: offload/split}, "max": .., "crossover": [...]}}}."""
    bws = results["bandwidths_mbit"]
    e2e = results["e2e_ms"]
    out: dict[str, dict] = {}
    for split in results["split_methods"]:
        out[split] = {}
        for codec in results["offload_methods"]:
            per = {str(bw): e2e[codec][str(bw)]["total"] / e2e[split][str(bw)]["total"] for bw in bws}
            out[split][codec] = {
                "per_bandwidth": per,
                "max": max(per.values()),
                "min": min(per.values()),
                "crossover": crossover(
                    bws, [e2e[split][str(b)]["total"] for b in bws], [e2e[codec][str(b)]["total"] for b in bws]
                ),
            }
    return out


def local_comparison(results: dict) -> dict:
    """Every method against the full teacher run on the device (results["local_teacher"], the same latency at every
    bandwidth): {method: {"per_bandwidth": {bw: local/method}, "crossover": [...], "faster_at": [bws]}}.
    A crossover's split_faster_below is False when the method (sending over the link) wins above it."""
    local = results.get("local_teacher")
    if not local:
        return {}
    bws = results["bandwidths_mbit"]
    out = {}
    for name, per_bw in results["e2e_ms"].items():
        totals = [per_bw[str(b)]["total"] for b in bws]
        out[name] = {
            "per_bandwidth": {str(b): local["total_ms"] / t for b, t in zip(bws, totals)},
            "crossover": crossover(bws, totals, [local["total_ms"]] * len(bws)),
            "faster_at": [b for b, t in zip(bws, totals) if t < local["total_ms"]],
        }
    return out


def local_lines(results: dict) -> list[str]:
    local = results.get("local_teacher")
    if not local:
        return []
    comparison = results.get("vs_local_teacher") or local_comparison(results)
    d = local["device_ms"]
    lines = [
        "",
        "## Against the full teacher on the device (no network)",
        "",
        f"{local['name']}: {local['total_ms']:.1f} ms at every bandwidth (preprocess {d['preprocess']:.2f} ms, "
        f"teacher {d['teacher']:.1f} ms; {local['runtime']}), agreement {local['agreement']:.3f}. Per method: "
        "local latency / method latency (> 1: sending over the link is faster).",
        "",
    ]
    for name, c in comparison.items():
        agreement = results["methods"][name]["agreement"]
        if c["crossover"]:
            cross = "; ".join(
                f"crossover at {x['mbit']} Mbit/s (sending faster {'below' if x['split_faster_below'] else 'above'})"
                for x in c["crossover"]
            )
        elif c["faster_at"]:
            cross = "faster than the local teacher at every bandwidth tried"
        else:
            cross = "the local teacher is faster at every bandwidth tried"
        lines.append(
            f"- {name} (agreement {agreement:.3f}): "
            + ", ".join(f"{b} Mbit/s: {c['per_bandwidth'][str(b)]:.2f}x" for b in results["bandwidths_mbit"])
            + f"; {cross}"
        )
    return lines


def device_compute_text(method: dict) -> str:
    """The device encoder's MACs and share (split methods: from the artifact's manifest); offloading runs a codec."""
    dc = method.get("device_compute")
    if dc:
        return f"{dc['macs'] / 1e6:.1f} M ({100 * dc['share']:.1f} %)"
    return "codec only" if "artifact" not in method else "not recorded"


def _fmt(x, nd=1):
    return f"{x:.{nd}f}"


def markdown(results: dict) -> str:
    bws = results["bandwidths_mbit"]
    lines = ["# End-to-end latency: split computing vs offloading the image", ""]
    t = results["transfer"]
    lines += [
        f"Transfer: **{t['mode']}** ({t['detail']}); RTT {results['rtt_ms']} ms; "
        f"{results['crops']} held-out crops for quality/agreement, {t['payloads']} payloads x {t['reps']} "
        f"repetitions per bandwidth for transfer.",
        "",
    ]
    lines += [
        "## Quality and payloads",
        "",
        "| method | device compute (MACs, share of the network) | teacher top-1 agreement | payload bytes (mean) | "
        "device-side ms (median) | server ms (median) |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in results["methods"].items():
        lines.append(
            f"| {name} | {device_compute_text(m)} | {m['agreement']:.3f} | {m['payload_bytes']['mean']:.0f} | "
            f"{_fmt(m['client_total_ms'], 2)} | {_fmt(m['server_ms']['total'], 2)} |"
        )
    lines += [
        "",
        "Matched quality (lowest quality whose teacher top-1 agreement reaches the split model's "
        f"{results['matching']['target_agreement']:.3f} from `{results['matching']['target']}`):",
        "",
    ]
    for codec, m in results["matching"]["codecs"].items():
        note = "" if m["reached"] else " (never reached: best quality used)"
        lines.append(f"- {codec}: quality {m['quality']}, agreement {m['agreement']:.3f}{note}")
    lines += [
        "",
        "Agreement of every quality tried:",
        "",
        "| quality | " + " | ".join(results["quality_sweep"]) + " |",
        "|---|" + "---|" * len(results["quality_sweep"]),
    ]
    qualities = sorted({int(q) for c in results["quality_sweep"].values() for q in c})
    for q in qualities:
        cells = []
        for sweep in results["quality_sweep"].values():
            s = sweep.get(str(q))
            cells.append(f"{s['agreement']:.3f} / {s['bytes_mean']:.0f} B" if s else "")
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Total latency (ms) per uplink bandwidth",
        "",
        "device encode + coding + request (transfer + server decode + tail), medians",
        "",
        "| method | " + " | ".join(f"{b} Mbit/s" for b in bws) + " |",
        "|---|" + "---|" * len(bws),
    ]
    for name in results["e2e_ms"]:
        lines.append(f"| {name} | " + " | ".join(_fmt(results["e2e_ms"][name][str(b)]["total"]) for b in bws) + " |")
    if results.get("local_teacher"):
        local = results["local_teacher"]
        lines.append(f"| {local['name']} (no network) | " + " | ".join(_fmt(local["total_ms"]) for _ in bws) + " |")
    lines += [
        "",
        "Network part (request time minus server compute), ms:",
        "",
        "| method | " + " | ".join(f"{b}" for b in bws) + " |",
        "|---|" + "---|" * len(bws),
    ]
    for name in results["e2e_ms"]:
        lines.append(f"| {name} | " + " | ".join(_fmt(results["e2e_ms"][name][str(b)]["network"]) for b in bws) + " |")
    lines += ["", "## Speedup of split computing over offloading (offload latency / split latency)", ""]
    for split, per_codec in results["speedup"].items():
        for codec, s in per_codec.items():
            per_bw = ", ".join(f"{b} Mbit/s: {s['per_bandwidth'][str(b)]:.2f}x" for b in bws)
            if s["crossover"]:
                cross = "; ".join(
                    f"crossover at {c['mbit']} Mbit/s (split faster {'below' if c['split_faster_below'] else 'above'})"
                    for c in s["crossover"]
                )
            else:
                cross = (
                    "split faster at every bandwidth tried"
                    if s["min"] > 1
                    else "offloading faster at every bandwidth tried"
                    if s["max"] < 1
                    else "no crossing"
                )
            lines.append(f"- {split} vs {codec}: {per_bw}; max {s['max']:.2f}x; {cross}")
    lines += local_lines(results)
    lines += ["", "## Why", ""] + summary_lines(results)
    lines += ["", "## Machine", "", "```", results["machine_text"], "```", ""]
    return "\n".join(lines)


def plot(results: dict, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bws = results["bandwidths_mbit"]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    styles = {"split": "-o", "jpeg": "--s", "webp": "--^"}
    for name, per_bw in results["e2e_ms"].items():
        kind = "split" if name in results["split_methods"] else name.split("-")[0]
        size = results["methods"][name]["payload_bytes"]["mean"] / 1000
        label = f"{'split ' if kind == 'split' else ''}{name} ({size:.1f} kB, agr. {results['methods'][name]['agreement']:.2f})"
        ax.plot(bws, [per_bw[str(b)]["total"] for b in bws], styles.get(kind, "-x"), label=label)
    local = results.get("local_teacher")
    if local:
        ax.axhline(
            local["total_ms"],
            color="k",
            linestyle=":",
            label=f"{local['name']} (no network, agr. {local['agreement']:.2f})",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(bws)
    ax.set_xticklabels([str(b) for b in bws])
    ax.set_xlabel("uplink bandwidth (Mbit/s)")
    ax.set_ylabel("end-to-end latency (ms)")
    ax.set_title(f"Split computing vs offloading (RTT {results['rtt_ms']} ms, {results['transfer']['mode']})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def summary_lines(results: dict) -> list[str]:
    """Where the split pipeline wins or loses against each matched codec: payload, device and server time."""
    out = []
    m = results["methods"]
    for split in results["split_methods"]:
        for codec in results["offload_methods"]:
            s, o = m[split], m[codec]
            out.append(
                f"- {split} vs {codec}: payload {s['payload_bytes']['mean']:.0f} B vs {o['payload_bytes']['mean']:.0f} B "
                f"({s['payload_bytes']['mean'] / o['payload_bytes']['mean']:.2f}x), device-side "
                f"{s['client_total_ms']:.1f} ms vs {o['client_total_ms']:.1f} ms, server "
                f"{s['server_ms']['total']:.1f} ms vs {o['server_ms']['total']:.1f} ms, agreement "
                f"{s['agreement']:.3f} vs {o['agreement']:.3f}"
            )
    return out


def write_all(results: dict, out_dir: Path):
    """e2e.json, e2e.md and e2e.png from a results dict."""
    import json

    out_dir = Path(out_dir)
    (out_dir / "e2e.json").write_text(json.dumps(results, indent=1, default=str))
    (out_dir / "e2e.md").write_text(markdown(results))
    plot(results, out_dir / "e2e.png")
