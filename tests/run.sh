#!/usr/bin/env bash
# Build lvc and run the whole test suite (C unit, golden, fuzz-replay and tool tests through
# meson; the training package's tests through pytest).  Exits non-zero on any failure.
# Usage: tests/run.sh [build-dir]        (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
"tools/install-deps.sh"
build=${1:-build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dwerror=true
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes "$(nproc)"
if [ -d models/train/tests ]; then
  (cd models && /usr/bin/python3 -m pytest -q train/tests)
fi
