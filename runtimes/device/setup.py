"""Build hook of fsplit-mobile-device: stage the device-side packages of the full source tree (the list the
bench bundle ships: AGENT_PARENTS / AGENT_PACKAGES in fsplit_mobile/bench/bundle.py, read without importing it)
into build/src, drop the host's CPython extension, and compile the C coder with $CC into
fsplit_mobile/codec/libfsplit_rans.so. $FSPLIT_PLAT sets the wheel's platform tag for cross builds."""

import ast
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PACKAGE = REPO / "fsplit_mobile"
STAGE = HERE / "build" / "src"
C_DIR = REPO / "runtimes" / "c"
C_SOURCES = ("fsplit_rans.c", "fsplit_interleaved.c", "fsplit_interleaved_avx2.c", "fsplit_interleaved_neon.c")


def _bundle_constant(name):
    tree = ast.parse((PACKAGE / "bench" / "bundle.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError(f"{name} not found in fsplit_mobile/bench/bundle.py")


def stage() -> list:
    shutil.rmtree(STAGE, ignore_errors=True)
    root = STAGE / "fsplit_mobile"
    for rel in _bundle_constant("AGENT_PARENTS"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PACKAGE / rel, root / rel)
    for pkg in _bundle_constant("AGENT_PACKAGES"):
        shutil.copytree(PACKAGE / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
    return sorted(str(p.parent.relative_to(STAGE)).replace("/", ".") for p in root.rglob("__init__.py"))


class BuildWithCoder(build_py):
    def run(self):
        super().run()
        out = Path(self.build_lib) / "fsplit_mobile" / "codec" / "libfsplit_rans.so"
        cc = os.environ.get("CC", "cc")
        subprocess.check_call(
            [cc, "-std=c99", "-O2", "-fPIC", "-shared", *(str(C_DIR / s) for s in C_SOURCES), "-o", str(out)]
        )


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        return "py3", "none", super().get_tag()[2]  # any CPython 3: the library is loaded by ctypes, not as an ABI


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True  # it carries a compiled library: platform-tagged wheel


options = {"bdist_wheel": {"plat_name": os.environ["FSPLIT_PLAT"]}} if os.environ.get("FSPLIT_PLAT") else {}
setup(
    packages=stage(),
    package_dir={"": "build/src"},
    cmdclass={"build_py": BuildWithCoder, "bdist_wheel": PlatformWheel},
    distclass=BinaryDistribution,
    options=options,
)
