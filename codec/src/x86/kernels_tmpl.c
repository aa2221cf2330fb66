/* x86 SIMD kernels, one source for every level.  Included by kernels_<level>.c after
 * defining LVC_ISA (the level's name, a suffix of every function), LVC_VBITS (256 or 512) and
 * LVC_VNNI (1: accumulate with vpdpwssd, 0: with vpmaddwd + vpaddd); that file is compiled
 * with the level's target flags.
 *
 * Exactness (codec/ARITHMETIC.md):
 * - Products of an int16 input and an int8/int16 weight are summed in pairs: vpmaddwd and
 *   vpdpwssd compute a·b + c·d in 32 bits and add it to the accumulator modulo 2^32 (the only
 *   pair that does not fit, (−32768)·(−32768)·2 = 2^31, becomes −2^31, its value mod 2^32).
 *   Accumulation order does not matter modulo 2^32.  (vpdpwssds, which saturates, is never
 *   used.)
 * - rshr(x, s) for s ≥ 1 is t − asr(t, 1) with t = asr(x, s − 1): asr(x, s) = asr(t, 1) and
 *   asr(x, s − 1) & 1 = t − 2·asr(t, 1).  No intermediate overflows.
 * - sat16 of int32 lanes is vpackssdw.  Its 128-bit-lane order is undone either by having
 *   split the pixels with vpunpckl/hwd (which give the same lane order) or by a vpermq.
 * - lrelu k of an int16 v is max(v, v >> k) with an arithmetic shift: v ≥ 0 gives v,
 *   v < 0 gives ⌊v / 2^k⌋ ≥ v.  relu is max(v, 0).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "x86/kernels_x86.h"

#define LVC_CAT2(a, b) a##_##b
#define LVC_CAT(a, b) LVC_CAT2(a, b)
#define FN(name) LVC_CAT(name, LVC_ISA)

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
/* Fully unroll the loops over a block's output channels so that the accumulators stay in
 * registers. */
#if defined(__clang__)
#define UNROLL _Pragma("clang loop unroll(full)")
#else
#define UNROLL _Pragma("GCC unroll 16")
#endif
#else
#define ALWAYS_INLINE inline
#define UNROLL
#endif

/* ---- vector vocabulary --------------------------------------------------------------------- */

#if LVC_VBITS == 512
typedef __m512i V;
#define N16 32 /* int16 lanes */
#define v_zero() _mm512_setzero_si512()
#define v_load(p) _mm512_loadu_si512((const void *)(p))
#define v_store(p, v) _mm512_storeu_si512((void *)(p), v)
#define v_set1_32(x) _mm512_set1_epi32(x)
#define v_unpacklo16(a, b) _mm512_unpacklo_epi16(a, b)
#define v_unpackhi16(a, b) _mm512_unpackhi_epi16(a, b)
#define v_add32(a, b) _mm512_add_epi32(a, b)
#define v_sub32(a, b) _mm512_sub_epi32(a, b)
#define v_sra32(a, c) _mm512_sra_epi32(a, c)
#define v_srai32(a, i) _mm512_srai_epi32(a, i)
#define v_sll32(a, c) _mm512_sll_epi32(a, c)
#define v_slli32(a, i) _mm512_slli_epi32(a, i)
#define v_sra16(a, c) _mm512_sra_epi16(a, c)
#define v_srai16(a, i) _mm512_srai_epi16(a, i)
#define v_max16(a, b) _mm512_max_epi16(a, b)
#define v_min32(a, b) _mm512_min_epi32(a, b)
#define v_max32(a, b) _mm512_max_epi32(a, b)
#define v_mullo16(a, b) _mm512_mullo_epi16(a, b)
#define v_mulhi16(a, b) _mm512_mulhi_epi16(a, b)
#define v_packs32(a, b) _mm512_packs_epi32(a, b)
#define v_madd16(a, b) _mm512_madd_epi16(a, b)
#if LVC_VNNI
#define v_dp(acc, a, b) _mm512_dpwssd_epi32(acc, a, b)
#else
#define v_dp(acc, a, b) _mm512_add_epi32(acc, _mm512_madd_epi16(a, b))
#endif
/* packs32 of (x[0..15], y[0..15]) into natural order x[0..15], y[0..15] */
#define v_fixpack(v) _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), v)
/* int16 lanes: even from e, odd from o */
#define v_blend_odd16(e, o) _mm512_mask_blend_epi16((__mmask32)0xaaaaaaaau, e, o)

static ALWAYS_INLINE __mmask32 tail_mask(int n)
{
    return n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << n) - 1u);
}
/* n (0..N16) int16 from p, the rest zero; nothing beyond p + n is read. */
static ALWAYS_INLINE V v_loadn(const int16_t *p, int n)
{
    return _mm512_maskz_loadu_epi16(tail_mask(n), p);
}
static ALWAYS_INLINE void v_storen(int16_t *p, V v, int n)
{
    _mm512_mask_storeu_epi16(p, tail_mask(n), v);
}

