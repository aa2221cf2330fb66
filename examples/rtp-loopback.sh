#!/bin/sh
# The lvc RTP loopback call at 1 % and 5 % loss, retransmission off and on, with a summary
# table (see gst/README.md, "Loopback call").
# Usage: examples/rtp-loopback.sh [BUILD-DIR] [extra rtp-loopback options, e.g. -d 20 -b 5000]
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
prog="$build/examples/rtp-loopback"
if [ ! -x "$prog" ]; then
  echo "no $prog: build first (meson setup $build && ninja -C $build)" >&2
  exit 2
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
printf '%-6s %-4s %7s %7s %10s %11s %10s %9s %10s\n' loss rtx shown% events freeze/ev mean-freeze longest keys/min overshoot
for loss in 1 5; do
  for rtx in off on; do
    if [ "$rtx" = on ]; then
      "$prog" --loss "$loss" --rtx "$@" > "$out"
    else
      "$prog" --loss "$loss" "$@" > "$out"
    fi
    awk -v loss="$loss%" -v rtx="$rtx" '
      /frames sent/ { shown = $0; sub(/.*shown [0-9]+ \(/, "", shown); sub(/%.*/, "", shown);
                      ev = $NF }
      /^  freeze/   { fe = $0; sub(/.*per loss event /, "", fe); sub(/ ms.*/, "", fe);
                      lg = $0; sub(/.*longest /, "", lg); sub(/ ms.*/, "", lg)
                      mf = $0; sub(/.*\(mean /, "", mf); sub(/ ms.*/, "", mf) }
      /^  key frames/ { kpm = $0; sub(/.*\(/, "", kpm); sub(/ per.*/, "", kpm) }
      /^  bitrate/  { ov = $0; sub(/.*overshoot /, "", ov); sub(/\).*/, "", ov) }
      END { printf "%-6s %-4s %7s %7s %10s %11s %10s %9s %10s\n", loss, rtx, shown, ev,
            fe " ms", mf " ms", lg " ms", kpm, ov }' "$out"
  done
done
