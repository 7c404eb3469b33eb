#!/usr/bin/env bash
# Build (once) the emulated arm64 board's root file system: Debian bookworm arm64, minbase, with ONLY its OS,
# python3 and openssh-server -- no numpy, no pip, no runtimes -- so that a bench run against it proves the
# zero-setup path (the host provisions everything the runner needs). Runs through qemu-user binfmt on x86_64.
#
#   benchmarks/boards/build_arm64_board.sh            # prints the ready rootfs path on its last line
#
# The result is cached under $FSPLIT_BOARD_CACHE (default <repo>/.cache/boards) in a directory keyed by this
# script's sha256, so editing the recipe rebuilds it and an unchanged recipe reuses it. Building takes ~8 min
# (measured in benchmarks/results/emulated_aarch64_board.md). Needs root (debootstrap, chroot) and network to
# the Debian mirror ($DEBIAN_MIRROR, default http://deb.debian.org/debian).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${FSPLIT_BOARD_CACHE:-$REPO/.cache/boards}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEY="$(sha256sum "$0" | cut -c1-16)"
DEST="$CACHE/arm64-$KEY"
ROOT="$DEST/rootfs"

[ "$(id -u)" -eq 0 ] || { echo "build_arm64_board.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
if [ -f "$DEST/ready" ]; then echo "$ROOT"; exit 0; fi

for tool in debootstrap update-binfmts qemu-aarch64-static; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install_system_deps.sh" >&2; exit 1; }
done
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "qemu-aarch64 binfmt handler not registered" >&2; exit 1; }

# A half-built tree from an interrupted run is discarded: only a tree with the `ready` stamp is trusted.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$DEST/ready" ]; then echo "$ROOT"; exit 0; fi
for m in dev/pts dev proc sys; do mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"; done
rm -rf "$DEST"
mkdir -p "$DEST"
start=$(date +%s)
debootstrap --arch=arm64 --foreign --variant=minbase --include=python3,openssh-server \
  bookworm "$ROOT" "$MIRROR" >"$DEST/debootstrap-1.log" 2>&1
cp /usr/bin/qemu-aarch64-static "$ROOT/usr/bin/"
# The second stage mounts (and unmounts) /proc in the chroot itself.
chroot "$ROOT" /debootstrap/debootstrap --second-stage >"$DEST/debootstrap-2.log" 2>&1 || {
  tail -20 "$DEST/debootstrap-2.log" >&2; exit 1; }
# Host keys are generated per board (not shipped); the package cache is dropped to keep the cache small.
rm -f "$ROOT"/etc/ssh/ssh_host_*
chroot "$ROOT" /usr/bin/ssh-keygen -A >/dev/null
rm -rf "$ROOT"/var/cache/apt/archives/*.deb
echo "$(( $(date +%s) - start ))" >"$DEST/build_seconds"
du -sm "$ROOT" | cut -f1 >"$DEST/rootfs_mb"
touch "$DEST/ready"
echo "$ROOT"
