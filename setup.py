"""Build hook: compiles the C99 entropy coder (runtimes/c) into the Python extension fsplit_mobile.codec._rans."""
from setuptools import Extension, setup

RANS_EXTENSION = Extension(
    "fsplit_mobile.codec._rans",
    sources=["fsplit_mobile/codec/_rans.c", "runtimes/c/fsplit_rans.c"],
    include_dirs=["runtimes/c"],
    depends=["runtimes/c/fsplit_rans.h"],
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra"],
)

setup(ext_modules=[RANS_EXTENSION])
