"""The codec benchmark's in-process sequence ends with a clean interpreter exit (issue 22, item 4).

benchmarks/codec/run.py was reported to abort at interpreter exit with ``free(): invalid pointer``. The abort
did not reproduce here (benchmarks/results/codec_abort.md: plain, ASan and valgrind runs all exit 0 with no
invalid free), so this is a guard, not a regression test of a fix: a fresh interpreter runs what the benchmark
runs in-process (this package's coder, single stream, interleaved and drop-in, next to CompressAI's compiled
modules and constriction, all loaded into one process) and must exit with status 0 and no glibc heap report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import oracle

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("codec_bench", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
tables, symbols, _ = bench.student_case()
payload = bytes(bench.container.unpack(bench.encode_latent(tables, symbols))[1])
rows = bench.python_rows(tables, symbols, 0.01)
rows += bench.compressai_rows(tables, symbols, 0.01, payload)
rows += bench.constriction_rows(tables, symbols, 0.01)
print(len(rows), "rows")
"""

HEAP_REPORTS = ("free(): invalid pointer", "double free", "corrupted", "munmap_chunk()", "malloc():")


def test_benchmark_sequence_exits_cleanly():
    env = dict(os.environ, FSPLIT_ORACLE_DIR=str(oracle.oracle_dir()))  # skips (locally) without the oracle
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO / "benchmarks" / "codec" / "run.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, f"exit status {proc.returncode}\n{proc.stderr[-4000:]}"
    count = proc.stdout.strip().rsplit("\n", 1)[-1]
    assert count.endswith(" rows") and int(count.split()[0]) >= 1, proc.stdout  # the benchmark's rows were made
    assert not [r for r in HEAP_REPORTS if r in proc.stderr], proc.stderr[-4000:]
