#!/bin/sh
# GPU benchmark of the Vulkan backend: encode and decode fps at 1920x1080 and 3840x2160 on a
# generated clip with the default model, time per frame by stage (networks, transfers, entropy
# coding) and the multiply-add rate, for a machine with a GPU (NVIDIA) and no internet, where
# none of our Debian build dependencies (glslc, Vulkan headers, meson) may be installed.
#
#   tools/gpu-bench.sh prepare [DIR]   here, on a machine with the build dependencies
#                                      (tools/install-deps.sh): DIR (default build-gpu) gets
#                                      what the GPU machine lacks:
#                                        spirv/     the compiled shaders as C (lvc_spirv.c/.h)
#                                        include/   the Vulkan headers
#                                        lib/       the Vulkan loader (libvulkan.so.1)
#                                      Carry the source tree and DIR (a few MB) to the GPU machine.
#   tools/gpu-bench.sh run [DIR]       there: builds liblvc, lvc and vkbench with cc from the
#                                      tree and DIR (no meson, no glslc), checks that Vulkan can
#                                      reach the GPU, and benchmarks.
#
# The GPU machine needs a C compiler, python3 (the clip generator; numpy makes it fast) and the
# NVIDIA driver's Vulkan ICD: /usr/share/vulkan/icd.d/nvidia_icd.json (or /etc/vulkan/icd.d/)
# or at least libGLX_nvidia.so.0, for which run writes an ICD file of its own.  In a container
# the driver's graphics libraries are only present when the container was started with the
# "graphics" driver capability (NVIDIA_DRIVER_CAPABILITIES=all or ...,graphics); with compute
# alone CUDA works but Vulkan does not, and run says so.
#
# Environment: SIZES (default "1920x1080 3840x2160"), FRAMES (default 8), CPU=1 also runs the
# CPU backend for comparison (and checks that both decode to the same MD5), JOBS (compiler
# jobs), LVC_VULKAN_DEVICE (as for liblvc), ALLOW_CPU_DEVICE=1 accepts a CPU implementation of
# Vulkan (lavapipe: for trying the script on a machine without a GPU, at small SIZES).
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-}
DIR=${2:-$SRC/build-gpu}
case $DIR in /*) ;; *) DIR=$(pwd)/$DIR ;; esac

die() { echo "gpu-bench: $*" >&2; exit 1; }

prepare() {
    mkdir -p "$DIR/spirv" "$DIR/include" "$DIR/lib"
    B=$DIR/meson
    if [ ! -f "$B/build.ninja" ]; then
        meson setup "$B" -Dvulkan=enabled -Dgst=disabled -Dtests=disabled -Danchors=disabled \
            >/dev/null || die "meson setup failed (tools/install-deps.sh installs what it needs)"
    fi
    ninja -C "$B" shaders/lvc_spirv.c shaders/lvc_spirv.h >/dev/null
    cp "$B/shaders/lvc_spirv.c" "$B/shaders/lvc_spirv.h" "$DIR/spirv/"
    inc=$(pkg-config --variable=includedir vulkan 2>/dev/null || echo /usr/include)
    [ -f "$inc/vulkan/vulkan.h" ] || die "no Vulkan headers in $inc"
    rm -rf "$DIR/include/vulkan" "$DIR/include/vk_video"
    mkdir -p "$DIR/include/vulkan"
    cp "$inc"/vulkan/*.h "$DIR/include/vulkan/"   # the C headers (not the C++ ones)
    if [ -d "$inc/vk_video" ]; then cp -r "$inc/vk_video" "$DIR/include/"; fi
    loader=$(ls /usr/lib/*/libvulkan.so.1 /usr/lib/libvulkan.so.1 2>/dev/null | head -n 1 || true)
    [ -n "$loader" ] || die "no libvulkan.so.1 here"
    cp -L "$loader" "$DIR/lib/libvulkan.so.1"
    echo "gpu-bench: prepared $DIR ($(du -sh "$DIR" --exclude=meson | cut -f1)); carry it with the" \
         "source tree and run: tools/gpu-bench.sh run $DIR"
}

# ---- run -------------------------------------------------------------------------------------

find_icd() {
    for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
             /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 \
             /usr/local/nvidia/lib; do
        if [ -e "$d/libGLX_nvidia.so.0" ]; then
            # the driver's library without its ICD file: describe it ourselves
            printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", ' \
                "$d/libGLX_nvidia.so.0" > "$DIR/nvidia_icd.json"
            printf '"api_version": "1.3.0" } }\n' >> "$DIR/nvidia_icd.json"
            echo "$DIR/nvidia_icd.json"
            return 0
        fi
    done
    return 1
}

