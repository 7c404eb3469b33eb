#!/usr/bin/env bash
# The wheel is the product (make wheel-check, run by .ci/run): build the sdist, build the wheel FROM the sdist
# (so the sdist is proven complete), install that wheel into an EMPTY venv (no --system-site-packages, no
# checkout on sys.path), then from an empty directory outside the checkout run what a pip user runs:
#   fsplit-export --target coreml, fsplit-export --target all, fsplit-demo.
# Prints (and with WHEEL_CHECK_JSON=FILE writes) the timings, install -> first artifact included.
#
# The install resolves the whole pinned stack (about 2.6 GB) into the new venv. pip's wheel cache is used
# (PIP_CACHE_DIR, default .cache/pip in the checkout) so a second run unpacks cached wheels instead of
# downloading or rebuilding them; nothing is shared with the development venv.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-python3}
BUILD_PY=${BUILD_PY:-$REPO/.venv/bin/python}   # has setuptools + wheel (make setup)
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$REPO/.cache/pip}
# Byte-compiling all ~3 GB at install is most of pip's time; Python compiles what the commands import on first
# use instead (WHEEL_CHECK_COMPILE=1 restores pip's default).
PIP_COMPILE=$([ -n "${WHEEL_CHECK_COMPILE:-}" ] && echo --compile || echo --no-compile)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fsplit-wheel-check.XXXXXX")
case "$WORK" in "$REPO"/*) echo "wheel-check: work folder $WORK is inside the checkout" >&2; exit 2;; esac
if [ -z "${KEEP_WORK:-}" ]; then trap 'rm -rf "$WORK"' EXIT; else echo "wheel-check: work folder kept: $WORK"; fi
cd "$WORK"   # never the checkout: `python -c` puts the current folder on sys.path
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
# 1. sdist through the PEP 517 hook (what `python -m build --sdist --no-isolation` calls), from the checkout's
# working tree, or with WHEEL_CHECK_REF=HEAD (any commit) from that commit alone (others' uncommitted work ignored).
SRC=$REPO
if [ -n "${WHEEL_CHECK_REF:-}" ]; then
  SRC=$WORK/src; mkdir "$SRC"
  git -C "$REPO" archive "$WHEEL_CHECK_REF" | tar -x -C "$SRC"
fi
(cd "$SRC" && "$BUILD_PY" -c 'import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])' \
    "$WORK/dist" >"$WORK/sdist.log" 2>&1) || { cat "$WORK/sdist.log" >&2; echo "wheel-check: sdist build failed" >&2; exit 1; }
SDIST=$(ls "$WORK"/dist/fsplit_mobile-*.tar.gz)
# 2. wheel from the sdist (compiles the C coder extension).
("$BUILD_PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" "$SDIST" \
    >"$WORK/wheel.log" 2>&1) || { cat "$WORK/wheel.log" >&2; echo "wheel-check: wheel build failed" >&2; exit 1; }
WHEEL=$(ls "$WORK"/dist/fsplit_mobile-*.whl)
"$BUILD_PY" "$REPO/scripts/wheel_contents.py" "$WHEEL"
t_built=$(now)

# 3. an empty venv; the wheel with its pinned dependencies.
"$PY" -m venv "$WORK/venv"
V="$WORK/venv/bin"
"$V/python" -c 'import sys; assert sys.prefix != sys.base_prefix' >/dev/null
if "$V/python" -c 'import fsplit_mobile' 2>/dev/null; then echo "wheel-check: fsplit_mobile importable before install" >&2; exit 1; fi
t_install=$(now)
"$V/pip" install -q $PIP_COMPILE "$WHEEL" >"$WORK/install.log" 2>&1 || { tail -30 "$WORK/install.log" >&2; exit 1; }
t_installed=$(now)
echo "wheel-check: installed into an empty venv in $(secs "$t_install" "$t_installed") s ($(du -sm "$WORK/venv" | cut -f1) MB)"
"$V/pip" check >/dev/null

# 4. the user's commands, from an empty folder outside the checkout.
mkdir "$WORK/user"
cd "$WORK/user"
where=$("$V/python" -c 'import fsplit_mobile, pathlib; print(pathlib.Path(fsplit_mobile.__file__).parent)')
case "$where" in "$WORK/venv/"*) ;; *) echo "wheel-check: fsplit_mobile imported from $where, not the venv" >&2; exit 1;; esac
run() { echo "+ $*" >"$WORK/last.log"; "$@" >>"$WORK/last.log" 2>&1 || { tail -40 "$WORK/last.log" >&2; exit 1; }; }
run "$V/fsplit-export" --target coreml --quiet --json
t_coreml=$(now)
echo "wheel-check: fsplit-export --target coreml: $(secs "$t_installed" "$t_coreml") s"
# the bundled default's artifact, under its model id (whatever the default is)
model_id=$("$V/python" -c 'from fsplit_mobile.export.recipe import DEFAULT_RECIPE, load_recipe; print(load_recipe(DEFAULT_RECIPE).model_id)')
test -f "artifacts/$model_id/coreml-none/manifest.json"
run "$V/fsplit-export" --target all --quiet --out all
t_all=$(now)
echo "wheel-check: fsplit-export --target all: $(secs "$t_coreml" "$t_all") s"
for t in executorch coreml tflite onnx; do test -f "all/$t-none/manifest.json"; done
run "$V/fsplit-demo"
grep -q "split" "$WORK/last.log"
grep -q "held-out .* 188 crops" "$WORK/last.log"
t_demo=$(now)
leftover=$(find "$WORK/user" -maxdepth 1 -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')
[ "$leftover" = "all artifacts " ] || { echo "wheel-check: unexpected files in the user folder: $leftover" >&2; exit 1; }

venv_mb=$(du -sm "$WORK/venv" | cut -f1)
summary=$(cat <<EOF
{"wheel": "$(basename "$WHEEL")", "wheel_mb": $(du -m "$WHEEL" | cut -f1), "venv_mb": $venv_mb,
 "build_s": $(secs "$t0" "$t_built"), "install_s": $(secs "$t_install" "$t_installed"),
 "export_coreml_s": $(secs "$t_installed" "$t_coreml"), "install_to_coreml_artifact_s": $(secs "$t_install" "$t_coreml"),
 "export_all_s": $(secs "$t_coreml" "$t_all"), "demo_s": $(secs "$t_all" "$t_demo"), "total_s": $(secs "$t0" "$t_demo"),
 "pip_install_flags": "$PIP_COMPILE", "pip_cache": "$PIP_CACHE_DIR"}
EOF
)
echo "wheel-check: OK $summary"
if [ -n "${WHEEL_CHECK_JSON:-}" ]; then echo "$summary" >"$WHEEL_CHECK_JSON"; fi
