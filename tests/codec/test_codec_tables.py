"""CodecTables: built from CompressAI EntropyBottleneck buffers, validated, written/read as .fsct files."""

import hashlib
import struct

import numpy as np
import pytest
import torch

import oracle
from fsplit_mobile.codec import CodecTables, InvalidTablesError, container


def _compressai_bottleneck(channels: int, seed: int):
    """CompressAI 1.2.8's own EntropyBottleneck with perturbed parameters and built tables."""
    torch.manual_seed(seed)
    eb = oracle.compressai_entropy_bottleneck(channels)
    with torch.no_grad():
        for p in eb.parameters():
            p.add_(torch.randn_like(p) * 0.3)
        eb.quantiles.data[:, 0, 1] += torch.randn(channels) * 0.5
    eb.update(force=True)
    return eb


def test_from_compressai_buffers_codes_like_entropy_bottleneck_compress():
    eb = _compressai_bottleneck(16, seed=3)
    tables = CodecTables.from_arrays(eb._quantized_cdf, eb._cdf_length, eb._offset)
    assert tables.num_channels == 16 and tables.precision == 16
    assert tables.max_length == int(eb._cdf_length.max())
    torch.manual_seed(4)
    y = torch.randn(2, 16, 7, 9) * 4
    strings = eb.compress(y)
    medians = eb._get_medians().detach().reshape(1, 16, 1, 1)
    symbols = torch.round(y - medians).int().numpy()
    for item in range(2):
        header, payload = container.unpack(container.encode_latent(tables, symbols[item]))
        assert bytes(payload) == strings[item]
        assert header.shape == (16, 7, 9)


def test_write_read_round_trip_and_layout(tmp_path):
    cdf = np.array([[0, 100, 65536, 0, 0, 0], [0, 10, 20, 30, 65536, 0]], dtype=np.int64)
    tables = CodecTables.from_arrays(cdf, [3, 5], [-1, 4])
    assert tables.max_length == 5  # padding beyond the longest row is dropped
    path = tmp_path / "t.fsct"
    tables.write(path)
    data = path.read_bytes()
    assert data[:4] == b"FSCT"
    assert struct.unpack_from("<HHII", data, 4) == (1, 16, 2, 5)
    assert struct.unpack_from("<iI3I", data, 16) == (-1, 3, 0, 100, 65536)
    assert struct.unpack_from("<iI5I", data, 36) == (4, 5, 0, 10, 20, 30, 65536)
    assert len(data) == 16 + 20 + 28 + 32
    assert data[-32:] == hashlib.sha256(data[:-32]).digest()
    assert tables.content_hash == hashlib.sha256(data[:-32]).hexdigest()
    back = CodecTables.read(path)
    assert back == tables and back.to_bytes() == data
    assert back.cdf_length.tolist() == [3, 5] and back.offset.tolist() == [-1, 4]
    assert np.array_equal(back.quantized_cdf, cdf[:, :5])


def test_content_hash_changes_with_content():
    base = CodecTables.from_arrays([[0, 100, 65536]], [3], [0])
    assert CodecTables.from_arrays([[0, 100, 65536]], [3], [1]).content_hash != base.content_hash
    assert CodecTables.from_arrays([[0, 101, 65536]], [3], [0]).content_hash != base.content_hash
    assert CodecTables.from_arrays([[0, 100, 65536, 0]], [3], [0]).content_hash == base.content_hash


@pytest.mark.parametrize(
    "cdf,lengths,offsets,precision,message",
    [
        ([[0, 100, 65536]], [3], [0, 0], 16, "1 channels but cdf_length has 1 and offset 2"),
        ([[0, 100, 65536]], [4], [0], 16, r"channel 0: cdf_length 4 outside \[2, 3\]"),
        ([[0, 100, 65536], [0, 65536, 0]], [3, 1], [0, 0], 16, "channel 1: cdf_length 1"),
        ([[0, 100, 65535]], [3], [0], 16, "channel 0: cdf must end at 2.16 = 65536"),
        ([[0, 70000, 65536]], [3], [0], 16, "channel 0: cdf decreases at entry 2"),
        ([[1, 100, 65536]], [3], [0], 16, "channel 0: cdf must start at 0"),
        ([[0, 100, 4096]], [3], [0], 17, "precision must be an integer in 1..16"),
        ([0, 100, 65536], [3], [0], 16, r"shape \(C, L\)"),
        ([[0.0, 100.0, 65536.0]], [3], [0], 16, "must be integers"),
    ],
)
def test_validation_names_the_problem(cdf, lengths, offsets, precision, message):
    with pytest.raises(InvalidTablesError, match=message):
        CodecTables.from_arrays(cdf, lengths, offsets, precision)


def test_other_precision_round_trips(tmp_path):
    tables = CodecTables.from_arrays([[0, 5, 1024]], [3], [2], precision=10)
    tables.write(tmp_path / "p.fsct")
    assert CodecTables.read(tmp_path / "p.fsct").precision == 10


def _valid_file() -> bytes:
    return CodecTables.from_arrays([[0, 100, 65536, 0], [0, 1, 2, 65536]], [3, 4], [-1, 2]).to_bytes()


def test_every_truncation_and_byte_change_is_refused():
    data = _valid_file()
    for cut in range(len(data)):
        with pytest.raises(InvalidTablesError):
            CodecTables.from_bytes(data[:cut])
    for k in range(len(data)):
        for bit in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[k] ^= bit
            with pytest.raises(InvalidTablesError):
                CodecTables.from_bytes(bytes(damaged))


def _rehash(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


@pytest.mark.parametrize(
    "patch,message",
    [
        (lambda b: b"FSCX" + b[4:], "not a codec tables file"),
        (lambda b: b[:4] + struct.pack("<H", 2) + b[6:], "unsupported tables format version 2"),
        (lambda b: b[:6] + struct.pack("<H", 0) + b[8:], "precision 0 outside"),
        (lambda b: b[:8] + struct.pack("<I", 0) + b[12:], "channel count 0"),
        (lambda b: b[:8] + struct.pack("<I", 3) + b[12:], "truncated in the record of channel 2"),
        (lambda b: b[:12] + struct.pack("<I", 5) + b[16:], "header max_length 5 but the longest CDF has 4"),
        (lambda b: b + b"\0\0\0\0", "4 unexpected bytes before its hash"),
        (lambda b: b[:8] + struct.pack("<II", 60000, 60000) + b[16:], "exceed the limit"),
        (lambda b: b[:20] + struct.pack("<I", 9) + b[24:], "channel 0: cdf_length 9 outside"),
        (lambda b: b[:28] + struct.pack("<I", 70000) + b[32:], "channel 0: cdf value 70000 exceeds 2.16"),
    ],
)
def test_malformed_files_name_the_problem(patch, message):
    body = _valid_file()[:-32]
    with pytest.raises(InvalidTablesError, match=message):
        CodecTables.from_bytes(_rehash(patch(body)))


def test_hash_mismatch_and_missing_file(tmp_path):
    data = bytearray(_valid_file())
    data[-1] ^= 1
    with pytest.raises(InvalidTablesError, match="content hash mismatch"):
        CodecTables.from_bytes(bytes(data))
    with pytest.raises(InvalidTablesError, match="cannot read tables file"):
        CodecTables.read(tmp_path / "missing.fsct")
    (tmp_path / "bad.fsct").write_bytes(b"FSCT")
    with pytest.raises(InvalidTablesError, match="bad.fsct: tables file truncated"):
        CodecTables.read(tmp_path / "bad.fsct")
