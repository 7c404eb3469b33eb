#!/usr/bin/env bash
# The emulated aarch64 "board": Debian bookworm arm64 (OS + python3 + openssh-server only) in a chroot run
# through qemu-user binfmt, with its own sshd on loopback, used to check the ARM path of fsplit-bench end to
# end with zero setup (tests/bench/test_bench_emulated_board.py runs the same in CI's slow set). FUNCTIONAL only:
# emulated timings are 30-80x slower than a real board. Needs root and network to the Debian mirror and PyPI.
#
#   benchmarks/boards/emulated_aarch64.sh setup                 # build/cache the rootfs (~8-11 min, once)
#   benchmarks/boards/emulated_aarch64.sh run ARTIFACT...       # fsplit-bench with no runner flag, report
#   benchmarks/boards/emulated_aarch64.sh destroy               # delete the cached boards
#
# Environment: FSPLIT_BOARD_CACHE (default <repo>/.cache/boards), DEBIAN_MIRROR.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-$REPO/.venv/bin/python}"

case "${1:-}" in
  setup) bash "$HERE/build_arm64_board.sh" ;;
  run)
    shift
    [ $# -ge 1 ] || { echo "usage: $0 run ARTIFACT..." >&2; exit 2; }
    args=(); for a in "$@"; do args+=(--artifact "$a"); done
    "$PY" "$HERE/run_emulated_board.py" "${args[@]}" --out "$REPO/benchmarks/results/emulated-aarch64" \
      --report "$REPO/benchmarks/results/emulated_aarch64_board.md"
    ;;
  destroy)
    cache="${FSPLIT_BOARD_CACHE:-$REPO/.cache/boards}"
    if mount | grep -q " $cache/"; then echo "a board under $cache is still mounted (running?)" >&2; exit 1; fi
    rm -rf "$cache"
    ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
