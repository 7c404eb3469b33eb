"""What the device is, asked over the transport in one round trip: OS, CPU architecture, python3 (version,
ABI, libc), Android properties and the home folder. Provisioning picks the runner build from this."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BenchError

PROBE = (
    "echo os=$(uname -s); echo machine=$(uname -m); echo home=$HOME; "
    "echo abi=$(getprop ro.product.cpu.abi 2>/dev/null); "
    'echo python=$(python3 -c \'import platform,sys; print("%d.%d" % sys.version_info[:2], '
    'sys.implementation.name, "-".join(platform.libc_ver()))\' 2>/dev/null)'
)

MACHINES = {"aarch64": "aarch64", "arm64": "aarch64", "x86_64": "x86_64", "amd64": "x86_64"}


class ProbeError(BenchError):
    """The device did not answer the probe in a form we understand."""


@dataclass(frozen=True)
class DeviceProfile:
    os: str  # "linux" | "android" | other uname -s, lowercased
    machine: str  # normalized: aarch64 | x86_64 | whatever uname -m said
    home: str | None  # $HOME on the device (None when unset)
    python: str | None = None  # "3.11" when python3 runs there
    python_impl: str | None = None
    libc: str | None = None  # "glibc-2.36"

    @property
    def platform(self) -> str:
        """Short name used in cache keys and messages, e.g. linux-aarch64, android-arm64."""
        arch = "arm64" if self.os == "android" and self.machine == "aarch64" else self.machine
        return f"{self.os}-{arch}"


def parse_probe(text: str) -> DeviceProfile:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("os", "machine", "home", "abi", "python"):
            fields[key] = value.strip()
    if not fields.get("os") or not fields.get("machine"):
        raise ProbeError(f"device probe gave no 'uname -s'/'uname -m' answer: {text.strip()[-300:]!r}")
    os_name = fields["os"].lower()
    if os_name == "linux" and fields.get("abi"):
        os_name = "android"  # Android's uname says Linux; getprop only answers there
    machine = MACHINES.get(fields["machine"].lower(), fields["machine"].lower())
    python = impl = libc = None
    parts = fields.get("python", "").split()
    if len(parts) >= 2:
        python, impl = parts[0], parts[1]
        libc = parts[2] if len(parts) > 2 and parts[2] != "-" else None
    return DeviceProfile(
        os=os_name, machine=machine, home=fields.get("home") or None, python=python, python_impl=impl, libc=libc
    )


def probe(transport) -> DeviceProfile:
    res = transport.run(PROBE, timeout=60)
    if res.exit_code != 0:
        raise ProbeError(f"device probe failed on {transport.describe()} (exit {res.exit_code}): {res.tail(300)}")
    return parse_probe(res.stdout)
