/* Tests of the quality metrics of lvc bench (tools/metrics.c): PSNR and MS-SSIM against values
 * from a direct numpy implementation of the same definitions (Wang et al. 2003: 11 × 11
 * Gaussian window of σ 1.5, valid positions, 5 scales with 2 × 2 averaging, the standard
 * weights; the reduced window for scales smaller than 11), on synthetic pictures.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdint.h>

/* The implementation is compiled in (tools/ is not a library). */
#include "../tools/metrics.c"
#include "check.h"

/* a = (7x + 13y + (xy mod 31)) & 255, b = a + 2((3x + 5y) mod 11 - 5) clamped to 0..255 */
static LvcPicture *make(int w, int h, int distorted)
{
    LvcPicture *p = NULL;
    if (lvc_picture_alloc(w, h, NULL, &p) < 0)
        return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int v = (x * 7 + y * 13 + (x * y) % 31) & 255;
            if (distorted)
                v += ((x * 3 + y * 5) % 11 - 5) * 2;
            p->data[0][y * p->stride[0] + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    for (int pl = 1; pl < 3; pl++)
        for (int y = 0; y < (h + 1) / 2; y++)
            for (int x = 0; x < (w + 1) / 2; x++)
                p->data[pl][y * p->stride[pl] + x] = (uint8_t)(100 + pl * 20 + (distorted & x & 1));
    return p;
}

static void check_size(int w, int h, double want_msssim, double want_psnr)
{
    LvcPicture *a = make(w, h, 0), *b = make(w, h, 1);
    CHECK(a && b, "alloc");
    if (!a || !b)
        return;
    double ms = metrics_msssim_y(a, b);
    CHECK(fabs(ms - want_msssim) < 1e-5, "%dx%d MS-SSIM %.9f, numpy %.9f", w, h, ms, want_msssim);
    FrameMetrics m;
    CHECK(metrics_frame(a, b, 1, &m) == 0, "frame");
    CHECK(fabs(m.psnr[0] - want_psnr) < 1e-9, "%dx%d PSNR-Y %.12f, numpy %.12f", w, h,
          m.psnr[0], want_psnr);
    CHECK(fabs(m.psnr_yuv - (6 * m.psnr[0] + m.psnr[1] + m.psnr[2]) / 8) < 1e-12, "PSNR-YUV");
    CHECK(metrics_frame(a, a, 1, &m) == 0 && m.psnr[0] == 100 && m.psnr_yuv == 100 &&
              fabs(m.msssim_y - 1) < 1e-6,
          "identical pictures: %.3f %.6f", m.psnr[0], m.msssim_y);
    lvc_picture_unref(a);
    lvc_picture_unref(b);
}

static void test_msssim_full_windows(void)
{
    check_size(200, 180, 0.9989119185162113, 32.212560939506055);
}

static void test_msssim_small(void)
{
    check_size(64, 48, 0.9989193650631795, 32.2227319949144);
}

static void test_psnr(void)
{
    CHECK(metrics_psnr(0, 100) == 100, "lossless");
    CHECK(fabs(metrics_psnr(100 * 65025.0, 100) - 0) < 1e-12, "MSE 255^2 -> 0 dB");
    CHECK(fabs(metrics_psnr(100 * 6.5025, 100) - 40) < 1e-9, "40 dB");
}

int main(void)
{
    RUN(test_msssim_full_windows);
    RUN(test_msssim_small);
    RUN(test_psnr);
    return check_finish();
}
