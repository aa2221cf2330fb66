#!/bin/sh
# meson install script: installs each model file as <dir>/<model id>.lvcm (the name decoders look
# up, codec/FORMAT.md §3.8) and the first one also as <dir>/default.lvcm.
# Usage: install-models.sh LVC_TOOL DIR MODEL...
set -eu
lvc=$1
dir="${DESTDIR:-}$2"
shift 2
mkdir -p "$dir"
first=1
for m in "$@"; do
    id=$("$lvc" info "$m" | awk '$1 == "id" { print $2 }')
    [ -n "$id" ] || { echo "install-models.sh: no model id in $m" >&2; exit 1; }
    install -m 644 "$m" "$dir/$id.lvcm"
    if [ "$first" = 1 ]; then
        install -m 644 "$m" "$dir/default.lvcm"
        first=0
    fi
    echo "installed $m as $dir/$id.lvcm"
done
