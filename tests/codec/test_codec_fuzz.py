"""Fuzzing (CI run of about 60 s): the libFuzzer target runtimes/c/fuzz_decode.c (clang, ASan + UBSan) over the
rANS decoder, the tables file reader and the container parser, seeded with valid inputs. Any crash, sanitizer
report or violated property (decoders disagree, an accepted stream or tables file is not canonical) fails.
The recorded 10-million-execution run is in benchmarks/results/codec_fuzz_10M.txt. The interleaved payload has its
own target (runtimes/c/fuzz_interleaved.c: every implementation agrees, accepted payloads are canonical, encoders
agree byte for byte): a 30 s CI run here, 10.9 million executions recorded in benchmarks/results/codec_fuzz_interleaved_10M.txt."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repo_paths import REPO

C_DIR = REPO / "runtimes" / "c"


def run_fuzzer(tmp_path: Path, make_var: str, name: str, seed_args: list[str], seconds: int, min_runs: int) -> None:
    """Build a libFuzzer target, seed it, run it for `seconds`; fail on any finding or too few executions."""
    if shutil.which("clang") is None:
        pytest.fail("clang missing: scripts/install_system_deps.sh installs clang and libclang-rt-14-dev")
    binary = tmp_path / name
    build = subprocess.run(
        ["make", "-C", str(C_DIR), f"{make_var}={binary}", str(binary)], capture_output=True, text=True, timeout=300
    )
    assert build.returncode == 0, build.stdout + build.stderr
    seeds, corpus = tmp_path / "seeds", tmp_path / "corpus"
    corpus.mkdir()
    subprocess.run(
        [sys.executable, str(C_DIR / "fuzz_seeds.py"), *seed_args, str(seeds)], check=True, capture_output=True
    )
    run = subprocess.run(
        [
            str(binary),
            f"-max_total_time={seconds}",
            "-max_len=4096",
            "-print_final_stats=1",
            # libFuzzer's RSS limit reads getrusage's peak RSS, which a child inherits from the process that
            # started it (the pytest worker: 2.1 GB after the model tests, so libFuzzer reported "out-of-memory"
            # on its first input). The limit on any single allocation stays at libFuzzer's default 2048 MB.
            "-rss_limit_mb=16384",
            "-malloc_limit_mb=2048",
            "-seed=0",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
            str(seeds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 180,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    assert "ERROR" not in log and "runtime error" not in log, log[-4000:]
    runs = int(re.search(r"stat::number_of_executed_units: (\d+)", log).group(1))
    assert runs > min_runs, log[-2000:]
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("leak-*"))


@pytest.mark.slow
def test_fuzz_decoder_tables_and_container(tmp_path):
    run_fuzzer(tmp_path, "FUZZ_BIN", "fuzz_decode", [], 60, 100_000)


@pytest.mark.slow
def test_fuzz_interleaved_payload(tmp_path):
    run_fuzzer(tmp_path, "FUZZ_ILV_BIN", "fuzz_interleaved", ["--interleaved"], 30, 5_000)
    assert len(list((tmp_path / "seeds").iterdir())) >= 18


@pytest.mark.slow
def test_fuzz_interleaved2_payload(tmp_path):
    """Payload version 2 (issue 22 item 5): a short run here; the long runs are recorded in
    benchmarks/results/fuzz_interleaved2.md."""
    run_fuzzer(tmp_path, "FUZZ_ILV2_BIN", "fuzz_interleaved2", ["--interleaved2"], 15, 2_000)
    assert len(list((tmp_path / "seeds").iterdir())) >= 18
