"""The device-transport contract suite's flows (issue 21 item 5): one flow per transport fsplit-bench reaches a
device through, each with the device double it talks to here. tests/bench/test_bench_transports.py runs every test over
every flow; what only one transport has stays in its own file (test_bench_ssh.py: hung links and lost listeners).

- adb: the real Debian ``adb`` client and server talk to an adb daemon stand-in (tests/doubles/adb_standin.py)
  that is NOT a phone and NOT Android: it speaks the adb wire protocol and runs shell commands on this host in a
  temporary folder. It covers our use of adb push/shell (v2 exit codes, separate stderr)/pull and device lookup.
  A fresh stand-in per test, on a private adb server port (conftest.py ``adb_port``).
- ssh: a real OpenSSH server (Debian openssh-server) started on 127.0.0.1 with a temporary host key and
  authorized key (tests/doubles/sshd.py); the "board" is this host. One server per test module.

A flow starts its device (`start(request, tmp_path)` -> a `Device`) and names an absent one (`missing`); the
device gives a transport to a staging folder, cuts its link, and the CLI flags that reach it. The `check_*` hooks
add what each transport reports beyond the contract.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench_support import free_port
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.result import load_result
from fsplit_mobile.bench.runner import BenchConfig

PYTHON = RunnerSpec(kind="python", python=sys.executable)


def config(**kw):
    base = dict(runs=3, warmup=1, image_limit=1, runner=PYTHON)
    base.update(kw)
    return BenchConfig(**base)


# ---- adb ---------------------------------------------------------------------------------------------------------
class AdbDevice:
    def __init__(self, standin, adb_port):
        self.standin, self.adb_port = standin, adb_port
        self.id = f"adb:{standin.serial}"

    def transport(self, stage_root=None):
        from fsplit_mobile.bench.transports import AdbTransport

        return AdbTransport(
            serial=self.standin.serial, server_port=self.adb_port, stage_root=str(stage_root or self.standin.root)
        )

    def full_run_stage(self, tmp_path) -> Path:
        """Where the full benchmark stages: the stand-in's own folder."""
        return Path(self.standin.root)

    def drop_link(self):
        self.standin.drop_connections(refuse_new=True)

    def cli_args(self) -> list[str]:
        return ["--device", self.id, "--adb-server-port", str(self.adb_port)]


class AdbFlow:
    name = "adb"
    missing_match = "not available"

    @staticmethod
    def start(request, tmp_path) -> AdbDevice:
        from doubles.adb_standin import AdbStandin

        adb_port = request.getfixturevalue("adb_port")
        standin = AdbStandin(tmp_path / "standin-root").start()

        def stop():
            standin.stop()
            subprocess.run(["adb", "-P", str(adb_port), "disconnect", standin.serial], capture_output=True, timeout=30)

        request.addfinalizer(stop)
        return AdbDevice(standin, adb_port)

    @staticmethod
    def missing(request, tmp_path):
        from fsplit_mobile.bench.transports import AdbTransport

        adb_port = request.getfixturevalue("adb_port")
        return AdbTransport(serial=f"127.0.0.1:{free_port()}", server_port=adb_port, stage_root=str(tmp_path))

    @staticmethod
    def check_full(device, py, native, stage_root, out):
        assert py["device"]["board_model"] == "fsplit-mobile test stand-in adb stand-in (not a phone, not Android)"
        leftovers = [p.name for p in stage_root.iterdir() if p.name.startswith("fsplit-bench-")]
        assert leftovers == []

    @staticmethod
    def check_disconnect(result):
        pass

    @staticmethod
    def check_crash(result):
        pass

    @staticmethod
    def check_nonzero_exit(out):
        pass

    @staticmethod
    def check_full_disk_on_push(result):
        pass

    @staticmethod
    def cli_run_args(device) -> list[str]:
        return [*device.cli_args(), "--remote-dir", str(device.standin.root), "--runner", "python"]

    @staticmethod
    def check_cli(device, result):
        assert result["device"]["adb_shell_v2"] is True

    @staticmethod
    def check_cli_refusal(device, tiny, tmp_path):
        """The default runner on adb is the native one; an ONNX artifact is refused with the reason."""
        from click.testing import CliRunner

        from fsplit_mobile.bench.cli import main

        res = CliRunner().invoke(main, ["--artifact", str(tiny["onnx"]), *device.cli_args(), "--no-progress"])
        assert res.exit_code == 2 and "native runner runs ExecuTorch artifacts only" in res.output

    @staticmethod
    def check_zero_setup(device, tiny, tmp_path):
        """On adb the host probes, finds Android (getprop answers) and cannot build an NDK runner here: it says so
        and names the flags, instead of pushing a runner that cannot run there."""
        from click.testing import CliRunner

        from fsplit_mobile.bench.cli import main

        res = CliRunner().invoke(
            main,
            [
                "--artifact",
                str(tiny["executorch"]),
                *device.cli_args(),
                "--remote-dir",
                str(device.standin.root),
                "--no-progress",
            ],
        )
        assert res.exit_code == 2, res.output
        assert "NativeRunnerError" in res.output and "Android NDK" in res.output
        assert "--native-runner PATH --native-lib-dir DIR" in res.output


