"""Binary PPM (P6, RGB8): how the host hands already-resized images to a device runner.

The native runner parses the same format (runtimes/native/src/ppm.cpp). numpy + stdlib only.
"""

import numpy as np


class PpmError(ValueError):
    """A file is not a binary PPM this project writes (P6, maxval 255)."""


def read_ppm(path) -> np.ndarray:
    """Read a binary PPM (P6, maxval 255) into an HxWx3 uint8 array."""
    with open(path, "rb") as f:
        data = f.read()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while pos < len(data) and data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            while pos < len(data) and data[pos : pos + 1] != b"\n":
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos : pos + 1].isspace():
            pos += 1
        if start == pos:
            raise PpmError(f"{path}: truncated PPM header")
        fields.append(data[start:pos])
    pos += 1  # exactly one whitespace byte ends the header
    if fields[0] != b"P6":
        raise PpmError(f"{path}: not a binary PPM (magic {fields[0][:4]!r}, expected b'P6')")
    try:
        width, height, maxval = (int(x) for x in fields[1:])
    except ValueError:
        raise PpmError(f"{path}: non-numeric PPM header") from None
    if maxval != 255 or width <= 0 or height <= 0:
        raise PpmError(f"{path}: unsupported PPM (width {width}, height {height}, maxval {maxval})")
    need = width * height * 3
    if len(data) - pos < need:
        raise PpmError(f"{path}: PPM pixel data truncated ({len(data) - pos} of {need} bytes)")
    return np.frombuffer(data, dtype=np.uint8, count=need, offset=pos).reshape(height, width, 3)


def write_ppm(path, rgb: np.ndarray) -> None:
    """Write an HxWx3 uint8 array as binary PPM."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise PpmError(f"expected an HxWx3 image, got shape {rgb.shape}")
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (rgb.shape[1], rgb.shape[0]))
        f.write(rgb.tobytes())
