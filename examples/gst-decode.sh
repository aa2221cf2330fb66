#!/bin/sh
# Decode an .lvc file: show it, or write raw I420 frames.
# Usage: examples/gst-decode.sh IN.lvc [OUT.yuv]
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
# shellcheck source=examples/gst-env.sh
. "$(dirname "$0")/gst-env.sh"
in=${1:?usage: gst-decode.sh IN.lvc [OUT.yuv]}
if [ -n "${2:-}" ]; then
  exec gst-launch-1.0 filesrc location="$in" ! lvcparse ! lvcdec ! filesink location="$2"
fi
exec gst-launch-1.0 filesrc location="$in" ! lvcparse ! lvcdec ! videoconvert ! autovideosink