#else /* 256 */
typedef __m256i V;
#define N16 16
#define v_zero() _mm256_setzero_si256()
#define v_load(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define v_store(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), v)
#define v_set1_32(x) _mm256_set1_epi32(x)
#define v_unpacklo16(a, b) _mm256_unpacklo_epi16(a, b)
#define v_unpackhi16(a, b) _mm256_unpackhi_epi16(a, b)
#define v_add32(a, b) _mm256_add_epi32(a, b)
#define v_sub32(a, b) _mm256_sub_epi32(a, b)
#define v_sra32(a, c) _mm256_sra_epi32(a, c)
#define v_srai32(a, i) _mm256_srai_epi32(a, i)
#define v_sll32(a, c) _mm256_sll_epi32(a, c)
#define v_slli32(a, i) _mm256_slli_epi32(a, i)
#define v_sra16(a, c) _mm256_sra_epi16(a, c)
#define v_srai16(a, i) _mm256_srai_epi16(a, i)
#define v_max16(a, b) _mm256_max_epi16(a, b)
#define v_min32(a, b) _mm256_min_epi32(a, b)
#define v_max32(a, b) _mm256_max_epi32(a, b)
#define v_mullo16(a, b) _mm256_mullo_epi16(a, b)
#define v_mulhi16(a, b) _mm256_mulhi_epi16(a, b)
#define v_packs32(a, b) _mm256_packs_epi32(a, b)
#define v_madd16(a, b) _mm256_madd_epi16(a, b)
#if LVC_VNNI
#define v_dp(acc, a, b) _mm256_dpwssd_avx_epi32(acc, a, b)
#else
#define v_dp(acc, a, b) _mm256_add_epi32(acc, _mm256_madd_epi16(a, b))
#endif
#define v_fixpack(v) _mm256_permute4x64_epi64(v, 0xd8)
#define v_blend_odd16(e, o) _mm256_blend_epi16(e, o, 0xaa)

static ALWAYS_INLINE V v_loadn(const int16_t *p, int n)
{
    int16_t tmp[16] = {0};
    memcpy(tmp, p, (size_t)n * sizeof(int16_t));
    return v_load(tmp);
}
static ALWAYS_INLINE void v_storen(int16_t *p, V v, int n)
{
    int16_t tmp[16];
    v_store(tmp, v);
    memcpy(p, tmp, (size_t)n * sizeof(int16_t));
}
#endif

static ALWAYS_INLINE __m128i shift_count(int s) { return _mm_cvtsi32_si128(s); }

