"""Run time: open an artifact folder (docs/artifact.md), prepare inputs per its manifest, run its encoder.

Kept apart from export time and light on purpose (numpy + stdlib; each model runtime and PIL are imported
only when used), so the same code runs on a host, in the server and on a board.
"""

from .artifact import SCHEMA, Artifact, ArtifactError
from .encoders import Encoder, EncoderUnavailableError, open_encoder
from .preprocess import InputConverter, OutputConverter, TensorSpecError

__all__ = [
    "SCHEMA",
    "Artifact",
    "ArtifactError",
    "Encoder",
    "EncoderUnavailableError",
    "InputConverter",
    "OutputConverter",
    "TensorSpecError",
    "open_encoder",
]
