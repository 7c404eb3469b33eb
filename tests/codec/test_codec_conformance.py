"""The committed conformance vectors (runtimes/conformance/vectors.txt): Python reproduces every stream byte
for byte and decodes it back, refuses every rejection case, and every stream CompressAI can code equals the
output of CompressAI 1.2.8's compiled RansEncoder (and decodes with its RansDecoder)."""

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import oracle
from fsplit_mobile.codec import (
    CodecTables,
    CorruptStreamError,
    TableMismatchError,
    container,
    decode_latent,
    decode_with_indexes,
    encode_latent,
    encode_with_indexes,
    reference,
    reference_interleaved,
)
from repo_paths import REPO

CONFORMANCE = REPO / "runtimes" / "conformance"
VECTORS = CONFORMANCE / "vectors.txt"
COMPRESSAI_MAX_RAW = 1 << 28  # beyond this CompressAI's encoder shifts by 32 (undefined behaviour)


@dataclass
class Vectors:
    tables: dict = field(default_factory=dict)
    encode: list = field(default_factory=list)  # (name, table, indexes, symbols, bytes)
    reject: list = field(default_factory=list)  # (name, table, indexes, bytes, kind)
    latent: list = field(default_factory=list)  # (name, table, symbols (C,H,W), bytes)
    latent_reject: list = field(default_factory=list)  # (name, table, bytes, kind)
    stream: list = field(default_factory=list)  # (name, table, format, lanes, rate_point, symbols (C,H,W), bytes)


def _tokens(path: Path):
    for line in path.read_text().splitlines():
        if not line.lstrip().startswith("#"):
            yield from line.split()


def parse(path: Path = VECTORS) -> Vectors:
    tok = _tokens(path)
    assert next(tok) == "fsplit-rans-vectors" and next(tok) == "1"
    v = Vectors()

    def ints(n):
        return np.array([int(next(tok)) for _ in range(n)], dtype=np.int64)

    def hexbytes():
        t = next(tok)
        return b"" if t == "-" else bytes.fromhex(t)

    for kind in tok:
        if kind == "end":
            return v
        name = next(tok)
        if kind == "table":
            v.tables[name] = CodecTables.read(path.parent / next(tok))
        elif kind == "encode":
            table, n = next(tok), int(next(tok))
            v.encode.append((name, table, ints(n), ints(n), hexbytes()))
        elif kind == "reject":
            table, n, what = next(tok), int(next(tok)), next(tok)
            v.reject.append((name, table, ints(n), hexbytes(), what))
        elif kind == "latent":
            table, c, h, w = next(tok), int(next(tok)), int(next(tok)), int(next(tok))
            v.latent.append((name, table, ints(c * h * w).reshape(c, h, w), hexbytes()))
        elif kind == "stream":
            table, fmt, lanes, rate = next(tok), next(tok), int(next(tok)), int(next(tok))
            c, h, w = int(next(tok)), int(next(tok)), int(next(tok))
            v.stream.append((name, table, fmt, lanes, rate, ints(c * h * w).reshape(c, h, w), hexbytes()))
        elif kind == "latent-reject":
            table, what = next(tok), next(tok)
            v.latent_reject.append((name, table, hexbytes(), what))
        else:
            raise AssertionError(f"unknown record {kind}")
    raise AssertionError("no 'end' record")


@pytest.fixture(scope="module")
def vectors() -> Vectors:
    return parse()


def _compressai_args(t: CodecTables):
    cdfs = [t.quantized_cdf[c, : t.cdf_length[c]].tolist() for c in range(t.num_channels)]
    return cdfs, t.cdf_length.tolist(), t.offset.tolist()


def _max_raw(t: CodecTables, indexes, symbols) -> int:
    value = symbols - t.offset[indexes]
    max_value = t.cdf_length[indexes].astype(np.int64) - 2
    raw = np.where(value < 0, -2 * value - 1, np.where(value >= max_value, 2 * (value - max_value), 0))
    return int(raw.max()) if raw.size else 0


