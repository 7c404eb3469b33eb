"""Fidelity report of one artifact against PyTorch eager fp32 on held-out images (report.json + report.md).

Metrics (over every held-out sample):
- latent error, max and mean |a - r|: on the float latent for latent outputs; for symbol outputs on the
  dequantized latent the server decodes (symbols + medians), i.e. in symbol units;
- fraction of symbols that differ from eager fp32;
- bits per input pixel with the real entropy coder (fsplit_mobile.codec) and its relative change;
- teacher top-1 agreement through the server part (server(symbols) top-1 == teacher(image) top-1) for eager
  and artifact symbols, and its change in percentage points; also how often the top-1 equals eager's.
Artifacts that cannot run here (Core ML on Linux) get no metrics and say "not executed on this platform".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..runtime.symbol_check import compare_many
from .manifest import write_json_atomic
from .results import VerifyResult

REPORT_SCHEMA = "fsplit-fidelity/1"
NOT_EXECUTED = "not executed on this platform"

# Targets for int8 artifacts of the bundled model (issue 4).
INT8_TARGETS = {"symbol_flip_fraction": 0.02, "bpp_relative_change_abs": 0.02, "top1_agreement_drop_pp": 1.0}
FP16_FLIP_TARGET = 0.002  # fp16 compute: symbols differing vs eager fp32 (the other targets as for int8)


@dataclass
class Reference:
    """Eager fp32 outputs on the held-out samples, computed once per export run."""

    names: list[str]
    outputs: list[np.ndarray]  # canonical NCHW: int32 symbols or float32 latent
    symbols: list[np.ndarray]  # int32 (C, H, W)
    bytes_per_sample: list[int]
    teacher_top1: list[int] | None  # None when the recipe names no teacher
    server_top1: list[int] | None  # None when the model has no classifying server part
    input_size: tuple[int, int]
    images: list[str] = field(default_factory=list)
    views: int = 1
    # eager y - median before rounding, (C, H, W) float32 per sample: where a differing symbol sat at a rounding
    # tie (runtime.symbol_check); None skips that count
    unrounded: list[np.ndarray] | None = None


def to_symbols(output: np.ndarray, kind: str, medians: np.ndarray) -> np.ndarray:
    """Canonical output (1, C, H, W) -> int32 symbols (C, H, W)."""
    if kind == "symbols":
        return np.ascontiguousarray(output[0], dtype=np.int32)
    y = output[0].astype(np.float32) - medians.astype(np.float32)[:, None, None]
    return np.ascontiguousarray(np.rint(y), dtype=np.int32)


def bpp(byte_counts: Sequence[int], input_size: tuple[int, int]) -> float:
    return 8.0 * float(sum(byte_counts)) / (len(byte_counts) * input_size[0] * input_size[1])


def compute_metrics(
    ref: Reference,
    outputs: Sequence[np.ndarray],
    kind: str,
    medians: np.ndarray,
    encode: Callable[[np.ndarray], bytes],
    server_top1: Callable[[list[np.ndarray]], list[int]] | None,
) -> dict:
    if len(outputs) != len(ref.outputs):
        raise ValueError(f"{len(outputs)} artifact outputs for {len(ref.outputs)} reference samples")
    errors_max, errors_sum, count, differ, total = 0.0, 0.0, 0, 0, 0
    art_bytes, art_symbols = [], []
    for out, r_out, r_sym in zip(outputs, ref.outputs, ref.symbols):
        if out.shape != r_out.shape:
            raise ValueError(f"artifact output shape {out.shape} differs from eager {r_out.shape}")
        sym = to_symbols(out, kind, medians)
        diff = np.abs(out.astype(np.float64) - r_out.astype(np.float64))
        errors_max = max(errors_max, float(diff.max()))
        errors_sum += float(diff.sum())
        count += diff.size
        differ += int(np.count_nonzero(sym != r_sym))
        total += sym.size
        art_bytes.append(len(encode(sym)))
        art_symbols.append(sym)
    ties = compare_many(zip(art_symbols, ref.symbols, ref.unrounded)) if ref.unrounded is not None else None
    art_top1 = server_top1(art_symbols) if server_top1 is not None else []
    bpp_ref, bpp_art = bpp(ref.bytes_per_sample, ref.input_size), bpp(art_bytes, ref.input_size)
    m = {
        "latent_error_basis": "float latent" if kind == "latent" else "dequantized latent (symbols + medians)",
        "latent_error_max": errors_max,
        "latent_error_mean": errors_sum / max(count, 1),
        "symbols_total": total,
        "symbols_differing": differ,
        "symbol_flip_fraction": differ / max(total, 1),
        # of the differing symbols: how many sat within tie_epsilon of a rounding tie, and how many did not (a
        # correct fp32 artifact has 0 unexplained ones; see runtime/symbol_check.py)
        "symbols_at_ties": None if ties is None else ties.at_ties,
        "symbols_unexplained": None if ties is None else ties.unexplained,
        "tie_epsilon": None if ties is None else ties.epsilon,
        "tie_distance_max": None if ties is None else ties.max_tie_distance,  # of the ones at ties
        "bpp_reference": bpp_ref,
        "bpp_artifact": bpp_art,
        "bpp_relative_change": (bpp_art - bpp_ref) / bpp_ref if bpp_ref else 0.0,
        "top1_agreement_reference": None,
        "top1_agreement_artifact": None,
        "top1_agreement_change_pp": None,
        "top1_same_as_reference": None,
    }
    if server_top1 is not None and ref.server_top1 is not None:
        n = len(art_top1)
        m["top1_same_as_reference"] = sum(a == b for a, b in zip(art_top1, ref.server_top1)) / n
        if ref.teacher_top1 is not None:
            agree_ref = sum(a == t for a, t in zip(ref.server_top1, ref.teacher_top1)) / n
            agree_art = sum(a == t for a, t in zip(art_top1, ref.teacher_top1)) / n
            m.update(
                top1_agreement_reference=agree_ref,
                top1_agreement_artifact=agree_art,
                top1_agreement_change_pp=100.0 * (agree_art - agree_ref),
            )
    return m


def check_targets(metrics: dict, quantization: str = "int8") -> dict:
    """Pass/fail of each target of a reduced-precision artifact (None where the metric is not available)."""
    drop = metrics.get("top1_agreement_change_pp")
    flip = FP16_FLIP_TARGET if quantization == "fp16" else INT8_TARGETS["symbol_flip_fraction"]
    return {
        "symbol_flip_fraction": {
            "limit": flip,
            "value": metrics["symbol_flip_fraction"],
            "passed": metrics["symbol_flip_fraction"] <= flip,
        },
        "bpp_relative_change": {
            "limit": INT8_TARGETS["bpp_relative_change_abs"],
            "value": metrics["bpp_relative_change"],
            "passed": abs(metrics["bpp_relative_change"]) <= INT8_TARGETS["bpp_relative_change_abs"],
        },
        "top1_agreement_drop_pp": {
            "limit": INT8_TARGETS["top1_agreement_drop_pp"],
            "value": None if drop is None else -drop,
            "passed": None if drop is None else -drop <= INT8_TARGETS["top1_agreement_drop_pp"],
        },
    }


def build_report(
    *,
    model_id: str,
    target: str,
    quantization: str,
    verify: VerifyResult,
    ref: Reference,
    kind: str,
    medians: np.ndarray,
    encode,
    server_top1,
    reference_desc: str,
    notes: Sequence[str] = (),
    details: dict | None = None,
    extra: dict | None = None,
) -> dict:
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "model_id": model_id,
        "target": target,
        "quantization": quantization,
        "reference": reference_desc,
        "executed": bool(verify.executed),
        "runtime": verify.runtime,
        "samples": {
            "images": list(ref.images),
            "views_per_image": ref.views,
            "count": len(ref.names),
            "input_size": list(ref.input_size),
        },
        "metrics": None,
        "targets": None,
        "notes": list(notes),
        "checks": dict(verify.checks),
        "lowering": dict(details or {}),
    }
    if verify.executed and verify.outputs is not None:  # VerifyResult guarantees outputs when executed
        report["metrics"] = compute_metrics(ref, verify.outputs, kind, medians, encode, server_top1)
        if quantization != "none":
            report["targets"] = check_targets(report["metrics"], quantization)
    else:
        report["reason"] = verify.reason or NOT_EXECUTED
    report.update(extra or {})
    return report


def _fmt(v, pct=False, digits=4):
    if v is None:
        return "n/a"
    if pct:
        return f"{100 * v:.2f} %"
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def _pp(v):
    return "n/a" if v is None else f"{v:+.2f} pp"


def _ties(m: dict) -> str:
    if m.get("symbols_at_ties") is None or not m["symbols_differing"]:
        return ""
    return f"; {m['symbols_at_ties']} at rounding ties (within {m['tie_epsilon']:g}), {m['symbols_unexplained']} not"


def render_markdown(report: dict) -> str:
    lines = [
        f"# Fidelity report: {report['model_id']} / {report['target']} / {report['quantization']}",
        "",
        f"Reference: {report['reference']}.  ",
        f"Samples: {report['samples']['count']} ({len(report['samples']['images'])} held-out images x "
        f"{report['samples']['views_per_image']} views) at {report['samples']['input_size'][0]}x"
        f"{report['samples']['input_size'][1]}.",
        "",
    ]
    if not report["executed"]:
        lines += [
            f"**{report.get('reason', NOT_EXECUTED)}** — no outputs were produced, so no fidelity metrics "
            "are claimed for this artifact.",
            "",
        ]
        if report["checks"]:
            lines += ["What was validated instead:", ""]
            lines += [f"- {k}: {v}" for k, v in report["checks"].items()]
            lines.append("")
    else:
        m = report["metrics"]
        lines += [
            f"Runtime: {report['runtime']}.",
            "",
            "| metric | value |",
            "|---|---|",
            f"| latent error max / mean ({m['latent_error_basis']}) | {_fmt(m['latent_error_max'])} / "
            f"{_fmt(m['latent_error_mean'])} |",
            f"| symbols differing | {m['symbols_differing']} of {m['symbols_total']} "
            f"({_fmt(m['symbol_flip_fraction'], pct=True)}{_ties(m)}) |",
            f"| bpp eager / artifact | {_fmt(m['bpp_reference'])} / {_fmt(m['bpp_artifact'])} "
            f"({100 * m['bpp_relative_change']:+.2f} %) |",
            f"| teacher top-1 agreement eager / artifact | {_fmt(m['top1_agreement_reference'], pct=True)} / "
            f"{_fmt(m['top1_agreement_artifact'], pct=True)} "
            f"({_pp(m['top1_agreement_change_pp'])}) |",
            f"| top-1 same as eager | {_fmt(m['top1_same_as_reference'], pct=True)} |",
            "",
        ]
        if report["targets"]:
            lines += [f"{report['quantization']} targets:", ""]
            for name, t in report["targets"].items():
                status = "n/a" if t["passed"] is None else ("pass" if t["passed"] else "MISS")
                lines.append(f"- {name}: {_fmt(t['value'])} (limit {t['limit']}) — {status}")
            lines.append("")
    placement = (report.get("lowering") or {}).get("placement")
    if placement:
        from ..runtime.placement import Placement

        lines += ["Placement (accelerator vs CPU fallback):", "", Placement.from_dict(placement).markdown(), ""]
    if report["notes"]:
        lines += ["Notes:", ""] + [f"- {n}" for n in report["notes"]] + [""]
    for key in ("lowering", "server_check", "timings_s", "size_bytes"):
        value = report.get(key)
        if key == "lowering" and value:
            value = {k: v for k, v in value.items() if k != "placement"}  # its own section above
        if value:
            lines.append(f"{key}: `{value}`  ")
    return "\n".join(lines).rstrip() + "\n"


def write_report(folder: Path, report: dict) -> None:
    write_json_atomic(Path(folder) / "report.json", report)
    (Path(folder) / "report.md").write_text(render_markdown(report), encoding="utf-8")
