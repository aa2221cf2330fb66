"""Calibration for the integer export (codec/ARITHMETIC.md §1-3, DESIGN.md §3.3).

* `calibration_crops`: uint8 YUV 4:2:0 crops from the training material (a training pack built
  from ../shared/data/train, or the raw sources through data.intra_crops); never eval data.
* `AbsHist`: a log2-spaced histogram of |x| per tensor, from which the 99.99th percentile is
  read without keeping the samples.
* `act_exponent`: the power-of-two activation exponent with one bit of headroom:
  the largest f with 2 * p99.99 <= 32767 * 2^-f.
* `weight_exps`: per-output-channel weight exponents of a convolution under the shift rule
  1 <= S = f_in + fw - fo <= S_MAX (S_MAX = 15 keeps |acc| below about 2^30 when the output
  itself stays in int16 with one bit of headroom).
"""
import math
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PACK = os.path.join(HERE, "packs", "cpu_intra.npz")
S_MAX = 15
I16 = 32767


class AbsHist:
    """Histogram of |x| over 2^-40 .. 2^24 with 32 bins per octave (plus an exact zero count)."""

    LO, HI, PER = -40, 24, 32

    def __init__(self):
        self.n_bins = (self.HI - self.LO) * self.PER
        self.counts = np.zeros(self.n_bins + 1, np.int64)     # last bin: overflow
        self.zeros = 0
        self.total = 0
        self.max = 0.0

    def add(self, x):
        a = x.detach().abs().flatten().float()
        self.total += a.numel()
        if not a.numel():
            return
        self.max = max(self.max, float(a.max()))
        nz = a[a > 0]
        self.zeros += a.numel() - nz.numel()
        if nz.numel():
            idx = ((torch.log2(nz) - self.LO) * self.PER).floor().clamp(0, self.n_bins)
            self.counts += np.bincount(idx.long().numpy(), minlength=self.n_bins + 1)

    def percentile(self, q):
        """Upper edge of the bin holding the q-th percentile (0 when it falls on zeros)."""
        if self.total == 0:
            return 0.0
        k = q / 100.0 * self.total
        if k <= self.zeros:
            return 0.0
        c = np.cumsum(self.counts) + self.zeros
        i = int(np.searchsorted(c, k))
        if i >= self.n_bins:
            return self.max
        return min(self.max, 2.0 ** (self.LO + (i + 1) / self.PER))


def act_exponent(p, lo=-32, hi=24):
    """Exponent f (int16 activations) with one bit of headroom over the magnitude p."""
    if p <= 0:
        return hi
    return int(max(lo, min(hi, math.floor(math.log2(I16 / (2.0 * p))))))


def weight_exps(w, fin, fo, dtype="int8", s_max=S_MAX):
    """Per-output-channel exponents for float weights w [Cout, ...].

    Returns (fw int array, ok): fw is the largest exponent that fits the dtype, capped so that
    S <= s_max; ok is False when some channel would need S < 1 (the weights are too large for
    this fin/fo pair).
    """
    qmax = 127 if dtype == "int8" else I16
    m = np.abs(np.asarray(w, np.float64)).reshape(len(w), -1).max(1)
    hi = fo - fin + s_max
    with np.errstate(divide="ignore"):
        nat = np.where(m > 0, np.floor(np.log2(qmax / np.maximum(m, 1e-300))), hi)
    fw = np.minimum(nat, hi).astype(np.int64)
    fw = np.maximum(fw, -100)
    ok = bool((fw >= fo - fin + 1).all())
    return fw, ok


def quant_weights(w, fw, dtype="int8"):
    qmax = 127 if dtype == "int8" else I16
    q = np.round(np.asarray(w, np.float64) * np.exp2(fw).reshape((-1,) + (1,) * (w.ndim - 1)))
    return np.clip(q, -qmax, qmax).astype(np.int8 if dtype == "int8" else np.int16)


