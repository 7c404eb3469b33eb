"""Zero-setup devices: make a board that has only its OS (and python3) able to run the bench.

The host probes the device (:mod:`.probe`), assembles the runner the artifact needs for that platform
(:mod:`.runners`: the native ExecuTorch runner, or the slim Python agent with wheels fetched on the host by
:mod:`.wheels` and the C coder as a plain library from :mod:`.coder_lib`), and keeps it on the device under a
content-hash key (:mod:`.device_cache`), reused while it matches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..artifact import load_artifact
from ..bundle import RunnerSpec
from ..transports.base import retry
from . import device_cache, runners
from .probe import DeviceProfile, probe

__all__ = ["AutoRunner", "DeviceProfile", "Provisioned", "probe", "provision", "wants_auto"]


@dataclass(frozen=True)
class Provisioned:
    spec: RunnerSpec  # what run_benchmark gets: the runner already on the device
    runner: runners.Runner  # the host-side tree (name, key, size)
    device_dir: str
    pushed: bool  # False: the device already had this exact runner (cache hit)
    profile: DeviceProfile

    def describe(self) -> str:
        how = "pushed" if self.pushed else "reused (cached on the device)"
        return (
            f"runner {self.runner.name} key {self.runner.key} ({self.runner.size_bytes / 1e6:.1f} MB) "
            f"{how} at {self.device_dir}"
        )


def provision(
    transport, artifact_dir, base: RunnerSpec | None = None, profile: DeviceProfile | None = None, log=None
) -> Provisioned:
    """Make the device able to run `artifact_dir` with nothing installed but its OS (and python3 for LiteRT/ONNX):
    probe it, assemble the runner for its platform on the host, and put it in the device's runner cache."""
    base = base or RunnerSpec()
    target = load_artifact(artifact_dir).target
    profile = profile or probe(transport)
    runner = runners.for_target(profile, target)
    if log is not None:
        log(
            f"device {transport.describe()}: {profile.platform}"
            + (f", python {profile.python}" if profile.python else ", no python3")
            + f"; {target} artifact needs "
            f"runner {runner.name}"
        )
    device_dir, pushed = device_cache.ensure(transport, profile, runner)
    spec = replace(
        base,
        kind=runner.kind,
        device_dir=device_dir,
        installed_agent=False,
        native_binary=None,
        native_lib_dirs=(),
        python=base.python or "python3",
    )
    return Provisioned(spec, runner, device_dir, pushed, profile)


class AutoRunner:
    """What ``fsplit-bench run --device ssh://... | adb`` does when no runner flag is given: provision each
    artifact's runner on first use (the device is probed once). On adb only ExecuTorch artifacts are
    provisioned (Android has no Python); others keep the native runner, which refuses them with the reason."""

    def __init__(self, transport, base: RunnerSpec, log=None):
        self.transport, self.base, self.log = transport, base, log
        self.profile: DeviceProfile | None = None
        self.provisioned: list[Provisioned] = []

    def spec_for(self, artifact_dir) -> RunnerSpec:
        if self.transport.kind == "adb" and load_artifact(artifact_dir).target != "executorch":
            return replace(self.base, kind="native")
        if self.profile is None:
            retry(self.transport.check, attempts=2)  # a device that is not there reads as such, not as a probe error
            self.profile = probe(self.transport)
        done = provision(self.transport, artifact_dir, self.base, self.profile, self.log)
        self.provisioned.append(done)
        if self.log is not None:
            self.log(done.describe())
        return done.spec


def wants_auto(transport_kind: str, runner: str | None, *runner_flags) -> bool:
    """Provision when the runner is 'auto', or unset on an ssh/adb device with no flag that picks a runner."""
    if runner == "auto":
        return True
    return runner is None and transport_kind in ("ssh", "adb") and not any(runner_flags)
