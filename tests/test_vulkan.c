/* The Vulkan backend against the C reference kernels: every shader on random shapes and edge
 * values, bit-exact, and a chain of ops recorded into one submission.  Exits 77 (skipped)
 * when no Vulkan device exists.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LVC_HAVE_VULKAN
int main(void)
{
    printf("SKIP: no Vulkan device (liblvc built without the Vulkan backend)\n");
    return 77;
}
#else

#include "check.h"
#include "vk_app_device.h"
#include "internal.h"
#include "kernels.h"
#include "rng.h"
#include "vulkan/vk.h"

static LvcVkContext *ctx;
static LvcVkArena *arena;
static LvcDsp dsp;
static int pick(const int *v, int n) { return v[rnd() % (uint32_t)n]; }

/* int16 with many extremes, zeros and ±1 (ties for rounding come from small odd values). */
static int16_t rnd16(void)
{
    static const int16_t edge[] = {-32768, 32767, -32767, 0, 1, -1, 2, -2, 3, -3};
    switch (rnd() % 8) {
    case 0: return edge[rnd() % 10];
    case 1: case 2: return (int16_t)rnd_in(-64, 64);
    default: return (int16_t)(rnd() & 0xffff);
    }
}

static int16_t *rand_buf(size_t n)
{
    int16_t *p = malloc(n * sizeof(int16_t) + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = rnd16();
    return p;
}

/* First index where a and b differ, or −1. */
static long first_diff(const int16_t *a, const int16_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (long)i;
    return -1;
}

static size_t tsize(const LvcTensor *t) { return (size_t)t->c * (size_t)t->h * (size_t)t->w; }

/* A host tensor and its device twin, with random contents uploaded. */
typedef struct Pair {
    LvcTensor h;
    LvcVkTensor d;
} Pair;

static int pair_new(Pair *p, int c, int h, int w, int exp, int fill)
{
    p->h = (LvcTensor){fill ? rand_buf((size_t)c * h * w) : calloc((size_t)c * h * w + 1, 2), c, h,
                       w, exp};
    int err = lvc_vk_tensor_alloc(arena, &p->d, c, h, w, exp);
    if (!err && fill)
        err = lvc_vk_upload(arena, &p->d, p->h.data);
    return err;
}

static void pair_free(Pair *p) { free(p->h.data); }

/* Download p->d and compare with p->h. */
static int pair_same(const Pair *p, const char *what)
{
    size_t n = tsize(&p->h);
    int16_t *got = malloc(n * sizeof(int16_t) + 1);
    int err = lvc_vk_download(arena, &p->d, got);
    long d = err ? -2 : first_diff(got, p->h.data, n);
    CHECK(d == -1, "%s %dx%dx%d: %s at %ld: got %d want %d", what, p->h.c, p->h.h, p->h.w,
          err ? lvc_last_error() : "differs", d, d >= 0 ? got[d] : 0, d >= 0 ? p->h.data[d] : 0);
    free(got);
    return d == -1;
}

/* ---- CONV -------------------------------------------------------------------------------- */

static int32_t rnd_bias(void)
{
    switch (rnd() % 4) {
    case 0: return (int32_t)(0x7fffffffu - (rnd() & 0xffff));          /* near +2^31: wraps */
    case 1: return (int32_t)(0x80000000u + (rnd() & 0xffff)) ;         /* near −2^31 */
    default: return (int32_t)rnd();
    }
}

/* One layer: random weights, bias, shifts; GPU vs lvc_conv_c.  Returns 1 when equal. */
static int conv_case(int cin, int cout, int groups, int k, int stride, int pad, int h, int w,
                     int wide, int act, int act_shift, int use_bias)
{
    LvcConvParams p = {cin, h, w, cout, lvc_conv_out_size(h, k, stride, pad),
                       lvc_conv_out_size(w, k, stride, pad), k, stride, pad, groups,
                       NULL, NULL, NULL, NULL, act, act_shift};
    const size_t nw = (size_t)cout * (size_t)(cin / groups) * (size_t)(k * k);
    int8_t *w8 = NULL;
    int16_t *w16 = NULL;
    int32_t *bias = malloc((size_t)cout * 4);
    uint8_t *shift = malloc((size_t)cout);
    if (wide) {
        w16 = rand_buf(nw);
        p.w16 = w16;
    } else {
        w8 = malloc(nw);
        for (size_t i = 0; i < nw; i++)
            w8[i] = rnd() % 4 == 0 ? (rnd() & 1 ? 127 : -128) : (int8_t)(rnd() & 0xff);
        p.w8 = w8;
    }
    for (int i = 0; i < cout; i++) {
        bias[i] = rnd_bias();
        shift[i] = (uint8_t)(i == 0 ? 1 : i == 1 ? 30 : rnd_in(1, 30));
    }
    p.bias = use_bias ? bias : NULL;
    p.shift = shift;

    lvc_vk_arena_reset_act(arena);
    lvc_vk_arena_reset_params(arena);
    Pair in, out;
    LvcVkConv cv;
    int ok = 0;
    int err = lvc_vk_conv_upload(arena, &p, &cv);
    if (!err)
        err = pair_new(&in, cin, h, w, 0, 1);
    if (!err)
        err = pair_new(&out, cout, p.ho, p.wo, 0, 0);
    CHECK(err == 0, "setup: %s", lvc_last_error());
    if (!err) {
        lvc_conv_c(out.h.data, in.h.data, &p, 0, p.ho);
        err = lvc_vk_begin(arena);
        if (!err)
            err = lvc_vk_record_conv(arena, &cv, &in.d, &out.d);
        if (!err)
            err = lvc_vk_submit_wait(arena);
        CHECK(err == 0, "run: %s", lvc_last_error());
        char what[160];
        snprintf(what, sizeof(what), "conv %d->%d g%d k%d s%d p%d w%s act %d/%d bias %d", cin,
                 cout, groups, k, stride, pad, wide ? "16" : "8", act, act_shift, use_bias);
        ok = !err && pair_same(&out, what);
        pair_free(&in);
        pair_free(&out);
    }
    free(w8);
    free(w16);
    free(bias);
    free(shift);
    return ok;
}

static void random_act(int *act, int *k)
{
    *act = rnd_in(0, 2);
    *k = *act == LVC_ACT_LRELU ? pick((const int[]){1, 15, 3, 7}, 4) : 0;
}

static void test_conv_fixed(void)
{
    /* canonical shapes and wrap-around extremes */
    int k;
    int act;
    random_act(&act, &k);
    conv_case(128, 128, 1, 1, 1, 0, 9, 13, 1, LVC_ACT_LRELU, 1, 1);     /* GEMM, int16 weights */
    conv_case(96, 128, 1, 1, 1, 0, 17, 37, 0, LVC_ACT_RELU, 0, 1);      /* GEMM, int8 */
    conv_case(128, 17, 1, 1, 1, 0, 5, 3, 1, LVC_ACT_LRELU, 15, 0);      /* GEMM, cout tail */
    conv_case(128, 128, 4, 1, 1, 0, 7, 7, 0, LVC_ACT_NONE, 0, 1);       /* grouped 1×1 */
    conv_case(128, 128, 128, 3, 1, 1, 37, 37, 1, LVC_ACT_LRELU, 15, 1); /* dw3x3 */
    conv_case(96, 96, 96, 3, 1, 1, 1, 1, 0, LVC_ACT_RELU, 0, 1);        /* dw on 1×1 */
    conv_case(17, 17, 17, 3, 2, 1, 12, 11, 1, act, k, 1);                /* dw stride 2 */
    conv_case(32, 64, 1, 2, 2, 0, 14, 15, 1, LVC_ACT_LRELU, 1, 1);      /* 2×2 down */
    conv_case(3, 17, 1, 3, 1, 1, 19, 23, 1, LVC_ACT_NONE, 0, 1);        /* dense 3×3 */
    conv_case(8, 8, 2, 7, 1, 3, 11, 10, 0, LVC_ACT_LRELU, 7, 1);        /* 7×7 grouped */
    conv_case(4, 6, 1, 5, 2, 4, 3, 4, 1, LVC_ACT_NONE, 0, 1);           /* pad ≥ size */
    conv_case(1, 1, 1, 1, 1, 0, 1, 1, 0, LVC_ACT_NONE, 0, 1);           /* 1×1×1 */
    conv_case(17, 17, 17, 1, 1, 0, 6, 5, 1, LVC_ACT_LRELU, 15, 1);      /* dw 1×1: generic */
    conv_case(6, 48, 3, 1, 1, 0, 7, 9, 0, LVC_ACT_RELU, 0, 1);          /* cig 2: generic */
    conv_case(16, 8, 1, 1, 1, 0, 3, 37, 1, LVC_ACT_NONE, 0, 1);         /* GEMM, cout 8 */
}

static void test_conv_random(void)
{
    static const int chans[] = {1, 3, 17, 96, 128, 4, 8, 16};
    int passed = 0, n = 0;
    for (int it = 0; it < 60; it++) {
        int k = pick((const int[]){1, 1, 2, 3, 3, 5, 7}, 7);
        int stride = rnd_in(1, 2), pad = rnd_in(0, k - 1);
        int h = rnd_in(1, 37), w = rnd_in(1, 37);
        int cin = pick(chans, 8), cout, groups;
        switch (rnd() % 3) {
        case 0: groups = cin; cout = cin; break;          /* depthwise */
        case 1: groups = 1; cout = pick(chans, 8); break; /* dense */
        default: groups = cin % 2 == 0 ? 2 : 1; cout = groups * rnd_in(1, 9); break;
        }
        if (lvc_conv_out_size(h, k, stride, pad) < 1 || lvc_conv_out_size(w, k, stride, pad) < 1)
            continue;
        /* bound the work of the C reference and lavapipe */
        double macs = (double)cout * (cin / groups) * k * k * lvc_conv_out_size(h, k, stride, pad) *
                      lvc_conv_out_size(w, k, stride, pad);
        if (macs > 4e6)
            continue;
        int act, ak;
        random_act(&act, &ak);
        n++;
        passed += conv_case(cin, cout, groups, k, stride, pad, h, w, (int)(rnd() & 1), act, ak,
                            rnd() % 5 != 0);
    }
    CHECK(n >= 20, "only %d random layers ran", n);
    printf("# conv: %d of %d random layers equal\n", passed, n);
}

/* ---- element-wise ------------------------------------------------------------------------ */

enum { E_ADD, E_RESCALE, E_QMUL, E_ACT, E_CBMASK, E_CBMERGE, E_N };

static void ew_case(int op, int c, int h, int w, int inplace)
{
    lvc_vk_arena_reset_act(arena);
    lvc_vk_arena_reset_params(arena);
    int fo = rnd_in(-8, 8);
    int fa = fo + pick((const int[]){-15, 30, 0, 1, -1, 16, 17, 5, -7}, 9);
    int fb = fo + rnd_in(-15, 30);
    int act, k;
    random_act(&act, &k);
    int par = rnd_in(0, 1);
    Pair a, b, out;
    int err = pair_new(&a, c, h, w, fa, 1);
    if (!err)
        err = pair_new(&b, c, h, w, fb, 1);
    if (!err)
        err = pair_new(&out, c, h, w, fo, 0);
    CHECK(err == 0, "setup: %s", lvc_last_error());
    if (err)
        return;
    LvcVkTensor dout = inplace ? a.d : out.d;
    dout.exp = fo;
    int16_t *table = NULL;
    LvcVkQTable qt = {0, 0};
    int qp = rnd_in(0, 63), fq = 0;
    if (op == E_QMUL) {
        table = rand_buf((size_t)64 * c);
        fq = rnd_in(1, 30) + fo - fa; /* s = fa + fq − fo in 1..30 */
        err = lvc_vk_qtable_upload(arena, table, c, &qt);
        CHECK(err == 0, "qtable: %s", lvc_last_error());
    }
    /* reference */
    switch (op) {
    case E_ADD: lvc_add_band(&dsp, &out.h, &a.h, &b.h, act, k, 0, h); break;
    case E_RESCALE: lvc_rescale_band(&dsp, &out.h, &a.h, act, k, 0, h); break;
    case E_QMUL: lvc_qmul_band(&dsp, &out.h, &a.h, table + (size_t)qp * c, fq, act, k, 0, h); break;
    case E_ACT:
        if (act == LVC_ACT_NONE)
            act = LVC_ACT_RELU;
        lvc_act_band(&dsp, &out.h, &a.h, act, k, 0, h);
        break;
    case E_CBMASK: lvc_cbmask_band(&out.h, &a.h, par, 0, h); break;
    default: lvc_cbmerge_band(&out.h, &a.h, &b.h, par, 0, h); break;
    }
    if (!err)
        err = lvc_vk_begin(arena);
    if (!err) {
        switch (op) {
        case E_ADD: err = lvc_vk_record_add(arena, &dout, &a.d, &b.d, act, k); break;
        case E_RESCALE: err = lvc_vk_record_rescale(arena, &dout, &a.d, act, k); break;
        case E_QMUL: err = lvc_vk_record_qmul(arena, &dout, &a.d, &qt, qp, fq, act, k); break;
        case E_ACT: err = lvc_vk_record_act(arena, &dout, &a.d, act, k); break;
        case E_CBMASK: err = lvc_vk_record_cbmask(arena, &dout, &a.d, par); break;
        default: err = lvc_vk_record_cbmerge(arena, &dout, &a.d, &b.d, par); break;
        }
        int err2 = lvc_vk_submit_wait(arena);
        if (!err)
            err = err2;
    }
    CHECK(err == 0, "ew op %d: %s", op, lvc_last_error());
    if (!err) {
        char what[96];
        snprintf(what, sizeof(what), "ew op %d fa %d fb %d fo %d act %d/%d%s", op, fa, fb, fo, act,
                 k, inplace ? " in place" : "");
        out.d = dout;
        pair_same(&out, what);
    }
    free(table);
    pair_free(&a);
    pair_free(&b);
    pair_free(&out);
}

static void test_eltwise(void)
{
    for (int op = 0; op < E_N; op++)
        for (int it = 0; it < 8; it++)
            ew_case(op, pick((const int[]){1, 3, 17, 96, 128}, 5), rnd_in(1, 37),
                    rnd_in(1, 37), it == 3);
}

/* ---- gathers: SHUFFLE, UNSHUFFLE, PAD, CROP, CONCAT --------------------------------------- */

static int run_one(int err)
{
    if (!err)
        err = lvc_vk_submit_wait(arena);
    else
        lvc_vk_submit_wait(arena);
    CHECK(err == 0, "%s", lvc_last_error());
    return err;
}

static void test_shuffle(void)
{
    for (int it = 0; it < 12; it++) {
        lvc_vk_arena_reset_act(arena);
        int r = pick((const int[]){2, 4, 8}, 3), c = pick((const int[]){1, 3, 2}, 3);
        int h = rnd_in(1, 9), w = rnd_in(1, 9);
        Pair in, out, back;
        int err = pair_new(&in, c * r * r, h, w, 3, 1);
        if (!err)
            err = pair_new(&out, c, h * r, w * r, 3, 0);
        if (!err)
            err = pair_new(&back, c * r * r, h, w, 3, 0);
        CHECK(err == 0, "%s", lvc_last_error());
        if (err)
            return;
        lvc_shuffle_band(&out.h, &in.h, r, 0, h * r);
        lvc_unshuffle_band(&back.h, &out.h, r, 0, h);
        err = lvc_vk_begin(arena);
        if (!err)
            err = lvc_vk_record_shuffle(arena, &out.d, &in.d, r);
        if (!err)
            err = lvc_vk_record_unshuffle(arena, &back.d, &out.d, r);
        if (!run_one(err)) {
            pair_same(&out, "shuffle");
            pair_same(&back, "unshuffle");
        }
        pair_free(&in);
        pair_free(&out);
        pair_free(&back);
    }
}

static void test_pad_crop(void)
{
    for (int it = 0; it < 12; it++) {
        lvc_vk_arena_reset_act(arena);
        int c = pick((const int[]){1, 3, 17, 96}, 4), h = rnd_in(1, 37), w = rnd_in(1, 37);
        int m = pick((const int[]){1, 2, 8, 16, 64, 3}, 6);
        int ph = (h + m - 1) / m * m, pw = (w + m - 1) / m * m;
        int ch = rnd_in(1, h), cw = rnd_in(1, w);
        Pair in, pad, crop;
        int err = pair_new(&in, c, h, w, 0, 1);
        if (!err)
            err = pair_new(&pad, c, ph, pw, 0, 0);
        if (!err)
            err = pair_new(&crop, c, ch, cw, 0, 0);
        CHECK(err == 0, "%s", lvc_last_error());
        if (err)
            return;
        lvc_pad_band(&pad.h, &in.h, 0, ph);
        lvc_crop_band(&crop.h, &in.h, 0, ch);
        err = lvc_vk_begin(arena);
        if (!err)
            err = lvc_vk_record_pad(arena, &pad.d, &in.d);
        if (!err)
            err = lvc_vk_record_crop(arena, &crop.d, &in.d);
        if (!run_one(err)) {
            pair_same(&pad, "pad");
            pair_same(&crop, "crop");
        }
        pair_free(&in);
        pair_free(&pad);
        pair_free(&crop);
    }
}

static void test_concat(void)
{
    for (int it = 0; it < 8; it++) {
        lvc_vk_arena_reset_act(arena);
        int n = rnd_in(2, 8), h = rnd_in(1, 37), w = rnd_in(1, 37), total = 0;
        Pair in[8], out;
        int err = 0;
        for (int i = 0; i < n && !err; i++) {
            err = pair_new(&in[i], pick((const int[]){1, 3, 17, 2}, 4), h, w, 5, 1);
            total += in[i].h.c;
        }
        if (!err)
            err = pair_new(&out, total, h, w, 5, 0);
        CHECK(err == 0, "%s", lvc_last_error());
        if (err)
            return;
        err = lvc_vk_begin(arena);
        for (int i = 0, c0 = 0; i < n; c0 += in[i].h.c, i++) {
            lvc_concat_band(&out.h, c0, &in[i].h, 0, h);
            if (!err)
                err = lvc_vk_record_concat(arena, &out.d, c0, &in[i].d);
        }
        if (!run_one(err))
            pair_same(&out, "concat");
        for (int i = 0; i < n; i++)
            pair_free(&in[i]);
        pair_free(&out);
    }
}

/* ---- PACK / UNPACK ----------------------------------------------------------------------- */

static int packed(int n) { return 2 * ((n + 15) / 16); }

static void test_pack_unpack(void)
{
    static const int sizes[][2] = {{1, 1}, {17, 9}, {33, 37}, {64, 48}, {100, 3}, {31, 65}};
    for (int it = 0; it < 6; it++) {
        lvc_vk_arena_reset_act(arena);
        const int w = sizes[it][0], h = sizes[it][1], cw = (w + 1) / 2, ch = (h + 1) / 2;
        const ptrdiff_t sy = w + 5, sc = cw + 3;
        uint8_t *y = malloc((size_t)sy * h), *u = malloc((size_t)sc * ch), *v = malloc((size_t)sc * ch);
        uint8_t *y2 = calloc((size_t)sy * h, 1), *u2 = calloc((size_t)sc * ch, 1),
                *v2 = calloc((size_t)sc * ch, 1);
        uint8_t *y3 = calloc((size_t)sy * h, 1), *u3 = calloc((size_t)sc * ch, 1),
                *v3 = calloc((size_t)sc * ch, 1);
        for (ptrdiff_t i = 0; i < sy * h; i++)
            y[i] = (uint8_t)rnd();
        for (ptrdiff_t i = 0; i < sc * ch; i++) {
            u[i] = (uint8_t)rnd();
            v[i] = (uint8_t)rnd();
        }
        const int f = it == 0 ? 0 : it == 1 ? 22 : it == 2 ? 7 : rnd_in(0, 22);
        LvcVkPicture pic, pic2;
        Pair x, r;
        int err = lvc_vk_picture_alloc(arena, &pic, w, h);
        if (!err)
            err = lvc_vk_picture_alloc(arena, &pic2, w, h);
        if (!err)
            err = pair_new(&x, 96, packed(h), packed(w), 7, 0);
        if (!err)
            err = pair_new(&r, 96, packed(h), packed(w), f, 1);
        if (!err)
            err = lvc_vk_picture_upload(arena, &pic, y, sy, u, sc, v, sc);
        CHECK(err == 0, "%s", lvc_last_error());
        if (!err) {
            dsp.pack(x.h.data, y, sy, u, sc, v, sc, w, h, 0, x.h.h);
            dsp.unpack(y2, sy, u2, sc, v2, sc, w, h, r.h.data, f, 0, r.h.h);
            err = lvc_vk_begin(arena);
            if (!err)
                err = lvc_vk_record_pack(arena, &x.d, &pic);
            if (!err)
                err = lvc_vk_record_unpack(arena, &pic2, &r.d);
            if (!run_one(err)) {
                pair_same(&x, "pack");
                err = lvc_vk_picture_download(arena, &pic2, y3, sy, u3, sc, v3, sc);
                CHECK(err == 0, "%s", lvc_last_error());
                int same = 1;
                for (int row = 0; row < h; row++)
                    same &= !memcmp(y2 + row * sy, y3 + row * sy, (size_t)w);
                for (int row = 0; row < ch; row++)
                    same &= !memcmp(u2 + row * sc, u3 + row * sc, (size_t)cw) &&
                            !memcmp(v2 + row * sc, v3 + row * sc, (size_t)cw);
                CHECK(same, "unpack %dx%d f %d differs", w, h, f);
            }
            pair_free(&x);
            pair_free(&r);
        }
        free(y); free(u); free(v); free(y2); free(u2); free(v2); free(y3); free(u3); free(v3);
    }
}

/* ---- a chain in one submission ---------------------------------------------------------- */

/* PACK → 2×2/2 conv (96→32, lrelu) → dw3x3 → 1×1 (32→64) → ADD with a rescaled branch →
 * QMUL → CBMASK/CBMERGE → CONCAT → SHUFFLE → 1×1 (→96·… ) … → UNPACK, all in one command
 * buffer, against the same chain of C kernels. */
static void make_conv(LvcConvParams *p, int cin, int cout, int groups, int k, int s, int pad,
                      int h, int w, int act, int ak)
{
    const size_t nw = (size_t)cout * (size_t)(cin / groups) * (size_t)(k * k);
    int8_t *w8 = malloc(nw);
    int32_t *b = malloc((size_t)cout * 4);
    uint8_t *sh = malloc((size_t)cout);
    for (size_t i = 0; i < nw; i++)
        w8[i] = (int8_t)rnd_in(-40, 40);
    for (int i = 0; i < cout; i++) {
        b[i] = rnd_in(-5000, 5000);
        sh[i] = (uint8_t)rnd_in(6, 9);
    }
    *p = (LvcConvParams){cin, h, w, cout, lvc_conv_out_size(h, k, s, pad),
                         lvc_conv_out_size(w, k, s, pad), k, s, pad, groups, w8, NULL, b, sh,
                         act, ak};
}

static void free_conv(LvcConvParams *p)
{
    free((void *)p->w8);
    free((void *)p->bias);
    free((void *)p->shift);
}

static void test_chain(void)
{
    lvc_vk_arena_reset_act(arena);
    lvc_vk_arena_reset_params(arena);
    const int w = 75, h = 45; /* level 0: 10 × 6 (Wp 80, Hp 48) */
    const int cw = (w + 1) / 2, ch = (h + 1) / 2, H0 = packed(h), W0 = packed(w);
    uint8_t *py = malloc((size_t)w * h), *pu = malloc((size_t)cw * ch), *pv = malloc((size_t)cw * ch);
    for (int i = 0; i < w * h; i++)
        py[i] = (uint8_t)(i * 7 + (int)(rnd() % 16));
    for (int i = 0; i < cw * ch; i++) {
        pu[i] = (uint8_t)rnd();
        pv[i] = (uint8_t)(128 + rnd() % 9);
    }
    LvcConvParams c1, c2, c3, c4;
    make_conv(&c1, 96, 32, 1, 2, 2, 0, H0, W0, LVC_ACT_LRELU, 3);            /* level −1 */
    make_conv(&c2, 32, 32, 32, 3, 1, 1, c1.ho, c1.wo, LVC_ACT_RELU, 0);
    make_conv(&c3, 32, 64, 1, 1, 1, 0, c1.ho, c1.wo, LVC_ACT_NONE, 0);
    make_conv(&c4, 96, 96 * 4, 1, 1, 1, 0, c1.ho, c1.wo, LVC_ACT_NONE, 0);  /* → shuffle 2 */
    int16_t *table = malloc(64 * 64 * 2);
    for (int i = 0; i < 64 * 64; i++)
        table[i] = (int16_t)rnd_in(100, 3000);
    const int qp = 37;

    /* host chain */
    LvcTensor X = {calloc((size_t)96 * H0 * W0, 2), 96, H0, W0, 7};
    LvcTensor A = {calloc((size_t)32 * c1.ho * c1.wo, 2), 32, c1.ho, c1.wo, 7};
    LvcTensor B = {calloc((size_t)32 * c1.ho * c1.wo, 2), 32, c1.ho, c1.wo, 7};
    LvcTensor C = {calloc((size_t)64 * c1.ho * c1.wo, 2), 64, c1.ho, c1.wo, 7};
    LvcTensor D = {calloc((size_t)64 * c1.ho * c1.wo, 2), 64, c1.ho, c1.wo, 6}; /* rescale C */
    LvcTensor E = {calloc((size_t)64 * c1.ho * c1.wo, 2), 64, c1.ho, c1.wo, 6}; /* add */
    LvcTensor Q = {calloc((size_t)64 * c1.ho * c1.wo, 2), 64, c1.ho, c1.wo, 5}; /* qmul */
    LvcTensor M = {calloc((size_t)64 * c1.ho * c1.wo, 2), 64, c1.ho, c1.wo, 5}; /* cbmask */
    LvcTensor G = {calloc((size_t)64 * c1.ho * c1.wo, 2), 64, c1.ho, c1.wo, 5}; /* cbmerge */
    LvcTensor K = {calloc((size_t)96 * c1.ho * c1.wo, 2), 96, c1.ho, c1.wo, 5}; /* concat G, A */
    LvcTensor S = {calloc((size_t)384 * c1.ho * c1.wo, 2), 384, c1.ho, c1.wo, 7};
    LvcTensor R = {calloc((size_t)96 * H0 * W0, 2), 96, H0, W0, 7};               /* shuffle */
    uint8_t *oy = calloc((size_t)w * h, 1), *ou = calloc((size_t)cw * ch, 1), *ov = calloc((size_t)cw * ch, 1);
    dsp.pack(X.data, py, w, pu, cw, pv, cw, w, h, 0, H0);
    lvc_conv_c(A.data, X.data, &c1, 0, c1.ho);
    lvc_conv_c(B.data, A.data, &c2, 0, c1.ho);
    lvc_conv1x1_c(C.data, B.data, &c3, 0, c1.ho);
    lvc_rescale_band(&dsp, &D, &C, LVC_ACT_NONE, 0, 0, c1.ho);
    LvcTensor A6 = A; /* A with its channels read at exponent 7, added into exponent 6 */
    LvcTensor Adup = {calloc((size_t)64 * c1.ho * c1.wo, 2), 64, c1.ho, c1.wo, 7};
    lvc_concat_band(&Adup, 0, &A6, 0, c1.ho);
    lvc_concat_band(&Adup, 32, &A6, 0, c1.ho);
    lvc_add_band(&dsp, &E, &D, &Adup, LVC_ACT_LRELU, 1, 0, c1.ho);
    lvc_qmul_band(&dsp, &Q, &E, table + qp * 64, 12, LVC_ACT_NONE, 0, 0, c1.ho); /* s = 6+12−5 */
    lvc_cbmask_band(&M, &Q, 0, 0, c1.ho);
    lvc_cbmerge_band(&G, &M, &E, 1, 0, c1.ho);
    lvc_concat_band(&K, 0, &G, 0, c1.ho);
    LvcTensor A5 = A;
    lvc_concat_band(&K, 64, &A5, 0, c1.ho);
    lvc_conv1x1_c(S.data, K.data, &c4, 0, c1.ho);
    lvc_shuffle_band(&R, &S, 2, 0, H0);
    R.exp = 9;
    dsp.unpack(oy, w, ou, cw, ov, cw, w, h, R.data, R.exp, 0, H0);

    /* device chain */
    LvcVkPicture pic, opic;
    LvcVkConv v1, v2, v3, v4;
    LvcVkQTable qt;
    LvcVkTensor dX, dA, dB, dC, dD, dE, dQ, dM, dG, dK, dS, dR, dAdup;
    int err = 0;
    err = err ? err : lvc_vk_conv_upload(arena, &c1, &v1);
    err = err ? err : lvc_vk_conv_upload(arena, &c2, &v2);
    err = err ? err : lvc_vk_conv_upload(arena, &c3, &v3);
    err = err ? err : lvc_vk_conv_upload(arena, &c4, &v4);
    err = err ? err : lvc_vk_qtable_upload(arena, table, 64, &qt);
    err = err ? err : lvc_vk_picture_alloc(arena, &pic, w, h);
    err = err ? err : lvc_vk_picture_alloc(arena, &opic, w, h);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dX, 96, H0, W0, 7);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dA, 32, c1.ho, c1.wo, 7);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dB, 32, c1.ho, c1.wo, 7);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dC, 64, c1.ho, c1.wo, 7);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dD, 64, c1.ho, c1.wo, 6);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dE, 64, c1.ho, c1.wo, 6);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dQ, 64, c1.ho, c1.wo, 5);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dM, 64, c1.ho, c1.wo, 5);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dG, 64, c1.ho, c1.wo, 5);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dK, 96, c1.ho, c1.wo, 5);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dS, 384, c1.ho, c1.wo, 7);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dR, 96, H0, W0, 9);
    err = err ? err : lvc_vk_tensor_alloc(arena, &dAdup, 64, c1.ho, c1.wo, 7);
    err = err ? err : lvc_vk_picture_upload(arena, &pic, py, w, pu, cw, pv, cw);
    CHECK(err == 0, "chain setup: %s", lvc_last_error());
    if (!err) {
        LvcVkTensor dA5 = dA;
        dA5.exp = 5;
        err = lvc_vk_begin(arena);
        err = err ? err : lvc_vk_record_pack(arena, &dX, &pic);
        err = err ? err : lvc_vk_record_conv(arena, &v1, &dX, &dA);
        err = err ? err : lvc_vk_record_conv(arena, &v2, &dA, &dB);
        err = err ? err : lvc_vk_record_conv(arena, &v3, &dB, &dC);
        err = err ? err : lvc_vk_record_rescale(arena, &dD, &dC, LVC_ACT_NONE, 0);
        err = err ? err : lvc_vk_record_concat(arena, &dAdup, 0, &dA);
        err = err ? err : lvc_vk_record_concat(arena, &dAdup, 32, &dA);
        err = err ? err : lvc_vk_record_add(arena, &dE, &dD, &dAdup, LVC_ACT_LRELU, 1);
        err = err ? err : lvc_vk_record_qmul(arena, &dQ, &dE, &qt, qp, 12, LVC_ACT_NONE, 0);
        err = err ? err : lvc_vk_record_cbmask(arena, &dM, &dQ, 0);
        err = err ? err : lvc_vk_record_cbmerge(arena, &dG, &dM, &dE, 1);
        err = err ? err : lvc_vk_record_concat(arena, &dK, 0, &dG);
        err = err ? err : lvc_vk_record_concat(arena, &dK, 64, &dA5);
        err = err ? err : lvc_vk_record_conv(arena, &v4, &dK, &dS);
        err = err ? err : lvc_vk_record_shuffle(arena, &dR, &dS, 2);
        err = err ? err : lvc_vk_record_unpack(arena, &opic, &dR);
        /* independent: the two copies into Adup and the second part of K */
        CHECK(lvc_vk_barrier_count(arena) == 12, "chain: %d barriers, expected 12",
              lvc_vk_barrier_count(arena));
        if (!run_one(err)) {
            printf("# chain: 16 dispatches in one submission, %.3f ms on the GPU\n",
                   1e-6 * (double)lvc_vk_last_gpu_ns(arena));
            uint8_t *gy = calloc((size_t)w * h, 1), *gu = calloc((size_t)cw * ch, 1),
                    *gv = calloc((size_t)cw * ch, 1);
            err = lvc_vk_picture_download(arena, &opic, gy, w, gu, cw, gv, cw);
            CHECK(err == 0, "%s", lvc_last_error());
            CHECK(!memcmp(gy, oy, (size_t)w * h) && !memcmp(gu, ou, (size_t)cw * ch) &&
                  !memcmp(gv, ov, (size_t)cw * ch), "chain: pictures differ");
            int16_t *gr = malloc(tsize(&R) * 2);
            err = lvc_vk_download(arena, &dR, gr);
            CHECK(!err && first_diff(gr, R.data, tsize(&R)) < 0, "chain: R differs");
            /* not trivially constant */
            int distinct = 0;
            for (size_t i = 1; i < tsize(&R); i++)
                distinct += R.data[i] != R.data[0];
            CHECK(distinct > 100, "chain output is nearly constant");
            free(gr);
            free(gy);
            free(gu);
            free(gv);
        }
    }
    LvcTensor *all[] = {&X, &A, &B, &C, &D, &E, &Q, &M, &G, &K, &S, &R, &Adup};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]->data);
    free_conv(&c1);
    free_conv(&c2);
    free_conv(&c3);
    free_conv(&c4);
    free(table);
    free(py); free(pu); free(pv); free(oy); free(ou); free(ov);
}

