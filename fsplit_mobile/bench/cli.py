"""``fsplit-bench``: ``run`` (also the default: ``fsplit-bench --artifact DIR ...``) and ``compare``. Its ``e2e``
command (fsplit_mobile/e2e, which sits above bench in the layering) is registered by the console entry point,
:func:`fsplit_mobile.cli.bench_main`."""

import sys
from dataclasses import replace
from pathlib import Path

import click

from .errors import BENCH_ERRORS, BenchError


class _DefaultRun(click.Group):
    """Treat ``fsplit-bench --artifact ...`` as ``fsplit-bench run --artifact ...``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run"] + list(args)
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultRun)
def main():
    """Latency and bytes per image of exported artifacts on this host, an SSH board or an adb device."""


@main.command()
@click.option(
    "--artifact",
    "artifacts",
    required=True,
    multiple=True,
    type=click.Path(file_okay=False),
    help="artifact folder (repeat to benchmark several in one go)",
)
@click.option("--device", default="local", show_default=True, help="local | ssh://user@host[:port] | adb[:SERIAL]")
@click.option(
    "--rate-point",
    default=None,
    help="run this rate point of a variable-rate artifact: its index or name (e.g. 1 or r1; default: rate point "
    "0, the manifest's top level); result.json records it, and fsplit-bench e2e matches it to the study's method",
)
@click.option("--runs", default=20, show_default=True, type=click.IntRange(min=1), help="timed runs per image")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(min=0), help="warm-up runs (excluded)")
@click.option("--threads", default=None, type=click.IntRange(min=1), help="runtime threads (default: runtime's)")
@click.option(
    "--images",
    "images_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="folder of images (default: scikit-image sample photos)",
)
@click.option("--image-limit", default=None, type=click.IntRange(min=1), help="use at most this many images")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False), help="results folder")
@click.option(
    "--runner",
    type=click.Choice(["auto", "python", "native", "app"]),
    default=None,
    help="device-side runner: Python agent, the native C++ runner (ExecuTorch only), or app: the "
    "installed Android demo app's benchmark mode (adb only; android_demo/README.md); auto: "
    "provision the runner the artifact needs on the device and cache it there (docs/bench.md). "
    "Default: auto on ssh/adb devices unless --python/--installed-agent/--native-runner/"
    "--native-lib-dir picks one; else native for adb (Android has no Python), python otherwise",
)
@click.option(
    "--python",
    "python_cmd",
    default=None,
    help="Python on the device (default: this interpreter for local, python3 otherwise)",
)
@click.option("--installed-agent", is_flag=True, help="use fsplit_mobile installed on the device, push no code")
@click.option(
    "--native-runner",
    default=None,
    type=click.Path(dir_okay=False),
    help="native runner binary built for the device (default: runtimes/native/build/)",
)
@click.option(
    "--native-lib-dir",
    multiple=True,
    type=click.Path(file_okay=False),
    help="where the native runner's shared libraries for the device are (default: executorch wheel)",
)
@click.option(
    "--accelerator",
    type=click.Choice(["npu", "gpu", "cpu"]),
    default=None,
    help="where the encoder runs: npu (qnn artifact: ONNX Runtime + QNN EP on the Hexagon HTP), gpu (onnx "
    "artifact: CUDA/TensorRT EPs, e.g. Jetson), cpu; default: the artifact's own (docs/accelerators.md)",
)
@click.option(
    "--qnn-libs",
    default=None,
    help="folder of the QNN libraries ON THE DEVICE (libQnnHtp.so, "
    "libQnnSystem.so, ...); default: the onnxruntime-qnn wheel or the usual vendor folders",
)
@click.option(
    "--runner-prefix",
    default="",
    help="command put before the runner on the device, e.g. "
    "'qemu-aarch64-static -L /usr/aarch64-linux-gnu' or 'nice -n -5'",
)
@click.option("--cpus", default=None, help="pin the runner to these CPUs (taskset list, e.g. 4-7)")
@click.option("--remote-dir", default=None, help="staging folder root on the device")
@click.option(
    "--timeout",
    "timeout_s",
    default=None,
    type=float,
    help="limit for the device run in seconds (runner app: wait for its exit marker, default 3600)",
)
@click.option("--keep-remote", is_flag=True, help="leave the staged bundle on the device")
@click.option("--save-streams", is_flag=True, help="also copy each image's coded stream into OUT/streams/")
@click.option("--ssh-identity", default=None, type=click.Path(dir_okay=False), help="ssh private key")
@click.option("--ssh-known-hosts", default=None, type=click.Path(dir_okay=False), help="ssh known_hosts file")
@click.option("--ssh-option", multiple=True, help="extra ssh -o option (repeatable)")
@click.option("--adb", "adb_binary", default=None, help="adb client binary (default: adb on PATH or $ADB)")
@click.option("--adb-server-port", default=None, type=int, help="adb server port (default 5037)")
@click.option("--no-progress", is_flag=True, help="no progress bar")
def run(
    artifacts,
    device,
    rate_point,
    runs,
    warmup,
    threads,
    images_dir,
    image_limit,
    out_dir,
    runner,
    python_cmd,
    installed_agent,
    native_runner,
    native_lib_dir,
    accelerator,
    qnn_libs,
    runner_prefix,
    cpus,
    remote_dir,
    timeout_s,
    keep_remote,
    save_streams,
    ssh_identity,
    ssh_known_hosts,
    ssh_option,
    adb_binary,
    adb_server_port,
    no_progress,
):
    """Benchmark artifact(s) on a device; writes result.json, events.jsonl, report.md and PNG plots."""
    from .bundle import RunnerSpec
    from .report import placement_line
    from .runner import BenchConfig, run_benchmark
    from .transports import open_transport

    try:
        transport = open_transport(
            device,
            stage_root=remote_dir,
            ssh_identity=ssh_identity,
            ssh_known_hosts=ssh_known_hosts,
            ssh_options=ssh_option,
            adb_binary=adb_binary,
            adb_server_port=adb_server_port,
        )
    except BenchError as e:
        raise click.UsageError(str(e)) from None
    from .artifact import ACCELERATOR_TARGETS
    from .provision import AutoRunner, wants_auto

    accelerated = accelerator in ("npu", "gpu") or any(_target_of(a) in ACCELERATOR_TARGETS for a in artifacts)
    auto = not accelerated and wants_auto(
        transport.kind, runner, python_cmd, installed_agent, native_runner, native_lib_dir
    )
    if runner in (None, "auto"):  # accelerators run in the Python agent only
        runner = "native" if transport.kind == "adb" and not accelerated else "python"
    spec = RunnerSpec(
        kind=runner,
        python=python_cmd,
        installed_agent=installed_agent,
        native_binary=native_runner,
        native_lib_dirs=tuple(native_lib_dir),
        prefix=runner_prefix,
    )
    config = BenchConfig(
        runs=runs,
        warmup=warmup,
        threads=threads,
        images_dir=images_dir,
        image_limit=image_limit,
        cpus=cpus,
        timeout_s=timeout_s,
        keep_stage=keep_remote,
        save_streams=save_streams,
        runner=spec,
        accelerator=accelerator,
        qnn_libs=qnn_libs,
        rate_point=rate_point,
    )
    provisioner = AutoRunner(transport, spec, log=lambda line: click.echo(line, err=True)) if auto else None
    results, failures = [], 0
    for art in artifacts:
        sub = None
        if out_dir:
            sub = Path(out_dir) / Path(art).name if len(artifacts) > 1 else Path(out_dir)
        try:
            run_config = replace(config, runner=provisioner.spec_for(art)) if provisioner else config
            result = run_benchmark(art, transport, run_config, out_dir=sub, progress=not no_progress)
            results.append(result)
            s = result["stages"]
            click.echo(
                f"{art}: encoder p50 {s['encoder_ms']['p50']:.2f} ms, entropy p50 "
                f"{s['entropy_ms']['p50']:.3f} ms, total p50 {s['total_ms']['p50']:.2f} ms, "
                f"{result['bytes']['mean']:.0f} bytes/image"
            )
            if placement_line(result):
                click.echo(f"{art}: {placement_line(result)}")
                if result["placement"].get("fallback"):
                    click.echo(f"warning: {art}: CPU fallback on the device (see placement above)", err=True)
        except BENCH_ERRORS as e:
            failures += 1
            click.echo(f"error: {art}: {type(e).__name__}: {e}", err=True)
            if sub is not None and (sub / "result.json").exists():
                click.echo(f"partial results kept in {sub}", err=True)
        except KeyboardInterrupt:
            click.echo("interrupted; partial results kept" + (f" in {sub}" if sub else ""), err=True)
            sys.exit(130)
    if out_dir and len(results) > 1:
        _write_comparison(results, Path(out_dir))
    if failures:
        sys.exit(2)


def _target_of(artifact_dir) -> str | None:
    """The manifest's target, or None when unreadable (run_benchmark reports a bad artifact properly)."""
    import json

    try:
        return json.loads((Path(artifact_dir) / "manifest.json").read_text(encoding="utf-8")).get("target")
    except (OSError, ValueError, AttributeError):
        return None


@main.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="write report.md and PNG plots here (default: print the table)",
)
def compare(results, out_dir):
    """Put result.json files (or result folders) side by side."""
    from .result import load_result

    try:
        loaded = [load_result(p) for p in results]
    except BenchError as e:
        raise click.UsageError(str(e)) from None
    if out_dir:
        _write_comparison(loaded, Path(out_dir))
        click.echo(f"wrote {Path(out_dir) / 'report.md'}, stages.png, latency.png")
    else:
        from .report import comparison_table

        click.echo(comparison_table(loaded))


def _write_comparison(results, out_dir: Path):
    from .plots import plot_results
    from .report import write_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    write_markdown(results, out_dir / "report.md")
    plot_results(results, out_dir)