/* The int32 weight pair (w[0] low, w[1] high) at p. */
static ALWAYS_INLINE int32_t pair_at(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* (w low, 0 high) */
static ALWAYS_INLINE int32_t pair_lo(int16_t w) { return (int32_t)(uint16_t)w; }

/* rshr(x, s) of int32 lanes, s ≥ 1; sm1 holds s − 1. */
static ALWAYS_INLINE V rshr32(V x, __m128i sm1)
{
    V t = v_sra32(x, sm1);
    return v_sub32(t, v_srai32(t, 1));
}

/* act of int16 lanes */
static ALWAYS_INLINE V act16(V v, int act, __m128i k)
{
    if (act == LVC_ACT_RELU)
        return v_max16(v, v_zero());
    if (act == LVC_ACT_LRELU)
        return v_max16(v, v_sra16(v, k));
    return v;
}

/* align(x, d) of int32 lanes holding int16 values, −15 ≤ d ≤ 30. */
static ALWAYS_INLINE V align32(V x, int d, __m128i c)
{
    if (d > 0)
        return rshr32(x, c); /* c = d − 1 */
    if (d < 0)
        return v_sll32(x, c); /* c = −d */
    return x;
}
static ALWAYS_INLINE __m128i align_count(int d) { return shift_count(d > 0 ? d - 1 : -d); }

/* The sign-extended int32 lanes of v in vpunpckl/hwd order (undone by v_packs32). */
static ALWAYS_INLINE V widen_lo(V v) { return v_unpacklo16(v, v_srai16(v, 15)); }
static ALWAYS_INLINE V widen_hi(V v) { return v_unpackhi16(v, v_srai16(v, 15)); }

/* ---- weights as int16 (lvc_conv_weights16) ---------------------------------------------------- */

#define WBUF 4096 /* int16 weights converted on the stack */

/* ---- 1×1 convolution ------------------------------------------------------------------------
 * Output channels are done CO_BLK at a time, pixels N16 at a time: the rows of input channels
 * c and c + 1 are interleaved (vpunpckl/hwd) into int16 pairs and multiplied by the weight
 * pair (w[co][c], w[co][c + 1]), broadcast as one int32.  An odd last channel is paired with
 * zeros. */

/* Output channels per block (their accumulators must fit in the 32 zmm / 16 ymm registers
 * with the inputs; 8 and 6 measured best).  The blocks that remain at the end of a group are
 * done with CO_BLK/2, CO_BLK/4, ... channels; the switches below list those sizes. */
#if LVC_VBITS == 512
#define CO_BLK 8
#else
#define CO_BLK 6
#endif
#define PX_CHUNK 256 /* pixels per pass over all output channels (a multiple of N16) */

static ALWAYS_INLINE void c1_tile(const int nco, const int full, int16_t *dst, size_t plane,
                                  const int16_t *src, const int16_t *w, int cig,
                                  const int32_t *bias, const uint8_t *shift, int r, int act,
                                  __m128i kc)
{
    V acc[CO_BLK][2];
    UNROLL for (int j = 0; j < nco; j++)
        acc[j][0] = acc[j][1] = v_set1_32(bias ? bias[j] : 0);
    int c = 0;
    for (; c + 1 < cig; c += 2) {
        const int16_t *s0 = src + (size_t)c * plane;
        const V a = full ? v_load(s0) : v_loadn(s0, r);
        const V b = full ? v_load(s0 + plane) : v_loadn(s0 + plane, r);
        const V lo = v_unpacklo16(a, b), hi = v_unpackhi16(a, b);
        UNROLL for (int j = 0; j < nco; j++) {
            const V wv = v_set1_32(pair_at(w + (size_t)j * (size_t)cig + (size_t)c));
            acc[j][0] = v_dp(acc[j][0], lo, wv);
            acc[j][1] = v_dp(acc[j][1], hi, wv);
        }
    }
    if (c < cig) {
        const int16_t *s0 = src + (size_t)c * plane;
        const V a = full ? v_load(s0) : v_loadn(s0, r);
        const V lo = v_unpacklo16(a, v_zero()), hi = v_unpackhi16(a, v_zero());
        UNROLL for (int j = 0; j < nco; j++) {
            const V wv = v_set1_32(pair_lo(w[(size_t)j * (size_t)cig + (size_t)c]));
            acc[j][0] = v_dp(acc[j][0], lo, wv);
            acc[j][1] = v_dp(acc[j][1], hi, wv);
        }
    }
    UNROLL for (int j = 0; j < nco; j++) {
        const __m128i sm1 = shift_count(shift[j] - 1);
        V o = v_packs32(rshr32(acc[j][0], sm1), rshr32(acc[j][1], sm1));
        o = act16(o, act, kc);
        if (full)
            v_store(dst + (size_t)j * plane, o);
        else
            v_storen(dst + (size_t)j * plane, o, r);
    }
}

#define C1_CASE(nco)                                                                        \
    case nco:                                                                               \
        if (r == N16)                                                                       \
            c1_tile(nco, 1, d, plane, s, w, cig, bias, p->shift + co0, r, p->act, kc);      \
        else                                                                                \
            c1_tile(nco, 0, d, plane, s, w, cig, bias, p->shift + co0, r, p->act, kc);      \
        break;

static void FN(conv1x1)(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
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
    const __m128i kc = shift_count(p->act_shift);
    for (int x0 = 0; x0 < n; x0 += PX_CHUNK) {
        const int nx = n - x0 < PX_CHUNK ? n - x0 : PX_CHUNK;
        for (int co0 = 0; co0 < p->cout;) {
            const int g = co0 / cog, left = (g + 1) * cog - co0;
            int nco = CO_BLK;
            while (nco > left)
                nco /= 2;
            const int16_t *w = w16 + (size_t)co0 * (size_t)cig;
            const int32_t *bias = p->bias ? p->bias + co0 : NULL;
            for (int xs = 0; xs < nx; xs += N16) {
                int r = nx - xs < N16 ? nx - xs : N16, x = xs;
                if (r < N16 && x0 + x + r >= N16) { /* redo part of the previous tile */
                    x -= N16 - r;
                    r = N16;
                }
                const size_t off = start + (size_t)(x0 + x);
                int16_t *d = dst + (size_t)co0 * plane + off;
                const int16_t *s = src + (size_t)g * (size_t)cig * plane + off;
                switch (nco) {
#if CO_BLK == 12
                    C1_CASE(12)
                    C1_CASE(6)
                    C1_CASE(3)
#elif CO_BLK == 6
                    C1_CASE(6)
                    C1_CASE(3)
#else
#if CO_BLK >= 8
                    C1_CASE(8)
#endif
                    C1_CASE(4)
                    C1_CASE(2)
#endif
                    C1_CASE(1)
                }
            }
            co0 += nco;
        }
    }
    free(owned);
}

/* ---- 2×2 stride 2 convolution ---------------------------------------------------------------
 * Input columns 2x and 2x + 1 are adjacent int16, so a row loaded as int32 lanes is already
 * the pair for output column x, and the weights of taps (i, 0) and (i, 1) are adjacent too. */

static ALWAYS_INLINE void c2_tile(const int nco, const int full, int16_t *dst, size_t oplane,
                                  const int16_t *src, size_t plane, int w, const int16_t *wt,
                                  int cig, const int32_t *bias, const uint8_t *shift, int r,
                                  int act, __m128i kc)
{
    V acc[CO_BLK][2];
    /* input int16 needed: 2r; the first vector holds N16 of them */
    const int n0 = full ? N16 : (2 * r < N16 ? 2 * r : N16), n1 = full ? N16 : 2 * r - n0;
    UNROLL for (int j = 0; j < nco; j++)
        acc[j][0] = acc[j][1] = v_set1_32(bias ? bias[j] : 0);
    for (int c = 0; c < cig; c++) {
        for (int i = 0; i < 2; i++) {
            const int16_t *s0 = src + (size_t)c * plane + (size_t)i * (size_t)w;
            const V a = full ? v_load(s0) : v_loadn(s0, n0);
            const V b = full ? v_load(s0 + N16) : v_loadn(s0 + N16, n1);
            UNROLL for (int j = 0; j < nco; j++) {
                const size_t wi = ((size_t)j * (size_t)cig + (size_t)c) * 4 + 2 * (size_t)i;
                const V wv = v_set1_32(pair_at(wt + wi));
                acc[j][0] = v_dp(acc[j][0], a, wv);
                acc[j][1] = v_dp(acc[j][1], b, wv);
            }
        }
    }
    UNROLL for (int j = 0; j < nco; j++) {
        const __m128i sm1 = shift_count(shift[j] - 1);
        V o = v_fixpack(v_packs32(rshr32(acc[j][0], sm1), rshr32(acc[j][1], sm1)));
        o = act16(o, act, kc);
        if (full)
            v_store(dst + (size_t)j * oplane, o);
        else
            v_storen(dst + (size_t)j * oplane, o, r);
    }
}

#define C2_CASE(nco)                                                                        \
    case nco:                                                                               \
        if (r == N16)                                                                       \
            c2_tile(nco, 1, d, oplane, s, plane, p->w, wt, cig, bias, p->shift + co0, r,     \
                    p->act, kc);                                                            \
        else                                                                                \
            c2_tile(nco, 0, d, oplane, s, plane, p->w, wt, cig, bias, p->shift + co0, r,     \
                    p->act, kc);                                                            \
        break;

static void conv2x2s2(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    const int cig = p->cin / p->groups, cog = p->cout / p->groups, wo = p->wo;
    const size_t plane = (size_t)p->h * (size_t)p->w, oplane = (size_t)p->ho * (size_t)wo;
    int16_t wbuf[WBUF], *owned;
    const int16_t *w16 = lvc_conv_weights16(p, (size_t)p->cout * (size_t)cig * 4, wbuf, WBUF, &owned);
    if (!w16) {
        lvc_conv_c(dst, src, p, y0, y1);
        return;
    }
    const __m128i kc = shift_count(p->act_shift);
    for (int oy = y0; oy < y1; oy++) {
        for (int co0 = 0; co0 < p->cout;) {
            const int g = co0 / cog, left = (g + 1) * cog - co0;
            int nco = CO_BLK;
            while (nco > left)
                nco /= 2;
            const int16_t *wt = w16 + (size_t)co0 * (size_t)cig * 4;
            const int32_t *bias = p->bias ? p->bias + co0 : NULL;
            for (int xs = 0; xs < wo; xs += N16) {
                int r = wo - xs < N16 ? wo - xs : N16, x = xs;
                if (r < N16 && wo >= N16) { /* redo part of the previous tile */
                    x = wo - N16;
                    r = N16;
                }
                int16_t *d = dst + (size_t)co0 * oplane + (size_t)oy * (size_t)wo + (size_t)x;
                const int16_t *s = src + (size_t)g * (size_t)cig * plane +
                                   (size_t)(2 * oy) * (size_t)p->w + 2 * (size_t)x;
                switch (nco) {
#if CO_BLK == 12
                    C2_CASE(12)
                    C2_CASE(6)
                    C2_CASE(3)
#elif CO_BLK == 6
                    C2_CASE(6)
                    C2_CASE(3)
#else
#if CO_BLK >= 8
                    C2_CASE(8)
#endif
                    C2_CASE(4)
                    C2_CASE(2)
#endif
                    C2_CASE(1)
                }
            }
            co0 += nco;
        }
    }
    free(owned);
}


/* ---- depthwise 3×3 --------------------------------------------------------------------------
 * A row segment is copied with its zero padding into buf (buf[m] = in[x0 − 1 + m]).  Loaded
 * as int32 lanes at buf + x, lane k is the pair (in[x − 1 + 2k], in[x + 2k]): taps 0 and 1 of
 * the even output x + 2k; at buf + x + 1 the same for the odd outputs; at + 2 and + 3 the
 * pairs (tap 2, a zero weight).  Even and odd results are interleaved back at the end. */

#define DW_CHUNK 256 /* output columns per segment (a multiple of N16) */
#define DW_BUF (DW_CHUNK + N16 + 4)

/* buf[m] = row[x0 − 1 + m] for m in [0, DW_BUF), zero outside the row's w samples. */
static void dw_fill(int16_t *buf, const int16_t *row, int w, int x0)
{
    const int m0 = x0 == 0 ? 1 : 0; /* first m inside */
    int m1 = w - x0 + 1;            /* one past the last inside */
    if (m1 > DW_BUF)
        m1 = DW_BUF;
    if (m0)
        buf[0] = 0;
    memcpy(buf + m0, row + x0 - 1 + m0, (size_t)(m1 - m0) * sizeof(int16_t));
    memset(buf + m1, 0, (size_t)(DW_BUF - m1) * sizeof(int16_t));
}

static void FN(dw3x3)(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    const int h = p->h, w = p->w;
    const size_t plane = (size_t)h * (size_t)w;
    int16_t buf[3][DW_BUF]; /* input row iy (padded) in buf[(iy + 3) % 3] */
    const __m128i kc = shift_count(p->act_shift);
    const V lo16 = v_set1_32(-32768), hi16 = v_set1_32(32767);

    for (int c = 0; c < p->cout; c++) {
        int16_t t[9];
        for (int i = 0; i < 9; i++)
            t[i] = p->w8 ? p->w8[(size_t)c * 9 + (size_t)i] : p->w16[(size_t)c * 9 + (size_t)i];
        V w01[3], w2[3];
        for (int i = 0; i < 3; i++) {
            w01[i] = v_set1_32(pair_at(t + 3 * i));
            w2[i] = v_set1_32(pair_lo(t[3 * i + 2]));
        }
        const V b = v_set1_32(p->bias ? p->bias[c] : 0);
        const __m128i sm1 = shift_count(p->shift[c] - 1);
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
                const int16_t *r0 = y > 0 ? buf[(y + 2) % 3] : NULL, *r1 = buf[y % 3],
                              *r2 = y + 1 < h ? buf[(y + 1) % 3] : NULL;
                int16_t *d = out + (size_t)y * (size_t)w + (size_t)x0;
                for (int x = 0; x < nx; x += N16) {
                    V e = b, o = b;
                    if (r0) {
                        e = v_dp(e, v_load(r0 + x), w01[0]);
                        o = v_dp(o, v_load(r0 + x + 1), w01[0]);
                        e = v_dp(e, v_load(r0 + x + 2), w2[0]);
                        o = v_dp(o, v_load(r0 + x + 3), w2[0]);
                    }
                    e = v_dp(e, v_load(r1 + x), w01[1]);
                    o = v_dp(o, v_load(r1 + x + 1), w01[1]);
                    e = v_dp(e, v_load(r1 + x + 2), w2[1]);
                    o = v_dp(o, v_load(r1 + x + 3), w2[1]);
                    if (r2) {
                        e = v_dp(e, v_load(r2 + x), w01[2]);
                        o = v_dp(o, v_load(r2 + x + 1), w01[2]);
                        e = v_dp(e, v_load(r2 + x + 2), w2[2]);
                        o = v_dp(o, v_load(r2 + x + 3), w2[2]);
                    }
                    e = v_min32(v_max32(rshr32(e, sm1), lo16), hi16);
                    o = v_min32(v_max32(rshr32(o, sm1), lo16), hi16);
                    V r = act16(v_blend_odd16(e, v_slli32(o, 16)), p->act, kc);
                    if (nx - x >= N16)
                        v_store(d + x, r);
                    else
                        v_storen(d + x, r, nx - x);
                }
            }
        }
    }
}

