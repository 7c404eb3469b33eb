"""`fsplit-export`: export a model to one artifact folder per target and quantization (the targets:
fsplit_mobile/runtime/targets.py, which --target's help is read from).

Progress goes to stderr (the shared preparation's time, then one bar per artifact, steps capture, quantize,
lower, verify, report); converter chatter (torch.onnx prints, ExecuTorch cpuinfo lines, warnings) goes to a
log file unless --verbose.
--json prints a machine-readable summary on stdout. Errors: one line, exit status 1 (2 for usage errors).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import click

from ..runtime.qnn import SOCS
from ..runtime.targets import QUANTIZATIONS, TARGETS
from .backends import NAMED_ONLY
from .errors import (
    CalibrationError,
    CheckpointError,
    ExportError,
    RecipeError,
    UnknownTargetError,
    UnsupportedOpError,
    UnsupportedQuantizationError,
)

EXIT_FAILED = 1


@contextmanager
def _converter_output_to(log_path: str | None):
    """Send fd 1 and fd 2 (C and Python level) to `log_path`; yield streams on the real stdout/stderr."""
    if log_path is None:
        yield sys.stdout, sys.stderr
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    real_out = os.fdopen(os.dup(saved_out), "w", buffering=1)
    real_err = os.fdopen(os.dup(saved_err), "w", buffering=1)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    try:
        yield real_out, real_err
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        real_out.close()
        real_err.close()


class _ProgressView:
    """Renders export progress events: a tqdm bar per artifact, or nothing when quiet."""

    def __init__(self, stream, quiet: bool):
        self.stream, self.quiet, self.bar = stream, quiet, None

    def __call__(self, kind: str, **info):
        if self.quiet:
            return
        if kind == "load_start":
            self.stream.write(f"loading model ({info.get('recipe') or info.get('checkpoint')}) ...\n")
        elif kind == "load_end":
            self.stream.write(f"model {info['model_id']}: latent {'x'.join(map(str, info['latent_shape']))}\n")
        elif kind == "prepare_end" and info["ok"]:
            self.stream.write(
                f"shared preparation (eager reference, tables, server part, calibration inputs): "
                f"{info['seconds']:.1f} s\n"
            )
        elif kind == "artifact_start":
            from tqdm import tqdm

            self.bar = tqdm(
                total=len(info["steps"]),
                desc=f"{info['artifact']:<18}",
                file=self.stream,
                bar_format="{desc} {bar:20} {n_fmt}/{total_fmt} {postfix} [{elapsed}]",
                leave=True,
            )
        elif kind == "step_start" and self.bar is not None:
            self.bar.set_postfix_str(info["step"])
        elif kind == "step_end" and self.bar is not None:
            self.bar.update(1)
        elif kind == "artifact_end" and self.bar is not None:
            self.bar.set_postfix_str(f"-> {info['path']}" if info["ok"] else "FAILED")
            self.bar.close()
            self.bar = None


def _target_options(targets, socs, allow_fallback) -> dict[str, dict]:
    """--soc and --allow-fallback as per-target option overrides (an error when no target takes them)."""
    opts: dict[str, dict] = {}
    if socs:
        if "qnn" not in targets:
            raise click.UsageError("--soc applies to --target qnn only")
        opts["qnn"] = {"socs": list(socs)}
    if allow_fallback:
        named = [t for t in targets if t in NAMED_ONLY]
        if not named:
            raise click.UsageError(f"--allow-fallback applies to accelerator targets only ({', '.join(NAMED_ONLY)})")
        for t in named:
            opts.setdefault(t, {})["fallback"] = "warn"
    return opts


def _placement_line(r) -> str | None:
    """The accelerator placement of a written artifact (from its manifest), None for CPU targets."""
    if not r.ok or r.path is None:
        return None
    try:
        placement = json.loads((Path(r.path) / "manifest.json").read_text()).get("accelerator", {}).get("placement")
    except (OSError, ValueError):
        return None
    if not placement:
        return None
    from ..runtime.placement import Placement

    return Placement.from_dict(placement).summary()


def _summary_line(r) -> str:
    label = f"{r.target}-{r.variant}-{r.quantization}" if r.variant else f"{r.target}-{r.quantization}"
    if not r.ok:
        return f"{label}: FAILED: {r.error}"
    if not r.executed:
        return f"{label}: {r.path} ({r.size_bytes} B; not executed on this platform)"
    m = r.metrics
    agree = m.get("top1_agreement_change_pp")
    agree = "" if agree is None else f", top-1 agreement {agree:+.2f} pp"
    return (
        f"{label}: {r.path} ({r.size_bytes} B; symbols differing "
        f"{100 * m['symbol_flip_fraction']:.2f} %, bpp {100 * m['bpp_relative_change']:+.2f} %{agree})"
    )


def target_help() -> str:
    """--target's help, read from the one description of the targets (runtime/targets.py) so it cannot drift:
    the names, what `all` exports, the accelerator targets exported only when named, each one's quantizations."""
    cpu = [name for name, t in TARGETS.items() if not t.named_only]
    named = [f"{name} ({t.accelerator})" for name, t in TARGETS.items() if t.named_only]
    quants = "; ".join(f"{name}: {', '.join(t.quantizations)}" for name, t in TARGETS.items())
    text = f"{', '.join(TARGETS)} or all (repeatable). all: the CPU targets ({', '.join(cpu)})"
    if named:
        text += f"; the accelerator targets {', '.join(named)} are exported only when named"
    return f"{text}. --quantize values each takes: {quants}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--target",
    "targets",
    required=True,
    multiple=True,
    metavar="NAME",
    help=target_help(),
)
@click.option(
    "--soc",
    "socs",
    multiple=True,
    metavar="SOC",
    help=f"qnn: Snapdragon SoC to compile for ({', '.join(SOCS)} or all; repeatable; default: "
    "recipe, SM8650); one artifact qnn-<soc>-<quant> each",
)
@click.option(
    "--allow-fallback",
    is_flag=True,
    help="accelerator targets: warn instead of failing when some nodes fall back to the CPU",
)
@click.option(
    "--quantize",
    "quantize",
    multiple=True,
    default=("none",),
    show_default=True,
    type=click.Choice(QUANTIZATIONS),
    help="repeatable: one artifact per value",
)
@click.option("--checkpoint", type=click.Path(dir_okay=False), help="model checkpoint (default: bundled model)")
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False),
    help="export recipe: a TOML file, or a bundled recipe's name (fsplit_mobile/recipes/)",
)
@click.option("--calib", type=click.Path(file_okay=False), help="calibration image folder for int8")
@click.option("--input-size", nargs=2, type=int, metavar="H W", help="model input size")
@click.option("--output", type=click.Choice(("symbols", "latent")), help="graph output (default: recipe, symbols)")
@click.option("--out", type=click.Path(file_okay=False), help="output folder (default: artifacts/<model id>)")
@click.option("--quiet", "-q", is_flag=True, help="no progress output")
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary on stdout")
@click.option("--verbose", "-v", is_flag=True, help="show converter output and warnings")
@click.option(
    "--rate-points",
    metavar="NAMES|auto",
    help="variable bit-rate (bottleneck-unit checkpoint): these units, comma-separated, as rate points "
    "0, 1, ... of one artifact; 'auto': the recipe's model.rate_points, else every unit",
)
@click.option(
    "--payload",
    type=click.Choice(("auto", "single", "interleaved2")),
    default="auto",
    show_default=True,
    help="stream payload the artifact's writers use (manifest 'payload'): auto = interleaved payload v2 when its "
    "bytes on the reference latents are within 1 %% of the single stream's, else the single stream",
)
def main(
    targets,
    quantize,
    checkpoint,
    recipe,
    calib,
    input_size,
    output,
    out,
    quiet,
    as_json,
    verbose,
    socs,
    allow_fallback,
    rate_points,
    payload,
):
    """Export a model to verified artifact folders (docs/artifact.md)."""
    from .api import export

    if rate_points:
        from .rate_points import export_rate_points

        names = None if rate_points == "auto" else [n.strip() for n in rate_points.split(",") if n.strip()]
        export = functools.partial(export_rate_points, units=names)

    target_options = _target_options(targets, socs, allow_fallback)
    if not verbose:
        warnings.filterwarnings("ignore")
        logging.getLogger("torch").setLevel(logging.ERROR)
    log_path = None
    if not verbose:
        fd, log_path = tempfile.mkstemp(prefix="fsplit-export-", suffix=".log")
        os.close(fd)
    error, summary, user_error = None, None, False
    with _converter_output_to(log_path) as (real_out, real_err):
        view = _ProgressView(real_err, quiet)
        try:
            summary = export(
                list(targets),
                list(quantize),
                checkpoint=checkpoint,
                recipe=recipe,
                calib=calib,
                input_size=tuple(input_size) if input_size else None,
                output=output,
                out=out,
                target_options=target_options,
                progress=view,
                payload=payload,
            )
        except (ExportError, CheckpointError) as e:
            error = str(e)
            user_error = isinstance(
                e,
                (
                    CalibrationError,
                    CheckpointError,
                    RecipeError,
                    UnknownTargetError,
                    UnsupportedOpError,
                    UnsupportedQuantizationError,
                ),
            )
        except KeyboardInterrupt:
            error = "interrupted"
    if as_json:
        payload = summary.to_dict() if summary is not None else {"ok": False, "error": error, "artifacts": []}
        click.echo(json.dumps(payload, indent=2, default=str))
    if error is not None:
        click.echo(f"fsplit-export: error: {error}", err=True)
        if log_path and not user_error and os.path.getsize(log_path):
            click.echo(f"fsplit-export: converter log: {log_path}", err=True)
        elif log_path:
            os.unlink(log_path)
        sys.exit(EXIT_FAILED)
    assert summary is not None  # export() returned: no error above
    failed = [r for r in summary.results if not r.ok]
    if not quiet and not as_json:
        for r in summary.results:
            click.echo(_summary_line(r), err=False)
            placement = _placement_line(r)
            if placement:
                click.echo(f"  placement: {placement}", err=False)
    for r in failed:
        click.echo(f"fsplit-export: error: {r.error}", err=True)
    if log_path and not failed:
        os.unlink(log_path)
    elif log_path:
        click.echo(f"fsplit-export: converter log: {log_path}", err=True)
    if failed:
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
