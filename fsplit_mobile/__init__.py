"""fsplit-mobile: learned feature codecs for split computing, from a PyTorch checkpoint to a phone or an edge board."""

__version__ = "0.1.0"


def export(*args, **kwargs):
    """Export a model to an artifact folder (see :func:`fsplit_mobile.export.api.export`)."""
    from .export.api import export as _export

    return _export(*args, **kwargs)
