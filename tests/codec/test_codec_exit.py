"""The codec benchmark's in-process sequence ends with a clean interpreter exit (issue 22, item 4).

benchmarks/codec/run.py was reported to abort at interpreter exit with ``free(): invalid pointer``. The abort
did not reproduce here (benchmarks/results/codec_abort.md: plain, ASan and valgrind runs all exit 0 with no
invalid free), so this is a guard, not a regression test of a fix: a fresh interpreter runs what the benchmark
runs in-process (this package's coder, single stream, interleaved and drop-in, next to CompressAI's compiled
modules and constriction, all loaded into one process) and must exit with status 0 and no glibc heap report.
A second guard checks that the extension's calls (success and error paths) release no reference to the objects
every module shares (None, True, False, small ints): over-releasing one is the classic cause of this abort.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import oracle
from fsplit_mobile.codec import CodecTables, compat, container, decode_latent, encode_latent, interleaved
from fsplit_mobile.codec._binding import _rans
from repo_paths import REPO

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


# Objects every module shares. In Python 3.11 they are not immortal: a C function that releases one reference
# too many per call drives the count to 0 after enough calls, and the interpreter then frees a static object,
# which glibc reports as "free(): invalid pointer", typically at exit and only in long runs (issue 22 item 4).
SHARED = {"None": None, "True": True, "False": False, "()": (), **{f"int {i}": i for i in range(-5, 257)}}


def _counts() -> dict[str, int]:
    gc.collect()
    return {k: sys.getrefcount(v) for k, v in SHARED.items()}


def test_extension_calls_release_no_shared_reference():
    rng = np.random.default_rng(22)
    cdf = np.array([[0, 30000, 50000, 60000, 65536], [0, 10000, 65536, 0, 0]], dtype=np.int32)
    tables = CodecTables.from_arrays(cdf, np.array([5, 3]), np.array([-2, 0]))
    lat = rng.integers(-3, 4, (2, 9, 9)).astype(np.int32)  # escapes included
    data = {f: encode_latent(tables, lat, payload_format=f) for f in ("single", "interleaved", "interleaved2")}
    cdfs, sizes, offsets = [[0, 30000, 50000, 60000, 65536], [0, 10000, 65536]], [5, 3], [-2, 0]
    sym, idx = lat.reshape(-1).tolist(), np.repeat([0, 1], 81).tolist()
    stream = compat.encode_with_indexes(sym, idx, cdfs, sizes, offsets)
    bad = bytearray(container.unpack(data["interleaved2"])[1])

    tables_v2 = interleaved.derived_tables(tables.raw)

    def calls():
        for blob in data.values():
            assert np.array_equal(decode_latent(tables, blob), lat)
        assert compat.decode_with_indexes(stream, idx, cdfs, sizes, offsets).tolist() == sym
        _rans.content_key(cdfs, sizes, [1.5, 0])  # not keyable: None
        _rans.fill_int32([1, "x"], np.empty(2, np.int32))  # False
        for payload in (b"", bytes(bad[:-2])):  # errors raised from C
            with pytest.raises(_rans.Error):
                _rans.ilv2_decode_planar(payload, 2, 8, 0, *tables_v2, np.empty(162, np.int32))

    calls()
    before = _counts()
    for _ in range(200):
        calls()
    drift = {k: n - before[k] for k, n in _counts().items() if n < before[k] - 2}
    assert not drift, f"references released by the calls (200 rounds): {drift}"
