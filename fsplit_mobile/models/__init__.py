"""Reference encoders (FrankenSplit, SC2 entropic student, CompressAI factorized prior), GDN and split models."""

from .entropic_student import EntropicStudentEncoder
from .factorized_prior import FactorizedPriorDecoder, FactorizedPriorEncoder
from .frankensplit import FrankenSplitEncoder, ResidualBlockWithStride
from .gdn import GDN, GDN1, BakedGDN, bake_gdn
from .split import DeviceModel, ExportableEncoder, ServerModel, SplitModel

__all__ = [
    "BakedGDN",
    "DeviceModel",
    "EntropicStudentEncoder",
    "ExportableEncoder",
    "FactorizedPriorDecoder",
    "FactorizedPriorEncoder",
    "FrankenSplitEncoder",
    "GDN",
    "GDN1",
    "ResidualBlockWithStride",
    "ServerModel",
    "SplitModel",
    "bake_gdn",
]
