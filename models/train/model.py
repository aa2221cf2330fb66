"""Intra and inter networks of the lvc-s profile.

Every sub-network uses only the op vocabulary of codec/ARITHMETIC.md: k x k convolutions
(k in {1, 2, 3}; stride 1 or 2; dense or depthwise) with bias, LeakyReLU with slope 1/8 fused
after a convolution, residual add, channel concat, per-channel q-table multiply and
pixel (un)shuffle.  The entropy-model helpers (Gaussian likelihood, factorized prior) are
training/evaluation only; the integer engine codes with CDF tables exported from them.

Tensor layout: the packed picture X has 96 channels at 1/8 luma resolution (see pack.py).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NQP = 64
LEAK = 1.0 / 8.0
Y_CH = 128          # latent y, 1/16
Z_CH = 64           # hyper-latent z, 1/64
F_CH = 128          # decoded feature, 1/8
X_CH = 96           # packed picture, 1/8
LOG_SIGMA_MIN = math.log(0.11)
LOG_SIGMA_MAX = math.log(64.0)
QP_BUCKETS = 4      # factorized prior of z: one per qp // 16


def act(x):
    return F.leaky_relu(x, LEAK)


def conv1(cin, cout):
    return nn.Conv2d(cin, cout, 1)


def down2(cin, cout):
    """2x2 stride-2 convolution (no padding)."""
    return nn.Conv2d(cin, cout, 2, stride=2)


class Up2(nn.Module):
    """1x1 convolution to 4*cout channels, then pixel_shuffle(2)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = conv1(cin, 4 * cout)

    def forward(self, x):
        return F.pixel_shuffle(self.conv(x), 2)


class ResBlock(nn.Module):
    """Residual depthwise block: x + pw2(dw3(act(pw1(x)))); then x + f2(act(f1(x)))."""

    def __init__(self, c, expand=2):
        super().__init__()
        self.pw1 = conv1(c, c)
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.pw2 = conv1(c, c)
        self.f1 = conv1(c, expand * c)
        self.f2 = conv1(expand * c, c)
        for m in (self.pw2, self.f2):   # residual branches start small
            m.weight.data.mul_(0.3)
            m.bias.data.zero_()

    def forward(self, x):
        x = x + self.pw2(self.dw(act(self.pw1(x))))
        return x + self.f2(act(self.f1(x)))


def blocks(c, n):
    return nn.Sequential(*[ResBlock(c) for _ in range(n)])


def ste_round(x):
    return x + (torch.round(x) - x).detach()


# ---------------------------------------------------------------------------------------------
# Feature modulation: per-channel multipliers for each of the 64 qps.
# ---------------------------------------------------------------------------------------------
class QTable(nn.Module):
    """Per-channel positive multipliers for qp 0..63.

    A few anchor qps carry learned log-multipliers; the 64 rows are the linear interpolation
    of the anchors in the log domain, so an exporter can write 64 integer rows.  With
    monotone='dec' ('inc') each anchor is the previous one minus (plus) a softplus, so the
    multiplier is non-increasing (non-decreasing) in qp for every channel.
    """

    def __init__(self, channels, init_first=1.0, init_last=1.0, monotone=None,
                 anchors=(0, 9, 18, 27, 36, 45, 54, 63)):
        super().__init__()
        self.monotone = monotone
        self.anchors = tuple(anchors)
        a = len(self.anchors)
        l0, l1 = math.log(init_first), math.log(init_last)
        w = torch.zeros(NQP, a)
        for q in range(NQP):
            for i in range(a - 1):
                q0, q1 = self.anchors[i], self.anchors[i + 1]
                if q0 <= q <= q1:
                    t = (q - q0) / (q1 - q0)
                    w[q].zero_()
                    w[q, i], w[q, i + 1] = 1 - t, t
                    break
        self.register_buffer("interp", w, persistent=False)
        if monotone is None:
            lv = torch.tensor([l0 + (l1 - l0) * q / (NQP - 1) for q in self.anchors])
            self.log_anchor = nn.Parameter(lv[:, None].repeat(1, channels).clone())
        else:
            self.first = nn.Parameter(torch.full((channels,), l0))
            gaps = [abs(l1 - l0) * (self.anchors[i + 1] - self.anchors[i]) / (NQP - 1)
                    for i in range(a - 1)]
            raw = torch.tensor([math.log(math.expm1(max(g, 1e-3))) for g in gaps])
            self.raw_gap = nn.Parameter(raw[:, None].repeat(1, channels).clone())

    def log_anchors(self):
        if self.monotone is None:
            return self.log_anchor
        steps = F.softplus(self.raw_gap).cumsum(0)
        sign = -1.0 if self.monotone == "dec" else 1.0
        return torch.cat([self.first[None], self.first[None] + sign * steps], 0)

    def log_rows(self):
        return self.interp @ self.log_anchors()            # [64, C]

    def rows(self):
        return self.log_rows().exp()

    def forward(self, qp):
        """qp: LongTensor [B] -> multipliers [B, C, 1, 1]."""
        return self.log_rows()[qp].exp()[:, :, None, None]


