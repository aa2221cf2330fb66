#!/bin/sh
# Encode a video file (anything GStreamer decodes) or a test pattern into an .lvc file.
# Usage: examples/gst-encode.sh OUT.lvc [IN-FILE] [QP]
#   no IN-FILE: 60 frames of videotestsrc at 640x360
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
# shellcheck source=examples/gst-env.sh
. "$(dirname "$0")/gst-env.sh"
out=${1:?usage: gst-encode.sh OUT.lvc [IN-FILE] [QP]}
in=${2:-}
qp=${3:-32}
if [ -z "$in" ]; then
  exec gst-launch-1.0 -e videotestsrc num-buffers=60 ! video/x-raw,width=640,height=360 ! \
    lvcenc qp="$qp" ! filesink location="$out"
fi
exec gst-launch-1.0 -e filesrc location="$in" ! decodebin ! videoconvert ! \
  video/x-raw,format=I420 ! lvcenc qp="$qp" ! filesink location="$out"
