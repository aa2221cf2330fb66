#!/bin/sh
# Encode and decode in one pipeline (elementary lvc frames between lvcenc and lvcdec) and show
# the result.
# Usage: examples/gst-roundtrip.sh [QP] [WIDTH] [HEIGHT]
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
# shellcheck source=examples/gst-env.sh
. "$(dirname "$0")/gst-env.sh"
qp=${1:-32}
w=${2:-320}
h=${3:-240}
exec gst-launch-1.0 videotestsrc num-buffers=90 pattern=ball ! \
  video/x-raw,width="$w",height="$h",framerate=30/1 ! lvcenc qp="$qp" key-int-max=30 ! \
  lvcdec ! videoconvert ! autovideosink
