/* AArch64 Advanced SIMD (NEON) kernels.
 *
 * Exactness (codec/ARITHMETIC.md):
 * - smlal (vmlal_s16) multiplies int16 by int16 into int32 exactly and adds modulo 2^32.
 * - srshl by −s (vrshlq_s32) is rshr(x, s): the rounding constant 2^(s−1) is added at full
 *   precision, so nothing overflows; by a non-negative count it is the plain left shift, so
 *   align(x, d) is one vrshlq_s32 by −d.
 * - sqxtn (vqmovn_s32) is sat16; sshl by −k (vshlq_s16) is the flooring asr, and lrelu is
 *   max(v, v >> k) as on x86.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arm_neon.h>
#include <stdlib.h>
#include <string.h>

#include "arm/kernels_arm.h"
#include "kernels.h"

#define CO_BLK 8
#define PX_CHUNK 256
#define WBUF 4096

static inline int16x8_t act8(int16x8_t v, int act, int16x8_t negk)
{
    if (act == LVC_ACT_RELU)
        return vmaxq_s16(v, vdupq_n_s16(0));
    if (act == LVC_ACT_LRELU)
        return vmaxq_s16(v, vshlq_s16(v, negk));
    return v;
}

/* sat16(rshr(lo, s)), sat16(rshr(hi, s)) as one vector; negs = −s */
static inline int16x8_t requant8(int32x4_t lo, int32x4_t hi, int32x4_t negs)
{
    return vcombine_s16(vqmovn_s32(vrshlq_s32(lo, negs)), vqmovn_s32(vrshlq_s32(hi, negs)));
}

static inline int16x8_t load8n(const int16_t *p, int n)
{
    if (n >= 8)
        return vld1q_s16(p);
    int16_t tmp[8] = {0};
    memcpy(tmp, p, (size_t)n * sizeof(int16_t));
    return vld1q_s16(tmp);
}

static inline void store8n(int16_t *p, int16x8_t v, int n)
{
    if (n >= 8) {
        vst1q_s16(p, v);
        return;
    }
    int16_t tmp[8];
    vst1q_s16(tmp, v);
    memcpy(p, tmp, (size_t)n * sizeof(int16_t));
}


/* ---- 1×1: CO_BLK output channels × 8 pixels, one smlal per channel and half ---------------- */

static inline __attribute__((always_inline)) void c1_tile(const int nco, int16_t *dst,
                                                          size_t plane, const int16_t *src,
                                                          const int16_t *w, int cig,
                                                          const int32_t *bias,
                                                          const uint8_t *shift, int r, int act,
                                                          int16x8_t negk)
{
    int32x4_t lo[CO_BLK], hi[CO_BLK];
    for (int j = 0; j < nco; j++)
        lo[j] = hi[j] = vdupq_n_s32(bias ? bias[j] : 0);
    for (int c = 0; c < cig; c++) {
        const int16x8_t x = load8n(src + (size_t)c * plane, r);
        const int16x4_t xl = vget_low_s16(x);
        for (int j = 0; j < nco; j++) {
            const int16_t wj = w[(size_t)j * (size_t)cig + (size_t)c];
            lo[j] = vmlal_n_s16(lo[j], xl, wj);
            hi[j] = vmlal_high_n_s16(hi[j], x, wj);
        }
    }
    for (int j = 0; j < nco; j++) {
        const int32x4_t negs = vdupq_n_s32(-(int32_t)shift[j]);
        const int16x8_t o = act8(requant8(lo[j], hi[j], negs), act, negk);
        store8n(dst + (size_t)j * plane, o, r);
    }
}