/* Barriers exactly where a dispatch depends on one since the last barrier. */
static void test_barriers(void)
{
    lvc_vk_arena_reset_act(arena);
    Pair x, y, z;
    int err = pair_new(&x, 3, 4, 5, 0, 1);
    err = err ? err : pair_new(&y, 3, 4, 5, 0, 1);
    err = err ? err : pair_new(&z, 3, 4, 5, 0, 1);
    CHECK(err == 0, "%s", lvc_last_error());
    if (err)
        return;
    err = lvc_vk_begin(arena);
    err = err ? err : lvc_vk_record_act(arena, &y.d, &x.d, LVC_ACT_RELU, 0);  /* y = f(x) */
    err = err ? err : lvc_vk_record_act(arena, &z.d, &x.d, LVC_ACT_LRELU, 2); /* reads x: free */
    CHECK(lvc_vk_barrier_count(arena) == 0, "read-read needs no barrier");
    err = err ? err : lvc_vk_record_act(arena, &x.d, &x.d, LVC_ACT_LRELU, 1); /* WAR on x */
    CHECK(lvc_vk_barrier_count(arena) == 1, "write after read needs a barrier");
    err = err ? err : lvc_vk_record_add(arena, &z.d, &y.d, &y.d, 0, 0); /* y, z: covered */
    CHECK(lvc_vk_barrier_count(arena) == 1, "no barrier for what one already covers");
    err = err ? err : lvc_vk_record_cbmask(arena, &z.d, &y.d, 1);        /* WAW on z */
    CHECK(lvc_vk_barrier_count(arena) == 2, "write after write needs a barrier");
    err = err ? err : lvc_vk_record_add(arena, &y.d, &z.d, &z.d, 0, 0);  /* RAW on z */
    CHECK(lvc_vk_barrier_count(arena) == 3, "read after write needs a barrier");
    if (!run_one(err)) {
        const size_t n = 60;
        int16_t *x0 = malloc(n * 2), *t = malloc(n * 2);
        memcpy(x0, x.h.data, n * 2);
        LvcTensor hx0 = {x0, 3, 4, 5, 0}, ht = {t, 3, 4, 5, 0};
        lvc_act_band(&dsp, &x.h, &hx0, LVC_ACT_LRELU, 1, 0, 4);
        lvc_act_band(&dsp, &ht, &hx0, LVC_ACT_RELU, 0, 0, 4);
        lvc_cbmask_band(&z.h, &ht, 1, 0, 4);
        lvc_add_band(&dsp, &y.h, &z.h, &z.h, 0, 0, 0, 4);
        pair_same(&x, "x");
        pair_same(&y, "y");
        pair_same(&z, "z");
        free(x0);
        free(t);
    }
    pair_free(&x);
    pair_free(&y);
    pair_free(&z);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_errors(void)
{
    lvc_vk_arena_reset_act(arena);
    LvcVkTensor a, b, big;
    CHECK(lvc_vk_tensor_alloc(arena, &a, 3, 5, 7, 0) == 0, "alloc");
    CHECK(lvc_vk_tensor_alloc(arena, &b, 3, 5, 6, 0) == 0, "alloc");
    CHECK(lvc_vk_tensor_alloc(arena, &big, 0, 5, 6, 0) == LVC_EINVAL, "zero channels");
    CHECK(lvc_vk_tensor_alloc(arena, &big, 60000, 600, 600, 0) == LVC_ENOMEM, "arena full");
    CHECK(lvc_vk_record_add(arena, &a, &a, &a, 0, 0) == LVC_EINVAL, "record outside begin");
    CHECK(lvc_vk_submit_wait(arena) == LVC_EINVAL, "submit without begin");
    CHECK(lvc_vk_begin(arena) == 0, "begin");
    CHECK(lvc_vk_begin(arena) == LVC_EINVAL, "begin twice");
    CHECK(lvc_vk_record_add(arena, &a, &a, &b, 0, 0) == LVC_EINVAL, "shape mismatch");
    CHECK(lvc_vk_record_act(arena, &a, &a, LVC_ACT_LRELU, 16) == LVC_EINVAL, "lrelu 16");
    CHECK(lvc_vk_record_shuffle(arena, &a, &b, 2) == LVC_EINVAL, "shuffle shape");
    CHECK(lvc_vk_record_crop(arena, &a, &b) == LVC_EINVAL, "crop larger");
    CHECK(lvc_vk_record_concat(arena, &a, 1, &a) == LVC_EINVAL, "concat overflow");
    LvcVkTensor far = a;
    far.off = 0x3fffffff;
    CHECK(lvc_vk_record_act(arena, &far, &a, LVC_ACT_RELU, 0) == LVC_EINVAL, "outside arena");
    CHECK(lvc_vk_record_cbmask(arena, &a, &a, 2) == LVC_EINVAL, "parity 2");
    CHECK(lvc_vk_upload(arena, &a, (const int16_t[105]){0}) == LVC_EINVAL, "upload while recording");
    CHECK(lvc_vk_submit_wait(arena) == 0, "empty submit: %s", lvc_last_error());
    LvcConvParams p = {3, 5, 7, 3, 5, 7, 3, 1, 1, 3, NULL, NULL, NULL, NULL, 0, 0};
    LvcVkConv cv;
    CHECK(lvc_vk_conv_upload(arena, &p, &cv) == LVC_EINVAL, "conv without weights");
}

/* An application's device adopted: ops run on it, and destroying the context leaves it. */
static void test_adopt(void)
{
    AppDevice ad;
    if (app_device_create(&ad) < 0)
        return;
    LvcVkExternal ext = {ad.instance, ad.physical, ad.device, ad.queue,
                         ad.queue_family};
    LvcVkContext *c2;
    LvcVkArena *a2;
    LvcVkExternal bad = ext;
    bad.queue_family = 99;
    CHECK(lvc_vk_context_adopt(&c2, &bad) == LVC_EINVAL, "bad queue family accepted");
    int err = lvc_vk_context_adopt(&c2, &ext);
    CHECK(err == 0, "adopt: %s", lvc_last_error());
    if (!err) {
        err = lvc_vk_arena_create(c2, &a2, 1 << 16, 1 << 12);
        CHECK(err == 0, "arena: %s", lvc_last_error());
        if (!err) {
            int16_t x[3 * 5 * 7], got[3 * 5 * 7], want[3 * 5 * 7];
            for (int i = 0; i < 105; i++)
                x[i] = rnd16();
            LvcTensor hin = {x, 3, 5, 7, 0}, hout = {want, 3, 5, 7, 0};
            lvc_act_band(&dsp, &hout, &hin, LVC_ACT_LRELU, 15, 0, 5);
            LvcVkTensor t, u;
            err = lvc_vk_tensor_alloc(a2, &t, 3, 5, 7, 0);
            CHECK(lvc_vk_tensor_bytes(3, 5, 7) == 256, "tensor bytes");
            err = err ? err : lvc_vk_tensor_alloc(a2, &u, 3, 5, 7, 0);
            err = err ? err : lvc_vk_upload(a2, &t, x);
            err = err ? err : lvc_vk_begin(a2);
            err = err ? err : lvc_vk_record_act(a2, &u, &t, LVC_ACT_LRELU, 15);
            err = err ? err : lvc_vk_submit_wait(a2);
            err = err ? err : lvc_vk_download(a2, &u, got);
            CHECK(err == 0 && !memcmp(got, want, sizeof(got)), "adopted device: %s",
                  err ? lvc_last_error() : "differs");
            lvc_vk_arena_destroy(a2);
        }
        lvc_vk_context_destroy(c2);
    }
    /* still ours and usable */
    CHECK(vkDeviceWaitIdle(ad.device) == VK_SUCCESS, "device gone after destroy");
    app_device_destroy(&ad);
}

/* A second instance that is never destroyed, reachable from here until exit: it keeps the
 * loader from unloading the driver (ICD) when the context's instance goes, which would make
 * LeakSanitizer report the driver's own static allocations (seen with lavapipe: 128 bytes from
 * an unloaded module, also with a bare vkCreateInstance/vkDestroyInstance). */
static VkInstance pin_instance;

static void pin_driver(void)
{
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .apiVersion = VK_API_VERSION_1_0};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pApplicationInfo = &app};
    if (vkCreateInstance(&ici, NULL, &pin_instance) == VK_SUCCESS) {
        VkPhysicalDevice pd[16];
        uint32_t n = 16;
        vkEnumeratePhysicalDevices(pin_instance, &n, pd); /* loads the drivers */
    }
}

