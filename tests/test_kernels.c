/* The reference kernels against a plain, independent computation of ARITHMETIC.md: int64
 * arithmetic reduced modulo 2^32, explicit floor division for shifts (none of the kernels.h
 * helpers are used by the reference side).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels.h"
#include "lvc/lvc.h"

/* ---- random numbers ------------------------------------------------------------------------ */

#include "rng.h"

/* An int16 biased towards the extremes now and then. */
static int16_t rnd_i16(void)
{
    switch (rnd() % 8) {
    case 0: return 32767;
    case 1: return -32768;
    case 2: return (int16_t)rnd_in(-3, 3);
    default: return (int16_t)rnd_in(-32768, 32767);
    }
}

static int16_t *alloc_i16(size_t n)
{
    int16_t *p = malloc((n ? n : 1) * sizeof(int16_t));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void fill_i16(int16_t *p, size_t n, int lo, int hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (int16_t)rnd_in(lo, hi);
}

/* ---- the independent reference ------------------------------------------------------------- */

static const int64_t TWO32 = (int64_t)1 << 32;

static int64_t pow2(int s) { return (int64_t)1 << s; }

/* v modulo 2^32 as a two's-complement int32 value */
static int64_t wrap32(int64_t v)
{
    int64_t m = v % TWO32;
    if (m < 0)
        m += TWO32;
    return m >= TWO32 / 2 ? m - TWO32 : m;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && a < 0)
        q--;
    return q;
}

/* round half up: ⌊x / 2^s + 1/2⌋ */
static int64_t ref_rshr(int64_t x, int s)
{
    return s == 0 ? x : floordiv(x + pow2(s - 1), pow2(s));
}

static int64_t ref_sat16(int64_t x) { return x < -32768 ? -32768 : x > 32767 ? 32767 : x; }

static int64_t ref_align(int64_t x, int d) { return d >= 0 ? ref_rshr(x, d) : wrap32(x * pow2(-d)); }

static int64_t ref_act(int64_t v, int act, int k)
{
    if (v >= 0 || act == 0)
        return v;
    return act == 1 ? 0 : floordiv(v, pow2(k));
}

typedef struct Layer {
    LvcConvParams p;
    int8_t *w8;
    int16_t *w16;
    int32_t *bias;
    uint8_t *shift;
    int16_t *in;
} Layer;

static int64_t ref_weight(const LvcConvParams *p, size_t i) { return p->w8 ? p->w8[i] : p->w16[i]; }

static void ref_conv(int16_t *out, const LvcConvParams *p, const int16_t *in)
{
    const int cig = p->cin / p->groups, cog = p->cout / p->groups, k = p->k;
    for (int co = 0; co < p->cout; co++) {
        const int gi = co / cog;
        for (int ho = 0; ho < p->ho; ho++)
            for (int wo = 0; wo < p->wo; wo++) {
                int64_t acc = p->bias ? p->bias[co] : 0;
                for (int ci = 0; ci < cig; ci++)
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) {
                            int y = ho * p->stride + i - p->pad, x = wo * p->stride + j - p->pad;
                            if (y < 0 || y >= p->h || x < 0 || x >= p->w)
                                continue;
                            size_t wi = (((size_t)co * cig + ci) * k + i) * k + j;
                            acc += ref_weight(p, wi) *
                                   in[((size_t)(gi * cig + ci) * p->h + y) * p->w + x];
                        }
                int64_t v = ref_sat16(ref_rshr(wrap32(acc), p->shift[co]));
                out[((size_t)co * p->ho + ho) * p->wo + wo] = (int16_t)ref_act(v, p->act, p->act_shift);
            }
    }
}

/* ---- layers -------------------------------------------------------------------------------- */

static void layer_free(Layer *l)
{
    free(l->w8);
    free(l->w16);
    free(l->bias);
    free(l->shift);
    free(l->in);
    memset(l, 0, sizeof(*l));
}

/* A random layer; weights and inputs span their whole range unless small is set. */
static void layer_make(Layer *l, int cin, int cout, int h, int w, int k, int s, int pad,
                       int groups, int wide, int small)
{
    memset(l, 0, sizeof(*l));
    LvcConvParams *p = &l->p;
    p->cin = cin;
    p->cout = cout;
    p->h = h;
    p->w = w;
    p->k = k;
    p->stride = s;
    p->pad = pad;
    p->groups = groups;
    p->ho = lvc_conv_out_size(h, k, s, pad);
    p->wo = lvc_conv_out_size(w, k, s, pad);
    size_t nw = (size_t)cout * (size_t)(cin / groups) * (size_t)k * (size_t)k;
    if (wide) {
        l->w16 = alloc_i16(nw);
        for (size_t i = 0; i < nw; i++)
            l->w16[i] = small ? (int16_t)rnd_in(-300, 300) : rnd_i16();
        p->w16 = l->w16;
    } else {
        l->w8 = malloc(nw);
        for (size_t i = 0; i < nw; i++)
            l->w8[i] = (int8_t)rnd_in(-128, 127);
        p->w8 = l->w8;
    }
    if (rnd() % 4) {
        l->bias = malloc((size_t)cout * sizeof(int32_t));
        for (int c = 0; c < cout; c++)
            l->bias[c] = (int32_t)rnd();
        p->bias = l->bias;
    }
    l->shift = malloc((size_t)cout);
    for (int c = 0; c < cout; c++)
        l->shift[c] = (uint8_t)(rnd() % 3 == 0 ? (rnd() % 2 ? 1 : 30) : rnd_in(1, 30));
    p->shift = l->shift;
    p->act = rnd_in(0, 2);
    p->act_shift = p->act == 2 ? rnd_in(1, 15) : 0;
    size_t nin = (size_t)cin * (size_t)h * (size_t)w;
    l->in = alloc_i16(nin);
    for (size_t i = 0; i < nin; i++)
        l->in[i] = small ? (int16_t)rnd_in(-2000, 2000) : rnd_i16();
}