static void conv1x1_neon(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    const int cig = p->cin / p->groups, cog = p->cout / p->groups;
    const size_t plane = (size_t)p->h * (size_t)p->w, start = (size_t)y0 * (size_t)p->w;
    const int n = (y1 - y0) * p->w;
    if (n <= 0)
        return;
    int16_t wbuf[WBUF], *owned;
    const int16_t *w16 = lvc_conv_weights16(p, (size_t)p->cout * (size_t)cig, wbuf, WBUF, &owned);
    if (!w16) {
        lvc_conv1x1_c(dst, src, p, y0, y1);
        return;
    }
    const int16x8_t negk = vdupq_n_s16((int16_t)-p->act_shift);
    for (int x0 = 0; x0 < n; x0 += PX_CHUNK) {
        const int nx = n - x0 < PX_CHUNK ? n - x0 : PX_CHUNK;
        for (int co0 = 0; co0 < p->cout;) {
            const int g = co0 / cog, left = (g + 1) * cog - co0;
            int nco = CO_BLK;
            while (nco > left)
                nco /= 2;
            const int16_t *w = w16 + (size_t)co0 * (size_t)cig;
            const int32_t *bias = p->bias ? p->bias + co0 : NULL;
            for (int xs = 0; xs < nx; xs += 8) {
                int r = nx - xs < 8 ? nx - xs : 8, x = xs;
                if (r < 8 && x0 + x + r >= 8) { /* redo part of the previous tile */
                    x -= 8 - r;
                    r = 8;
                }
                const size_t off = start + (size_t)(x0 + x);
                int16_t *d = dst + (size_t)co0 * plane + off;
                const int16_t *s = src + (size_t)g * (size_t)cig * plane + off;
                const uint8_t *sh = p->shift + co0;
                switch (nco) {
                case 8:
                    c1_tile(8, d, plane, s, w, cig, bias, sh, r, p->act, negk);
                    break;
                case 4:
                    c1_tile(4, d, plane, s, w, cig, bias, sh, r, p->act, negk);
                    break;
                case 2:
                    c1_tile(2, d, plane, s, w, cig, bias, sh, r, p->act, negk);
                    break;
                default:
                    c1_tile(1, d, plane, s, w, cig, bias, sh, r, p->act, negk);
                    break;
                }
            }
            co0 += nco;
        }
    }
    free(owned);
}

/* ---- depthwise 3×3: padded rows in a ring of three (as on x86) ----------------------------- */

#define DW_CHUNK 256
#define DW_BUF (DW_CHUNK + 8 + 2)

static void dw_fill(int16_t *buf, const int16_t *row, int w, int x0)
{
    const int m0 = x0 == 0 ? 1 : 0;
    int m1 = w - x0 + 1;
    if (m1 > DW_BUF)
        m1 = DW_BUF;
    if (m0)
        buf[0] = 0;
    memcpy(buf + m0, row + x0 - 1 + m0, (size_t)(m1 - m0) * sizeof(int16_t));
    memset(buf + m1, 0, (size_t)(DW_BUF - m1) * sizeof(int16_t));
}

static void dw3x3_neon(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    const int h = p->h, w = p->w;
    const size_t plane = (size_t)h * (size_t)w;
    int16_t buf[3][DW_BUF];
    const int16x8_t negk = vdupq_n_s16((int16_t)-p->act_shift);
    for (int c = 0; c < p->cout; c++) {
        int16_t t[9];
        for (int i = 0; i < 9; i++)
            t[i] = p->w8 ? p->w8[(size_t)c * 9 + (size_t)i] : p->w16[(size_t)c * 9 + (size_t)i];
        const int32x4_t b = vdupq_n_s32(p->bias ? p->bias[c] : 0);
        const int32x4_t negs = vdupq_n_s32(-(int32_t)p->shift[c]);
        const int16_t *in = src + (size_t)c * plane;
        int16_t *out = dst + (size_t)c * plane;
        for (int x0 = 0; x0 < w; x0 += DW_CHUNK) {
            const int nx = w - x0 < DW_CHUNK ? w - x0 : DW_CHUNK;
            for (int iy = y0 - 1; iy <= y0; iy++)
                if (iy >= 0 && iy < h)
                    dw_fill(buf[(iy + 3) % 3], in + (size_t)iy * (size_t)w, w, x0);
            for (int y = y0; y < y1; y++) {
                if (y + 1 < h)
                    dw_fill(buf[(y + 4) % 3], in + (size_t)(y + 1) * (size_t)w, w, x0);
                int16_t *d = out + (size_t)y * (size_t)w + (size_t)x0;
                for (int x = 0; x < nx; x += 8) {
                    int32x4_t lo = b, hi = b;
                    for (int i = 0; i < 3; i++) {
                        const int iy = y + i - 1;
                        if (iy < 0 || iy >= h)
                            continue;
                        const int16_t *q = buf[(iy + 3) % 3] + x;
                        for (int j = 0; j < 3; j++) {
                            const int16x8_t v = vld1q_s16(q + j);
                            lo = vmlal_n_s16(lo, vget_low_s16(v), t[3 * i + j]);
                            hi = vmlal_high_n_s16(hi, v, t[3 * i + j]);
                        }
                    }
                    store8n(d + x, act8(requant8(lo, hi, negs), p->act, negk), nx - x);
                }
            }
        }
    }
}

/* ---- element-wise -------------------------------------------------------------------------- */

static void add_neon(int16_t *dst, const int16_t *a, int da, const int16_t *b, int db, int n,
                     int act, int act_shift)
{
    const int32x4_t na = vdupq_n_s32(-da), nb = vdupq_n_s32(-db);
    const int16x8_t negk = vdupq_n_s16((int16_t)-act_shift);
    for (int i = 0; i < n; i += 8) {
        const int r = n - i;
        const int16x8_t va = load8n(a + i, r), vb = load8n(b + i, r);
        const int32x4_t lo = vaddq_s32(vrshlq_s32(vmovl_s16(vget_low_s16(va)), na),
                                       vrshlq_s32(vmovl_s16(vget_low_s16(vb)), nb));
        const int32x4_t hi = vaddq_s32(vrshlq_s32(vmovl_high_s16(va), na),
                                       vrshlq_s32(vmovl_high_s16(vb), nb));
        store8n(dst + i, act8(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi)), act, negk), r);
    }
}

static void rescale_neon(int16_t *dst, const int16_t *src, int d, int n, int act, int act_shift)
{
    const int32x4_t nd = vdupq_n_s32(-d);
    const int16x8_t negk = vdupq_n_s16((int16_t)-act_shift);
    for (int i = 0; i < n; i += 8) {
        const int r = n - i;
        const int16x8_t v = load8n(src + i, r);
        const int32x4_t lo = vrshlq_s32(vmovl_s16(vget_low_s16(v)), nd);
        const int32x4_t hi = vrshlq_s32(vmovl_high_s16(v), nd);
        store8n(dst + i, act8(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi)), act, negk), r);
    }
}

static void qmul_neon(int16_t *dst, const int16_t *src, int32_t mul, int s, int n, int act,
                      int act_shift)
{
    if (mul < -32768 || mul > 32767) { /* not a q-table entry */
        for (int i = 0; i < n; i++)
            dst[i] = (int16_t)lvc_act(lvc_requant(src[i] * mul, s), act, act_shift);
        return;
    }
    const int32x4_t negs = vdupq_n_s32(-s);
    const int16x8_t negk = vdupq_n_s16((int16_t)-act_shift);
    const int16_t m = (int16_t)mul;
    for (int i = 0; i < n; i += 8) {
        const int r = n - i;
        const int16x8_t v = load8n(src + i, r);
        const int32x4_t lo = vmull_n_s16(vget_low_s16(v), m), hi = vmull_high_n_s16(v, m);
        store8n(dst + i, act8(requant8(lo, hi, negs), act, negk), r);
    }
}

static void act_neon(int16_t *dst, const int16_t *src, int n, int act, int act_shift)
{
    const int16x8_t negk = vdupq_n_s16((int16_t)-act_shift);
    for (int i = 0; i < n; i += 8) {
        const int r = n - i;
        store8n(dst + i, act8(load8n(src + i, r), act, negk), r);
    }
}

/* ---- 2×2 stride 2: ld2 splits a row into the even and odd input columns ------------------- */

static inline __attribute__((always_inline)) void c2_tile(const int nco, int16_t *dst,
                                                          size_t oplane, const int16_t *src,
                                                          size_t plane, int w,
                                                          const int16_t *wt, int cig,
                                                          const int32_t *bias,
                                                          const uint8_t *shift, int r, int act,
                                                          int16x8_t negk)
{
    int32x4_t lo[CO_BLK], hi[CO_BLK];
    for (int j = 0; j < nco; j++)
        lo[j] = hi[j] = vdupq_n_s32(bias ? bias[j] : 0);
    for (int c = 0; c < cig; c++) {
        for (int i = 0; i < 2; i++) {
            const int16_t *s0 = src + (size_t)c * plane + (size_t)i * (size_t)w;
            int16x8x2_t v;
            if (r == 8) {
                v = vld2q_s16(s0);
            } else {
                int16_t tmp[16] = {0};
                memcpy(tmp, s0, (size_t)(2 * r) * sizeof(int16_t));
                v = vld2q_s16(tmp);
            }
            for (int j = 0; j < nco; j++) {
                const int16_t *wp = wt + ((size_t)j * (size_t)cig + (size_t)c) * 4 + 2 * (size_t)i;
                lo[j] = vmlal_n_s16(lo[j], vget_low_s16(v.val[0]), wp[0]);
                hi[j] = vmlal_high_n_s16(hi[j], v.val[0], wp[0]);
                lo[j] = vmlal_n_s16(lo[j], vget_low_s16(v.val[1]), wp[1]);
                hi[j] = vmlal_high_n_s16(hi[j], v.val[1], wp[1]);
            }
        }
    }
    for (int j = 0; j < nco; j++) {
        const int32x4_t negs = vdupq_n_s32(-(int32_t)shift[j]);
        const int16x8_t o = act8(requant8(lo[j], hi[j], negs), act, negk);
        store8n(dst + (size_t)j * oplane, o, r);
    }
}

static void conv2x2s2_neon(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0,
                           int y1)
{
    const int cig = p->cin / p->groups, cog = p->cout / p->groups, wo = p->wo;
    const size_t plane = (size_t)p->h * (size_t)p->w, oplane = (size_t)p->ho * (size_t)wo;
    int16_t wbuf[WBUF], *owned;
    const int16_t *w16 = lvc_conv_weights16(p, (size_t)p->cout * (size_t)cig * 4, wbuf, WBUF, &owned);
    if (!w16) {
        lvc_conv_c(dst, src, p, y0, y1);
        return;
    }
    const int16x8_t negk = vdupq_n_s16((int16_t)-p->act_shift);
    for (int oy = y0; oy < y1; oy++) {
        for (int co0 = 0; co0 < p->cout;) {
            const int g = co0 / cog, left = (g + 1) * cog - co0;
            int nco = CO_BLK;
            while (nco > left)
                nco /= 2;
            const int16_t *wt = w16 + (size_t)co0 * (size_t)cig * 4;
            const int32_t *bias = p->bias ? p->bias + co0 : NULL;
            const uint8_t *sh = p->shift + co0;
            for (int xs = 0; xs < wo; xs += 8) {
                int r = wo - xs < 8 ? wo - xs : 8, x = xs;
                if (r < 8 && wo >= 8) { /* redo part of the previous tile */
                    x = wo - 8;
                    r = 8;
                }
                int16_t *d = dst + (size_t)co0 * oplane + (size_t)oy * (size_t)wo + (size_t)x;
                const int16_t *s = src + (size_t)g * (size_t)cig * plane +
                                   (size_t)(2 * oy) * (size_t)p->w + 2 * (size_t)x;
                switch (nco) {
                case 8:
                    c2_tile(8, d, oplane, s, plane, p->w, wt, cig, bias, sh, r, p->act, negk);
                    break;
                case 4:
                    c2_tile(4, d, oplane, s, plane, p->w, wt, cig, bias, sh, r, p->act, negk);
                    break;
                case 2:
                    c2_tile(2, d, oplane, s, plane, p->w, wt, cig, bias, sh, r, p->act, negk);
                    break;
                default:
                    c2_tile(1, d, oplane, s, plane, p->w, wt, cig, bias, sh, r, p->act, negk);
                    break;
                }
            }
            co0 += nco;
        }
    }
    free(owned);
}

/* ---- 3×3 stride 1 pad 1 (dense or grouped): padded rows of all channels in a ring ---------- */

static inline __attribute__((always_inline)) void c3_tile(const int nco, int16_t *dst,
                                                          size_t oplane,
                                                          const int16_t *const rows[3],
                                                          const int16_t *wt, int cig,
                                                          const int32_t *bias,
                                                          const uint8_t *shift, int r, int act,
                                                          int16x8_t negk)
{
    int32x4_t lo[CO_BLK], hi[CO_BLK];
    for (int j = 0; j < nco; j++)
        lo[j] = hi[j] = vdupq_n_s32(bias ? bias[j] : 0);
    for (int c = 0; c < cig; c++) {
        for (int i = 0; i < 3; i++) {
            const int16_t *q = rows[i] + (size_t)c * DW_BUF;
            const int16x8_t v0 = vld1q_s16(q), v1 = vld1q_s16(q + 1), v2 = vld1q_s16(q + 2);
            for (int j = 0; j < nco; j++) {
                const int16_t *wp = wt + ((size_t)j * (size_t)cig + (size_t)c) * 9 + 3 * (size_t)i;
                lo[j] = vmlal_n_s16(lo[j], vget_low_s16(v0), wp[0]);
                hi[j] = vmlal_high_n_s16(hi[j], v0, wp[0]);
                lo[j] = vmlal_n_s16(lo[j], vget_low_s16(v1), wp[1]);
                hi[j] = vmlal_high_n_s16(hi[j], v1, wp[1]);
                lo[j] = vmlal_n_s16(lo[j], vget_low_s16(v2), wp[2]);
                hi[j] = vmlal_high_n_s16(hi[j], v2, wp[2]);
            }
        }
    }
    for (int j = 0; j < nco; j++) {
        const int32x4_t negs = vdupq_n_s32(-(int32_t)shift[j]);
        const int16x8_t o = act8(requant8(lo[j], hi[j], negs), act, negk);
        store8n(dst + (size_t)j * oplane, o, r);
    }
}

static void c3_fill(int16_t *slot, const int16_t *src, int cin, int h, int w, int iy, int x0)
{
    if (iy < 0 || iy >= h) {
        memset(slot, 0, (size_t)cin * DW_BUF * sizeof(int16_t));
        return;
    }
    for (int c = 0; c < cin; c++)
        dw_fill(slot + (size_t)c * DW_BUF, src + ((size_t)c * (size_t)h + (size_t)iy) * (size_t)w,
                w, x0);
}

static void conv3x3s1_neon(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0,
                           int y1)
{
    const int cig = p->cin / p->groups, cog = p->cout / p->groups, h = p->h, w = p->w;
    const size_t plane = (size_t)h * (size_t)w, slot = (size_t)p->cin * DW_BUF;
    int16_t wbuf[WBUF], *owned;
    const int16_t *w16 = lvc_conv_weights16(p, (size_t)p->cout * (size_t)cig * 9, wbuf, WBUF, &owned);
    int16_t *ring = w16 ? malloc(3 * slot * sizeof(int16_t)) : NULL;
    if (!ring) {
        free(owned);
        lvc_conv_c(dst, src, p, y0, y1);
        return;
    }
    const int16x8_t negk = vdupq_n_s16((int16_t)-p->act_shift);
    for (int x0 = 0; x0 < w; x0 += DW_CHUNK) {
        const int nx = w - x0 < DW_CHUNK ? w - x0 : DW_CHUNK;
        for (int iy = y0 - 1; iy <= y0; iy++)
            c3_fill(ring + (size_t)((iy + 3) % 3) * slot, src, p->cin, h, w, iy, x0);
        for (int y = y0; y < y1; y++) {
            c3_fill(ring + (size_t)((y + 4) % 3) * slot, src, p->cin, h, w, y + 1, x0);
            for (int co0 = 0; co0 < p->cout;) {
                const int g = co0 / cog, left = (g + 1) * cog - co0;
                int nco = CO_BLK;
                while (nco > left)
                    nco /= 2;
                const int16_t *wt = w16 + (size_t)co0 * (size_t)cig * 9;
                const int32_t *bias = p->bias ? p->bias + co0 : NULL;
                const uint8_t *sh = p->shift + co0;
                for (int x = 0; x < nx; x += 8) {
                    const int r = nx - x < 8 ? nx - x : 8;
                    const int16_t *rg[3];
                    for (int i = 0; i < 3; i++)
                        rg[i] = ring + (size_t)((y + 2 + i) % 3) * slot +
                                (size_t)g * (size_t)cig * DW_BUF + (size_t)x;
                    int16_t *d = dst + (size_t)co0 * plane + (size_t)y * (size_t)w +
                                 (size_t)(x0 + x);
                    switch (nco) {
                    case 8:
                        c3_tile(8, d, plane, rg, wt, cig, bias, sh, r, p->act, negk);
                        break;
                    case 4:
                        c3_tile(4, d, plane, rg, wt, cig, bias, sh, r, p->act, negk);
                        break;
                    case 2:
                        c3_tile(2, d, plane, rg, wt, cig, bias, sh, r, p->act, negk);
                        break;
                    default:
                        c3_tile(1, d, plane, rg, wt, cig, bias, sh, r, p->act, negk);
                        break;
                    }
                }
                co0 += nco;
            }
        }
    }
    free(ring);
    free(owned);
}

static void conv_neon(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    if (p->k == 1 && p->stride == 1 && p->pad == 0)
        conv1x1_neon(dst, src, p, y0, y1);
    else if (p->k == 2 && p->stride == 2 && p->pad == 0)
        conv2x2s2_neon(dst, src, p, y0, y1);
    else if (p->k == 3 && p->stride == 1 && p->pad == 1 && y0 < y1)
        conv3x3s1_neon(dst, src, p, y0, y1);
    else
        lvc_conv_c(dst, src, p, y0, y1);
}

void lvc_dsp_init_neon(LvcDsp *dsp)
{
    dsp->conv = conv_neon;
    dsp->conv1x1 = conv1x1_neon;
    dsp->dw3x3 = dw3x3_neon;
    dsp->add = add_neon;
    dsp->rescale = rescale_neon;
    dsp->qmul = qmul_neon;
    dsp->act = act_neon;
}
