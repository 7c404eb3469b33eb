"""Zero-setup devices (fsplit_mobile/bench/provision): probe parsing, when the CLI provisions, the device-side
runner cache (push once, reuse while the key matches, replace stale or half-pushed entries) and the errors that
say what is missing. Provisioning through each transport (a real run over a real sshd with nothing but the ssh
key flags; on adb, the flags to pass) is test_bench_transports.py's test_zero_setup_with_no_runner_flags.
"""

from pathlib import Path

import pytest

from fsplit_mobile.bench import device_info
from fsplit_mobile.bench.errors import NativeRunnerError
from fsplit_mobile.bench.provision import device_cache, runners, wants_auto
from fsplit_mobile.bench.provision.native import native_runner
from fsplit_mobile.bench.provision.probe import DeviceProfile, ProbeError, parse_probe
from fsplit_mobile.bench.transports import LocalTransport

BOARD = "os=Linux\nmachine=aarch64\nhome=/home/pi\nabi=\npython=3.11 cpython glibc-2.36\n"


def test_probe_tells_linux_boards_android_and_garbage_apart():
    board = parse_probe(BOARD)
    assert (board.platform, board.home, board.python, board.libc) == ("linux-aarch64", "/home/pi", "3.11", "glibc-2.36")
    phone = parse_probe("os=Linux\nmachine=aarch64\nhome=\nabi=arm64-v8a\npython=\n")
    assert (phone.platform, phone.python, phone.home) == ("android-arm64", None, None)
    with pytest.raises(ProbeError, match="uname"):
        parse_probe("sh: 1: uname: not found\n")


def test_provisioning_is_the_default_only_where_no_flag_picks_a_runner():
    assert wants_auto("ssh", None) and wants_auto("adb", None) and wants_auto("local", "auto")
    assert not wants_auto("local", None)
    assert not wants_auto("ssh", "python") and not wants_auto("ssh", None, "/opt/py/bin/python3")
    assert not wants_auto("adb", None, None, False, "runner-bin")


def _runner(tmp_path, key, payload="x") -> runners.Runner:
    tree = tmp_path / f"tree-{key}"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "tool").write_text(payload)
    (tree / runners.READY).write_text(key)
    return runners.Runner("native", "native-test", key, tree, 1)


def test_device_cache_pushes_once_reuses_and_replaces(tmp_path):
    transport, profile = LocalTransport(), DeviceProfile("linux", "x86_64", str(tmp_path / "home"))
    root = Path(device_cache.cache_root(profile))
    first = _runner(tmp_path, "k1")
    where, pushed = device_cache.ensure(transport, profile, first)
    assert pushed and Path(where, "bin", "tool").read_text() == "x"
    assert device_cache.ensure(transport, profile, first) == (where, False)

    second = _runner(tmp_path, "k2", payload="y")
    where2, pushed = device_cache.ensure(transport, profile, second)
    assert pushed and sorted(p.name for p in root.iterdir()) == ["native-test-k2"]  # the stale entry is gone

    (Path(where2) / runners.READY).unlink()  # as if a push had died before the stamp was in place
    (Path(where2) / "bin" / "tool").write_text("truncated")
    where3, pushed = device_cache.ensure(transport, profile, second)
    assert pushed and Path(where3, "bin", "tool").read_text() == "y"


def test_missing_pieces_are_named_with_the_way_to_supply_them():
    with pytest.raises(NativeRunnerError, match="--native-runner PATH --native-lib-dir DIR"):
        native_runner(DeviceProfile("android", "aarch64", None))
    with pytest.raises(NativeRunnerError, match="device has glibc-2.31"):
        native_runner(DeviceProfile("linux", "aarch64", "/home/nvidia", "3.8", "cpython", "glibc-2.31"))
    with pytest.raises(NativeRunnerError, match="needs python3 on a Linux device"):
        runners.python_agent(DeviceProfile("linux", "aarch64", "/root"), "tflite")
    with pytest.raises(NativeRunnerError, match="coreml needs an Apple device"):
        runners.for_target(parse_probe(BOARD), "coreml")


def test_device_facts_flag_user_mode_emulation():
    probe = "@@fsplit-section uname\nLinux 6.1 aarch64\n@@fsplit-section cpuinfo\n{}\n@@fsplit-section end\n"
    emulated = device_info.parse_probe(probe.format("vendor_id\t: GenuineIntel\nflags\t: fpu avx2"))
    assert "functional only" in emulated["emulated"]
    board = device_info.parse_probe(probe.format("processor\t: 0\nCPU part\t: 0xd08\nFeatures\t: fp asimd"))
    assert "emulated" not in board
