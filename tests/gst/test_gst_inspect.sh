#!/bin/sh
# shellcheck disable=SC2016,SC2034  # the checks are eval-ed strings
# The built plugin loads from the build tree and documents its elements.
# Usage: test_gst_inspect.sh GST-INSPECT   (GST_PLUGIN_PATH_1_0 points at build/gst)
inspect="$1"
pass=0
fail=0
check() {
  if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
out=$("$inspect" lvc 2>&1)
check "plugin lvc loads" 'echo "$out" | grep -q "lvcenc" && echo "$out" | grep -q "lvcdec" && echo "$out" | grep -q "lvcparse"'
check "typefinder registered" 'echo "$out" | grep -q "video/x-lvc"'
enc=$("$inspect" lvcenc 2>&1)
for p in qp bitrate vbv-buffer key-int-max refresh-period backend threads model stats; do
  check "lvcenc property $p" 'echo "$enc" | grep -q "^  $p  *:"'
done
check "lvcenc src caps" 'echo "$enc" | grep -q "video/x-lvc"'
check "lvcenc sink caps NV12" 'echo "$enc" | grep -q "NV12"'
dec=$("$inspect" lvcdec 2>&1)
for p in backend threads model; do
  check "lvcdec property $p" 'echo "$dec" | grep -q "^  $p  *:"'
done
check "lvcdec outputs I420" 'echo "$dec" | grep -q "I420"'
par=$("$inspect" lvcparse 2>&1)
check "lvcparse sink caps" 'echo "$par" | grep -q "lvc-file"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
