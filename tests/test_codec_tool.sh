#!/bin/sh
# Tests of `lvc encode` and `lvc decode`.  Usage: sh test_codec_tool.sh PATH_TO_LVC SOURCE_ROOT
# Encodes a small generated y4m with the golden random model (tests/golden/model_random.lvcm).
LVC=$1
ROOT=$2
MODEL=$ROOT/tests/golden/model_random.lvcm
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
passed=0
failed=0
export LC_ALL=C

ok() { passed=$((passed + 1)); echo "ok $1"; }
fail() { failed=$((failed + 1)); echo "not ok $1"; }

# run NAME WANT_RC CMD...: stdout in $T/out, stderr in $T/err, checks the exit status.
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

# y4m W H FRAMES [EXTRA_TAGS]: a deterministic moving pattern, 4:2:0.
y4m() {
    awk -v W="$1" -v H="$2" -v N="$3" -v X="$4" 'BEGIN {
        printf "YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg%s\n", W, H, X;
        cw = int((W + 1) / 2); ch = int((H + 1) / 2);
        for (f = 0; f < N; f++) {
            printf "FRAME\n";
            for (y = 0; y < H; y++) for (x = 0; x < W; x++)
                printf "%c", 30 + ((x + 3 * f) * 7 + y * 5) % 190;
            for (p = 0; p < 2; p++) for (y = 0; y < ch; y++) for (x = 0; x < cw; x++)
                printf "%c", 60 + ((x - f) * 11 + y * 3 + 40 * p) % 120;
        }
    }'
}

y4m 33 19 5 > "$T/in.y4m"

t_roundtrip() {
    run encode 0 "$LVC" encode "$T/in.y4m" -o "$T/a.lvc" --model "$MODEL" --qp 40 --key-int 3 \
        --refresh 2 --threads 2 --recon "$T/rec.y4m" --verbose &&
    has err "encoded 5 frames" && has err "PSNR-YUV" && has err "encoder memory" &&
    run decode 0 "$LVC" decode "$T/a.lvc" -o "$T/dec.y4m" --model "$MODEL" &&
    has err "decoded 5 frames (0 errors)" &&
    cmp "$T/rec.y4m" "$T/dec.y4m" &&
    [ "$(grep -c FRAME "$T/dec.y4m")" -eq 5 ] &&
    head -1 "$T/dec.y4m" | grep -q "^YUV4MPEG2 W33 H19 F25:1 Ip A1:1 C420jpeg"
}

t_md5() {
    run md5a 0 "$LVC" decode "$T/a.lvc" --md5 --threads 1 --model "$MODEL" --quiet &&
    cp "$T/out" "$T/md5a" && has out "^md5 [0-9a-f]\{32\}$" &&
    run md5b 0 "$LVC" decode "$T/a.lvc" --md5 --threads 3 --model "$MODEL" --quiet &&
    cmp "$T/out" "$T/md5a" &&
    run md5c 0 "$LVC" decode "$T/a.lvc" -o "$T/dec2.y4m" --md5 --model "$MODEL" --quiet &&
    cmp "$T/out" "$T/md5a"
}

t_stdout() {
    run stdout 0 "$LVC" decode "$T/a.lvc" -o - --model "$MODEL" --quiet &&
    cmp "$T/out" "$T/dec.y4m"
}

t_threads() {
    run enc1 0 "$LVC" encode "$T/in.y4m" -o "$T/t1.lvc" --model "$MODEL" --threads 1 --quiet &&
    run enc7 0 "$LVC" encode "$T/in.y4m" -o "$T/t7.lvc" --model "$MODEL" --threads 7 --quiet &&
    cmp "$T/t1.lvc" "$T/t7.lvc"
}

t_frames_seek() {
    run seek 0 "$LVC" encode "$T/in.y4m" -o "$T/s.lvc" --model "$MODEL" --frames 2 --seek 1 \
        --quiet --recon "$T/srec.y4m" &&
    [ "$(grep -c FRAME "$T/srec.y4m")" -eq 2 ] &&
    run seekdec 0 "$LVC" decode "$T/s.lvc" -o "$T/sdec.y4m" --model "$MODEL" &&
    has err "decoded 2 frames" && cmp "$T/srec.y4m" "$T/sdec.y4m"
}

