"""ARM: the C coder cross-compiled with aarch64-linux-gnu-gcc passes its unit tests and every conformance vector
under qemu-aarch64-static, i.e. it produces the same bytes on aarch64 as on x86 (the vectors come from x86), the
interleaved payloads' NEON paths included (version 1 and version 2: test_ilv checks that NEON writes the scalar bytes
and gives the scalar verdict on damaged payloads; run time there is functional only: qemu emulates it)."""

import re
import shutil
import subprocess

import pytest

from repo_paths import REPO

C_DIR = REPO / "runtimes" / "c"
QEMU = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"]


def test_aarch64_build_passes_conformance_under_qemu(tmp_path):
    for tool in ("aarch64-linux-gnu-gcc", "qemu-aarch64-static"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} missing: scripts/install_system_deps.sh installs gcc-aarch64-linux-gnu and qemu-user-static"
            )
    build = tmp_path / "aarch64"
    proc = subprocess.run(
        [
            "make",
            "-C",
            str(C_DIR),
            "CC=aarch64-linux-gnu-gcc",
            "AR=aarch64-linux-gnu-ar",
            f"BUILD={build}",
            f"{build}/conformance",
            f"{build}/test_unit",
            f"{build}/test_ilv",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = (build / "conformance").read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183  # EM_AARCH64

    unit = subprocess.run([*QEMU, str(build / "test_unit")], capture_output=True, text=True, timeout=300)
    assert unit.returncode == 0 and re.search(r"unit: \d+ checks, 0 failures", unit.stdout), unit.stdout + unit.stderr
    ilv = subprocess.run([*QEMU, str(build / "test_ilv")], capture_output=True, text=True, timeout=300)
    assert ilv.returncode == 0 and re.search(r"interleaved \(neon\): \d+ checks, 0 failures", ilv.stdout), (
        ilv.stdout + ilv.stderr
    )
    conf = subprocess.run(
        [*QEMU, str(build / "conformance"), str(REPO / "runtimes/conformance/vectors.txt")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    m = re.search(r"conformance: (\d+) cases, 3 tables, \d+ checks, 0 failures", conf.stdout)
    assert conf.returncode == 0 and m and int(m.group(1)) >= 100, conf.stdout + conf.stderr
