"""Zero-setup devices (fsplit_mobile/bench/provision): probe parsing, when the CLI provisions, the device-side
runner cache (push once, reuse while the key matches, replace stale or half-pushed entries), the errors that
say what is missing, and a real run: fsplit-bench over a real sshd to this host with nothing but the ssh key
flags (the provisioned site comes first on PYTHONPATH; that the device needs nothing but python3 is shown on the
bare arm64 board in test_bench_emulated_board.py).
"""

import json
import subprocess
from pathlib import Path

import pytest

from bench_support import tiny_artifacts
from doubles.sshd import TempSshd
from fsplit_mobile.bench import device_info
from fsplit_mobile.bench.errors import NativeRunnerError
from fsplit_mobile.bench.provision import device_cache, runners, wants_auto
from fsplit_mobile.bench.provision.native import native_runner
from fsplit_mobile.bench.provision.probe import DeviceProfile, ProbeError, parse_probe
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
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


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    with TempSshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.mark.slow
def test_zero_setup_over_ssh_with_only_key_flags(tmp_path_factory, sshd, tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main

    tiny = tiny_artifacts(tmp_path_factory)
    argv = [
        "run",
        "--artifact",
        str(tiny["onnx"]),
        "--artifact",
        str(tiny["executorch"]),
        "--device",
        sshd.device,
        "--ssh-identity",
        sshd.identity,
        "--ssh-known-hosts",
        sshd.known_hosts,
        "--runs",
        "2",
        "--warmup",
        "0",
        "--image-limit",
        "2",
        "--no-progress",
    ]
    first = CliRunner().invoke(main, argv + ["--out", str(tmp_path / "first")])
    assert first.exit_code == 0, first.output
    assert "runner python-onnx-linux-" in first.output and "runner native-executorch-linux-" in first.output
    again = CliRunner().invoke(main, argv + ["--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert again.output.count("reused (cached on the device)") == 2 and "pushed" not in again.output

    for target, runner in (("onnx", "python-agent"), ("executorch", "native")):
        result = json.loads((tmp_path / "first" / f"{target}-none" / "result.json").read_text())
        assert result["status"] == "complete" and result["runner"]["runner"] == runner
        host = run_benchmark(
            tiny[target],
            LocalTransport(),
            BenchConfig(runs=1, warmup=0, image_limit=2),
            out_dir=tmp_path / f"host-{target}",
            progress=False,
        )
        assert [i["stream_sha256"] for i in result["images"]] == [i["stream_sha256"] for i in host["images"]]


@pytest.mark.slow
def test_adb_device_without_runner_flags_says_what_to_pass(tmp_path_factory, tmp_path, adb_port):
    """On adb the host probes, finds Android (getprop answers) and cannot build an NDK runner here: it says so
    and names the flags, instead of pushing a runner that cannot run there."""
    from click.testing import CliRunner

    from doubles.adb_standin import AdbStandin
    from fsplit_mobile.bench.cli import main

    tiny = tiny_artifacts(tmp_path_factory)
    standin = AdbStandin(tmp_path / "standin-root").start()
    try:
        res = CliRunner().invoke(
            main,
            [
                "--artifact",
                str(tiny["executorch"]),
                "--device",
                f"adb:{standin.serial}",
                "--adb-server-port",
                str(adb_port),
                "--remote-dir",
                str(standin.root),
                "--no-progress",
            ],
        )
    finally:
        standin.stop()
        subprocess.run(["adb", "-P", str(adb_port), "disconnect", standin.serial], capture_output=True, timeout=30)
    assert res.exit_code == 2, res.output
    assert "NativeRunnerError" in res.output and "Android NDK" in res.output
    assert "--native-runner PATH --native-lib-dir DIR" in res.output