/* ---- 3×3 stride 1 pad 1 convolution (dense or grouped) --------------------------------------
 * The depthwise scheme with a block of output channels: the padded rows y − 1, y, y + 1 of
 * every input channel are kept in a ring of three slots (each input row is copied once per
 * column segment), and each input channel's four shifted loads per row feed CO_BLK output
 * channels. */

static ALWAYS_INLINE void c3_tile(const int nco, const int full, int16_t *dst, size_t oplane,
                                  const int16_t *const rows[3], const int16_t *wt, int cig,
                                  const int32_t *bias, const uint8_t *shift, int r, int act,
                                  __m128i kc)
{
    V e[CO_BLK], o[CO_BLK];
    UNROLL for (int j = 0; j < nco; j++)
        e[j] = o[j] = v_set1_32(bias ? bias[j] : 0);
    for (int c = 0; c < cig; c++) {
        UNROLL for (int i = 0; i < 3; i++) {
            const int16_t *q = rows[i] + (size_t)c * DW_BUF;
            const V l0 = v_load(q), l1 = v_load(q + 1), l2 = v_load(q + 2), l3 = v_load(q + 3);
            UNROLL for (int j = 0; j < nco; j++) {
                const int16_t *wp = wt + ((size_t)j * (size_t)cig + (size_t)c) * 9 + 3 * i;
                const V w01 = v_set1_32(pair_at(wp)), w2 = v_set1_32(pair_lo(wp[2]));
                e[j] = v_dp(e[j], l0, w01);
                o[j] = v_dp(o[j], l1, w01);
                e[j] = v_dp(e[j], l2, w2);
                o[j] = v_dp(o[j], l3, w2);
            }
        }
    }
    const V lo16 = v_set1_32(-32768), hi16 = v_set1_32(32767);
    UNROLL for (int j = 0; j < nco; j++) {
        const __m128i sm1 = shift_count(shift[j] - 1);
        const V ej = v_min32(v_max32(rshr32(e[j], sm1), lo16), hi16);
        const V oj = v_min32(v_max32(rshr32(o[j], sm1), lo16), hi16);
        const V v = act16(v_blend_odd16(ej, v_slli32(oj, 16)), act, kc);
        if (full)
            v_store(dst + (size_t)j * oplane, v);
        else
            v_storen(dst + (size_t)j * oplane, v, r);
    }
}

