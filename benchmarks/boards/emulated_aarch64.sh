#!/usr/bin/env bash
# An emulated aarch64 "board" on this x86_64 host: a Debian bookworm arm64 chroot run through qemu-user-static,
# with its own sshd, to check the ARM path of fsplit-bench over SSH end to end (aarch64 native runner pushed,
# run and measured through the SSH transport). A FUNCTIONAL check: emulated timings are 30-80x slower than a
# real board and are not performance numbers. Not part of CI. Needs root and network to deb.debian.org.
#
#   benchmarks/boards/emulated_aarch64.sh setup           # debootstrap + sshd in the chroot (~8-10 min, once)
#   benchmarks/boards/emulated_aarch64.sh start           # mount /proc,/sys,/dev and start the chroot's sshd
#   benchmarks/boards/emulated_aarch64.sh run ARTIFACT    # build the aarch64 runner, fsplit-bench over ssh
#   benchmarks/boards/emulated_aarch64.sh stop            # stop sshd, unmount
#   benchmarks/boards/emulated_aarch64.sh destroy         # stop and delete the chroot
#
# Environment: BOARD_ROOT (default /var/tmp/fsplit-arm64-board), BOARD_PORT (default 2222),
# DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROOT="${BOARD_ROOT:-/var/tmp/fsplit-arm64-board}"
PORT="${BOARD_PORT:-2222}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYS="$ROOT.keys"

need_root() { [ "$(id -u)" -eq 0 ] || { echo "run as root (debootstrap, chroot, mount)" >&2; exit 1; }; }

enable_binfmt() {
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "qemu-aarch64 binfmt handler not registered" >&2; exit 1; }
}

mount_all() {
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/sys" || mount --rbind /sys "$ROOT/sys"
  mountpoint -q "$ROOT/dev" || mount --rbind /dev "$ROOT/dev"
}

umount_all() {
  for m in dev sys proc; do
    mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m" || true
  done
}

setup() {
  need_root
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends debootstrap qemu-user-static binfmt-support openssh-client >/dev/null
  enable_binfmt
  if [ ! -x "$ROOT/usr/sbin/sshd" ]; then
    debootstrap --arch=arm64 --foreign --variant=minbase bookworm "$ROOT" "$MIRROR"
    cp /usr/bin/qemu-aarch64-static "$ROOT/usr/bin/"
    chroot "$ROOT" /debootstrap/debootstrap --second-stage
    mount_all
    chroot "$ROOT" apt-get update -qq
    chroot "$ROOT" apt-get install -y -qq --no-install-recommends openssh-server python3 python3-numpy procps
    umount_all
  fi
  mkdir -p "$KEYS"
  [ -f "$KEYS/client_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$KEYS/client_key"
  mkdir -p "$ROOT/root/.ssh"
  cp "$KEYS/client_key.pub" "$ROOT/root/.ssh/authorized_keys"
  chmod 700 "$ROOT/root/.ssh"; chmod 600 "$ROOT/root/.ssh/authorized_keys"
  echo "emulated board ready in $ROOT"
}

start() {
  need_root
  enable_binfmt
  mount_all
  mkdir -p "$ROOT/run/sshd"
  chroot "$ROOT" /usr/bin/ssh-keygen -A >/dev/null
  chroot "$ROOT" /usr/sbin/sshd -p "$PORT" -o ListenAddress=127.0.0.1 -o PermitRootLogin=prohibit-password \
    -o PasswordAuthentication=no -o UsePAM=no -o PidFile=/run/sshd-fsplit.pid
  for _ in $(seq 1 60); do
    ssh -i "$KEYS/client_key" -p "$PORT" -o BatchMode=yes -o StrictHostKeyChecking=no \
      -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 uname -m 2>/dev/null && break
    sleep 2
  done
  echo "board: ssh://root@127.0.0.1:$PORT (key $KEYS/client_key)"
}

run_bench() {
  local artifact="${1:?usage: $0 run ARTIFACT_DIR (an executorch artifact)}"
  "$REPO/runtimes/native/build.sh" aarch64
  local libdir
  libdir="$(ls -d "$REPO"/.cache/wheels-aarch64/unpacked-*/executorch/lib | head -1)"
  local out="$REPO/benchmarks/results/emulated-aarch64-$(date +%Y%m%d-%H%M)"
  "$REPO/.venv/bin/fsplit-bench" run --artifact "$artifact" --device "ssh://root@127.0.0.1:$PORT" \
    --ssh-identity "$KEYS/client_key" --ssh-option StrictHostKeyChecking=no --ssh-option UserKnownHostsFile=/dev/null \
    --runner native --native-runner "$REPO/runtimes/native/build-aarch64/fsplit-bench-native" \
    --native-lib-dir "$libdir" --runs 3 --warmup 1 --image-limit 2 --save-streams --out "$out"
  echo "results in $out (emulated: functional check only, the timings are not performance numbers)"
}

stop() {
  need_root
  if [ -f "$ROOT/run/sshd-fsplit.pid" ]; then
    kill "$(cat "$ROOT/run/sshd-fsplit.pid")" 2>/dev/null || true
    rm -f "$ROOT/run/sshd-fsplit.pid"
  fi
  umount_all
}

case "${1:-}" in
  setup) setup ;;
  start) start ;;
  run) shift; run_bench "$@" ;;
  stop) stop ;;
  destroy) stop; rm -rf "$ROOT" "$KEYS" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
