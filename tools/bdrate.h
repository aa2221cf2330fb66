/* Bjøntegaard delta rate and delta PSNR (VCEG-M33): each curve's log-rate is fitted by a cubic
 * polynomial of PSNR (least squares; exact through 4 points), the fits are integrated exactly
 * over the overlapping PSNR interval, and the mean log-rate difference becomes a percentage.
 * The same formulation as models/train/bdrate.py; tests/test_bdrate.c pins the two together.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_TOOLS_BDRATE_H
#define LVC_TOOLS_BDRATE_H

/* BD-rate of the test curve against the anchor curve in percent (negative: the test codec
 * needs fewer bits at equal PSNR).  Rates must be > 0, each curve needs >= 4 points with at
 * least 4 distinct PSNR values.  Returns 0 with *out set, -1 for invalid input (too few
 * points, a rate <= 0, a singular fit) and -2 when the PSNR ranges do not overlap. */
int bd_rate(const double *rate_anchor, const double *psnr_anchor, int n_anchor,
            const double *rate_test, const double *psnr_test, int n_test, double *out);

/* BD-PSNR in dB: PSNR fitted as a cubic of log-rate over the overlapping log-rate range.
 * Same return values. */
int bd_psnr(const double *rate_anchor, const double *psnr_anchor, int n_anchor,
            const double *rate_test, const double *psnr_test, int n_test, double *out);

#endif
