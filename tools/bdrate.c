/* Bjøntegaard delta rate.  See bdrate.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bdrate.h"

#include <math.h>

/* A cubic fitted in the normalised variable t = (x - x0) / sc, which keeps the 4 × 4 normal
 * equations well conditioned. */
typedef struct Cubic {
    double c[4]; /* c0 + c1 t + c2 t^2 + c3 t^3 */
    double x0, sc;
} Cubic;

static int fit_cubic(const double *x, const double *y, int n, Cubic *p)
{
    double lo = x[0], hi = x[0], mean = 0;
    for (int i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
        mean += x[i];
    }
    p->x0 = mean / n;
    p->sc = (hi - lo) / 2;
    if (!(p->sc > 0))
        return -1;
    double a[4][5] = {{0}};
    for (int i = 0; i < n; i++) {
        double t = (x[i] - p->x0) / p->sc, pw[7];
        pw[0] = 1;
        for (int k = 1; k < 7; k++)
            pw[k] = pw[k - 1] * t;
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++)
                a[r][c] += pw[r + c];
            a[r][4] += pw[r] * y[i];
        }
    }
    /* Gaussian elimination with partial pivoting. */
    for (int col = 0; col < 4; col++) {
        int piv = col;
        for (int r = col + 1; r < 4; r++)
            if (fabs(a[r][col]) > fabs(a[piv][col]))
                piv = r;
        if (!(fabs(a[piv][col]) > 1e-12))
            return -1;
        if (piv != col)
            for (int c = 0; c < 5; c++) {
                double tmp = a[col][c];
                a[col][c] = a[piv][c];
                a[piv][c] = tmp;
            }
        for (int r = col + 1; r < 4; r++) {
            double f = a[r][col] / a[col][col];
            for (int c = col; c < 5; c++)
                a[r][c] -= f * a[col][c];
        }
    }
    for (int r = 3; r >= 0; r--) {
        double s = a[r][4];
        for (int c = r + 1; c < 4; c++)
            s -= a[r][c] * p->c[c];
        p->c[r] = s / a[r][r];
    }
    return 0;
}

/* The exact integral of the fitted cubic over x in [lo, hi]. */
static double integral(const Cubic *p, double lo, double hi)
{
    double tl = (lo - p->x0) / p->sc, th = (hi - p->x0) / p->sc, s = 0;
    for (int k = 3; k >= 0; k--)
        s = s * th + p->c[k] / (k + 1);
    s *= th;
    double sl = 0;
    for (int k = 3; k >= 0; k--)
        sl = sl * tl + p->c[k] / (k + 1);
    sl *= tl;
    return (s - sl) * p->sc;
}

static void range(const double *x, int n, double *lo, double *hi)
{
    *lo = *hi = x[0];
    for (int i = 1; i < n; i++) {
        *lo = x[i] < *lo ? x[i] : *lo;
        *hi = x[i] > *hi ? x[i] : *hi;
    }
}

#define BD_MAX_POINTS 256

/* Mean difference (test - anchor) of y fitted as a cubic of x over the overlapping x range. */
static int bd_generic(const double *xa, const double *ya, int na, const double *xt,
                      const double *yt, int nt, double *out)
{
    Cubic ca, ct;
    if (fit_cubic(xa, ya, na, &ca) < 0 || fit_cubic(xt, yt, nt, &ct) < 0)
        return -1;
    double loa, hia, lot, hit;
    range(xa, na, &loa, &hia);
    range(xt, nt, &lot, &hit);
    double lo = loa > lot ? loa : lot, hi = hia < hit ? hia : hit;
    if (!(hi > lo))
        return -2;
    *out = (integral(&ct, lo, hi) - integral(&ca, lo, hi)) / (hi - lo);
    return 0;
}

static int check_input(const double *r, const double *p, int n, double *logr)
{
    if (n < 4 || n > BD_MAX_POINTS)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!(r[i] > 0) || !isfinite(r[i]) || !isfinite(p[i]))
            return -1;
        logr[i] = log(r[i]);
    }
    return 0;
}

int bd_rate(const double *rate_anchor, const double *psnr_anchor, int n_anchor,
            const double *rate_test, const double *psnr_test, int n_test, double *out)
{
    double la[BD_MAX_POINTS], lt[BD_MAX_POINTS], d;
    if (check_input(rate_anchor, psnr_anchor, n_anchor, la) < 0 ||
        check_input(rate_test, psnr_test, n_test, lt) < 0)
        return -1;
    int r = bd_generic(psnr_anchor, la, n_anchor, psnr_test, lt, n_test, &d);
    if (r < 0)
        return r;
    *out = (exp(d) - 1) * 100;
    return 0;
}

int bd_psnr(const double *rate_anchor, const double *psnr_anchor, int n_anchor,
            const double *rate_test, const double *psnr_test, int n_test, double *out)
{
    double la[BD_MAX_POINTS], lt[BD_MAX_POINTS];
    if (check_input(rate_anchor, psnr_anchor, n_anchor, la) < 0 ||
        check_input(rate_test, psnr_test, n_test, lt) < 0)
        return -1;
    return bd_generic(la, psnr_anchor, n_anchor, lt, psnr_test, n_test, out);
}
