"""The stream payload an export writes (issue 22 item 2, docs/artifact.md "payload"): a measured choice. "auto"
codes the reference latents both ways and takes the interleaved payload v2 when its bytes are within 1 % of the
single stream's; explicit choices stay possible; the manifest names the payload and records both sizes; the
fidelity report's bytes are those of the written payload; readers (client, server) follow the manifest."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fsplit_mobile
from export_support import make_checkpoint
from fsplit_mobile.codec import container
from fsplit_mobile.export import api
from fsplit_mobile.export.errors import ExportError
from fsplit_mobile.export.payload import MAX_RATE_COST, V2_LANES, choose
from serve_support import laplace_tables


def _latents(tables, n: int, shape, seed: int = 0) -> list[np.ndarray]:
    """Symbols drawn from the tables' own pmfs (so the coders see the rate the tables expect)."""
    rng = np.random.default_rng(seed)
    raw = tables.raw
    out = []
    for _ in range(n):
        s = np.empty(shape, dtype=np.int32)
        for ch in range(shape[0]):
            cdf = raw.cdf[ch, : raw.cdf_length[ch]].astype(np.float64)
            pmf = np.diff(cdf)[:-1]  # coded values (the escape slot left out)
            s[ch] = rng.choice(np.arange(pmf.size), size=shape[1:], p=pmf / pmf.sum()) + raw.offset[ch]
        out.append(s)
    return out


def test_auto_takes_v2_on_large_latents_and_records_both_sizes():
    tables = laplace_tables(8, seed=1)
    block = choose(tables, _latents(tables, 2, (8, 48, 48)), "auto")
    m = block["measured"]
    by_lanes = {int(k): v for k, v in m["interleaved2_bytes_by_lanes"].items()}
    assert sorted(by_lanes) == sorted(V2_LANES) and by_lanes[16] > by_lanes[8]  # more lanes, more flushes
    first = next(k for k in V2_LANES if by_lanes[k] <= m["single_bytes"] * (1 + MAX_RATE_COST))
    assert block["format"] == "interleaved2" and block["lanes"] == first == 16 and block["choice"] == "auto"
    assert m["latents"] == 2 and m["interleaved2_lanes"] == 16 and m["interleaved2_bytes"] == by_lanes[16]
    assert m["interleaved2_bytes"] <= m["single_bytes"] * (1 + MAX_RATE_COST)
    assert m["rate_cost"] == pytest.approx(m["interleaved2_bytes"] / m["single_bytes"] - 1, abs=1e-6)


def test_auto_falls_back_to_8_lanes_where_16_cost_more_than_one_percent():
    tables = laplace_tables(8, seed=1)
    block = choose(tables, _latents(tables, 2, (8, 28, 28)), "auto")  # 16 lanes: +1.8 %, 8 lanes: +0.8 %
    m = block["measured"]
    assert m["interleaved2_bytes_by_lanes"]["16"] > m["single_bytes"] * (1 + MAX_RATE_COST)
    assert m["interleaved2_bytes_by_lanes"]["8"] <= m["single_bytes"] * (1 + MAX_RATE_COST)
    assert block["format"] == "interleaved2" and block["lanes"] == 8 and m["interleaved2_lanes"] == 8


def test_auto_keeps_the_single_stream_where_v2_costs_more_than_one_percent():
    tables = laplace_tables(8, seed=1)
    block = choose(tables, _latents(tables, 3, (8, 4, 4)), "auto")  # lane flushes dominate 128 symbols
    m = block["measured"]
    assert all(v > m["single_bytes"] * (1 + MAX_RATE_COST) for v in m["interleaved2_bytes_by_lanes"].values())
    assert block["format"] == "single" and block["lanes"] == 1


def test_explicit_choices_and_bad_values():
    tables = laplace_tables(8, seed=2)
    latents = _latents(tables, 1, (8, 4, 4))
    forced = choose(tables, latents, "interleaved2")
    assert forced["format"] == "interleaved2" and forced["measured"]["interleaved2_bytes"] > 0
    assert choose(tables, latents, "single")["format"] == "single"
    with pytest.raises(ExportError, match="payload must be one of"):
        choose(tables, latents, "fastest")