t_model_lookup() {
    id=$(cat "$ROOT/tests/golden/model_random.id") &&
    mkdir -p "$T/models" && cp "$MODEL" "$T/models/$id.lvcm" &&
    LVC_MODEL_PATH=$T/models run lookup 0 "$LVC" decode "$T/a.lvc" -o "$T/dec3.y4m" --quiet &&
    cmp "$T/dec3.y4m" "$T/dec.y4m" &&
    LVC_MODEL_PATH=$T/nowhere run nomodel 1 "$LVC" decode "$T/a.lvc" -o "$T/dec4.y4m" &&
    has err "$id" &&
    LVC_MODEL=$MODEL run envmodel 0 "$LVC" encode "$T/in.y4m" -o "$T/e.lvc" --quiet &&
    cmp "$T/e.lvc" "$T/t1.lvc" &&
    LVC_MODEL=$T/missing.lvcm run badmodel 1 "$LVC" encode "$T/in.y4m" -o "$T/e.lvc" &&
    has err "missing.lvcm"
}

t_errors() {
    y4m 16 16 1 " It" > "$T/inter.y4m" &&
    run interlaced 1 "$LVC" encode "$T/inter.y4m" -o "$T/x.lvc" --model "$MODEL" &&
    has err "interlac" &&
    printf 'YUV4MPEG2 W16 H16 C444\nFRAME\n' > "$T/c444.y4m" &&
    run c444 1 "$LVC" encode "$T/c444.y4m" -o "$T/x.lvc" --model "$MODEL" && has err "C444" &&
    y4m 16 16 1 > "$T/one.y4m" && head -c 300 "$T/one.y4m" > "$T/trunc.y4m" &&
    run truncated 1 "$LVC" encode "$T/trunc.y4m" -o "$T/x.lvc" --model "$MODEL" &&
    has err "truncated" &&
    run noout 2 "$LVC" encode "$T/in.y4m" --model "$MODEL" && has err "no output" &&
    run badqp 2 "$LVC" encode "$T/in.y4m" -o "$T/x.lvc" --qp 64 --model "$MODEL" &&
    has err "qp" &&
    run help 0 "$LVC" encode --help && has out "usage: lvc encode" &&
    run dhelp 0 "$LVC" decode --help && has out "usage: lvc decode"
}

t_damage() {
    # flip one byte in the middle of the third frame's payload: it fails, decoding goes on
    cp "$T/a.lvc" "$T/d.lvc" &&
    off=$(( 32 + 0 )) &&
    s0=$(od -An -tu4 -j32 -N4 "$T/a.lvc" | tr -d ' ') &&
    s1=$(od -An -tu4 -j$((32 + 12 + s0)) -N4 "$T/a.lvc" | tr -d ' ') &&
    s2=$(od -An -tu4 -j$((32 + 24 + s0 + s1)) -N4 "$T/a.lvc" | tr -d ' ') &&
    off=$((32 + 36 + s0 + s1 + s2 / 2)) &&
    printf '\377' | dd of="$T/d.lvc" bs=1 seek=$off conv=notrunc 2>/dev/null &&
    run damaged 1 "$LVC" decode "$T/d.lvc" -o "$T/dd.y4m" --model "$MODEL" &&
    has err "frame 2" && has err "decoded 4 frames (1 errors)"
}

# --rate-change: the target drops to a tenth at frame 20; frames 26-39 are smaller than 6-19
t_rate_change() {
    y4m 64 48 40 > "$T/rc.y4m" &&
    run rc_bad 2 "$LVC" encode "$T/rc.y4m" -o "$T/rc.lvc" --model "$MODEL" --rate-change 20 &&
    has err "FRAME:KBPS" &&
    run rc_encode 0 "$LVC" encode "$T/rc.y4m" -o "$T/rc.lvc" --model "$MODEL" --bitrate 600 \
        --rate-change 20:60 --threads 1 &&
    run rc_info 0 "$LVC" info "$T/rc.lvc" &&
    awk '$1 ~ /^[0-9]+$/ && NF >= 5 { if ($1 >= 6 && $1 < 20) { a += $3; na++ }
                                      if ($1 >= 26) { b += $3; nb++ } }
         END { printf "  bytes per frame %.0f before, %.0f after the change\n", a / na, b / nb;
               exit !(na == 14 && nb == 14 && b < 0.5 * a) }' "$T/out"
}

check roundtrip t_roundtrip
check md5 t_md5
check stdout t_stdout
check threads t_threads
check frames_seek t_frames_seek
check model_lookup t_model_lookup
check errors t_errors
check damage t_damage
check rate_change t_rate_change

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
