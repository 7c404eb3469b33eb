"""`fsplit-bench e2e`: end-to-end latency of split computing vs offloading the image, over shaped bandwidth.

1. Quality: on the held-out crops, the split pipeline (each artifact: device encoder in its runtime + rANS
   coding, then fsplit-serve's engine) and JPEG/WebP at many qualities followed by the full teacher; teacher
   top-1 agreement of each; the codec quality matched to the split model's agreement (workload.py).
2. Transfer: a server process (fsplit-serve apps + the offloading app) in one network namespace, a client in
   another, bandwidth shaped with tc tbf and a fixed RTT (netns.py); each method's payloads are POSTed over a
   keep-alive connection at every bandwidth. Where namespaces cannot be used the transfer time is computed
   (RTT + bytes / bandwidth + measured server time) and the results say so.
3. Third baseline: the full teacher on the device (no network; workload.run_local_teacher): with a mobile-size
   teacher local inference competes, and the report says above which bandwidth split computing beats it.
4. Report: total latency = device-side compute (median) + request time (median: transfer + server decode +
   tail), table, plot, speedup vs offloading and vs the local teacher, crossover bandwidths (report.py).
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .workload import CODECS, DEFAULT_QUALITIES, WorkloadError, parse_split

DEFAULT_BANDWIDTHS = (1, 5, 10, 25, 50, 100)
SERVER_PORT = 8470
# computed fallback: request headers, response (headers + JSON), TCP/IP header share of a 1500-byte packet
REQUEST_OVERHEAD_BYTES = 200
RESPONSE_BYTES = 900
WIRE_FACTOR = 1500 / 1448


def machine_description() -> tuple[dict, str]:
    from ..bench.device_info import PROBE_SCRIPT, parse_probe

    try:
        text = subprocess.run(["sh", "-c", PROBE_SCRIPT], capture_output=True, text=True, timeout=30).stdout
        info = parse_probe(text)
    except (OSError, subprocess.SubprocessError):
        info = {}
    import onnxruntime

    info.update(
        {
            "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__,
            "hostname": platform.node(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
    )
    try:
        load = os.getloadavg()
        info["loadavg_at_start"] = [round(x, 2) for x in load]
    except OSError:
        pass
    text = "\n".join(f"{k}: {v}" for k, v in info.items() if not isinstance(v, (dict, list)) or k == "loadavg_at_start")
    return info, text


def _log(progress, msg):
    if progress:
        progress(msg)


def measure_quality(splits: dict, crops, qualities, codecs, cache_dir, progress=None) -> dict:
    from ..models.frankensplit_lite0 import imagenet_labels
    from .offload import OffloadEngine
    from .workload import run_local_teacher, run_offload, run_split, teacher_onnx, teacher_reference

    teacher = teacher_onnx(cache_dir)
    engine = OffloadEngine(teacher, imagenet_labels())
    _log(progress, f"teacher reference on {len(crops)} crops")
    reference = teacher_reference(engine, crops)
    _log(progress, "full teacher on the device (local baseline)")
    local = run_local_teacher(engine, crops, reference)
    split_runs = {}
    for name, path in splits.items():
        _log(progress, f"split pipeline {name}: {path}")
        artifact_dir, rate_point = parse_split(path)
        split_runs[name] = run_split(name, artifact_dir, crops, rate_point=rate_point)
    offload_runs: dict[str, dict] = {}
    for codec in codecs:
        offload_runs[codec] = {}
        for q in qualities:
            _log(progress, f"offload {codec} quality {q}")
            offload_runs[codec][q] = run_offload(codec, q, crops, engine)
    return {
        "teacher": teacher,
        "reference": reference,
        "split": split_runs,
        "offload": offload_runs,
        "local_teacher": local,
    }


def _write_payloads(folder: Path, name: str, payloads) -> list[str]:
    files = []
    for i, p in enumerate(payloads):
        f = folder / f"{name}-{i:03d}.bin"
        f.write_bytes(p)
        files.append(str(f))
    return files


def measure_transfer_shaped(jobs, splits, teacher, bandwidths, rtt_ms, reps, shaping, workdir, progress=None):
    """Real sockets over a shaped link. Returns ({method: {bw: [rows]}}, link description, link checks)."""
    from .netns import ShapedLink

    mode = "auto" if shaping == "auto" else shaping
    out: dict[str, dict] = {m["method"]: {} for m in jobs}
    checks = {}
    with ShapedLink(rate_mbit=bandwidths[0], rtt_ms=rtt_ms, mode=mode) as link:
        base_url = f"http://{link.server_ip}:{SERVER_PORT}"
        cmd = link.exec_prefix(link.server_ns) + [
            sys.executable,
            "-m",
            "fsplit_mobile.e2e.server",
            "--teacher",
            str(teacher),
            "--host",
            link.server_ip,
            "--port",
            str(SERVER_PORT),
        ]
        for name, path in splits.items():  # the server loads every rate point of an artifact
            cmd += ["--split", f"{name}={parse_split(path)[0]}"]
        server_log = open(workdir / "server.log", "w")
        server = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT)
        try:
            for bw in bandwidths:
                link.set_rate(bw)
                _log(progress, f"transfer at {bw} Mbit/s ({link.mode})")
                spec = {"base_url": base_url, "reps": reps, "jobs": jobs, "wait_s": 180}
                spec_file, out_file = workdir / f"jobs-{bw}.json", workdir / f"probe-{bw}.json"
                spec_file.write_text(json.dumps(spec))
                proc = subprocess.run(
                    link.exec_prefix(link.client_ns)
                    + [sys.executable, "-m", "fsplit_mobile.e2e.probe", str(spec_file), str(out_file)],
                    capture_output=True,
                    text=True,
                    timeout=3600,
                )
                if proc.returncode != 0:
                    raise WorkloadError(f"probe at {bw} Mbit/s failed: {proc.stderr.strip()[-2000:]}")
                got = json.loads(out_file.read_text())
                checks[str(bw)] = got.get("link_check", {})
                for method, rows in got["results"].items():
                    out[method][str(bw)] = rows
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
            server_log.close()
        return out, link.describe(), checks


def measure_transfer_computed(jobs, server_ms_by_file, bandwidths, rtt_ms):
    out: dict[str, dict] = {m["method"]: {} for m in jobs}
    for job in jobs:
        for bw in bandwidths:
            rows = []
            for f in job["files"]:
                size = Path(f).stat().st_size
                bits = ((size + REQUEST_OVERHEAD_BYTES) * WIRE_FACTOR + RESPONSE_BYTES * WIRE_FACTOR) * 8
                server = server_ms_by_file[f]
                rows.append(
                    {
                        "file": f,
                        "bytes": size,
                        "server_ms": server,
                        "status": 200,
                        "request_ms": rtt_ms + bits / (bw * 1e6) * 1e3 + server,
                    }
                )
            out[job["method"]][str(bw)] = rows
    return out


def run_e2e(
    splits: dict,
    out_dir,
    bandwidths=DEFAULT_BANDWIDTHS,
    rtt_ms: float = 20.0,
    crops_per_image: int = 2,
    qualities=DEFAULT_QUALITIES,
    codecs=tuple(CODECS),
    reps: int = 3,
    transfer_crops: int = 8,
    shaping: str = "auto",
    cache_dir=None,
    progress=print,
) -> dict:
    """Run the whole benchmark; writes e2e.json, e2e.md and e2e.png into out_dir and returns the results."""
    from . import report as e2e_report
    from .netns import LinkUnavailable
    from .workload import heldout_crops, match_quality

    if not splits:
        raise WorkloadError("no split artifacts given")
    for name, path in splits.items():
        if not (parse_split(path)[0] / "manifest.json").is_file():
            raise WorkloadError(f"split artifact {name}: {path} has no manifest.json (run fsplit-export first)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cache_dir or ".cache/e2e")
    bandwidths = sorted(float(b) if float(b) != int(b) else int(b) for b in bandwidths)
    machine, machine_text = machine_description()

    crops = heldout_crops(crops_per_image)
    quality = measure_quality(splits, crops, qualities, codecs, cache_dir, progress)
    reference = quality["reference"]
    split_runs, offload_runs = quality["split"], quality["offload"]
    first_split = next(iter(splits))
    target = split_runs[first_split].agreement(reference)
    matching = {"target": first_split, "target_agreement": target, "codecs": {}}
    methods = {name: run.summary(reference) for name, run in split_runs.items()}
    for codec in codecs:
        q, reached = match_quality(offload_runs[codec], reference, target)
        run = offload_runs[codec][q]
        matching["codecs"][codec] = {
            "quality": q,
            "reached": reached,
            "agreement": run.agreement(reference),
            "per_split": {
                n: dict(
                    zip(("quality", "reached"), match_quality(offload_runs[codec], reference, r.agreement(reference)))
                )
                for n, r in split_runs.items()
            },
        }
        methods[f"{codec}-q{q}"] = run.summary(reference)
    sweep = {
        codec: {
            str(q): {"agreement": r.agreement(reference), "bytes_mean": r.payload_stats()["mean"]}
            for q, r in runs.items()
        }
        for codec, runs in offload_runs.items()
    }

    # payloads sent over the link: evenly spaced crops
    pick = np.linspace(0, len(crops) - 1, min(transfer_crops, len(crops))).round().astype(int).tolist()
    chosen = {name: run for name, run in split_runs.items()}
    chosen.update(
        {f"{c}-q{matching['codecs'][c]['quality']}": offload_runs[c][matching["codecs"][c]["quality"]] for c in codecs}
    )
    workdir = Path(tempfile.mkdtemp(prefix="fsplit-e2e-"))
    jobs, server_ms_by_file = [], {}
    for name, run in chosen.items():
        files = _write_payloads(workdir, name, [run.payloads[i] for i in pick])
        for f, i in zip(files, pick):
            server_ms_by_file[f] = run.server_ms["total"][i]
        is_split = name in split_runs
        jobs.append(
            {
                "method": name,
                "path": f"/split/{name}/v1/infer" if is_split else "/offload/v1/classify-image",
                "content_type": "application/octet-stream" if is_split else f"image/{name.split('-')[0]}",
                "files": files,
            }
        )

    transfer: dict[str, Any] = {"payloads": len(pick), "reps": reps}
    checks = {}
    if shaping == "computed":
        rows = measure_transfer_computed(jobs, server_ms_by_file, bandwidths, rtt_ms)
        transfer.update(mode="computed", detail="requested: RTT + bytes/bandwidth + measured server time")
    else:
        try:
            rows, link, checks = measure_transfer_shaped(
                jobs, splits, quality["teacher"], bandwidths, rtt_ms, reps, shaping, workdir, progress
            )
            transfer.update(
                mode=f"shaped ({link['mode']})", detail=f"{link['shaper']}; delay by {link['delay']}", link=link
            )
        except LinkUnavailable as exc:
            _log(progress, f"network namespaces unusable here ({exc}); computing transfer times instead")
            rows = measure_transfer_computed(jobs, server_ms_by_file, bandwidths, rtt_ms)
            transfer.update(
                mode="computed", detail=f"namespaces unusable: {exc}; RTT + bytes/bandwidth + measured server time"
            )
    transfer["link_checks"] = checks

    errors = {m: sum(r["status"] != 200 for bw in per.values() for r in bw) for m, per in rows.items()}
    if any(errors.values()):
        raise WorkloadError(f"requests failed during the transfer runs: {errors}")
    e2e: dict[str, dict] = {}
    for name, per_bw in rows.items():
        client = methods[name]["client_total_ms"]
        e2e[name] = {}
        for bw, rs in per_bw.items():
            request = float(np.median([r["request_ms"] for r in rs]))
            server = float(np.median([r["server_ms"] for r in rs]))
            e2e[name][bw] = {
                "total": client + request,
                "device": client,
                "request": request,
                "server": server,
                "network": request - server,
            }
    results = {
        "schema": "fsplit-e2e/1",
        "bandwidths_mbit": bandwidths,
        "rtt_ms": rtt_ms,
        "crops": len(crops),
        "crops_per_image": crops_per_image,
        "split_methods": list(split_runs),
        "offload_methods": [f"{c}-q{matching['codecs'][c]['quality']}" for c in codecs],
        "methods": methods,
        "matching": matching,
        "quality_sweep": sweep,
        "transfer": transfer,
        "e2e_ms": e2e,
        "local_teacher": quality["local_teacher"],  # constant over bandwidth: nothing is sent
        "raw_requests": rows,
        "machine": machine,
        "machine_text": machine_text,
        "notes": [
            "device-side times are measured on this host's CPU (no phone here)",
            "server and client share the host's cores during transfer runs",
        ],
    }
    results["speedup"] = e2e_report.speedups(results)
    results["vs_local_teacher"] = e2e_report.local_comparison(results)
    e2e_report.write_all(results, out_dir)
    return results


# -- fsplit-bench e2e ---------------------------------------------------------------------------------------


def _default_splits() -> dict:
    root = Path("artifacts/default")
    for target in ("executorch", "onnx", "tflite"):
        found = {name: root / f"{target}-{quant}" for name, quant in (("fp32", "none"), ("int8", "int8"))}
        if all((p / "manifest.json").is_file() for p in found.values()):
            return found
    return {}


def _number_list(text: str) -> list:
    try:
        return [int(x) if float(x).is_integer() else float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        import click

        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}") from None


def _command():
    import click

    @click.command("e2e")
    @click.option(
        "--artifact",
        "artifacts",
        multiple=True,
        metavar="NAME=DIR[@N]",
        help="split artifact to compare (repeatable; the first one sets the quality to match; @N: rate "
        "point N of a variable bit-rate artifact). "
        "Default: fp32=artifacts/default/<target>-none, int8=.../<target>-int8.",
    )
    @click.option(
        "--bandwidths",
        default=",".join(map(str, DEFAULT_BANDWIDTHS)),
        show_default=True,
        help="uplink bandwidths in Mbit/s",
    )
    @click.option("--rtt-ms", default=20.0, show_default=True, type=click.FloatRange(min=0), help="round-trip time")
    @click.option(
        "--crops-per-image",
        default=2,
        show_default=True,
        type=click.IntRange(min=1),
        help="held-out crops per image for agreement (as the model's evaluation)",
    )
    @click.option(
        "--qualities",
        default=",".join(map(str, DEFAULT_QUALITIES)),
        show_default=True,
        help="JPEG/WebP qualities to try",
    )
    @click.option(
        "--reps",
        default=3,
        show_default=True,
        type=click.IntRange(min=1),
        help="repetitions of each payload per bandwidth",
    )
    @click.option(
        "--transfer-crops",
        default=8,
        show_default=True,
        type=click.IntRange(min=1),
        help="payloads per method sent over the link",
    )
    @click.option(
        "--shaping",
        type=click.Choice(["auto", "netem", "tun-delay", "computed"]),
        default="auto",
        show_default=True,
        help="how to make the link (computed: no sockets, formula only)",
    )
    @click.option(
        "--out",
        "out_dir",
        default="benchmarks/results/e2e",
        show_default=True,
        type=click.Path(file_okay=False),
        help="results folder (e2e.json, e2e.md, e2e.png)",
    )
    @click.option(
        "--cache-dir",
        default=".cache/e2e",
        show_default=True,
        type=click.Path(file_okay=False),
        help="where the teacher's ONNX export is kept",
    )
    @click.option(
        "--device-result",
        "device_results",
        multiple=True,
        metavar="[METHOD=]PATH",
        help="decision report: `fsplit-bench run` result.json of the split encoder on the device (its median total "
        "replaces this host's device time of every split method, or of METHOD)",
    )
    @click.option("--device-result-local", default=None, metavar="PATH", help="same, of the full network")
    @click.option(
        "--slowdown",
        default=1.0,
        show_default=True,
        type=click.FloatRange(min=0, min_open=True),
        help="decision report: stated device slowdown; every device time no result.json replaced is x F",
    )
    @click.option(
        "--scale-results",
        is_flag=True,
        help="decision report: the --device-result files were measured on this host (e.g. by the native runner): "
        "--slowdown applies to them too",
    )
    @click.option(
        "--min-agreement", default=None, type=click.FloatRange(0, 1), help="decision floor (default: study's)"
    )
    @click.option(
        "--from-study",
        default=None,
        type=click.Path(dir_okay=False, exists=True),
        help="skip the measurement: decision report from this e2e.json only",
    )
    def e2e(
        artifacts,
        bandwidths,
        rtt_ms,
        crops_per_image,
        qualities,
        reps,
        transfer_crops,
        shaping,
        out_dir,
        cache_dir,
        device_results,
        device_result_local,
        slowdown,
        scale_results,
        min_agreement,
        from_study,
    ):
        """Split computing vs offloading the image (JPEG/WebP + full teacher): latency over shaped bandwidth, and
        which option (local, split at each rate point, JPEG/WebP) wins per bandwidth and RTT (OUT/decision/)."""
        from . import decision

        def decide(study_path):
            try:
                report, paths = decision.run(
                    study_path,
                    Path(out_dir) / "decision",
                    slowdown=slowdown,
                    device_results=device_results,
                    device_result_local=device_result_local,
                    min_agreement=min_agreement,
                    scale_results=scale_results,
                )
            except decision.DecisionError as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(f"wrote {', '.join(map(str, paths))}")

        if from_study:
            decide(from_study)
            return
        if artifacts:
            splits = {}
            for item in artifacts:
                if "=" not in item:
                    raise click.BadParameter(f"expected NAME=DIR, got {item!r}", param_hint="--artifact")
                name, path = item.split("=", 1)
                splits[name] = Path(path)
        else:
            splits = _default_splits()
            if not splits:
                raise click.UsageError(
                    "no artifacts given and none in artifacts/default/: run "
                    "`fsplit-export --target executorch --quantize none --quantize int8` first"
                )
        try:
            results = run_e2e(
                splits,
                out_dir,
                bandwidths=_number_list(bandwidths),
                rtt_ms=rtt_ms,
                crops_per_image=crops_per_image,
                qualities=_number_list(qualities),
                reps=reps,
                transfer_crops=transfer_crops,
                shaping=shaping,
                cache_dir=cache_dir,
                progress=lambda m: click.echo(m, err=True),
            )
        except WorkloadError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo((Path(out_dir) / "e2e.md").read_text())
        click.echo(f"wrote {Path(out_dir) / 'e2e.json'}, e2e.md, e2e.png ({results['transfer']['mode']})")
        decide(Path(out_dir) / "e2e.json")

    return e2e


e2e_command = _command()
