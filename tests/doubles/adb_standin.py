"""adb daemon stand-in: NOT a phone, NOT Android. Speaks the adb daemon wire protocol over TCP so the real
``adb`` client can ``adb connect 127.0.0.1:PORT`` to it, and runs shell commands on this host in a folder.

Supported: CNXN (no AUTH), OPEN/OKAY/WRTE/CLSE streams with one-message flow control, ``shell,v2,...:``
(stdout/stderr/exit-code packets, stdin forwarding), legacy ``shell:``, and ``sync:`` with STAT, SEND, RECV,
LIST and QUIT (enough for ``adb push``/``adb pull``). A ``getprop`` script on the PATH of its shells prints
properties that say "stand-in". Used by tests to exercise the adb transport end to end.

Usage: ``python tests/doubles/adb_standin.py --root DIR [--port N]``.
"""

import argparse
import os
import queue
import signal
import socket
import stat
import struct
import subprocess
import threading

A_CNXN, A_OPEN, A_OKAY, A_CLSE, A_WRTE, A_AUTH = (
    0x4E584E43,
    0x4E45504F,
    0x59414B4F,
    0x45534C43,
    0x45545257,
    0x48545541,
)
A_VERSION = 0x01000001
OUR_MAX_PAYLOAD = 256 * 1024
SYNC_DATA_MAX = 64 * 1024
HEADER = struct.Struct("<6I")
SHELL_STDIN, SHELL_STDOUT, SHELL_STDERR, SHELL_EXIT, SHELL_CLOSE_STDIN = 0, 1, 2, 3, 4
FEATURES = "shell_v2,cmd"
BANNER_PROPS = "ro.product.name=fsplit-standin;ro.product.model=adb_standin_not_a_phone;ro.product.device=standin;"
GETPROP_SCRIPT = """#!/bin/sh
# getprop of the fsplit adb stand-in: this is NOT Android, these properties only label the stand-in.
cat <<'PROPS'
[ro.product.manufacturer]: [fsplit-mobile test stand-in]
[ro.product.model]: [adb stand-in (not a phone, not Android)]
[ro.board.platform]: [none]
[ro.build.version.release]: [none]
PROPS
"""


def _pack(command, arg0, arg1, data=b""):
    return HEADER.pack(command, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF, command ^ 0xFFFFFFFF) + data


class _Stream:
    def __init__(self, conn, local_id, remote_id):
        self.conn, self.local_id, self.remote_id = conn, local_id, remote_id
        self.ack = threading.Event()
        self.closed = threading.Event()
        self.send_lock = threading.Lock()

    def send(self, data: bytes) -> bool:
        """WRTE data in chunks, waiting for the host's OKAY after each; False when the stream closed."""
        with self.send_lock:
            for i in range(0, len(data), self.conn.max_payload):
                if self.closed.is_set():
                    return False
                self.ack.clear()
                if not self.conn.send(A_WRTE, self.local_id, self.remote_id, data[i : i + self.conn.max_payload]):
                    return False
                while not self.ack.wait(0.2):
                    if self.closed.is_set():
                        return False
        return True

    def close(self):
        if not self.closed.is_set():
            self.closed.set()
            self.conn.send(A_CLSE, self.local_id, self.remote_id)
            self.conn.forget(self.local_id)

    def on_data(self, data: bytes):
        pass

    def on_remote_close(self):
        self.closed.set()
        self.conn.forget(self.local_id)


