"""The run-time errors of opening an encoder (a leaf module: the encoder runners and the accelerated backends
both raise them, and neither has to import the other for it)."""


class EncoderUnavailableError(RuntimeError):
    """The runtime for this target is not installed here, or cannot load this model file."""


class AcceleratorUnavailableError(EncoderUnavailableError):
    """This device lacks the accelerator, its execution provider or its libraries (the message names which)."""