int main(void)
{
    pin_driver();
    int err = lvc_vk_context_create(&ctx);
    if (err == LVC_EUNSUPPORTED) {
        printf("SKIP: no Vulkan device (%s)\n", lvc_last_error());
        return 77;
    }
    if (err < 0) {
        printf("Vulkan context: %s\n", lvc_last_error());
        return 1;
    }
    printf("# device: %s (type %d)\n", lvc_vk_device_name(ctx), lvc_vk_device_type(ctx));
    err = lvc_vk_arena_create(ctx, &arena, 48u << 20, 16u << 20);
    if (err < 0) {
        printf("arena: %s\n", lvc_last_error());
        lvc_vk_context_destroy(ctx);
        return 1;
    }
    lvc_dsp_init(&dsp, LVC_DSP_C);
    RUN(test_conv_fixed);
    RUN(test_conv_random);
    RUN(test_eltwise);
    RUN(test_shuffle);
    RUN(test_pad_crop);
    RUN(test_concat);
    RUN(test_pack_unpack);
    RUN(test_chain);
    RUN(test_barriers);
    RUN(test_errors);
    RUN(test_adopt);
    lvc_vk_arena_destroy(arena);
    lvc_vk_context_destroy(ctx);
    return check_finish();
}

#endif /* LVC_HAVE_VULKAN */
