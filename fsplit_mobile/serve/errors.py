"""Errors of `fsplit-serve`. A `RequestError` is the client's fault and carries its HTTP status and a short
machine-readable code; the JSON error body is {"error": code, "detail": message}."""


class ServeError(Exception):
    """Base class of the server's errors."""


class ArtifactLoadError(ServeError):
    """The artifact folder cannot be served (missing/invalid manifest, tables, server model)."""


class RequestError(ServeError):
    status = 400
    code = "bad_request"


class EmptyPayload(RequestError):
    status = 400
    code = "empty_payload"


class CorruptPayload(RequestError):
    """Not a valid stream container: bad magic/version, truncated, checksum mismatch, undecodable payload."""

    status = 400
    code = "corrupt_payload"


class WrongTables(RequestError):
    """A well-formed stream coded with other codec tables than the loaded model's."""

    status = 409
    code = "table_mismatch"


class UnknownRatePoint(RequestError):
    """A well-formed stream naming a rate point (container flags bits 8-15) the served artifact does not have."""

    status = 409
    code = "unknown_rate_point"


class LatentShapeMismatch(RequestError):
    """A well-formed stream for these tables whose latent shape the server part cannot take."""

    status = 422
    code = "latent_shape_mismatch"


class UnsupportedMediaType(RequestError):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLargeError(RequestError):
    status = 413
    code = "payload_too_large"


class RequestTimeout(RequestError):
    """The body did not arrive within the request timeout."""

    status = 408
    code = "request_timeout"
