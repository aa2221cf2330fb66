/* checkasm: every SIMD kernel at every instruction-set level this machine supports must give
 * exactly the integers of the C reference (codec/ARITHMETIC.md).
 *
 * For each kernel and many random cases (odd shapes, extreme values, accumulators that wrap,
 * shifts 1 and 30, every activation, row bands split at random, unaligned buffers) the
 * reference and each level's version write into copies of the same pre-filled buffer with
 * guard zones on both sides; the whole buffers must be identical (so no write outside the
 * band or the tensor goes unnoticed).  Source buffers end exactly at the tensor's end so that
 * AddressSanitizer sees over-reads.
 *
 *   checkasm [--seed N] [--cases N]   the test (run by meson test)
 *   checkasm --bench                  time per call per level, GMAC/s, int16 multiply-add peak
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cpu.h"
#include "kernels.h"
#include "lvc/lvc.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_PEAK 1
#endif

/* ---- random numbers ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* uniform in [lo, hi] */
static int rr(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

static int pick(const int *v, int n) { return v[rnd() % (uint32_t)n]; }

/* int16 values in one of several styles: full range, extremes only, small, mostly extremes */
static int16_t rnd16(int style)
{
    switch (style) {
    case 0:
        return (int16_t)(rnd() & 0xffff);
    case 1:
        return rnd() & 1 ? 32767 : -32768;
    case 2:
        return (int16_t)rr(-300, 300);
    default:
        return rnd() % 4 ? (rnd() & 1 ? 32767 : -32768) : (int16_t)(rnd() & 0xffff);
    }
}

static int8_t rnd8(int style)
{
    switch (style) {
    case 0:
        return (int8_t)(rnd() & 0xff);
    case 1:
        return rnd() & 1 ? 127 : -128;
    case 2:
        return (int8_t)rr(-8, 8);
    default:
        return rnd() % 4 ? (rnd() & 1 ? 127 : -128) : (int8_t)(rnd() & 0xff);
    }
}

static int32_t rnd32(int style)
{
    switch (style) {
    case 0:
        return (int32_t)rnd();
    case 1: /* near ±2^31 so that accumulators wrap */
        return rnd() & 1 ? INT32_MAX - rr(0, 1 << 20) : INT32_MIN + rr(0, 1 << 20);
    default:
        return rr(-100000, 100000);
    }
}

/* ---- buffers with guards ------------------------------------------------------------------- */

#define GUARD 48 /* int16 on each side of an output */

typedef struct OutBuf {
    int16_t *base; /* GUARD + n + GUARD */
    int16_t *data;
    size_t n;
} OutBuf;

static void out_alloc(OutBuf *b, size_t n)
{
    b->n = n;
    b->base = malloc((n + 2 * GUARD) * sizeof(int16_t));
    if (!b->base) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    b->data = b->base + GUARD;
}

static void out_fill(OutBuf *b)
{
    for (size_t i = 0; i < b->n + 2 * GUARD; i++)
        b->base[i] = (int16_t)(rnd() & 0xffff);
}

static void out_copy(OutBuf *dst, const OutBuf *src)
{
    memcpy(dst->base, src->base, (src->n + 2 * GUARD) * sizeof(int16_t));
}

/* Index of the first difference (−1: equal), guards included (reported relative to data). */
static long out_diff(const OutBuf *a, const OutBuf *b)
{
    for (size_t i = 0; i < a->n + 2 * GUARD; i++)
        if (a->base[i] != b->base[i])
            return (long)i - GUARD;
    return -1;
}

/* An input of n int16 ending exactly at the end of its allocation, at an offset of 0..31
 * elements from an aligned start; free with in_free. */
typedef struct InBuf {
    int16_t *base;
    int16_t *data;
} InBuf;

static void in_alloc(InBuf *b, size_t n, int style)
{
    const size_t off = rnd() % 32;
    b->base = malloc((n + off) * sizeof(int16_t) + 1);
    if (!b->base) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    b->data = b->base + off;
    for (size_t i = 0; i < n; i++)
        b->data[i] = rnd16(style == 4 ? (int)(rnd() % 4) : style);
}

/* ---- levels -------------------------------------------------------------------------------- */

static int n_levels;
static int levels[LVC_CPU_MAX_LEVEL + 1];
static LvcDsp dsp_c, dsps[LVC_CPU_MAX_LEVEL + 1];

static void setup_levels(void)
{
    lvc_dsp_init(&dsp_c, LVC_DSP_C);
    const int top = lvc_get_cpu_level();
    for (int l = LVC_CPU_C + 1; l <= top; l++) {
        if (!lvc_cpu_supports(l))
            continue;
        levels[n_levels] = l;
        lvc_dsp_init(&dsps[n_levels], l);
        n_levels++;
    }
}

/* Bands: cut [0, n) into 1..4 pieces at random. */
static int make_bands(int *cuts, int n)
{
    int nb = rr(1, 4);
    cuts[0] = 0;
    for (int i = 1; i < nb; i++)
        cuts[i] = rr(0, n);
    cuts[nb] = n;
    for (int i = 1; i < nb; i++) /* sort */
        for (int j = i + 1; j < nb; j++)
            if (cuts[j] < cuts[i]) {
                int t = cuts[i];
                cuts[i] = cuts[j];
                cuts[j] = t;
            }
    return nb;
}

static long cases_per_kernel = 800;
static long compared[16];

/* ---- convolutions -------------------------------------------------------------------------- */

enum { K_CONV1X1, K_DW3X3, K_CONV };
static const char *const conv_names[] = {"conv1x1", "dw3x3", "conv"};

static LvcConvFn conv_fn(const LvcDsp *d, int kind)
{
    return kind == K_CONV1X1 ? d->conv1x1 : kind == K_DW3X3 ? d->dw3x3 : d->conv;
}

static const int chans[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 96, 128, 130};
static const int wide[] = {31, 32, 33, 63, 64, 65, 255, 256, 257, 300, 520};

/* One random case of a convolution kind; returns 0 when every level matched. */
static int conv_case(int kind)
{
    LvcConvParams p;
    memset(&p, 0, sizeof(p));
    if (kind == K_DW3X3) {
        p.cin = p.cout = p.groups = pick(chans, (int)(sizeof(chans) / sizeof(chans[0])));
        p.k = 3, p.stride = 1, p.pad = 1;
    } else if (kind == K_CONV1X1) {
        p.cin = pick(chans, (int)(sizeof(chans) / sizeof(chans[0])));
        p.cout = pick(chans, (int)(sizeof(chans) / sizeof(chans[0])));
        p.k = 1, p.stride = 1, p.pad = 0;
    } else {
        p.cin = pick(chans, (int)(sizeof(chans) / sizeof(chans[0])));
        p.cout = pick(chans, (int)(sizeof(chans) / sizeof(chans[0])));
        const int shape = rr(0, 5);
        if (shape < 3) {
            p.k = 2, p.stride = 2, p.pad = 0;
        } else if (shape < 5) {
            p.k = 3, p.stride = 1, p.pad = 1;
        } else {
            p.k = rr(1, 5), p.stride = rr(1, 2), p.pad = rr(0, p.k - 1);
        }
    }
    if (kind != K_DW3X3) { /* groups: a common divisor, usually 1 */
        p.groups = 1;
        if (rnd() % 4 == 0) {
            int g = rr(1, 8);
            while (p.cin % g || p.cout % g)
                g--;
            p.groups = g;
        }
    }
    p.h = rr(1, 37);
    p.w = rnd() % 4 ? rr(1, 37) : pick(wide, (int)(sizeof(wide) / sizeof(wide[0])));
    if (p.k > p.h + 2 * p.pad || p.k > p.w + 2 * p.pad)
        p.h = p.w = p.k; /* keep an output of at least 1×1 */
    /* bound the work of one case */
    const long macs_per_px = (long)(p.cin / p.groups) * p.cout * p.k * p.k;
    while (p.h / 2 >= p.k && macs_per_px * p.h * p.w > 600000)
        p.h /= 2;
    while (p.w / 2 >= p.k && macs_per_px * p.h * p.w > 600000)
        p.w /= 2;
    p.ho = lvc_conv_out_size(p.h, p.k, p.stride, p.pad);
    p.wo = lvc_conv_out_size(p.w, p.k, p.stride, p.pad);

    const int wstyle = rr(0, 3), xstyle = rr(0, 4), bstyle = rr(0, 3);
    const size_t nw = (size_t)p.cout * (size_t)(p.cin / p.groups) * (size_t)(p.k * p.k);
    int8_t *w8 = NULL;
    int16_t *w16 = NULL;
    if (rnd() & 1) {
        w8 = malloc(nw);
        for (size_t i = 0; i < nw; i++)
            w8[i] = rnd8(wstyle);
    } else {
        w16 = malloc(nw * sizeof(int16_t));
        for (size_t i = 0; i < nw; i++)
            w16[i] = rnd16(wstyle);
    }
    int32_t *bias = NULL;
    if (bstyle < 3) {
        bias = malloc((size_t)p.cout * sizeof(int32_t));
        for (int i = 0; i < p.cout; i++)
            bias[i] = rnd32(bstyle);
    }
    uint8_t *shift = malloc((size_t)p.cout);
    const int sstyle = rr(0, 3);
    for (int i = 0; i < p.cout; i++)
        shift[i] = (uint8_t)(sstyle == 0 ? 1 : sstyle == 1 ? 30 : rr(1, 30));
    p.w8 = w8, p.w16 = w16, p.bias = bias, p.shift = shift;
    p.act = rr(0, 2);
    p.act_shift = p.act == LVC_ACT_LRELU ? (rnd() & 1 ? rr(1, 15) : (rnd() & 1 ? 1 : 15)) : 0;
    int failed = 0;
    if (lvc_conv_check(&p) != 0) {
        fprintf(stderr, "checkasm: bad case generated\n");
        failed = 1;
        goto done;
    }

    InBuf in;
    in_alloc(&in, (size_t)p.cin * (size_t)p.h * (size_t)p.w, xstyle);
    OutBuf ref, out;
    const size_t no = (size_t)p.cout * (size_t)p.ho * (size_t)p.wo;
    out_alloc(&ref, no);
    out_alloc(&out, no);
    out_fill(&ref);
    int cuts[5];
    const int nb = make_bands(cuts, p.ho);
    OutBuf init;
    out_alloc(&init, no);
    out_copy(&init, &ref);
    for (int b = 0; b < nb; b++)
        conv_fn(&dsp_c, kind)(ref.data, in.data, &p, cuts[b], cuts[b + 1]);
    for (int l = 0; l < n_levels; l++) {
        LvcConvFn fn = conv_fn(&dsps[l], kind);
        if (fn == conv_fn(&dsp_c, kind))
            continue;
        out_copy(&out, &init);
        for (int b = 0; b < nb; b++)
            fn(out.data, in.data, &p, cuts[b], cuts[b + 1]);
        compared[kind]++;
        const long d = out_diff(&ref, &out);
        if (d >= 0) {
            failed = 1;
            CHECK(d < 0,
                  "%s %s: %d→%d ch, %dx%d, k%d s%d p%d g%d, w%s, act %d/%d, %d bands: first "
                  "difference at %ld (ref %d, got %d)",
                  conv_names[kind], lvc_cpu_level_name(levels[l]), p.cin, p.cout, p.w, p.h, p.k,
                  p.stride, p.pad, p.groups, w8 ? "8" : "16", p.act, p.act_shift, nb, d,
                  ref.data[d], out.data[d]);
        }
    }
    free(in.base);
    free(ref.base);
    free(out.base);
    free(init.base);
done:
    free(w8);
    free(w16);
    free(bias);
    free(shift);
    return failed;
}

static void conv_kind_test(int kind)
{
    int fails = 0;
    for (long i = 0; i < cases_per_kernel && fails < 5; i++)
        fails += conv_case(kind);
}

static void test_conv1x1(void) { conv_kind_test(K_CONV1X1); }
static void test_dw3x3(void) { conv_kind_test(K_DW3X3); }
static void test_conv(void) { conv_kind_test(K_CONV); }

/* ---- element-wise -------------------------------------------------------------------------- */

enum { E_ADD, E_RESCALE, E_QMUL, E_ACT };
static const char *const elt_names[] = {"add", "rescale", "qmul", "act"};

typedef struct EltCase {
    int da, db, s, act, k, inplace;
    int32_t mul;
} EltCase;

static void run_elt(const LvcDsp *d, int kind, const EltCase *c, int16_t *dst, const int16_t *a,
                    const int16_t *b, int n)
{
    switch (kind) {
    case E_ADD:
        d->add(dst, a, c->da, b, c->db, n, c->act, c->k);
        break;
    case E_RESCALE:
        d->rescale(dst, a, c->da, n, c->act, c->k);
        break;
    case E_QMUL:
        d->qmul(dst, a, c->mul, c->s, n, c->act, c->k);
        break;
    default:
        d->act(dst, a, n, c->act, c->k);
        break;
    }
}

static int elt_same(const LvcDsp *x, const LvcDsp *y, int kind)
{
    switch (kind) {
    case E_ADD:
        return x->add == y->add;
    case E_RESCALE:
        return x->rescale == y->rescale;
    case E_QMUL:
        return x->qmul == y->qmul;
    default:
        return x->act == y->act;
    }
}

static int elt_case(int kind)
{
    const int n = rnd() % 3 ? rr(1, 200) : rr(1, 3000);
    EltCase c;
    const int dpick = rnd() % 4;
    c.da = dpick == 0 ? 0 : dpick == 1 ? (rnd() & 1 ? -15 : 30) : rr(-15, 30);
    c.db = rnd() % 3 ? rr(-15, 30) : c.da;
    c.s = rnd() % 3 ? rr(1, 30) : (rnd() & 1 ? 1 : 30);
    const int mpick = rnd() % 8;
    c.mul = mpick == 0 ? 32767 : mpick == 1 ? -32768 : mpick == 2 ? rr(-300, 300) : (int16_t)rnd();
    c.act = kind == E_ACT ? rr(1, 2) : rr(0, 2);
    c.k = c.act == LVC_ACT_LRELU ? (rnd() & 1 ? rr(1, 15) : (rnd() & 1 ? 1 : 15)) : 0;
    c.inplace = rnd() % 4 == 0;
    const int style = rr(0, 4);
    InBuf a, b;
    in_alloc(&a, (size_t)n, style);
    in_alloc(&b, (size_t)n, style);
    OutBuf ref, out, init;
    out_alloc(&ref, (size_t)n);
    out_alloc(&out, (size_t)n);
    out_alloc(&init, (size_t)n);
    out_fill(&init);
    if (c.inplace) /* dst = a: the output buffer starts as a copy of the input */
        memcpy(init.data, a.data, (size_t)n * sizeof(int16_t));
    out_copy(&ref, &init);
    run_elt(&dsp_c, kind, &c, ref.data, c.inplace ? ref.data : a.data, b.data, n);
    int failed = 0;
    for (int l = 0; l < n_levels; l++) {
        if (elt_same(&dsps[l], &dsp_c, kind))
            continue;
        out_copy(&out, &init);
        run_elt(&dsps[l], kind, &c, out.data, c.inplace ? out.data : a.data, b.data, n);
        compared[4 + kind]++;
        const long d = out_diff(&ref, &out);
        if (d >= 0) {
            failed = 1;
            CHECK(d < 0,
                  "%s %s: n %d, da %d db %d s %d mul %" PRId32 " act %d/%d%s: first difference "
                  "at %ld (ref %d, got %d, input %d %d)",
                  elt_names[kind], lvc_cpu_level_name(levels[l]), n, c.da, c.db, c.s, c.mul,
                  c.act, c.k, c.inplace ? " in place" : "", d, ref.data[d], out.data[d],
                  d >= 0 && d < n ? a.data[d] : 0, d >= 0 && d < n ? b.data[d] : 0);
        }
    }
    free(a.base);
    free(b.base);
    free(ref.base);
    free(out.base);
    free(init.base);
    return failed;
}

static void elt_kind_test(int kind)
{
    int fails = 0;
    for (long i = 0; i < 4 * cases_per_kernel && fails < 5; i++)
        fails += elt_case(kind);
}

static void test_add(void) { elt_kind_test(E_ADD); }
static void test_rescale(void) { elt_kind_test(E_RESCALE); }
static void test_qmul(void) { elt_kind_test(E_QMUL); }
static void test_act(void) { elt_kind_test(E_ACT); }

/* ---- PACK / UNPACK ------------------------------------------------------------------------- */

static void test_pack_unpack(void)
{
    for (long it = 0; it < cases_per_kernel / 4; it++) {
        const int w = rnd() % 4 ? rr(1, 77) : rr(100, 300), h = rr(1, 77);
        const int cw = (w + 1) / 2, ch = (h + 1) / 2;
        const int w0 = 2 * ((w + 15) / 16), h0 = 2 * ((h + 15) / 16);
        const ptrdiff_t sy = w + rr(0, 9), sc = cw + rr(0, 9);
        uint8_t *py = malloc((size_t)(sy * h)), *pu = malloc((size_t)(sc * ch)),
                *pv = malloc((size_t)(sc * ch));
        for (ptrdiff_t i = 0; i < sy * h; i++)
            py[i] = (uint8_t)rnd();
        for (ptrdiff_t i = 0; i < sc * ch; i++)
            pu[i] = (uint8_t)rnd(), pv[i] = (uint8_t)rnd();
        OutBuf ref, out, init;
        const size_t n = (size_t)96 * (size_t)h0 * (size_t)w0;
        out_alloc(&ref, n);
        out_alloc(&out, n);
        out_alloc(&init, n);
        out_fill(&init);
        out_copy(&ref, &init);
        int cuts[5];
        const int nb = make_bands(cuts, h0);
        for (int b = 0; b < nb; b++)
            dsp_c.pack(ref.data, py, sy, pu, sc, pv, sc, w, h, cuts[b], cuts[b + 1]);
        for (int l = 0; l < n_levels; l++) {
            if (dsps[l].pack == dsp_c.pack)
                continue;
            out_copy(&out, &init);
            for (int b = 0; b < nb; b++)
                dsps[l].pack(out.data, py, sy, pu, sc, pv, sc, w, h, cuts[b], cuts[b + 1]);
            compared[8]++;
            CHECK(out_diff(&ref, &out) < 0, "pack %s %dx%d", lvc_cpu_level_name(levels[l]), w, h);
        }
        /* UNPACK of a random tensor into pictures pre-filled alike */
        const int f = rr(0, 22);
        for (size_t i = 0; i < n; i++)
            ref.data[i] = rnd16(rr(0, 3));
        const size_t ny = (size_t)(sy * h), nc = (size_t)(sc * ch);
        uint8_t *ry = malloc(ny), *ru = malloc(nc), *rv = malloc(nc);
        uint8_t *oy = malloc(ny), *ou = malloc(nc), *ov = malloc(nc);
        for (size_t i = 0; i < ny; i++)
            ry[i] = (uint8_t)rnd();
        for (size_t i = 0; i < nc; i++)
            ru[i] = (uint8_t)rnd(), rv[i] = (uint8_t)rnd();
        memcpy(oy, ry, ny), memcpy(ou, ru, nc), memcpy(ov, rv, nc);
        for (int b = 0; b < nb; b++)
            dsp_c.unpack(ry, sy, ru, sc, rv, sc, w, h, ref.data, f, cuts[b], cuts[b + 1]);
        for (int l = 0; l < n_levels; l++) {
            if (dsps[l].unpack == dsp_c.unpack)
                continue;
            for (int b = 0; b < nb; b++)
                dsps[l].unpack(oy, sy, ou, sc, ov, sc, w, h, ref.data, f, cuts[b], cuts[b + 1]);
            compared[9]++;
            CHECK(!memcmp(ry, oy, ny) && !memcmp(ru, ou, nc) && !memcmp(rv, ov, nc),
                  "unpack %s %dx%d f %d", lvc_cpu_level_name(levels[l]), w, h, f);
        }
        free(py), free(pu), free(pv), free(ry), free(ru), free(rv), free(oy), free(ou), free(ov);
        free(ref.base), free(out.base), free(init.base);
    }
}

/* ---- the level API ------------------------------------------------------------------------- */

static void test_levels(void)
{
    CHECK(lvc_cpu_parse_level("c") == LVC_CPU_C, "parse c");
    CHECK(lvc_cpu_parse_level("avx2") == LVC_CPU_AVX2, "parse avx2");
    CHECK(lvc_cpu_parse_level("avx512vnni") == LVC_CPU_AVX512VNNI, "parse avx512vnni");
    CHECK(lvc_cpu_parse_level("3") == 3, "parse 3");
    CHECK(lvc_cpu_parse_level("bogus") == -1, "parse bogus");
    CHECK(lvc_cpu_supports(LVC_CPU_C), "C always supported");
    const int top = lvc_get_cpu_level();
    CHECK(top <= lvc_cpu_detected_level(), "capped level %d above detected", top);
    CHECK(lvc_set_cpu_level_cap(LVC_CPU_C) == LVC_CPU_C, "cap to C");
    LvcDsp d;
    lvc_dsp_init(&d, LVC_DSP_MAX);
    CHECK(!memcmp(&d, &dsp_c, sizeof(d)), "a table capped to C is the C table");
    const int back = lvc_set_cpu_level_cap(-1);
    CHECK(back == top, "uncapped level %d, expected %d", back, top);
    /* a table at each level equals the one built under the same cap */
    for (int l = 0; l < n_levels; l++) {
        lvc_set_cpu_level_cap(levels[l]);
        CHECK(lvc_get_cpu_level() == levels[l], "cap %d", levels[l]);
        lvc_dsp_init(&d, LVC_DSP_MAX);
        CHECK(!memcmp(&d, &dsps[l], sizeof(d)), "table under cap %s",
              lvc_cpu_level_name(levels[l]));
    }
    lvc_set_cpu_level_cap(-1);
}

/* ---- benchmarks ---------------------------------------------------------------------------- */

/* CPU time of the calling thread: time-sharing with other processes does not count. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds per call of fn over runs (each run: reps calls). */
#define BENCH(result, runs, reps, call)                                                          \
    do {                                                                                         \
        double t_[64];                                                                           \
        for (int r_ = 0; r_ < (runs); r_++) {                                                    \
            const double s_ = cpu_s();                                                           \
            for (int q_ = 0; q_ < (reps); q_++) {                                                \
                call;                                                                            \
            }                                                                                    \
            t_[r_] = (cpu_s() - s_) / (reps);                                                    \
        }                                                                                        \
        qsort(t_, (size_t)(runs), sizeof(double), cmp_double);                                   \
        (result) = t_[(runs) / 2];                                                               \
    } while (0)

#if HAVE_X86_PEAK
/* Tight loops of independent multiply-adds on int16 pairs (inline assembly, so that the
 * compiler can neither hoist nor drop them); return MAC/s of thread CPU time. */
#define PEAK_ITERS 1000000
#define ACC12(x) x(0) x(1) x(2) x(3) x(4) x(5) x(6) x(7) x(8) x(9) x(10) x(11)
__attribute__((target("avx2"))) static double peak_avx2(void)
{
    __m256i a = _mm256_set1_epi16(3), b = _mm256_set1_epi16(5), p0, p1;
#define DECL(i) __m256i acc##i = _mm256_set1_epi32(i);
    ACC12(DECL)
#undef DECL
    const double t0 = cpu_s();
    for (int it = 0; it < PEAK_ITERS; it++) {
        /* 12 vpmaddwd + 12 vpaddd: 12 × 16 MACs */
#define STEP(i)                                                                                 \
    __asm__ volatile("vpmaddwd %2, %3, %1\n\tvpaddd %1, %0, %0"                                 \
                     : "+x"(acc##i), "=&x"(p0)                                                  \
                     : "x"(a), "x"(b));
        ACC12(STEP)
#undef STEP
    }
    const double t = cpu_s() - t0;
    p1 = _mm256_setzero_si256();
#define SUM(i) p1 = _mm256_add_epi32(p1, acc##i);
    ACC12(SUM)
#undef SUM
    volatile int sink = _mm256_extract_epi32(p1, 0);
    (void)sink;
    return 12.0 * 16.0 * PEAK_ITERS / t;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double peak_avx512vnni(void)
{
    __m512i a = _mm512_set1_epi16(3), b = _mm512_set1_epi16(5), p1;
#define DECL(i) __m512i acc##i = _mm512_set1_epi32(i);
    ACC12(DECL)
#undef DECL
    const double t0 = cpu_s();
    for (int it = 0; it < PEAK_ITERS; it++) {
#define STEP(i) __asm__ volatile("vpdpwssd %1, %2, %0" : "+v"(acc##i) : "v"(a), "v"(b));
        ACC12(STEP)
#undef STEP
    }
    const double t = cpu_s() - t0;
    p1 = _mm512_setzero_si512();
#define SUM(i) p1 = _mm512_add_epi32(p1, acc##i);
    ACC12(SUM)
#undef SUM
    volatile int sink = _mm512_reduce_add_epi32(p1);
    (void)sink;
    return 12.0 * 32.0 * PEAK_ITERS / t;
}
#endif

static void print_topology(void)
{
    printf("topology (thread_siblings_list per cpu):");
    for (int c = 0; c < 64; c++) {
        char path[128], buf[64];
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
                 c);
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        if (fgets(buf, sizeof(buf), f)) {
            buf[strcspn(buf, "\n")] = 0;
            printf(" cpu%d:[%s]", c, buf);
        }
        fclose(f);
    }
    printf("\n");
}

static void fill_params(LvcConvParams *p, int cin, int cout, int h, int w, int k, int s, int pad,
                        int groups, int8_t *w8, int32_t *bias, uint8_t *shift)
{
    memset(p, 0, sizeof(*p));
    p->cin = cin, p->cout = cout, p->h = h, p->w = w, p->k = k, p->stride = s, p->pad = pad;
    p->groups = groups;
    p->ho = lvc_conv_out_size(h, k, s, pad), p->wo = lvc_conv_out_size(w, k, s, pad);
    const size_t nw = (size_t)cout * (size_t)(cin / groups) * (size_t)(k * k);
    for (size_t i = 0; i < nw; i++)
        w8[i] = rnd8(0);
    for (int i = 0; i < cout; i++)
        bias[i] = rnd32(2), shift[i] = 12;
    p->w8 = w8, p->bias = bias, p->shift = shift, p->act = LVC_ACT_LRELU, p->act_shift = 3;
}

static int bench(void)
{
    enum { C = 128, H = 45, W = 80 };
    int8_t *w8 = malloc((size_t)C * C * 9);
    int32_t bias[C];
    uint8_t shift[C];
    int16_t *src = malloc((size_t)C * H * W * sizeof(int16_t)),
            *dst = malloc((size_t)C * H * W * sizeof(int16_t)),
            *src2 = malloc((size_t)C * H * W * sizeof(int16_t));
    for (size_t i = 0; i < (size_t)C * H * W; i++)
        src[i] = rnd16(2), src2[i] = rnd16(2);
    print_topology();
    printf("levels: c");
    for (int l = 0; l < n_levels; l++)
        printf(" %s", lvc_cpu_level_name(levels[l]));
    printf("\n");
    double peak = 0;
#if HAVE_X86_PEAK
    if (lvc_cpu_supports(LVC_CPU_AVX2))
        printf("peak int16 MAC (vpmaddwd+vpaddd ymm, 12 acc): %.1f GMAC/s\n", peak_avx2() * 1e-9);
    if (lvc_cpu_supports(LVC_CPU_AVX512VNNI)) {
        peak = peak_avx512vnni();
        printf("peak int16 MAC (vpdpwssd zmm, 12 acc):        %.1f GMAC/s\n", peak * 1e-9);
    }
#endif
    printf("%-28s %-11s %12s %10s %8s %8s\n", "kernel", "level", "us/call", "GMAC/s", "x C",
           "of peak");
    struct {
        const char *name;
        int cin, cout, k, s, pad, groups, h, w;
    } cv[] = {
        {"conv1x1 128->128 80x45", C, C, 1, 1, 0, 1, H, W},
        {"dw3x3 128ch 80x45", C, C, 3, 1, 1, C, H, W},
        {"conv2x2s2 128->128 80x46", C, C, 2, 2, 0, 1, 46, W},
        {"conv3x3 128->96 80x45", C, 96, 3, 1, 1, 1, H, W},
    };
    for (size_t t = 0; t < sizeof(cv) / sizeof(cv[0]); t++) {
        LvcConvParams p;
        fill_params(&p, cv[t].cin, cv[t].cout, cv[t].h, cv[t].w, cv[t].k, cv[t].s, cv[t].pad,
                    cv[t].groups, w8, bias, shift);
        const double macs = (double)p.cout * (p.cin / p.groups) * p.k * p.k * p.ho * p.wo;
        double tc = 0;
        for (int l = -1; l < n_levels; l++) {
            const LvcDsp *d = l < 0 ? &dsp_c : &dsps[l];
            if (l >= 0 && !memcmp(d, &dsp_c, sizeof(*d)))
                continue; /* no kernels of its own (sse41) */
            LvcConvFn fn = lvc_conv_select(d, &p);
            double sec;
            const int reps = l < 0 ? 1 : 5;
            BENCH(sec, l < 0 ? 5 : 21, reps, fn(dst, src, &p, 0, p.ho));
            if (l < 0)
                tc = sec;
            printf("%-28s %-11s %12.1f %10.2f %8.1f", cv[t].name,
                   l < 0 ? "c" : lvc_cpu_level_name(levels[l]), sec * 1e6, macs / sec * 1e-9,
                   tc / sec);
            if (peak > 0)
                printf(" %7.1f%%", 100.0 * macs / sec / peak);
            printf("\n");
        }
    }
    const int n = C * H * W;
    for (int kind = 0; kind < 4; kind++) {
        double tc = 0;
        for (int l = -1; l < n_levels; l++) {
            const LvcDsp *d = l < 0 ? &dsp_c : &dsps[l];
            if (l >= 0 && !memcmp(d, &dsp_c, sizeof(*d)))
                continue;
            double sec;
            const EltCase c = {2, 0, 9, LVC_ACT_LRELU, 3, 0, 1234};
            BENCH(sec, 11, 5, run_elt(d, kind, &c, dst, src, src2, n));
            if (l < 0)
                tc = sec;
            printf("%-28s %-11s %12.1f %10s %8.1f\n", elt_names[kind],
                   l < 0 ? "c" : lvc_cpu_level_name(levels[l]), sec * 1e6, "", tc / sec);
        }
    }
    /* PACK / UNPACK of a 640 × 360 picture (80 × 46 level-0 positions, 96 channels) */
    {
        enum { PW = 640, PH = 360 };
        uint8_t *pic = malloc((size_t)PW * PH * 3 / 2);
        int16_t *packed = malloc((size_t)96 * 46 * 80 * sizeof(int16_t));
        for (size_t i = 0; i < (size_t)PW * PH * 3 / 2; i++)
            pic[i] = (uint8_t)rnd();
        uint8_t *u = pic + PW * PH, *v = u + PW * PH / 4;
        for (int kind = 0; kind < 2; kind++) {
            double tc = 0;
            for (int l = -1; l < n_levels; l++) {
                const LvcDsp *d = l < 0 ? &dsp_c : &dsps[l];
                if (l >= 0 && !memcmp(d, &dsp_c, sizeof(*d)))
                    continue;
                double sec;
                if (kind == 0)
                    BENCH(sec, 11, 5,
                          d->pack(packed, pic, PW, u, PW / 2, v, PW / 2, PW, PH, 0, 46));
                else
                    BENCH(sec, 11, 5,
                          d->unpack(pic, PW, u, PW / 2, v, PW / 2, PW, PH, packed, 9, 0, 46));
                if (l < 0)
                    tc = sec;
                printf("%-28s %-11s %12.1f %10s %8.1f\n", kind ? "unpack 640x360" : "pack 640x360",
                       l < 0 ? "c" : lvc_cpu_level_name(levels[l]), sec * 1e6, "", tc / sec);
            }
        }
        free(pic), free(packed);
    }
    free(w8), free(src), free(dst), free(src2);
    return 0;
}

int main(int argc, char **argv)
{
    int do_bench = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bench"))
            do_bench = 1;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            rng_state = strtoull(argv[++i], NULL, 0) * 2 + 1;
        else if (!strcmp(argv[i], "--cases") && i + 1 < argc)
            cases_per_kernel = strtol(argv[++i], NULL, 0);
        else {
            fprintf(stderr, "usage: %s [--bench] [--seed N] [--cases N]\n", argv[0]);
            return 2;
        }
    }
    setup_levels();
    printf("cpu: detected %s, in effect %s; testing c",
           lvc_cpu_level_name(lvc_cpu_detected_level()), lvc_cpu_level_name(lvc_get_cpu_level()));
    for (int l = 0; l < n_levels; l++)
        printf(" %s", lvc_cpu_level_name(levels[l]));
    printf("\n");
    if (do_bench)
        return bench();
    RUN(test_levels);
    RUN(test_conv1x1);
    RUN(test_dw3x3);
    RUN(test_conv);
    RUN(test_add);
    RUN(test_rescale);
    RUN(test_qmul);
    RUN(test_act);
    RUN(test_pack_unpack);
    static const char *const names[] = {"conv1x1", "dw3x3", "conv", "", "add", "rescale",
                                        "qmul", "act", "pack", "unpack"};
    printf("comparisons:");
    for (int i = 0; i < 10; i++)
        if (names[i][0])
            printf(" %s %ld", names[i], compared[i]);
    printf("\n");
    return check_finish();
}
