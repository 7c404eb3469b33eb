"""JVM-test stand-in for ExecuTorch's Android Module: runs an artifact's encoder file with the Python runtime
(fsplit_mobile.runtime.encoders, ExecuTorch's own Python runtime for .pte files) for a Java test process.

    python encoder_helper.py ARTIFACT_DIR

Protocol on stdin/stdout, all little-endian:
  request:  u8 dtype (0 float32, 1 int8, 2 uint8), u32 count, count values  (count 0 = quit)
  answer:   u8 status (0 ok, 1 error); ok: u8 dtype (0 float32, 1 int8, 2 uint8, 3 int32), u32 count, values;
            error: u32 length, UTF-8 message
The tensor goes to the model file as is (shape from manifest.json), and its raw output comes back, as the app's
ExecuTorchEncoder does with Module.forward.
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np

IN_DTYPES = {0: np.float32, 1: np.int8, 2: np.uint8}
OUT_CODES = {
    np.dtype(np.float32): 0,
    np.dtype(np.int8): 1,
    np.dtype(np.uint8): 2,
    np.dtype(np.int32): 3,
    np.dtype(np.int64): 3,
}


def _read_exact(stream, n):
    data = stream.read(n)
    if len(data) != n:
        raise EOFError(f"expected {n} bytes, got {len(data)}")
    return data


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    artifact = Path(argv[0])
    from fsplit_mobile.runtime.encoders import open_backend

    manifest = json.loads((artifact / "manifest.json").read_text())
    backend = open_backend(manifest["target"], artifact / manifest["files"]["encoder"])
    shape = tuple(manifest["input"]["shape"])
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        code, count = struct.unpack("<BI", _read_exact(stdin, 5))
        if count == 0:
            return 0
        dtype = np.dtype(IN_DTYPES[code])
        x = np.frombuffer(_read_exact(stdin, count * dtype.itemsize), dtype=dtype.newbyteorder("<"))
        try:
            y = np.ascontiguousarray(backend.run(x.astype(dtype).reshape(shape)))
            if y.dtype == np.int64:
                y = y.astype(np.int32)
            out_code = OUT_CODES[y.dtype]
            stdout.write(struct.pack("<BBI", 0, out_code, y.size) + y.astype(y.dtype.newbyteorder("<")).tobytes())
        except Exception as e:  # report to the Java side, keep serving
            msg = f"{type(e).__name__}: {e}".encode()
            stdout.write(struct.pack("<BI", 1, len(msg)) + msg)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
