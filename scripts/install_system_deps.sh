#!/usr/bin/env bash
# System packages the tests and native builds need (Debian 12). Idempotent; skips when all are present.
set -euo pipefail
PKGS=(clang clang-format libclang-rt-14-dev gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static
      junit5 openssh-server adb iproute2 cmake default-jdk-headless g++ make debootstrap binfmt-support)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
