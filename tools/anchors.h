/* The x264 and x265 anchors of lvc bench, in-process through libavcodec (built with the
 * `anchors` meson option; GPL code through Debian's libavcodec, in the tool only), and input of
 * anything libavformat opens.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Configuration (the low-delay anchor of DESIGN.md §6; equal to the ffmpeg command line
 *   ffmpeg -i IN -c:v libx264 -preset P -tune psnr -crf N
 *          -x264-params keyint=infinite:scenecut=0:bframes=0 -f h264 OUT
 *   ffmpeg -i IN -c:v libx265 -preset P -tune psnr -crf N
 *          -x265-params keyint=-1:scenecut=0:bframes=0:log-level=error -f hevc OUT
 * with the same -threads; tests/test_anchors.sh checks the equality): infinite key-frame
 * interval, no scene cut, no B-frames; with intra keyint=1 instead (all intra).  Decoding with
 * libavcodec's h264 / hevc decoders. */
#ifndef LVC_TOOLS_ANCHORS_H
#define LVC_TOOLS_ANCHORS_H

#include <stddef.h>

#include "bench.h"

typedef struct AnchorConfig {
    const char *codec;  /* "x264" or "x265" */
    int crf;
    const char *preset; /* "medium" */
    int intra;
    int threads;        /* 0 = automatic */
} AnchorConfig;

/* 1 when libavcodec has the encoder of this anchor ("x264" / "x265"). */
int anchor_available(const char *codec);

/* Encode and decode the clip; out gets bits, PSNR, MS-SSIM (with_msssim) and speeds.
 * Returns 0, or -1 with a message in err. */
int anchor_run(const AnchorConfig *cfg, const BenchClip *clip, int with_msssim, RdPoint *out,
               char *err, size_t err_size);

/* Read up to max_frames (< 0: all) frames of the first video stream of a file libavformat
 * opens, converted to 8-bit I420.  Returns 0 or -1 with a message. */
int anchor_read_clip(const char *path, int max_frames, BenchClip *clip, char *err,
                     size_t err_size);

/* Quiet libav* logging (errors only). */
void anchor_quiet(void);

#endif
