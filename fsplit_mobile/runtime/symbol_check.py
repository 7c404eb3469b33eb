"""Comparing an artifact's integer symbols with PyTorch eager: exact, except where rounding met a tie.

Symbols are ``round(y - median)`` of a float latent ``y``. Two correct fp32 programs (PyTorch eager and a
converted artifact) compute ``y`` with different operation orders (XNNPACK vs ATen convolution kernels, fused
vs separate bias and normalisation), so their ``y`` agree to a few units in the last place, not bit for bit.
Where ``y - median`` lies that close to a half-integer, the two programs may round to the two neighbouring
integers. A correct artifact can therefore differ there, and nowhere else: a check demanding 0 differing
symbols can fail on a correct program (2 of 4.8 M did once), and a check allowing a fraction cannot catch a
wrong symbol. This check allows a differing symbol only where the eager value lies within `TIE_EPSILON` of a
rounding tie and the artifact chose the other neighbour, and it reports how many did.

Numpy only: runs wherever `fsplit_mobile.runtime` runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# In symbol units. fp32 has 24 significant bits: the bundled model's latent (|y - median| < 64) is held to about
# 4e-6, and reordering the ~1e3-term sums of a convolution stack moves it by 1e-5..1e-4. 1e-3 leaves a 10x margin
# over that while a fractional part lands within it of .5 only 0.2 % of the time, so a wrong symbol is not hidden.
TIE_EPSILON = 1e-3


@dataclass(frozen=True)
class SymbolComparison:
    total: int  # symbols compared
    differing: int  # artifact symbol != eager symbol
    at_ties: int  # of those: eager value within epsilon of a tie, artifact took the other neighbour
    epsilon: float
    max_tie_distance: float | None  # the largest |frac(eager) - 0.5| among the ones at ties (None: none)

    @property
    def unexplained(self) -> int:
        """Differing symbols that no rounding tie explains: a correct fp32 artifact has none."""
        return self.differing - self.at_ties

    def to_dict(self) -> dict:
        return dict(asdict(self), unexplained=self.unexplained)

    def describe(self) -> str:
        return (
            f"{self.differing} of {self.total} symbols differ from eager; {self.at_ties} at rounding ties "
            f"(eager value within {self.epsilon:g} of a half-integer), {self.unexplained} unexplained"
        )


def tie_distance(unrounded: np.ndarray) -> np.ndarray:
    """|frac(x) - 0.5| in float64: 0 at an exact tie (x = k + 0.5), 0.5 at an integer."""
    x = np.asarray(unrounded, dtype=np.float64)
    return np.abs(x - np.floor(x) - 0.5)


def compare_symbols(got, want, unrounded, epsilon: float = TIE_EPSILON) -> SymbolComparison:
    """Compare artifact symbols `got` with eager symbols `want` = round(`unrounded`) (same shapes; `unrounded` is
    eager's ``y - median`` before rounding). A differing symbol counts as at a tie when the eager value lies within
    `epsilon` of a half-integer and `got` is the neighbouring integer on the tie's other side."""
    got, want = np.asarray(got), np.asarray(want)
    x = np.asarray(unrounded, dtype=np.float64)
    if not (got.shape == want.shape == x.shape):
        raise ValueError(f"shapes differ: artifact {got.shape}, eager symbols {want.shape}, eager values {x.shape}")
    if not 0 <= epsilon < 0.5:
        raise ValueError(f"epsilon must be in [0, 0.5), got {epsilon}")
    differ = got != want
    d, g, w = tie_distance(x[differ]), got[differ].astype(np.int64), want[differ].astype(np.int64)
    lower = np.floor(x[differ]).astype(np.int64)  # the tie lies between lower and lower + 1
    neighbours = ((g == lower) & (w == lower + 1)) | ((g == lower + 1) & (w == lower))
    at_tie = neighbours & (d <= epsilon)
    return SymbolComparison(
        total=int(got.size),
        differing=int(differ.sum()),
        at_ties=int(at_tie.sum()),
        epsilon=float(epsilon),
        max_tie_distance=float(d[at_tie].max()) if at_tie.any() else None,
    )


def compare_many(pairs, epsilon: float = TIE_EPSILON) -> SymbolComparison:
    """`compare_symbols` summed over (got, want, unrounded) triples, e.g. one per held-out sample."""
    total = differing = at_ties = 0
    worst: float | None = None
    for got, want, unrounded in pairs:
        c = compare_symbols(got, want, unrounded, epsilon)
        total, differing, at_ties = total + c.total, differing + c.differing, at_ties + c.at_ties
        if c.max_tie_distance is not None:
            worst = c.max_tie_distance if worst is None else max(worst, c.max_tie_distance)
    return SymbolComparison(
        total=total, differing=differing, at_ties=at_ties, epsilon=float(epsilon), max_tie_distance=worst
    )
