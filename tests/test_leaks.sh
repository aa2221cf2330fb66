#!/bin/sh
# Leak check of the lvc tool (run only in a build with -Db_sanitize=address...): a full encode
# (I- and P-frames, refresh, two threads, reconstruction) and decode with the golden random
# model, a decode of a damaged stream (the error paths), `lvc info` of the stream and of the
# model, all under LeakSanitizer.  Any leak makes LeakSanitizer end the process with status 23.
# The tool runs with tests/nodlclose.c preloaded (see there: Vulkan drivers' state).
# Usage: sh test_leaks.sh PATH_TO_LVC SOURCE_ROOT PATH_TO_LEAK_PROBE PATH_TO_NODLCLOSE
LVC_BIN=$1
ROOT=$2
PROBE=$3
NODLCLOSE=$4
MODEL=$ROOT/tests/golden/model_random.lvcm
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
passed=0
failed=0
# (after the caller's options, so that these win)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}exitcode=23"

# the tool, with dlclose disabled
lvc() { LD_PRELOAD="$NODLCLOSE" "$LVC_BIN" "$@"; }

ok() { passed=$((passed + 1)); echo "ok $1"; }
fail() { failed=$((failed + 1)); echo "not ok $1"; }

# run NAME WANT_RC CMD...: the exit status must be WANT_RC and LeakSanitizer must be silent.
run() {
    rname=$1; want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -eq "$want" ] && ! grep -q "Sanitizer" "$T/err"; then
        ok "$rname"
        return 0
    fi
    echo "  $rname: exit status $rc, want $want" >&2
    grep -A12 "Sanitizer" "$T/err" | head -30 >&2
    fail "$rname"
    return 1
}

# LeakSanitizer works here (it needs ptrace): the probe's deliberate leak must be reported,
# else a silent run of the tool would prove nothing.
"$PROBE" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 23 ] && grep -q "LeakSanitizer: detected memory leaks" "$T/err"; then
    ok "LeakSanitizer reports a leak"
else
    echo "  leak probe: exit status $rc" >&2
    head -5 "$T/err" >&2
    fail "LeakSanitizer reports a leak"
    echo "$passed passed, $failed failed"
    exit 1
fi

# y4m W H FRAMES: a deterministic moving pattern, 4:2:0.
awk -v W=40 -v H=24 -v N=6 'BEGIN {
    printf "YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg\n", W, H;
    cw = int((W + 1) / 2); ch = int((H + 1) / 2);
    for (f = 0; f < N; f++) {
        printf "FRAME\n";
        for (y = 0; y < H; y++) for (x = 0; x < W; x++)
            printf "%c", 30 + ((x + 3 * f) * 7 + y * 5) % 190;
        for (p = 0; p < 2; p++) for (y = 0; y < ch; y++) for (x = 0; x < cw; x++)
            printf "%c", 60 + ((x - f) * 11 + y * 3 + 40 * p) % 120;
    }
}' > "$T/in.y4m"

run encode 0 lvc encode "$T/in.y4m" -o "$T/a.lvc" --model "$MODEL" --qp 40 --key-int 4 \
    --refresh 2 --threads 2 --recon "$T/rec.y4m" --quiet
run decode 0 lvc decode "$T/a.lvc" -o "$T/dec.y4m" --model "$MODEL" --threads 2 --quiet
if cmp -s "$T/rec.y4m" "$T/dec.y4m"; then ok "decode = recon"; else fail "decode = recon"; fi
run bitrate 0 lvc encode "$T/in.y4m" -o "$T/b.lvc" --model "$MODEL" --bitrate 200 --quiet
run info 0 lvc info "$T/a.lvc"
run info_model 0 lvc info "$MODEL"
# damage in the middle of the stream: the decoder reports the bad frames and goes on
size=$(wc -c < "$T/a.lvc")
dd if="$T/a.lvc" of="$T/d.lvc" bs=1 count=$((size / 2)) 2>/dev/null
printf '\377\377\377\377\377\377\377\377' >> "$T/d.lvc"
dd if="$T/a.lvc" bs=1 skip=$((size / 2 + 8)) 2>/dev/null >> "$T/d.lvc"
lvc decode "$T/d.lvc" -o "$T/d.y4m" --model "$MODEL" --quiet >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -ne 23 ] && ! grep -q "Sanitizer" "$T/err"; then
    ok "damaged decode (exit status $rc)"
else
    grep -A12 "Sanitizer" "$T/err" | head -30 >&2
    fail "damaged decode"
fi
run missing_model 1 lvc decode "$T/a.lvc" -o "$T/x.y4m" --model "$T/none.lvcm"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
