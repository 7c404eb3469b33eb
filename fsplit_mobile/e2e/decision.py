"""Decision report: for each uplink bandwidth and RTT, which option wins: the full network on the device (local),
split computing at each rate point, or offloading the image as JPEG/WebP.

Input: the e2e study's JSON (``fsplit-bench e2e``: per method the device-side ms, payload bytes, server ms and
teacher agreement, measured on this host) and, for a real device, its own timings from ``fsplit-bench run``
(result.json of the split encoder and of the full network: their median ``total_ms`` replaces this host's device
time), or a stated slowdown (every device time that no result.json replaced, JPEG/WebP encoding included, times
F). Server times and payloads stay the study's. The rule is the client's (fsplit_mobile/runtime/offload_policy.py):
latency = device ms + RTT + bytes * 8 / bandwidth + server ms (local: device ms), the fastest option whose
agreement reaches the floor wins; the floor defaults to the agreement the study matched the codecs to (its
reference rate point).

Each option's latency is a + b / bandwidth, so the crossovers per RTT are computed exactly (pairwise
intersections, winner between them by the policy itself), not read off a grid.

    python -m fsplit_mobile.e2e.decision --study benchmarks/results/e2e/e2e.json --slowdown 10 --out DIR

writes DIR/NAME.md, NAME.png (win map) and NAME.json (NAME: host, slowdown-10x, device, or --name).
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

from ..runtime import offload_policy as policy
from .report import device_compute_text

SCHEMA = "fsplit-e2e-decision/1"
DEFAULT_RTTS = (5, 20, 50, 100, 200)
TABLE_BANDWIDTHS = (0.5, 1, 2, 5, 10, 20, 50, 100)  # log-spaced (1-2-5) columns of the winner table
TARGET = {"rtt_ms": 20.0, "max_mbit": 10.0}  # issue 20: split beats local and both codecs at <= 10 Mbit/s, 20 ms
LOCAL = "local"
MAP_BANDWIDTHS = 241  # columns of the win map (log-spaced over the bandwidth range)
MAP_RTTS = 121  # rows (log-spaced over the RTT range)


class DecisionError(ValueError):
    """A study or device result that cannot be used (names the file and field)."""


# -- options from the study --------------------------------------------------------------------------------------


def device_ms_of_result(result: dict, where: str) -> float:
    """Median total per-image ms (preprocess on the device + encoder + entropy coding) of a fsplit-bench result."""
    if result.get("status") != "complete":
        raise DecisionError(f"{where}: status is {result.get('status')!r}, expected 'complete' (a finished run)")
    try:
        value = float(result["stages"]["total_ms"]["p50"])
    except (KeyError, TypeError, ValueError):
        raise DecisionError(f"{where}: no stages.total_ms.p50 (no timed sample)") from None
    if not math.isfinite(value) or value < 0:
        raise DecisionError(f"{where}: stages.total_ms.p50 is {value}")
    return value


def result_rate_point(result: dict) -> int | None:
    """The rate point index a result was measured at (``fsplit-bench run --rate-point``), None when not recorded."""
    point = (result.get("artifact") or {}).get("rate_point")
    index = point.get("index") if isinstance(point, dict) else None
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def load_device_result(path) -> dict:
    """A ``fsplit-bench run`` result.json (or its folder), schema-checked; DecisionError names the file."""
    from ..bench.errors import BenchError
    from ..bench.result import load_result

    try:
        return load_result(path)
    except BenchError as exc:
        raise DecisionError(str(exc)) from None


def _study_field(study: dict, *keys):
    node = study
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            raise DecisionError(f"study: missing {'.'.join(map(str, keys))}")
        node = node[k]
    return node


def study_options(
    study: dict,
    slowdown: float = 1.0,
    device_split: dict | None = None,
    device_local: tuple[float, str] | None = None,
) -> tuple[list[policy.Option], dict]:
    """The study's methods as policy options, with each device time's source.

    device_split: {split method name or "*" (every split method): (device ms, label, rate point index the result
    was measured at or None)}; device_local: (ms, label). A result's rate point must be the method's.
    Every device time not given there is the study's (this host) times ``slowdown``."""
    if not (isinstance(slowdown, (int, float)) and math.isfinite(slowdown) and slowdown > 0):
        raise DecisionError(f"slowdown must be a finite number > 0, got {slowdown!r}")
    if study.get("schema") != "fsplit-e2e/1":
        raise DecisionError(f"study: schema is {study.get('schema')!r}, expected 'fsplit-e2e/1'")
    device_split = dict(device_split or {})
    splits = list(_study_field(study, "split_methods"))
    offloads = list(_study_field(study, "offload_methods"))
    unknown = set(device_split) - set(splits) - {"*"}
    if unknown:
        raise DecisionError(f"device result for {', '.join(sorted(unknown))}: no such split method in the study")
    host = "this host (study)" if slowdown == 1 else f"this host (study) x {slowdown:g} (stated)"
    options, source = [], {}
    local = study.get("local_teacher")
    if local:
        if device_local is not None:
            ms, source[LOCAL] = device_local
        else:
            ms, source[LOCAL] = float(_study_field(study, "local_teacher", "total_ms")) * slowdown, host
        options.append(policy.Option(LOCAL, "local", ms, float(local.get("agreement", 1.0))))
    elif device_local is not None:
        ms, source[LOCAL] = device_local
        options.append(policy.Option(LOCAL, "local", ms, 1.0))
    for name in splits + offloads:
        m = _study_field(study, "methods", name)
        kind = "split" if name in splits else "offload"
        rate_point = m.get("rate_point") if kind == "split" else None
        key = name if name in device_split else "*"
        given = device_split.get(key) if kind == "split" else None
        if given is not None:
            ms, source[name], measured = given  # measured: the result's rate point index (None: not recorded)
            if measured is not None and isinstance(rate_point, int) and measured != rate_point:
                raise DecisionError(
                    f"device result {'for ' + name if key == name else '(every split method)'} was measured at "
                    f"rate point {measured}, but {name} is rate point {rate_point}: give one result per point "
                    f"({name}=PATH, measured with fsplit-bench run --rate-point {rate_point})"
                )
        else:
            ms, source[name] = float(_study_field(study, "methods", name, "client_total_ms")) * slowdown, host
        options.append(
            policy.Option(
                name=name,
                kind=kind,
                device_ms=ms,
                agreement=float(_study_field(study, "methods", name, "agreement")),
                wire_bytes=float(_study_field(study, "methods", name, "payload_bytes", "mean")),
                server_ms=float(_study_field(study, "methods", name, "server_ms", "total")),
                rate_point=int(rate_point) if isinstance(rate_point, int) else None,
            )
        )
    return options, source


