"""Building blocks shared by the model layers and the entropy models (CompressAI's ``ops``).

Both :mod:`fsplit_mobile.models` (GDN) and :mod:`fsplit_mobile.entropy` (the bottleneck's likelihood bound) need
these reparameterisations; keeping them here, below both packages, keeps the import graph acyclic:
``ops`` <- ``entropy`` <- ``models``.
"""

from .parametrizers import LowerBound, NonNegativeParametrizer

__all__ = ["LowerBound", "NonNegativeParametrizer"]