class QMod(nn.Module):
    def __init__(self, inter=False):
        super().__init__()
        self.enc = QTable(Y_CH, 16.0, 1.0, "dec")
        self.dec = QTable(Y_CH, 1.0 / 16.0, 1.0, "inc")
        self.recon = QTable(X_CH)
        if inter:
            self.feature = QTable(F_CH)


# ---------------------------------------------------------------------------------------------
# Entropy models
# ---------------------------------------------------------------------------------------------
def _std_cdf(x):
    return 0.5 * torch.erfc(-x * (2 ** -0.5))


def gaussian_bits(v, log_sigma):
    """-log2 P(v) for v = value - mu under N(0, sigma) discretised to unit bins around 0.

    log_sigma is clamped to [log 0.11, log 64] as in the integer model.
    """
    sigma = torch.exp(log_sigma.float().clamp(LOG_SIGMA_MIN, LOG_SIGMA_MAX))
    a = v.float().abs()
    p = _std_cdf((0.5 - a) / sigma) - _std_cdf((-0.5 - a) / sigma)
    return -torch.log2(p.clamp_min(1e-9))


class FactorizedPrior(nn.Module):
    """Learned per-channel density of z (Balle et al. 2018), one set per qp bucket.

    The density is the derivative of a learned monotone CDF; a symbol's probability is
    CDF(v + 1/2) - CDF(v - 1/2), which the exporter tabulates over -Lz..Lz plus escape.
    """

    def __init__(self, channels, buckets=QP_BUCKETS, filters=(3, 3, 3), init_scale=8.0):
        super().__init__()
        self.c = channels * buckets
        self.channels, self.buckets = channels, buckets
        f = (1,) + tuple(filters) + (1,)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / f[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((self.c, f[i + 1], f[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(self.c, f[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(self.c, f[i + 1], 1)))

    def _logits(self, x, sel):
        # x: [C, 1, N]; sel: indices of the C parameter sets used
        for i, m in enumerate(self.matrices):
            x = torch.matmul(F.softplus(m[sel]), x) + self.biases[i][sel]
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i][sel]) * torch.tanh(x)
        return x

    def bits(self, z, bucket):
        """-log2 P(z) per element; z [B, C, H, W], bucket LongTensor [B]."""
        with torch.autocast(z.device.type, enabled=False):
            return self._bits(z.float(), bucket)

    def _bits(self, z, bucket):
        b, c, h, w = z.shape
        out = torch.empty_like(z)
        for k in bucket.unique().tolist():
            idx = (bucket == k).nonzero().flatten()
            zz = z[idx].permute(1, 0, 2, 3).reshape(c, 1, -1)
            sel = torch.arange(c, device=z.device) + k * c
            lo = self._logits(zz - 0.5, sel)
            hi = self._logits(zz + 0.5, sel)
            s = -torch.sign(lo + hi).detach()
            p = (torch.sigmoid(s * hi) - torch.sigmoid(s * lo)).abs()
            bits = -torch.log2(p.clamp_min(1e-9))
            out[idx] = bits.reshape(c, len(idx), h, w).permute(1, 0, 2, 3)
        return out


# ---------------------------------------------------------------------------------------------
# Sub-networks
# ---------------------------------------------------------------------------------------------
class Analysis(nn.Module):
    """packed picture (+ context) at 1/8 -> y (128 ch) at 1/16."""

    def __init__(self, cin=X_CH, c8=F_CH, n8=2, n16=2):
        super().__init__()
        self.inp = conv1(cin, c8)
        self.b8 = blocks(c8, n8)
        self.down = down2(c8, Y_CH)
        self.b16 = blocks(Y_CH, n16)
        self.out = conv1(Y_CH, Y_CH)

    def forward(self, x):
        x = self.b8(self.inp(x))
        return self.out(self.b16(self.down(x)))


class HyperAnalysis(nn.Module):
    """y at 1/16 -> z (64 ch) at 1/64 through two stride-2 convolutions."""

    def __init__(self, mid=96):
        super().__init__()
        self.inp = conv1(Y_CH, Y_CH)
        self.d1 = down2(Y_CH, mid)
        self.d2 = down2(mid, Z_CH)

    def forward(self, y):
        return self.d2(act(self.d1(act(self.inp(y)))))


class HyperSynthesis(nn.Module):
    """z at 1/64 -> hyper features (128 ch) at 1/16."""

    def __init__(self, mid=96, nblocks=1):
        super().__init__()
        self.u1 = Up2(Z_CH, mid)
        self.b = blocks(mid, nblocks)
        self.u2 = Up2(mid, Y_CH)
        self.out = conv1(Y_CH, Y_CH)

    def forward(self, z):
        x = self.b(act(self.u1(z)))
        return self.out(act(self.u2(x)))


class TemporalPrior(nn.Module):
    """(c_t at 1/8, y_hat_{t-1} at 1/16) -> temporal prior features at 1/16."""

    def __init__(self, nblocks=1):
        super().__init__()
        self.down = down2(F_CH, Y_CH)
        self.mix = conv1(2 * Y_CH, Y_CH)
        self.b = blocks(Y_CH, nblocks)

    def forward(self, c, y_prev):
        x = torch.cat([self.down(c), y_prev], 1)
        return self.b(act(self.mix(x)))


class PriorFusion(nn.Module):
    """hyper features (+ temporal prior) -> (prior features, mu1, log_sigma1)."""

    def __init__(self, inputs=1, nblocks=1):
        super().__init__()
        self.mix = conv1(inputs * Y_CH, Y_CH)
        self.b = blocks(Y_CH, nblocks)
        self.head = conv1(Y_CH, 2 * Y_CH)

    def forward(self, *xs):
        p = self.b(act(self.mix(torch.cat(xs, 1) if len(xs) > 1 else xs[0])))
        mu, ls = self.head(p).chunk(2, 1)
        return p, mu, ls


class ContextStep(nn.Module):
    """(prior features, y_hat masked to the step-1 positions) -> (mu2, log_sigma2)."""

    def __init__(self, nblocks=1):
        super().__init__()
        self.mix = conv1(2 * Y_CH, Y_CH)
        self.b = blocks(Y_CH, nblocks)
        self.head = conv1(Y_CH, 2 * Y_CH)

    def forward(self, prior, y_masked):
        x = self.b(act(self.mix(torch.cat([prior, y_masked], 1))))
        return self.head(x).chunk(2, 1)


class Synthesis(nn.Module):
    """y_hat (modulated) at 1/16 [+ context c_t at 1/8] -> decoded feature F (128 ch) at 1/8."""

    def __init__(self, n16=2, n8=3, ctx=False):
        super().__init__()
        self.b16 = blocks(Y_CH, n16)
        self.up = Up2(Y_CH, F_CH)
        self.ctx = ctx
        if ctx:
            self.mix = conv1(2 * F_CH, F_CH)
        self.b8 = blocks(F_CH, n8)

    def forward(self, y, c=None):
        x = self.up(self.b16(y))
        if self.ctx:
            x = self.mix(torch.cat([x, c], 1))
        return self.b8(x)


class ReconHead(nn.Module):
    """F at 1/8 -> packed picture (96 ch)."""

    def __init__(self, nblocks=1, k=3):
        super().__init__()
        self.b = blocks(F_CH, nblocks)
        self.out = nn.Conv2d(F_CH, X_CH, k, padding=(k - 1) // 2)

    def forward(self, f):
        return self.out(self.b(f))


class Context(nn.Module):
    """F_{t-1} -> temporal context c_t (before q_feature)."""

    def __init__(self, nblocks=1):
        super().__init__()
        self.b = blocks(F_CH, nblocks)
        self.out = conv1(F_CH, F_CH)

    def forward(self, f):
        return self.out(self.b(f))


class Refresh(nn.Module):
    """packed decoded picture -> a fresh feature F."""

    def __init__(self, nblocks=1):
        super().__init__()
        self.inp = conv1(X_CH, F_CH)
        self.b = blocks(F_CH, nblocks)

    def forward(self, x):
        return self.b(self.inp(x))


def checkerboard(h, w, device):
    """1.0 at step-1 positions ((row + col) even), 0.0 at step-2 positions; shape [1,1,h,w]."""
    r = torch.arange(h, device=device)[:, None]
    c = torch.arange(w, device=device)[None, :]
    return ((r + c) % 2 == 0).float()[None, None]


def pad_to(x, m):
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        # bottom/right edge replication, as the engine's PAD op (ARITHMETIC.md 3.8)
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
DEFAULT_INTRA = dict(a8=2, a16=2, hs_blocks=1, pf_blocks=1, cs_blocks=1, s16=2, s8=3,
                     rh_blocks=1, rh_k=3,
                     lmbda=(0.08, 0.001))
# lmbda: the rate-distortion trade-off lambda at qp 0 and qp 63 (log-linear in between; see
# fit.lam); part of the config so that fine-tuning, QAT and export use the model's own.
DEFAULT_INTER = dict(DEFAULT_INTRA, ctx_blocks=1, tp_blocks=1, rf_blocks=1)


class _Base(nn.Module):
    inter = False

    def entropy_and_synthesis(self, y, qp, train, h_extra=None, ctx=None):
        """Shared hyper path, 2-step checkerboard entropy model and synthesis.

        Returns y_hat, F, bits_y [B], bits_z [B].
        """
        b, _, h, w = y.shape
        z = self.hyper_analysis(pad_to(y, 4))
        if train:
            z_rate = z + torch.empty_like(z).uniform_(-0.5, 0.5)
            z_hat = ste_round(z)
        else:
            z_hat = torch.round(z)
            z_rate = z_hat
        bits_z = self.z_prior.bits(z_rate, qp // (NQP // QP_BUCKETS)).sum((1, 2, 3))
        hs = self.hyper_synthesis(z_hat)[:, :, :h, :w]
        if h_extra is None:
            prior, mu1, ls1 = self.prior_fusion(hs)
        else:
            prior, mu1, ls1 = self.prior_fusion(hs, h_extra)
        m1 = checkerboard(h, w, y.device)
        r1 = ste_round(y - mu1) if train else torch.round(y - mu1)
        y_hat1 = (mu1 + r1) * m1
        mu2, ls2 = self.context_step(prior, y_hat1)
        mu = mu1 * m1 + mu2 * (1 - m1)
        ls = ls1 * m1 + ls2 * (1 - m1)
        if train:
            v = y - mu + torch.empty_like(y).uniform_(-0.5, 0.5)
            r = ste_round(y - mu)
        else:
            r = torch.round(y - mu)
            v = r
        bits_y = gaussian_bits(v, ls).sum((1, 2, 3))
        y_hat = mu + r
        yd = y_hat * self.q.dec(qp)
        f = self.synthesis(yd, ctx) if ctx is not None else self.synthesis(yd)
        return y_hat, f, bits_y, bits_z

    def subnets(self):
        return {n: getattr(self, n) for n in self.SUBNETS}


class IntraModel(_Base):
    SUBNETS = ("analysis", "hyper_analysis", "hyper_synthesis", "prior_fusion",
               "context_step", "synthesis", "recon_head")

    def __init__(self, **cfg):
        super().__init__()
        c = dict(DEFAULT_INTRA)
        c.update(cfg)
        self.cfg = c
        self.analysis = Analysis(X_CH, F_CH, c["a8"], c["a16"])
        self.hyper_analysis = HyperAnalysis()
        self.hyper_synthesis = HyperSynthesis(nblocks=c["hs_blocks"])
        self.prior_fusion = PriorFusion(1, c["pf_blocks"])
        self.context_step = ContextStep(c["cs_blocks"])
        self.synthesis = Synthesis(c["s16"], c["s8"])
        self.recon_head = ReconHead(c["rh_blocks"], c["rh_k"])
        self.z_prior = FactorizedPrior(Z_CH)
        self.q = QMod(inter=False)

    def forward(self, x, qp, train=True):
        """x: packed [B,96,H/8,W/8]; qp LongTensor [B].

        Returns dict(x_hat, f, y_hat, bits [B] (y + z), bits_y, bits_z).
        """
        y = self.analysis(x) * self.q.enc(qp)
        y_hat, f, by, bz = self.entropy_and_synthesis(y, qp, train)
        x_hat = self.recon_head(f) * self.q.recon(qp)
        return dict(x_hat=x_hat, f=f, y_hat=y_hat, bits=by + bz, bits_y=by, bits_z=bz)


class InterModel(_Base):
    inter = True
    SUBNETS = ("context", "analysis", "hyper_analysis", "hyper_synthesis", "temporal_prior",
               "prior_fusion", "context_step", "synthesis", "recon_head", "refresh")

    def __init__(self, **cfg):
        super().__init__()
        c = dict(DEFAULT_INTER)
        c.update(cfg)
        self.cfg = c
        self.context = Context(c["ctx_blocks"])
        self.analysis = Analysis(X_CH + F_CH, F_CH, c["a8"], c["a16"])
        self.hyper_analysis = HyperAnalysis()
        self.hyper_synthesis = HyperSynthesis(nblocks=c["hs_blocks"])
        self.temporal_prior = TemporalPrior(c["tp_blocks"])
        self.prior_fusion = PriorFusion(2, c["pf_blocks"])
        self.context_step = ContextStep(c["cs_blocks"])
        self.synthesis = Synthesis(c["s16"], c["s8"], ctx=True)
        self.recon_head = ReconHead(c["rh_blocks"], c["rh_k"])
        self.refresh = Refresh(c["rf_blocks"])
        self.z_prior = FactorizedPrior(Z_CH)
        self.q = QMod(inter=True)

    def forward(self, x, qp, f_prev, y_prev, train=True):
        ctx = self.context(f_prev) * self.q.feature(qp)
        y = self.analysis(torch.cat([x, ctx], 1)) * self.q.enc(qp)
        tp = self.temporal_prior(ctx, y_prev)
        y_hat, f, by, bz = self.entropy_and_synthesis(y, qp, train, h_extra=tp, ctx=ctx)
        x_hat = self.recon_head(f) * self.q.recon(qp)
        return dict(x_hat=x_hat, f=f, y_hat=y_hat, bits=by + bz, bits_y=by, bits_z=bz)


def build(kind, cfg=None):
    cfg = cfg or {}
    return IntraModel(**cfg) if kind == "intra" else InterModel(**cfg)
