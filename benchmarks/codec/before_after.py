"""Payload v2 SIMD coder before/after: runtimes/c/bench.c built from a base git revision and from the working tree,
run in alternation on the same latents, so both columns come from one run on one machine.

    .venv/bin/python benchmarks/codec/before_after.py [--base REV] [--seconds 0.5] [--rounds 3] [--pause PATTERN]
                                                      [--out benchmarks/results/codec-v2-before-after.md]

Each round runs both binaries on every latent of benchmarks/codec/run.py; a cell is the lowest of the rounds'
medians (the least disturbed on a shared machine). Both binaries check their SIMD bytes against their own scalar
coder; payload sizes are compared here, and the bytes themselves by the conformance vectors.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as codec_run  # noqa: E402


def build(src: Path, out: Path) -> Path:
    subprocess.run(["make", "-s", "-C", str(src), f"BENCH_BIN={out}", str(out)], check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="88daf26", help="git revision of the 'before' coder")
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pause", default="", metavar="PATTERN", help="as in run.py, around each round")
    ap.add_argument("--out", default=str(codec_run.REPO / "benchmarks" / "results" / "codec-v2-before-after.md"))
    args = ap.parse_args()
    repo = codec_run.REPO
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "base").mkdir()
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", args.base, "runtimes/c"], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(tmp / "base")], input=archive.stdout, check=True)
        bins = {
            "before": build(tmp / "base" / "runtimes" / "c", tmp / "bench-before"),
            "after": build(repo / "runtimes" / "c", tmp / "bench-after"),
        }
        cases = []
        for title, (tables, symbols, _) in [
            ("FrankenSplit latent", codec_run.frankensplit_case()),
            ("Entropic-student latent", codec_run.student_case()),
            ("Bundled units latent", codec_run.units_case()),
            ("Light-lite0 latent", codec_run.light_case()),
        ]:
            d = tmp / f"case{len(cases)}"
            d.mkdir()
            tables.write(d / "t.fsct")
            symbols.astype("<i4").tofile(d / "s.i32")
            cases.append((f"{title} {'x'.join(str(v) for v in symbols.shape)}", d, symbols.shape))
        best: dict = {}
        for _ in range(args.rounds):
            codec_run.paused(args.pause, True)
            try:
                for name, d, (c, h, w) in cases:
                    for which, binary in bins.items():
                        cmd = [
                            str(binary),
                            str(d / "t.fsct"),
                            str(d / "s.i32"),
                            str(c),
                            str(h),
                            str(w),
                            str(args.seconds),
                        ]
                        res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                        for r in res["interleaved2"]:
                            key = (name, r["lanes"], r["impl"], which)
                            cell = (r["encode_ns_per_symbol"], r["decode_ns_per_symbol"], r["payload_bytes"])
                            old = best.get(key)
                            best[key] = cell if old is None else (min(old[0], cell[0]), min(old[1], cell[1]), cell[2])
            finally:
                codec_run.paused(args.pause, False)
    machine = codec_run.machine()
    lines = [
        f"# Payload v2 SIMD coder before/after ({time.strftime('%Y-%m-%d %H:%M:%S')})",
        "",
        f"Machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs; {machine['os']}; {machine['gcc']}. "
        f"Load average at start {machine['load_average_start']}. Written by benchmarks/codec/before_after.py: "
        f"runtimes/c/bench.c (-O3) built from `{args.base}` (before) and from the working tree (after), {args.rounds} "
        f"rounds in alternation, {args.seconds} s per phase; each cell is the lowest of the rounds' medians, in ns per "
        "symbol, encode / decode. Bytes: the payload size of both builds (each checks its SIMD bytes against its "
        "own scalar coder).",
        "",
        "| latent | lanes | impl | before enc / dec | after enc / dec | speed-up enc / dec | bytes (before = after) |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for name, _, _ in cases:
        for (n, lanes, impl, which), (e, dd, size) in sorted(best.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            if n != name or which != "after":
                continue
            be, bd, bsize = best[(name, lanes, impl, "before")]
            lines.append(
                f"| {name} | {lanes} | {impl} | {be:.2f} / {bd:.2f} | {e:.2f} / {dd:.2f} | {be / e:.2f}x / {bd / dd:.2f}x "
                f"| {size} ({'same' if size == bsize else 'DIFFERENT: ' + str(bsize)}) |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
