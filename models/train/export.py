"""Integer export of a trained float model to an `.lvcm` file (codec/FORMAT.md §3,
codec/ARITHMETIC.md, DESIGN.md §3.3).

    cd models
    /usr/bin/python3 -m train.export export --ckpt CKPT --out NAME.lvcm [--calib-crops 200]
    /usr/bin/python3 -m train.export compare --ckpt CKPT --lvcm NAME.lvcm --images 6 --qps 0,21,42,63

How the float network becomes lvc-s graphs
-----------------------------------------
Each sub-network is described once, by a function over an *emitter* `E` (the `g_*`
functions below).  The same description is run by

* `TorchEmitter` in mode `float` (the float network, op by op; it must reproduce
  model.forward exactly, which `check_mapping` verifies), in mode `calib` (float, and a
  histogram of |x| per value), or in mode `fq` (fake quantisation at the exported exponents,
  with straight-through gradients: calibration measurements and qat.py);
* `Builder`, which emits the lvcm nodes and integer tensors and records every decision in a
  *plan* (per value: input/output exponents, weight width) that the `fq` mode replays.

Mapping: nn.Conv2d -> CONV (LeakyReLU(1/8) fused as `lrelu 3`); residual adds -> ADD; the
prior/context heads (one conv with 2*128 outputs, then chunk) -> two CONVs (mu, scale); torch.cat
-> CONCAT after RESCALE of the inputs whose exponent is above the smallest; QTable multiplies
-> QMUL with the 64 rows the QTable evaluates; pixel_shuffle -> SHUFFLE; the hyper path's
edge-replicating pad_to(y, 4) -> PAD 4 and the crop of the hyper-synthesis output -> CROP -1
(placed before the final 1x1 convolution, which commutes with it).  The checkerboard masking and
merging of the latent are engine stages (ARITHMETIC.md §7), so no CBMASK/CBMERGE node is needed.
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import calibrate as cal
from . import lvcm
from . import model as mdl
from .model import NQP, QP_BUCKETS, LOG_SIGMA_MIN, LOG_SIGMA_MAX
from .rans import CdfTable, PROB_SCALE

FX = 7                 # packed picture exponent (ARITHMETIC.md §5)
NB = 64                # scale bins
TAIL = 1e-6            # mass left to the escape when choosing a table's B
Z_LIM = 1024


class Unsupported(ValueError):
    """The float network holds an operation outside the op vocabulary."""


def leak_shift():
    k = -math.log2(mdl.LEAK)
    if k != int(k) or not 1 <= k <= 15:
        raise Unsupported(f"LeakyReLU slope {mdl.LEAK} is not 2^-k with 1 <= k <= 15")
    return int(k)


# ---------------------------------------------------------------------------------------------
# vocabulary check
# ---------------------------------------------------------------------------------------------
_CONTAINERS = (mdl.IntraModel, mdl.InterModel, mdl.Analysis, mdl.HyperAnalysis,
               mdl.HyperSynthesis, mdl.Up2, mdl.ResBlock, nn.Sequential, mdl.PriorFusion,
               mdl.ContextStep, mdl.Synthesis, mdl.ReconHead, mdl.Context, mdl.Refresh,
               mdl.TemporalPrior, mdl.QMod, mdl.QTable, mdl.FactorizedPrior, nn.ParameterList)


def check_vocabulary(m):
    """Raise Unsupported naming the first module the exporter cannot express exactly."""
    leak_shift()
    for name, mod in m.named_modules():
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size
            why = None
            if k[0] != k[1] or not 1 <= k[0] <= 7:
                why = f"kernel {k}"
            elif mod.stride[0] != mod.stride[1] or mod.stride[0] not in (1, 2):
                why = f"stride {mod.stride}"
            elif mod.padding[0] != mod.padding[1] or not 0 <= mod.padding[0] < k[0]:
                why = f"padding {mod.padding}"
            elif mod.dilation != (1, 1):
                why = f"dilation {mod.dilation}"
            elif mod.padding_mode != "zeros":
                why = f"padding mode {mod.padding_mode}"
            elif mod.bias is None:
                why = "no bias"   # allowed by the format, but the mapping assumes one
            if why:
                raise Unsupported(f"{name}: Conv2d with {why} (CONV needs square k 1..7, "
                                  f"stride 1/2, zero padding < k, no dilation)")
        elif not isinstance(mod, _CONTAINERS):
            raise Unsupported(f"{name}: {type(mod).__name__} has no lvc-s op")


# ---------------------------------------------------------------------------------------------
# sub-network descriptions (mirror model.py's forward methods)
# ---------------------------------------------------------------------------------------------
def _blocks(E, seq, x, name):
    for i, b in enumerate(seq):
        n = f"{name}.{i}"
        if type(b) is not mdl.ResBlock:
            raise Unsupported(f"{n}: {type(b).__name__} in a block sequence")
        a = E.conv(x, b.pw1, n + ".pw1", act=True)
        a = E.conv(a, b.dw, n + ".dw")
        a = E.conv(a, b.pw2, n + ".pw2")
        x = E.add(x, a, n + ".add1")
        a = E.conv(x, b.f1, n + ".f1", act=True)
        a = E.conv(a, b.f2, n + ".f2")
        x = E.add(x, a, n + ".add2")
    return x


def g_analysis(E, m, x, c=None):
    a = m.analysis
    if c is not None:
        x = E.concat([x, c], "cat")
    v = E.conv(x, a.inp, "inp")
    v = _blocks(E, a.b8, v, "b8")
    v = E.conv(v, a.down, "down")
    v = _blocks(E, a.b16, v, "b16")
    v = E.conv(v, a.out, "out")
    return {"y": E.qmul(v, m.q.enc, "q_enc")}


def g_hyper_analysis(E, m, y):
    a = m.hyper_analysis
    v = E.pad(y, 4)
    v = E.conv(v, a.inp, "inp", act=True)
    v = E.conv(v, a.d1, "d1", act=True)
    return {"z": E.conv(v, a.d2, "d2")}


def g_hyper_synthesis(E, m, zhat):
    a = m.hyper_synthesis
    v = E.shuffle(E.conv(zhat, a.u1.conv, "u1", act=True), 2)
    v = _blocks(E, a.b, v, "b")
    v = E.shuffle(E.conv(v, a.u2.conv, "u2", act=True), 2)
    v = E.crop(v, -1)
    return {"h": E.conv(v, a.out, "out")}


def _heads(E, head, v):
    c = head.out_channels // 2
    return (E.conv(v, head, "head.mu", sl=slice(0, c)),
            E.conv(v, head, "head.scale", sl=slice(c, 2 * c)))


def g_prior_fusion(E, m, h, t=None):
    a = m.prior_fusion
    x = E.concat([h, t], "cat") if t is not None else h
    p = _blocks(E, a.b, E.conv(x, a.mix, "mix", act=True), "b")
    mu, sc = _heads(E, a.head, p)
    return {"prior": p, "mu": mu, "scale": sc}


def g_context_step(E, m, prior, yhat1):
    a = m.context_step
    x = E.concat([prior, yhat1], "cat")
    v = _blocks(E, a.b, E.conv(x, a.mix, "mix", act=True), "b")
    mu, sc = _heads(E, a.head, v)
    return {"mu": mu, "scale": sc}


def g_synthesis(E, m, yhat, c=None):
    a = m.synthesis
    v = E.qmul(yhat, m.q.dec, "q_dec")
    v = _blocks(E, a.b16, v, "b16")
    v = E.shuffle(E.conv(v, a.up.conv, "up"), 2)
    if a.ctx:
        v = E.conv(E.concat([v, c], "cat"), a.mix, "mix")
    return {"f": _blocks(E, a.b8, v, "b8")}


def g_recon_head(E, m, f):
    a = m.recon_head
    v = E.conv(_blocks(E, a.b, f, "b"), a.out, "out")
    return {"r": E.qmul(v, m.q.recon, "q_recon")}


def g_context(E, m, f):
    a = m.context
    v = E.conv(_blocks(E, a.b, f, "b"), a.out, "out")
    return {"c": E.qmul(v, m.q.feature, "q_feature")}


def g_temporal_prior(E, m, c, yprev):
    a = m.temporal_prior
    v = E.concat([E.conv(c, a.down, "down"), yprev], "cat")
    return {"t": _blocks(E, a.b, E.conv(v, a.mix, "mix", act=True), "b")}


def g_refresh(E, m, x):
    a = m.refresh
    return {"f": _blocks(E, a.b, E.conv(x, a.inp, "inp"), "b")}


GRAPH_FNS = {"analysis": g_analysis, "hyper_analysis": g_hyper_analysis,
             "hyper_synthesis": g_hyper_synthesis, "prior_fusion": g_prior_fusion,
             "context_step": g_context_step, "synthesis": g_synthesis,
             "recon_head": g_recon_head, "context": g_context,
             "temporal_prior": g_temporal_prior, "refresh": g_refresh}


# ---------------------------------------------------------------------------------------------
# torch executor (float / calibration / fake quantisation)
# ---------------------------------------------------------------------------------------------
def ste(x, q):
    return x + (q - x).detach()


class _FQ(torch.autograd.Function):
    """int16 at exponent f: clamp(floor(x 2^f + 1/2), -2^15, 2^15 - 1) 2^-f; gradient passed
    straight through."""

    @staticmethod
    def forward(ctx, x, f):
        s = 2.0 ** f
        return torch.clamp_(torch.floor_(x * s + 0.5), -32768, 32767).mul_(1.0 / s)

    @staticmethod
    def backward(ctx, g):
        return g, None


class _FQLRelu(torch.autograd.Function):
    """Integer LeakyReLU of values on the 2^-f grid: v >= 0 ? v : floor(v 2^-k); the gradient
    is that of the float LeakyReLU with slope 2^-k."""

    @staticmethod
    def forward(ctx, x, f, k):
        neg = x < 0
        ctx.save_for_backward(neg)
        ctx.k = k
        s = 2.0 ** f
        y = torch.floor_(x * (s / 2 ** k)).mul_(1.0 / s)
        return torch.where(neg, y, x)

    @staticmethod
    def backward(ctx, g):
        neg, = ctx.saved_tensors
        return torch.where(neg, g * 2.0 ** -ctx.k, g), None, None


def fq_value(x, f):
    """Fake int16 quantisation at exponent f (round half up, saturate), straight-through."""
    return _FQ.apply(x, f)


def fq_lrelu(x, f, k):
    """Integer LeakyReLU on values already on the 2^-f grid: v >= 0 ? v : floor(v / 2^k)."""
    return _FQLRelu.apply(x, f, k)


def as_models(m):
    """{'intra': IntraModel, 'inter': InterModel} from a model or such a dict."""
    if isinstance(m, dict):
        return {k: v for k, v in m.items() if v is not None}
    return {"inter" if m.inter else "intra": m}


class TorchEmitter:
    """Runs the graph descriptions in PyTorch; `mode` in float, calib, fq."""

    def __init__(self, m, qp, mode="float", plan=None, stats=None):
        self.models = as_models(m)
        self.qp, self.mode, self.plan, self.stats = qp, mode, plan, stats
        self.k = leak_shift()
        self.hw = None
        self.g = None

    def graph(self, name, *inputs):
        self.g = name
        pre, fn = name.split(".")
        return GRAPH_FNS[fn](self, self.models[pre], *inputs)

    def key(self, name):
        return f"{self.g}:{name}"

    def _note(self, k, v):
        if self.stats is not None:
            self.stats.setdefault(k, cal.AbsHist()).add(v)

    def _out(self, k, v, act=False):
        self._note(k, v)
        if self.mode == "fq":
            f = self.plan[k]["fo"]
            v = fq_value(v, f)
            if act:
                return fq_lrelu(v, f, self.k)
            return v
        return F.leaky_relu(v, mdl.LEAK) if act else v

    def conv(self, x, mod, name, act=False, sl=None):
        k = self.key(name)
        w, b = mod.weight, mod.bias
        if sl is not None:
            w, b = w[sl], b[sl]
        if self.mode == "fq":
            p = self.plan[k]
            fw, _ = cal.weight_exps(w.detach().cpu().numpy(), p["fin"], p["fo"], p["dtype"])
            qmax = 127 if p["dtype"] == "int8" else 32767
            sw = torch.tensor(np.exp2(fw), dtype=w.dtype, device=w.device)
            wq = torch.clamp(torch.round(w * sw[:, None, None, None]), -qmax, qmax) / \
                sw[:, None, None, None]
            w = ste(w, wq)
            sb = sw * 2.0 ** p["fin"]
            b = ste(b, torch.round(b * sb) / sb)
        v = F.conv2d(x, w, b, mod.stride, mod.padding, 1, mod.groups)
        return self._out(k, v, act)

    def add(self, a, b, name, act=False):
        return self._out(self.key(name), a + b, act)

    def concat(self, xs, name):
        k = self.key(name)
        if self.mode == "fq":
            f = self.plan[k]["fo"]
            xs = [fq_value(x, f) for x in xs]
        return torch.cat(xs, 1)

    def qmul(self, x, qt, name):
        k = self.key(name)
        rows = qt.log_rows().exp()
        if self.mode == "fq":
            s = 2.0 ** self.plan[k]["fq"]
            rows = ste(rows, torch.clamp(torch.round(rows * s), -32768, 32767) / s)
        return self._out(k, x * rows[self.qp][:, :, None, None])

    def shuffle(self, x, r):
        return F.pixel_shuffle(x, r)

    def unshuffle(self, x, r):
        return F.pixel_unshuffle(x, r)

    def pad(self, x, m):
        return mdl.pad_to(x, m)

    def crop(self, x, level):
        assert level == -1
        return x[:, :, :self.hw[0], :self.hw[1]]


class EntropyFQ:
    """Scale bins and skip rule for the fq mode (thresholds on ln sigma, bin sigmas)."""

    def __init__(self, thresholds, sigmas, skip_bins):
        self.thr = torch.tensor([t / 65536 for t in thresholds], dtype=torch.float32)
        self.rep = torch.log(torch.tensor(sigmas, dtype=torch.float32))
        self.skip = skip_bins

    def bins(self, ls):
        return torch.bucketize(ls.detach().float().contiguous(), self.thr, right=True)

    def apply(self, ls):
        b = self.bins(ls)
        return ste(ls, self.rep[b]), b >= self.skip


def codec_forward(E, m, x, qp, train=False, ent=None, f_prev=None, y_prev=None):
    """The codec data flow (ARITHMETIC.md §7) through the graph descriptions: an I-frame with
    the IntraModel m, or a P-frame with the InterModel m and the state (f_prev, y_prev).

    train: additive-noise rate and straight-through rounding (as model.py); ent: an EntropyFQ
    (scale-bin quantisation of sigma and the skip mask: skipped elements take y_hat = mu and
    cost nothing).  Returns dict(x_hat, bits, bits_y, bits_z, y_hat, f).
    """
    P = f_prev is not None
    g = "inter." if P else "intra."
    c = None
    if P:
        c = E.graph(g + "context", f_prev)["c"]
        y = E.graph(g + "analysis", x, c)["y"]
    else:
        y = E.graph(g + "analysis", x)["y"]
    h1, w1 = y.shape[-2:]
    E.hw = (h1, w1)
    z = E.graph(g + "hyper_analysis", y)["z"]
    if train:
        z_rate = z + torch.empty_like(z).uniform_(-0.5, 0.5)
        zhat = mdl.ste_round(z)
    else:
        zhat = torch.round(z)
        z_rate = zhat
    bits_z = m.z_prior.bits(z_rate, qp // (NQP // QP_BUCKETS)).sum((1, 2, 3))
    h = E.graph(g + "hyper_synthesis", zhat)["h"]
    if P:
        pf = E.graph(g + "prior_fusion", h, E.graph(g + "temporal_prior", c, y_prev)["t"])
    else:
        pf = E.graph(g + "prior_fusion", h)
    prior, mu1, ls1 = pf["prior"], pf["mu"], pf["scale"]
    m1 = mdl.checkerboard(h1, w1, y.device)
    c1 = 1.0
    if ent is not None:
        ls1, c1 = ent.apply(ls1)
        c1 = c1.float()
    r1 = mdl.ste_round(y - mu1) if train else torch.round(y - mu1)
    yhat1 = (mu1 + r1 * c1) * m1
    cs = E.graph(g + "context_step", prior, yhat1)
    mu2, ls2 = cs["mu"], cs["scale"]
    c2 = 1.0
    if ent is not None:
        ls2, c2 = ent.apply(ls2)
        c2 = c2.float()
    mu = mu1 * m1 + mu2 * (1 - m1)
    ls = ls1 * m1 + ls2 * (1 - m1)
    coded = (c1 * m1 + c2 * (1 - m1)) if ent is not None else 1.0
    if train:
        v = y - mu + torch.empty_like(y).uniform_(-0.5, 0.5)
        r = mdl.ste_round(y - mu)
    else:
        r = torch.round(y - mu)
        v = r
    bits_y = (mdl.gaussian_bits(v, ls) * coded).sum((1, 2, 3))
    yhat = mu + r * coded
    f = E.graph(g + "synthesis", yhat, c)["f"] if P else E.graph(g + "synthesis", yhat)["f"]
    x_hat = E.graph(g + "recon_head", f)["r"]
    return dict(x_hat=x_hat, bits=bits_y + bits_z, bits_y=bits_y, bits_z=bits_z, y_hat=yhat,
                f=f)


def check_mapping(m, x, qp, tol=1e-3, f_prev=None, y_prev=None):
    """The graph descriptions in float mode must reproduce model.forward (eval mode)."""
    with torch.no_grad():
        if f_prev is None:
            ref = m(x, qp, train=False)
        else:
            ref = m(x, qp, f_prev, y_prev, train=False)
        got = codec_forward(TorchEmitter(m, qp), m, x, qp, f_prev=f_prev, y_prev=y_prev)
    dx = float((ref["x_hat"] - got["x_hat"]).abs().max())
    db = float(((ref["bits"] - got["bits"]).abs() / ref["bits"].clamp_min(1)).max())
    if dx > tol or db > tol:
        raise Unsupported(f"the exported graphs do not reproduce model.forward "
                          f"(max |dx_hat| {dx:.2e}, rel. bits {db:.2e}): the float network "
                          f"has an operation this exporter does not map")
    return dx, db


# ---------------------------------------------------------------------------------------------
# integer builder
# ---------------------------------------------------------------------------------------------
class Builder:
    """Emits lvcm graphs and integer tensors; records the plan replayed by the fq mode."""

    def __init__(self, M, m, stats, force=None, int16=(), log=None):
        self.M, self.models, self.stats = M, as_models(m), stats
        self.force = dict(force or {})
        self.int16 = set(int16)
        self.plan = {}
        self.k = leak_shift()
        self.log = log or (lambda s: None)
        self.gb = None
        self.g = None

    def graph(self, name, inputs, out_order, out_exp=None):
        """inputs: [(name, channels, level, exponent)]; returns {output: (ch, level, exp)}.

        out_exp: required exponents of some outputs (a RESCALE is appended where the natural
        exponent differs)."""
        self.g = name
        self.gb = self.M.graph_builder(name)
        vals = [self.gb.input(*i) for i in inputs]
        pre, fn = name.split(".")
        outs = GRAPH_FNS[fn](self, self.models[pre], *vals)
        res = {}
        for o in out_order:
            v = outs[o]
            want = (out_exp or {}).get(o)
            if want is not None and self.gb.exp(v) != want:
                self.plan[self.key(o + ".rescale")] = dict(op="rescale", fo=want)
                v = self.gb.rescale(v, want)
            self.gb.output(o, v)
            res[o] = self.gb.info[v]
        self.gb.finish()
        return res

    def key(self, name):
        return f"{self.g}:{name}"

    def _fo(self, k):
        if k in self.force:
            return self.force[k], True
        h = self.stats.get(k)
        if h is None:
            raise KeyError(f"no calibration statistics for {k}")
        return cal.act_exponent(h.percentile(99.99)), False

    def _act(self, act):
        return ("lrelu", self.k) if act else None

    def conv(self, x, mod, name, act=False, sl=None):
        k = self.key(name)
        gb = self.gb
        fin = gb.exp(x)
        w = mod.weight.detach().cpu().double().numpy()
        b = mod.bias.detach().cpu().double().numpy()
        if sl is not None:
            w, b = w[sl], b[sl]
        fo, forced = self._fo(k)
        dtype = "int16" if k in self.int16 else "int8"
        fw, ok = cal.weight_exps(w, fin, fo, dtype)
        if not ok and dtype == "int8":
            dtype = "int16"
            fw, ok = cal.weight_exps(w, fin, fo, dtype)
            self.log(f"  {k}: int16 weights (S >= 1 needs more weight bits)")
        if not ok:
            if forced:
                raise ValueError(f"{k}: forced output exponent {fo} impossible with {dtype} "
                                 f"weights and input exponent {fin}")
            nat, _ = cal.weight_exps(w, fin, 10 ** 6, dtype, s_max=0)
            fo2 = int(min(fin + nat.min() - 1, fo))
            self.log(f"  {k}: output exponent lowered {fo} -> {fo2} (shift rule)")
            fo = fo2
            fw, ok = cal.weight_exps(w, fin, fo, dtype)
            assert ok
        wi = self.M.add_tensor(k + ".w", cal.quant_weights(w, fw, dtype), fw)
        bi = self.M.add_tensor(k + ".b", cal.quant_bias(b, fin + fw))
        v = gb.conv(x, wi, bi, fo, mod.kernel_size[0], mod.stride[0], mod.padding[0],
                    mod.groups, self._act(act))
        self.plan[k] = dict(op="conv", fin=fin, fo=fo, dtype=dtype)
        return v

    def add(self, a, b, name, act=False):
        k = self.key(name)
        fo, _ = self._fo(k)
        fo = min(fo, self.gb.exp(a) + 15, self.gb.exp(b) + 15)
        fo = max(fo, self.gb.exp(a) - 30, self.gb.exp(b) - 30)
        self.plan[k] = dict(op="add", fo=fo)
        return self.gb.add(a, b, fo, self._act(act))

    def concat(self, xs, name):
        k = self.key(name)
        f = min(self.gb.exp(x) for x in xs)
        xs = [x if self.gb.exp(x) == f else self.gb.rescale(x, f) for x in xs]
        self.plan[k] = dict(op="concat", fo=f)
        return self.gb.concat(*xs)

    def qmul(self, x, qt, name):
        k = self.key(name)
        fx = self.gb.exp(x)
        rows = qt.rows().detach().cpu().double().numpy()
        fo, forced = self._fo(k)
        fq, ok = cal.qtable_exp(rows, fx, fo)
        if not ok:
            if forced:
                raise ValueError(f"{k}: forced exponent {fo} impossible for the q table")
            fo = fx + fq - 1
            self.log(f"  {k}: output exponent lowered to {fo} (shift rule)")
        t = np.clip(np.round(rows * 2.0 ** fq), -32768, 32767).astype(np.int16)
        ti = self.M.add_tensor(k, t, [fq])
        self.plan[k] = dict(op="qmul", fo=fo, fq=fq, fin=fx)
        return self.gb.qmul(x, ti, fo)

    def shuffle(self, x, r):
        return self.gb.shuffle(x, r)

    def unshuffle(self, x, r):
        return self.gb.unshuffle(x, r)

    def pad(self, x, m):
        return self.gb.pad(x, m)

    def crop(self, x, level):
        return self.gb.crop(x, level)


# ---------------------------------------------------------------------------------------------
# entropy tables
# ---------------------------------------------------------------------------------------------
def freq_table(p, B):
    """CdfTable from probabilities p[0..2B] of -B..B and the escape mass p[2B+1]."""
    p = [max(0.0, float(v)) for v in p]
    s = sum(p)
    p = [v / s for v in p]
    n = len(p)
    spare = PROB_SCALE - n
    freqs = [1 + int(v * spare) for v in p]
    rem = PROB_SCALE - sum(freqs)
    order = sorted(range(n), key=lambda i: -p[i])
    i = 0
    while rem > 0:
        freqs[order[i % n]] += 1
        rem -= 1
        i += 1
    return CdfTable(B, freqs)


def y_thresholds(nb=NB):
    """nb - 1 thresholds on ln sigma (exponent 16) from ln 0.11 to ln 64 (the training clamp)."""
    return lvcm.log_thresholds(nb, math.exp(LOG_SIGMA_MIN), math.exp(LOG_SIGMA_MAX))


def bin_sigmas(thr):
    """sigma of each bin: the clamp values for the outer bins (training clamps sigma there),
    the geometric centre inside."""
    t = [v / 65536 for v in thr]
    out = [math.exp(LOG_SIGMA_MIN)]
    out += [math.exp(0.5 * (t[i - 1] + t[i])) for i in range(1, len(t))]
    out.append(math.exp(LOG_SIGMA_MAX))
    return out


def gaussian_cdf_table(sigma, tail=TAIL, bmax=1024):
    """Discretised zero-mean Gaussian, -B..B plus escape; B covers all but `tail` of the mass
    (at most bmax: symbols beyond the model's bound R cannot occur)."""
    B = 1
    while B < min(1024, bmax) and math.erfc((B + 0.5) / (sigma * math.sqrt(2))) > tail:
        B += 1
    cdf = lambda v: 0.5 * math.erfc(-v / (sigma * math.sqrt(2)))  # noqa: E731
    p = [cdf(q + 0.5) - cdf(q - 0.5) for q in range(-B, B + 1)]
    p.append(2 * cdf(-B - 0.5))
    return freq_table(p, B)


@torch.no_grad()
def z_tables(prior, tail=TAIL, bmax=Z_LIM):
    """Tables per (qp bucket, channel) of the learned factorized prior: P(v) =
    CDF(v + 1/2) - CDF(v - 1/2) on the integers, -B..B plus escape (the tails)."""
    v = torch.arange(-Z_LIM, Z_LIM + 1, dtype=torch.float64)
    pr = copy.deepcopy(prior).double()
    out = []
    for k in range(prior.buckets):
        row = []
        sel = torch.arange(prior.channels) + k * prior.channels
        x = v[None, None].repeat(prior.channels, 1, 1)
        lo = pr._logits(x - 0.5, sel)[:, 0]
        hi = pr._logits(x + 0.5, sel)[:, 0]
        p = (torch.sigmoid(hi) - torch.sigmoid(lo)).clamp_min(0)
        left = torch.sigmoid(lo[:, 0])                  # mass below -Z_LIM - 1/2
        right = 1 - torch.sigmoid(hi[:, -1])
        for c in range(prior.channels):
            pc = p[c].numpy()
            cum = np.cumsum(pc)
            total = float(left[c] + right[c] + cum[-1])
            B = 1
            while B < min(Z_LIM, bmax):
                inside = cum[Z_LIM + B] - (cum[Z_LIM - B - 1] if Z_LIM - B - 1 >= 0 else 0)
                if total - inside <= tail * total:
                    break
                B += 1
            inside = pc[Z_LIM - B:Z_LIM + B + 1]
            esc = total - float(inside.sum())
            row.append(freq_table(list(inside) + [esc], B))
        out.append(row)
    return out




# ---------------------------------------------------------------------------------------------
# the export pipeline
# ---------------------------------------------------------------------------------------------
def to_x(crops):
    from .yuv import pack
    t = lambda i: torch.from_numpy(np.stack([c[i] for c in crops]))  # noqa: E731
    return pack(t(0), t(1), t(2))


def batches(crops, qps, bs=8):
    for i in range(0, len(crops), bs):
        yield to_x(crops[i:i + bs]), torch.tensor(qps[i:i + bs])


def clip_batches(clips, qps, bs=8):
    for i in range(0, len(clips), bs):
        yield (to_x([c[0] for c in clips[i:i + bs]]), to_x([c[1] for c in clips[i:i + bs]]),
               torch.tensor(qps[i:i + bs]))


def quantise_picture(x_hat):
    """The decoded picture as the packed tensor the refresh network sees (8-bit samples)."""
    return torch.clamp(torch.round(x_hat * 128), -128, 127) / 128


@torch.no_grad()
def collect_stats(m, crops, qps, bs=8, clips=None, clip_qps=None):
    """|x| histograms of every value: I-frames on the crops; with an inter model also the
    P-frame (and refresh) graphs on the second frame of each clip."""
    ms = as_models(m)
    stats = {}
    for x, qp in batches(crops, qps, bs):
        codec_forward(TorchEmitter(ms, qp, "calib", stats=stats), ms["intra"], x, qp)
    if "inter" in ms and clips:
        for x0, x1, qp in clip_batches(clips, clip_qps, bs):
            o0 = codec_forward(TorchEmitter(ms, qp), ms["intra"], x0, qp)
            E = TorchEmitter(ms, qp, "calib", stats=stats)
            o1 = codec_forward(E, ms["inter"], x1, qp, f_prev=o0["f"], y_prev=o0["y_hat"])
            E.graph("inter.refresh", quantise_picture(o1["x_hat"]))
    return stats


INTRA_ORDER = [("intra.analysis", ["y"]), ("intra.hyper_analysis", ["z"]),
               ("intra.hyper_synthesis", ["h"]), ("intra.prior_fusion", ["prior", "mu", "scale"]),
               ("intra.context_step", ["mu", "scale"]), ("intra.synthesis", ["f"]),
               ("intra.recon_head", ["r"])]
INTER_ORDER = [("inter.context", ["c"]), ("inter.analysis", ["y"]),
               ("inter.hyper_analysis", ["z"]), ("inter.hyper_synthesis", ["h"]),
               ("inter.temporal_prior", ["t"]), ("inter.prior_fusion", ["prior", "mu", "scale"]),
               ("inter.context_step", ["mu", "scale"]), ("inter.synthesis", ["f"]),
               ("inter.recon_head", ["r"]), ("inter.refresh", ["f"])]


def _keys(stats, suffix):
    return sorted(k for k in stats if k.endswith(suffix))


def choose_forced(stats):
    """Exponents fixed by the interface: fm (all mu and y_hat), fs (all scales), r in 0..22,
    z >= 0, fy - fm in -15..30.  Returns (force {key: exponent}, fm, fs)."""
    p = lambda k: stats[k].percentile(99.99)  # noqa: E731
    mu, sc = _keys(stats, ":head.mu"), _keys(stats, ":head.scale")
    ys = _keys(stats, ".analysis:q_enc")
    fm = max(min(cal.act_exponent(max(p(k) for k in mu + ys)), 12), 0)
    fs = min(max(cal.act_exponent(max(p(k) for k in sc)), 0), 12)
    force = {k: fm for k in mu}
    force.update({k: fs for k in sc})
    for k in _keys(stats, ".recon_head:q_recon"):
        force[k] = min(max(cal.act_exponent(p(k)), 0), 22)
    for k in _keys(stats, ".hyper_analysis:d2"):
        force[k] = max(cal.act_exponent(p(k)), 0)
    for k in ys:
        force[k] = min(max(cal.act_exponent(p(k)), fm - 15), fm + 30)
    return force, fm, fs


def _graph_inputs(g, exp, ch, fm):
    kind, n = g.split(".")
    P = kind == "inter"
    ff = exp("intra.synthesis", "f") if n in ("recon_head", "context") else None
    c = [("c", 128, 0, exp("inter.context", "c"))] if P and n in ("analysis", "synthesis",
                                                                   "temporal_prior") else []
    if n == "analysis":
        return [("x", 96, 0, FX)] + c
    if n == "hyper_analysis":
        return [("y", 128, -1, exp(kind + ".analysis", "y"))]
    if n == "hyper_synthesis":
        return [("zhat", 64, -3, 0)]
    if n == "prior_fusion":
        hs = kind + ".hyper_synthesis"
        t = [("t", ch("inter.temporal_prior", "t"), -1, exp("inter.temporal_prior", "t"))] \
            if P else []
        return [("h", ch(hs, "h"), -1, exp(hs, "h"))] + t
    if n == "context_step":
        pf = kind + ".prior_fusion"
        return [("prior", ch(pf, "prior"), -1, exp(pf, "prior")), ("yhat1", 128, -1, fm)]
    if n == "synthesis":
        return [("yhat", 128, -1, fm)] + c
    if n in ("recon_head", "context"):
        return [("f", 128, 0, ff)]
    if n == "temporal_prior":
        return c + [("yprev", 128, -1, fm)]
    if n == "refresh":
        return [("x", 96, 0, FX)]
    raise KeyError(g)


def build_model(m, stats, force, int16=(), skip_bins=0, meta=None, log=print, ztabs=None):
    """Emit every graph (intra, and inter when m holds an inter model) and the entropy tables.

    The I-frame z tables come from the intra model's factorized prior and, with an inter model,
    the P-frame set (FORMAT.md §3.6) from the inter model's own prior.  ztabs: precomputed
    tables, a dict {'intra': ..., 'inter': ...} (recomputed when a bound exceeds its Rz)."""
    ms = as_models(m)
    M = lvcm.Model(meta=meta or {"name": "unnamed"})
    B = Builder(M, ms, stats, force, int16, log)
    outs = {}

    def exp(g, o):
        return outs[(g, o)][2]

    def ch(g, o):
        return outs[(g, o)][0]

    fm = force[_keys(force, ":head.mu")[0]]
    order = INTRA_ORDER + (INTER_ORDER if "inter" in ms else [])
    for g, oo in order:
        oe = {"f": exp("intra.synthesis", "f")} if g in ("inter.synthesis", "inter.refresh") \
            else None
        res = B.graph(g, _graph_inputs(g, exp, ch, fm), oo, oe)
        for o, info in res.items():
            outs[(g, o)] = info
    thr = y_thresholds()
    R = 32767 >> fm
    ytabs = [gaussian_cdf_table(s, bmax=R) for s in bin_sigmas(thr)]
    zsets = {}
    for kind in ms:
        fz = exp(kind + ".hyper_analysis", "z")
        Rz = max(1, 32767 >> fz) if fz < 15 else 1
        zt = (ztabs or {}).get(kind)
        if zt is None or max(t.B for b in zt for t in b) > Rz:
            zt = z_tables(ms[kind].z_prior, bmax=Rz)
        zsets[kind] = (Rz, zt)
    Rz_p, zt_p = zsets.get("inter", (None, None))
    M.entropy = lvcm.EntropyParams(skip_bins, R, thr, ytabs, *zsets["intra"], Rz_p, zt_p)
    M.validate()
    return M, B.plan


def rd_cost(m, plan, crops, qps, ent=None, mode="fq", bs=8):
    """Mean lambda(qp) D + R (bpp), mean D, mean bpp, PSNR-YUV (from D) on the crops."""
    from .fit import lam
    from .yuv import yuv_distortion
    J, D, R, P = [], [], [], []
    with torch.no_grad():
        for x, qp in batches(crops, qps, bs):
            E = TorchEmitter(m, qp, mode, plan)
            out = codec_forward(E, m, x, qp, ent=ent)
            xh = torch.clamp(torch.round(out["x_hat"] * 128), -128, 127) / 128
            d = yuv_distortion(xh, x)
            bpp = out["bits"] / (x.shape[2] * x.shape[3] * 64)
            J += (lam(qp, getattr(m, "cfg", None)) * d + bpp).tolist()
            D += d.tolist()
            R += bpp.tolist()
            P += (10 * torch.log10(255.0 ** 2 / d.clamp_min(1e-6))).tolist()
    return dict(J=float(np.mean(J)), D=float(np.mean(D)), bpp=float(np.mean(R)),
                psnr=float(np.mean(P)))


def choose_int16(m, stats, force, crops, qps, candidates, log=print):
    """Keep int16 weights for a candidate layer when it lowers the RD cost by > 0.2 %."""
    M, plan = build_model(m, stats, force, (), log=lambda s: None, ztabs=_ZT_CACHE.get(id(m)))
    m = as_models(m)["intra"]
    base = rd_cost(m, plan, crops, qps)
    log(f"int8 everywhere: J {base['J']:.4f} (bpp {base['bpp']:.4f}, PSNR {base['psnr']:.2f})")
    chosen = []
    for k in candidates:
        if k not in plan:
            continue
        p2 = copy.deepcopy(plan)
        p2[k]["dtype"] = "int16"
        r = rd_cost(m, p2, crops, qps)
        gain = (base["J"] - r["J"]) / base["J"] * 100
        keep = gain > 0.2
        log(f"int16 {k}: J {r['J']:.4f} ({gain:+.2f} %, PSNR {r['psnr']:.2f}) -> "
            f"{'int16' if keep else 'int8'}")
        if keep:
            chosen.append(k)
    return chosen


def choose_skip(m, M, plan, crops, qps, log=print, cands=(0, 1, 2, 3, 4, 6, 8, 10, 12, 16)):
    e = M.entropy
    best, res = 0, {}
    for s in cands:
        ent = EntropyFQ(e.thresholds, bin_sigmas(e.thresholds), s)
        res[s] = rd_cost(m, plan, crops, qps, ent)
        log(f"skip_bins {s}: J {res[s]['J']:.5f} bpp {res[s]['bpp']:.5f} "
            f"PSNR {res[s]['psnr']:.3f}")
        if res[s]["J"] < res[best]["J"]:
            best = s
    return best, res


_ZT_CACHE = {}


def intsim_check(M, crops, qps, clips=(), clip_qps=()):
    """Encode -> decode with the integer simulator; decoder output must equal the encoder's
    reconstruction.  Crops are I-frames; each clip is coded I, P, P with refresh.
    Returns (Stats, list of (kind, bytes, psnr_yuv))."""
    from . import intsim
    from .yuv import psnr_planes, psnr_yuv
    st = intsim.Stats()
    res = []
    seqs = [([c], qp) for c, qp in zip(crops, qps)] + \
        [([c[0], c[1], c[1]], qp) for c, qp in zip(clips, clip_qps)]
    for frames, qp in seqs:
        enc = intsim.Encoder(M, stats=st)
        dec = intsim.Decoder(M)
        for i, fr in enumerate(frames):
            kind = "I" if i == 0 else "P"
            pkt, rec = enc.encode(fr, qp, kind, refresh=i == 2)
            out = dec.decode(pkt)
            for a, b in zip(rec, out):
                if not np.array_equal(a, b):
                    raise AssertionError("intsim: decoder output differs from the encoder's "
                                         "reconstruction")
            res.append((kind, len(pkt), psnr_yuv(*psnr_planes(fr, rec))))
    return st, res


def stats_summary(st):
    worst, wk, sat = 0, None, 0
    for (g, i), s in st.nodes.items():
        a = s.get("max_acc")
        if a is not None and a > worst:
            worst, wk = a, (g, i)
        sat += s.get("sat", 0)
    return worst / 2 ** 31, wk, sat


def export(ckpt_path, out, n_crops=200, crop=128, pack=None, name=None, description=None,
           int16_candidates=("intra.analysis:inp", "intra.recon_head:out",
                             "intra.synthesis:up"),
           measure_crops=48, check_crops=8, log=print, model=None, seed=1234,
           skip_cands=(0, 1, 2, 3, 4, 6, 8, 10, 12, 16), meta_extra=None, inter_ckpt=None,
           inter_model=None, n_clips=100, clip_pack=None):
    """The whole export; returns (lvcm.Model, info dict).

    model / inter_model: float models (else loaded from ckpt_path / inter_ckpt).  Without an
    inter model the file is intra-only."""
    t0 = time.time()
    st = None
    from .evaluate import load_model
    if model is None:
        model, st = load_model(ckpt_path)
    if inter_model is None and inter_ckpt:
        inter_model, _ = load_model(inter_ckpt)
    mi = model.eval()
    if mi.inter:
        raise Unsupported("--ckpt must be an intra model (give the inter model separately)")
    ms = {"intra": mi}
    check_vocabulary(mi)
    if inter_model is not None:
        ms["inter"] = inter_model.eval()
        check_vocabulary(ms["inter"])
    crops = cal.calibration_crops(n_crops, crop, seed, pack)
    qps = cal.calibration_qps(len(crops))
    x0, q0 = next(batches(crops, qps))
    dx, db = check_mapping(mi, x0, q0)
    log(f"mapping check (intra): max |dx_hat| {dx:.1e}, rel. bits {db:.1e}")
    clips, cqps = [], []
    if "inter" in ms:
        clips = cal.calibration_clips(n_clips, crop, seed, clip_pack)
        cqps = cal.calibration_qps(len(clips))
        a0, a1, q1 = next(clip_batches(clips, cqps))
        with torch.no_grad():
            o0 = mi(a0, q1, train=False)
        dx, db = check_mapping(ms["inter"], a1, q1, f_prev=o0["f"], y_prev=o0["y_hat"])
        log(f"mapping check (inter): max |dx_hat| {dx:.1e}, rel. bits {db:.1e}")
    stats = collect_stats(ms, crops, qps, clips=clips, clip_qps=cqps)
    force, fm, fs = choose_forced(stats)
    log(f"calibrated {len(stats)} values on {len(crops)} crops {crop}x{crop}"
        f"{' and %d clips' % len(clips) if clips else ''} (qp 0..63): fm {fm}, fs {fs}, "
        + ", ".join(f"{k} {v}" for k, v in sorted(force.items())
                    if not k.endswith((":head.mu", ":head.scale"))))
    zt = {k: z_tables(v.z_prior) for k, v in ms.items()}
    _ZT_CACHE[id(ms)] = zt
    # measurement subset (I-frames): spread over the qps
    sel = np.linspace(0, len(crops) - 1, min(measure_crops, len(crops))).round().astype(int)
    mc, mq = [crops[i] for i in sel], [qps[i] for i in sel]
    fl = rd_cost(mi, None, mc, mq, mode="float")
    log(f"float model on the measurement crops: J {fl['J']:.4f} (bpp {fl['bpp']:.4f}, "
        f"PSNR {fl['psnr']:.2f})")
    int16 = choose_int16(ms, stats, force, mc, mq, int16_candidates, log)
    M, plan = build_model(ms, stats, force, int16, log=log, ztabs=zt)
    skip, _ = choose_skip(mi, M, plan, mc, mq, log, skip_cands)
    kinds = "intra + inter" if "inter" in ms else "intra-only"
    meta = {"name": name or os.path.splitext(os.path.basename(out or "model"))[0],
            "description": description or f"lvc-s {kinds} model (integer export)",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "training": "checkpoint %s, step %s%s; calibration %d crops %dx%d%s from the "
                        "training material; int16 layers %s; skip_bins %d" % (
                            ckpt_path, (st or {}).get("step"),
                            f", inter {inter_ckpt}" if inter_ckpt else "", len(crops), crop,
                            crop, f" + {len(clips)} clips" if clips else "",
                            ",".join(int16) or "none", skip)}
    meta.update(meta_extra or {})
    M, plan = build_model(ms, stats, force, int16, skip, meta, log=lambda s: None, ztabs=zt)
    if out:
        M.save(out)
        back = lvcm.read(out)
        if back.model_id() != M.model_id():
            raise AssertionError("re-read model has another id")
    info = dict(model_id=M.model_id_hex(), fm=fm, fs=fs, int16=int16, skip_bins=skip,
                plan=plan, force=force)
    log(f"model id {info['model_id']}  ({kinds}, {len(M.tensors)} tensors, "
        f"{sum(t.data.nbytes for t in M.tensors) / 2 ** 20:.2f} MiB)")
    if check_crops:
        idx = np.linspace(0, len(crops) - 1, check_crops).round().astype(int)
        cidx = np.linspace(0, len(clips) - 1, min(2, len(clips))).round().astype(int) \
            if clips else []
        stt, res = intsim_check(M, [crops[i] for i in idx], [qps[i] for i in idx],
                                [clips[i] for i in cidx], [cqps[i] for i in cidx])
        worst, wk, sat = stats_summary(stt)
        log(stt.report())
        log(f"intsim: {len(res)} frames encode -> decode OK (decoder == encoder recon); "
            f"worst max|acc|/2^31 {worst:.4f} at {wk}; int16 saturations {sat}")
        for kind, nb, p in res:
            log(f"  {kind}: {nb} bytes, PSNR-YUV {p:.2f}")
        info.update(worst_acc=worst, worst_node=wk, saturations=sat)
        if worst > 0.5 or sat:
            log("WARNING: natural data exceeds |acc| <= 2^30 or saturates int16 (see above)")
    log(f"export done in {time.time() - t0:.0f} s")
    return M, info


# ---------------------------------------------------------------------------------------------
# integer vs float on Kodak
# ---------------------------------------------------------------------------------------------
def compare(ckpt_path, lvcm_path, n_images=6, qps=(0, 21, 42, 63), log=print, model=None,
            verify=1, stats=None):
    """Float model (evaluate.eval_intra) against the integer model (intsim: packet bytes,
    reconstruction) on the first n Kodak images; the first `verify` images of each qp are
    also decoded and must equal the encoder's reconstruction."""
    from . import intsim
    from .bdrate import bd_rate
    from .evaluate import eval_intra, kodak, load_model
    from .yuv import psnr_planes
    if model is None:
        model, _ = load_model(ckpt_path)
    M = lvcm.read(lvcm_path)
    imgs = kodak(n_images)
    fl = eval_intra(model, imgs, qps)
    rows = []
    for qp in qps:
        pts = []
        for name, _, fr in imgs:
            t = time.time()
            enc = intsim.Encoder(M, stats=stats)
            pkt, rec = enc.encode(fr, qp)
            if len(pts) < verify:
                got = intsim.Decoder(M).decode(pkt)
                if not all(np.array_equal(a, b) for a, b in zip(rec, got)):
                    raise AssertionError(f"{name} qp {qp}: decoder != encoder recon")
            pts.append((len(pkt) * 8, fr[0].size, psnr_planes(fr, rec)))
            log(f"  qp {qp} {name}: {len(pkt)} bytes ({time.time() - t:.1f} s)")
        from .evaluate import summarise
        r = summarise(pts)
        r["qp"] = qp
        rows.append(r)
    bd = bd_rate([p["bpp"] for p in fl], [p["psnr_yuv"] for p in fl],
                 [p["bpp"] for p in rows], [p["psnr_yuv"] for p in rows])
    return fl, rows, bd


def fmt_compare(fl, it, bd, n):
    out = [f"Kodak, first {n} images, YUV 4:2:0 BT.601 limited (evaluate.py conversion)", "",
           "| qp | float bpp | float PSNR-YUV | integer bpp (packet bytes) | "
           "integer PSNR-YUV (decoded) | d bpp | d PSNR |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for a, b in zip(fl, it):
        out.append("| %d | %.4f | %.2f | %.4f | %.2f | %+.1f %% | %+.2f |" % (
            a["qp"], a["bpp"], a["psnr_yuv"], b["bpp"], b["psnr_yuv"],
            (b["bpp"] / a["bpp"] - 1) * 100, b["psnr_yuv"] - a["psnr_yuv"]))
    out.append("")
    out.append("BD-rate of integer against float (PSNR-YUV): %+.2f %%" % bd)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = argv.pop(0) if argv and argv[0] in ("export", "compare") else "export"
    p = argparse.ArgumentParser(prog="train.export " + cmd)
    p.add_argument("--ckpt", required=True, help="run dir, checkpoint dir or .pt")
    p.add_argument("--threads", type=int, default=1)
    if cmd == "export":
        p.add_argument("--out", required=True, help="models/NAME.lvcm")
        p.add_argument("--calib-crops", type=int, default=200)
        p.add_argument("--crop", type=int, default=128)
        p.add_argument("--pack", help="training pack for calibration (default packs/cpu_intra)")
        p.add_argument("--name")
        p.add_argument("--description")
        p.add_argument("--measure-crops", type=int, default=48)
        p.add_argument("--check-crops", type=int, default=8)
        p.add_argument("--info", help="write the export decisions as JSON here")
        p.add_argument("--inter-ckpt", help="inter model (P-frames); omit for intra-only")
        p.add_argument("--calib-clips", type=int, default=100)
        p.add_argument("--clip-pack", help="pack with clips (default packs/gpu.npz)")
    else:
        p.add_argument("--lvcm", required=True)
        p.add_argument("--images", type=int, default=6)
        p.add_argument("--qps", default="0,21,42,63")
        p.add_argument("--markdown")
        p.add_argument("--verify", type=int, default=1,
                       help="images per qp also decoded (decoder == encoder check)")
        p.add_argument("--stats", help="write the intsim Stats report here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if cmd == "export":
        M, info = export(a.ckpt, a.out, a.calib_crops, a.crop, a.pack, a.name, a.description,
                         measure_crops=a.measure_crops, check_crops=a.check_crops,
                         inter_ckpt=a.inter_ckpt, n_clips=a.calib_clips, clip_pack=a.clip_pack)
        print(f"wrote {a.out}\nmodel id {info['model_id']}")
        if a.info:
            json.dump({k: (str(v) if k == "worst_node" else v) for k, v in info.items()},
                      open(a.info, "w"), indent=1)
    else:
        qps = [int(q) for q in a.qps.split(",")]
        from . import intsim
        st = intsim.Stats()
        fl, it, bd = compare(a.ckpt, a.lvcm, a.images, qps, verify=a.verify, stats=st)
        txt = fmt_compare(fl, it, bd, a.images)
        worst, wk, sat = stats_summary(st)
        txt += ("\nintsim Stats over these encodes: worst max|acc|/2^31 %.4f at %s, "
                "int16 saturations %d" % (worst, wk, sat))
        if a.stats:
            open(a.stats, "w").write(st.report() + "\n")
        print(txt)
        if a.markdown:
            open(a.markdown, "w").write(txt + "\n")


if __name__ == "__main__":
    main()