def device_compute(study: dict, options) -> dict[str, str]:
    """What each option computes on the device (SC2's first criterion): a split option's encoder MACs and their
    share of the network (from its artifact's manifest, as the study recorded them), the whole network for local
    inference, a codec for offloading."""
    counts = [m.get("device_compute") or {} for m in study.get("methods", {}).values()]
    network = next((c["network_macs"] for c in counts if c.get("network_macs")), None)
    out = {}
    for o in options:
        if o.kind == "local":
            out[o.name] = f"{network / 1e6:.1f} M (100 %)" if network else "the whole network"
        else:
            out[o.name] = device_compute_text(study["methods"][o.name])
    return out


def default_floor(study: dict, options) -> tuple[float, str]:
    """The agreement the study matched the codecs to (its reference rate point), and a sentence saying so."""
    matching = study.get("matching") or {}
    ref = matching.get("target")
    if ref is not None:
        floor = policy.reference_floor(options, ref)
        return floor, f"{floor:.3f}, the agreement of `{ref}` (the split option the study matched the codecs to)"
    return 0.0, "0 (the study names no reference split option)"


# -- winners and crossovers ---------------------------------------------------------------------------------------


def _ab(option: policy.Option, rtt_ms: float) -> tuple[float, float]:
    """latency = a + b / bandwidth_mbit."""
    if option.kind == "local":
        return option.device_ms, 0.0
    return option.device_ms + rtt_ms + option.server_ms, option.wire_bytes * 8.0 / 1000.0