class _ShellStream(_Stream):
    def __init__(self, conn, local_id, remote_id, command, v2):
        super().__init__(conn, local_id, remote_id)
        self.v2 = v2
        self._stdin_buf = b""
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", command or "echo 'stand-in: no interactive shell'"],
            cwd=conn.server.root,
            env=conn.server.shell_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _packet(self, ident, payload):
        return struct.pack("<BI", ident, len(payload)) + payload if self.v2 else payload

    def _pump(self):
        lock = threading.Lock()

        def reader(pipe, ident):
            for chunk in iter(lambda: pipe.read1(32768), b""):
                with lock:
                    if not self.send(self._packet(ident, chunk)):
                        break

        threads = [
            threading.Thread(target=reader, args=(self.proc.stdout, SHELL_STDOUT), daemon=True),
            threading.Thread(
                target=reader, args=(self.proc.stderr, SHELL_STDERR if self.v2 else SHELL_STDOUT), daemon=True
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        code = self.proc.wait()
        code = 128 - code if code < 0 else code  # killed by signal N -> 128 + N, as a shell reports it
        if self.v2:
            self.send(self._packet(SHELL_EXIT, bytes([code & 0xFF])))
        self.close()

    def on_data(self, data):
        if not self.v2:
            self._write_stdin(data)
            return
        self._stdin_buf += data
        while len(self._stdin_buf) >= 5:
            ident, length = struct.unpack_from("<BI", self._stdin_buf)
            if len(self._stdin_buf) < 5 + length:
                break
            payload, self._stdin_buf = self._stdin_buf[5 : 5 + length], self._stdin_buf[5 + length :]
            if ident == SHELL_STDIN:
                self._write_stdin(payload)
            elif ident == SHELL_CLOSE_STDIN:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass

    def _write_stdin(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def on_remote_close(self):
        super().on_remote_close()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGHUP)
            except ProcessLookupError:
                pass


class _SyncStream(_Stream):
    """The sync service: a worker thread parses requests from the incoming byte stream."""

    def __init__(self, conn, local_id, remote_id):
        super().__init__(conn, local_id, remote_id)
        self._queue = queue.Queue()
        self._buf = b""
        threading.Thread(target=self._work, daemon=True).start()

    def on_data(self, data):
        self._queue.put(data)

    def on_remote_close(self):
        super().on_remote_close()
        self._queue.put(None)

    def _read(self, n):
        while len(self._buf) < n:
            chunk = self._queue.get()
            if chunk is None:
                raise EOFError
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _request(self):
        head = self._read(8)
        return head[:4], struct.unpack("<I", head[4:])[0]

    def _fail(self, message):
        msg = message.encode()
        self.send(b"FAIL" + struct.pack("<I", len(msg)) + msg)

    def _work(self):
        try:
            while True:
                ident, length = self._request()
                if ident == b"QUIT":
                    break
                arg = self._read(length)
                handler = {
                    b"STAT": self._stat,
                    b"SEND": self._send_file,
                    b"RECV": self._recv_file,
                    b"LIST": self._list,
                }.get(ident)
                if handler is None:
                    self._fail(f"stand-in: unsupported sync request {ident!r}")
                    break
                handler(arg.decode("utf-8", "replace"))
        except EOFError:
            pass
        self.close()

    def _stat(self, path):
        try:
            st = os.stat(path)
            self.send(b"STAT" + struct.pack("<III", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime)))
        except OSError:
            self.send(b"STAT" + struct.pack("<III", 0, 0, 0))

    def _list(self, path):
        try:
            for name in sorted(os.listdir(path)):
                st = os.lstat(os.path.join(path, name))
                raw = name.encode()
                self.send(
                    b"DENT"
                    + struct.pack("<IIII", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime), len(raw))
                    + raw
                )
        except OSError:
            pass
        self.send(b"DONE" + bytes(16))

    def _send_file(self, spec):
        path, _, mode = spec.rpartition(",")
        try:
            mode = int(mode)
        except ValueError:
            path, mode = spec, 0o644
        error, f = None, None
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            f = open(path, "wb")
        except OSError as e:
            error = f"open {path} failed: {e.strerror}"
        while True:
            ident, length = self._request()
            if ident == b"DATA":
                data = self._read(length)
                if f is not None and error is None:
                    try:
                        f.write(data)
                    except OSError as e:
                        error = f"write {path} failed: {e.strerror}"
            elif ident == b"DONE":
                break
            else:
                self._fail(f"stand-in: unexpected {ident!r} inside SEND")
                raise EOFError
        if f is not None:
            try:
                f.close()
            except OSError as e:
                error = error or f"close {path} failed: {e.strerror}"
        if error is None:
            os.chmod(path, stat.S_IMODE(mode) or 0o644)
            self.send(b"OKAY" + bytes(4))
        else:
            self._fail(error)

    def _recv_file(self, path):
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(SYNC_DATA_MAX), b""):
                    self.send(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
        except OSError as e:
            self._fail(f"open {path} failed: {e.strerror}")
            return
        self.send(b"DONE" + bytes(4))


class _Connection:
    def __init__(self, server, sock):
        self.server, self.sock = server, sock
        self.max_payload = 4096
        self.streams = {}
        self._next_id = 1
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.alive = True
        threading.Thread(target=self._serve, daemon=True).start()

    def send(self, command, arg0, arg1, data=b"") -> bool:
        try:
            with self._send_lock:
                self.sock.sendall(_pack(command, arg0, arg1, data))
            return True
        except OSError:
            self.drop()
            return False

    def forget(self, local_id):
        with self._lock:
            self.streams.pop(local_id, None)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _serve(self):
        try:
            while True:
                command, arg0, arg1, length, _check, magic = HEADER.unpack(self._recv_exact(HEADER.size))
                if magic != command ^ 0xFFFFFFFF:
                    break
                data = self._recv_exact(length) if length else b""
                self._dispatch(command, arg0, arg1, data)
        except (EOFError, OSError):
            pass
        self.drop()

    def _dispatch(self, command, arg0, arg1, data):
        if command == A_CNXN:
            self.max_payload = max(4096, min(arg1, OUR_MAX_PAYLOAD))
            banner = f"device::{BANNER_PROPS}features={FEATURES}".encode()
            self.send(A_CNXN, A_VERSION, OUR_MAX_PAYLOAD, banner)
        elif command == A_OPEN:
            self._open(arg0, data.rstrip(b"\0").decode("utf-8", "replace"))
        elif command == A_OKAY:
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.ack.set()
        elif command == A_WRTE:
            stream = self.streams.get(arg1)
            if stream is not None:
                self.send(A_OKAY, arg1, arg0)
                stream.on_data(data)
        elif command == A_CLSE:
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.on_remote_close()

    def _open(self, remote_id, destination):
        with self._lock:
            local_id = self._next_id
            self._next_id += 1
        if destination.startswith("shell"):
            head, _, command = destination.partition(":")
            args = head.split(",")[1:]
            self.send(A_OKAY, local_id, remote_id)
            # Registered before any host OKAY can be read: this runs in the connection's reader thread.
            stream = _ShellStream(self, local_id, remote_id, command, "v2" in args)
            with self._lock:
                self.streams[local_id] = stream
        elif destination.startswith("sync:"):
            stream = _SyncStream(self, local_id, remote_id)
            with self._lock:
                self.streams[local_id] = stream
            self.send(A_OKAY, local_id, remote_id)
        else:
            self.send(A_CLSE, 0, remote_id)  # service not offered by the stand-in

    def drop(self):
        if not self.alive:
            return
        self.alive = False
        for stream in list(self.streams.values()):
            stream.closed.set()
            if isinstance(stream, _ShellStream) and stream.proc.poll() is None:
                try:
                    os.killpg(stream.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class AdbStandin:
    """A listening adb daemon stand-in (not a phone). ``start()``, ``serial``, ``drop_connections()``, ``stop()``."""

    def __init__(self, root, port: int = 0, host: str = "127.0.0.1"):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)
        self._bin = os.path.join(self.root, ".standin-bin")
        os.makedirs(self._bin, exist_ok=True)
        with open(os.path.join(self._bin, "getprop"), "w") as f:
            f.write(GETPROP_SCRIPT)
        os.chmod(os.path.join(self._bin, "getprop"), 0o755)
        self._listener = socket.create_server((host, port))
        self.host, self.port = host, self._listener.getsockname()[1]
        self.connections = []
        self.accepting = True
        self._thread = None

    @property
    def serial(self) -> str:
        return f"{self.host}:{self.port}"

    def install_command(self, name: str, script: str) -> str:
        """Put an executable script on the PATH of the stand-in's shells (e.g. a test's stand-in for a device
        tool); returns its path."""
        path = os.path.join(self._bin, name)
        with open(path, "w") as f:
            f.write(script)
        os.chmod(path, 0o755)
        return path

    def shell_env(self):
        env = dict(os.environ)
        env["PATH"] = self._bin + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        return env

    def start(self):
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def _accept(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if not self.accepting:
                sock.close()
                continue
            self.connections.append(_Connection(self, sock))

    def drop_connections(self, refuse_new: bool = True):
        """Cut every connection (a cable pulled); with refuse_new, reconnects are refused too."""
        self.accepting = not refuse_new
        for conn in list(self.connections):
            conn.drop()

    def stop(self):
        self.accepting = False
        self._listener.close()
        for conn in list(self.connections):
            conn.drop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="folder the stand-in's shells run in")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    standin = AdbStandin(args.root, args.port).start()
    print(f"adb stand-in (not a phone) listening on {standin.serial}; adb connect {standin.serial}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
