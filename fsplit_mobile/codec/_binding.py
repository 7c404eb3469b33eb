"""Which build of the C coder this process uses: the CPython extension ``_rans`` (built by setup.py for the
host), else the same C core as a plain shared library through ctypes (:mod:`._rans_ctypes`, what the slim
device-side install ships to boards of another architecture). Both expose the same functions and errors."""

try:
    from . import _rans
except ImportError:
    from . import _rans_ctypes as _rans

__all__ = ["_rans"]
