/* Reference integer kernels (codec/ARITHMETIC.md).  See kernels.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "internal.h"
#if defined(LVC_HAVE_AVX2) || defined(LVC_HAVE_AVXVNNI) || defined(LVC_HAVE_AVX512) ||          \
    defined(LVC_HAVE_AVX512VNNI)
#include "x86/kernels_x86.h"
#endif
#ifdef LVC_HAVE_NEON
#include "arm/kernels_arm.h"
#endif

/* Columns of one output row accumulated at a time (a stack buffer, no allocation). */
#define ROW_CHUNK 256

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* Ceiling of a / b for a ≥ 0, b > 0. */
static int ceil_div_pos(int a, int b) { return (a + b - 1) / b; }

/* ---- CONV ---------------------------------------------------------------------------------- */

int lvc_conv_out_size(int n, int k, int stride, int pad)
{
    int span = n + 2 * pad - k;
    if (n < 1 || stride < 1 || span < 0)
        return 0;
    return span / stride + 1;
}

int lvc_conv_check(const LvcConvParams *p)
{
    if (p->k < 1 || p->k > LVC_CONV_MAX_K || (p->stride != 1 && p->stride != 2) || p->pad < 0 ||
        p->pad >= p->k)
        return lvc_error(LVC_EINVAL, "conv: invalid kernel %d, stride %d or padding %d", p->k,
                         p->stride, p->pad);
    if (p->cin < 1 || p->cout < 1 || p->groups < 1 || p->cin % p->groups ||
        p->cout % p->groups)
        return lvc_error(LVC_EINVAL, "conv: groups %d do not divide %d → %d channels",
                         p->groups, p->cin, p->cout);
    if (p->h < 1 || p->w < 1 || p->ho != lvc_conv_out_size(p->h, p->k, p->stride, p->pad) ||
        p->wo != lvc_conv_out_size(p->w, p->k, p->stride, p->pad) || p->ho < 1 || p->wo < 1)
        return lvc_error(LVC_EINVAL, "conv: output %dx%d does not match input %dx%d", p->wo,
                         p->ho, p->w, p->h);
    if (!p->w8 == !p->w16)
        return lvc_error(LVC_EINVAL, "conv: exactly one weight type must be given");
    if (!p->shift)
        return lvc_error(LVC_EINVAL, "conv: no shifts");
    for (int co = 0; co < p->cout; co++)
        if (p->shift[co] < 1 || p->shift[co] > 30)
            return lvc_error(LVC_EINVAL, "conv: shift %d of channel %d outside 1..30",
                             p->shift[co], co);
    if (p->act < LVC_ACT_NONE || p->act > LVC_ACT_LRELU ||
        (p->act == LVC_ACT_LRELU && (p->act_shift < 1 || p->act_shift > 15)))
        return lvc_error(LVC_EINVAL, "conv: invalid activation %d/%d", p->act, p->act_shift);
    return 0;
}

/* The k·k taps of weights [co][ci'] as int32. */
static void load_taps(int32_t *taps, const LvcConvParams *p, int co, int cig, int ci)
{
    size_t kk = (size_t)p->k * (size_t)p->k;
    size_t base = ((size_t)co * (size_t)cig + (size_t)ci) * kk;
    for (size_t t = 0; t < kk; t++)
        taps[t] = p->w8 ? p->w8[base + t] : p->w16[base + t];
}

static uint32_t bias_of(const LvcConvParams *p, int co)
{
    return p->bias ? (uint32_t)p->bias[co] : 0;
}

/* out = act(requant(acc, S)) for n accumulators. */
static void store_row(int16_t *out, const uint32_t *acc, int n, int s, const LvcConvParams *p)
{
    for (int t = 0; t < n; t++)
        out[t] = (int16_t)lvc_act(lvc_requant(lvc_u2i(acc[t]), s), p->act, p->act_shift);
}