#define C3_CASE(nco)                                                                        \
    case nco:                                                                               \
        if (r == N16)                                                                       \
            c3_tile(nco, 1, d, plane, rg, wt, cig, bias, p->shift + co0, r, p->act, kc);    \
        else                                                                                \
            c3_tile(nco, 0, d, plane, rg, wt, cig, bias, p->shift + co0, r, p->act, kc);    \
        break;

/* Slot of input row iy (−1 ≤ iy ≤ h) for the segment at x0: every channel's padded row, or
 * zeros outside the picture. */
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

static void conv3x3s1(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
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
    const __m128i kc = shift_count(p->act_shift);
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
                for (int x = 0; x < nx; x += N16) {
                    const int r = nx - x < N16 ? nx - x : N16;
                    const int16_t *rg[3];
                    for (int i = 0; i < 3; i++)
                        rg[i] = ring + (size_t)((y + 2 + i) % 3) * slot +
                                (size_t)g * (size_t)cig * DW_BUF + (size_t)x;
                    int16_t *d = dst + (size_t)co0 * plane + (size_t)y * (size_t)w +
                                 (size_t)(x0 + x);
                    switch (nco) {
#if CO_BLK == 12
                        C3_CASE(12)
                        C3_CASE(6)
                        C3_CASE(3)
#elif CO_BLK == 6
                        C3_CASE(6)
                        C3_CASE(3)
#else
#if CO_BLK >= 8
                        C3_CASE(8)
#endif
                        C3_CASE(4)
                        C3_CASE(2)
#endif
                        C3_CASE(1)
                    }
                }
                co0 += nco;
            }
        }
    }
    free(ring);
    free(owned);
}

static void FN(conv)(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1)
{
    if (p->k == 2 && p->stride == 2 && p->pad == 0)
        conv2x2s2(dst, src, p, y0, y1);
    else if (p->k == 1 && p->stride == 1 && p->pad == 0)
        FN(conv1x1)(dst, src, p, y0, y1);
    else if (p->k == 3 && p->stride == 1 && p->pad == 1 && y0 < y1)
        conv3x3s1(dst, src, p, y0, y1);
    else
        lvc_conv_c(dst, src, p, y0, y1);
}

/* ---- element-wise -------------------------------------------------------------------------- */

static void FN(add)(int16_t *dst, const int16_t *a, int da, const int16_t *b, int db, int n,
                    int act, int act_shift)
{
    const __m128i ca = align_count(da), cb = align_count(db), kc = shift_count(act_shift);
    for (int i = 0; i < n; i += N16) {
        const int r = n - i < N16 ? n - i : N16;
        const V va = r == N16 ? v_load(a + i) : v_loadn(a + i, r);
        const V vb = r == N16 ? v_load(b + i) : v_loadn(b + i, r);
        const V lo = v_add32(align32(widen_lo(va), da, ca), align32(widen_lo(vb), db, cb));
        const V hi = v_add32(align32(widen_hi(va), da, ca), align32(widen_hi(vb), db, cb));
        const V o = act16(v_packs32(lo, hi), act, kc);
        if (r == N16)
            v_store(dst + i, o);
        else
            v_storen(dst + i, o, r);
    }
}

static void FN(rescale)(int16_t *dst, const int16_t *src, int d, int n, int act, int act_shift)
{
    const __m128i cd = align_count(d), kc = shift_count(act_shift);
    for (int i = 0; i < n; i += N16) {
        const int r = n - i < N16 ? n - i : N16;
        const V v = r == N16 ? v_load(src + i) : v_loadn(src + i, r);
        const V o = act16(v_packs32(align32(widen_lo(v), d, cd), align32(widen_hi(v), d, cd)),
                          act, kc);
        if (r == N16)
            v_store(dst + i, o);
        else
            v_storen(dst + i, o, r);
    }
}

static void FN(qmul)(int16_t *dst, const int16_t *src, int32_t mul, int s, int n, int act,
                     int act_shift)
{
    if (mul < -32768 || mul > 32767) { /* not a q-table entry; exact in int32 all the same */
        for (int i = 0; i < n; i++)
            dst[i] = (int16_t)lvc_act(lvc_requant(src[i] * mul, s), act, act_shift);
        return;
    }
    const __m128i sm1 = shift_count(s - 1), kc = shift_count(act_shift);
#if LVC_VBITS == 512
    const V m = _mm512_set1_epi16((int16_t)mul);
#else
    const V m = _mm256_set1_epi16((int16_t)mul);
#endif
    for (int i = 0; i < n; i += N16) {
        const int r = n - i < N16 ? n - i : N16;
        const V v = r == N16 ? v_load(src + i) : v_loadn(src + i, r);
        const V pl = v_mullo16(v, m), ph = v_mulhi16(v, m);
        const V lo = v_unpacklo16(pl, ph), hi = v_unpackhi16(pl, ph);
        const V o = act16(v_packs32(rshr32(lo, sm1), rshr32(hi, sm1)), act, kc);
        if (r == N16)
            v_store(dst + i, o);
        else
            v_storen(dst + i, o, r);
    }
}

static void FN(act)(int16_t *dst, const int16_t *src, int n, int act, int act_shift)
{
    const __m128i kc = shift_count(act_shift);
    for (int i = 0; i < n; i += N16) {
        const int r = n - i < N16 ? n - i : N16;
        const V v = r == N16 ? v_load(src + i) : v_loadn(src + i, r);
        const V o = act16(v, act, kc);
        if (r == N16)
            v_store(dst + i, o);
        else
            v_storen(dst + i, o, r);
    }
}

/* ---- UNPACK (§5) ---------------------------------------------------------------------------
 * 16 level-0 samples of each of the b × b channels of one block row become 16 bytes each
 * (align, + 128, then the saturating packs: vpackssdw keeps the order of values outside
 * int16, and vpackuswb clamps to 0..255 exactly), and a byte transpose interleaves them
 * into 16 · b consecutive picture samples.  The columns of a partial block at the right edge
 * are done one by one. */

/* clamp(align(x, d) + 128, 0, 255) of 16 samples at p */
static ALWAYS_INLINE __m128i unpack16(const int16_t *p, int d, __m128i c)
{
    const __m256i k128 = _mm256_set1_epi32(128);
    __m256i lo = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    __m256i hi = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p + 8)));
    if (d > 0) {
        lo = _mm256_sra_epi32(lo, c);
        hi = _mm256_sra_epi32(hi, c);
        lo = _mm256_sub_epi32(lo, _mm256_srai_epi32(lo, 1));
        hi = _mm256_sub_epi32(hi, _mm256_srai_epi32(hi, 1));
    } else if (d < 0) {
        lo = _mm256_sll_epi32(lo, c);
        hi = _mm256_sll_epi32(hi, c);
    }
    const __m256i w = _mm256_permute4x64_epi64(
        _mm256_packs_epi32(_mm256_add_epi32(lo, k128), _mm256_add_epi32(hi, k128)), 0xd8);
    return _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

static void unpack_plane_simd(uint8_t *pl, ptrdiff_t stride, int pw, int ph, const int16_t *src,
                              int c0, int bs, int h0, int w0, int f, int y0, int y1)
{
    const int d = f - 7;
    const __m128i c = align_count(d);
    const size_t plane = (size_t)h0 * (size_t)w0;
    for (int a = 0; a < bs; a++) {
        for (int i = y0; i < y1; i++) {
            const int py = bs * i + a;
            if (py >= ph)
                break;
            uint8_t *row = pl + (ptrdiff_t)py * stride;
            const int16_t *in[8];
            for (int bb = 0; bb < bs; bb++)
                in[bb] = src + (size_t)(c0 + bs * a + bb) * plane + (size_t)i * (size_t)w0;
            int j = 0;
            for (; j + 16 <= w0 && bs * (j + 16) <= pw; j += 16) {
                __m128i r[8];
                for (int bb = 0; bb < bs; bb++)
                    r[bb] = unpack16(in[bb] + j, d, c);
                __m128i *o = (__m128i *)(void *)(row + bs * j);
                const __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]);
                const __m128i t1 = _mm_unpackhi_epi8(r[0], r[1]);
                const __m128i t2 = _mm_unpacklo_epi8(r[2], r[3]);
                const __m128i t3 = _mm_unpackhi_epi8(r[2], r[3]);
                if (bs == 4) {
                    _mm_storeu_si128(o + 0, _mm_unpacklo_epi16(t0, t2));
                    _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(t0, t2));
                    _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(t1, t3));
                    _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(t1, t3));
                    continue;
                }
                const __m128i t4 = _mm_unpacklo_epi8(r[4], r[5]);
                const __m128i t5 = _mm_unpackhi_epi8(r[4], r[5]);
                const __m128i t6 = _mm_unpacklo_epi8(r[6], r[7]);
                const __m128i t7 = _mm_unpackhi_epi8(r[6], r[7]);
                const __m128i u0 = _mm_unpacklo_epi16(t0, t2), u1 = _mm_unpackhi_epi16(t0, t2);
                const __m128i u2 = _mm_unpacklo_epi16(t1, t3), u3 = _mm_unpackhi_epi16(t1, t3);
                const __m128i u4 = _mm_unpacklo_epi16(t4, t6), u5 = _mm_unpackhi_epi16(t4, t6);
                const __m128i u6 = _mm_unpacklo_epi16(t5, t7), u7 = _mm_unpackhi_epi16(t5, t7);
                _mm_storeu_si128(o + 0, _mm_unpacklo_epi32(u0, u4));
                _mm_storeu_si128(o + 1, _mm_unpackhi_epi32(u0, u4));
                _mm_storeu_si128(o + 2, _mm_unpacklo_epi32(u1, u5));
                _mm_storeu_si128(o + 3, _mm_unpackhi_epi32(u1, u5));
                _mm_storeu_si128(o + 4, _mm_unpacklo_epi32(u2, u6));
                _mm_storeu_si128(o + 5, _mm_unpackhi_epi32(u2, u6));
                _mm_storeu_si128(o + 6, _mm_unpacklo_epi32(u3, u7));
                _mm_storeu_si128(o + 7, _mm_unpackhi_epi32(u3, u7));
            }
            for (; j < w0 && bs * j < pw; j++)
                for (int bb = 0; bb < bs && bs * j + bb < pw; bb++) {
                    const int32_t v = lvc_align(in[bb][j], d) + 128;
                    row[bs * j + bb] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
        }
    }
}

static void FN(unpack)(uint8_t *py, ptrdiff_t sy, uint8_t *pu, ptrdiff_t su, uint8_t *pv,
                       ptrdiff_t sv, int w, int h, const int16_t *src, int f, int y0, int y1)
{
    const int h0 = 2 * ((h + 15) / 16), w0 = 2 * ((w + 15) / 16), cw = (w + 1) / 2,
              ch = (h + 1) / 2;
    unpack_plane_simd(py, sy, w, h, src, 0, 8, h0, w0, f, y0, y1);
    unpack_plane_simd(pu, su, cw, ch, src, 64, 4, h0, w0, f, y0, y1);
    unpack_plane_simd(pv, sv, cw, ch, src, 80, 4, h0, w0, f, y0, y1);
}

/* ---- PACK (§5) -----------------------------------------------------------------------------
 * The inverse: 16 · b picture samples of one row hold 16 level-0 columns of b channels; a
 * byte shuffle and a word (b = 8) or dword (b = 4) transpose give 16 bytes per channel,
 * widened and offset by −128.  Blocks that reach the edge replication are done one by one. */

static ALWAYS_INLINE void store_packed16(int16_t *dst, __m128i bytes)
{
    _mm256_storeu_si256((__m256i *)(void *)dst,
                        _mm256_sub_epi16(_mm256_cvtepu8_epi16(bytes), _mm256_set1_epi16(128)));
}

