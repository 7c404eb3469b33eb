"""The fp32 symbol comparison used by the export tests: a differing symbol passes only at a rounding tie."""

import numpy as np
import pytest

from fsplit_mobile.runtime.symbol_check import TIE_EPSILON, compare_many, compare_symbols, tie_distance


def _eager(x):
    return np.rint(x).astype(np.int32)


def test_identical_symbols_have_nothing_to_explain():
    x = np.random.default_rng(0).normal(0, 8, size=(48, 28, 28)).astype(np.float32)
    c = compare_symbols(_eager(x), _eager(x), x)
    assert (c.total, c.differing, c.at_ties, c.unexplained, c.max_tie_distance) == (x.size, 0, 0, 0, None)


def test_a_flip_at_a_tie_is_allowed_and_counted():
    x = np.array([[2.5004, -1.4997, 7.2, 0.0]], dtype=np.float64)
    want = _eager(x)  # [3 (rint rounds 2.5004 up), -1, 7, 0]
    got = want.copy()
    got[0, 0] = 2  # the other side of the 2.5 tie
    got[0, 1] = -2  # the other side of the -1.5 tie
    c = compare_symbols(got, want, x)
    assert (c.differing, c.at_ties, c.unexplained) == (2, 2, 0)
    assert c.max_tie_distance == pytest.approx(4e-4)
    assert "2 at rounding ties" in c.describe() and "0 unexplained" in c.describe()


@pytest.mark.parametrize(
    "value, got, why",
    [
        (2.49, 3, "eager value 0.01 from the tie: farther than epsilon"),
        (7.2, 8, "no tie anywhere near"),
        (2.5004, 4, "two integers away, not the other neighbour"),
        (2.5004, 1, "the far side, not the neighbour"),
    ],
)
def test_a_flip_away_from_a_tie_is_unexplained(value, got, why):
    x = np.array([value])
    c = compare_symbols(np.array([got]), _eager(x), x)
    assert (c.differing, c.at_ties, c.unexplained) == (1, 0, 1), why


def test_epsilon_is_the_stated_bound():
    x = np.array([0.5 + 0.9 * TIE_EPSILON, 0.5 + 1.1 * TIE_EPSILON])
    got = np.array([0, 0])  # eager rounds both up to 1
    c = compare_symbols(got, _eager(x), x)
    assert (c.differing, c.at_ties) == (2, 1)
    assert compare_symbols(got, _eager(x), x, epsilon=0.0).at_ties == 0


def test_tie_distance():
    np.testing.assert_allclose(tie_distance(np.array([0.5, -0.5, 1.0, 1.25, -3.75])), [0, 0, 0.5, 0.25, 0.25])


def test_many_samples_add_up():
    x1, x2 = np.array([1.5001, 3.0]), np.array([-0.4999])
    c = compare_many([(np.array([1, 3]), _eager(x1), x1), (np.array([-1]), _eager(x2), x2)])
    assert (c.total, c.differing, c.at_ties) == (3, 2, 2)
    assert c.to_dict()["unexplained"] == 0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="shapes differ"):
        compare_symbols(np.zeros(3), np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="epsilon"):
        compare_symbols(np.zeros(3), np.zeros(3), np.zeros(3), epsilon=0.5)
