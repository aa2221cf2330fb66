import math

import numpy as np
import pytest

from train.bdrate import bd_psnr, bd_rate


def test_constant_rate_ratio():
    # test needs exactly 90 % of the anchor's rate at every PSNR -> BD-rate is -10 %
    psnr = [30.0, 33.0, 36.0, 39.0]
    rate = [0.2, 0.45, 0.9, 1.7]
    assert bd_rate(rate, psnr, [0.9 * r for r in rate], psnr) == pytest.approx(-10.0, abs=1e-9)


def test_psnr_shift_of_log_linear_curve():
    # log R = a + b*P for the anchor; the test reaches each rate with d dB more, i.e.
    # log R_t(P) = a + b*(P - d): BD-rate = exp(-b*d) - 1 (hand-checked: b = 0.2, d = 1 dB
    # -> -18.127 %), BD-PSNR = d
    a, b, d = -7.0, 0.2, 1.0
    pa = np.array([28.0, 31.0, 34.0, 37.0, 40.0])
    ra = np.exp(a + b * pa)
    pt = pa + d
    rt = ra.copy()
    assert bd_rate(ra, pa, rt, pt) == pytest.approx((math.exp(-b * d) - 1) * 100, abs=1e-6)
    assert bd_rate(ra, pa, rt, pt) == pytest.approx(-18.1269, abs=1e-3)
    assert bd_psnr(ra, pa, rt, pt) == pytest.approx(d, abs=1e-6)


def test_no_overlap_is_nan():
    assert math.isnan(bd_rate([1, 2, 3, 4], [20, 21, 22, 23], [1, 2, 3, 4], [30, 31, 32, 33]))


def test_least_squares_vectors():
    # 6- and 7-point curves (least-squares fits); tests/test_bdrate.c expects the same values
    ar = [1520.3, 890.1, 512.7, 301.2, 176.4, 101.9]
    ap = [42.11, 39.87, 37.52, 35.20, 32.91, 30.65]
    tr = [2100.5, 1310.2, 800.4, 470.9, 280.3, 160.2, 95.1]
    tp = [43.9, 41.8, 39.6, 37.2, 35.0, 32.6, 30.1]
    assert bd_rate(ar, ap, tr, tp) == pytest.approx(-2.4414369860486285, abs=1e-9)
    assert bd_psnr(ar, ap, tr, tp) == pytest.approx(0.10744949093822583, abs=1e-9)
    assert bd_rate(tr, tp, ar, ap) == pytest.approx(2.5025347961505906, abs=1e-9)