# ---- ssh ---------------------------------------------------------------------------------------------------------
class SshDevice:
    def __init__(self, sshd):
        self.sshd = sshd
        self.id = sshd.device

    def transport(self, stage_root=None, device=None):
        from fsplit_mobile.bench.transports import open_transport

        kw = {} if stage_root is None else {"stage_root": str(stage_root)}
        sshd = self.sshd
        return open_transport(device or sshd.device, ssh_identity=sshd.identity, ssh_known_hosts=sshd.known_hosts, **kw)

    def full_run_stage(self, tmp_path) -> Path:
        """Where the full benchmark stages: a folder of its own on the "board"."""
        stage_root = tmp_path / "board-tmp"
        stage_root.mkdir()
        return stage_root

    def drop_link(self):
        self.sshd.drop_sessions()

    def cli_args(self) -> list[str]:
        return ["--device", self.id, "--ssh-identity", self.sshd.identity, "--ssh-known-hosts", self.sshd.known_hosts]


class SshFlow:
    name = "ssh"
    missing_match = "Connection refused"

    @staticmethod
    def start(request, tmp_path) -> SshDevice:
        return SshDevice(request.getfixturevalue("sshd"))

    @staticmethod
    def missing(request, tmp_path):
        sshd = request.getfixturevalue("sshd")
        return SshDevice(sshd).transport(device=f"ssh://{sshd.user}@127.0.0.1:{free_port()}")

    @staticmethod
    def check_full(device, py, native, stage_root, out):
        assert py["device"]["cores"] >= 1 and "cpu_model" in py["device"]
        assert (out / "device-events.jsonl").is_file()  # pulled from the board
        assert native["runner"]["runner"] == "native"
        assert list(stage_root.iterdir()) == []  # staging folders cleaned up on the board

    @staticmethod
    def check_disconnect(result):
        assert result["stages"]["encoder_ms"]["n"] == len(result["samples"])

    @staticmethod
    def check_crash(result):
        assert result["status"] == "partial"

    @staticmethod
    def check_nonzero_exit(out):
        assert load_result(out)["error"]["type"] == "RunnerFailedError"

    @staticmethod
    def check_full_disk_on_push(result):
        assert result["status"] == "partial"

    @staticmethod
    def cli_run_args(device) -> list[str]:
        return ["run", *device.cli_args()]

    @staticmethod
    def check_cli(device, result):
        assert result["device"]["transport"] == device.id

    @staticmethod
    def check_cli_refusal(device, tiny, tmp_path):
        """An absent board: exit 2 naming DeviceNotFoundError."""
        from click.testing import CliRunner

        from fsplit_mobile.bench.cli import main

        sshd = device.sshd
        res = CliRunner().invoke(
            main,
            [
                "run",
                "--artifact",
                str(tiny["onnx"]),
                "--device",
                f"ssh://{sshd.user}@127.0.0.1:{free_port()}",
                "--ssh-identity",
                sshd.identity,
                "--out",
                str(tmp_path / "missing"),
                "--no-progress",
            ],
        )
        assert res.exit_code == 2 and "DeviceNotFoundError" in res.output

    @staticmethod
    def check_zero_setup(device, tiny, tmp_path):
        """fsplit-bench over a real sshd to this host with nothing but the ssh key flags: it provisions a runner
        per artifact (the provisioned site comes first on PYTHONPATH; that the device needs nothing but python3 is
        shown on the bare arm64 board in test_bench_emulated_board.py), then reuses them from the device's cache;
        the streams are the host's."""
        import json

        from click.testing import CliRunner

        from fsplit_mobile.bench.cli import main
        from fsplit_mobile.bench.runner import run_benchmark
        from fsplit_mobile.bench.transports import LocalTransport

        argv = [
            "run",
            "--artifact",
            str(tiny["onnx"]),
            "--artifact",
            str(tiny["executorch"]),
            *device.cli_args(),
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


FLOWS = {flow.name: flow for flow in (AdbFlow, SshFlow)}
