"""Markdown rendering of one or several benchmark results (``fsplit-bench compare``)."""

from pathlib import Path

STAGE_LABELS = (
    ("preprocess_ms", "preprocess"),
    ("encoder_ms", "encoder"),
    ("entropy_ms", "entropy coding"),
    ("total_ms", "total"),
)


def label(result: dict) -> str:
    a = result["artifact"]
    runner = result.get("config", {}).get("runner", "?")
    dev = (
        result["device"].get("board_model")
        or result["device"].get("cpu_model")
        or result["device"].get("transport", "?")
    )
    return f"{a.get('target')}-{a.get('quantization')} [{runner}] @ {dev}"


def _f(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def comparison_table(results) -> str:
    head = (
        "| run | status | encoder p50 ms | entropy p50 ms | preprocess p50 ms | total p50 / p90 / p99 ms "
        "| load ms | bytes | bpp | peak RSS MiB |"
    )
    lines = [head, "|---" * 10 + "|"]
    for r in results:
        s = r["stages"]
        total = s["total_ms"]
        rss = r.get("peak_rss_kb")
        lines.append(
            "| "
            + " | ".join(
                [
                    label(r),
                    r["status"],
                    _f(s["encoder_ms"].get("p50")),
                    _f(s["entropy_ms"].get("p50"), 3),
                    _f(s["preprocess_ms"].get("p50"), 3),
                    f"{_f(total.get('p50'))} / {_f(total.get('p90'))} / {_f(total.get('p99'))}",
                    _f(r.get("load", {}).get("model_load_ms"), 1),
                    _f(r["bytes"].get("mean"), 0),
                    _f(r["bpp"].get("mean"), 4),
                    _f(rss / 1024 if rss else None, 1),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def stage_table(result) -> str:
    lines = ["| stage | n | min | p50 | p90 | p99 | max | mean | stddev |", "|---" * 9 + "|"]
    for key, name in STAGE_LABELS:
        s = result["stages"][key]
        lines.append(
            "| "
            + " | ".join(
                [name, str(s.get("n", 0))]
                + [_f(s.get(k), 3) for k in ("min", "p50", "p90", "p99", "max", "mean", "stddev")]
            )
            + " |"
        )
    return "\n".join(lines)


def device_lines(result) -> list[str]:
    d = result["device"]
    keys = (
        "transport",
        "board_model",
        "soc",
        "cpu_model",
        "cores",
        "arch",
        "kernel",
        "distribution",
        "simd",
        "governor",
        "max_freq_mhz",
        "mem_total_kb",
        "jetson_l4t",
    )
    out = [f"- {k}: {d[k]}" for k in keys if k in d]
    if "thermal" in d:
        out.append("- thermal: " + ", ".join(f"{t['zone']} {t['temp_c']:.0f} C" for t in d["thermal"][:6]))
    runner = result.get("runner", {})
    if runner:
        out.append(
            f"- runner: {runner.get('runner')} ({(runner.get('runtime') or {}).get('name')} "
            f"{(runner.get('runtime') or {}).get('version')}), threads {runner.get('threads')}, "
            f"affinity {runner.get('affinity')}"
        )
    return out


def placement_line(result) -> str | None:
    """One line on where the encoder ran (accelerated runs), naming every node that fell back to the CPU."""
    p = result.get("placement")
    if not p:
        return None
    line = (
        f"placement: {p.get('accelerator')}: {p.get('nodes_on_accelerator')}/{p.get('nodes_total')} nodes on "
        f"the accelerator, {p.get('partitions')} partition(s)"
    )
    if p.get("fallback"):
        return line + "; CPU FALLBACK: " + ", ".join(f"{n['name']} ({n.get('op_type', '?')})" for n in p["fallback"])
    return line + "; no CPU fallback"


def render_markdown(results) -> str:
    parts = ["# fsplit-bench results", "", comparison_table(results), ""]
    for r in results:
        parts += [f"## {label(r)}", ""]
        if r.get("error"):
            parts += [f"**{r['status']}**: {r['error']['type']}: {r['error']['message']}", ""]
        cfg = r.get("config", {})
        parts += [
            f"{cfg.get('runs')} runs per image after {cfg.get('warmup')} warm-up runs, images: "
            f"{', '.join(cfg.get('images', []))}. {cfg.get('preprocessing', '')}",
            "",
            stage_table(r),
            "",
            *device_lines(r),
            "",
        ]
        if placement_line(r):
            parts += [f"- {placement_line(r)}", ""]
        if r["images"]:
            parts += ["| image | bytes | bpp | stream sha256 |", "|---|---|---|---|"]
            parts += [
                f"| {i['image']} | {i['bytes']} | {i['bpp']:.4f} | {str(i['stream_sha256'])[:16]} |"
                for i in r["images"]
            ]
            parts.append("")
    return "\n".join(parts)


def write_markdown(results, path) -> Path:
    path = Path(path)
    path.write_text(render_markdown(results), encoding="utf-8")
    return path
