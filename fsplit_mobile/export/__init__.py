"""Export time: one backend module per target (backends/), shared stages and preparation, manifest, fidelity report.

The Python API is the function :func:`export` defined here, which ``fsplit_mobile`` binds under this package's
own name: ``fsplit_mobile.export(...)``. That works after any import because ``fsplit_mobile/__init__.py``
imports this package before binding the function; the import system sets a package as an attribute of its
parent only when it first loads it, so importing a submodule later (``import fsplit_mobile.export.api``) leaves
``fsplit_mobile.export`` the function. Submodules are reached by import (``from fsplit_mobile.export import
api``, ``from fsplit_mobile.export.api import ...``), not as attributes of that function (so not with
``import fsplit_mobile.export.api as api`` either, which reads them as attributes). This module imports nothing, so ``import fsplit_mobile`` stays
cheap; the exporters load when the function is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import ExportSummary

__all__ = ["export"]


def export(*args: Any, **kwargs: Any) -> ExportSummary:
    """Export a model to artifact folders: :func:`fsplit_mobile.export.api.export`, with the same arguments."""
    from .api import export as _export

    return _export(*args, **kwargs)
