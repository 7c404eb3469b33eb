"""Connection-level attackers against a loopback server, run as their own process (so their CPU and GIL do
not sit in the measuring client): N idle sockets that never send a byte and M slow-header senders (one byte
of a request head per `--byte-interval` s). Both reconnect when the server closes them, so the pressure
stays for the whole run. Bounded: --seconds, and at most --max-connects connection attempts in all.

    python benchmarks/attack/attackers.py --port P --idle 1000 --slow 50 --seconds 20

Prints one JSON line: connections made, closed by the server, answers seen (408, 503, ...), errors.
"""

import argparse
import asyncio
import json
import resource
import time

HEAD = b"POST /v1/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n"


class Stats:
    def __init__(self):
        self.connects = 0
        self.connect_errors = 0
        self.closed_by_server = 0
        self.answers: dict[str, int] = {}


async def _holder(port, deadline, stats: Stats, max_connects: int, slow: bool, byte_interval: float):
    while time.monotonic() < deadline and stats.connects + stats.connect_errors < max_connects:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        except (TimeoutError, OSError):
            stats.connect_errors += 1
            await asyncio.sleep(0.2)
            continue
        stats.connects += 1
        sent = 0
        try:
            while time.monotonic() < deadline:
                if slow:
                    writer.write(HEAD[sent % len(HEAD) : sent % len(HEAD) + 1])
                    sent += 1
                    await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(4096), byte_interval if slow else 1.0)
                except TimeoutError:
                    continue
                if data.startswith(b"HTTP/1.1 "):
                    code = data[9:12].decode("latin-1")
                    stats.answers[code] = stats.answers.get(code, 0) + 1
                stats.closed_by_server += 1  # an answer or EOF: the server ends such connections
                break
        except (ConnectionError, OSError):
            stats.closed_by_server += 1
        finally:
            writer.close()


async def attack(port: int, idle: int, slow: int, seconds: float, byte_interval: float, max_connects: int) -> dict:
    stats = Stats()
    deadline = time.monotonic() + seconds
    tasks = [_holder(port, deadline, stats, max_connects, False, byte_interval) for _ in range(idle)]
    tasks += [_holder(port, deadline, stats, max_connects, True, byte_interval) for _ in range(slow)]
    await asyncio.gather(*tasks)
    return {
        "idle": idle,
        "slow": slow,
        "seconds": seconds,
        "connects": stats.connects,
        "connect_errors": stats.connect_errors,
        "closed_by_server": stats.closed_by_server,
        "answers": stats.answers,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--idle", type=int, default=1000)
    p.add_argument("--slow", type=int, default=50)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--byte-interval", type=float, default=1.0)
    p.add_argument("--max-connects", type=int, default=20000)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.idle + args.slow + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    print(
        json.dumps(
            asyncio.run(attack(args.port, args.idle, args.slow, args.seconds, args.byte_interval, args.max_connects))
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
