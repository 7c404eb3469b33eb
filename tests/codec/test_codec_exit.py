"""The codec benchmark's in-process sequence ends with a clean interpreter exit (issue 22, item 4).

benchmarks/codec/run.py aborted at interpreter exit with ``free(): invalid pointer`` in some runs. Root cause
(session 12, from a core dump: benchmarks/results/codec_abort.md): CompressAI's pybind11 module ``_CXX`` was loaded
from the oracle twice under two spellings of the same file, by runtimes/conformance/synth_tables.py
(``runtimes/conformance/../../.cache/oracle/...`` when FSPLIT_ORACLE_DIR is unset) and by tests/oracle.py. CPython
caches a single-phase extension by (file name, module name), so the second spelling ran its init function again;
pybind11 rebuilds its static module definition in place, resetting its reference count while CPython's extension
registry held a reference under the first spelling; at exit the registry released both, the count reached 0 and the
interpreter freed static memory. Both loaders now load the resolved path. The first test is the regression test
(two spellings in one process must exit 0); the others guard the benchmark's sequence and the extension's
reference counting.
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

TWO_SPELLINGS = """
import os, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import oracle, synth_tables
root = sys.argv[3]
os.environ["FSPLIT_ORACLE_DIR"] = root
cdf = synth_tables.load_oracle_pmf_to_quantized_cdf()([0.5, 0.25, 0.25], 16)
os.environ["FSPLIT_ORACLE_DIR"] = os.path.join(root, "compressai", "..")  # the same folder, spelled otherwise
assert oracle.cxx().pmf_to_quantized_cdf([0.5, 0.25, 0.25], 16) == cdf
print("loaded twice")
"""


def test_oracle_extension_under_two_spellings_of_its_path_exits_cleanly():
    """Both oracle loaders in one process, each with its own spelling of the oracle folder: without the resolved
    paths CompressAI's _CXX is initialised twice and the interpreter aborts at exit (every time with the system
    allocator, PYTHONMALLOC=malloc; in most runs with pymalloc)."""
    root = str(oracle.oracle_dir())  # skips (locally) without the oracle
    env = dict(os.environ, PYTHONMALLOC="malloc")
    args = [str(REPO / "tests"), str(REPO / "runtimes" / "conformance"), root]
    proc = subprocess.run(
        [sys.executable, "-c", TWO_SPELLINGS, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.stdout.strip().endswith("loaded twice"), proc.stdout + proc.stderr[-2000:]
    assert proc.returncode == 0, f"exit status {proc.returncode}\n{proc.stderr[-4000:]}"
    assert not [r for r in HEAP_REPORTS if r in proc.stderr], proc.stderr[-4000:]


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