def segments(options, rtt_ms: float, floor: float, lo: float, hi: float) -> list[dict]:
    """Bandwidth intervals [lo, hi] (Mbit/s) with one winner each: [{"from", "to", "winner"}], exact."""
    eligible = [o for o in options if policy.eligible(o, floor)]
    cuts = set()
    for i, p in enumerate(eligible):
        ap, bp = _ab(p, rtt_ms)
        for q in eligible[i + 1 :]:
            aq, bq = _ab(q, rtt_ms)
            if ap != aq and bp != bq:
                x = (bp - bq) / (aq - ap)
                if lo < x < hi:
                    cuts.add(x)
    edges = [lo, *sorted(cuts), hi]
    out: list[dict] = []
    for a, b in zip(edges, edges[1:]):
        winner = policy.choose(options, math.sqrt(a * b), rtt_ms, floor).option.name
        if out and out[-1]["winner"] == winner:
            out[-1]["to"] = b
        else:
            out.append({"from": a, "to": b, "winner": winner})
    return out


def crossovers(segs: list[dict]) -> list[dict]:
    return [{"mbit": s["to"], "below": s["winner"], "above": t["winner"]} for s, t in zip(segs, segs[1:])]


def target_check(options, floor: float, bandwidths) -> dict:
    """Issue 20's target: does a split option win at every bandwidth in [lo, 10] Mbit/s at RTT 20 ms?"""
    rtt, top = TARGET["rtt_ms"], TARGET["max_mbit"]
    lo = min(min(bandwidths), top)
    segs = segments(options, rtt, floor, lo, top)
    kinds = {o.name: o.kind for o in options}
    at = {}
    for bw in [b for b in bandwidths if b <= top]:
        d = policy.choose(options, bw, rtt, floor)
        best_split = min(
            (d.latencies[o.name] for o in options if o.kind == "split" and o.name in d.eligible), default=None
        )
        at[str(bw)] = {
            "winner": d.option.name,
            "best_split_ms": best_split,
            "others_ms": {o.name: d.latencies[o.name] for o in options if o.kind != "split" and o.name in d.eligible},
        }
    return {
        "rtt_ms": rtt,
        "bandwidth_mbit": [lo, top],
        "met": all(kinds[s["winner"]] == "split" for s in segs),
        "segments": segs,
        "at": at,
        "split_budget": split_budget(options, floor, rtt, lo, top),
    }


def split_budget(options, floor: float, rtt_ms: float, lo: float, hi: float) -> dict:
    """Per eligible split option: the device ms below which it beats local and every eligible codec at every
    bandwidth in [lo, hi] (its bytes and server time as they are), and which option at which bandwidth binds.
    The latency difference is linear in 1/bandwidth, so the two ends of the range decide."""
    others = [o for o in options if o.kind != "split" and policy.eligible(o, floor)]
    out = {}
    for s in options:
        if s.kind != "split" or not policy.eligible(s, floor) or not others:
            continue
        best = None
        for o in others:
            for bw in (lo, hi):
                room = policy.latency_ms(o, bw, rtt_ms) - (policy.latency_ms(s, bw, rtt_ms) - s.device_ms)
                if best is None or room < best[0]:
                    best = (room, o.name, bw)
        assert best is not None
        out[s.name] = {"device_ms": s.device_ms, "max_device_ms": best[0], "binding": best[1], "at_mbit": best[2]}
    return out


