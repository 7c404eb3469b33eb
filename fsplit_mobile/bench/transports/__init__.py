"""Transports: how the runner reaches a device. ``open_transport("ssh://user@host:22")`` parses --device."""

from urllib.parse import urlsplit

from ..errors import DeviceSpecError
from .adb import AdbTransport
from .base import CommandResult, Transport
from .local import LocalTransport
from .ssh import SshTransport

__all__ = [
    "AdbTransport",
    "CommandResult",
    "LocalTransport",
    "SshTransport",
    "Transport",
    "open_transport",
    "parse_device",
]


def parse_device(spec: str) -> dict:
    """Parse a --device string into {'kind': ..., ...} (local | ssh://user@host[:port] | adb[:SERIAL])."""
    spec = (spec or "").strip()
    if spec == "local":
        return {"kind": "local"}
    if spec == "adb":
        return {"kind": "adb", "serial": None}
    if spec.startswith("adb:"):
        serial = spec[4:]
        if not serial:
            raise DeviceSpecError("adb: needs a serial after the colon (or use plain 'adb')")
        return {"kind": "adb", "serial": serial}
    if spec.startswith("ssh://"):
        parts = urlsplit(spec)
        try:
            port = parts.port
        except ValueError:
            raise DeviceSpecError(f"bad port in {spec!r}") from None
        if not parts.hostname:
            raise DeviceSpecError(f"no host in {spec!r} (expected ssh://user@host[:port])")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise DeviceSpecError(f"unexpected path or query in {spec!r} (expected ssh://user@host[:port])")
        return {"kind": "ssh", "user": parts.username, "host": parts.hostname, "port": port}
    raise DeviceSpecError(f"unknown device {spec!r}: expected local, ssh://user@host[:port], adb or adb:SERIAL")


def open_transport(
    spec: str,
    *,
    stage_root=None,
    ssh_identity=None,
    ssh_known_hosts=None,
    ssh_options=(),
    adb_binary=None,
    adb_server_port=None,
) -> Transport:
    """Return the transport for a --device string (no connection is made yet; call .check())."""
    d = parse_device(spec)
    if d["kind"] == "local":
        return LocalTransport(stage_root=stage_root)
    if d["kind"] == "ssh":
        return SshTransport(
            d["host"],
            user=d["user"],
            port=d["port"],
            identity=ssh_identity,
            known_hosts=ssh_known_hosts,
            options=ssh_options,
            stage_root=stage_root,
        )
    return AdbTransport(serial=d["serial"], adb_binary=adb_binary, server_port=adb_server_port, stage_root=stage_root)
