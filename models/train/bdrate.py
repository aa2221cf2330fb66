"""Bjontegaard delta rate (VCEG-M33): average rate difference at equal quality.

Each curve's log-rate is fitted by a cubic polynomial of PSNR; the fits are integrated over
the overlapping PSNR interval and the mean difference of log-rates is converted back to a
percentage.  Negative values mean the test codec needs fewer bits than the anchor.
"""
import numpy as np


def bd_rate(rate_anchor, psnr_anchor, rate_test, psnr_test):
    """BD-rate of test against anchor in percent (needs >= 4 points per curve).

    Returns nan when the PSNR ranges do not overlap.
    """
    ra, pa = np.asarray(rate_anchor, float), np.asarray(psnr_anchor, float)
    rt, pt = np.asarray(rate_test, float), np.asarray(psnr_test, float)
    if min(len(ra), len(rt)) < 4:
        raise ValueError("BD-rate needs at least 4 points per curve")
    ca = np.polyfit(pa, np.log(ra), 3)
    ct = np.polyfit(pt, np.log(rt), 3)
    lo = max(pa.min(), pt.min())
    hi = min(pa.max(), pt.max())
    if hi <= lo:
        return float("nan")
    ia, it = np.polyint(ca), np.polyint(ct)
    avg_a = (np.polyval(ia, hi) - np.polyval(ia, lo)) / (hi - lo)
    avg_t = (np.polyval(it, hi) - np.polyval(it, lo)) / (hi - lo)
    return float((np.exp(avg_t - avg_a) - 1) * 100)


def bd_psnr(rate_anchor, psnr_anchor, rate_test, psnr_test):
    """BD-PSNR in dB: PSNR fitted as a cubic of log-rate over the overlapping rate range."""
    la, lt = np.log(np.asarray(rate_anchor, float)), np.log(np.asarray(rate_test, float))
    pa, pt = np.asarray(psnr_anchor, float), np.asarray(psnr_test, float)
    ca, ct = np.polyfit(la, pa, 3), np.polyfit(lt, pt, 3)
    lo, hi = max(la.min(), lt.min()), min(la.max(), lt.max())
    if hi <= lo:
        return float("nan")
    ia, it = np.polyint(ca), np.polyint(ct)
    return float(((np.polyval(it, hi) - np.polyval(it, lo)) -
                  (np.polyval(ia, hi) - np.polyval(ia, lo))) / (hi - lo))
