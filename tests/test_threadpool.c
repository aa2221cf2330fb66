/* The thread pool: every job exactly once, banded convolutions independent of the thread count,
 * repeated create/destroy, band splitting.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels.h"
#include "lvc/lvc.h"
#include "threadpool.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

#define MAX_JOBS 5000

typedef struct Count {
    atomic_int hits[MAX_JOBS];
    atomic_int calls;
} Count;

static void count_job(void *arg, int job)
{
    Count *c = arg;
    atomic_fetch_add(&c->hits[job], 1);
    atomic_fetch_add(&c->calls, 1);
}

static void check_counts(LvcThreadPool *pool, Count *c, int n_jobs)
{
    for (int i = 0; i < MAX_JOBS; i++)
        atomic_store(&c->hits[i], 0);
    atomic_store(&c->calls, 0);
    int ret = lvc_threadpool_run(pool, n_jobs, count_job, c);
    CHECK(ret == 0, "run returned %d", ret);
    int bad = 0;
    for (int i = 0; i < MAX_JOBS; i++)
        bad += atomic_load(&c->hits[i]) != (i < n_jobs ? 1 : 0);
    CHECK(bad == 0 && atomic_load(&c->calls) == n_jobs, "%d jobs on %d threads: %d wrong", n_jobs,
          lvc_threadpool_threads(pool), bad);
}

static void test_each_job_once(void)
{
    static Count c; /* large; not on the stack */
    static const int threads[] = { 1, 2, 3, 7, 0 };
    static const int jobs[] = { 0, 1, 2, 3, 5, 7, 8, 63, 64, 65, 100, 1000, MAX_JOBS };
    for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
        LvcThreadPool *pool = NULL;
        int ret = lvc_threadpool_create(&pool, threads[t]);
        CHECK(ret == 0 && pool, "create(%d) = %d", threads[t], ret);
        if (!pool)
            continue;
        CHECK(lvc_threadpool_threads(pool) >= 1 && lvc_threadpool_threads(pool) <= LVC_THREADPOOL_MAX,
              "threads %d", lvc_threadpool_threads(pool));
        if (threads[t])
            CHECK(lvc_threadpool_threads(pool) == threads[t], "threads %d", threads[t]);
        for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++)
            check_counts(pool, &c, jobs[j]);
        /* many runs in a row reuse the pool */
        for (int r = 0; r < 300; r++)
            check_counts(pool, &c, (int)(rnd() % 40));
        lvc_threadpool_destroy(pool);
    }
    check_counts(NULL, &c, 17); /* no pool: the caller runs everything */
}

static void test_errors(void)
{
    LvcThreadPool *pool = (LvcThreadPool *)&pool;
    CHECK(lvc_threadpool_create(&pool, -1) == LVC_EINVAL && pool == (LvcThreadPool *)&pool,
          "negative count");
    CHECK(lvc_threadpool_create(NULL, 2) == LVC_EINVAL, "NULL out");
    CHECK(lvc_threadpool_create(&pool, 1000) == 0 && lvc_threadpool_threads(pool) == LVC_THREADPOOL_MAX,
          "cap at 64");
    CHECK(lvc_threadpool_run(pool, -1, count_job, NULL) == LVC_EINVAL, "negative jobs");
    CHECK(lvc_threadpool_run(pool, 3, NULL, NULL) == LVC_EINVAL, "no function");
    CHECK(lvc_threadpool_run(pool, 0, NULL, NULL) == 0, "zero jobs");
    lvc_threadpool_destroy(pool);
    lvc_threadpool_destroy(NULL);
}

static void test_create_destroy(void)
{
    for (int i = 0; i < 200; i++) {
        LvcThreadPool *pool = NULL;
        int ret = lvc_threadpool_create(&pool, 1 + i % 7);
        CHECK(ret == 0, "create %d", ret);
        if (i % 2 && pool) {
            static Count c;
            check_counts(pool, &c, i % 11);
        }
        lvc_threadpool_destroy(pool);
    }
}

/* ---- a convolution split across threads by row bands --------------------------------------- */

typedef struct ConvJob {
    LvcConvFn fn;
    const LvcConvParams *p;
    const int16_t *in;
    int16_t *out;
    int n_bands;
} ConvJob;

static void conv_job(void *arg, int job)
{
    ConvJob *j = arg;
    int y0, y1;
    lvc_band_range(j->p->ho, j->n_bands, job, &y0, &y1);
    j->fn(j->out, j->in, j->p, y0, y1);
}

static void test_conv_threads(void)
{
    /* 3×3 dense conv, stride 1, pad 1, int16 weights; and a 2×2 stride-2 one */
    for (int shape = 0; shape < 3; shape++) {
        const int cin = 6, cout = 5, h = 37, w = 29;
        const int k = shape == 1 ? 2 : shape == 2 ? 1 : 3, s = shape == 1 ? 2 : 1,
                  pad = shape == 0 ? 1 : 0;
        size_t nw = (size_t)cout * cin * k * k, nin = (size_t)cin * h * w;
        int16_t *wt = malloc(nw * sizeof(int16_t)), *in = malloc(nin * sizeof(int16_t));
        int32_t bias[5];
        uint8_t shift[5];
        for (size_t i = 0; i < nw; i++)
            wt[i] = (int16_t)rnd();
        for (size_t i = 0; i < nin; i++)
            in[i] = (int16_t)rnd();
        for (int c = 0; c < cout; c++) {
            bias[c] = (int32_t)rnd();
            shift[c] = (uint8_t)(1 + rnd() % 30);
        }
        LvcConvParams p = { .cin = cin, .h = h, .w = w, .cout = cout, .k = k, .stride = s,
                            .pad = pad, .groups = 1, .w16 = wt, .bias = bias, .shift = shift,
                            .act = LVC_ACT_LRELU, .act_shift = 3 };
        p.ho = lvc_conv_out_size(h, k, s, pad);
        p.wo = lvc_conv_out_size(w, k, s, pad);
        CHECK(lvc_conv_check(&p) == 0, "layer");
        LvcDsp dsp;
        lvc_dsp_init(&dsp, LVC_DSP_MAX);
        size_t n = (size_t)cout * p.ho * p.wo;
        int16_t *ref = malloc(n * sizeof(int16_t)), *out = malloc(n * sizeof(int16_t));
        lvc_conv_c(ref, in, &p, 0, p.ho);

        static const int threads[] = { 1, 2, 7 };
        for (int t = 0; t < 3; t++) {
            LvcThreadPool *pool = NULL;
            if (lvc_threadpool_create(&pool, threads[t]) != 0) {
                CHECK(0, "create");
                continue;
            }
            for (int min_rows = 1; min_rows <= 8; min_rows *= 2) {
                memset(out, 0, n * sizeof(int16_t));
                ConvJob j = { lvc_conv_select(&dsp, &p), &p, in, out,
                              lvc_band_count(p.ho, 4 * threads[t], min_rows) };
                CHECK(lvc_threadpool_run(pool, j.n_bands, conv_job, &j) == 0, "run");
                CHECK(memcmp(out, ref, n * sizeof(int16_t)) == 0,
                      "shape %d, %d threads, %d bands differ", shape, threads[t], j.n_bands);
            }
            lvc_threadpool_destroy(pool);
        }
        free(wt);
        free(in);
        free(ref);
        free(out);
    }
}

static void test_bands(void)
{
    int bad = 0;
    for (int h = 1; h <= 300; h++)
        for (int maxb = 1; maxb <= 70; maxb += 3)
            for (int mr = 1; mr <= 9; mr += 2) {
                int n = lvc_band_count(h, maxb, mr);
                if (n < 1 || n > maxb || (n > 1 && h / n < mr)) {
                    bad++;
                    continue;
                }
                int prev = 0, lo = h, hi = 0;
                for (int i = 0; i < n; i++) {
                    int y0, y1;
                    lvc_band_range(h, n, i, &y0, &y1);
                    if (y0 != prev || y1 <= y0)
                        bad++;
                    if (n > 1 && y1 - y0 < mr)
                        bad++;
                    lo = y1 - y0 < lo ? y1 - y0 : lo;
                    hi = y1 - y0 > hi ? y1 - y0 : hi;
                    prev = y1;
                }
                if (prev != h || hi - lo > 1)
                    bad++;
            }
    CHECK(bad == 0, "%d band errors", bad);
    CHECK(lvc_band_count(5, 8, 10) == 1 && lvc_band_count(100, 8, 10) == 8 &&
              lvc_band_count(100, 64, 10) == 10 && lvc_band_count(0, 4, 1) == 1,
          "band counts");
}

int main(void)
{
    RUN(test_each_job_once);
    RUN(test_errors);
    RUN(test_create_destroy);
    RUN(test_conv_threads);
    RUN(test_bands);
    return check_finish();
}