build() {
    O=$DIR/obj
    mkdir -p "$O"
    [ -f "$DIR/spirv/lvc_spirv.c" ] || die "$DIR/spirv/lvc_spirv.c is missing: run" \
        "'tools/gpu-bench.sh prepare' on a machine with glslc and carry $DIR"
    CC=${CC:-cc}
    command -v "$CC" >/dev/null || die "no C compiler ($CC)"
    printf '#define LVC_VERSION_STRING "%s"\n#define LVC_MODEL_DIR "%s"\n' \
        "$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -n 1)" \
        "$SRC/models" > "$O/lvc_config.h"
    VKINC=
    [ -f "$DIR/include/vulkan/vulkan.h" ] && VKINC="-I$DIR/include"
    CFLAGS="-std=c11 -O2 -g -pthread -D_POSIX_C_SOURCE=200809L -DLVC_BUILDING_LIBRARY -DLVC_HAVE_VULKAN=1 \
-I$SRC/codec/include -I$SRC/codec/src -I$O -I$DIR/spirv $VKINC -DLVC_SOURCE_MODELS_DIR=\"$SRC/models\""
    : > "$O/jobs"
    for f in "$SRC"/codec/src/*.c "$SRC"/codec/src/vulkan/*.c "$DIR/spirv/lvc_spirv.c" \
             "$SRC/tools/lvc.c" "$SRC/tools/y4m.c" "$SRC/tools/lvc_codec.c" \
             "$SRC/tools/bench.c" "$SRC/tools/bdrate.c" "$SRC/tools/metrics.c" \
             "$SRC/tools/vkbench.c"; do
        echo "$f" >> "$O/jobs"
    done
    SIMD=
    if [ "$(uname -m)" = x86_64 ]; then
        for isa in "avx2:-mavx2" "avxvnni:-mavx2 -mavxvnni" \
                   "avx512:-mavx2 -mavx512f -mavx512bw -mavx512vl" \
                   "avx512vnni:-mavx2 -mavx512f -mavx512bw -mavx512vl -mavx512vnni"; do
            name=${isa%%:*}
            flags=${isa#*:}
            if echo 'int main(void){return 0;}' | $CC $flags -x c - -o "$O/t" 2>/dev/null; then
                echo "$SRC/codec/src/x86/kernels_$name.c|$flags" >> "$O/jobs"
                SIMD="$SIMD -DLVC_HAVE_$(echo "$name" | tr a-z A-Z)"
            fi
        done
    fi
    export CC CFLAGS SIMD O
    # shellcheck disable=SC2016
    xargs -P "${JOBS:-$(nproc)}" -I{} sh -c '
        f=${1%%|*}; extra=; case $1 in *"|"*) extra=${1#*|} ;; esac
        o=$O/$(echo "$f" | tr / _).o
        $CC $CFLAGS $SIMD $extra -c "$f" -o "$o" || exit 255' sh {} < "$O/jobs" \
        || die "compilation failed"
    LIBS="-lm -pthread -ldl"
    VKLIB="-lvulkan"
    if [ -f "$DIR/lib/libvulkan.so.1" ] && ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
        VKLIB="$DIR/lib/libvulkan.so.1 -Wl,-rpath,$DIR/lib"
    fi
    lib_objs=$(ls "$O"/*codec_src_*.o "$O"/*spirv*.o)
    # shellcheck disable=SC2086
    $CC -o "$O/lvc" $lib_objs "$O"/*tools_lvc.c.o "$O"/*tools_y4m.c.o "$O"/*tools_lvc_codec.c.o \
        "$O"/*tools_bench.c.o "$O"/*tools_bdrate.c.o "$O"/*tools_metrics.c.o $VKLIB $LIBS \
        || die "linking lvc failed"
    # shellcheck disable=SC2086
    $CC -o "$O/vkbench" $lib_objs "$O"/*tools_vkbench.c.o $VKLIB $LIBS || die "linking vkbench failed"
}

gen_clip() { # w h n file
    python3 - "$@" <<'EOF'
import sys
w, h, n, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cw, ch = (w + 1) // 2, (h + 1) // 2
try:
    import numpy as np
except ImportError:
    np = None
with open(path, 'wb') as f:
    f.write(b'YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n' % (w, h))
    for t in range(n):
        f.write(b'FRAME\n')
        if np is not None:
            y, x = np.mgrid[0:h, 0:w]
            lum = (x * 3 + y * 2 + 7 * t + ((x // 16 + y // 16 + t) % 2) * 40
                   + (x * y // 97) % 23) % 256
            f.write(lum.astype(np.uint8).tobytes())
            cy, cx = np.mgrid[0:ch, 0:cw]
            for p in range(2):
                c = 128 + 50 * np.sin((cx + 3 * t + 40 * p) / 23.0) * np.cos(cy / 17.0)
                f.write(c.astype(np.uint8).tobytes())
        else:
            for j in range(h):
                f.write(bytes((i * 3 + j * 2 + 7 * t + ((i // 16 + j // 16 + t) % 2) * 40) % 256
                              for i in range(w)))
            for p in range(2):
                f.write(bytes(((i + 3 * t + 40 * p) * 5 + j * 3) % 100 + 78
                              for j in range(ch) for i in range(cw)))
EOF
}

run() {
    if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ "${ALLOW_CPU_DEVICE:-0}" != 1 ]; then
        if ! icd=$(find_icd); then
            cat >&2 <<EOF
gpu-bench: Vulkan cannot reach the GPU here: no NVIDIA Vulkan ICD
  (/usr/share/vulkan/icd.d/nvidia_icd.json, /etc/vulkan/icd.d/nvidia_icd.json) and no
  libGLX_nvidia.so.0.  The driver's Vulkan part is missing: in a container, start it with the
  graphics driver capability (NVIDIA_DRIVER_CAPABILITIES=all); on a host, install the driver's
  GL/Vulkan libraries.  CUDA alone is not enough.
EOF
            exit 2
        fi
        VK_ICD_FILENAMES=$icd
        VK_DRIVER_FILES=$icd
        export VK_ICD_FILENAMES VK_DRIVER_FILES
        echo "gpu-bench: Vulkan driver $icd"
    fi
    echo "gpu-bench: building liblvc, lvc and vkbench with ${CC:-cc}"
    build
    LVC=$DIR/obj/lvc
    MODEL=$SRC/models/default.lvcm
    [ -f "$MODEL" ] || die "no $MODEL"
    # is the device a GPU?  (auto refuses CPU implementations; vulkan takes whatever there is)
    tiny=$DIR/tiny.y4m
    gen_clip 64 64 1 "$tiny"
    want=auto
    [ "${ALLOW_CPU_DEVICE:-0}" = 1 ] && want=vulkan
    if ! "$LVC" encode --backend "$want" --verbose --quiet --model "$MODEL" -o "$DIR/tiny.lvc" \
            "$tiny" 2> "$DIR/probe.log" || ! grep -q 'encoder backend: vulkan' "$DIR/probe.log"; then
        cat "$DIR/probe.log" >&2
        die "the Vulkan backend does not run on a GPU here (see the messages above)"
    fi
    grep 'Vulkan backend on' "$DIR/probe.log" || true
    echo "== vkbench (single layers: 1x1 128->128 GEMM and depthwise 3x3) =="
    "$DIR/obj/vkbench" -n 20 -v || echo "gpu-bench: vkbench failed"
    FRAMES=${FRAMES:-8}
    for size in ${SIZES:-1920x1080 3840x2160}; do
        w=${size%x*}
        h=${size#*x}
        clip=$DIR/clip_$size.y4m
        [ -f "$clip" ] || gen_clip "$w" "$h" "$FRAMES" "$clip"
        backends=vulkan
        [ "${CPU:-0}" = 1 ] && backends="vulkan cpu"
        for b in $backends; do
            echo "== $size, backend $b, $FRAMES frames, model $(basename "$(readlink -f "$MODEL")") =="
            "$LVC" encode --backend "$b" --verbose --model "$MODEL" --frames "$FRAMES" \
                -o "$DIR/out_${size}_$b.lvc" "$clip"
            "$LVC" decode --backend "$b" --verbose --md5 --model "$MODEL" \
                "$DIR/out_${size}_$b.lvc" 2>&1 |
                tee "$DIR/dec_${size}_$b.log"
        done
        if [ "${CPU:-0}" = 1 ]; then
            if cmp -s "$DIR/out_${size}_vulkan.lvc" "$DIR/out_${size}_cpu.lvc" &&
               [ "$(grep '^md5' "$DIR/dec_${size}_vulkan.log")" = \
                 "$(grep '^md5' "$DIR/dec_${size}_cpu.log")" ]; then
                echo "$size: Vulkan and CPU streams and decoded pictures identical"
            else
                echo "$size: MISMATCH between the Vulkan and CPU backends"
                exit 1
            fi
        fi
    done
}

case $MODE in
prepare) prepare ;;
run) run ;;
*) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