def _steps_and_full_slots(t: CodecTables, indexes, symbols) -> tuple[int, bool]:
    """Coding steps CompressAI pushes for these symbols, and whether one coded slot has probability 1."""
    value = symbols - t.offset[indexes]
    max_value = t.cdf_length[indexes].astype(np.int64) - 2
    escaped = (value < 0) | (value >= max_value)
    raw = np.where(value < 0, -2 * value - 1, 2 * (value - max_value))
    nibbles = np.where(escaped, [len(f"{int(r):x}") if r else 0 for r in raw], 0)
    slot = np.where(escaped, max_value, value)
    freq = t.quantized_cdf[indexes, slot + 1].astype(np.int64) - t.quantized_cdf[indexes, slot]
    return int(len(symbols) + escaped.sum() + nibbles.sum()), bool(np.any(freq == 1 << t.precision))


def _compressai_can_code(t, indexes, symbols, stream_len) -> bool:
    """Where CompressAI 1.2.8's encoder is defined: >= 2 symbols; escapes below 2^28 (else it shifts by 32);
    no slot of probability 1 (it dies with SIGFPE); output words <= pushed steps (it sizes its buffer so and
    writes before it otherwise: heap corruption on short runs of improbable symbols)."""
    if len(symbols) < 2 or _max_raw(t, indexes, symbols) >= COMPRESSAI_MAX_RAW:
        return False
    steps, full_slot = _steps_and_full_slots(t, indexes, symbols)
    return not full_slot and stream_len // 4 <= steps


def test_vectors_cover_what_the_issue_asks(vectors):
    names = {e[0] for e in vectors.encode}
    assert {"issue_known_1", "issue_known_2", "issue_known_3", "zero_symbols"} <= names
    assert sum(len(e[3]) == 1 for e in vectors.encode) >= 3
    fs = vectors.tables["frankensplit"]
    covered = {int(i) for e in vectors.encode if e[1] == "frankensplit" for i in np.unique(e[2])}
    assert fs.num_channels == 48 and covered == set(range(48))
    raws = [_max_raw(vectors.tables[e[1]], e[2], e[3]) for e in vectors.encode]
    assert max(raws) >= 2**31 and any(r >= 16**7 for r in raws)  # 8-nibble escapes
    assert min(int(e[3].min()) for e in vectors.encode if len(e[3])) == -(2**31)
    assert max(int(e[3].max()) for e in vectors.encode if len(e[3])) == 2**31 - 1
    assert any(e[0] == "escape_count_15_chunked" for e in vectors.reject)


def test_tables_files_are_canonical(vectors):
    for name, t in vectors.tables.items():
        path = CONFORMANCE / "tables" / f"{name}.fsct"
        assert t.to_bytes() == path.read_bytes()


def test_python_reproduces_every_stream(vectors):
    for name, table, indexes, symbols, expected in vectors.encode:
        cdfs, sizes, offsets = _compressai_args(vectors.tables[table])
        assert encode_with_indexes(symbols, indexes, cdfs, sizes, offsets) == expected, name
        assert decode_with_indexes(expected, indexes, cdfs, sizes, offsets).tolist() == symbols.tolist(), name


def test_reference_model_reproduces_every_stream(vectors):
    for name, table, indexes, symbols, expected in vectors.encode:
        cdfs, sizes, offsets = _compressai_args(vectors.tables[table])
        assert reference.encode(symbols.tolist(), indexes.tolist(), cdfs, sizes, offsets) == expected, name


def test_compressai_produces_the_same_bytes(vectors):
    enc, dec = oracle.ans().RansEncoder(), oracle.ans().RansDecoder()
    checked = set()
    for name, table, indexes, symbols, expected in vectors.encode:
        t = vectors.tables[table]
        if not _compressai_can_code(t, indexes, symbols, len(expected)):
            continue
        if table == "edge" and 2 in indexes.tolist():
            # CompressAI divides by zero on the zero-width slot only if it is coded; it is not here
            assert not np.any((indexes == 2) & (symbols == t.offset[2]))
        cdfs, sizes, offsets = _compressai_args(t)
        assert enc.encode_with_indexes(symbols.tolist(), indexes.tolist(), cdfs, sizes, offsets) == expected, name
        assert dec.decode_with_indexes(expected, indexes.tolist(), cdfs, sizes, offsets) == symbols.tolist(), name
        checked.add(name)
    for name, table, symbols, expected in vectors.latent:
        t = vectors.tables[table]
        flat = symbols.reshape(-1)
        idx = np.repeat(np.arange(symbols.shape[0]), symbols.shape[1] * symbols.shape[2])
        if not _compressai_can_code(t, idx, flat, len(expected) - container.HEADER_SIZE):
            continue
        cdfs, sizes, offsets = _compressai_args(t)
        payload = enc.encode_with_indexes(flat.tolist(), idx.tolist(), cdfs, sizes, offsets)
        assert payload == expected[container.HEADER_SIZE :], name
        checked.add(name)
    # everything but the 0/1-symbol cases and the escapes beyond 2^28 went through CompressAI
    assert {f"frankensplit_channel_{c}" for c in range(48)} <= checked
    assert {"issue_known_1", "escape_run", "issue_long", "frankensplit_latent_28x28"} <= checked
    assert {f"escape_nibbles_{n}" for n in range(7)} <= checked
    skipped = {e[0] for e in vectors.encode} - checked
    assert len(skipped) <= 12, sorted(skipped)


