"""A real non-x86 board in the tests: the emulated arm64 Debian of tests/emulated_board.py (bookworm arm64 with
only its OS, python3 and its own sshd; no numpy, no runtimes), reached through the SSH transport.

``fsplit-bench run --device ssh://root@127.0.0.1:PORT`` with no runner or setup flag benchmarks the real
exporter's ExecuTorch int8 and LiteRT int8 artifacts of the bundled lightweight split model (light-lite0: what a
board should run, 17.2 M MACs; the units' 369 M MACs only made the emulation slower, and their int8 artifacts are
run by tests/bench/test_bench_default_model.py): the host probes the board, pushes
the native aarch64 ExecuTorch runner and the slim Python agent env (aarch64 wheels fetched on the host), and
the board's streams must be byte-identical to this x86_64 host's. A second run reuses the cached runner.
Emulated timings are functional only (the result says so).

Cost (CI runs it in the slow set; benchmarks/results/emulated_aarch64_board.md): building the board 676 s on
this loaded 2-core host (cached under .cache/boards or $FSPLIT_BOARD_CACHE, keyed by the build script's hash,
so only a clean clone pays it), exporting the light model ~30 s, the test body ~1-2 min. Needs root, debootstrap, qemu-user-static + binfmt-support (scripts/install_system_deps.sh), network
to the Debian mirror and PyPI on first use.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emulated_board import EmulatedBoard, build_board
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import LocalTransport

FSPLIT_BENCH = str(Path(sys.executable).with_name("fsplit-bench"))


@pytest.fixture(scope="module")
def int8_artifacts(tmp_path_factory):
    from fsplit_mobile import export

    out = tmp_path_factory.mktemp("board-artifacts")
    for target in ("executorch", "tflite"):
        export(target, "int8", recipe="light_lite0", out=out)
    return {t: out / f"{t}-int8" for t in ("executorch", "tflite")}


def _bench(board, out, *artifacts, runs="1", warmup="0", images="2"):
    argv = [
        FSPLIT_BENCH,
        "run",
        *(a for art in artifacts for a in ("--artifact", str(art))),
        "--device",
        board.device,
        "--runs",
        runs,
        "--warmup",
        warmup,
        "--image-limit",
        images,
        "--out",
        str(out),
        "--no-progress",
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, env=board.env, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stderr


@pytest.mark.slow
def test_emulated_arm64_board_zero_setup_streams_match_the_host(int8_artifacts, tmp_path):
    assert shutil.which("qemu-aarch64-static") and shutil.which("debootstrap"), (
        "qemu-user-static / debootstrap missing (scripts/install_system_deps.sh)"
    )
    rootfs = build_board()
    with EmulatedBoard(rootfs, tmp_path / "client") as board:
        assert board.ssh("python3 -c 'import numpy'").returncode != 0, "the board is not bare: it has numpy"
        assert board.ssh("rm -rf /root/.cache/fsplit-bench").returncode == 0  # the rootfs is cached between runs

        log = _bench(board, tmp_path / "first", int8_artifacts["executorch"], int8_artifacts["tflite"])
        assert "linux-aarch64, python 3.11" in log
        assert "runner native-executorch-linux-aarch64" in log and "runner python-tflite-linux-aarch64" in log
        assert log.count(" pushed at ") == 2

        for target, runner in (("executorch", "native"), ("tflite", "python-agent")):
            result = json.loads((tmp_path / "first" / f"{target}-int8" / "result.json").read_text())
            assert result["status"] == "complete" and result["artifact"]["quantization"] == "int8"
            assert result["runner"]["runner"] == runner and result["runner"]["machine"] == "aarch64"
            assert result["device"]["arch"] == "aarch64" and "functional only" in result["device"]["emulated"]
            assert result["stages"]["encoder_ms"]["n"] == 2  # one timed run per image
            host = run_benchmark(
                int8_artifacts[target],
                LocalTransport(),
                BenchConfig(runs=1, warmup=0, image_limit=2),
                out_dir=tmp_path / f"host-{target}",
                progress=False,
            )
            assert [(i["image"], i["stream_sha256"]) for i in result["images"]] == [
                (i["image"], i["stream_sha256"]) for i in host["images"]
            ], f"{target}: board and host streams differ"

        log = _bench(board, tmp_path / "again", int8_artifacts["tflite"], images="1")
        assert "reused (cached on the device)" in log and " pushed at " not in log
