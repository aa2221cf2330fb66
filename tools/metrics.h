/* Picture quality metrics of lvc bench and lvc compare: PSNR per plane and MS-SSIM of luma.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_TOOLS_METRICS_H
#define LVC_TOOLS_METRICS_H

#include "lvc/lvc.h"

/* Sum of squared differences of plane pl (0 = Y, 1 = U, 2 = V) of two I420 pictures of the
 * same size (only width, height, data and stride are read). */
double metrics_plane_sse(const LvcPicture *a, const LvcPicture *b, int pl);

/* PSNR in dB of an SSE over n samples of 8 bits, capped at 100 dB (also for sse = 0). */
double metrics_psnr(double sse, double n);

/* MS-SSIM of the luma planes (Wang, Simoncelli, Bovik 2003): 5 scales with 2 × 2 averaging
 * between them, an 11 × 11 Gaussian window of σ = 1.5 (valid positions only), K1 = 0.01,
 * K2 = 0.03, weights 0.0448, 0.2856, 0.3001, 0.2363, 0.1333; negative contrast-structure terms
 * count as 0.  A scale smaller than the window uses the largest odd window that fits (the
 * standard needs at least 176 × 176 pixels for full windows everywhere).  Returns a value in
 * [0, 1], or -1 when out of memory. */
double metrics_msssim_y(const LvcPicture *a, const LvcPicture *b);

/* Per-frame figures of one coded picture against its source. */
typedef struct FrameMetrics {
    double psnr[3];   /* Y, U, V */
    double psnr_yuv;  /* (6 Y + U + V) / 8 */
    double msssim_y;
} FrameMetrics;

/* Compute the figures (with_msssim = 0 skips MS-SSIM and sets it to 0).  Returns 0 or -1. */
int metrics_frame(const LvcPicture *src, const LvcPicture *dec, int with_msssim,
                  FrameMetrics *m);

#endif
