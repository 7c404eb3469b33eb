"""Build hook: compiles the C99 entropy coder (runtimes/c) into the Python extension fsplit_mobile.codec._rans."""

from setuptools import Extension, setup

RANS_EXTENSION = Extension(
    "fsplit_mobile.codec._rans",
    sources=[
        "fsplit_mobile/codec/_rans.c",
        "runtimes/c/fsplit_rans.c",
        "runtimes/c/fsplit_interleaved.c",
        "runtimes/c/fsplit_interleaved_avx2.c",
        "runtimes/c/fsplit_interleaved_neon.c",
        "runtimes/c/fsplit_interleaved2.c",
        "runtimes/c/fsplit_interleaved2_avx2.c",
        "runtimes/c/fsplit_interleaved2_neon.c",
    ],
    include_dirs=["runtimes/c"],
    depends=[
        "runtimes/c/fsplit_rans.h",
        "runtimes/c/fsplit_interleaved.h",
        "runtimes/c/fsplit_ilv_internal.h",
        "runtimes/c/fsplit_ilv_tables.h",
        "runtimes/c/fsplit_interleaved2.h",
        "runtimes/c/fsplit_ilv2_internal.h",
    ],
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra"],
)

setup(ext_modules=[RANS_EXTENSION])
