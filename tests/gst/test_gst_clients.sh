#!/bin/sh
# shellcheck disable=SC2016  # the checks are eval-ed strings
# The built plugin with the stock command-line clients: an .lvc file written by
# gst-launch-1.0 is described by gst-discoverer-1.0 and played to the last frame by playbin,
# gst-play-1.0 and uridecodebin.
# Usage: test_gst_clients.sh MODEL   (GST_PLUGIN_PATH_1_0 points at build/gst)
model="$1"
for p in gst-launch-1.0 gst-discoverer-1.0; do
  if ! command -v "$p" >/dev/null 2>&1; then
    echo "SKIP: $p missing (gstreamer1.0-tools, gstreamer1.0-plugins-base-apps)"
    exit 77
  fi
done
export LVC_MODEL="$model"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clip="$tmp/clip.lvc"
pass=0
fail=0
check() {
  if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
# frames counted by fakesink's last-message of each buffer (gst-launch-1.0 -v)
count_frames() {
  grep -c 'last-message = chain' "$1"
}

gst-launch-1.0 -q videotestsrc num-buffers=24 ! video/x-raw,width=80,height=48,framerate=24/1 \
  ! lvcenc threads=1 ! filesink location="$clip" >"$tmp/enc.log" 2>&1
check "gst-launch-1.0 writes an .lvc file" '[ -s "$clip" ] && head -c 4 "$clip" | grep -q LVCF'

gst-discoverer-1.0 "$clip" >"$tmp/disc.log" 2>&1
gst-discoverer-1.0 -v "$clip" >"$tmp/discv.log" 2>&1
check "discoverer: duration" 'grep -q "Duration: 0:00:01.000000000" "$tmp/disc.log"'
check "discoverer: size" 'grep -q "Width: 80" "$tmp/disc.log" && grep -q "Height: 48" "$tmp/disc.log"'
check "discoverer: frame rate" 'grep -q "Frame rate: 24/1" "$tmp/disc.log"'
check "discoverer: codec" 'grep -q "video #0: video/x-lvc" "$tmp/disc.log" && grep -q "video codec: lvc (learned video codec" "$tmp/discv.log"'
check "discoverer: bitrate" 'grep -Eq "Bitrate: [1-9][0-9]*" "$tmp/disc.log"'
check "discoverer: seekable" 'grep -q "Seekable: yes" "$tmp/disc.log"'

uri="file://$clip"
gst-launch-1.0 -v playbin uri="$uri" video-sink="fakesink silent=false sync=false" \
  audio-sink=fakesink >"$tmp/play.log" 2>&1
check "playbin plays every frame" '[ "$(count_frames "$tmp/play.log")" -eq 24 ]'
check "playbin plugs lvcparse and lvcdec" 'grep -q GstLvcDec "$tmp/play.log" && grep -q GstLvcParse "$tmp/play.log"'

gst-launch-1.0 -v uridecodebin uri="$uri" ! fakesink silent=false sync=false \
  >"$tmp/uri.log" 2>&1
check "uridecodebin decodes every frame" '[ "$(count_frames "$tmp/uri.log")" -eq 24 ]'

if command -v gst-play-1.0 >/dev/null 2>&1; then
  gst-play-1.0 --no-interactive --videosink="fakesink sync=false" --audiosink=fakesink "$clip" \
    >"$tmp/gstplay.log" 2>&1 </dev/null
  check "gst-play-1.0 reaches the end" 'grep -q "Reached end of play list" "$tmp/gstplay.log" && ! grep -qi error "$tmp/gstplay.log"'
fi

# transcoding a file of another format (Ogg Theora, from gst-plugins-base) into .lvc: the
# plain pipeline, encodebin with a profile, and uritranscodebin (gst-plugins-bad) when present
profile="video/x-lvc,stream-format=lvc-file:video/x-lvc,stream-format=elementary"
if gst-launch-1.0 -q videotestsrc num-buffers=24 ! video/x-raw,width=80,height=48,framerate=24/1 \
    ! theoraenc ! oggmux ! filesink location="$tmp/in.ogv" >"$tmp/ogv.log" 2>&1; then
  gst-launch-1.0 -q uridecodebin uri="file://$tmp/in.ogv" ! videoconvert ! lvcenc threads=1 \
    ! filesink location="$tmp/t1.lvc" >"$tmp/t1.log" 2>&1
  check "transcode: uridecodebin ! lvcenc ! filesink" 'gst-discoverer-1.0 "$tmp/t1.lvc" | grep -q "Duration: 0:00:01.000000000"'
  gst-launch-1.0 -q uridecodebin uri="file://$tmp/in.ogv" ! videoconvert \
    ! encodebin profile="$profile" ! filesink location="$tmp/t2.lvc" >"$tmp/t2.log" 2>&1
  check "transcode: encodebin profile (lvcenc, lvcmux)" 'gst-discoverer-1.0 "$tmp/t2.lvc" | grep -q "Duration: 0:00:01.000000000"'
  check "encodebin file equals lvcenc's own" 'cmp -s "$tmp/t1.lvc" "$tmp/t2.lvc"'
  if gst-inspect-1.0 uritranscodebin >/dev/null 2>&1; then
    gst-launch-1.0 -q uritranscodebin source-uri="file://$tmp/in.ogv" dest-uri="file://$tmp/t3.lvc" \
      profile="$profile" >"$tmp/t3.log" 2>&1
    check "transcode: uritranscodebin" 'cmp -s "$tmp/t1.lvc" "$tmp/t3.lvc"'
  fi
else
  echo "note: no theoraenc/oggmux, transcoding not checked"
fi

if [ "$fail" -ne 0 ]; then
  for f in "$tmp"/*.log; do echo "== $f"; tail -n 20 "$f"; done
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
