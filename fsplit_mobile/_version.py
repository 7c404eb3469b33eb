"""The package version: a leaf module, so that modules below the package root read it without importing the root
(whose ``__init__`` binds the export API)."""

__version__ = "0.1.0"
