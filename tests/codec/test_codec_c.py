"""The C99 coder builds warning-free (-std=c99 -Wall -Wextra -Werror -Wpedantic) with gcc and clang, and its
unit test and conformance program (runtimes/c) pass with each, the latter on every vector."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from repo_paths import REPO

C_DIR = REPO / "runtimes" / "c"


def build_and_test(tmp_path: Path, cc: str, extra: list[str] = ()) -> str:
    if shutil.which(cc) is None:
        pytest.fail(f"{cc} is not installed (scripts/install_system_deps.sh installs it)")
    proc = subprocess.run(
        ["make", "-C", str(C_DIR), f"CC={cc}", f"BUILD={tmp_path / cc}", "test", *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_c_builds_and_passes(tmp_path, cc):
    out = build_and_test(tmp_path, cc)
    assert re.search(r"unit: \d+ checks, 0 failures", out), out
    # the interleaved payload: scalar and the SIMD path this CPU runs write the same bytes
    assert re.search(r"interleaved \((scalar|avx2)\): \d+ checks, 0 failures", out), out
    m = re.search(r"conformance: (\d+) cases, 3 tables, \d+ checks, 0 failures", out)
    assert m and int(m.group(1)) >= 100, out


def test_c_without_a_128_bit_multiply(tmp_path):
    """Where the compiler has no __int128 the trusted encoder divides instead of multiplying by reciprocals: the
    unit test (the same bytes as fsr_encode_planar on random tables at every precision) passes on that path too."""
    build = tmp_path / "noint128"
    proc = subprocess.run(
        ["make", "-C", str(C_DIR), f"BUILD={build}", "CFLAGS=-O2 -DFSR_NO_INT128", f"{build}/test_unit"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = subprocess.run([str(build / "test_unit")], capture_output=True, text=True, timeout=120).stdout
    assert re.search(r"trusted encoder: \d+ coded, \d+ refused", out) and re.search(
        r"unit: \d+ checks, 0 failures", out
    ), out


def test_c_under_address_and_undefined_behaviour_sanitizers(tmp_path):
    flags = "CFLAGS=-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    out = build_and_test(tmp_path, "clang", [flags])
    assert re.search(r"unit: \d+ checks, 0 failures", out) and re.search(
        r"interleaved \(\w+\): \d+ checks, 0 failures", out
    )


def test_conformance_program_detects_a_wrong_vector(tmp_path):
    """The checker is not vacuous: a vectors file with one changed byte fails."""
    text = (REPO / "runtimes" / "conformance" / "vectors.txt").read_text()
    bad = text.replace("dc10c68400100000", "dc10c68400100001", 1)
    assert bad != text
    (tmp_path / "vectors.txt").write_text(bad)
    (tmp_path / "tables").symlink_to(REPO / "runtimes" / "conformance" / "tables")
    build_and_test(tmp_path, "gcc")
    proc = subprocess.run(
        [str(tmp_path / "gcc" / "conformance"), str(tmp_path / "vectors.txt")], capture_output=True, text=True
    )
    assert proc.returncode == 1 and "FAIL issue_known_1: encoded bytes differ" in proc.stderr


def test_c_sources_are_clang_format_clean():
    """runtimes/c and the extension's C (fsplit_mobile/codec/_rans.c) follow the repository's .clang-format
    (make -C runtimes/c format, clang-format -i fix them)."""
    if shutil.which("clang-format") is None:
        pytest.fail("clang-format missing (scripts/install_system_deps.sh installs clang)")
    proc = subprocess.run(["make", "-s", "-C", str(C_DIR), "format-check"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ext = REPO / "fsplit_mobile" / "codec" / "_rans.c"
    proc = subprocess.run(
        ["clang-format", "--dry-run", "--Werror", str(ext)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
