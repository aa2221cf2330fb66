/* `lvc bench` and `lvc compare` (tools/bench.c) and the types they share with the anchors
 * (tools/anchors.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_TOOLS_BENCH_H
#define LVC_TOOLS_BENCH_H

#include <stddef.h>

#include "lvc/lvc.h"

/* The source frames of one clip (I420 pictures, new references owned by the clip). */
typedef struct BenchClip {
    char name[256];
    int width, height;
    int fps_num, fps_den; /* 0/0 unknown (25 fps is assumed for rates) */
    int par_num, par_den; /* 0/0 unknown */
    int chroma_loc;       /* libavutil's AVChromaLocation values: 0 unspecified, 1 left,
                           * 2 center, 3 top-left (signalled by the anchors as ffmpeg does) */
    int range;            /* 0 unspecified, 1 limited, 2 full */
    int n;
    LvcPicture **frames;
} BenchClip;

/* One rate-distortion point: a codec at one setting over all the clip's frames. */
typedef struct RdPoint {
    char codec[16];     /* "lvc", "x264", "x265" */
    int setting;        /* qp (lvc) or CRF (anchors) */
    int frames;
    double bits;        /* all packets (headers included) */
    double kbps, bpp;
    double psnr[3];     /* mean over frames of the per-frame PSNR of Y, U, V */
    double psnr_yuv;    /* mean of per-frame (6 Y + U + V) / 8 */
    double msssim_y;
    double enc_fps, dec_fps;
} RdPoint;

/* Fill kbps and bpp from bits, frames and the clip. */
void bench_finish_point(RdPoint *p, const BenchClip *clip);

extern const char lvc_bench_usage[];
extern const char lvc_compare_usage[];
int lvc_cmd_bench(int argc, char **argv);
int lvc_cmd_compare(int argc, char **argv);

#endif
