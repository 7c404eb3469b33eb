"""The pure-Java coder (runtimes/java, package dev.fsplit.codec): compiled for Java 8 (Android) with javac
-Werror, its JUnit 5 tests (every conformance vector byte for byte and back, corrupt inputs) run through the
console launcher; any failed JUnit test fails this test. Also: no JNI and no android.* in the sources."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from repo_paths import REPO

JAVA_DIR = REPO / "runtimes" / "java"
JUNIT = Path("/usr/share/java/junit-platform-console-standalone.jar")


@pytest.fixture(scope="module")
def java_build(tmp_path_factory) -> Path:
    """Compile the library (javac --release 8 -Werror) and the JUnit tests once."""
    missing = [tool for tool in ("javac", "java", "make") if shutil.which(tool) is None]
    if missing or not JUNIT.exists():
        pytest.fail(
            f"Java toolchain incomplete (missing {missing or JUNIT}); scripts/install_system_deps.sh installs "
            "default-jdk-headless and junit5"
        )
    out = tmp_path_factory.mktemp("java") / "out"
    proc = subprocess.run(
        ["make", "-C", str(JAVA_DIR), f"OUT={out}", f"{out}/test.stamp"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def run_junit(out: Path, vectors: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "java",
            f"-Dfsplit.vectors={vectors}",
            "-jar",
            str(JUNIT),
            "-cp",
            f"{out}/main:{out}/test",
            "--select-package",
            "dev.fsplit.codec",
            "--fail-if-no-tests",
            "--details=summary",
            "--disable-banner",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_junit_suite_passes(java_build):
    proc = run_junit(java_build, REPO / "runtimes/conformance/vectors.txt")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    found = int(re.search(r"(\d+) tests found", out).group(1))
    ok = int(re.search(r"(\d+) tests successful", out).group(1))
    assert found >= 15 and ok == found, out
    assert re.search(r"\b0 tests failed", out), out


def test_junit_failure_is_reported(java_build, tmp_path):
    """The harness is not vacuous: a vectors file with one changed byte makes the JUnit run fail."""
    text = (REPO / "runtimes/conformance/vectors.txt").read_text()
    (tmp_path / "vectors.txt").write_text(text.replace("dc10c68400100000", "dc10c68400100001", 1))
    (tmp_path / "tables").symlink_to(REPO / "runtimes/conformance/tables")
    proc = run_junit(java_build, tmp_path / "vectors.txt")
    assert proc.returncode != 0
    assert "issue_known_1" in proc.stdout + proc.stderr


def test_sources_are_pure_java():
    sources = list((JAVA_DIR / "src/main/java").rglob("*.java"))
    assert len(sources) >= 8
    for path in sources:
        text = path.read_text()
        assert "android." not in text and " native " not in text and "System.loadLibrary" not in text, path
