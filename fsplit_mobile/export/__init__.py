"""Export time: one module per target (capture -> quantize -> lower -> verify), manifest, fidelity report.

`fsplit_mobile.export(...)` is the Python API. Because this package shares that name, importing any of its
submodules rebinds `fsplit_mobile.export` to this package; the package is therefore callable itself and
forwards to :func:`fsplit_mobile.export.api.export`, so both spellings keep working.
"""
import sys
import types


class _CallableExportPackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from .api import export

        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableExportPackage
