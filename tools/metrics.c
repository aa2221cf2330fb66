/* Quality metrics.  See metrics.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

double metrics_plane_sse(const LvcPicture *a, const LvcPicture *b, int pl)
{
    int pw = pl ? (a->width + 1) / 2 : a->width, ph = pl ? (a->height + 1) / 2 : a->height;
    double sse = 0;
    for (int y = 0; y < ph; y++) {
        const uint8_t *ra = a->data[pl] + y * a->stride[pl], *rb = b->data[pl] + y * b->stride[pl];
        uint64_t s = 0;
        for (int x = 0; x < pw; x++) {
            int d = ra[x] - rb[x];
            s += (uint64_t)(d * d);
        }
        sse += (double)s;
    }
    return sse;
}

double metrics_psnr(double sse, double n)
{
    if (sse <= 0)
        return 100.0;
    double v = 10.0 * log10(255.0 * 255.0 * n / sse);
    return v > 100.0 ? 100.0 : v;
}

/* Separable Gaussian filter of src (w × h) keeping valid positions: dst is
 * (w - k + 1) × (h - k + 1); tmp holds (w - k + 1) × h. */
static void gauss_valid(const float *src, int w, int h, const float *g, int k, float *tmp,
                        float *dst)
{
    const int ow = w - k + 1, oh = h - k + 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < ow; x++) {
            const float *s = src + (size_t)y * w + x;
            float acc = 0;
            for (int i = 0; i < k; i++)
                acc += g[i] * s[i];
            tmp[(size_t)y * ow + x] = acc;
        }
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            const float *s = tmp + (size_t)y * ow + x;
            float acc = 0;
            for (int i = 0; i < k; i++)
                acc += g[i] * s[(size_t)i * ow];
            dst[(size_t)y * ow + x] = acc;
        }
}

/* Mean SSIM and mean contrast-structure term of two float images at one scale. */
static int ssim_scale(const float *a, const float *b, int w, int h, double *ssim, double *cs)
{
    int k = 11;
    if (w < k || h < k) {
        k = w < h ? w : h;
        if (!(k & 1))
            k--;
    }
    if (k < 1)
        k = 1;
    float g[11];
    double gs = 0;
    for (int i = 0; i < k; i++) {
        double d = i - (k - 1) / 2.0;
        g[i] = (float)exp(-d * d / (2 * 1.5 * 1.5));
        gs += g[i];
    }
    for (int i = 0; i < k; i++)
        g[i] = (float)(g[i] / gs);
    const int ow = w - k + 1, oh = h - k + 1;
    const size_t n = (size_t)w * h, on = (size_t)ow * oh;
    float *buf = malloc((3 * n + (size_t)ow * h + 5 * on) * sizeof(float));
    if (!buf)
        return -1;
    float *aa = buf, *bb = aa + n, *ab = bb + n, *tmp = ab + n, *ma = tmp + (size_t)ow * h;
    float *mb = ma + on, *saa = mb + on, *sbb = saa + on, *sab = sbb + on;
    for (size_t i = 0; i < n; i++) {
        aa[i] = a[i] * a[i];
        bb[i] = b[i] * b[i];
        ab[i] = a[i] * b[i];
    }
    gauss_valid(a, w, h, g, k, tmp, ma);
    gauss_valid(b, w, h, g, k, tmp, mb);
    gauss_valid(aa, w, h, g, k, tmp, saa);
    gauss_valid(bb, w, h, g, k, tmp, sbb);
    gauss_valid(ab, w, h, g, k, tmp, sab);
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    double s_sum = 0, cs_sum = 0;
    for (size_t i = 0; i < on; i++) {
        double mua = ma[i], mub = mb[i];
        double va = saa[i] - mua * mua, vb = sbb[i] - mub * mub, cov = sab[i] - mua * mub;
        double c = (2 * cov + c2) / (va + vb + c2);
        s_sum += (2 * mua * mub + c1) / (mua * mua + mub * mub + c1) * c;
        cs_sum += c;
    }
    free(buf);
    *ssim = s_sum / on;
    *cs = cs_sum / on;
    return 0;
}

double metrics_msssim_y(const LvcPicture *pa, const LvcPicture *pb)
{
    static const double weight[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
    int w = pa->width, h = pa->height;
    float *a = malloc((size_t)w * h * sizeof(float)), *b = malloc((size_t)w * h * sizeof(float));
    if (!a || !b) {
        free(a);
        free(b);
        return -1;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            a[(size_t)y * w + x] = pa->data[0][y * pa->stride[0] + x];
            b[(size_t)y * w + x] = pb->data[0][y * pb->stride[0] + x];
        }
    double result = 1;
    for (int s = 0; s < 5; s++) {
        double ssim, cs;
        if (ssim_scale(a, b, w, h, &ssim, &cs) < 0) {
            result = -1;
            break;
        }
        double v = s == 4 ? ssim : cs;
        result *= pow(v > 0 ? v : 0, weight[s]);
        if (s == 4 || w < 2 || h < 2)
            break;
        /* 2 × 2 average (an odd last row or column is dropped) */
        int nw = w / 2, nh = h / 2;
        for (int y = 0; y < nh; y++)
            for (int x = 0; x < nw; x++) {
                size_t i0 = (size_t)(2 * y) * w + 2 * x, i1 = i0 + (size_t)w;
                a[(size_t)y * nw + x] = (a[i0] + a[i0 + 1] + a[i1] + a[i1 + 1]) * 0.25f;
                b[(size_t)y * nw + x] = (b[i0] + b[i0 + 1] + b[i1] + b[i1 + 1]) * 0.25f;
            }
        w = nw;
        h = nh;
    }
    free(a);
    free(b);
    return result;
}

int metrics_frame(const LvcPicture *src, const LvcPicture *dec, int with_msssim,
                  FrameMetrics *m)
{
    const double ny = (double)src->width * src->height;
    const double nc = (double)((src->width + 1) / 2) * ((src->height + 1) / 2);
    for (int pl = 0; pl < 3; pl++)
        m->psnr[pl] = metrics_psnr(metrics_plane_sse(src, dec, pl), pl ? nc : ny);
    m->psnr_yuv = (6 * m->psnr[0] + m->psnr[1] + m->psnr[2]) / 8;
    m->msssim_y = 0;
    if (with_msssim) {
        m->msssim_y = metrics_msssim_y(src, dec);
        if (m->msssim_y < 0)
            return -1;
    }
    return 0;
}
