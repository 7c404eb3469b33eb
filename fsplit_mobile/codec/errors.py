"""Exceptions of the entropy coder, its tables file and its stream container."""


class CodecError(Exception):
    """Base class of every error raised by :mod:`fsplit_mobile.codec`."""


class CorruptStreamError(CodecError):
    """A stream or container is truncated, inconsistent or fails its checksum."""


class TableMismatchError(CodecError):
    """A container was written with other codec tables or for another latent shape."""


class InvalidTablesError(CodecError, ValueError):
    """CDF tables (or a tables file) are malformed."""


class InvalidInputError(CodecError, ValueError):
    """Symbols, indexes or shapes given to the coder are unusable (wrong dtype, range, length)."""
