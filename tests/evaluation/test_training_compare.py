"""The agreement-vs-bytes comparison: codec round trips and the verdict of which method fits in whose bytes."""

import pytest
import torch

from fsplit_mobile.evaluation.compare import at_most_bytes, codec_roundtrip, markdown
from repo_paths import REPO

ROWS = [
    {"method": "webp-q1", "kind": "offload", "agreement": 0.40, "bytes_mean": 1300.0},
    {"method": "jpeg-q5", "kind": "offload", "agreement": 0.20, "bytes_mean": 2000.0},
    {"method": "units:r0", "kind": "split", "agreement": 0.33, "bytes_mean": 530.0},
    {"method": "units:r1", "kind": "split", "agreement": 0.21, "bytes_mean": 220.0},
]


def test_codec_roundtrip_sizes_grow_with_quality():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64)
    low, low_sizes = codec_roundtrip(x, "webp", 1)
    high, high_sizes = codec_roundtrip(x, "webp", 90)
    assert low.shape == x.shape and high.shape == x.shape
    assert all(h > lo for h, lo in zip(high_sizes, low_sizes))
    assert (high - x).abs().mean() < (low - x).abs().mean()


def test_downscaled_offload_sends_fewer_bytes_and_comes_back_at_full_size():
    import pytest

    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64)
    full, full_sizes = codec_roundtrip(x, "webp", 50)
    small, small_sizes = codec_roundtrip(x, "webp", 50, side=32)
    same, same_sizes = codec_roundtrip(x, "webp", 50, side=64)  # the crop's own side: no resizing
    assert small.shape == x.shape and torch.equal(same, full) and same_sizes == full_sizes
    assert all(s < f for s, f in zip(small_sizes, full_sizes))
    with pytest.raises(ValueError, match="side"):
        codec_roundtrip(x, "webp", 50, side=128)
    with pytest.raises(ValueError, match="codec"):
        codec_roundtrip(x, "avif", 50)


def test_pareto_curves_keep_downscaled_offload_apart():
    import importlib.util

    path = REPO / "benchmarks" / "sc2" / "pareto.py"
    spec = importlib.util.spec_from_file_location("pareto", path)
    pareto = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pareto)
    rows = [
        {"method": "webp-q1", "kind": "offload", "agreement": 0.4, "bytes_mean": 1300.0},
        {"method": "webp-q5", "kind": "offload", "agreement": 0.5, "bytes_mean": 1600.0},
        {"method": "webp-q5@112", "kind": "offload", "agreement": 0.3, "bytes_mean": 600.0},
    ]
    curves = pareto.curves(rows)
    assert [len(v) for v in curves.values()] == [2, 1]
    assert any("112x112" in k for k in curves)
    # --also: another run's split models join the plot only when it ran on the same crops
    split = {
        "method": "m:r0",
        "kind": "split",
        "agreement": 0.3,
        "bytes_mean": 900.0,
        "device_macs": 2e7,
        "share": 0.05,
    }
    main = {"split": "heldout", "crops": 188, "photos": 94, "rows": rows}
    other = {"split": "heldout", "crops": 188, "photos": 94, "rows": [split, rows[0]]}
    assert pareto.merged(main, [other])["rows"] == rows + [split]
    with pytest.raises(SystemExit, match="crops"):
        pareto.merged(main, [{**other, "crops": 140}])


def test_best_fit_within_bytes():
    assert at_most_bytes(ROWS, "split", 1300, key="kind")["method"] == "units:r0"
    assert at_most_bytes(ROWS, "split", 100, key="kind") is None
    assert at_most_bytes(ROWS, "webp", 1299) is None
    assert at_most_bytes(ROWS, "jpeg", 5000)["method"] == "jpeg-q5"


def test_verdicts_name_the_winner_honestly():
    text = markdown({"crops": 4, "photos": 2, "split": "val", "crops_per_image": 2, "rows": ROWS})
    assert "webp-q1 (0.400 at 1300 B): not matched by units:r0 (0.330 at 530 B)" in text
    assert "jpeg-q5 (0.200 at 2000 B): matched or beaten by units:r0" in text


def test_undercut_lists_the_codecs_that_match_a_rate_point_with_fewer_bytes():
    from fsplit_mobile.evaluation.compare import undercut_by

    rows = ROWS + [{"method": "webp-q5", "kind": "offload", "agreement": 0.5, "bytes_mean": 1500.0}]
    r0, r1 = rows[2], rows[3]
    assert undercut_by(rows, r1) == []  # nothing is smaller than 220 B
    assert undercut_by(rows, r0) == []  # 530 B: no codec is that small
    big = {"method": "light", "kind": "split", "agreement": 0.45, "bytes_mean": 1600.0}
    assert [r["method"] for r in undercut_by(rows + [big], big)] == ["webp-q5"]  # 0.5 at 1500 B < 1600 B
    split = {**big, "device_macs": 21_000_000, "network_macs": 385_000_000, "share": 21 / 385}
    text = markdown({"crops": 4, "photos": 2, "split": "val", "crops_per_image": 2, "rows": rows + [split]})
    assert "| light | split | 21.0 M (5.5 %) | 0.450 | 1600 | no: webp-q5 |" in text
    assert (
        "| units:r0 | split | " in text and "| 0.330 | 530 | yes, vacuously: no codec setting is this small |" in text
    )
    middle = {**split, "method": "mid", "agreement": 0.45, "bytes_mean": 1400.0}
    text = markdown({"crops": 4, "photos": 2, "split": "val", "crops_per_image": 2, "rows": rows + [middle]})
    assert "| mid | split | 21.0 M (5.5 %) | 0.450 | 1400 | yes: webp-q1 smaller but agree less |" in text
    assert "| webp-q1 | offload | codec only | 0.400 | 1300 |  |" in text
