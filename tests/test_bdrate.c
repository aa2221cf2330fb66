/* Tests of the BD-rate of lvc bench (tools/bdrate.c): hand-checked cases and the vectors of
 * models/train/tests/test_bdrate.py, expected to equal the Python implementation's outputs
 * (models/train/bdrate.py, numpy polyfit) to 1e-6.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

/* The implementation is compiled in (tools/ is not a library). */
#include "../tools/bdrate.c"
#include "check.h"

#define NEAR(a, b, tol) (fabs((a) - (b)) <= (tol))

static void test_identical(void)
{
    const double r[] = {100, 180, 350, 700, 1300}, p[] = {30, 32.5, 35, 37.5, 40};
    double v = 1;
    CHECK(bd_rate(r, p, 5, r, p, 5, &v) == 0 && NEAR(v, 0, 1e-12), "identical curves: %g", v);
    CHECK(bd_psnr(r, p, 5, r, p, 5, &v) == 0 && NEAR(v, 0, 1e-12), "identical bd-psnr: %g", v);
}

static void test_constant_ratio(void)
{
    /* test_constant_rate_ratio of the Python tests: 90 % of the rate everywhere -> -10 % */
    const double r[] = {0.2, 0.45, 0.9, 1.7}, p[] = {30, 33, 36, 39};
    double t[4], v = 0;
    for (int i = 0; i < 4; i++)
        t[i] = 0.9 * r[i];
    CHECK(bd_rate(r, p, 4, t, p, 4, &v) == 0 && NEAR(v, -10.0, 1e-9), "0.9 x rate: %.12f", v);
    /* and the other way round: 1/0.9 -> +11.11 % */
    CHECK(bd_rate(t, p, 4, r, p, 4, &v) == 0 && NEAR(v, 100.0 / 9, 1e-9), "inverse: %.12f", v);
}

static void test_psnr_shift(void)
{
    /* test_psnr_shift_of_log_linear_curve: log R = a + b P, the test codec reaches each rate
     * with d dB more: BD-rate = exp(-b d) - 1 = -18.1269 %, BD-PSNR = d */
    const double a = -7.0, b = 0.2, d = 1.0;
    double pa[5] = {28, 31, 34, 37, 40}, ra[5], pt[5], v = 0;
    for (int i = 0; i < 5; i++) {
        ra[i] = exp(a + b * pa[i]);
        pt[i] = pa[i] + d;
    }
    CHECK(bd_rate(ra, pa, 5, ra, pt, 5, &v) == 0 && NEAR(v, (exp(-b * d) - 1) * 100, 1e-6),
          "shift: %.9f", v);
    CHECK(NEAR(v, -18.126924692202053, 1e-6), "python value: %.12f", v);
    CHECK(bd_psnr(ra, pa, 5, ra, pt, 5, &v) == 0 && NEAR(v, 1.0, 1e-6), "bd-psnr %.12f", v);
}

static void test_no_overlap(void)
{
    const double r[] = {1, 2, 3, 4}, pa[] = {20, 21, 22, 23}, pt[] = {30, 31, 32, 33};
    double v = 0;
    CHECK(bd_rate(r, pa, 4, r, pt, 4, &v) == -2, "no overlap");
}

static void test_invalid(void)
{
    const double r[] = {1, 2, 3, 4}, p[] = {20, 21, 22, 23}, r0[] = {1, 0, 3, 4};
    const double pdup[] = {20, 20, 20, 20};
    double v = 0;
    CHECK(bd_rate(r, p, 3, r, p, 4, &v) == -1, "3 points");
    CHECK(bd_rate(r0, p, 4, r, p, 4, &v) == -1, "zero rate");
    CHECK(bd_rate(r, pdup, 4, r, p, 4, &v) == -1, "one PSNR value");
}

static void test_python_least_squares(void)
{
    /* 6 and 7 points (least-squares fits); expected values from models/train/bdrate.py */
    const double ar[] = {1520.3, 890.1, 512.7, 301.2, 176.4, 101.9};
    const double ap[] = {42.11, 39.87, 37.52, 35.20, 32.91, 30.65};
    const double tr[] = {2100.5, 1310.2, 800.4, 470.9, 280.3, 160.2, 95.1};
    const double tp[] = {43.9, 41.8, 39.6, 37.2, 35.0, 32.6, 30.1};
    double v = 0;
    CHECK(bd_rate(ar, ap, 6, tr, tp, 7, &v) == 0 && NEAR(v, -2.4414369860486285, 1e-6),
          "bd-rate %.12f", v);
    CHECK(bd_psnr(ar, ap, 6, tr, tp, 7, &v) == 0 && NEAR(v, 0.10744949093822583, 1e-6),
          "bd-psnr %.12f", v);
    CHECK(bd_rate(tr, tp, 7, ar, ap, 6, &v) == 0 && NEAR(v, 2.5025347961505906, 1e-6),
          "reverse %.12f", v);
}

int main(void)
{
    RUN(test_identical);
    RUN(test_constant_ratio);
    RUN(test_psnr_shift);
    RUN(test_no_overlap);
    RUN(test_invalid);
    RUN(test_python_least_squares);
    return check_finish();
}
