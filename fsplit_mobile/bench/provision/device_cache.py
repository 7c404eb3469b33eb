"""The runner kept on the device: ``<cache root>/<name>-<key>/`` with a ``.fsplit-ready`` stamp holding the key,
written only after the whole tree arrived, so an interrupted push is never trusted. A matching stamp means
reuse (nothing is sent); otherwise the tree is pushed to a fresh folder, moved into place, and older entries
of the same name are removed so the device keeps one copy per runner kind."""

from __future__ import annotations

from ..errors import TransportError
from ..transports.base import quote
from .runners import READY, Runner


def cache_root(profile) -> str:
    if profile.os == "android":
        return "/data/local/tmp/fsplit-bench-runners"
    return f"{(profile.home or '/tmp').rstrip('/')}/.cache/fsplit-bench/runners"


def ensure(transport, profile, runner: Runner) -> tuple[str, bool]:
    """(device folder of `runner`, whether it had to be pushed now)."""
    root = cache_root(profile)
    final = f"{root}/{runner.name}-{runner.key}"
    res = transport.run(f"cat {quote(final + '/' + READY)} 2>/dev/null", timeout=60)
    if res.exit_code == 0 and res.stdout.strip() == runner.key:
        return final, False
    partial = f"{final}.partial"
    res = transport.run(f"rm -rf {quote(partial)} {quote(final)} && mkdir -p {quote(root)}", timeout=120)
    if res.exit_code != 0:
        raise TransportError(f"cannot prepare the runner cache {root} on {transport.describe()}: {res.tail(300)}")
    transport.push(runner.tree, partial)  # the stamp is in the tree; it only counts once moved into place
    old = f"{root}/{runner.name}-"
    res = transport.run(
        f"mv {quote(partial)} {quote(final)} && for d in {quote(old)}*; do "
        f'[ "$d" = {quote(final)} ] || rm -rf "$d"; done',
        timeout=300,
    )
    if res.exit_code != 0:
        raise TransportError(f"cannot install the runner in {final} on {transport.describe()}: {res.tail(300)}")
    return final, True