/* The generic convolution, straight from §3.1.  For every output row and a chunk of its
 * columns, the accumulators start at the bias and collect tap · input over the taps whose
 * input sample lies inside the picture (the others are zero and contribute nothing). */
void lvc_conv_c(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    const int k = p->k, s = p->stride, pad = p->pad, w = p->w, h = p->h, wo = p->wo;
    const int cig = p->cin / p->groups, cog = p->cout / p->groups;
    uint32_t acc[ROW_CHUNK];
    int32_t taps[LVC_CONV_MAX_K * LVC_CONV_MAX_K];

    for (int co = 0; co < p->cout; co++) {
        const int ci0 = (co / cog) * cig;
        int16_t *oplane = dst + (size_t)co * (size_t)p->ho * (size_t)wo;
        for (int oy = y0; oy < y1; oy++) {
            for (int x0 = 0; x0 < wo; x0 += ROW_CHUNK) {
                const int n = imin(ROW_CHUNK, wo - x0);
                for (int t = 0; t < n; t++)
                    acc[t] = bias_of(p, co);
                for (int ci = 0; ci < cig; ci++) {
                    const int16_t *iplane = src + (size_t)(ci0 + ci) * (size_t)h * (size_t)w;
                    load_taps(taps, p, co, cig, ci);
                    for (int i = 0; i < k; i++) {
                        const int iy = oy * s + i - pad;
                        if (iy < 0 || iy >= h)
                            continue;
                        const int16_t *row = iplane + (size_t)iy * (size_t)w;
                        for (int j = 0; j < k; j++) {
                            /* output column x reads input column x·s + off */
                            const int off = j - pad, tap = taps[i * k + j];
                            if (w - 1 - off < 0)
                                continue;
                            const int t0 = imax(ceil_div_pos(imax(-off, 0), s) - x0, 0);
                            const int t1 = imin((w - 1 - off) / s + 1 - x0, n);
                            for (int t = t0; t < t1; t++)
                                acc[t] += (uint32_t)(tap * row[(x0 + t) * s + off]);
                        }
                    }
                }
                store_row(oplane + (size_t)oy * (size_t)wo + x0, acc, n, p->shift[co], p);
            }
        }
    }
}

/* k = 1, stride 1, pad 0: output (y, x) reads input (y, x) of the group's channels, so a band
 * of rows is one contiguous span per channel. */
void lvc_conv1x1_c(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    const int cig = p->cin / p->groups, cog = p->cout / p->groups;
    const size_t plane = (size_t)p->h * (size_t)p->w;
    const int total = (y1 - y0) * p->w;
    uint32_t acc[ROW_CHUNK];

    for (int co = 0; co < p->cout; co++) {
        const int ci0 = (co / cog) * cig;
        const size_t start = (size_t)y0 * (size_t)p->w;
        for (int x0 = 0; x0 < total; x0 += ROW_CHUNK) {
            const int n = imin(ROW_CHUNK, total - x0);
            for (int t = 0; t < n; t++)
                acc[t] = bias_of(p, co);
            for (int ci = 0; ci < cig; ci++) {
                const size_t widx = (size_t)co * (size_t)cig + (size_t)ci;
                const int32_t tap = p->w8 ? p->w8[widx] : p->w16[widx];
                const int16_t *in = src + (size_t)(ci0 + ci) * plane + start + (size_t)x0;
                for (int t = 0; t < n; t++)
                    acc[t] += (uint32_t)(tap * in[t]);
            }
            store_row(dst + (size_t)co * plane + start + (size_t)x0, acc, n, p->shift[co], p);
        }
    }
}

/* Depthwise 3×3, stride 1, pad 1: channel c reads only input channel c; output (y, x) reads
 * input rows y − 1..y + 1 and columns x − 1..x + 1 where they exist. */
void lvc_dw3x3_c(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    const int h = p->h, w = p->w;
    const size_t plane = (size_t)h * (size_t)w;
    int32_t taps[9];

    for (int c = 0; c < p->cout; c++) {
        const int16_t *in = src + (size_t)c * plane;
        int16_t *out = dst + (size_t)c * plane;
        load_taps(taps, p, c, 1, 0);
        for (int y = y0; y < y1; y++) {
            for (int x = 0; x < w; x++) {
                uint32_t acc = bias_of(p, c);
                for (int i = 0; i < 3; i++) {
                    const int iy = y + i - 1;
                    if (iy < 0 || iy >= h)
                        continue;
                    for (int j = 0; j < 3; j++) {
                        const int ix = x + j - 1;
                        if (ix >= 0 && ix < w)
                            acc += (uint32_t)(taps[i * 3 + j] * in[(size_t)iy * (size_t)w + (size_t)ix]);
                    }
                }
                store_row(out + (size_t)y * (size_t)w + (size_t)x, &acc, 1, p->shift[c], p);
            }
        }
    }
}

LvcConvFn lvc_conv_select(const LvcDsp *dsp, const LvcConvParams *p)
{
    if (p->k == 1 && p->stride == 1 && p->pad == 0)
        return dsp->conv1x1;
    if (p->k == 3 && p->stride == 1 && p->pad == 1 && p->groups == p->cin &&
        p->groups == p->cout)
        return dsp->dw3x3;
    return dsp->conv;
}

/* ---- element-wise kernels ------------------------------------------------------------------ */

static void add_c(int16_t *dst, const int16_t *a, int da, const int16_t *b, int db, int n,
                  int act, int act_shift)
{
    for (int i = 0; i < n; i++) {
        int32_t v = lvc_sat16(lvc_align(a[i], da) + lvc_align(b[i], db));
        dst[i] = (int16_t)lvc_act(v, act, act_shift);
    }
}

static void rescale_c(int16_t *dst, const int16_t *src, int d, int n, int act, int act_shift)
{
    for (int i = 0; i < n; i++)
        dst[i] = (int16_t)lvc_act(lvc_sat16(lvc_align(src[i], d)), act, act_shift);
}

static void qmul_c(int16_t *dst, const int16_t *src, int32_t mul, int s, int n, int act,
                   int act_shift)
{
    for (int i = 0; i < n; i++)
        dst[i] = (int16_t)lvc_act(lvc_requant(src[i] * mul, s), act, act_shift);
}

static void act_c(int16_t *dst, const int16_t *src, int n, int act, int act_shift)
{
    for (int i = 0; i < n; i++)
        dst[i] = (int16_t)lvc_act(src[i], act, act_shift);
}

/* ---- PACK / UNPACK (§5) -------------------------------------------------------------------- */

/* Level-0 width and height of a w × h picture: Wp/8, Hp/8. */
static int packed_size(int n) { return 2 * ((n + 15) / 16); }

/* One b × b block per channel: X[c0 + b·a + bb][i][j] = P[min(b·i + a, ph − 1)][min(b·j + bb,
 * pw − 1)] − 128, for level-0 rows [y0, y1). */
static void pack_plane(int16_t *dst, int c0, int bs, int h0, int w0, const uint8_t *pl,
                       ptrdiff_t stride, int pw, int ph, int y0, int y1)
{
    for (int a = 0; a < bs; a++) {
        for (int bb = 0; bb < bs; bb++) {
            int16_t *out = dst + (size_t)(c0 + bs * a + bb) * (size_t)h0 * (size_t)w0;
            for (int i = y0; i < y1; i++) {
                const uint8_t *row = pl + (ptrdiff_t)imin(bs * i + a, ph - 1) * stride;
                int16_t *orow = out + (size_t)i * (size_t)w0;
                for (int j = 0; j < w0; j++)
                    orow[j] = (int16_t)(row[imin(bs * j + bb, pw - 1)] - 128);
            }
        }
    }
}

static void pack_c(int16_t *dst, const uint8_t *py, ptrdiff_t sy, const uint8_t *pu,
                   ptrdiff_t su, const uint8_t *pv, ptrdiff_t sv, int w, int h, int y0, int y1)
{
    const int h0 = packed_size(h), w0 = packed_size(w), cw = (w + 1) / 2, ch = (h + 1) / 2;
    pack_plane(dst, 0, 8, h0, w0, py, sy, w, h, y0, y1);
    pack_plane(dst, 64, 4, h0, w0, pu, su, cw, ch, y0, y1);
    pack_plane(dst, 80, 4, h0, w0, pv, sv, cw, ch, y0, y1);
}

/* The inverse of pack_plane for the samples inside the pw × ph plane:
 * P[b·i + a][b·j + bb] = clamp(align(X[c0 + b·a + bb][i][j], f − 7) + 128, 0, 255). */
static void unpack_plane(uint8_t *pl, ptrdiff_t stride, int pw, int ph, const int16_t *src,
                         int c0, int bs, int h0, int w0, int f, int y0, int y1)
{
    for (int a = 0; a < bs; a++) {
        for (int bb = 0; bb < bs; bb++) {
            const int16_t *in = src + (size_t)(c0 + bs * a + bb) * (size_t)h0 * (size_t)w0;
            for (int i = y0; i < y1; i++) {
                const int py = bs * i + a;
                if (py >= ph)
                    break;
                const int16_t *irow = in + (size_t)i * (size_t)w0;
                uint8_t *row = pl + (ptrdiff_t)py * stride;
                for (int j = 0; j < w0 && bs * j + bb < pw; j++) {
                    int32_t v = lvc_align(irow[j], f - 7) + 128;
                    row[bs * j + bb] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
            }
        }
    }
}

static void unpack_c(uint8_t *py, ptrdiff_t sy, uint8_t *pu, ptrdiff_t su, uint8_t *pv,
                     ptrdiff_t sv, int w, int h, const int16_t *src, int f, int y0, int y1)
{
    const int h0 = packed_size(h), w0 = packed_size(w), cw = (w + 1) / 2, ch = (h + 1) / 2;
    unpack_plane(py, sy, w, h, src, 0, 8, h0, w0, f, y0, y1);
    unpack_plane(pu, su, cw, ch, src, 64, 4, h0, w0, f, y0, y1);
    unpack_plane(pv, sv, cw, ch, src, 80, 4, h0, w0, f, y0, y1);
}

/* ---- the dispatch table -------------------------------------------------------------------- */

void lvc_dsp_init(LvcDsp *dsp, int max_level)
{
    dsp->conv = lvc_conv_c;
    dsp->conv1x1 = lvc_conv1x1_c;
    dsp->dw3x3 = lvc_dw3x3_c;
    dsp->add = add_c;
    dsp->rescale = rescale_c;
    dsp->qmul = qmul_c;
    dsp->act = act_c;
    dsp->pack = pack_c;
    dsp->unpack = unpack_c;

    /* SIMD levels (cpu.h), lowest first, each replacing the entries it implements, up to the
     * smaller of max_level and the cap (lvc_set_cpu_level_cap, LVC_CPU_LEVEL). */
    const int cap = lvc_cpu_level_cap();
    const int limit = max_level < cap ? max_level : cap;
    (void)limit;
#ifdef LVC_HAVE_AVX2
    if (limit >= LVC_CPU_AVX2 && lvc_cpu_supports(LVC_CPU_AVX2))
        lvc_dsp_init_avx2(dsp);
#endif
#ifdef LVC_HAVE_AVXVNNI
    if (limit >= LVC_CPU_AVXVNNI && lvc_cpu_supports(LVC_CPU_AVXVNNI))
        lvc_dsp_init_avxvnni(dsp);
#endif
#ifdef LVC_HAVE_AVX512
    if (limit >= LVC_CPU_AVX512 && lvc_cpu_supports(LVC_CPU_AVX512))
        lvc_dsp_init_avx512(dsp);
#endif
#ifdef LVC_HAVE_AVX512VNNI
    if (limit >= LVC_CPU_AVX512VNNI && lvc_cpu_supports(LVC_CPU_AVX512VNNI))
        lvc_dsp_init_avx512vnni(dsp);
#endif
#ifdef LVC_HAVE_NEON
    if (limit >= LVC_CPU_NEON && lvc_cpu_supports(LVC_CPU_NEON))
        lvc_dsp_init_neon(dsp);
#endif
}

/* ---- band-level ops on tensors ------------------------------------------------------------- */

static int16_t *row_ptr(const LvcTensor *t, int c, int y)
{
    return t->data + ((size_t)c * (size_t)t->h + (size_t)y) * (size_t)t->w;
}

void lvc_conv_band(const LvcDsp *dsp, const LvcConvParams *p, const LvcTensor *in,
                   LvcTensor *out, int y0, int y1)
{
    lvc_conv_select(dsp, p)(out->data, in->data, p, y0, y1);
}

void lvc_add_band(const LvcDsp *dsp, LvcTensor *out, const LvcTensor *a, const LvcTensor *b,
                  int act, int act_shift, int y0, int y1)
{
    const int n = (y1 - y0) * out->w;
    for (int c = 0; c < out->c; c++)
        dsp->add(row_ptr(out, c, y0), row_ptr(a, c, y0), a->exp - out->exp, row_ptr(b, c, y0),
                 b->exp - out->exp, n, act, act_shift);
}

void lvc_rescale_band(const LvcDsp *dsp, LvcTensor *out, const LvcTensor *in, int act,
                      int act_shift, int y0, int y1)
{
    const int n = (y1 - y0) * out->w;
    for (int c = 0; c < out->c; c++)
        dsp->rescale(row_ptr(out, c, y0), row_ptr(in, c, y0), in->exp - out->exp, n, act,
                     act_shift);
}

void lvc_qmul_band(const LvcDsp *dsp, LvcTensor *out, const LvcTensor *in, const int16_t *trow,
                   int fq, int act, int act_shift, int y0, int y1)
{
    const int n = (y1 - y0) * out->w;
    const int s = in->exp + fq - out->exp;
    for (int c = 0; c < out->c; c++)
        dsp->qmul(row_ptr(out, c, y0), row_ptr(in, c, y0), trow[c], s, n, act, act_shift);
}

void lvc_act_band(const LvcDsp *dsp, LvcTensor *out, const LvcTensor *in, int act,
                  int act_shift, int y0, int y1)
{
    const int n = (y1 - y0) * out->w;
    for (int c = 0; c < out->c; c++)
        dsp->act(row_ptr(out, c, y0), row_ptr(in, c, y0), n, act, act_shift);
}

void lvc_concat_band(LvcTensor *out, int c0, const LvcTensor *in, int y0, int y1)
{
    const size_t n = (size_t)(y1 - y0) * (size_t)out->w;
    for (int c = 0; c < in->c; c++)
        memcpy(row_ptr(out, c0 + c, y0), row_ptr(in, c, y0), n * sizeof(int16_t));
}

/* out[c][y][x] = in[c·r² + (y mod r)·r + (x mod r)][y / r][x / r] */
void lvc_shuffle_band(LvcTensor *out, const LvcTensor *in, int r, int y0, int y1)
{
    for (int c = 0; c < out->c; c++)
        for (int y = y0; y < y1; y++) {
            int16_t *orow = row_ptr(out, c, y);
            for (int x = 0; x < out->w; x++)
                orow[x] = row_ptr(in, c * r * r + (y % r) * r + x % r, y / r)[x / r];
        }
}

/* out[c·r² + i·r + j][y][x] = in[c][y·r + i][x·r + j] */
void lvc_unshuffle_band(LvcTensor *out, const LvcTensor *in, int r, int y0, int y1)
{
    for (int oc = 0; oc < out->c; oc++) {
        const int c = oc / (r * r), i = (oc / r) % r, j = oc % r;
        for (int y = y0; y < y1; y++) {
            int16_t *orow = row_ptr(out, oc, y);
            const int16_t *irow = row_ptr(in, c, y * r + i);
            for (int x = 0; x < out->w; x++)
                orow[x] = irow[x * r + j];
        }
    }
}

void lvc_cbmask_band(LvcTensor *out, const LvcTensor *in, int par, int y0, int y1)
{
    for (int c = 0; c < out->c; c++)
        for (int y = y0; y < y1; y++) {
            int16_t *orow = row_ptr(out, c, y);
            const int16_t *irow = row_ptr(in, c, y);
            for (int x = 0; x < out->w; x++)
                orow[x] = ((y + x) & 1) == par ? irow[x] : 0;
        }
}

void lvc_cbmerge_band(LvcTensor *out, const LvcTensor *a, const LvcTensor *b, int par, int y0,
                      int y1)
{
    for (int c = 0; c < out->c; c++)
        for (int y = y0; y < y1; y++) {
            int16_t *orow = row_ptr(out, c, y);
            const int16_t *arow = row_ptr(a, c, y), *brow = row_ptr(b, c, y);
            for (int x = 0; x < out->w; x++)
                orow[x] = ((y + x) & 1) == par ? arow[x] : brow[x];
        }
}

void lvc_pad_band(LvcTensor *out, const LvcTensor *in, int y0, int y1)
{
    for (int c = 0; c < out->c; c++)
        for (int y = y0; y < y1; y++) {
            int16_t *orow = row_ptr(out, c, y);
            const int16_t *irow = row_ptr(in, c, imin(y, in->h - 1));
            memcpy(orow, irow, (size_t)in->w * sizeof(int16_t));
            for (int x = in->w; x < out->w; x++)
                orow[x] = irow[in->w - 1];
        }
}

void lvc_crop_band(LvcTensor *out, const LvcTensor *in, int y0, int y1)
{
    for (int c = 0; c < out->c; c++)
        for (int y = y0; y < y1; y++)
            memcpy(row_ptr(out, c, y), row_ptr(in, c, y), (size_t)out->w * sizeof(int16_t));
}

/* ---- geometry and §6 spans ----------------------------------------------------------------- */

static int level_size(int n, int level)
{
    if (n < 1 || n > LVC_MAX_DIM || level < -16 || level > 8)
        return 0;
    int size = packed_size(n); /* Hp/8 */
    for (int l = 0; l < level; l++)
        size *= 2;
    for (int l = 0; l < -level; l++)
        size = (size + 1) / 2; /* ⌈⌈a/2⌉/2⌉ = ⌈a/4⌉ */
    return size;
}

int lvc_level_height(int h, int level) { return level_size(h, level); }
int lvc_level_width(int w, int level) { return level_size(w, level); }

void lvc_scale_bins(uint8_t *bin, const int16_t *lambda, int n, int fs, const int32_t *t,
                    int nb)
{
    for (int i = 0; i < n; i++)
        bin[i] = (uint8_t)lvc_scale_bin(lambda[i], fs, t, nb);
}

void lvc_yhat_span(int16_t *yhat, const int16_t *mu, const int32_t *q, int n, int fm)
{
    for (int i = 0; i < n; i++)
        yhat[i] = lvc_yhat(mu[i], q[i], fm);
}

const int16_t *lvc_conv_weights16(const LvcConvParams *p, size_t n, int16_t *buf, size_t nbuf,
                                  int16_t **owned)
{
    *owned = NULL;
    if (p->w16)
        return p->w16;
    int16_t *w = buf;
    if (n > nbuf) {
        w = malloc(n * sizeof(int16_t));
        if (!w)
            return NULL;
        *owned = w;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = p->w8[i];
    return w;
}