def test_python_refuses_every_rejection_case(vectors):
    for name, table, indexes, data, kind in vectors.reject:
        cdfs, sizes, offsets = _compressai_args(vectors.tables[table])
        with pytest.raises(CorruptStreamError, match=kind):
            decode_with_indexes(data, indexes, cdfs, sizes, offsets)
        with pytest.raises(reference.StrictError) as err:
            reference.decode(data, indexes.tolist(), cdfs, sizes, offsets, strict=True)
        assert err.value.kind == kind, name


def test_python_containers(vectors):
    for name, table, symbols, expected in vectors.latent:
        t = vectors.tables[table]
        assert encode_latent(t, symbols) == expected, name
        assert np.array_equal(decode_latent(t, expected), symbols), name
    for name, table, data, kind in vectors.latent_reject:
        expected_error = TableMismatchError if kind == "mismatch" else CorruptStreamError
        with pytest.raises(expected_error):
            decode_latent(vectors.tables[table], data)
            raise AssertionError(f"{name} decoded")


def test_python_streams_in_every_payload_format(vectors):
    """Version 2 containers: the rate point, the interleaved payload at 8/16/32 lanes (the C vectors check
    every SIMD path too), each reproduced, decoded, and its payload matched by the pure-Python model."""
    assert {lanes for _, _, fmt, lanes, *_ in vectors.stream if fmt == "interleaved"} == {8, 16, 32}
    assert any(fmt == "single" and rate > 0 for _, _, fmt, _, rate, *_ in vectors.stream)
    assert {"ilv_zero_symbols", "ilv_one_symbol", "ilv_one_escape"} <= {s[0] for s in vectors.stream}
    for name, table, fmt, lanes, rate, symbols, expected in vectors.stream:
        t = vectors.tables[table]
        assert encode_latent(t, symbols, payload_format=fmt, lanes=lanes, rate_point=rate) == expected, name
        assert np.array_equal(decode_latent(t, expected), symbols), name
        header, payload = container.unpack(expected)
        assert (header.payload_format.name.lower(), header.lanes, header.rate_point) == (fmt, lanes, rate), name
        if fmt == "interleaved":
            cdfs = [t.quantized_cdf[c, : t.cdf_length[c]].tolist() for c in range(t.num_channels)]
            rows = np.repeat(np.arange(symbols.shape[0]), symbols.shape[1] * symbols.shape[2]).tolist()
            got = reference_interleaved.decode(bytes(payload), rows, cdfs, t.offset.tolist(), lanes)
            assert got == symbols.reshape(-1).tolist(), name
    assert sum(r[0].startswith("ilv_") for r in vectors.latent_reject) >= 8


def test_generator_reproduces_the_committed_vectors(tmp_path):
    """The committed file is exactly what generate.py makes from the committed FrankenSplit table."""
    subprocess.run(
        [
            sys.executable,
            str(CONFORMANCE / "generate.py"),
            "--out",
            str(tmp_path),
            "--tables",
            str(CONFORMANCE / "tables" / "frankensplit.fsct"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )

    def data_lines(p):
        return [line for line in p.read_text().splitlines() if not line.startswith("#")]

    assert data_lines(tmp_path / "vectors.txt") == data_lines(VECTORS)
    for name in ("issue", "edge", "frankensplit"):
        assert (tmp_path / "tables" / f"{name}.fsct").read_bytes() == (
            CONFORMANCE / "tables" / f"{name}.fsct"
        ).read_bytes()
