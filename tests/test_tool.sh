#!/bin/sh
# Tests of the lvc command-line tool.  Usage: sh test_tool.sh PATH_TO_LVC
# Uses tests/data/small.lvc (written by tests/fuzz/make_stream_corpus.c) and, when the helper
# make_stream_corpus next to lvc can write one, a generated test model.
LVC=$1
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/data
HELPER=$(dirname "$LVC")/make_stream_corpus
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok $1"; }
fail() { failed=$((failed + 1)); echo "not ok $1"; }

# run NAME WANT_RC CMD...: runs CMD with stdout in $T/out and stderr in $T/err, checks the status.
run() {
    rname=$1; want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -eq "$want" ]; then
        return 0
    fi
    echo "  $rname: exit status $rc, want $want" >&2
    sed 's/^/  stderr: /' "$T/err" | head -5 >&2
    return 1
}
has() { grep -q -- "$2" "$T/$1" || { echo "  missing '$2' in $1" >&2; return 1; }; }

check() { cname=$1; shift; if "$@"; then ok "$cname"; else fail "$cname"; fi; }

t_version() { run version 0 "$LVC" --version && has out "^lvc [0-9]" && has out "bitstream version 1"; }
t_help() {
    run help 0 "$LVC" --help && has out "info" &&
    run help_info 0 "$LVC" help info && has out -- "--frames" &&
    run info_help 0 "$LVC" info --help && has out "usage: lvc info" &&
    run no_args 2 "$LVC" && has err "usage" &&
    run unknown 2 "$LVC" frobnicate && has err "unknown command" &&
    run bad_option 2 "$LVC" info --bogus "$DATA/small.lvc" && has err "unknown option" &&
    run bad_frames 2 "$LVC" info --frames x "$DATA/small.lvc" && has err "frames" &&
    run no_file 2 "$LVC" info && has err "no file"
}
t_info() {
    run info 0 "$LVC" info "$DATA/small.lvc" &&
    has out "size 416x240" && has out "time base 1001/30000" &&
    has out "summary: 5 frames (2 key frames), 435 bytes of packets, 527 bytes read" &&
    has out "kbit/s" && has out "refresh" &&
    has out "model 07172737475767778797a7b7c7d7e7f7, 416x240, 8-bit 4:2:0" &&
    has out "fps 30000/1001" && has out "extension 3 bytes" && has out " I .* 32 " &&
    [ ! -s "$T/err" ]
}
t_frames() {
    run frames 0 "$LVC" info --frames 2 "$DATA/small.lvc" && has out "summary: 2 frames (1 key" &&
    run frames0 0 "$LVC" info --frames=0 "$DATA/small.lvc" && has out "summary: 0 frames"
}
t_junk() {
    printf 'this is not a video file at all' >"$T/junk.lvc"
    run junk 1 "$LVC" info "$T/junk.lvc" && has err "^lvc: .*junk.lvc: not an lvc file" &&
    : >"$T/empty" && run empty 1 "$LVC" info "$T/empty" && has err "not an lvc file" &&
    run missing 1 "$LVC" info "$T/does-not-exist" && has err "does-not-exist" &&
    printf 'LVCFxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' >"$T/badhdr" &&
    run badhdr 1 "$LVC" info "$T/badhdr" && has err "version"
}
# Truncations of small.lvc: exit 0 (at a frame boundary) or 1 with a message, never a crash.
t_truncated() {
    size=$(wc -c <"$DATA/small.lvc")
    n=0
    bad=0
    while [ "$n" -lt "$size" ]; do
        head -c "$n" "$DATA/small.lvc" >"$T/trunc.lvc"
        "$LVC" info "$T/trunc.lvc" >"$T/out" 2>"$T/err"
        rc=$?
        if [ "$rc" -eq 1 ]; then
            grep -q "^lvc: .*trunc.lvc: " "$T/err" || { echo "  length $n: no message" >&2; bad=1; }
        elif [ "$rc" -ne 0 ]; then
            echo "  length $n: exit status $rc" >&2
            bad=1
        fi
        # Every length through the first three frames, then every fifth.
        if [ "$n" -lt 160 ]; then n=$((n + 1)); else n=$((n + 5)); fi
    done
    head -c 500 "$DATA/small.lvc" >"$T/trunc.lvc"
    run truncated 1 "$LVC" info "$T/trunc.lvc" && has err "truncated" && has out "summary: 4 frames" &&
    [ "$bad" -eq 0 ]
}
# A damaged frame (reserved bit in the second frame's header byte) is reported and counted.
t_damaged() {
    # Frame 1 starts at 32 + 12 + 69; its packet's first byte is at 32 + 12 + 69 + 12 = 125.
    cp "$DATA/small.lvc" "$T/dmg.lvc"
    printf '\301' | dd of="$T/dmg.lvc" bs=1 seek=125 conv=notrunc 2>/dev/null
    run damaged 1 "$LVC" info "$T/dmg.lvc" && has out "error: frame unit: header byte 0xc1" &&
    has out "summary: 5 frames (2 key frames, 1 damaged)" && has err "1 damaged frame"
}
t_model() {
    if [ ! -x "$HELPER" ] || ! "$HELPER" --model "$T/m.lvcm" >/dev/null 2>&1; then
        echo "  skipped: no test model writer ($HELPER --model)" >&2
        return 0
    fi
    run model 0 "$LVC" info "$T/m.lvcm" && has out "lvc model" && has out "[0-9a-f]\{32\}" &&
    run model_and_stream 0 "$LVC" info "$T/m.lvcm" "$DATA/small.lvc" && has out "lvc model" &&
    has out "summary: 5 frames" &&
    size=$(wc -c <"$T/m.lvcm") &&
    head -c $((size / 2)) "$T/m.lvcm" >"$T/half.lvcm" &&
    run model_truncated 1 "$LVC" info "$T/half.lvcm" && has err "^lvc: .*half.lvcm: ." &&
    printf 'LVCM' >"$T/tiny.lvcm" &&
    run model_tiny 1 "$LVC" info "$T/tiny.lvcm" && has err "^lvc: .*tiny.lvcm: ."
}

check version t_version
check help t_help
check info t_info
check frames t_frames
check junk t_junk
check truncated t_truncated
check damaged t_damaged
check model t_model
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
