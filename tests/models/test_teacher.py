"""The EfficientNet-Lite0 teacher loads offline and its head/tail split reproduces the full model."""

import pytest
import torch

from fsplit_mobile.evaluation.images import center_crop, load_source, normalize, to_tensor
from fsplit_mobile.models.teacher import HEAD_CHANNELS, load_teacher


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return load_teacher()


def test_head_then_tail_equals_full_model(teacher):
    full, head, tail = teacher
    x = torch.randn(3, 3, 224, 224)
    with torch.no_grad():
        expected = full(x)
        features = head(x)
        logits = tail(features)
    assert features.shape == (3, HEAD_CHANNELS, 28, 28)
    assert logits.shape == (3, 1000)
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-5)


def test_teacher_recognises_the_cat(teacher):
    full, head, tail = teacher
    x = normalize(to_tensor(center_crop(load_source("chelsea"), 224)))[None]
    with torch.no_grad():
        probs = tail(head(x)).softmax(1)[0]
    assert int(probs.argmax()) in (281, 282, 285)  # tabby / tiger cat / Egyptian cat


def test_split_keeps_drop_connect_schedule(teacher):
    full, head, tail = teacher
    base = full._global_params.drop_connect_rate
    n = len(full._blocks)
    assert head.rates + tail.rates == [base * i / n for i in range(n)]
    assert len(head.blocks) + len(tail.blocks) == n


def test_split_in_training_mode_matches_when_rng_is_shared():
    """Drop connect is random in training mode: same seed, same draws, same outputs as the package's forward."""
    full, head, tail = load_teacher()  # a private copy: training mode updates batch-norm statistics
    x = torch.randn(2, 3, 224, 224)
    full.train(), head.train(), tail.train()
    torch.manual_seed(1)
    with torch.no_grad():
        expected = full(x)
    torch.manual_seed(1)
    with torch.no_grad():
        got = tail(head(x))
    assert not torch.equal(got, full.eval()(x))  # drop connect / dropout / batch statistics really were active
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)


def test_head_rejects_sizes_its_padding_cannot_handle(teacher):
    _, head, _ = teacher
    with pytest.raises(ValueError, match="multiples of 32"):
        head(torch.zeros(1, 3, 225, 224))


def test_head_works_on_smaller_training_crops(teacher):
    _, head, _ = teacher
    with torch.no_grad():
        assert head(torch.zeros(2, 3, 128, 128)).shape == (2, HEAD_CHANNELS, 16, 16)