static void pack_plane_simd(int16_t *dst, int c0, int bs, int h0, int w0, const uint8_t *pl,
                            ptrdiff_t stride, int pw, int ph, int y0, int y1)
{
    const size_t plane = (size_t)h0 * (size_t)w0;
    const __m128i sh8 = _mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    const __m128i sh4 = _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    for (int a = 0; a < bs; a++) {
        for (int i = y0; i < y1; i++) {
            const int py = bs * i + a < ph - 1 ? bs * i + a : ph - 1;
            const uint8_t *row = pl + (ptrdiff_t)py * stride;
            int16_t *out[8];
            for (int bb = 0; bb < bs; bb++)
                out[bb] = dst + (size_t)(c0 + bs * a + bb) * plane + (size_t)i * (size_t)w0;
            int j = 0;
            for (; j + 16 <= w0 && bs * (j + 16) <= pw; j += 16) {
                const __m128i *m = (const __m128i *)(const void *)(row + bs * j);
                if (bs == 4) {
                    const __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128(m + 0), sh4);
                    const __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128(m + 1), sh4);
                    const __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128(m + 2), sh4);
                    const __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128(m + 3), sh4);
                    const __m128i x0 = _mm_unpacklo_epi32(m0, m1), x1 = _mm_unpackhi_epi32(m0, m1);
                    const __m128i x2 = _mm_unpacklo_epi32(m2, m3), x3 = _mm_unpackhi_epi32(m2, m3);
                    store_packed16(out[0] + j, _mm_unpacklo_epi64(x0, x2));
                    store_packed16(out[1] + j, _mm_unpackhi_epi64(x0, x2));
                    store_packed16(out[2] + j, _mm_unpacklo_epi64(x1, x3));
                    store_packed16(out[3] + j, _mm_unpackhi_epi64(x1, x3));
                    continue;
                }
                __m128i q[8];
                for (int k = 0; k < 8; k++)
                    q[k] = _mm_shuffle_epi8(_mm_loadu_si128(m + k), sh8);
                const __m128i p0 = _mm_unpacklo_epi16(q[0], q[1]);
                const __m128i p1 = _mm_unpackhi_epi16(q[0], q[1]);
                const __m128i p2 = _mm_unpacklo_epi16(q[2], q[3]);
                const __m128i p3 = _mm_unpackhi_epi16(q[2], q[3]);
                const __m128i p4 = _mm_unpacklo_epi16(q[4], q[5]);
                const __m128i p5 = _mm_unpackhi_epi16(q[4], q[5]);
                const __m128i p6 = _mm_unpacklo_epi16(q[6], q[7]);
                const __m128i p7 = _mm_unpackhi_epi16(q[6], q[7]);
                const __m128i r0 = _mm_unpacklo_epi32(p0, p2), r1 = _mm_unpackhi_epi32(p0, p2);
                const __m128i r2 = _mm_unpacklo_epi32(p1, p3), r3 = _mm_unpackhi_epi32(p1, p3);
                const __m128i r4 = _mm_unpacklo_epi32(p4, p6), r5 = _mm_unpackhi_epi32(p4, p6);
                const __m128i r6 = _mm_unpacklo_epi32(p5, p7), r7 = _mm_unpackhi_epi32(p5, p7);
                store_packed16(out[0] + j, _mm_unpacklo_epi64(r0, r4));
                store_packed16(out[1] + j, _mm_unpackhi_epi64(r0, r4));
                store_packed16(out[2] + j, _mm_unpacklo_epi64(r1, r5));
                store_packed16(out[3] + j, _mm_unpackhi_epi64(r1, r5));
                store_packed16(out[4] + j, _mm_unpacklo_epi64(r2, r6));
                store_packed16(out[5] + j, _mm_unpackhi_epi64(r2, r6));
                store_packed16(out[6] + j, _mm_unpacklo_epi64(r3, r7));
                store_packed16(out[7] + j, _mm_unpackhi_epi64(r3, r7));
            }
            for (; j < w0; j++)
                for (int bb = 0; bb < bs; bb++) {
                    const int x = bs * j + bb < pw - 1 ? bs * j + bb : pw - 1;
                    out[bb][j] = (int16_t)(row[x] - 128);
                }
        }
    }
}

static void FN(pack)(int16_t *dst, const uint8_t *py, ptrdiff_t sy, const uint8_t *pu,
                     ptrdiff_t su, const uint8_t *pv, ptrdiff_t sv, int w, int h, int y0, int y1)
{
    const int h0 = 2 * ((h + 15) / 16), w0 = 2 * ((w + 15) / 16), cw = (w + 1) / 2,
              ch = (h + 1) / 2;
    pack_plane_simd(dst, 0, 8, h0, w0, py, sy, w, h, y0, y1);
    pack_plane_simd(dst, 64, 4, h0, w0, pu, su, cw, ch, y0, y1);
    pack_plane_simd(dst, 80, 4, h0, w0, pv, sv, cw, ch, y0, y1);
}

void FN(lvc_dsp_init)(LvcDsp *dsp)
{
    dsp->conv = FN(conv);
    dsp->conv1x1 = FN(conv1x1);
    dsp->dw3x3 = FN(dw3x3);
    dsp->add = FN(add);
    dsp->rescale = FN(rescale);
    dsp->qmul = FN(qmul);
    dsp->act = FN(act);
    dsp->pack = FN(pack);
    dsp->unpack = FN(unpack);
}