def test_tables_v2_cannot_code_keep_the_single_stream_under_auto_and_fail_when_forced():
    from fsplit_mobile.codec.tables import CodecTables

    n = (1 << 14) + 16  # more coded slots than the 14-bit tables hold
    freqs = np.ones(n, dtype=np.int64)
    freqs[0] += (1 << 16) - n
    cdf = np.concatenate([[0], np.cumsum(freqs)]).astype(np.int32)[None]
    tables = CodecTables.from_arrays(cdf, np.array([n + 1], np.int32), np.array([0], np.int32), 16)
    latents = [np.zeros((1, 4, 4), np.int32)]
    block = choose(tables, latents, "auto")
    assert block["format"] == "single" and "interleaved2_error" in block["measured"]
    with pytest.raises(ExportError, match="cannot be coded"):
        choose(tables, latents, "interleaved2")


@pytest.fixture(scope="module")
def small_ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ck") / "fp.pt", "frankensplit-fp")


def test_export_records_the_payload_and_readers_follow_it(tmp_path, small_ckpt):
    """fsplit-export --payload interleaved2 and the default (auto) on a real (small) model: the manifest's block,
    the report's bytes in the written payload, the client writing and fsplit-serve's engine reading it."""
    from fsplit_mobile.client import SplitClient
    from fsplit_mobile.export.cli import main
    from fsplit_mobile.runtime.artifact import Artifact

    forced = tmp_path / "forced"
    result = CliRunner().invoke(
        main,
        ["--target", "onnx", "--checkpoint", str(small_ckpt), "--input-size", "64", "64", "--out", str(forced)]
        + ["--payload", "interleaved2", "--quiet"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    art = Artifact.open(forced / "onnx-none")
    block = art.manifest["payload"]
    assert art.payload == ("interleaved2", 8) and block["choice"] == "interleaved2"
    m = block["measured"]
    assert m["single_bytes"] > 0 and m["interleaved2_bytes"] > 0
    # measured on calibration images (a format choice: never on the held-out evaluation images)
    calib = sorted(p for p in (Path(fsplit_mobile.__file__).parent / "data" / "images" / "calib").iterdir())
    assert m["latents"] == min(16, len(calib)) and m["images"].startswith("calibration: ")
    # the report sizes the written payload (v2), not the single stream the same export writes with --payload single
    single = api.export(
        "onnx", "none", checkpoint=small_ckpt, input_size=(64, 64), out=tmp_path / "single", payload="single"
    )
    single_report = json.loads((single.results[0].path / "report.json").read_text())
    report = json.loads((art.path / "report.json").read_text())
    assert report["metrics"]["bpp_reference"] != single_report["metrics"]["bpp_reference"]
    size = art.latent_shape
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    with SplitClient(art.path, "http://127.0.0.1:9") as client:
        stream, _ = client.encode(rgb)
        header = container.read_header(stream)
        assert header.payload_format is container.PayloadFormat.INTERLEAVED2 and tuple(header.shape) == size
        # what fsplit-serve's decode runs (this small model has no server part: no ServerEngine here)
        np.testing.assert_array_equal(container.decode_latent(art.tables(), stream), client.encoder.symbols(rgb))

    auto = api.export("onnx", "none", checkpoint=small_ckpt, input_size=(64, 64), out=tmp_path / "auto")
    block = Artifact.open(auto.results[0].path).manifest["payload"]
    m = block["measured"]
    assert block["choice"] == "auto" and m["single_bytes"] > 0 and m["interleaved2_bytes"] > 0
    want = "interleaved2" if m["interleaved2_bytes"] <= m["single_bytes"] * (1 + MAX_RATE_COST) else "single"
    assert block["format"] == want


def test_without_calibration_images_the_choice_falls_back_to_the_evaluation_latents(tmp_path, small_ckpt):
    from fsplit_mobile.runtime.artifact import Artifact

    empty = tmp_path / "no-images"
    empty.mkdir()
    res = api.export("onnx", "none", checkpoint=small_ckpt, input_size=(64, 64), out=tmp_path / "a", calib=empty)
    art = Artifact.open(res.results[0].path)
    m = art.manifest["payload"]["measured"]
    assert m["images"] == "evaluation" and m["single_bytes"] > 0
    report = json.loads((art.path / "report.json").read_text())
    assert any("payload measured on the evaluation images" in n for n in report["notes"])


def test_export_refuses_an_unknown_payload_before_loading(tmp_path):
    with pytest.raises(ExportError, match="payload must be one of"):
        api.export("onnx", "none", checkpoint="unused.pt", out=tmp_path, payload="fastest")
