#!/usr/bin/env bash
# Install the Debian 12 packages lvc needs to build and test, when any is missing.
# Usage: tools/install-deps.sh [--all]   (--all adds the optional training/evaluation tools)
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev
      python3 python3-numpy python3-pytest python3-torch python3-scipy python3-pil
      ffmpeg libjpeg-turbo-progs
      libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
      glslc libvulkan-dev mesa-vulkan-drivers vulkan-tools spirv-tools
      libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good
      gstreamer1.0-plugins-base-apps python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0
      gstreamer1.0-plugins-bad gstreamer1.0-nice libgstreamer-plugins-bad1.0-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
