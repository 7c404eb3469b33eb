"""The processes of one network namespace (Linux /proc): how the Ray tests and benchmarks, which run a whole
cluster inside a namespace of their own, find and kill everything it started, and nothing else on the host
(`ray stop` would kill every Ray process of the machine by name)."""

import os
import signal
import time
from pathlib import Path


def netns_of(pid: int | str = "self") -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def netns_pids(ns: str) -> list[int]:
    """Live processes in namespace `ns` (as netns_of gives it), this process excluded."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if os.readlink(entry / "ns" / "net") == ns:
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def kill_netns(ns: str, rounds: int = 5, pause_s: float = 0.5) -> list[int]:
    """SIGKILL every process of `ns` (a bounded number of rounds: Ray restarts nothing once its raylets are
    gone); returns what is still alive after the last round."""
    for _ in range(rounds):
        pids = netns_pids(ns)
        if not pids:
            return []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(pause_s)
    return netns_pids(ns)


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, from the parent ids in /proc/<pid>/stat (Linux)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])  # after "pid (comm) state"
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c, parent in parents.items() if parent == p]
    return out
