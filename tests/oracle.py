"""The CompressAI test oracle, loaded from its files without importing the `compressai` package.

`make test` installs compressai==1.2.8 with `pip install --no-deps --target .cache/oracle` and sets
FSPLIT_ORACLE_DIR. The package's __init__ needs torchvision (unusable here), so we load only what we need:
- the compiled modules `_CXX` (pmf_to_quantized_cdf) and `ans` (RansEncoder/RansDecoder) from their .so files;
- `entropy_models/entropy_models.py` (CompressAI's own EntropyBottleneck) with its handful of `compressai.*`
  imports satisfied by private stand-ins that exist in sys.modules only while it is imported or instantiated.

Outside `make test` a missing oracle skips the tests that need it, with the reason; under CI
(FSPLIT_ORACLE_DIR set) a missing or broken oracle fails loudly.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest

from repo_paths import REPO as _REPO


def oracle_dir() -> Path:
    """The folder holding the `compressai` wheel's files; skips (locally) or fails (CI) when absent."""
    env = os.environ.get("FSPLIT_ORACLE_DIR")
    root = Path(env) if env else _REPO / ".cache" / "oracle"
    if not (root / "compressai").is_dir():
        if env:
            pytest.fail(f"FSPLIT_ORACLE_DIR={env} holds no compressai package (run `make test`)")
        pytest.skip(f"CompressAI oracle not installed at {root} (run `make test`, or set FSPLIT_ORACLE_DIR)")
    return root


def _load_extension(stem: str, module_name: str):
    with _installed({}):  # loading an extension may register it in sys.modules: do not leave it there
        return _load_extension_file(stem, module_name)


def _load_extension_file(stem: str, module_name: str):
    matches = sorted(glob.glob(str(oracle_dir() / "compressai" / f"{stem}.cpython-*.so")))
    if not matches:
        pytest.fail(f"oracle has no compiled module compressai/{stem}*.so")
    # resolved: another spelling of the same file would initialise the extension twice (see synth_tables.py)
    spec = importlib.util.spec_from_file_location(module_name, os.path.realpath(matches[0]))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def cxx():
    """CompressAI's compiled `_CXX` module (pmf_to_quantized_cdf(list[float], precision) -> list[int])."""
    return _load_extension("_CXX", "compressai._CXX")


@functools.cache
def ans():
    """CompressAI's compiled `ans` module (RansEncoder, RansDecoder, BufferedRansEncoder).

    Its RansEncoder crashes on 0 or 1 symbols: never feed it those.
    """
    return _load_extension("ans", "compressai.ans")


def oracle_pmf_to_quantized_cdf(pmf, precision: int = 16) -> list[int]:
    """CompressAI's C++ pmf_to_quantized_cdf on float32 values (as its Python wrapper passes them)."""
    import numpy as np

    return list(cxx().pmf_to_quantized_cdf(np.asarray(pmf, dtype=np.float32).tolist(), precision))


def _stub_package(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = []  # a package, so that submodule imports resolve through sys.modules
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def _load_source(module_name: str, path: Path):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def _stand_ins() -> dict[str, types.ModuleType]:
    root = oracle_dir() / "compressai"
    modules: dict[str, types.ModuleType] = {}
    modules["compressai"] = _stub_package(
        "compressai",
        available_entropy_coders=lambda: ["ans"],
        get_entropy_coder=lambda: "ans",
        _CXX=cxx(),
        ans=ans(),
    )
    modules["compressai._CXX"] = cxx()
    modules["compressai.ans"] = ans()
    with _installed(modules):
        bound_ops = _load_source("compressai.ops.bound_ops", root / "ops" / "bound_ops.py")
        modules["compressai.ops.bound_ops"] = bound_ops
        modules["compressai.ops"] = _stub_package("compressai.ops", LowerBound=bound_ops.LowerBound)
    with _installed(modules):
        parametrizers = _load_source("compressai.ops.parametrizers", root / "ops" / "parametrizers.py")
        modules["compressai.ops.parametrizers"] = parametrizers
        modules["compressai.ops"].NonNegativeParametrizer = parametrizers.NonNegativeParametrizer
    return modules


def _compressai_entries() -> dict[str, types.ModuleType]:
    return {k: v for k, v in sys.modules.items() if k == "compressai" or k.startswith("compressai.")}


@contextlib.contextmanager
def _installed(modules: dict[str, types.ModuleType]):
    """Put `modules` into sys.modules for the duration; afterwards no compressai.* entry of ours is left."""
    before = _compressai_entries()
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name in _compressai_entries():
            del sys.modules[name]
        sys.modules.update(before)


@functools.cache
def _entropy_models_module():
    modules = dict(_stand_ins())
    with _installed(modules):
        module = _load_source(
            "compressai.entropy_models.entropy_models",
            oracle_dir() / "compressai" / "entropy_models" / "entropy_models.py",
        )
    return module


def compressai_entropy_bottleneck(channels: int, **kwargs):
    """A real CompressAI 1.2.8 `EntropyBottleneck` instance (its own update(), forward(), compress())."""
    module = _entropy_models_module()
    with _installed(dict(_stand_ins())):
        return module.EntropyBottleneck(channels, **kwargs)


@functools.cache
def compressai_gdn_module():
    """CompressAI's `layers/gdn.py` (classes GDN and GDN1), loaded by path."""
    with _installed(dict(_stand_ins())):
        return _load_source("compressai.layers.gdn", oracle_dir() / "compressai" / "layers" / "gdn.py")
