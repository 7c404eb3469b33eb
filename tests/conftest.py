"""Fixtures shared by several test files."""

import subprocess

import pytest

from bench_support import free_port


@pytest.fixture(scope="module")
def adb_port():
    """A private adb server port (never the user's 5037); that adb server is killed at the end."""
    port = free_port()
    yield port
    subprocess.run(["adb", "-P", str(port), "kill-server"], capture_output=True, timeout=30)