static size_t out_elems(const LvcConvParams *p)
{
    return (size_t)p->cout * (size_t)p->ho * (size_t)p->wo;
}

/* Run fn over the output rows in random bands (mode 0: one band, 1: bands of one row,
 * 2: random splits). */
static void conv_banded(LvcConvFn fn, int16_t *out, const Layer *l, int mode)
{
    int y = 0;
    while (y < l->p.ho) {
        int n = mode == 0 ? l->p.ho : mode == 1 ? 1 : rnd_in(1, l->p.ho - y);
        if (y + n > l->p.ho)
            n = l->p.ho - y;
        fn(out, l->in, &l->p, y, y + n);
        y += n;
    }
}

static int first_diff(const int16_t *a, const int16_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (int)i;
    return -1;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_helpers_fixed(void)
{
    CHECK(lvc_rshr(5, 1) == 3, "rshr(5,1) = %d", lvc_rshr(5, 1));
    CHECK(lvc_rshr(-5, 1) == -2, "rshr(-5,1) = %d", lvc_rshr(-5, 1));
    CHECK(lvc_rshr(-6, 2) == -1, "rshr(-6,2) = %d", lvc_rshr(-6, 2));
    CHECK(lvc_rshr(-7, 2) == -2, "rshr(-7,2) = %d", lvc_rshr(-7, 2));
    CHECK(lvc_rshr(6, 2) == 2 && lvc_rshr(5, 2) == 1, "rshr(6|5,2)");
    CHECK(lvc_rshr(7, 0) == 7 && lvc_rshr(-7, 0) == -7, "rshr(x,0)");
    CHECK(lvc_rshr(INT32_MAX, 1) == 1073741824, "rshr(max,1) = %d", lvc_rshr(INT32_MAX, 1));
    CHECK(lvc_rshr(INT32_MIN, 1) == -1073741824, "rshr(min,1)");
    CHECK(lvc_rshr(INT32_MIN, 31) == -1 && lvc_rshr(INT32_MAX, 31) == 1, "rshr(.,31)");
    CHECK(lvc_rshr(-1073741824, 31) == 0, "rshr(-2^30,31) = %d", lvc_rshr(-1073741824, 31));
    CHECK(lvc_asr(-1, 31) == -1 && lvc_asr(INT32_MIN, 31) == -1 && lvc_asr(INT32_MAX, 31) == 0,
          "asr(.,31)");
    CHECK(lvc_asr(-1, 0) == -1 && lvc_asr(-3, 1) == -2 && lvc_asr(3, 1) == 1, "asr small");
    CHECK(lvc_shl(1, 31) == INT32_MIN && lvc_shl(-1, 31) == INT32_MIN, "shl(.,31)");
    CHECK(lvc_shl(0x12345678, 8) == 0x34567800, "shl wraps");
    CHECK(lvc_shl(-32768, 15) == -1073741824, "shl(-32768,15)");
    CHECK(lvc_sat16(40000) == 32767 && lvc_sat16(-40000) == -32768 && lvc_sat16(32767) == 32767 &&
              lvc_sat16(-32768) == -32768 && lvc_sat16(INT32_MIN) == -32768 &&
              lvc_sat16(INT32_MAX) == 32767,
          "sat16");
    CHECK(lvc_requant(INT32_MAX, 1) == 32767 && lvc_requant(INT32_MIN, 1) == -32768, "requant sat");
    CHECK(lvc_requant(INT32_MAX, 30) == 2 && lvc_requant(INT32_MIN, 30) == -2, "requant S=30");
    CHECK(lvc_requant(-65535, 1) == -32767 && lvc_requant(-65537, 1) == -32768, "requant ties");
    /* lrelu shifts 1 and 15 on −1 and −32768 */
    CHECK(lvc_act(-1, LVC_ACT_LRELU, 1) == -1, "lrelu1(-1)");
    CHECK(lvc_act(-1, LVC_ACT_LRELU, 15) == -1, "lrelu15(-1)");
    CHECK(lvc_act(-32768, LVC_ACT_LRELU, 1) == -16384, "lrelu1(-32768)");
    CHECK(lvc_act(-32768, LVC_ACT_LRELU, 15) == -1, "lrelu15(-32768)");
    CHECK(lvc_act(-32767, LVC_ACT_LRELU, 15) == -1 && lvc_act(-3, LVC_ACT_LRELU, 1) == -2,
          "lrelu floor");
    CHECK(lvc_act(5, LVC_ACT_LRELU, 3) == 5 && lvc_act(0, LVC_ACT_LRELU, 3) == 0, "lrelu pos");
    CHECK(lvc_act(-5, LVC_ACT_RELU, 0) == 0 && lvc_act(7, LVC_ACT_RELU, 0) == 7, "relu");
    CHECK(lvc_act(-5, LVC_ACT_NONE, 0) == -5, "none");
    /* align with d = −15 and 30 */
    CHECK(lvc_align(-32768, -15) == -1073741824 && lvc_align(32767, -15) == 1073709056,
          "align -15");
    CHECK(lvc_align(32767, 30) == 0 && lvc_align(-32768, 30) == 0, "align 30 int16");
    CHECK(lvc_align(536870912, 30) == 1 && lvc_align(536870911, 30) == 0 &&
              lvc_align(-536870912, 30) == 0 && lvc_align(-536870913, 30) == -1,
          "align 30 ties");
    CHECK(lvc_u2i(0x80000000u) == INT32_MIN && lvc_u2i(0xffffffffu) == -1 &&
              lvc_u2i(0x7fffffffu) == INT32_MAX,
          "u2i");
}

static int32_t rnd_i32(void)
{
    switch (rnd() % 6) {
    case 0: return INT32_MIN + (int32_t)(rnd() % 4);
    case 1: return INT32_MAX - (int32_t)(rnd() % 4);
    case 2: return rnd_in(-70000, 70000);
    default: return (int32_t)(((uint32_t)rnd() << 16) ^ rnd());
    }
}

static void test_helpers_random(void)
{
    int bad = 0;
    for (int it = 0; it < 200000 && bad < 10; it++) {
        int32_t x = rnd_i32();
        int s = rnd_in(0, 31), d = rnd_in(-15, 30), k = rnd_in(1, 15);
        int64_t fl = floordiv(x, pow2(s));
        if (lvc_asr(x, s) != fl) {
            bad++;
            CHECK(0, "asr(%d,%d) = %d, want %lld", x, s, lvc_asr(x, s), (long long)fl);
        }
        if (lvc_shl(x, s) != wrap32((int64_t)x * pow2(s))) {
            bad++;
            CHECK(0, "shl(%d,%d)", x, s);
        }
        if (lvc_rshr(x, s) != ref_rshr(x, s)) {
            bad++;
            CHECK(0, "rshr(%d,%d) = %d, want %lld", x, s, lvc_rshr(x, s), (long long)ref_rshr(x, s));
        }
        if (s >= 1 && s <= 30 && lvc_requant(x, s) != ref_sat16(ref_rshr(x, s))) {
            bad++;
            CHECK(0, "requant(%d,%d)", x, s);
        }
        int16_t v = rnd_i16();
        if (lvc_align(v, d) != ref_align(v, d)) {
            bad++;
            CHECK(0, "align(%d,%d)", v, d);
        }
        for (int a = 0; a <= 2; a++)
            if (lvc_act(v, a, k) != ref_act(v, a, k)) {
                bad++;
                CHECK(0, "act%d(%d,%d)", a, v, k);
            }
    }
}

/* One random layer per call, checked against the reference in one band, in bands of one row
 * and in random bands, and through the dispatch table. */
static int conv_case(int cin, int cout, int h, int w, int k, int s, int pad, int groups, int wide,
                     int small)
{
    Layer l;
    layer_make(&l, cin, cout, h, w, k, s, pad, groups, wide, small);
    int ok = 1;
    if (lvc_conv_check(&l.p) != 0) {
        CHECK(0, "conv_check rejects a valid layer: %s", lvc_last_error());
        layer_free(&l);
        return 0;
    }
    size_t n = out_elems(&l.p);
    int16_t *want = alloc_i16(n), *got = alloc_i16(n);
    ref_conv(want, &l.p, l.in);
    LvcDsp dsp;
    lvc_dsp_init(&dsp, LVC_DSP_MAX);
    LvcConvFn fns[2] = { lvc_conv_c, lvc_conv_select(&dsp, &l.p) };
    for (int f = 0; f < 2; f++)
        for (int mode = 0; mode < 3; mode++) {
            memset(got, 0x55, n * sizeof(int16_t));
            conv_banded(fns[f], got, &l, mode);
            int d = first_diff(want, got, n);
            if (d >= 0) {
                ok = 0;
                CHECK(0, "conv fn %d mode %d: cin %d cout %d %dx%d k%d s%d p%d g%d w%s: [%d] %d != %d",
                      f, mode, cin, cout, w, h, k, s, pad, groups, wide ? "16" : "8", d, got[d],
                      want[d]);
            }
        }
    free(want);
    free(got);
    layer_free(&l);
    return ok;
}

static void test_conv_random(void)
{
    static const int ks[] = { 1, 2, 3, 5 };
    int fails = 0, n = 0;
    for (int it = 0; it < 400 && fails < 5; it++) {
        int k = ks[rnd() % 4], s = rnd_in(1, 2), pad = rnd_in(0, k - 1);
        int h = rnd_in(1, 13), w = rnd_in(1, 13);
        if (lvc_conv_out_size(h, k, s, pad) < 1 || lvc_conv_out_size(w, k, s, pad) < 1)
            continue;
        int kind = rnd_in(0, 2), groups, cin, cout;
        if (kind == 0) { /* dense */
            groups = 1;
            cin = rnd_in(1, 7);
            cout = rnd_in(1, 7);
        } else if (kind == 1) { /* 2 groups */
            groups = 2;
            cin = 2 * rnd_in(1, 3);
            cout = 2 * rnd_in(1, 3);
        } else { /* depthwise */
            groups = cin = cout = rnd_in(1, 9);
        }
        int wide = rnd() % 2;
        fails += !conv_case(cin, cout, h, w, k, s, pad, groups, wide, rnd() % 2);
        n++;
    }
    CHECK(n > 200, "only %d cases", n);
}

/* The canonical shapes, which take the specialised paths, on sizes that cross the chunking of
 * long rows. */
static void test_conv_canonical(void)
{
    conv_case(5, 7, 3, 300, 1, 1, 0, 1, 0, 0);          /* 1×1 */
    conv_case(6, 4, 5, 131, 1, 1, 0, 2, 1, 0);          /* grouped 1×1 */
    conv_case(9, 9, 7, 270, 3, 1, 1, 9, 0, 0);          /* depthwise 3×3 */
    conv_case(3, 3, 4, 5, 3, 1, 1, 3, 1, 0);            /* depthwise 3×3, int16 */
    conv_case(1, 1, 1, 1, 3, 1, 1, 1, 0, 0);            /* 1×1 picture */
    conv_case(4, 5, 9, 600, 2, 2, 0, 1, 0, 0);          /* 2×2 stride 2 */
    conv_case(3, 3, 6, 520, 3, 2, 2, 1, 1, 1);          /* chunked, stride 2, padding */
    conv_case(2, 3, 8, 11, 7, 1, 6, 1, 0, 0);           /* k = 7, p = 6 */
}

/* The specialised C paths against the generic kernel on their shapes, long rows included. */
static void test_specialised(void)
{
    int bad = 0;
    for (int it = 0; it < 150 && bad < 5; it++) {
        int dw = it % 2, h = rnd_in(1, 9), w = rnd_in(1, it % 10 == 0 ? 600 : 20);
        int groups = dw ? rnd_in(1, 9) : (rnd() % 2 ? 1 : 3);
        int cin = dw ? groups : groups * rnd_in(1, 4), cout = dw ? groups : groups * rnd_in(1, 4);
        Layer l;
        layer_make(&l, cin, cout, h, w, dw ? 3 : 1, 1, dw ? 1 : 0, groups, (int)(rnd() % 2), 0);
        size_t n = out_elems(&l.p);
        int16_t *want = alloc_i16(n), *got = alloc_i16(n);
        lvc_conv_c(want, l.in, &l.p, 0, l.p.ho);
        conv_banded(dw ? lvc_dw3x3_c : lvc_conv1x1_c, got, &l, 2);
        int d = first_diff(want, got, n);
        if (d >= 0) {
            bad++;
            CHECK(0, "%s %dx%d g%d: [%d] %d != %d", dw ? "dw3x3" : "1x1", w, h, groups, d, got[d],
                  want[d]);
        }
        free(want);
        free(got);
        layer_free(&l);
    }
}

/* Accumulators near and past ±2^31: int16 weights of −32768 against inputs of −32768 give
 * products of 2^30; 27 of them wrap several times. */
static void test_conv_wrap(void)
{
    for (int variant = 0; variant < 6; variant++) {
        Layer l;
        layer_make(&l, 3, 2, 4, 4, 3, 1, 1, 1, 1, 0);
        size_t nw = 2 * 3 * 9, nin = 3 * 16;
        for (size_t i = 0; i < nw; i++)
            l.w16[i] = variant % 2 ? -32768 : (i % 2 ? 32767 : -32768);
        for (size_t i = 0; i < nin; i++)
            l.in[i] = variant < 2 ? -32768 : variant < 4 ? (i % 3 ? 32767 : -32768) : rnd_i16();
        l.shift[0] = 1;
        l.shift[1] = 30;
        if (!l.bias)
            l.bias = malloc(2 * sizeof(int32_t));
        l.bias[0] = INT32_MAX - (int32_t)variant;
        l.bias[1] = INT32_MIN + (int32_t)variant;
        l.p.bias = l.bias;
        l.p.act = variant % 3;
        l.p.act_shift = l.p.act == 2 ? 15 : 0;
        size_t n = out_elems(&l.p);
        int16_t *want = alloc_i16(n), *got = alloc_i16(n);
        ref_conv(want, &l.p, l.in);
        lvc_conv_c(got, l.in, &l.p, 0, l.p.ho);
        int d = first_diff(want, got, n);
        CHECK(d < 0, "variant %d: [%d] %d != %d", variant, d, d >= 0 ? got[d] : 0,
              d >= 0 ? want[d] : 0);
        free(want);
        free(got);
        layer_free(&l);
    }
    /* one exact value: bias 2^31 − 1 plus one product 1·1 wraps to −2^31; S = 1 saturates */
    {
        int16_t w16 = 1, in = 1, out = 0;
        int32_t bias = INT32_MAX;
        uint8_t shift = 1;
        LvcConvParams p = { .cin = 1, .h = 1, .w = 1, .cout = 1, .ho = 1, .wo = 1, .k = 1,
                            .stride = 1, .groups = 1, .w16 = &w16, .bias = &bias,
                            .shift = &shift };
        lvc_conv_c(&out, &in, &p, 0, 1);
        CHECK(out == -32768, "wrapped acc gives %d", out);
        shift = 30;
        lvc_conv1x1_c(&out, &in, &p, 0, 1);
        CHECK(out == -2, "rshr(-2^31, 30) gives %d", out);
        in = 0;
        lvc_conv_c(&out, &in, &p, 0, 1);
        CHECK(out == 2, "rshr(2^31-1, 30) gives %d", out);
    }
}

static void test_conv_check(void)
{
    Layer l;
    layer_make(&l, 4, 6, 5, 5, 3, 1, 1, 2, 0, 0);
    CHECK(lvc_conv_check(&l.p) == 0, "valid layer");
    LvcConvParams q = l.p;
    q.groups = 3;
    CHECK(lvc_conv_check(&q) == LVC_EINVAL, "groups not dividing");
    q = l.p;
    q.pad = 3;
    CHECK(lvc_conv_check(&q) == LVC_EINVAL, "pad >= k");
    q = l.p;
    q.stride = 3;
    CHECK(lvc_conv_check(&q) == LVC_EINVAL, "stride 3");
    q = l.p;
    q.ho = 4;
    CHECK(lvc_conv_check(&q) == LVC_EINVAL, "wrong ho");
    q = l.p;
    q.w16 = (const int16_t *)l.in;
    CHECK(lvc_conv_check(&q) == LVC_EINVAL, "two weight types");
    q = l.p;
    q.act = 2;
    q.act_shift = 16;
    CHECK(lvc_conv_check(&q) == LVC_EINVAL, "lrelu 16");
    l.shift[5] = 31;
    CHECK(lvc_conv_check(&l.p) == LVC_EINVAL, "shift 31");
    l.shift[5] = 0;
    CHECK(lvc_conv_check(&l.p) == LVC_EINVAL, "shift 0");
    CHECK(lvc_conv_out_size(1, 3, 1, 0) == 0 && lvc_conv_out_size(1, 3, 1, 1) == 1 &&
              lvc_conv_out_size(7, 2, 2, 0) == 3 && lvc_conv_out_size(8, 3, 2, 1) == 4,
          "out sizes");
    layer_free(&l);
}

static LvcTensor tensor_new(int c, int h, int w, int exp)
{
    LvcTensor t = { alloc_i16((size_t)c * h * w), c, h, w, exp };
    return t;
}

static int16_t at(const LvcTensor *t, int c, int y, int x)
{
    return t->data[((size_t)c * t->h + y) * t->w + x];
}

static size_t tsize(const LvcTensor *t) { return (size_t)t->c * t->h * t->w; }

/* Run a band op over random bands of out's rows. */
#define BANDED(h, stmt)                                                                         \
    do {                                                                                        \
        int y0_ = 0;                                                                            \
        while (y0_ < (h)) {                                                                     \
            int y1_ = y0_ + rnd_in(1, (h) - y0_);                                               \
            int y0 = y0_, y1 = y1_;                                                             \
            stmt;                                                                               \
            y0_ = y1_;                                                                          \
        }                                                                                       \
    } while (0)

static void test_elementwise(void)
{
    LvcDsp dsp;
    lvc_dsp_init(&dsp, LVC_DSP_MAX);
    for (int it = 0; it < 300; it++) {
        int c = rnd_in(1, 7), h = rnd_in(1, 13), w = rnd_in(1, 13);
        int fo = rnd_in(-8, 8);
        LvcTensor a = tensor_new(c, h, w, fo + rnd_in(-15, 30));
        LvcTensor b = tensor_new(c, h, w, fo + rnd_in(-15, 30));
        LvcTensor o = tensor_new(c, h, w, fo);
        for (size_t i = 0; i < tsize(&a); i++) {
            a.data[i] = rnd_i16();
            b.data[i] = rnd_i16();
        }
        int act = rnd_in(0, 2), k = act == 2 ? rnd_in(1, 15) : 0;
        int bad = 0;

        /* ADD */
        BANDED(h, lvc_add_band(&dsp, &o, &a, &b, act, k, y0, y1));
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int64_t v = ref_sat16(ref_align(at(&a, ch, y, x), a.exp - fo) +
                                          ref_align(at(&b, ch, y, x), b.exp - fo));
                    bad += at(&o, ch, y, x) != ref_act(v, act, k);
                }
        CHECK(bad == 0, "add: %d wrong (da %d db %d act %d/%d)", bad, a.exp - fo, b.exp - fo, act, k);

        /* RESCALE, in place as well */
        bad = 0;
        BANDED(h, lvc_rescale_band(&dsp, &o, &a, act, k, y0, y1));
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int64_t v = ref_sat16(ref_align(at(&a, ch, y, x), a.exp - fo));
                    bad += at(&o, ch, y, x) != ref_act(v, act, k);
                }
        CHECK(bad == 0, "rescale: %d wrong (d %d)", bad, a.exp - fo);

        /* QMUL with a random table row and S in 1..30 */
        bad = 0;
        int16_t trow[7];
        for (int ch = 0; ch < c; ch++)
            trow[ch] = rnd_i16();
        int s = rnd() % 3 ? rnd_in(1, 30) : (rnd() % 2 ? 1 : 30);
        int fq = s + fo - a.exp;
        BANDED(h, lvc_qmul_band(&dsp, &o, &a, trow, fq, act, k, y0, y1));
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int64_t v = ref_sat16(ref_rshr((int64_t)at(&a, ch, y, x) * trow[ch], s));
                    bad += at(&o, ch, y, x) != ref_act(v, act, k);
                }
        CHECK(bad == 0, "qmul: %d wrong (S %d)", bad, s);

        /* ACT (in place) */
        bad = 0;
        memcpy(o.data, a.data, tsize(&a) * sizeof(int16_t));
        int act2 = rnd_in(1, 2), k2 = act2 == 2 ? rnd_in(1, 15) : 0;
        BANDED(h, lvc_act_band(&dsp, &o, &o, act2, k2, y0, y1));
        for (size_t i = 0; i < tsize(&a); i++)
            bad += o.data[i] != ref_act(a.data[i], act2, k2);
        CHECK(bad == 0, "act: %d wrong", bad);

        free(a.data);
        free(b.data);
        free(o.data);
    }
}

