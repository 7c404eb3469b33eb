"""Device facts (CPU model, cores, memory, governor, thermal, board model, Android properties).

One POSIX sh probe runs through any transport; :func:`parse_probe` turns its sectioned output into a dict.
Anything unreadable on a device is simply absent.
"""

import re
from typing import Any

SECTION = "@@fsplit-section "

PROBE_SCRIPT = r"""
s() { echo "@@fsplit-section $1"; }
s uname; uname -srm 2>/dev/null
s nproc; (nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c ^processor /proc/cpuinfo)
s cpuinfo; cat /proc/cpuinfo 2>/dev/null
s meminfo; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo 2>/dev/null
s governor; for f in /sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor; do [ -r "$f" ] && echo "$f $(cat "$f")"; done
s maxfreq; for f in /sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq; do [ -r "$f" ] && echo "$f $(cat "$f")"; done
s thermal; for z in /sys/class/thermal/thermal_zone*; do [ -r "$z/temp" ] && echo "$(cat "$z/type" 2>/dev/null || echo "$z")	$(cat "$z/temp")"; done
s board; [ -r /proc/device-tree/model ] && tr -d '\000' < /proc/device-tree/model
s tegra; head -1 /etc/nv_tegra_release 2>/dev/null
s os; grep -E '^PRETTY_NAME=' /etc/os-release 2>/dev/null
s getprop; command -v getprop >/dev/null 2>&1 && getprop 2>/dev/null | grep -E '\[(ro\.product\.(model|manufacturer|brand|board|cpu\.abi)|ro\.soc\.(manufacturer|model)|ro\.board\.platform|ro\.hardware|ro\.build\.version\.(release|sdk)|ro\.build\.fingerprint)\]'
s end
true
"""


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith(SECTION):
            current = line[len(SECTION) :].strip()
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def _cpu_model(lines):
    keys = ("model name", "Hardware", "Processor", "cpu model", "uarch")
    values = {}
    parts = set()
    for line in lines:
        if ":" not in line:
            continue
        key, value = (x.strip() for x in line.split(":", 1))
        if key in keys and value and key not in values:
            values[key] = value
        if key == "CPU part":
            parts.add(value)
    for key in keys:
        if key in values:
            return values[key]
    if parts:
        return "ARM CPU parts " + ",".join(sorted(parts))
    return None


def parse_probe(text: str) -> dict:
    """Turn the probe output into device facts."""
    sec = _sections(text)
    info: dict[str, Any] = {}
    uname = " ".join(sec.get("uname", [])).split()
    if len(uname) >= 3:
        info["os"], info["kernel"], info["arch"] = uname[0], uname[1], uname[-1]
    nproc = "".join(sec.get("nproc", [])).strip()
    if nproc.isdigit():
        info["cores"] = int(nproc)
    model = _cpu_model(sec.get("cpuinfo", []))
    if model:
        info["cpu_model"] = model
    flags: list[str] = next(
        (
            line.split(":", 1)[1].split()
            for line in sec.get("cpuinfo", [])
            if line.split(":", 1)[0].strip() in ("flags", "Features")
        ),
        [],
    )
    simd = [
        f
        for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "fma", "neon", "asimd", "asimddp", "sve", "i8mm")
        if f in flags
    ]
    if simd:
        info["simd"] = simd
    for line in sec.get("meminfo", []):
        m = re.match(r"(MemTotal|MemAvailable):\s+(\d+)", line)
        if m:
            info["mem_total_kb" if m.group(1) == "MemTotal" else "mem_available_kb"] = int(m.group(2))
    governors: dict[str, list[int]] = {}
    for line in sec.get("governor", []):
        m = re.search(r"cpu(\d+)/cpufreq/scaling_governor (\S+)", line)
        if m:
            governors.setdefault(m.group(2), []).append(int(m.group(1)))
    if governors:
        info["governor"] = {g: sorted(c) for g, c in governors.items()}
    freqs = [int(m.group(1)) for m in (re.search(r" (\d+)$", x) for x in sec.get("maxfreq", [])) if m]
    if freqs:
        info["max_freq_mhz"] = sorted({f // 1000 for f in freqs})
    thermal = []
    for line in sec.get("thermal", []):
        zone, _, temp = line.rpartition("\t")
        if temp.strip().lstrip("-").isdigit():
            t = int(temp)
            thermal.append({"zone": zone.strip(), "temp_c": t / 1000.0 if abs(t) > 200 else float(t)})
    if thermal:
        info["thermal"] = thermal
    board = " ".join(x.strip() for x in sec.get("board", []) if x.strip())
    if board:
        info["board_model"] = board
    tegra = " ".join(x.strip() for x in sec.get("tegra", []) if x.strip())
    if tegra:
        info["jetson_l4t"] = tegra.lstrip("# ").strip()
    for line in sec.get("os", []):
        if line.startswith("PRETTY_NAME="):
            info["distribution"] = line.split("=", 1)[1].strip().strip('"')
    props: dict[str, str] = {}
    for line in sec.get("getprop", []):
        m = re.match(r"\[([^\]]+)\]: \[(.*)\]", line.strip())
        if m:
            props[m.group(1)] = m.group(2)
    if props:
        info["android"] = props
        info.setdefault(
            "board_model",
            " ".join(filter(None, (props.get("ro.product.manufacturer"), props.get("ro.product.model")))) or None,
        )
        soc = props.get("ro.soc.model") or props.get("ro.board.platform") or props.get("ro.hardware")
        if soc:
            info["soc"] = soc
    emulated = _emulation(info.get("arch"), sec.get("cpuinfo", []))
    if emulated:
        info["emulated"] = emulated
    return {k: v for k, v in info.items() if v is not None}


def _emulation(arch, cpuinfo_lines) -> str | None:
    """A note when an ARM userland sees an x86 /proc/cpuinfo: user-mode emulation (qemu-user), whose timings
    say nothing about a real board."""
    if not arch or not arch.startswith(("aarch64", "arm")):
        return None
    if any(line.split(":", 1)[0].strip() == "vendor_id" for line in cpuinfo_lines):
        return (
            "user-mode emulation (an x86 /proc/cpuinfo under an ARM userland, e.g. qemu-user): timings are "
            "functional only, not a board's performance"
        )
    return None


def collect(transport) -> dict:
    """Run the probe on a device and return its facts (empty dict entries are left out)."""
    res = transport.run(PROBE_SCRIPT, timeout=60)
    info = parse_probe(res.stdout)
    info["transport"] = transport.describe()
    facts = getattr(transport, "facts", None)
    if facts is not None:
        info.update(facts())
    return info
