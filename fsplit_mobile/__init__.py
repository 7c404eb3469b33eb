"""fsplit-mobile: learned feature codecs for split computing, from a PyTorch checkpoint to a phone or an edge board."""

from ._version import __version__

try:
    # The export API: `fsplit_mobile.export(...)`. Importing the (import-free) package here, before binding the
    # name, keeps the name the function when export submodules are imported later (see export/__init__.py).
    from .export import export
except ModuleNotFoundError as exc:  # a device agent's bundle ships only the packages the agent runs
    if exc.name != f"{__name__}.export":
        raise

__all__ = ["__version__", "export"]
