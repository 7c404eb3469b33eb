"""The aarch64 path of the native runner: cross-built with Debian's aarch64-linux-gnu toolchain against the
executorch==1.5.1 manylinux aarch64 wheel, run on this x86_64 host under qemu-user (a functional check of the
ARM build; emulated timings are meaningless). It must code the same bytes as the x86_64 build."""

import shutil

import pytest

from bench_support import aarch64_executorch_lib_dir, build_native_runner, tiny_artifacts
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.elf_deps import needed_libraries
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import LocalTransport

QEMU = "qemu-aarch64-static"


@pytest.mark.slow
def test_aarch64_native_runner_under_qemu_matches_x86_64(tmp_path_factory, tmp_path):
    assert shutil.which(QEMU), "qemu-user-static missing (scripts/install_system_deps.sh)"
    tiny = tiny_artifacts(tmp_path_factory)
    arm = build_native_runner("aarch64")
    assert arm.read_bytes()[18] == 183  # e_machine EM_AARCH64
    assert "libexecutorch.so" in needed_libraries(arm)
    arm_spec = RunnerSpec(
        kind="native",
        native_binary=str(arm),
        native_lib_dirs=(str(aarch64_executorch_lib_dir()),),
        prefix=f"{QEMU} -L /usr/aarch64-linux-gnu",
    )
    config = dict(runs=2, warmup=1, image_limit=2)
    arm_result = run_benchmark(
        tiny["executorch"],
        LocalTransport(),
        BenchConfig(runner=arm_spec, **config),
        out_dir=tmp_path / "arm",
        progress=False,
    )
    assert arm_result["status"] == "complete" and arm_result["runner"]["machine"] == "aarch64"
    x86 = run_benchmark(
        tiny["executorch"],
        LocalTransport(),
        BenchConfig(runner=RunnerSpec(kind="native", native_binary=str(build_native_runner())), **config),
        out_dir=tmp_path / "x86",
        progress=False,
    )
    assert [i["stream_sha256"] for i in arm_result["images"]] == [i["stream_sha256"] for i in x86["images"]]