def analyse(options, floor: float, rtts=DEFAULT_RTTS, bandwidths=TABLE_BANDWIDTHS) -> dict:
    lo, hi = min(bandwidths), max(bandwidths)
    grid = {}
    for rtt in rtts:
        row = {}
        for bw in bandwidths:
            d = policy.choose(options, bw, rtt, floor)
            row[str(bw)] = {"winner": d.option.name, "latency_ms": d.latency_ms, "latencies_ms": d.latencies}
        grid[str(rtt)] = row
    per_rtt = {}
    for rtt in rtts:
        segs = segments(options, rtt, floor, lo, hi)
        per_rtt[str(rtt)] = {"segments": segs, "crossovers": crossovers(segs)}
    return {
        "rtts_ms": list(rtts),
        "bandwidths_mbit": list(bandwidths),
        "grid": grid,
        "per_rtt": per_rtt,
        "target": target_check(options, floor, bandwidths),
    }


def model_check(study: dict) -> list[dict]:
    """The latency model with this host's timings against the study's measured totals (at its RTT)."""
    host = {o.name: o for o in study_options(study)[0]}
    rtt = float(study.get("rtt_ms", 0.0))
    rows = []
    for name, per_bw in (study.get("e2e_ms") or {}).items():
        if name not in host:
            continue
        for bw, cell in per_bw.items():
            rows.append(
                {
                    "method": name,
                    "mbit": float(bw),
                    "model_ms": policy.latency_ms(host[name], float(bw), rtt),
                    "measured_ms": float(cell["total"]),
                }
            )
    return rows


# -- report -------------------------------------------------------------------------------------------------------


def _bw(x: float) -> str:
    return f"{x:.3g}"


