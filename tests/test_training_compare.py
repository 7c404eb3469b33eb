"""The agreement-vs-bytes comparison: codec round trips and the verdict of which method fits in whose bytes."""

import torch

from fsplit_mobile.training.compare import at_most_bytes, codec_roundtrip, markdown

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


def test_best_fit_within_bytes():
    assert at_most_bytes(ROWS, "split", 1300, key="kind")["method"] == "units:r0"
    assert at_most_bytes(ROWS, "split", 100, key="kind") is None
    assert at_most_bytes(ROWS, "webp", 1299) is None
    assert at_most_bytes(ROWS, "jpeg", 5000)["method"] == "jpeg-q5"


def test_verdicts_name_the_winner_honestly():
    text = markdown({"crops": 4, "photos": 2, "split": "val", "crops_per_image": 2, "rows": ROWS})
    assert "webp-q1 (0.400 at 1300 B): not matched by units:r0 (0.330 at 530 B)" in text
    assert "jpeg-q5 (0.200 at 2000 B): matched or beaten by units:r0" in text
