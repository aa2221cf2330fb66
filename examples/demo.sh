#!/usr/bin/env bash
# The main job: set lvc up on a fresh Debian 12 machine and show it working.
#   1. install the Debian packages that are missing (tools/install-deps.sh, root or sudo);
#   2. build with meson into build/ (or $LVC_BUILD);
#   3. make a small sample clip with ffmpeg's lavfi: 416x240, 30 frames at 30 fps of the
#      `mandelbrot` source (a continuous zoom into the Mandelbrot set: fine detail everywhere
#      and motion in every frame), written as out/demo/sample.y4m — or use the y4m / video
#      file given as the first argument;
#   4. encode it with the default model (models/default.lvcm) and decode it again;
#   5. run `lvc bench`: lvc against x264 and x265 (low delay, -preset medium -tune psnr, CRF
#      20..40) on the same frames, with the BD-rate, a CSV and an SVG rate-distortion plot.
# When no trained default model exists yet, the random-weight test model
# (tests/golden/model_random.lvcm) is used to show the pipeline only: its pictures are noise.
# Usage: examples/demo.sh [CLIP]        outputs in out/demo/ (or $LVC_DEMO_OUT)
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/install-deps.sh
build=${LVC_BUILD:-build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build"
fi
ninja -C "$build"
lvc="$build/tools/lvc"
out=${LVC_DEMO_OUT:-out/demo}
mkdir -p "$out"

if [ $# -ge 1 ]; then
  clip=$1
  echo "== sample clip: $clip (first 30 frames)"
else
  clip="$out/sample.y4m"
  echo "== sample clip: $clip (ffmpeg lavfi mandelbrot, 416x240, 30 frames, 30 fps)"
  ffmpeg -nostdin -v error -y -f lavfi -i mandelbrot=size=416x240:rate=30 -frames:v 30 \
    -pix_fmt yuv420p "$clip"
fi

if [ -f models/default.lvcm ]; then
  model=models/default.lvcm
  echo "== model: $model"
else
  model=tests/golden/model_random.lvcm
  echo "== NOTE: no trained default model (models/default.lvcm) exists yet."
  echo "==       Using $model, a model with RANDOM WEIGHTS, only to show the pipeline:"
  echo "==       its decoded pictures are noise and its rate-distortion figures mean nothing."
fi
"$lvc" info "$model" | head -4

encode_in=$clip
if ! head -c 9 "$clip" | grep -q YUV4MPEG2; then
  encode_in="$out/input.y4m"
  ffmpeg -nostdin -v error -y -i "$clip" -frames:v 30 -pix_fmt yuv420p "$encode_in"
fi
echo "== encode and decode"
"$lvc" encode "$encode_in" -o "$out/sample.lvc" --model "$model" --qp 32 --frames 30
"$lvc" decode "$out/sample.lvc" -o "$out/decoded.y4m" --model "$model"
"$lvc" info "$out/sample.lvc" | tail -1

bench_mode=()
if "$lvc" info "$model" | grep -q "I only"; then
  # An intra-only model codes every frame as an I-frame: compare it with all-intra anchors.
  bench_mode=(--intra)
  echo "== lvc bench (all-intra: the model has no P-frame networks yet): lvc against x264 and x265"
else
  echo "== lvc bench (low delay): lvc against x264 and x265 on the same frames"
fi
"$lvc" bench "$clip" --frames 30 --model "$model" "${bench_mode[@]}" --csv "$out/bench.csv" \
  --plot "$out/rd.svg"
echo
echo "decoded video: $out/decoded.y4m  stream: $out/sample.lvc"
echo "RD plot (open in a browser): $out/rd.svg  all points: $out/bench.csv"