def markdown(report: dict) -> str:
    a = report["analysis"]
    lines = [f"# Where to run a request: local, split or offload ({report['name']})", ""]
    lines += [f"**Device:** {report['device']}", ""]
    lines += [
        f"Study: `{report['study']['path']}` ({report['study']['date']}; {report['study']['crops']} held-out crops; "
        f"transfer {report['study']['transfer']}). Agreement floor: {report['floor_text']}.",
        "",
        "Latency per request: local = device ms; split and offload = device ms + RTT + payload bytes x 8 / "
        "bandwidth + server ms (payload: the study's mean; no HTTP/TCP overhead, no downlink). The fastest option "
        "whose teacher top-1 agreement reaches the floor wins (fsplit_mobile/runtime/offload_policy.py, the same "
        "rule as the clients).",
        "",
        "## Options",
        "",
        "| option | kind | device compute (MACs, share) | device ms | payload bytes | server ms | agreement | "
        "eligible | device time from |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    compute = report.get("device_compute", {})
    for o in report["options"]:
        lines.append(
            f"| {o['name']} | {o['kind']} | {compute.get(o['name'], 'not recorded')} | {o['device_ms']:.2f} | "
            f"{o['wire_bytes']:.0f} | {o['server_ms']:.2f} | "
            f"{o['agreement']:.3f} | {'yes' if o['eligible'] else 'no'} | {report['device_ms_source'][o['name']]} |"
        )
    bws = a["bandwidths_mbit"]
    lines += [
        "",
        "## Winner per uplink bandwidth and RTT",
        "",
        "Cell: winner (its latency, ms).",
        "",
        "| RTT | " + " | ".join(f"{_bw(b)} Mbit/s" for b in bws) + " |",
        "|---|" + "---|" * len(bws),
    ]
    for rtt, row in a["grid"].items():
        cells = [f"{row[str(b)]['winner']} ({row[str(b)]['latency_ms']:.1f})" for b in bws]
        lines.append(f"| {rtt} ms | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## Crossovers ({_bw(min(bws))}-{_bw(max(bws))} Mbit/s, exact)",
        "",
        "| RTT | who wins where | crossovers (Mbit/s) |",
        "|---|---|---|",
    ]
    for rtt, per in a["per_rtt"].items():
        where = "; ".join(f"{_bw(s['from'])}-{_bw(s['to'])}: {s['winner']}" for s in per["segments"])
        cross = ", ".join(f"{x['mbit']:.3g} ({x['below']} below, {x['above']} above)" for x in per["crossovers"])
        lines.append(f"| {rtt} ms | {where} | {cross or 'none'} |")
    t = a["target"]
    lines += [
        "",
        f"## Target: split beats local and both codecs at <= {_bw(t['bandwidth_mbit'][1])} Mbit/s, RTT "
        f"{t['rtt_ms']:g} ms",
        "",
        f"**{'Met' if t['met'] else 'Not met'}** here: "
        + "; ".join(f"{_bw(s['from'])}-{_bw(s['to'])} Mbit/s: {s['winner']}" for s in t["segments"])
        + ".",
        "",
        "| Mbit/s | winner | best split ms | " + " | ".join(_others(t)) + " |",
        "|---|---|---|" + "---|" * len(_others(t)),
    ]
    for bw, cell in t["at"].items():
        best = "n/a" if cell["best_split_ms"] is None else f"{cell['best_split_ms']:.1f}"
        lines.append(
            f"| {bw} | {cell['winner']} | {best} | "
            + " | ".join(f"{cell['others_ms'].get(n, float('nan')):.1f}" for n in _others(t))
            + " |"
        )
    budget = t.get("split_budget") or {}
    if budget:
        lines += [
            "",
            "Device time each split option would need to win everywhere there (bytes, agreement and server time as "
            "they are): below `max device ms` (negative: not even with a free device part); `binding`: the option "
            "and bandwidth that set the limit.",
            "",
            "| split option | device ms | max device ms | binding |",
            "|---|---|---|---|",
        ]
        for name, b in budget.items():
            lines.append(
                f"| {name} | {b['device_ms']:.1f} | {b['max_device_ms']:.1f} | {b['binding']} at {_bw(b['at_mbit'])} "
                "Mbit/s |"
            )
    check = report.get("model_check") or []
    if check:
        lines += [
            "",
            f"## The model against the study's measurements (this host, RTT {report['study']['rtt_ms']:g} ms)",
            "",
            "Model latency with this host's timings / measured end-to-end latency (median). The model leaves out "
            "HTTP and TCP overhead and the response; the shaped link's token bucket lets short bursts through.",
            "",
        ]
        mbits = sorted({r["mbit"] for r in check})
        lines += ["| method | " + " | ".join(f"{_bw(b)} Mbit/s" for b in mbits) + " |", "|---|" + "---|" * len(mbits)]
        for name in dict.fromkeys(r["method"] for r in check):
            by_mbit = {r["mbit"]: r for r in check if r["method"] == name}
            lines.append(
                f"| {name} | "
                + " | ".join(f"{by_mbit[b]['model_ms']:.1f} / {by_mbit[b]['measured_ms']:.1f}" for b in mbits)
                + " |"
            )
    lines += ["", f"![win map]({report['name']}.png)", "", "Reproduce:", "", "```", report["command"], "```", ""]
    return "\n".join(lines)


def _others(target: dict) -> list[str]:
    names: dict[str, None] = {}
    for cell in target["at"].values():
        names.update(dict.fromkeys(cell["others_ms"]))
    return list(names)


def plot(report: dict, options, floor: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.artist import Artist
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    a = report["analysis"]
    bws, rtts = a["bandwidths_mbit"], a["rtts_ms"]
    xs = np.geomspace(min(bws), max(bws), MAP_BANDWIDTHS)
    ys = np.geomspace(min(rtts), max(rtts), MAP_RTTS) if len(rtts) > 1 else np.array([float(rtts[0])] * 2)
    names = [o.name for o in options]
    index = np.array(
        [[names.index(policy.choose(options, float(x), float(y), floor).option.name) for x in xs] for y in ys]
    )
    cmap = plt.get_cmap("tab10")
    colours = [cmap(i % 10) for i in range(len(names))]
    fig, ax = plt.subplots(figsize=(8.0, 4.8), dpi=120)
    ax.pcolormesh(xs, ys, index, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(names) - 0.5, shading="nearest")
    for rtt in rtts:
        ax.axhline(rtt, color="white", linewidth=0.6, alpha=0.6)
    t = a["target"]
    ax.plot(
        [t["bandwidth_mbit"][0], t["bandwidth_mbit"][1]],
        [t["rtt_ms"], t["rtt_ms"]],
        color="k",
        linewidth=2.5,
        label=f"target: split wins here ({'met' if t['met'] else 'not met'})",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(bws)
    ax.set_xticklabels([_bw(b) for b in bws])
    ax.set_yticks(rtts)
    ax.set_yticklabels([str(r) for r in rtts])
    ax.minorticks_off()
    ax.set_xlabel("uplink bandwidth (Mbit/s)")
    ax.set_ylabel("RTT (ms)")
    ax.set_title(f"Fastest option, agreement >= {floor:.3f}: {report['name']}", fontsize=10)
    winners = sorted(set(index.ravel().tolist()))
    handles: list[Artist] = [Patch(color=colours[i], label=f"{names[i]} ({options[i].kind})") for i in winners]
    handles.append(ax.get_lines()[-1])
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    note = textwrap.wrap("Device: " + report["device"], 190)
    fig.text(0.01, 0.01, "\n".join(note[:3]), fontsize=6, alpha=0.8)
    fig.tight_layout(rect=(0, 0.02 + 0.022 * min(len(note), 3), 1, 1))
    fig.savefig(path)
    plt.close(fig)


def build(
    study: dict,
    study_path: str = "",
    slowdown: float = 1.0,
    device_results: dict | None = None,
    device_result_local=None,
    min_agreement: float | None = None,
    rtts=DEFAULT_RTTS,
    bandwidths=TABLE_BANDWIDTHS,
    name: str | None = None,
    command: str = "",
    scale_results: bool = False,
) -> tuple[dict, list[policy.Option], float]:
    """The decision report dict (and the options and floor it used).

    device_results: {split method name or "*": result.json path}; device_result_local: result.json path.
    scale_results: the results were measured on the study's host (e.g. by the native runner instead of the
    study's Python agent), so the stated slowdown applies to them as to every other device time."""
    factor = slowdown if scale_results else 1.0
    scaled = f" x {slowdown:g} (stated)" if scale_results and slowdown != 1 else ""
    device_split, labels = {}, []
    for method, path in (device_results or {}).items():
        result = load_device_result(path)
        ms = device_ms_of_result(result, str(path))
        device_split[method] = (ms * factor, f"device: {path} (total_ms p50){scaled}", result_rate_point(result))
        labels.append(f"split encoder {ms:.2f} ms{scaled} from `{path}`{_device_words(result)}")
    device_local = None
    if device_result_local is not None:
        result = load_device_result(device_result_local)
        ms = device_ms_of_result(result, str(device_result_local))
        device_local = (ms * factor, f"device: {device_result_local} (total_ms p50){scaled}")
        labels.append(f"full network {ms:.2f} ms{scaled} from `{device_result_local}`{_device_words(result)}")
    options, source = study_options(study, slowdown, device_split, device_local)
    if min_agreement is None:
        floor, floor_text = default_floor(study, options)
    else:
        floor = float(min_agreement)
        floor_text = f"{floor:.3f} (set by the user)"
    policy.choose(options, 1.0, 0.0, floor)  # a floor nobody reaches fails here, with the policy's message
    if name is None:
        name = "device" if labels else ("host" if slowdown == 1 else f"slowdown-{slowdown:g}x")
    host_text = f"study host ({study.get('machine', {}).get('cpu_model', '?')}, {study.get('machine', {}).get('cores', '?')} cores)"
    if labels and scale_results:
        device = (
            f"measured on the {host_text} by `fsplit-bench run`: "
            + "; ".join(labels)
            + "; "
            + (
                f"ASSUMPTION, not a measurement: a device {slowdown:g}x slower, so these and every other device "
                f"time (the study's, JPEG/WebP encoding included) are x {slowdown:g}"
                if slowdown != 1
                else "every other device time is the study's, unscaled"
            )
        )
    elif labels:
        device = "measured on the device: " + "; ".join(labels)
        if slowdown != 1:
            device += f"; every other device time (JPEG/WebP encoding, methods without a result) is the {host_text}'s x {slowdown:g} (stated assumption)"
        else:
            device += f"; every other device time (JPEG/WebP encoding, methods without a result) is the {host_text}'s, unscaled"
    elif slowdown == 1:
        device = f"this host, measured: the {host_text}'s device-side times as the study measured them"
    else:
        device = (
            f"ASSUMPTION, not a measurement: a device {slowdown:g}x slower than the {host_text}: every device-side "
            f"time (split encoder + coding, the full network, JPEG/WebP encoding) is the study's x {slowdown:g}; "
            "payloads, agreement and server times are the study's"
        )
    analysis = analyse(options, floor, rtts, bandwidths)
    report = {
        "schema": SCHEMA,
        "name": name,
        "device": device,
        "slowdown": slowdown,
        "device_results": {k: str(v) for k, v in (device_results or {}).items()},
        "device_result_local": None if device_result_local is None else str(device_result_local),
        "device_results_scaled": bool(scale_results),
        "floor": floor,
        "floor_text": floor_text,
        "study": {
            "path": study_path,
            "date": study.get("machine", {}).get("date", "?"),
            "crops": study.get("crops"),
            "transfer": study.get("transfer", {}).get("mode", "?"),
            "rtt_ms": float(study.get("rtt_ms", 0.0)),
        },
        "options": [{**o.to_dict(), "eligible": policy.eligible(o, floor)} for o in options],
        "device_ms_source": source,
        "device_compute": device_compute(study, options),
        "analysis": analysis,
        "model_check": model_check(study),
        "profile": client_profile(study, options, floor),
        "command": command,
    }
    return report, options, floor


def _device_words(result: dict) -> str:
    dev = result.get("device") or {}
    words = ", ".join(str(dev[k]) for k in ("arch", "cpu_model", "transport") if dev.get(k))
    if dev.get("emulated"):
        words += "; EMULATED: " + str(dev["emulated"])
    return f" ({words})" if words else ""


def client_profile(study: dict, options, floor: float) -> dict:
    """A device profile for the clients (fsplit_mobile.client --device-profile): local, the offload codecs and the
    split options of the reference split's artifact (their rate_point indices belong to that artifact)."""
    ref = (study.get("matching") or {}).get("target")
    artifact = study.get("methods", {}).get(ref, {}).get("artifact") if ref else None
    keep = [
        o
        for o in options
        if o.kind != "split" or (o.rate_point is not None and study["methods"][o.name].get("artifact") == artifact)
    ]
    return policy.DeviceProfile(options=tuple(keep), min_agreement=floor).to_dict()


def write(report: dict, options, floor: float, out_dir) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = report["name"]
    paths = [out_dir / f"{name}.json", out_dir / f"{name}.md", out_dir / f"{name}.png"]
    paths[0].write_text(json.dumps(report, indent=1) + "\n")
    paths[1].write_text(markdown(report))
    plot(report, options, floor, paths[2])
    return paths


def parse_device_results(items) -> dict:
    """["PATH"] or ["NAME=PATH", ...] -> {"*" or NAME: PATH}."""
    out = {}
    for item in items or ():
        name, sep, path = item.partition("=")
        if not sep:
            name, path = "*", item
        if not name or not path:
            raise DecisionError(f"device result: expected PATH or METHOD=PATH, got {item!r}")
        if name in out:
            raise DecisionError(f"device result for {name!r} given twice")
        out[name] = path
    return out


def run(
    study_path,
    out_dir,
    slowdown: float = 1.0,
    device_results=(),
    device_result_local=None,
    min_agreement: float | None = None,
    rtts=DEFAULT_RTTS,
    bandwidths=TABLE_BANDWIDTHS,
    name: str | None = None,
    command: str = "",
    scale_results: bool = False,
) -> tuple[dict, list[Path]]:
    """Load the study, build the report, write NAME.{json,md,png} into out_dir."""
    try:
        study = json.loads(Path(study_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DecisionError(f"study {study_path} not found (run fsplit-bench e2e first)") from None
    except json.JSONDecodeError as exc:
        raise DecisionError(f"study {study_path} is not valid JSON: {exc}") from None
    if not isinstance(study, dict):
        raise DecisionError(f"study {study_path}: not a JSON object")
    if not command:
        command = _command_line(study_path, out_dir, slowdown, device_results, device_result_local, min_agreement)
        if scale_results:
            command = command.replace(" --out ", " --scale-results --out ")
    try:
        report, options, floor = build(
            study,
            str(study_path),
            slowdown,
            parse_device_results(device_results),
            device_result_local,
            min_agreement,
            rtts,
            bandwidths,
            name,
            command,
            scale_results,
        )
    except policy.OffloadPolicyError as exc:
        raise DecisionError(str(exc)) from None
    return report, write(report, options, floor, out_dir)


def _command_line(study_path, out_dir, slowdown, device_results, device_result_local, min_agreement) -> str:
    parts = ["python -m fsplit_mobile.e2e.decision", f"--study {study_path}"]
    if slowdown != 1:
        parts.append(f"--slowdown {slowdown:g}")
    parts += [f"--device-result {d}" for d in device_results or ()]
    if device_result_local is not None:
        parts.append(f"--device-result-local {device_result_local}")
    if min_agreement is not None:
        parts.append(f"--min-agreement {min_agreement:g}")
    parts.append(f"--out {out_dir}")
    return " ".join(parts)


def numbers(text: str, what: str) -> list:
    """ "0.5,1,2" -> [0.5, 1, 2] (sorted, distinct, every one > 0); DecisionError names `what`."""
    try:
        values = [int(x) if float(x).is_integer() else float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise DecisionError(f"{what}: expected comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise DecisionError(f"{what}: expected comma-separated numbers > 0, got {text!r}")
    return sorted(set(values))


def main(argv=None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m fsplit_mobile.e2e.decision", description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default="benchmarks/results/e2e/e2e.json", help="the e2e study's JSON")
    parser.add_argument("--out", default="benchmarks/results/e2e/decision", help="folder for NAME.{md,png,json}")
    parser.add_argument("--name", default=None, help="file name stem (default: host, slowdown-Fx or device)")
    parser.add_argument("--slowdown", type=float, default=1.0, help="stated device slowdown vs this host")
    parser.add_argument(
        "--device-result",
        action="append",
        default=[],
        metavar="[METHOD=]PATH",
        help="fsplit-bench run result.json of the split encoder on the device (every split method, or METHOD)",
    )
    parser.add_argument("--device-result-local", default=None, metavar="PATH", help="result.json of the full network")
    parser.add_argument(
        "--scale-results",
        action="store_true",
        help="the --device-result files were measured on the study's host (e.g. by the native runner): apply "
        "--slowdown to them too",
    )
    parser.add_argument("--min-agreement", type=float, default=None, help="agreement floor (default: the study's)")
    parser.add_argument("--rtts", default=",".join(map(str, DEFAULT_RTTS)), help="RTTs in ms")
    parser.add_argument("--bandwidths", default=",".join(map(str, TABLE_BANDWIDTHS)), help="table columns, Mbit/s")
    args = parser.parse_args(argv)
    try:
        rtts, bws = numbers(args.rtts, "rtts"), numbers(args.bandwidths, "bandwidths")
        report, paths = run(
            args.study,
            args.out,
            slowdown=args.slowdown,
            device_results=args.device_result,
            device_result_local=args.device_result_local,
            min_agreement=args.min_agreement,
            rtts=rtts,
            bandwidths=bws,
            name=args.name,
            scale_results=args.scale_results,
        )
    except DecisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    t = report["analysis"]["target"]
    print(
        f"wrote {', '.join(map(str, paths))}; target (split wins <= 10 Mbit/s, RTT 20 ms): "
        f"{'met' if t['met'] else 'not met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
