# shellcheck shell=sh
# Sourced by the gst-*.sh examples: use the plugin of the build tree when there is one, and the
# random test model when no model is configured.
# SPDX-License-Identifier: LGPL-2.1-or-later
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LVC_BUILD:-$root/build}
if [ -e "$build/gst/libgstlvc.so" ]; then
  export GST_PLUGIN_PATH="$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
if [ -z "${LVC_MODEL:-}" ] && [ ! -e "$root/models/default.lvcm" ]; then
  export LVC_MODEL="$root/tests/golden/model_random.lvcm"
fi
