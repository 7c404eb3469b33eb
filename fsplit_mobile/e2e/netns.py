"""A shaped network link between two Linux network namespaces, for the end-to-end benchmark.

Two namespaces (client, server) are created by this process and deleted on exit. Bandwidth is shaped with
`tc tbf` on both directions; the round-trip time is added
- with `tc netem delay` on a veth pair where the kernel has netem ("netem" mode), or
- where it has not (as on the machine this was written on), by a delay line in this process: each namespace
  gets a TUN device and a thread forwards every IP packet from one to the other after RTT/2 ("tun-delay"
  mode). Packets, TCP handshakes, slow start and ACK clocking are real in both modes.
`probe_modes()` tells which modes work here; `LinkUnavailable` is raised where none does (no root, no
namespaces), and the benchmark then falls back to computed transfer times and says so.
"""

import fcntl
import heapq
import os
import select
import shutil
import struct
import subprocess
import threading
import time
import uuid

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MTU = 1500
CLIENT_IP = "10.231.0.1"
SERVER_IP = "10.231.0.2"


class LinkUnavailable(RuntimeError):
    """Network namespaces or the needed qdiscs cannot be used here."""


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LinkUnavailable(f"`{' '.join(cmd)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _tbf_args(rate_mbit: float) -> list[str]:
    # burst: a little over two full-size packets, so the shaper paces packet by packet even at 1 Mbit/s;
    # limit: a queue of >= 1 s at the rate, so TCP sees queueing rather than drops.
    rate_bytes = rate_mbit * 1e6 / 8
    limit = int(max(64_000, rate_bytes))
    return ["tbf", "rate", f"{rate_mbit}mbit", "burst", str(2 * MTU + 200), "limit", str(limit)]


class ShapedLink:
    """Context manager: `with ShapedLink(rate_mbit=5, rtt_ms=20) as link: link.exec_prefix(link.server_ns)`."""

    def __init__(self, rate_mbit: float, rtt_ms: float, mode: str = "auto"):
        if rate_mbit <= 0 or rtt_ms < 0:
            raise ValueError(f"need rate_mbit > 0 and rtt_ms >= 0, got {rate_mbit}, {rtt_ms}")
        if mode not in ("auto", "netem", "tun-delay"):
            raise ValueError(f"mode must be auto, netem or tun-delay, got {mode!r}")
        self.rate_mbit = rate_mbit
        self.rtt_ms = rtt_ms
        self.requested_mode = mode
        self.mode: str | None = None
        tag = uuid.uuid4().hex[:6]
        self.client_ns = f"fsplit-c-{tag}"
        self.server_ns = f"fsplit-s-{tag}"
        self._dev_c = f"fspc{tag}"
        self._dev_s = f"fsps{tag}"
        self._relay: DelayRelay | None = None
        self.client_ip, self.server_ip = CLIENT_IP, SERVER_IP

    # -- set-up / tear-down -----------------------------------------------------------------------------

    def __enter__(self):
        if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None:
            raise LinkUnavailable("shaping needs root and iproute2 (ip, tc)")
        try:
            _run(["ip", "netns", "add", self.client_ns])
            _run(["ip", "netns", "add", self.server_ns])
            modes = ["netem", "tun-delay"] if self.requested_mode == "auto" else [self.requested_mode]
            errors = []
            for mode in modes:
                try:
                    (self._setup_netem if mode == "netem" else self._setup_tun)()
                    self.mode = mode
                    break
                except LinkUnavailable as exc:
                    errors.append(f"{mode}: {exc}")
                    self._teardown_devices()
            if self.mode is None:
                raise LinkUnavailable("; ".join(errors))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._teardown_devices()
        for ns in (self.client_ns, self.server_ns):
            _run(["ip", "netns", "del", ns], check=False)

    def _teardown_devices(self):
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        _run(["ip", "-n", self.client_ns, "link", "del", self._dev_c], check=False)

    def _up(self, ns, dev, local, peer):
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        _run(["ip", "-n", ns, "link", "set", dev, "mtu", str(MTU)])
        _run(["ip", "-n", ns, "addr", "add", local, "peer", peer, "dev", dev])
        _run(["ip", "-n", ns, "link", "set", dev, "up"])

    def _setup_netem(self):
        _run(["ip", "link", "add", self._dev_c, "type", "veth", "peer", "name", self._dev_s])
        _run(["ip", "link", "set", self._dev_c, "netns", self.client_ns])
        _run(["ip", "link", "set", self._dev_s, "netns", self.server_ns])
        self._up(self.client_ns, self._dev_c, CLIENT_IP, SERVER_IP)
        self._up(self.server_ns, self._dev_s, SERVER_IP, CLIENT_IP)
        for ns, dev in ((self.client_ns, self._dev_c), (self.server_ns, self._dev_s)):
            _run(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "tc",
                    "qdisc",
                    "add",
                    "dev",
                    dev,
                    "root",
                    "handle",
                    "1:",
                    "netem",
                    "delay",
                    f"{self.rtt_ms / 2}ms",
                    "limit",
                    "100000",
                ]
            )
            _run(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "tc",
                    "qdisc",
                    "add",
                    "dev",
                    dev,
                    "parent",
                    "1:",
                    "handle",
                    "2:",
                    *_tbf_args(self.rate_mbit),
                ]
            )

    def _setup_tun(self):
        fd_c = _open_tun(self._dev_c)
        try:
            fd_s = _open_tun(self._dev_s)
        except LinkUnavailable:
            os.close(fd_c)
            raise
        self._relay = relay = DelayRelay(fd_c, fd_s, self.rtt_ms / 2e3)
        _run(["ip", "link", "set", self._dev_c, "netns", self.client_ns])
        _run(["ip", "link", "set", self._dev_s, "netns", self.server_ns])
        self._up(self.client_ns, self._dev_c, CLIENT_IP, SERVER_IP)
        self._up(self.server_ns, self._dev_s, SERVER_IP, CLIENT_IP)
        for ns, dev in ((self.client_ns, self._dev_c), (self.server_ns, self._dev_s)):
            _run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", *_tbf_args(self.rate_mbit)])
        relay.start()

    def set_rate(self, rate_mbit: float):
        """Change the bandwidth of both directions in place."""
        self.rate_mbit = rate_mbit
        for ns, dev in ((self.client_ns, self._dev_c), (self.server_ns, self._dev_s)):
            parent = ["parent", "1:", "handle", "2:"] if self.mode == "netem" else ["root"]
            _run(["ip", "netns", "exec", ns, "tc", "qdisc", "change", "dev", dev, *parent, *_tbf_args(rate_mbit)])

    # -- use ----------------------------------------------------------------------------------------------

    @staticmethod
    def exec_prefix(ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]

    def describe(self) -> dict:
        return {
            "mode": self.mode,
            "rate_mbit": self.rate_mbit,
            "rtt_ms": self.rtt_ms,
            "shaper": "tc tbf (both directions), burst 2 packets, queue >= 1 s",
            "delay": "tc netem"
            if self.mode == "netem"
            else "TUN delay line in the benchmark process (RTT/2 per direction; this kernel has no sch_netem)",
            "mtu": MTU,
            "delay_thread_realtime": None if self._relay is None else self._relay.realtime,
        }


