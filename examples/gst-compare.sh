#!/bin/sh
# Side-by-side transcode through GStreamer: the first N frames of any file GStreamer reads are
# coded by lvcenc, x264enc and x265enc at the same target bitrate, decoded back, and the size,
# achieved bitrate and PSNR (lvc compare: PSNR-Y, PSNR-YUV, MS-SSIM-Y) of each are printed.
# Needs gstreamer1.0-plugins-ugly (x264enc), gstreamer1.0-plugins-bad (x265enc, y4menc) and
# ffmpeg (cuts the input to N frames and decodes the H.264/H.265 streams).
# Usage: examples/gst-compare.sh INPUT [KBITS (default 1000)] [FRAMES (default 60)]
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
. "$(dirname "$0")/gst-env.sh"
in=$1
kbps=${2:-1000}
frames=${3:-60}
lvc="$build/tools/lvc"
out=${LVC_COMPARE_OUT:-$root/out/gst-compare}
mkdir -p "$out"
raw="videoconvert ! video/x-raw,format=I420"

# the reference frames, cut exactly at N frames
ffmpeg -nostdin -v error -y -i "$in" -frames:v "$frames" -pix_fmt yuv420p -f yuv4mpegpipe \
  "$out/ref.y4m"
fps=$(head -1 "$out/ref.y4m" | tr ' ' '\n' | sed -n 's/^F//p')
seconds=$(echo "$fps" | awk -F: -v n="$frames" '{ printf "%.6f", n * $2 / $1 }')

printf '%-6s %10s %10s %8s %9s %9s\n' codec bytes kbit/s PSNR-Y PSNR-YUV MS-SSIM-Y
for codec in lvc x264 x265; do
  case $codec in
    lvc)  enc="lvcenc bitrate=$kbps ! video/x-lvc,stream-format=lvc-file"
          dec="lvcparse ! lvcdec"; ext=lvc ;;
    x264) enc="x264enc bitrate=$kbps speed-preset=medium tune=zerolatency key-int-max=0 ! h264parse ! video/x-h264,stream-format=byte-stream"
          dec=""; ext=h264 ;;
    x265) enc="x265enc bitrate=$kbps speed-preset=medium tune=zerolatency key-int-max=0 ! h265parse ! video/x-h265,stream-format=byte-stream"
          dec=""; ext=h265 ;;
  esac
  gst-launch-1.0 -q filesrc location="$out/ref.y4m" ! y4mdec ! $raw ! $enc ! \
    filesink location="$out/$codec.$ext"
  if [ -n "$dec" ]; then
    gst-launch-1.0 -q filesrc location="$out/$codec.$ext" ! $dec ! $raw ! y4menc ! \
      filesink location="$out/$codec.y4m"
  else
    # decoded by ffmpeg: GStreamer 1.22's y4menc writes libav decoders' padded rows as they are
    ffmpeg -nostdin -v error -y -i "$out/$codec.$ext" -pix_fmt yuv420p -f yuv4mpegpipe \
      "$out/$codec.y4m"
  fi
  bytes=$(wc -c <"$out/$codec.$ext")
  m=$("$lvc" compare "$out/ref.y4m" "$out/$codec.y4m")
  y=$(echo "$m" | sed -n 's/.*psnr_y \([0-9.]*\).*/\1/p')
  yuv=$(echo "$m" | sed -n 's/.*psnr_yuv \([0-9.]*\).*/\1/p')
  ss=$(echo "$m" | sed -n 's/.*msssim_y \([0-9.]*\).*/\1/p')
  printf '%-6s %10d %10.1f %8.3f %9.3f %9.5f\n' "$codec" "$bytes" \
    "$(echo "$bytes $seconds" | awk '{ print $1 * 8 / $2 / 1000 }')" "$y" "$yuv" "$ss"
done
echo "outputs in $out"
