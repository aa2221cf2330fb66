#!/usr/bin/env bash
# CI: the NEON kernels (codec/src/arm/) on AArch64.  Cross-builds liblvc with checkasm and the
# kernel tests only (no GStreamer, Vulkan or anchors) with ci/cross-aarch64.txt and runs them
# under QEMU user mode: checkasm compares every NEON kernel with the C reference, test_kernels
# checks the C reference, compiled for AArch64, against an independent computation of
# ARITHMETIC.md.  Run as root (or through sudo) on Debian 12.
# Usage: tools/ci-aarch64.sh [build-dir]        (default: build-aarch64)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-aarch64}
start=$(date +%s)

need=()
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing: ${need[*]}"
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${need[@]}"
fi

if [ ! -f "$build/build.ninja" ]; then
  meson setup --cross-file ci/cross-aarch64.txt "$build" -Dwerror=true -Dtests=enabled \
    -Dgst=disabled -Dvulkan=disabled -Danchors=disabled -Dfuzzing=disabled
fi
ninja -C "$build" tests/checkasm tests/test_kernels
# the exe_wrapper of the cross file runs them: qemu-aarch64 -L /usr/aarch64-linux-gnu
meson test -C "$build" --no-rebuild --print-errorlogs checkasm test_kernels
# checkasm tests the levels the CPU reports: make sure NEON was among them under QEMU
if ! grep -q "testing c neon" "$build/meson-logs/testlog.txt"; then
  echo "aarch64 (qemu): checkasm did not test the NEON kernels" >&2
  exit 1
fi
echo "aarch64 (qemu): checkasm and test_kernels passed in $(( $(date +%s) - start )) s"