def quant_bias(b, facc):
    """int32 bias at the accumulator exponents facc [Cout]."""
    q = np.round(np.asarray(b, np.float64) * np.exp2(facc))
    if np.abs(q).max(initial=0) > 2 ** 30:
        raise ValueError("bias does not fit |b| <= 2^30 at the accumulator exponent")
    return q.astype(np.int32)


def qtable_exp(rows, fx, fo):
    """Exponent fq of a q table (int16) and whether S = fx + fq - fo lands in 1..30."""
    m = float(np.abs(rows).max())
    fq = int(math.floor(math.log2(I16 / m))) if m > 0 else 15
    fq = min(fq, fo - fx + 30)
    return fq, fx + fq - fo >= 1


# ---------------------------------------------------------------------------------------------
# calibration material
# ---------------------------------------------------------------------------------------------
def calibration_crops(n=200, size=128, seed=1234, pack=None):
    """n uint8 crops (y [s,s], u, v [s/2,s/2]) from the training material.

    `pack`: a training pack (.npz built by `train pack` from ../shared/data/train); default
    train/packs/cpu_intra.npz when it exists, else the raw sources through data.intra_crops.
    """
    rng = np.random.default_rng(seed)
    pack = pack or (DEFAULT_PACK if os.path.exists(DEFAULT_PACK) else None)
    out = []
    if pack:
        z = np.load(pack)
        iy, iu, iv = z["iy"], z["iu"], z["iv"]
        N, S = iy.shape[0], iy.shape[1]
        s = min(size, S) // 16 * 16
        idx = rng.choice(N, size=n, replace=N < n)
        for i in idx:
            t = 2 * int(rng.integers(0, (S - s) // 2 + 1))
            l = 2 * int(rng.integers(0, (S - s) // 2 + 1))
            out.append((np.ascontiguousarray(iy[i, t:t + s, l:l + s]),
                        np.ascontiguousarray(iu[i, t // 2:t // 2 + s // 2, l // 2:l // 2 + s // 2]),
                        np.ascontiguousarray(iv[i, t // 2:t // 2 + s // 2, l // 2:l // 2 + s // 2])))
        return out
    from .data import intra_crops
    return [tuple(c) for c in intra_crops(rng, n, size)]


def calibration_qps(n):
    """qp of calibration crop i: spread evenly over 0..63."""
    return [int(round(i * 63 / max(1, n - 1))) for i in range(n)]


DEFAULT_CLIP_PACK = os.path.join(HERE, "packs", "gpu.npz")


def calibration_clips(n=100, size=128, seed=1234, pack=None):
    """n pairs of consecutive frames (each a (y, u, v) uint8 tuple) from the clips of a
    training pack (default train/packs/gpu.npz, else cpu_intra.npz if it holds clips)."""
    rng = np.random.default_rng(seed)
    for p in (pack, DEFAULT_CLIP_PACK, DEFAULT_PACK):
        if p and os.path.exists(p):
            z = np.load(p)
            if "cy" in z.files and z["cy"].shape[0]:
                break
    else:
        raise FileNotFoundError("no training pack with clips for the inter calibration")
    cy, cu, cv = z["cy"], z["cu"], z["cv"]
    M, T, S = cy.shape[0], cy.shape[1], cy.shape[2]
    s = min(size, S) // 16 * 16
    out = []
    for _ in range(n):
        i, t = int(rng.integers(M)), int(rng.integers(T - 1))
        a = 2 * int(rng.integers(0, (S - s) // 2 + 1))
        b = 2 * int(rng.integers(0, (S - s) // 2 + 1))

        def fr(k):
            return (np.ascontiguousarray(cy[i, k, a:a + s, b:b + s]),
                    np.ascontiguousarray(cu[i, k, a // 2:a // 2 + s // 2, b // 2:b // 2 + s // 2]),
                    np.ascontiguousarray(cv[i, k, a // 2:a // 2 + s // 2, b // 2:b // 2 + s // 2]))
        out.append((fr(t), fr(t + 1)))
    return out
