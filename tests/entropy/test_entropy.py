"""Entropy bottleneck and CDF tables against CompressAI 1.2.8 (the oracle: its compiled pmf_to_quantized_cdf and
its own EntropyBottleneck class, loaded by path)."""

import re

import numpy as np
import pytest
import torch
from torch import nn

import oracle
from fsplit_mobile.entropy import EntropyBottleneck, TableBuildError, pmf_to_quantized_cdf
from repo_paths import PACKAGE


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ---- pmf -> quantized CDF ------------------------------------------------------------------------------------------
def _random_pmfs(rng: np.random.Generator, count: int):
    """(pmf, precision) pairs: smooth, sparse, spiky, exact-zero, half-unit and unnormalised cases."""
    for i in range(count):
        kind = i % 7
        precision = 16 if i % 5 else int(rng.choice([10, 12, 15]))
        n = int(rng.choice([1, 2, 3, 5, 17, 64, 200, 1000]))
        n = min(n, (1 << precision) // 8)
        if kind == 0:  # smooth
            p = rng.dirichlet(np.full(n, 5.0))
        elif kind == 1:  # sparse: many tiny probabilities that round to zero -> stealing
            p = rng.dirichlet(np.full(n, 0.05))
        elif kind == 2:  # one spike, the rest far below one unit
            p = rng.uniform(1e-9, 1e-6, n)
            p[rng.integers(n)] = 1.0
        elif kind == 3:  # exact zeros
            p = rng.dirichlet(np.full(n, 1.0))
            p[rng.random(n) < 0.3] = 0.0
            if p.sum() == 0:
                p[0] = 1.0
        elif kind == 4:  # entries that are exactly k + 0.5 units (rounding ties)
            p = (rng.integers(0, 40, n) + 0.5) / (1 << precision)
        elif kind == 5:  # discretised Laplacian with a tail-mass entry, like EntropyBottleneck.update()
            x = np.arange(n) - n // 2
            p = np.exp(-np.abs(x) / rng.uniform(0.3, 20))
            p = np.append(p / p.sum() * (1 - 1e-4), 1e-4)
        else:  # unnormalised mass (sums to 0.3 .. 1.7)
            p = rng.dirichlet(np.full(n, 0.7)) * rng.uniform(0.3, 1.7)
        yield p.astype(np.float32), precision


def _needs_steal(p: np.ndarray, precision: int) -> bool:
    scaled = np.floor(p.astype(np.float32) * np.float32(1 << precision) + np.float32(0.5)).astype(np.int64)
    return bool(((scaled << precision) // scaled.sum() == 0).any())


def test_pmf_to_quantized_cdf_equals_compressai_on_random_pmfs():
    rng = np.random.default_rng(1234)
    cases = list(_random_pmfs(rng, 1500))
    steals = 0
    for p, precision in cases:
        ours = pmf_to_quantized_cdf(p, precision)
        theirs = oracle.oracle_pmf_to_quantized_cdf(p, precision)
        assert ours.dtype == np.int32 and ours.shape == (p.size + 1,)
        assert ours.tolist() == theirs, (p.tolist(), precision)
        assert ours[0] == 0 and ours[-1] == 1 << precision and (np.diff(ours) >= 1).all()
        steals += _needs_steal(p, precision)
    assert steals > 300  # the zero-width/steal path is exercised heavily, not incidentally


def test_pmf_to_quantized_cdf_steal_takes_from_the_smallest_wide_slot():
    # slot 2 is zero: one unit comes from the smallest slot with frequency > 1 (slot 3, after it)
    p = np.array([0.75, 0.25 - 3 / 65536, 0.0, 3 / 65536], dtype=np.float32)
    cdf = pmf_to_quantized_cdf(p)
    assert cdf.tolist() == oracle.oracle_pmf_to_quantized_cdf(p)
    assert np.diff(cdf).tolist() == [49152, 16381, 1, 2]
    # slot 1 is zero; slots 0 and 2 tie at 2 units: the first one (before it) gives
    p = np.array([2 / 65536, 0.0, 2 / 65536, 1 - 4 / 65536], dtype=np.float32)
    cdf = pmf_to_quantized_cdf(p)
    assert cdf.tolist() == oracle.oracle_pmf_to_quantized_cdf(p)
    assert np.diff(cdf).tolist() == [1, 1, 2, 65532]


@pytest.mark.parametrize(
    "pmf,message",
    [
        ([], "empty"),
        ([0.5, -0.1], "non-negative"),
        ([0.5, float("nan")], "finite"),
        ([0.0, 0.0], "sums to zero"),
        ([1e-7] * 4, "sums to zero"),
        (np.full(70000, 1 / 70000), "too many symbols"),
    ],
)
def test_pmf_to_quantized_cdf_rejects_bad_pmfs(pmf, message):
    with pytest.raises(TableBuildError, match=message):
        pmf_to_quantized_cdf(pmf)
    with pytest.raises(TableBuildError, match="precision"):
        pmf_to_quantized_cdf([1.0], precision=17)


# ---- EntropyBottleneck vs CompressAI's -----------------------------------------------------------------------------
def _perturbed(channels: int, seed: int, spread: float, width: float) -> EntropyBottleneck:
    g = torch.Generator().manual_seed(seed)
    eb = EntropyBottleneck(channels)
    with torch.no_grad():
        for p in list(eb.matrices) + list(eb.biases) + list(eb.factors):
            p.add_(torch.randn(p.shape, generator=g) * spread)
        med = torch.randn(channels, generator=g) * 2
        eb.quantiles[:, 0, 1] = med
        eb.quantiles[:, 0, 0] = med - torch.rand(channels, generator=g) * width
        eb.quantiles[:, 0, 2] = med + torch.rand(channels, generator=g) * width
    return eb


def _compressai_copy(ours: EntropyBottleneck):
    ref = oracle.compressai_entropy_bottleneck(ours.channels, filters=ours.filters)
    ref.load_state_dict(ours.state_dict(), strict=True)
    return ref


def _fitted(channels: int, seed: int) -> EntropyBottleneck:
    """Quantiles fitted to the density with the auxiliary loss, as after training (tiny tails: stealing)."""
    eb = _perturbed(channels, seed, 0.3, 5.0)
    opt = torch.optim.Adam([eb.quantiles], lr=0.5)
    for _ in range(300):
        opt.zero_grad()
        eb.loss().backward()
        opt.step()
    return eb


@pytest.mark.parametrize(
    "make",
    [
        lambda: EntropyBottleneck(48),  # fresh init
        lambda: _perturbed(48, 1, 0.3, 10.0),
        lambda: _perturbed(16, 2, 1.0, 60.0),  # sharp densities over long ranges: many zero slots
        lambda: _perturbed(64, 3, 0.1, 0.4),  # pmf_length 1..2
        lambda: _perturbed(7, 4, 2.0, 30.0),
        lambda: _fitted(12, 5),
    ],
    ids=["init", "moderate", "sharp-wide", "narrow", "wild", "fitted"],
)
def test_update_builds_the_same_tables_as_compressai(make):
    ours = make()
    ref = _compressai_copy(ours)
    assert ours.update() is True and ref.update() is True
    assert torch.equal(ours._quantized_cdf, ref._quantized_cdf)
    assert torch.equal(ours._offset, ref._offset)
    assert torch.equal(ours._cdf_length, ref._cdf_length)
    assert ours._quantized_cdf.dtype == ours._offset.dtype == ours._cdf_length.dtype == torch.int32
    # whole state dicts (names, shapes, values) agree once both are updated
    a, b = ours.state_dict(), ref.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_update_tables_exercise_the_steal_path():
    ours = _perturbed(16, 2, 1.0, 60.0)
    ours.update()
    cdf, lengths, _ = ours.tables()
    unit_slots = sum(int((np.diff(cdf[c, : lengths[c]]) == 1).sum()) for c in range(16))
    assert unit_slots > 16


def test_forward_and_loss_match_compressai():
    ours = _perturbed(6, 7, 0.3, 8.0)
    ref = _compressai_copy(ours)
    y = torch.randn(2, 6, 5, 4) * 4
    ours.eval(), ref.eval()
    with torch.no_grad():
        y_hat, lik = ours(y)
        y_hat_ref, lik_ref = ref(y)
    assert torch.equal(y_hat, y_hat_ref)
    torch.testing.assert_close(lik, lik_ref, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(ours.loss(), ref.loss())
    ours.train()
    y_noisy, lik_train = ours(y)
    assert (y_noisy - y).abs().max() <= 0.5 and lik_train.shape == y.shape and lik_train.min() >= 1e-9
    lik_train.log().sum().backward()  # differentiable for training
    assert ours.matrices[0].grad is not None


def test_state_dict_names_match_compressai_fresh_and_updated():
    ours, ref = EntropyBottleneck(5), oracle.compressai_entropy_bottleneck(5)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    assert "likelihood_lower_bound.bound" in ours.state_dict()
    for key in ("target", "likelihood_lower_bound.bound"):
        assert torch.equal(ours.state_dict()[key], ref.state_dict()[key])


def test_load_compressai_state_dict_with_tables_verbatim():
    source = _perturbed(8, 11, 0.5, 12.0)
    ref = _compressai_copy(source)
    ref.update()
    fresh = EntropyBottleneck(8)
    fresh.load_state_dict(ref.state_dict(), strict=True)
    assert torch.equal(fresh._quantized_cdf, ref._quantized_cdf)
    assert torch.equal(fresh.medians(), ref.quantiles[:, 0, 1])


def _legacy(state: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in state.items():
        m = re.match(r"^(matrices|biases|factors)\.(\d+)$", key)
        name = f"_{dict(matrices='matrix', biases='bias', factors='factor')[m.group(1)]}{m.group(2)}" if m else key
        out[prefix + name] = value
    return out


def test_legacy_parameter_names_load():
    source = _perturbed(4, 12, 0.5, 6.0)
    legacy = _legacy(source.state_dict())
    assert "_matrix0" in legacy and "_factor3" in legacy and "_bias4" in legacy and "matrices.0" not in legacy
    loaded = EntropyBottleneck(4)
    loaded.load_state_dict(legacy, strict=True)
    for a, b in zip(loaded.parameters(), source.parameters()):
        assert torch.equal(a, b)
    # also nested inside a bigger model, as in FrankenSplit checkpoints
    holder = nn.Module()
    holder.entropy_bottleneck = EntropyBottleneck(4)
    holder.load_state_dict(_legacy(source.state_dict(), "entropy_bottleneck."), strict=True)
    assert torch.equal(holder.entropy_bottleneck.matrices[2], source.matrices[2])


def test_parameter_name_mapping_both_ways():
    from fsplit_mobile.entropy.keys import current_name, is_legacy_name, legacy_name, matrix_index

    for old, new in (("_matrix0", "matrices.0"), ("_bias12", "biases.12"), ("_factor3", "factors.3")):
        assert current_name(old) == new and legacy_name(new) == old and is_legacy_name(old)
        assert current_name(new) == new and legacy_name(old) == old and not is_legacy_name(new)
    for other in ("quantiles", "_offset", "x._matrix0", "matrices.0.extra", "_matrix", "likelihood_lower_bound.bound"):
        assert current_name(other) == other and legacy_name(other) == other
    assert [matrix_index(k) for k in ("_matrix4", "matrices.4", "biases.4", "_factor1", "quantiles")] == [
        4,
        4,
        None,
        None,
        None,
    ]


def test_old_parameter_names_are_mapped_in_one_module():
    """Only entropy/keys.py spells out the old-name pattern; the bottleneck and the checkpoint reader call it."""

    package = PACKAGE
    spelled = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if "matrix|bias|factor" in p.read_text()
    )
    assert spelled == ["entropy/keys.py"]


def test_stored_tables_are_used_verbatim_not_recomputed():
    eb = _perturbed(3, 13, 0.5, 6.0)
    other = _perturbed(3, 14, 0.5, 9.0)
    other.update()
    state = eb.state_dict()  # eb's density, but tables from a different model (as from an older CompressAI)
    for name in ("_quantized_cdf", "_cdf_length", "_offset"):
        state[name] = getattr(other, name).clone()
    loaded = EntropyBottleneck(3)
    loaded.load_state_dict(state)
    stored = [t.copy() for t in loaded.tables()]
    assert loaded.update() is False  # tables present: not rebuilt
    for got, want in zip(loaded.tables(), (other._quantized_cdf, other._cdf_length, other._offset)):
        assert np.array_equal(got, want.numpy())
    assert loaded.update(force=True) is True
    assert not np.array_equal(loaded.tables()[0], stored[0]) or not np.array_equal(loaded.tables()[1], stored[1])


def test_tables_require_update():
    with pytest.raises(RuntimeError, match="update"):
        EntropyBottleneck(2).tables()


# ---- symbols -----------------------------------------------------------------------------------------------------
def test_symbols_round_half_to_even_around_the_median():
    eb = EntropyBottleneck(2)
    with torch.no_grad():
        eb.quantiles[:, 0, 1] = torch.tensor([0.0, 0.25])
    offsets = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51])
    y = torch.stack([offsets, offsets + 0.25]).reshape(1, 2, 1, 8)  # y - median is exactly `offsets`
    sym = eb.symbols(y)
    expected = torch.tensor([-2, -2, 0, 0, 2, 2, 0, -1], dtype=torch.int32)
    assert sym.dtype == torch.int32
    assert torch.equal(sym[0, 0, 0], expected) and torch.equal(sym[0, 1, 0], expected)
    assert torch.equal(
        eb.dequantize(sym), torch.round(y - eb.medians().reshape(1, 2, 1, 1)) + eb.medians().reshape(1, 2, 1, 1)
    )


def test_symbols_are_compressais_quantize_symbols():
    ours = _perturbed(5, 15, 0.3, 8.0)
    ref = _compressai_copy(ours)
    y = torch.randn(2, 5, 3, 4) * 6
    medians = ref._get_medians().detach().reshape(1, 5, 1, 1)
    expected = ref.quantize(y, "symbols", medians)
    assert torch.equal(ours.symbols(y), expected.to(torch.int32))
