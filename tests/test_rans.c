/* Tests of the rANS coder and CDF tables (codec/FORMAT.md §2.1-2.2).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "internal.h"
#include "rans.h"

/* ---- deterministic helpers ------------------------------------------------------------------- */

typedef struct Rng {
    uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint32_t rng_below(Rng *r, uint32_t n) { return (uint32_t)(rng_next(r) % n); }
static double rng_unit(Rng *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }
static double rng_gauss(Rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* P(lo <= X < hi) for X ~ N(0, 1), accurate in the tails. */
static double gauss_bin(double lo, double hi)
{
    const double r2 = 0.7071067811865476;
    if (lo >= 0)
        return 0.5 * (erfc(lo * r2) - erfc(hi * r2));
    if (hi <= 0)
        return 0.5 * (erfc(-hi * r2) - erfc(-lo * r2));
    return 1.0 - 0.5 * erfc(-lo * r2) - 0.5 * erfc(hi * r2);
}

typedef struct Frac {
    double f;
    int i;
} Frac;
static int frac_cmp(const void *a, const void *b)
{
    const Frac *x = a, *y = b;
    if (x->f != y->f)
        return x->f > y->f ? -1 : 1;
    return x->i - y->i;
}

/* Quantise n probabilities (any positive scale) to frequencies >= 1 summing to exactly 2^16. */
static void quantise(const double *p, int n, uint16_t *freq)
{
    double tot = 0;
    for (int i = 0; i < n; i++)
        tot += p[i];
    const double room = 65536.0 - n;
    Frac *fr = malloc((size_t)n * sizeof(*fr));
    uint32_t sum = 0;
    for (int i = 0; i < n; i++) {
        double v = p[i] / tot * room;
        double fl = floor(v);
        freq[i] = (uint16_t)(1 + fl);
        sum += freq[i];
        fr[i].f = v - fl;
        fr[i].i = i;
    }
    qsort(fr, (size_t)n, sizeof(*fr), frac_cmp);
    for (int k = 0; sum < 65536; k++, sum++)
        freq[fr[k % n].i]++;
    free(fr);
}

#define N_SCALES 64
#define ESC_PROB 1e-4

typedef struct Table {
    double sigma;
    int bound;
    uint16_t freq[2 * LVC_CDF_MAX_BOUND + 2];
    LvcCdf cdf;
} Table;

/* A discretised zero-mean Gaussian table like the model's: B = min(ceil(8 sigma) + 1, 1024). */
static int make_gauss_table(Table *t, double sigma)
{
    int b = (int)ceil(8 * sigma) + 1;
    if (b > LVC_CDF_MAX_BOUND)
        b = LVC_CDF_MAX_BOUND;
    const int n = 2 * b + 2;
    double *p = malloc((size_t)n * sizeof(double));
    for (int q = -b; q <= b; q++)
        p[q + b] = gauss_bin((q - 0.5) / sigma, (q + 0.5) / sigma);
    p[n - 1] = 2 * gauss_bin((b + 0.5) / sigma, INFINITY) + ESC_PROB;
    t->sigma = sigma;
    t->bound = b;
    quantise(p, n, t->freq);
    free(p);
    return lvc_cdf_init(&t->cdf, b, t->freq);
}

static double scale_of(int i) { return 0.11 * pow(64.0 / 0.11, (double)i / (N_SCALES - 1)); }

static Table *make_scales(void)
{
    Table *t = calloc(N_SCALES, sizeof(Table));
    for (int i = 0; i < N_SCALES; i++)
        CHECK(make_gauss_table(&t[i], scale_of(i)) == 0, "table %d: %s", i, lvc_last_error());
    return t;
}
static void free_tables(Table *t, int n)
{
    for (int i = 0; i < n; i++)
        lvc_cdf_free(&t[i].cdf);
    free(t);
}

/* A table with random, heavy-tailed frequencies (many at 1) for the search paths. */
static int make_random_table(Table *t, Rng *r, int bound)
{
    const int n = 2 * bound + 2;
    double *p = malloc((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) {
        uint32_t k = rng_below(r, 8);
        p[i] = k < 3 ? 0.0 : pow(rng_unit(r), 6.0 * k);
    }
    t->sigma = 0;
    t->bound = bound;
    quantise(p, n, t->freq);
    free(p);
    return lvc_cdf_init(&t->cdf, bound, t->freq);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Escape cost in bits beyond the escape entry: 4 + (n - 1) + 1 (FORMAT.md §2.2). */
static int escape_bits(int q, int bound)
{
    unsigned v1 = (unsigned)(abs(q) - bound), n = 0;
    while (v1 >> n)
        n++;
    return 4 + (int)n;
}

/* ---- golden streams from tests/rans_reference.py (FORMAT.md followed literally) ------------- */

/* 29 operations */
static const uint8_t golden_stream[22] = {
    0x4b, 0x83, 0x17, 0x6b, 0xf4, 0xd7, 0x3f, 0x07, 0xdf, 0xff, 0xae, 0xe1,
    0xe4, 0x4f, 0x5d, 0x10, 0x70, 0xff, 0x9f, 0xff, 0x00, 0x00,
};
static const uint8_t golden_empty[8] = {
    0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x80, 0x00,
};
static const uint16_t golden_freqs[6] = {1000, 12000, 40000, 11000, 1500, 36};
static const int golden_symbols[14] = {0, 1, -1, 0, 2, -2, 3, -9, 0, 0, 700, -1, 1, 0};
static const uint32_t golden_uniforms[5][2] = {{5, 3}, {0, 1}, {32767, 15}, {1, 1}, {9, 4}};

static void test_golden(void)
{
    LvcCdf cdf;
    CHECK(lvc_cdf_init(&cdf, 2, golden_freqs) == 0, "%s", lvc_last_error());
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    for (int i = 0; i < 14; i++)
        CHECK(lvc_rans_enc_symbol(&e, &cdf, golden_symbols[i], 1000) == 0, "%d", i);
    for (int i = 0; i < 5; i++)
        CHECK(lvc_rans_enc_uniform(&e, golden_uniforms[i][0], (int)golden_uniforms[i][1]) == 0,
              "uniform %d", i);
    CHECK(lvc_rans_enc_put(&e, 0, 65536) == 0, "put 2^16");
    CHECK(lvc_rans_enc_put(&e, 65535, 1) == 0, "put last");
    CHECK(e.n_ops == 29, "%zu ops", e.n_ops);
    const uint8_t *out;
    size_t size;
    CHECK(lvc_rans_enc_finish(&e, &out, &size) == 0, "finish");
    CHECK(size == sizeof(golden_stream) && !memcmp(out, golden_stream, size),
          "golden stream differs (%zu bytes)", size);

    LvcRansDec d;
    CHECK(lvc_rans_dec_init(&d, golden_stream, sizeof(golden_stream)) == 0, "init");
    for (int i = 0; i < 14; i++) {
        int q = 12345;
        CHECK(lvc_rans_dec_symbol(&d, &cdf, 1000, &q) == 0 && q == golden_symbols[i],
              "symbol %d: %d", i, q);
    }
    for (int i = 0; i < 5; i++) {
        uint32_t v = 0;
        CHECK(lvc_rans_dec_uniform(&d, (int)golden_uniforms[i][1], &v) == 0 &&
                  v == golden_uniforms[i][0],
              "uniform %d: %u", i, (unsigned)v);
    }
    /* the two raw operations at the end are checked by test_golden_raw_ops */
    lvc_rans_enc_free(&e);
    lvc_cdf_free(&cdf);
}

/* The last two golden operations (freq 2^16, and the last slot) need a raw decode: decode the
 * golden stream again, this time checking the end state after emulating them by hand. */
static void test_golden_raw_ops(void)
{
    LvcCdf cdf;
    CHECK(lvc_cdf_init(&cdf, 2, golden_freqs) == 0, "%s", lvc_last_error());
    LvcRansDec d;
    CHECK(lvc_rans_dec_init(&d, golden_stream, sizeof(golden_stream)) == 0, "init");
    int q;
    uint32_t v;
    for (int i = 0; i < 14; i++)
        CHECK(lvc_rans_dec_symbol(&d, &cdf, 1000, &q) == 0, "sym");
    for (int i = 0; i < 5; i++)
        CHECK(lvc_rans_dec_uniform(&d, (int)golden_uniforms[i][1], &v) == 0, "uniform");
    /* operation 27: freq 2^16, start 0 leaves the state unchanged */
    const uint32_t x27 = d.x[27 & 1];
    /* operation 28: freq 1 at start 65535: slot must be 65535, x = (x >> 16) then renormalised */
    uint32_t x = d.x[28 & 1];
    CHECK((x & 0xFFFF) == 0xFFFF, "slot of the last operation 0x%x", (unsigned)(x & 0xFFFF));
    x = x >> 16;
    const uint8_t *p = d.p;
    while (x < LVC_RANS_L && p < d.end)
        x = (x << 8) | *p++;
    CHECK(x27 == LVC_RANS_L && x == LVC_RANS_L && p == d.end, "end 0x%x 0x%x", (unsigned)x27,
          (unsigned)x);
    lvc_cdf_free(&cdf);
}

static void test_empty(void)
{
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    const uint8_t *out = NULL;
    size_t size = 0;
    CHECK(lvc_rans_enc_finish(&e, &out, &size) == 0, "finish");
    CHECK(size == 8 && !memcmp(out, golden_empty, 8), "empty stream is %zu bytes", size);
    LvcRansDec d;
    CHECK(lvc_rans_dec_init(&d, golden_empty, 8) == 0, "init");
    CHECK(lvc_rans_dec_finish(&d) == 0, "end check: %s", lvc_last_error());
    lvc_rans_enc_free(&e);
}

/* ---- round trips ----------------------------------------------------------------------------- */

typedef struct Item {
    int kind;  /* 0 symbol, 1 uniform */
    int table; /* symbol: table index */
    int value; /* symbol q or uniform value */
    int nbits;
} Item;

static void test_roundtrip(void)
{
    Rng r = {1};
    Table *gauss = make_scales();
    enum { N_RANDOM = 6, N_ITEMS = 60000, LIMIT = 4000 };
    Table *rnd = calloc(N_RANDOM, sizeof(Table));
    const int rb[N_RANDOM] = {1, 2, 7, 100, 700, 1024};
    for (int i = 0; i < N_RANDOM; i++)
        CHECK(make_random_table(&rnd[i], &r, rb[i]) == 0, "%s", lvc_last_error());
    Item *it = malloc(N_ITEMS * sizeof(Item));
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    const uint32_t *ops0 = NULL;
    const uint8_t *buf0 = NULL;
    for (int round = 0; round < 3; round++) {
        lvc_rans_enc_reset(&e);
        int n_esc = 0;
        for (int i = 0; i < N_ITEMS; i++) {
            Item *t = &it[i];
            uint32_t k = rng_below(&r, 100);
            if (k < 2) {
                t->kind = 1;
                t->nbits = 1 + (int)rng_below(&r, 15);
                t->value = (int)rng_below(&r, 1u << t->nbits);
                CHECK(lvc_rans_enc_uniform(&e, (uint32_t)t->value, t->nbits) == 0, "uniform");
                continue;
            }
            t->kind = 0;
            t->table = (int)rng_below(&r, N_SCALES + N_RANDOM);
            const Table *tb = t->table < N_SCALES ? &gauss[t->table] : &rnd[t->table - N_SCALES];
            int q;
            if (k < 3) { /* an outlier beyond the bound: escape */
                q = tb->bound + 1 + (int)rng_below(&r, (uint32_t)(LIMIT - tb->bound));
                q = rng_below(&r, 2) ? -q : q;
            } else if (tb->sigma > 0) {
                /* y ~ N(mu, sigma) with a fractional mean; q = round(y - mu) like the codec */
                double mu = ((double)rng_below(&r, 8192) - 4096.0) / 64.0;
                double y = mu + tb->sigma * rng_gauss(&r);
                q = (int)lround(y - mu);
            } else {
                q = (int)rng_below(&r, 2u * (uint32_t)tb->bound + 1) - tb->bound;
            }
            if (q > LIMIT)
                q = LIMIT;
            if (q < -LIMIT)
                q = -LIMIT;
            n_esc += abs(q) > tb->bound;
            t->value = q;
            CHECK(lvc_rans_enc_symbol(&e, &tb->cdf, q, LIMIT) == 0, "symbol %d", q);
        }
        const uint8_t *out;
        size_t size;
        CHECK(lvc_rans_enc_finish(&e, &out, &size) == 0, "finish");
        if (round == 0) {
            ops0 = e.ops;
            buf0 = e.buf;
        } else {
            /* same-sized later rounds reuse the encoder's memory (up to a doubling) */
            CHECK(round < 2 || (e.ops == ops0 && e.buf == buf0), "encoder reallocated");
        }
        ops0 = e.ops;
        buf0 = e.buf;
        CHECK(n_esc > 500, "only %d escapes", n_esc);
        uint8_t *copy = malloc(size);
        memcpy(copy, out, size);
        LvcRansDec d;
        CHECK(lvc_rans_dec_init(&d, copy, size) == 0, "init");
        int bad = 0;
        for (int i = 0; i < N_ITEMS && bad < 5; i++) {
            const Item *t = &it[i];
            if (t->kind) {
                uint32_t v = 0;
                int rc = lvc_rans_dec_uniform(&d, t->nbits, &v);
                if (rc || (int)v != t->value) {
                    bad++;
                    CHECK(0, "item %d: uniform %u != %d (%d)", i, (unsigned)v, t->value, rc);
                }
            } else {
                const Table *tb =
                    t->table < N_SCALES ? &gauss[t->table] : &rnd[t->table - N_SCALES];
                int q = 0;
                int rc = lvc_rans_dec_symbol(&d, &tb->cdf, LIMIT, &q);
                if (rc || q != t->value) {
                    bad++;
                    CHECK(0, "item %d: symbol %d != %d (%d)", i, q, t->value, rc);
                }
            }
        }
        CHECK(lvc_rans_dec_finish(&d) == 0, "end check: %s", lvc_last_error());
        free(copy);
    }
    lvc_rans_enc_free(&e);
    free(it);
    free_tables(gauss, N_SCALES);
    free_tables(rnd, N_RANDOM);
}

/* Every slot of a table decodes to the entry whose [start, start + freq) contains it. */
static void check_search(const Table *t)
{
    static const uint8_t zeros[64];
    const LvcCdf *c = &t->cdf;
    int bad = 0;
    for (uint32_t slot = 0; slot < 65536 && bad < 3; slot++) {
        LvcRansDec d;
        memset(&d, 0, sizeof(d));
        d.x[0] = (0x7FFFu << 16) | slot;
        d.x[1] = LVC_RANS_L;
        d.p = zeros;
        d.end = zeros + sizeof(zeros);
        int q = 0;
        int rc = lvc_rans_dec_symbol(&d, c, 1 << 20, &q);
        /* only the escape path can fail here (the state's next bits may give n = 0) */
        int k = (rc || abs(q) > t->bound) ? 2 * t->bound + 1 : q + t->bound;
        if ((rc && rc != LVC_EDATA) || c->start[k] > slot || c->start[k + 1] <= slot) {
            bad++;
            CHECK(0, "B=%d slot %u: entry %d [%u, %u) rc %d", t->bound, (unsigned)slot, k,
                  (unsigned)c->start[k], (unsigned)c->start[k + 1], rc);
        }
    }
}

static void test_search(void)
{
    Rng r = {7};
    Table *t = calloc(1, sizeof(Table));
    const int bounds[] = {1, 2, 3, 31, 32, 33, 511, 512, 1000, 1024};
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        CHECK(make_random_table(t, &r, bounds[i]) == 0, "%s", lvc_last_error());
        check_search(t);
        lvc_cdf_free(&t->cdf);
    }
    const double sig[] = {0.11, 1.0, 64.0, 500.0};
    for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++) {
        CHECK(make_gauss_table(t, sig[i]) == 0, "%s", lvc_last_error());
        check_search(t);
        lvc_cdf_free(&t->cdf);
    }
    free(t);
}

/* ---- coded size against the entropy ---------------------------------------------------------- */

static void test_size(void)
{
    Rng r = {42};
    Table *gauss = make_scales();
    enum { N = 200000, LIMIT = 4000 };
    int *tab = malloc(N * sizeof(int)), *sym = malloc(N * sizeof(int));
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    double ideal = 0, cont = 0;
    int n_esc = 0;
    for (int i = 0; i < N; i++) {
        const int ti = (int)rng_below(&r, N_SCALES);
        const Table *tb = &gauss[ti];
        /* true mean: fractional; predicted mean: the same at 1/64 precision (fixed point) */
        const double mu_t = ((double)rng_below(&r, 1u << 20) - (1u << 19)) / 4096.0;
        const double mu_p = floor(mu_t * 64 + 0.5) / 64;
        const double y = mu_t + tb->sigma * rng_gauss(&r);
        int q = (int)lround(y - mu_p);
        if (q > LIMIT)
            q = LIMIT;
        if (q < -LIMIT)
            q = -LIMIT;
        tab[i] = ti;
        sym[i] = q;
        CHECK(lvc_rans_enc_symbol(&e, &tb->cdf, q, LIMIT) == 0, "symbol");
        const int k = abs(q) <= tb->bound ? q + tb->bound : 2 * tb->bound + 1;
        ideal -= log2((tb->cdf.start[k + 1] - tb->cdf.start[k]) / 65536.0);
        if (abs(q) > tb->bound) {
            ideal += escape_bits(q, tb->bound);
            n_esc++;
        }
        const double dm = mu_t - mu_p;
        cont -= log2(gauss_bin((q - 0.5 - dm) / tb->sigma, (q + 0.5 - dm) / tb->sigma));
    }
    const uint8_t *out;
    size_t size;
    /* encode speed (informative): record the symbols again and code them */
    const double te0 = now_s();
    lvc_rans_enc_reset(&e);
    for (int i = 0; i < N; i++)
        lvc_rans_enc_symbol(&e, &gauss[tab[i]].cdf, sym[i], LIMIT);
    CHECK(lvc_rans_enc_finish(&e, &out, &size) == 0, "finish");
    const double te1 = now_s();
    const double bits = 8.0 * (double)(size - 8);
    const double ovh_q = (bits - ideal) / ideal, ovh_c = (bits - cont) / cont;
    printf("# size: %d symbols, %d escapes, %zu bytes incl. %d flush bytes; %.4f bits/symbol\n", N,
           n_esc, size, 8, bits / N);
    printf("# overhead vs -sum log2 p (quantised tables): %+.5f%% (%.1f bits)\n", 100 * ovh_q,
           bits - ideal);
    printf("# overhead vs continuous Gaussian bins: %+.4f%% (%.1f bits)\n", 100 * ovh_c,
           bits - cont);
    CHECK(ovh_q <= 0.001, "overhead %.5f%% vs the quantised tables", 100 * ovh_q);
    CHECK(ovh_c <= 0.01, "overhead %.4f%% vs the continuous Gaussian", 100 * ovh_c);

    /* decode speed (informative) and correctness */
    LvcRansDec d;
    const double t0 = now_s();
    CHECK(lvc_rans_dec_init(&d, out, size) == 0, "init");
    int bad = 0;
    for (int i = 0; i < N; i++) {
        int q;
        bad += lvc_rans_dec_symbol(&d, &gauss[tab[i]].cdf, LIMIT, &q) != 0 || q != sym[i];
    }
    const double t1 = now_s();
    CHECK(bad == 0 && lvc_rans_dec_finish(&d) == 0, "%d bad", bad);
    printf("# speed (this build): encode %.1f ns/symbol, decode %.1f ns/symbol\n",
           1e9 * (te1 - te0) / N, 1e9 * (t1 - t0) / N);
    lvc_rans_enc_free(&e);
    free(tab);
    free(sym);
    free_tables(gauss, N_SCALES);
}

/* ---- escapes --------------------------------------------------------------------------------- */

static int roundtrip_symbols(const LvcCdf *c, const int *q, int n, int enc_limit, int dec_limit,
                             int *first_err)
{
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    for (int i = 0; i < n; i++) {
        if (lvc_rans_enc_symbol(&e, c, q[i], enc_limit)) {
            lvc_rans_enc_free(&e);
            return -100;
        }
    }
    const uint8_t *out;
    size_t size;
    lvc_rans_enc_finish(&e, &out, &size);
    LvcRansDec d;
    int rc = lvc_rans_dec_init(&d, out, size);
    *first_err = -1;
    for (int i = 0; i < n && !rc; i++) {
        int v;
        rc = lvc_rans_dec_symbol(&d, c, dec_limit, &v);
        if (rc)
            *first_err = i;
        else if (v != q[i])
            rc = -101;
    }
    if (!rc)
        rc = lvc_rans_dec_finish(&d);
    lvc_rans_enc_free(&e);
    return rc;
}

static void test_escapes(void)
{
    static const uint16_t f1[4] = {100, 65000, 400, 36};
    LvcCdf c1;
    CHECK(lvc_cdf_init(&c1, 1, f1) == 0, "%s", lvc_last_error());
    /* every magnitude up to a limit and its neighbourhood, both signs, with B = 1 */
    enum { LIM = 5000 };
    int *q = malloc(4 * LIM * sizeof(int));
    int n = 0;
    for (int m = 0; m <= LIM; m++) {
        q[n++] = m;
        q[n++] = -m;
    }
    int fe;
    CHECK(roundtrip_symbols(&c1, q, n, LIM, LIM, &fe) == 0, "all magnitudes: %s", lvc_last_error());
    /* the largest representable escape: v + 1 = 2^15 - 1 (n = 15), with R = 32767 */
    const int big[] = {32767, -32767, 32766, 1 + 16384, -(1 + 16383), 1 + 32767};
    CHECK(roundtrip_symbols(&c1, big, 6, 32768, 32768, &fe) == 0, "n = 15: %s", lvc_last_error());
    /* v + 1 = 2^15 needs n = 16: rejected by the encoder */
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    CHECK(lvc_rans_enc_symbol(&e, &c1, 1 + 32768, 40000) == LVC_EINVAL, "n = 16 accepted");
    CHECK(lvc_rans_enc_symbol(&e, &c1, -(1 + 32768), 40000) == LVC_EINVAL, "n = 16 accepted");
    /* beyond the limit: rejected by the encoder, nothing recorded */
    CHECK(lvc_rans_enc_symbol(&e, &c1, 101, 100) == LVC_EINVAL, "beyond limit accepted");
    CHECK(lvc_rans_enc_symbol(&e, &c1, -101, 100) == LVC_EINVAL, "beyond limit accepted");
    CHECK(lvc_rans_enc_symbol(&e, &c1, 1, 0) == LVC_EINVAL, "in-table beyond limit accepted");
    CHECK(e.n_ops == 0, "%zu operations recorded", e.n_ops);
    CHECK(lvc_rans_enc_symbol(&e, &c1, 100, 100) == 0 && e.n_ops == 4, "at the limit");

    /* the decoder rejects an escaped |q| beyond its limit, and accepts it at the limit */
    const int s3000[] = {0, 1, 3000, 0};
    CHECK(roundtrip_symbols(&c1, s3000, 4, 3000, 3000, &fe) == 0, "3000 at limit 3000");
    CHECK(roundtrip_symbols(&c1, s3000, 4, 3000, 2999, &fe) == LVC_EDATA && fe == 2,
          "3000 at limit 2999 (err at %d)", fe);
    /* ... and an in-table symbol beyond its limit (a table wider than R) */
    static const uint16_t f4[10] = {10, 10, 10, 6000, 59450, 10, 10, 10, 10, 16};
    LvcCdf c4;
    CHECK(lvc_cdf_init(&c4, 4, f4) == 0, "%s", lvc_last_error());
    const int s3[] = {0, 3, 0};
    CHECK(roundtrip_symbols(&c4, s3, 3, 4, 4, &fe) == 0, "3 at limit 4");
    CHECK(roundtrip_symbols(&c4, s3, 3, 4, 2, &fe) == LVC_EDATA && fe == 1, "3 at limit 2");

    /* a crafted escape with n = 0 is rejected */
    lvc_rans_enc_reset(&e);
    CHECK(lvc_rans_enc_symbol(&e, &c4, 0, 4) == 0, "sym");
    CHECK(lvc_rans_enc_put(&e, c4.start[9], c4.start[10] - c4.start[9]) == 0, "escape entry");
    CHECK(lvc_rans_enc_uniform(&e, 0, 4) == 0, "n = 0");
    CHECK(lvc_rans_enc_uniform(&e, 0, 1) == 0, "sign");
    const uint8_t *out;
    size_t size;
    CHECK(lvc_rans_enc_finish(&e, &out, &size) == 0, "finish");
    LvcRansDec d;
    int v;
    CHECK(lvc_rans_dec_init(&d, out, size) == 0, "init");
    CHECK(lvc_rans_dec_symbol(&d, &c4, 100, &v) == 0 && v == 0, "first symbol");
    CHECK(lvc_rans_dec_symbol(&d, &c4, 100, &v) == LVC_EDATA, "n = 0 accepted");
    CHECK(lvc_rans_dec_finish(&d) != 0, "end check after a rejected escape");

    /* a crafted escape giving |q| > limit: n = 15 with all bits set, B = 4, limit 30000 */
    lvc_rans_enc_reset(&e);
    CHECK(lvc_rans_enc_put(&e, c4.start[9], c4.start[10] - c4.start[9]) == 0, "escape entry");
    CHECK(lvc_rans_enc_uniform(&e, 15, 4) == 0, "n");
    CHECK(lvc_rans_enc_uniform(&e, 0x3FFF, 14) == 0, "bits");
    CHECK(lvc_rans_enc_uniform(&e, 1, 1) == 0, "sign");
    CHECK(lvc_rans_enc_finish(&e, &out, &size) == 0, "finish");
    CHECK(lvc_rans_dec_init(&d, out, size) == 0, "init");
    CHECK(lvc_rans_dec_symbol(&d, &c4, 30000, &v) == LVC_EDATA, "|q| = 32771 accepted");
    CHECK(lvc_rans_dec_init(&d, out, size) == 0, "init");
    CHECK(lvc_rans_dec_symbol(&d, &c4, 32771, &v) == 0 && v == -32771, "crafted: %d", v);
    CHECK(lvc_rans_dec_finish(&d) == 0, "end check");

    lvc_rans_enc_free(&e);
    lvc_cdf_free(&c1);
    lvc_cdf_free(&c4);
    free(q);
}

/* ---- uniform values -------------------------------------------------------------------------- */

static void test_uniform(void)
{
    Rng r = {99};
    enum { N = 20000 };
    uint32_t *val = malloc(N * sizeof(uint32_t));
    int *nb = malloc(N * sizeof(int));
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    for (int i = 0; i < N; i++) {
        nb[i] = 1 + i % 15;
        const uint32_t k = rng_below(&r, 4);
        val[i] = k == 0 ? 0 : k == 1 ? (1u << nb[i]) - 1 : rng_below(&r, 1u << nb[i]);
        CHECK(lvc_rans_enc_uniform(&e, val[i], nb[i]) == 0, "enc");
    }
    const uint8_t *out;
    size_t size;
    CHECK(lvc_rans_enc_finish(&e, &out, &size) == 0, "finish");
    /* uniform values cost exactly their bits */
    size_t bits = 0;
    for (int i = 0; i < N; i++)
        bits += (size_t)nb[i];
    CHECK(size >= 8 + bits / 8 && size <= 8 + bits / 8 + 4, "%zu bytes for %zu bits", size, bits);
    LvcRansDec d;
    CHECK(lvc_rans_dec_init(&d, out, size) == 0, "init");
    int bad = 0;
    for (int i = 0; i < N; i++) {
        uint32_t v;
        bad += lvc_rans_dec_uniform(&d, nb[i], &v) != 0 || v != val[i];
    }
    CHECK(bad == 0 && lvc_rans_dec_finish(&d) == 0, "%d bad", bad);
    /* invalid arguments */
    lvc_rans_enc_reset(&e);
    CHECK(lvc_rans_enc_uniform(&e, 0, 0) == LVC_EINVAL, "0 bits");
    CHECK(lvc_rans_enc_uniform(&e, 0, 16) == LVC_EINVAL, "16 bits");
    CHECK(lvc_rans_enc_uniform(&e, 8, 3) == LVC_EINVAL, "value too large");
    CHECK(lvc_rans_enc_put(&e, 0, 0) == LVC_EINVAL, "freq 0");
    CHECK(lvc_rans_enc_put(&e, 1, 65536) == LVC_EINVAL, "start + freq > 2^16");
    CHECK(lvc_rans_enc_put(&e, 65536, 1) == LVC_EINVAL, "start 2^16");
    CHECK(lvc_rans_enc_put(&e, 0xFFFFFFFFu, 2) == LVC_EINVAL, "start wraps");
    CHECK(e.n_ops == 0, "%zu operations recorded", e.n_ops);
    lvc_rans_enc_free(&e);
    free(val);
    free(nb);
}

/* ---- damage ---------------------------------------------------------------------------------- */

typedef struct Small {
    Table t[4];
    int tab[80], sym[80];
    int n;
    uint8_t *data;
    size_t size;
} Small;

static void small_make(Small *s, Rng *r)
{
    const double sig[4] = {0.3, 2.0, 9.0, 40.0};
    for (int i = 0; i < 4; i++)
        CHECK(make_gauss_table(&s->t[i], sig[i]) == 0, "%s", lvc_last_error());
    s->n = 80;
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    for (int i = 0; i < s->n; i++) {
        s->tab[i] = (int)rng_below(r, 4);
        int q = (int)lround(s->t[s->tab[i]].sigma * rng_gauss(r));
        if (i % 17 == 5)
            q = (i & 1 ? -1 : 1) * (s->t[s->tab[i]].bound + 1 + (int)rng_below(r, 300));
        s->sym[i] = q;
        CHECK(lvc_rans_enc_symbol(&e, &s->t[s->tab[i]].cdf, q, 1000) == 0, "enc");
    }
    const uint8_t *out;
    CHECK(lvc_rans_enc_finish(&e, &out, &s->size) == 0, "finish");
    s->data = malloc(s->size);
    memcpy(s->data, out, s->size);
    lvc_rans_enc_free(&e);
}

/* Decode s's symbol sequence from data; 0 only if every symbol decoded and the end check passed.
 * *same: every symbol equals the original; otherwise *esc_only: every symbol that differs is an
 * escape both in the original and as decoded. */
static int small_decode2(const Small *s, const uint8_t *data, size_t size, int *same, int *esc_only)
{
    LvcRansDec d;
    *same = 1;
    *esc_only = 1;
    int rc = lvc_rans_dec_init(&d, data, size), any = rc;
    if (rc)
        return rc;
    for (int i = 0; i < s->n; i++) {
        int q;
        rc = lvc_rans_dec_symbol(&d, &s->t[s->tab[i]].cdf, 1000, &q);
        if (rc)
            any = rc;
        else if (q != s->sym[i]) {
            const int b = s->t[s->tab[i]].bound;
            *same = 0;
            if (abs(q) <= b || abs(s->sym[i]) <= b)
                *esc_only = 0;
        }
    }
    rc = lvc_rans_dec_finish(&d);
    /* once a symbol failed, the end check must fail too */
    if (any && !rc)
        return 1;
    return rc ? rc : any;
}

static int small_decode(const Small *s, const uint8_t *data, size_t size, int *same)
{
    int esc_only;
    return small_decode2(s, data, size, same, &esc_only);
}

static void test_damage(void)
{
    Rng r = {2024};
    Small *s = calloc(1, sizeof(Small));
    small_make(s, &r);
    int same;
    CHECK(small_decode(s, s->data, s->size, &same) == 0 && same, "intact stream: %s",
          lvc_last_error());
    printf("# damage: %d symbols in %zu bytes\n", s->n, s->size);

    /* every proper prefix, in a buffer of exactly that size (ASan catches over-reads) */
    for (size_t len = 0; len < s->size; len++) {
        uint8_t *b = malloc(len ? len : 1);
        memcpy(b, s->data, len);
        CHECK(small_decode(s, len ? b : NULL, len, &same) < 0, "prefix %zu decoded", len);
        free(b);
    }
    /* trailing extra bytes */
    for (size_t extra = 1; extra <= 3; extra++) {
        uint8_t *b = malloc(s->size + extra);
        memcpy(b, s->data, s->size);
        memset(b + s->size, 0, extra);
        CHECK(small_decode(s, b, s->size + extra, &same) == LVC_EDATA, "%zu extra bytes", extra);
        free(b);
    }
    /* every single bit flip.  The end check catches every flip except those in the raw bits of
     * an escape's magnitude or sign (uniform values are stored verbatim in the state: a flipped
     * bit there changes the value and nothing else), so those are counted apart. */
    uint8_t *b = malloc(s->size);
    int undetected = 0, raw = 0, esc_only;
    for (size_t bit = 0; bit < 8 * s->size; bit++) {
        memcpy(b, s->data, s->size);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (small_decode2(s, b, s->size, &same, &esc_only) == 0) {
            if (!same && esc_only)
                raw++;
            else
                undetected++;
        }
    }
    printf("# damage: %zu bit flips: %d undetected, all in escape bits; %d otherwise undetected\n",
           8 * s->size, raw, undetected);
    CHECK(undetected == 0, "%d bit flips undetected", undetected);
    /* random bytes replacing part of the stream, and wholly random streams */
    undetected = 0;
    for (int k = 0; k < 2000; k++) {
        memcpy(b, s->data, s->size);
        size_t at = rng_below(&r, (uint32_t)s->size), n = 1 + rng_below(&r, 4);
        for (size_t i = at; i < at + n && i < s->size; i++)
            b[i] = (uint8_t)rng_next(&r);
        int rc = small_decode2(s, b, s->size, &same, &esc_only);
        /* rewriting a byte with its own value leaves the stream intact */
        if (rc == 0 && !(same && !memcmp(b, s->data, s->size)) && !(!same && esc_only))
            undetected++;
    }
    CHECK(undetected == 0, "%d random rewrites undetected", undetected);
    undetected = 0;
    for (int k = 0; k < 2000; k++) {
        size_t len = rng_below(&r, 120);
        uint8_t *rb = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            rb[i] = (uint8_t)rng_next(&r);
        if (len >= 8 && (k & 1)) { /* valid initial states, so decoding gets going */
            lvc_wr32(rb, LVC_RANS_L | (uint32_t)(rng_next(&r) & 0x7F7FFFFF));
            lvc_wr32(rb + 4, LVC_RANS_L | (uint32_t)(rng_next(&r) & 0x7F7FFFFF));
        }
        undetected += small_decode(s, len ? rb : NULL, len, &same) == 0;
        free(rb);
    }
    CHECK(undetected == 0, "%d random streams undetected", undetected);
    /* initial states outside [L, 2^31) */
    memcpy(b, s->data, s->size);
    lvc_wr32(b, LVC_RANS_L - 1);
    LvcRansDec d;
    CHECK(lvc_rans_dec_init(&d, b, s->size) == LVC_EDATA, "state 0 below L");
    lvc_wr32(b, 0x80000000u);
    CHECK(lvc_rans_dec_init(&d, b, s->size) == LVC_EDATA, "state 0 at 2^31");
    memcpy(b, s->data, s->size);
    lvc_wr32(b + 4, 0xFFFFFFFFu);
    CHECK(lvc_rans_dec_init(&d, b, s->size) == LVC_EDATA, "state 1 at 2^32 - 1");
    CHECK(lvc_rans_dec_init(&d, b, 7) == LVC_EDATA, "7 bytes");
    free(b);
    for (int i = 0; i < 4; i++)
        lvc_cdf_free(&s->t[i].cdf);
    free(s->data);
    free(s);
}

/* ---- table validation ------------------------------------------------------------------------ */

static void test_cdf_init(void)
{
    uint16_t f[2 * LVC_CDF_MAX_BOUND + 4];
    LvcCdf c;
    /* a valid B = 1024 table: 2050 entries */
    for (int i = 0; i < 2050; i++)
        f[i] = 31;
    f[1024] += (uint16_t)(65536 - 2050 * 31);
    CHECK(lvc_cdf_init(&c, 1024, f) == 0, "B = 1024: %s", lvc_last_error());
    CHECK(c.start[2050] == 65536 && c.start[1024] == 1024 * 31, "starts");
    lvc_cdf_free(&c);
    CHECK(c.start == NULL, "freed");
    lvc_cdf_free(&c); /* freeing twice is harmless */
    /* bound out of range */
    CHECK(lvc_cdf_init(&c, 0, f) == LVC_EMODEL, "bound 0");
    CHECK(lvc_cdf_init(&c, -1, f) == LVC_EMODEL, "bound -1");
    CHECK(lvc_cdf_init(&c, 1025, f) == LVC_EMODEL, "bound 1025");
    CHECK(c.start == NULL, "failed init holds nothing");
    lvc_cdf_free(&c);
    /* zero frequency */
    uint16_t g[4] = {0, 65000, 500, 36};
    CHECK(lvc_cdf_init(&c, 1, g) == LVC_EMODEL, "zero frequency");
    g[0] = 1;
    g[3] = 35;
    CHECK(lvc_cdf_init(&c, 1, g) == 0, "valid: %s", lvc_last_error());
    lvc_cdf_free(&c);
    g[3] = 36;
    CHECK(lvc_cdf_init(&c, 1, g) == LVC_EMODEL, "sum 65537");
    g[3] = 34;
    CHECK(lvc_cdf_init(&c, 1, g) == LVC_EMODEL, "sum 65535");
    /* a sum that is 2^16 only modulo 2^16 */
    uint16_t h[4] = {65535, 65535, 1, 1};
    CHECK(lvc_cdf_init(&c, 1, h) == LVC_EMODEL, "sum 2^17");
    uint16_t z[6] = {65533, 1, 1, 0, 1, 0};
    CHECK(lvc_cdf_init(&c, 2, z) == LVC_EMODEL, "zeros at the end");
    CHECK(lvc_cdf_init(&c, 1, NULL) == LVC_EMODEL, "no frequencies");
}

int main(void)
{
    RUN(test_golden);
    RUN(test_golden_raw_ops);
    RUN(test_empty);
    RUN(test_cdf_init);
    RUN(test_search);
    RUN(test_uniform);
    RUN(test_escapes);
    RUN(test_roundtrip);
    RUN(test_size);
    RUN(test_damage);
    return check_finish();
}
