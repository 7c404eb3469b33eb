"""Entropy-coder benchmark: encode/decode ns per symbol and ms per latent, all coders in one run.

    .venv/bin/python benchmarks/codec/run.py [--seconds 1.5] [--out benchmarks/results]

Latents: FrankenSplit 48x28x28 and entropic-student 24x55x55. The FrankenSplit case uses the bundled model's
tables and its real latent of the demo image when fsplit_mobile/data/default exists; otherwise (and for the
entropic student, which has no trained model here) symbols are drawn from the tables' own quantized
distributions (runtimes/conformance/synth_tables.py); the results file says which.
Coders: C direct (runtimes/c/bench.c, -O3), the Python binding (encode_latent/decode_latent, container
included), Java (dev.fsplit.codec.Bench, after JIT warm-up), CompressAI 1.2.8's raw RansEncoder/RansDecoder
(lists prepared beforehand), CompressAI's own EntropyBottleneck.compress()/decompress() (the real class from
the wheel, loaded by path by tests/oracle.py, so including its per-call Python/torch work), and
constriction (PyPI) as a peer with one Categorical model per channel (no escape payloads: out-of-range
symbols are clamped into the escape slot, which is rare here). Timings are medians after warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "runtimes" / "conformance"))
sys.path.insert(0, str(REPO / "tests"))

from fsplit_mobile.codec import CodecTables, container, decode_latent, encode_latent  # noqa: E402
from synth_tables import sample_latent, synthesize  # noqa: E402


# ---------------------------------------------------------------- inputs
def frankensplit_case():
    """(tables, symbols, provenance) for the 48x28x28 latent."""
    from fsplit_mobile.models.default_model import DEFAULT_CHECKPOINT

    if DEFAULT_CHECKPOINT.exists():
        return _bundled_model_case(DEFAULT_CHECKPOINT)
    tables = CodecTables.read(REPO / "runtimes/conformance/tables/frankensplit.fsct")
    return tables, sample_latent(tables, 28, 28, seed=1), (
        "synthetic FrankenSplit-like tables (runtimes/conformance/tables/frankensplit.fsct); symbols sampled from "
        "the tables' own distributions (no bundled model yet)")


def _bundled_model_case(checkpoint: Path):
    import torch

    from fsplit_mobile.demo import DEFAULT_IMAGE, preprocess
    from fsplit_mobile.models.default_model import load_default_model

    model = load_default_model(with_server=False)
    tables = CodecTables.from_arrays(*model.device.entropy_bottleneck.tables())
    with torch.no_grad():
        x = preprocess(DEFAULT_IMAGE, model.input_size, model.mean, model.std)
        symbols = model.device.symbols(x)[0].numpy().astype(np.int32)
    return tables, symbols, (f"bundled default model ({checkpoint.name}): its tables and its real latent of "
                             f"{DEFAULT_IMAGE.name}")


def student_case():
    cdf, lengths, offsets, _ = synthesize(24, seed=24)
    tables = CodecTables.from_arrays(cdf, lengths, offsets)
    return tables, sample_latent(tables, 55, 55, seed=2), (
        "synthetic 24-channel tables (synth_tables.py, seed 24); symbols sampled from the tables' own "
        "distributions (no trained entropic-student model in the repo)")


# ---------------------------------------------------------------- timing
def median_seconds(fn, seconds: float) -> tuple[float, int]:
    """Warm up, then call fn repeatedly for about `seconds`; median wall time of one call and the count."""
    end = time.perf_counter() + min(0.3, seconds / 3)
    while time.perf_counter() < end:
        fn()
    samples = []
    end = time.perf_counter() + seconds
    while len(samples) < 5 or (time.perf_counter() < end and len(samples) < 100000):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return float(np.median(samples)) / 1e9, len(samples)


def row(coder: str, n: int, enc_s: float, dec_s: float, size: int | None, note: str = "", runs=None) -> dict:
    return {
        "coder": coder,
        "encode_ms": enc_s * 1e3, "decode_ms": dec_s * 1e3,
        "encode_ns_per_symbol": enc_s * 1e9 / n, "decode_ns_per_symbol": dec_s * 1e9 / n,
        "bytes": size, "runs": runs, "note": note,
    }


def native_rows(tables, symbols, tmp: Path, seconds: float, c_bin: Path, java_out: Path) -> list[dict]:
    c, h, w = symbols.shape
    tables.write(tmp / "t.fsct")
    symbols.astype("<i4").tofile(tmp / "s.i32")
    args = [str(tmp / "t.fsct"), str(tmp / "s.i32"), str(c), str(h), str(w), str(seconds)]
    out = []
    res = json.loads(subprocess.run([str(c_bin), *args], check=True, capture_output=True, text=True).stdout)
    out.append(row("C direct (fsr_encode_planar / fsr_decode_planar + lookup)", res["symbols"], res["encode_ms"] / 1e3,
                   res["decode_ms"] / 1e3, res["payload_bytes"],
                   f"decode without the lookup: {res['decode_no_lookup_ns_per_symbol']:.2f} ns/symbol",
                   [res["encode_runs"], res["decode_runs"]]))
    res = json.loads(subprocess.run(["java", "-cp", str(java_out / "main"), "dev.fsplit.codec.Bench", *args],
                                    check=True, capture_output=True, text=True).stdout)
    out.append(row("Java (RansCodec.encodePlanar / decodePlanar)", res["symbols"], res["encode_ms"] / 1e3,
                   res["decode_ms"] / 1e3, res["payload_bytes"], res["java"], [res["encode_runs"], res["decode_runs"]]))
    return out


def python_rows(tables, symbols, seconds: float) -> list[dict]:
    n = symbols.size
    data = encode_latent(tables, symbols)
    assert np.array_equal(decode_latent(tables, data), symbols)
    enc, r1 = median_seconds(lambda: encode_latent(tables, symbols), seconds)
    dec, r2 = median_seconds(lambda: decode_latent(tables, data), seconds)
    return [row("fsplit_mobile.codec (Python binding: encode_latent / decode_latent)", n, enc, dec, len(data),
                "container included (header, CRC-32)", [r1, r2])]


def compressai_rows(tables, symbols, seconds: float, payload: bytes) -> list[dict]:
    import oracle
    import torch

    c, h, w = symbols.shape
    n = symbols.size
    cdfs = [tables.quantized_cdf[k, : tables.cdf_length[k]].tolist() for k in range(c)]
    sizes, offsets = tables.cdf_length.tolist(), tables.offset.tolist()
    sym_list = symbols.reshape(-1).tolist()
    idx_list = np.repeat(np.arange(c), h * w).tolist()
    enc, dec = oracle.ans().RansEncoder(), oracle.ans().RansDecoder()
    stream = enc.encode_with_indexes(sym_list, idx_list, cdfs, sizes, offsets)
    assert stream == payload, "CompressAI's bytes differ from ours"
    assert dec.decode_with_indexes(stream, idx_list, cdfs, sizes, offsets) == sym_list
    e, r1 = median_seconds(lambda: enc.encode_with_indexes(sym_list, idx_list, cdfs, sizes, offsets), seconds)
    d, r2 = median_seconds(lambda: dec.decode_with_indexes(stream, idx_list, cdfs, sizes, offsets), seconds)
    rows = [row("CompressAI 1.2.8 RansEncoder / RansDecoder (raw, lists prepared)", n, e, d, len(stream),
                "same bytes as ours", [r1, r2])]

    eb = oracle.compressai_entropy_bottleneck(c)
    eb._quantized_cdf = torch.from_numpy(tables.quantized_cdf.copy())
    eb._cdf_length = torch.from_numpy(tables.cdf_length.copy())
    eb._offset = torch.from_numpy(tables.offset.copy())
    with torch.no_grad():
        eb.quantiles.data[:, 0, 1] = 0.0  # medians 0: compress() codes round(x) = our symbols
    x = torch.from_numpy(symbols.astype(np.float32))[None]
    strings = eb.compress(x)
    assert strings[0] == payload
    assert torch.equal(eb.decompress(strings, (h, w))[0], x[0])
    e, r1 = median_seconds(lambda: eb.compress(x), seconds)
    d, r2 = median_seconds(lambda: eb.decompress(strings, (h, w)), seconds)
    rows.append(row("CompressAI 1.2.8 EntropyBottleneck.compress / decompress (its own class)", n, e, d,
                    len(strings[0]), "float latent in, its Python/torch work included", [r1, r2]))
    return rows


def constriction_rows(tables, symbols, seconds: float) -> list[dict]:
    import constriction

    c, h, w = symbols.shape
    models, values = [], []
    for k in range(c):
        length = int(tables.cdf_length[k])
        probs = np.diff(tables.quantized_cdf[k, :length].astype(np.float64)) / (1 << tables.precision)
        models.append(constriction.stream.model.Categorical(probs, perfect=False))
        v = symbols[k].reshape(-1).astype(np.int64) - int(tables.offset[k])
        values.append(np.clip(v, 0, length - 2).astype(np.int32))

    def encode():
        coder = constriction.stream.stack.AnsCoder()
        for k in range(c - 1, -1, -1):
            coder.encode_reverse(values[k], models[k])
        return coder.get_compressed()

    compressed = encode()

    def decode():
        coder = constriction.stream.stack.AnsCoder(compressed)
        return [coder.decode(models[k], h * w) for k in range(c)]

    assert all(np.array_equal(a, b) for a, b in zip(decode(), values))
    e, r1 = median_seconds(encode, seconds)
    d, r2 = median_seconds(decode, seconds)
    return [row(f"constriction {_version('constriction')} stack.AnsCoder, Categorical per channel", symbols.size, e, d,
                compressed.nbytes, "peer: other format, no escape payloads", [r1, r2])]


# ---------------------------------------------------------------- machine and report
def _version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def _first_line(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "unavailable"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")),
               "0")
    return {
        "cpu": cpu, "logical_cpus": os.cpu_count(), "memory_gib": round(int(mem) / 2**20, 1),
        "os": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
        "torch": _version("torch"), "gcc": _first_line(["gcc", "--version"]),
        "java": _first_line(["java", "-version"]),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
    }


def markdown(report: dict) -> str:
    lines = [f"# Entropy coder benchmark ({report['date']})", "",
             f"Machine: {report['machine']['cpu']}, {report['machine']['logical_cpus']} logical CPUs, "
             f"{report['machine']['memory_gib']} GiB; {report['machine']['os']}; Python {report['machine']['python']}, "
             f"{report['machine']['gcc']}, {report['machine']['java']}. Load average (1/5/15 min) at start "
             f"{report['machine']['load_average_start']}, at end {report['load_average_end']}: the machine was "
             "shared with other jobs, so absolute numbers are noisy.", "", report["method"], ""]
    for case in report["cases"]:
        lines += [f"## {case['name']} ({case['symbols']} symbols)", "", f"Symbols: {case['provenance']}.", "",
                  "| coder | encode ms | decode ms | encode ns/sym | decode ns/sym | bytes | note |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for r in case["rows"]:
            lines.append(f"| {r['coder']} | {r['encode_ms']:.3f} | {r['decode_ms']:.3f} | "
                         f"{r['encode_ns_per_symbol']:.2f} | {r['decode_ns_per_symbol']:.2f} | {r['bytes']} | "
                         f"{r['note']} |")
        lines += ["", "Targets: " + "; ".join(f"{k}: {v}" for k, v in case["targets"].items()), ""]
    return "\n".join(lines) + "\n"


def targets(rows: list[dict]) -> dict:
    by = {r["coder"].split(" (")[0].split(" ")[0] + ("" if "EntropyBottleneck" not in r["coder"] else "-eb"): r
          for r in rows}
    c, java, py, eb = by["C"], by["Java"], by["fsplit_mobile.codec"], by["CompressAI-eb"]
    return {
        "python_vs_compressai_compress_speedup": f"{eb['encode_ms'] / py['encode_ms']:.0f}x encode, "
                                                 f"{eb['decode_ms'] / py['decode_ms']:.0f}x decode (target >= 50x)",
        "c_ns_per_symbol": f"{c['encode_ns_per_symbol']:.2f} encode, {c['decode_ns_per_symbol']:.2f} decode "
                           "(target <= 10)",
        "java_over_c": f"{java['encode_ms'] / c['encode_ms']:.2f}x encode, {java['decode_ms'] / c['decode_ms']:.2f}x "
                       "decode (target <= 2x)",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.5, help="timed seconds per measurement")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = ap.parse_args()
    for tool in ("make", "gcc", "javac", "java"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is required (scripts/install_system_deps.sh)")
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), "method": __doc__.split("\n\n", 2)[2]
              .strip().replace("\n", " "), "cases": []}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        c_bin, java_out = tmp / "bench", tmp / "java"
        subprocess.run(["make", "-s", "-C", str(REPO / "runtimes/c"), f"BENCH_BIN={c_bin}", str(c_bin)], check=True)
        subprocess.run(["make", "-s", "-C", str(REPO / "runtimes/java"), f"OUT={java_out}", "bench"], check=True)
        for name, (tables, symbols, provenance) in [("FrankenSplit latent 48x28x28", frankensplit_case()),
                                                    ("Entropic-student latent 24x55x55", student_case())]:
            print(f"== {name}: {provenance}", flush=True)
            payload = bytes(container.unpack(encode_latent(tables, symbols))[1])
            rows = native_rows(tables, symbols, tmp, args.seconds, c_bin, java_out)
            rows += python_rows(tables, symbols, args.seconds)
            rows += compressai_rows(tables, symbols, args.seconds, payload)
            rows += constriction_rows(tables, symbols, args.seconds)
            for r in rows:
                print(f"  {r['coder']:<80} enc {r['encode_ms']:8.3f} ms {r['encode_ns_per_symbol']:7.2f} ns/sym   "
                      f"dec {r['decode_ms']:8.3f} ms {r['decode_ns_per_symbol']:7.2f} ns/sym", flush=True)
            report["cases"].append({"name": name, "symbols": int(symbols.size), "shape": list(symbols.shape),
                                    "provenance": provenance, "rows": rows, "targets": targets(rows)})
    report["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "codec.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "codec.md").write_text(markdown(report))
    print(f"wrote {out / 'codec.json'} and {out / 'codec.md'}")


if __name__ == "__main__":
    main()