static void test_concat_cb_pad_crop(void)
{
    for (int it = 0; it < 200; it++) {
        int h = rnd_in(1, 13), w = rnd_in(1, 13), c1 = rnd_in(1, 5), c2 = rnd_in(1, 5);
        LvcTensor a = tensor_new(c1, h, w, 3), b = tensor_new(c2, h, w, 3);
        fill_i16(a.data, tsize(&a), -32768, 32767);
        fill_i16(b.data, tsize(&b), -32768, 32767);
        int bad = 0;

        /* CONCAT */
        LvcTensor o = tensor_new(c1 + c2, h, w, 3);
        BANDED(h, lvc_concat_band(&o, 0, &a, y0, y1));
        BANDED(h, lvc_concat_band(&o, c1, &b, y0, y1));
        for (int c = 0; c < c1 + c2; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    bad += at(&o, c, y, x) != (c < c1 ? at(&a, c, y, x) : at(&b, c - c1, y, x));
        CHECK(bad == 0, "concat: %d wrong", bad);
        free(o.data);

        /* CBMASK / CBMERGE */
        LvcTensor b2 = tensor_new(c1, h, w, 3);
        fill_i16(b2.data, tsize(&b2), -32768, 32767);
        o = tensor_new(c1, h, w, 3);
        for (int par = 0; par < 2; par++) {
            bad = 0;
            BANDED(h, lvc_cbmask_band(&o, &a, par, y0, y1));
            for (int c = 0; c < c1; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        bad += at(&o, c, y, x) != ((y + x) % 2 == par ? at(&a, c, y, x) : 0);
            CHECK(bad == 0, "cbmask %d: %d wrong", par, bad);
            bad = 0;
            BANDED(h, lvc_cbmerge_band(&o, &a, &b2, par, y0, y1));
            for (int c = 0; c < c1; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        bad += at(&o, c, y, x) !=
                               ((y + x) % 2 == par ? at(&a, c, y, x) : at(&b2, c, y, x));
            CHECK(bad == 0, "cbmerge %d: %d wrong", par, bad);
        }
        free(o.data);
        free(b2.data);

        /* PAD to a multiple m, then CROP back */
        int m = rnd_in(1, 64);
        int hp = (h + m - 1) / m * m, wp = (w + m - 1) / m * m;
        LvcTensor pd = tensor_new(c1, hp, wp, 3);
        bad = 0;
        BANDED(hp, lvc_pad_band(&pd, &a, y0, y1));
        for (int c = 0; c < c1; c++)
            for (int y = 0; y < hp; y++)
                for (int x = 0; x < wp; x++)
                    bad += at(&pd, c, y, x) != at(&a, c, y < h ? y : h - 1, x < w ? x : w - 1);
        CHECK(bad == 0, "pad m=%d: %d wrong", m, bad);
        int hc = rnd_in(1, h), wc = rnd_in(1, w);
        LvcTensor cr = tensor_new(c1, hc, wc, 3);
        bad = 0;
        BANDED(hc, lvc_crop_band(&cr, &pd, y0, y1));
        for (int c = 0; c < c1; c++)
            for (int y = 0; y < hc; y++)
                for (int x = 0; x < wc; x++)
                    bad += at(&cr, c, y, x) != at(&a, c, y, x);
        CHECK(bad == 0, "crop: %d wrong", bad);
        free(pd.data);
        free(cr.data);
        free(a.data);
        free(b.data);
    }
}

static void test_shuffle(void)
{
    static const int rs[] = { 2, 4, 8 };
    for (int it = 0; it < 60; it++) {
        int r = rs[rnd() % 3], c = rnd_in(1, 3), h = rnd_in(1, 7), w = rnd_in(1, 7);
        LvcTensor in = tensor_new(c * r * r, h, w, -2);
        fill_i16(in.data, tsize(&in), -32768, 32767);
        LvcTensor sh = tensor_new(c, h * r, w * r, -2), back = tensor_new(c * r * r, h, w, -2);
        BANDED(h * r, lvc_shuffle_band(&sh, &in, r, y0, y1));
        int bad = 0;
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int i = 0; i < r; i++)
                        for (int j = 0; j < r; j++)
                            bad += at(&sh, ch, y * r + i, x * r + j) !=
                                   at(&in, ch * r * r + i * r + j, y, x);
        CHECK(bad == 0, "shuffle r=%d: %d wrong", r, bad);
        BANDED(h, lvc_unshuffle_band(&back, &sh, r, y0, y1));
        CHECK(memcmp(back.data, in.data, tsize(&in) * sizeof(int16_t)) == 0,
              "unshuffle(shuffle) r=%d", r);
        free(in.data);
        free(sh.data);
        free(back.data);
    }
}

/* ---- PACK / UNPACK ------------------------------------------------------------------------- */

typedef struct Pic {
    int w, h, cw, ch;
    uint8_t *plane[3];
    ptrdiff_t stride[3];
} Pic;

static void pic_new(Pic *p, int w, int h)
{
    p->w = w;
    p->h = h;
    p->cw = (w + 1) / 2;
    p->ch = (h + 1) / 2;
    for (int i = 0; i < 3; i++) {
        int pw = i ? p->cw : w, ph = i ? p->ch : h;
        p->stride[i] = pw + rnd_in(0, 40);
        p->plane[i] = malloc((size_t)p->stride[i] * ph);
        for (ptrdiff_t k = 0; k < p->stride[i] * ph; k++)
            p->plane[i][k] = (uint8_t)rnd();
    }
}

static void pic_free(Pic *p)
{
    for (int i = 0; i < 3; i++)
        free(p->plane[i]);
}

static int pic_sample(const Pic *p, int i, int y, int x)
{
    int pw = i ? p->cw : p->w, ph = i ? p->ch : p->h;
    if (y >= ph)
        y = ph - 1;
    if (x >= pw)
        x = pw - 1;
    return p->plane[i][(ptrdiff_t)y * p->stride[i] + x];
}

static int pack_case(const LvcDsp *dsp, int w, int h)
{
    Pic src, dst;
    pic_new(&src, w, h);
    pic_new(&dst, w, h);
    int h0 = (h + 15) / 16 * 2, w0 = (w + 15) / 16 * 2, bad = 0;
    LvcTensor x = tensor_new(96, h0, w0, 7);
    BANDED(h0, dsp->pack(x.data, src.plane[0], src.stride[0], src.plane[1], src.stride[1],
                         src.plane[2], src.stride[2], w, h, y0, y1));
    for (int i = 0; i < h0; i++)
        for (int j = 0; j < w0; j++) {
            for (int a = 0; a < 8; a++)
                for (int b = 0; b < 8; b++)
                    bad += at(&x, 8 * a + b, i, j) != pic_sample(&src, 0, 8 * i + a, 8 * j + b) - 128;
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) {
                    bad += at(&x, 64 + 4 * a + b, i, j) != pic_sample(&src, 1, 4 * i + a, 4 * j + b) - 128;
                    bad += at(&x, 80 + 4 * a + b, i, j) != pic_sample(&src, 2, 4 * i + a, 4 * j + b) - 128;
                }
        }
    CHECK(bad == 0, "pack %dx%d: %d wrong", w, h, bad);

    /* UNPACK with f = 7 restores the picture exactly, and writes nothing beyond it */
    uint8_t *guard[3];
    for (int i = 0; i < 3; i++) {
        int pw = i ? dst.cw : w, ph = i ? dst.ch : h;
        guard[i] = malloc((size_t)dst.stride[i] * ph);
        for (int y = 0; y < ph; y++)
            memset(dst.plane[i] + (ptrdiff_t)y * dst.stride[i] + pw, 0xa5,
                   (size_t)(dst.stride[i] - pw));
        memcpy(guard[i], dst.plane[i], (size_t)dst.stride[i] * ph);
    }
    BANDED(h0, dsp->unpack(dst.plane[0], dst.stride[0], dst.plane[1], dst.stride[1], dst.plane[2],
                           dst.stride[2], w, h, x.data, 7, y0, y1));
    int bad2 = 0, bad3 = 0;
    for (int i = 0; i < 3; i++) {
        int pw = i ? dst.cw : w, ph = i ? dst.ch : h;
        for (int y = 0; y < ph; y++)
            for (int xx = 0; xx < dst.stride[i]; xx++) {
                uint8_t got = dst.plane[i][(ptrdiff_t)y * dst.stride[i] + xx];
                if (xx < pw)
                    bad2 += got != src.plane[i][(ptrdiff_t)y * src.stride[i] + xx];
                else
                    bad3 += got != guard[i][(ptrdiff_t)y * dst.stride[i] + xx];
            }
        free(guard[i]);
    }
    CHECK(bad2 == 0, "unpack(pack) %dx%d: %d wrong", w, h, bad2);
    CHECK(bad3 == 0, "unpack %dx%d wrote %d samples past the row", w, h, bad3);

    /* UNPACK with another exponent and random residuals against the formula */
    int f = rnd_in(0, 22), bad4 = 0;
    for (size_t i = 0; i < tsize(&x); i++)
        x.data[i] = rnd_i16();
    BANDED(h0, dsp->unpack(dst.plane[0], dst.stride[0], dst.plane[1], dst.stride[1], dst.plane[2],
                           dst.stride[2], w, h, x.data, f, y0, y1));
    for (int i = 0; i < 3; i++) {
        int pw = i ? dst.cw : w, ph = i ? dst.ch : h, bs = i ? 4 : 8, c0 = i ? 48 + 16 * i : 0;
        for (int y = 0; y < ph; y++)
            for (int xx = 0; xx < pw; xx++) {
                int64_t v = ref_align(at(&x, c0 + bs * (y % bs) + xx % bs, y / bs, xx / bs), f - 7) + 128;
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                bad4 += dst.plane[i][(ptrdiff_t)y * dst.stride[i] + xx] != v;
            }
    }
    CHECK(bad4 == 0, "unpack f=%d %dx%d: %d wrong", f, w, h, bad4);
    free(x.data);
    pic_free(&src);
    pic_free(&dst);
    return bad == 0 && bad2 == 0 && bad3 == 0 && bad4 == 0;
}

static void test_pack(void)
{
    LvcDsp dsp;
    lvc_dsp_init(&dsp, LVC_DSP_MAX);
    static const int sizes[][2] = { { 1, 1 }, { 2, 2 }, { 17, 9 }, { 16, 16 }, { 3, 1 },
                                    { 1, 5 }, { 33, 31 }, { 64, 48 } };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        pack_case(&dsp, sizes[i][0], sizes[i][1]);
    for (int it = 0; it < 30; it++)
        pack_case(&dsp, rnd_in(1, 70), rnd_in(1, 70));
    pack_case(&dsp, 8192, 1);
    pack_case(&dsp, 1, 8192);
}

/* ---- §4 and §6 ----------------------------------------------------------------------------- */

static void test_geometry(void)
{
    CHECK(lvc_level_height(1, 0) == 2 && lvc_level_height(16, 0) == 2 &&
              lvc_level_height(17, 0) == 4, "level 0");
    CHECK(lvc_level_height(17, -1) == 2 && lvc_level_height(1, -3) == 1 &&
              lvc_level_height(48, -3) == 1 && lvc_level_height(80, -3) == 2 &&
              lvc_level_height(8192, -3) == 128, "negative levels");
    CHECK(lvc_level_width(360, -3) == 6 && lvc_level_width(640, -1) == 40 &&
              lvc_level_width(360, 0) == 46 && lvc_level_width(360, 3) == 368, "widths");
    for (int it = 0; it < 2000; it++) {
        int n = rnd_in(1, 8192), L = rnd_in(-6, 3);
        int hp = (n + 15) / 16 * 16, want;
        if (L > 0)
            want = hp / 8 * (1 << L);
        else
            want = (int)((hp / 8 + pow2(-L) - 1) / pow2(-L));
        if (lvc_level_height(n, L) != want) {
            CHECK(0, "level %d of %d: %d != %d", L, n, lvc_level_height(n, L), want);
            break;
        }
    }
    CHECK(lvc_level_height(0, 0) == 0 && lvc_level_height(8193, 0) == 0 &&
              lvc_level_height(5, -17) == 0, "out of range");
}

static void test_entropy_helpers(void)
{
    /* scale bins: count of thresholds reached, against a linear count in int64 */
    for (int it = 0; it < 300; it++) {
        int nb = rnd_in(2, 256), fs = rnd_in(0, 15);
        int32_t t[255];
        int64_t v = -((int64_t)nb * 20000) + rnd_in(-9000, 9000);
        for (int i = 0; i < nb - 1; i++) {
            v += rnd_in(1, 40000);
            t[i] = (int32_t)v;
        }
        int16_t lam[64];
        uint8_t bins[64];
        for (int i = 0; i < 64; i++) {
            int64_t lim = (pow2(31) - 1) / pow2(16 - fs); /* |λ|·2^(16−fs) < 2^31 */
            if (lim > 32767)
                lim = 32767;
            int64_t l = rnd() % 4 == 0
                            ? floordiv(t[rnd() % (nb - 1)], pow2(16 - fs)) + rnd_in(-1, 1)
                            : rnd_in((int)-lim, (int)lim);
            lam[i] = (int16_t)(l > lim ? lim : l < -lim ? -lim : l);
        }
        lvc_scale_bins(bins, lam, 64, fs, t, nb);
        int bad = 0;
        for (int i = 0; i < 64; i++) {
            int64_t x = (int64_t)lam[i] * pow2(16 - fs);
            int want = 0;
            for (int j = 0; j < nb - 1; j++)
                want += x >= t[j];
            bad += bins[i] != want;
        }
        CHECK(bad == 0, "scale bins nb=%d fs=%d: %d wrong", nb, fs, bad);
    }
    {
        int32_t t[3] = { -65536, 0, 65536 };
        CHECK(lvc_scale_bin(-3, 1, t, 4) == 0 && lvc_scale_bin(-2, 1, t, 4) == 1 &&
                  lvc_scale_bin(-1, 1, t, 4) == 1 &&
                  lvc_scale_bin(-1, 0, t, 4) == 1 && lvc_scale_bin(0, 0, t, 4) == 2 &&
                  lvc_scale_bin(1, 0, t, 4) == 3 && lvc_scale_bin(2, 1, t, 4) == 3 &&
                  lvc_scale_bin(1, 1, t, 4) == 2,
              "scale bin boundaries");
        int32_t t1[1] = { 5 };
        CHECK(lvc_scale_bin(0, 15, t1, 2) == 0 && lvc_scale_bin(3, 15, t1, 2) == 1, "nb = 2");
    }

    /* ŷ = sat16(μ + shl(q, fm)); decoder reconstruction on spans */
    {
        int16_t mu[6] = { 0, 100, -32768, 32767, 32000, -5 };
        int32_t q[6] = { 0, -3, -1, 1, 31, 7 };
        int16_t yh[6];
        lvc_yhat_span(yh, mu, q, 6, 10);
        CHECK(yh[0] == 0 && yh[1] == 100 - 3072 && yh[2] == -32768 && yh[3] == 32767 &&
                  yh[4] == 32767 && yh[5] == -5 + 7168,
              "yhat %d %d %d %d %d %d", yh[0], yh[1], yh[2], yh[3], yh[4], yh[5]);
    }
    int bad = 0;
    for (int it = 0; it < 100000; it++) {
        int fm = rnd_in(0, 12), fy = fm + rnd_in(-15, 30);
        int32_t r = rnd_in(1, (int)(32767 / pow2(fm)));
        int16_t y = rnd_i16(), mu = rnd_i16();
        int32_t q = rnd_in(-r, r);
        int64_t yh = ref_sat16(mu + q * pow2(fm));
        bad += lvc_yhat(mu, q, fm) != yh;
        int64_t e = ref_rshr(ref_align(y, fy - fm) - mu, fm);
        e = e < -r ? -r : e > r ? r : e;
        bad += lvc_symbol_y(y, fy, mu, fm, r) != e;
        int fz = rnd_in(0, 32), rz = rnd_in(1, 32767);
        int64_t ez = ref_rshr(y, fz);
        ez = ez < -rz ? -rz : ez > rz ? rz : ez;
        bad += lvc_symbol_z(y, fz, rz) != ez;
    }
    CHECK(bad == 0, "symbols: %d wrong", bad);
    CHECK(lvc_symbol_y(3, 2, 0, 1, 100) == 1 && lvc_symbol_y(-3, 2, 0, 1, 100) == 0 &&
              lvc_symbol_y(5, 1, 0, 1, 100) == 3 && lvc_symbol_y(-5, 1, 0, 1, 100) == -2 &&
              lvc_symbol_y(32767, -3, -32768, 12, 7) == 7 &&
              lvc_symbol_y(-32768, -3, 32767, 12, 7) == -7,
          "symbol_y fixed");
    CHECK(lvc_symbol_z(-6, 2, 9) == -1 && lvc_symbol_z(-7, 2, 9) == -2 &&
              lvc_symbol_z(32767, 0, 9) == 9 && lvc_symbol_z(-32768, 16, 9) == 0 &&
              lvc_symbol_z(-32768, 15, 9) == -1 && lvc_symbol_z(16384, 15, 9) == 1,
          "symbol_z fixed");
}

int main(void)
{
    RUN(test_helpers_fixed);
    RUN(test_helpers_random);
    RUN(test_conv_random);
    RUN(test_conv_canonical);
    RUN(test_specialised);
    RUN(test_conv_wrap);
    RUN(test_conv_check);
    RUN(test_elementwise);
    RUN(test_concat_cb_pad_crop);
    RUN(test_shuffle);
    RUN(test_pack);
    RUN(test_geometry);
    RUN(test_entropy_helpers);
    return check_finish();
}
