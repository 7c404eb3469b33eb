#!/usr/bin/env bash
# Build fsplit-bench-native.   runtimes/native/build.sh host|aarch64|android [BUILD_DIR]
#   host     x86_64 (or whatever this machine is) against the executorch wheel in .venv
#   aarch64  cross build for aarch64 Linux boards with Debian's aarch64-linux-gnu toolchain, against the
#            executorch==1.5.1 manylinux aarch64 wheel (downloaded once into .cache/wheels-aarch64)
#   android  NDK cross build; needs ANDROID_NDK and EXECUTORCH_ANDROID_DIR (see docs/bench.md). UNTESTED here:
#            no NDK can be installed on the machine this project is developed on.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TARGET="${1:-host}"
ET_VERSION="${EXECUTORCH_VERSION:-1.5.1}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
JOBS="${JOBS:-2}"

case "$TARGET" in
  host)
    BUILD="${2:-$HERE/build}"
    cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
    ;;
  aarch64)
    BUILD="${2:-$HERE/build-aarch64}"
    WHEELS="$REPO/.cache/wheels-aarch64"
    ET_DIR="$WHEELS/unpacked-$ET_VERSION/executorch"
    if [ ! -f "$ET_DIR/lib/libexecutorch.so" ]; then
      mkdir -p "$WHEELS"
      "$PY" -m pip download -q --platform manylinux_2_28_aarch64 --python-version 3.11 --only-binary=:all: \
        --no-deps "executorch==$ET_VERSION" -d "$WHEELS"
      rm -rf "$WHEELS/unpacked-$ET_VERSION"
      "$PY" -m zipfile -e "$WHEELS"/executorch-"$ET_VERSION"-*manylinux*aarch64.whl "$WHEELS/unpacked-$ET_VERSION"
    fi
    cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_TOOLCHAIN_FILE="$HERE/cmake/aarch64-linux-gnu.cmake" -DEXECUTORCH_DIR="$ET_DIR"
    echo "aarch64 runtime libraries: $ET_DIR/lib (pass to fsplit-bench --native-lib-dir)"
    ;;
  android)
    BUILD="${2:-$HERE/build-android}"
    : "${ANDROID_NDK:?set ANDROID_NDK to the NDK root}"
    : "${EXECUTORCH_ANDROID_DIR:?set EXECUTORCH_ANDROID_DIR to an ExecuTorch install built for Android arm64-v8a}"
    cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_TOOLCHAIN_FILE="$ANDROID_NDK/build/cmake/android.toolchain.cmake" -DANDROID_ABI=arm64-v8a \
      -DANDROID_PLATFORM=android-26 -DFSPLIT_EXECUTORCH_SOURCE_INSTALL=ON -DEXECUTORCH_DIR="$EXECUTORCH_ANDROID_DIR"
    ;;
  *)
    echo "usage: $0 host|aarch64|android [BUILD_DIR]" >&2
    exit 2
    ;;
esac
cmake --build "$BUILD" -j"$JOBS"
echo "built $BUILD/fsplit-bench-native"