def _open_tun(name: str) -> int:
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    except OSError as exc:
        raise LinkUnavailable(f"cannot open /dev/net/tun: {exc}") from exc
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError as exc:
        os.close(fd)
        raise LinkUnavailable(f"cannot create TUN device {name}: {exc}") from exc
    return fd


class DelayRelay:
    """Forwards IP packets between two TUN file descriptors, each after a fixed one-way delay."""

    def __init__(self, fd_a: int, fd_b: int, delay_s: float):
        self.fds = (fd_a, fd_b)
        self.delay_s = delay_s
        self.forwarded = 0
        self.dropped = 0
        self.realtime: bool | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="fsplit-delay-relay", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join(5)
        for fd in (*self.fds, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _realtime(self):
        """Real-time priority for this thread where allowed, so CPU load elsewhere does not stretch the delay."""
        try:
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(10))
            self.realtime = True
        except (OSError, AttributeError):
            self.realtime = False

    def _loop(self):
        self._realtime()
        fd_a, fd_b = self.fds
        other = {fd_a: fd_b, fd_b: fd_a}
        pending: list[
            tuple[float, int, int, bytes]
        ] = []  # (due, seq, out_fd, packet): constant delay keeps each direction in order
        seq = 0
        while not self._stop.is_set():
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _, _, out_fd, packet = heapq.heappop(pending)
                try:
                    os.write(out_fd, packet)
                    self.forwarded += 1
                except OSError:
                    self.dropped += 1
            timeout = max(0.0, pending[0][0] - now) if pending else 0.1
            try:
                ready, _, _ = select.select([fd_a, fd_b, self._wake_r], [], [], timeout)
            except OSError:
                return
            for fd in ready:
                if fd == self._wake_r:
                    continue
                while True:  # drain what is there
                    try:
                        packet = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    except OSError:
                        return  # the device went away (namespace deleted)
                    seq += 1
                    heapq.heappush(pending, (time.monotonic() + self.delay_s, seq, other[fd], packet))


def probe_modes() -> dict:
    """Which shaping modes work on this machine: {"netem": bool|reason, "tun-delay": bool|reason}."""
    out: dict[str, bool | str] = {}
    for mode in ("netem", "tun-delay"):
        try:
            with ShapedLink(rate_mbit=10, rtt_ms=2, mode=mode):
                out[mode] = True
        except LinkUnavailable as exc:
            out[mode] = str(exc)
    return out
