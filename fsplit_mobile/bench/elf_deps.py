"""Read DT_NEEDED entries of an ELF shared object or executable (any architecture), stdlib only."""

import struct
from pathlib import Path

PT_DYNAMIC, DT_NULL, DT_NEEDED, DT_STRTAB = 2, 0, 1, 5


def is_elf(path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def needed_libraries(path) -> list[str]:
    """Names from the dynamic section's DT_NEEDED entries; [] for static or non-ELF files."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        return []
    is64, endian = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        (phoff,) = struct.unpack_from(endian + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(endian + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x2A)
    segments, dynamic = [], None
    for i in range(phnum):
        off = phoff + i * phentsize
        if is64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(endian + "IIQQQQ", data, off)
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(endian + "IIIII", data, off)
        segments.append((p_vaddr, p_offset, p_filesz))
        if p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return []
    entry = struct.Struct(endian + ("qQ" if is64 else "iI"))
    needed_offsets, strtab_vaddr = [], None
    for off in range(dynamic[0], dynamic[0] + dynamic[1], entry.size):
        tag, val = entry.unpack_from(data, off)
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            needed_offsets.append(val)
        elif tag == DT_STRTAB:
            strtab_vaddr = val
    if strtab_vaddr is None:
        return []
    strtab = next((o + strtab_vaddr - v for v, o, n in segments if v <= strtab_vaddr < v + max(n, 1)), None)
    if strtab is None:
        return []
    names = []
    for rel in needed_offsets:
        start = strtab + rel
        names.append(data[start : data.index(b"\0", start)].decode())
    return names


def bundled_dependencies(binary, lib_dirs) -> list[Path]:
    """Libraries (recursively) that `binary` needs and that live in one of lib_dirs (system libs excluded)."""
    dirs = [Path(d) for d in lib_dirs]
    found: dict[str, Path | None] = {}
    queue = list(needed_libraries(binary))
    while queue:
        name = queue.pop()
        if name in found:
            continue
        for d in dirs:
            candidate = d / name
            if candidate.is_file():
                found[name] = candidate
                queue.extend(needed_libraries(candidate))
                break
        else:
            found[name] = None  # a system library (libc, libstdc++...): expected on the device
    return sorted(p for p in found.values() if p is not None)
