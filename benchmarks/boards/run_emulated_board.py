"""Benchmark artifacts on the emulated arm64 board exactly as a user would on a fresh board: build (or reuse) the
board, start its sshd, empty its runner cache, run ``fsplit-bench run --device ssh://...`` with no runner flag,
run it again (cache hit), and write the measured figures (board build, provisioning, sizes on the device, the
stream hashes next to this host's) to ``--report``. Timings on the board are FUNCTIONAL ONLY (qemu-user).

    sudo .venv/bin/python benchmarks/boards/run_emulated_board.py --artifact A [--artifact B] \
        --out benchmarks/results/emulated-aarch64 --report benchmarks/results/emulated_aarch64_board.md
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from emulated_board import CPU_MODEL, EmulatedBoard, build_board  # noqa: E402

BENCH = str(Path(sys.executable).with_name("fsplit-bench"))


def bench(board, artifacts, out, runs, warmup, images):
    argv = [
        BENCH,
        "run",
        *(x for a in artifacts for x in ("--artifact", a)),
        "--device",
        board.device,
        "--runs",
        str(runs),
        "--warmup",
        str(warmup),
        "--image-limit",
        str(images),
        "--out",
        str(out),
        "--no-progress",
    ]
    t0 = time.time()
    proc = subprocess.run(argv, capture_output=True, text=True, env=board.env)
    if proc.returncode != 0:
        raise SystemExit(f"fsplit-bench failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return time.time() - t0, [line for line in proc.stderr.splitlines() if line.startswith(("device ", "runner "))]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifact", action="append", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--images", type=int, default=2)
    args = p.parse_args()

    t0 = time.time()
    rootfs = build_board()
    build_wall = time.time() - t0
    stamp = rootfs.parent
    out = Path(args.out)
    client = Path(tempfile.mkdtemp(prefix="fsplit-board-client-"))  # the ssh key stays out of the results
    with EmulatedBoard(rootfs, client) as board:
        board.ssh("rm -rf /root/.cache/fsplit-bench")
        first_s, first_log = bench(board, args.artifact, out / "first", args.runs, args.warmup, args.images)
        again_s, again_log = bench(board, args.artifact, out / "again", args.runs, args.warmup, args.images)
        sizes = board.ssh("du -sk /root/.cache/fsplit-bench/runners/* | sed 's|/root/.cache/fsplit-bench/runners/||'")
    lines = [
        f"# Emulated arm64 board: zero-setup fsplit-bench ({time.strftime('%Y-%m-%d')})",
        "",
        f"Host: {platform.node()} {platform.machine()}, {platform.python_version()}; board: Debian bookworm arm64 "
        f"(OS + python3 + openssh-server only) in a chroot under qemu-user as {CPU_MODEL}, own sshd on loopback.",
        "Board timings are FUNCTIONAL ONLY (user-mode emulation, 30-80x slower than a real core).",
        "",
        f"- board build: {(stamp / 'build_seconds').read_text().strip()} s when built (this run: "
        f"{build_wall:.0f} s, cached = {build_wall < 60}); rootfs {(stamp / 'rootfs_mb').read_text().strip()} MB",
        f"- first run (probe, assemble, push, bench): {first_s:.0f} s; second run (runners reused): {again_s:.0f} s",
        "",
        "Provisioning (first run):",
        "",
        *[f"    {x}" for x in first_log],
        "",
        "Second run:",
        "",
        *[f"    {x}" for x in again_log],
        "",
        "Runner sizes on the device (KB):",
        "",
        *[f"    {x}" for x in sizes.stdout.splitlines()],
        "",
        "| artifact | runner | encoder p50 ms (emulated) |"
        " total p50 ms (emulated) | bytes | stream sha256 (first 16) | same as this host's |",
        "|---|---|---|---|---|---|---|",
    ]
    for art in args.artifact:
        sub = out / "first" / Path(art).name if len(args.artifact) > 1 else out / "first"
        r = json.loads((sub / "result.json").read_text())
        host_out = out / f"host-{Path(art).name}"
        subprocess.run(
            [
                BENCH,
                "run",
                "--artifact",
                art,
                "--device",
                "local",
                "--runs",
                "1",
                "--warmup",
                "0",
                "--image-limit",
                str(args.images),
                "--out",
                str(host_out),
                "--no-progress",
            ],
            check=True,
            capture_output=True,
        )
        host = json.loads((host_out / "result.json").read_text())
        same = [i["stream_sha256"] for i in r["images"]] == [i["stream_sha256"] for i in host["images"]]
        lines.append(
            f"| {Path(art).name} | {r['runner']['runner']} ({r['runner']['machine']}) | "
            f"{r['stages']['encoder_ms']['p50']:.0f} | {r['stages']['total_ms']['p50']:.0f} | "
            f"{r['bytes']['mean']:.0f} | {', '.join(i['stream_sha256'][:16] for i in r['images'])} | "
            f"{'yes' if same else 'NO'} |"
        )
    Path(args.report).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
