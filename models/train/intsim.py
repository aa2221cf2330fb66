# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integer simulator of codec/ARITHMETIC.md (op-set 1) and of the lvc-s codec data flow
(ARITHMETIC.md §7, FORMAT.md §1-2), in numpy.

Tensors are int16 numpy arrays `[C, H, W]` paired with an exponent.  Intermediates are int64;
results are reduced modulo 2^32 where the contract says the accumulator wraps.  Convolutions
run in float64 on integer data: every partial sum is an integer below 2^53 in magnitude
(|x|, |w| <= 2^15, at most 4096*49 terms), so the float sums are exact.
"""
import struct

import numpy as np

from . import lvcm
from .lvcm import (CONV, ADD, RESCALE, CONCAT, QMUL, SHUFFLE, UNSHUFFLE, CBMASK, CBMERGE, PAD,
                   CROP, ACT, ACT_RELU, ACT_LRELU, OP_NAMES, NONE_IDX)
from .rans import RansEncoder, RansDecoder, RansError

I16_MIN, I16_MAX = -32768, 32767


class CodecError(ValueError):
    """A packet that violates FORMAT.md, or a frame the codec cannot process."""


# --------------------------------------------------------------------------------------------
# helpers (ARITHMETIC.md §2); all take and return int64 arrays or Python ints

def wrap32(x):
    """Reinterpret the low 32 bits as two's-complement int32 (kept as int64)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def sat16(x):
    return np.clip(np.asarray(x, dtype=np.int64), I16_MIN, I16_MAX)


def asr(x, s):
    return np.right_shift(np.asarray(x, dtype=np.int64), s)


def shl(x, s):
    return wrap32(np.left_shift(np.asarray(x, dtype=np.int64), s))


def rshr(x, s):
    """Shift right with rounding half up; s may be an array (per element/channel), 0..31."""
    x = np.asarray(x, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    if s.ndim == 0 and int(s) == 0:
        return x.copy()
    s1 = np.maximum(s - 1, 0)
    r = np.right_shift(x, s) + (np.right_shift(x, s1) & 1)
    return np.where(s == 0, x, r)


def align(x, d):
    d = int(d)
    return rshr(x, d) if d >= 0 else shl(x, -d)


def requant(acc, S):
    return sat16(rshr(acc, S))


def apply_act(v, act, k):
    v = np.asarray(v, dtype=np.int64)
    if act == 0:
        return v
    if act == ACT_RELU:
        return np.maximum(v, 0)
    if act == ACT_LRELU:
        return np.where(v >= 0, v, np.right_shift(v, k))
    raise CodecError(f"bad activation {act}")


def _py_rshr(x, s):
    return x if s == 0 else (x >> s) + ((x >> (s - 1)) & 1)


# --------------------------------------------------------------------------------------------
# ops (ARITHMETIC.md §3); `st` is an optional dict collecting statistics

def _note(st, acc=None, pre_sat=None):
    if st is None:
        return
    if acc is not None and acc.size:
        st["max_acc"] = max(st.get("max_acc", 0), int(np.abs(acc).max()))
    if pre_sat is not None:
        st["sat"] = st.get("sat", 0) + int(np.count_nonzero((pre_sat < I16_MIN) |
                                                           (pre_sat > I16_MAX)))
    st["calls"] = st.get("calls", 0) + 1


def conv_acc(x, w, b, stride, pad, groups):
    """Exact (unwrapped) int64 accumulators of CONV, shape [Cout, Ho, Wo]."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    cin, H, W = x.shape
    cout, cig, k, _ = w.shape
    if cig * groups != cin or cout % groups:
        raise CodecError("conv: channel/group mismatch")
    Ho = (H + 2 * pad - k) // stride + 1
    Wo = (W + 2 * pad - k) // stride + 1
    if Ho < 1 or Wo < 1:
        raise CodecError(f"conv: empty output ({H}x{W}, k={k}, p={pad})")
    xp = np.zeros((cin, H + 2 * pad, W + 2 * pad), np.float64)
    xp[:, pad:pad + H, pad:pad + W] = x
    sc, sh, sw = xp.strides
    cols = np.lib.stride_tricks.as_strided(
        xp, (cin, k, k, Ho, Wo), (sc, sh, sw, sh * stride, sw * stride))
    cols = cols.reshape(groups, cig * k * k, Ho * Wo)
    wf = w.astype(np.float64).reshape(groups, cout // groups, cig * k * k)
    acc = np.matmul(wf, cols).reshape(cout, Ho, Wo)
    acc = acc.astype(np.int64)
    if b is not None:
        acc = acc + np.asarray(b, dtype=np.int64)[:, None, None]
    return acc


def op_conv(x, fx, w, fw, b, fo, stride, pad, groups, act=0, act_k=0, st=None):
    raw = conv_acc(x, w, b, stride, pad, groups)
    acc = wrap32(raw)
    S = fx + np.asarray(fw, dtype=np.int64) - fo
    if S.min() < 1 or S.max() > 30:
        raise CodecError("conv: shift outside 1..30")
    r = rshr(acc, S[:, None, None])
    _note(st, raw, r)
    return apply_act(sat16(r), act, act_k).astype(np.int16)


def op_add(a, fa, b, fb, fo, act=0, act_k=0, st=None):
    if a.shape != b.shape:
        raise CodecError(f"add: shapes {a.shape} and {b.shape} differ")
    s = align(a, fa - fo) + align(b, fb - fo)
    _note(st, None, s)
    return apply_act(sat16(s), act, act_k).astype(np.int16)


def op_rescale(x, fx, fo, act=0, act_k=0, st=None):
    s = align(x, fx - fo)
    _note(st, None, s)
    return apply_act(sat16(s), act, act_k).astype(np.int16)


def op_concat(xs):
    hw = xs[0].shape[1:]
    for x in xs:
        if x.shape[1:] != hw:
            raise CodecError("concat: sizes differ")
    return np.concatenate(xs, 0).astype(np.int16)


def op_qmul(x, fx, table, fq, qp, fo, act=0, act_k=0, st=None):
    S = fx + fq - fo
    prod = np.asarray(x, np.int64) * np.asarray(table[qp], np.int64)[:, None, None]
    r = rshr(prod, S)
    _note(st, prod, r)
    return apply_act(sat16(r), act, act_k).astype(np.int16)


def op_shuffle(x, r):
    C, H, W = x.shape
    if C % (r * r):
        raise CodecError("shuffle: channels not divisible by r^2")
    c = C // (r * r)
    return np.ascontiguousarray(x.reshape(c, r, r, H, W).transpose(0, 3, 1, 4, 2)
                                .reshape(c, H * r, W * r))


def op_unshuffle(x, r):
    C, H, W = x.shape
    if H % r or W % r:
        raise CodecError(f"unshuffle: {H}x{W} not divisible by {r}")
    return np.ascontiguousarray(x.reshape(C, H // r, r, W // r, r).transpose(0, 2, 4, 1, 3)
                                .reshape(C * r * r, H // r, W // r))


def cb_parity(H, W):
    return (np.arange(H)[:, None] + np.arange(W)[None, :]) & 1


def op_cbmask(x, parity):
    return np.where(cb_parity(*x.shape[1:]) == parity, x, 0).astype(x.dtype)


def op_cbmerge(a, b, parity):
    if a.shape != b.shape:
        raise CodecError("cbmerge: shapes differ")
    return np.where(cb_parity(*a.shape[1:]) == parity, a, b).astype(a.dtype)


def op_pad(x, m):
    C, H, W = x.shape
    return np.pad(x, ((0, 0), (0, (-H) % m), (0, (-W) % m)), mode="edge")


def op_crop(x, hl, wl):
    if x.shape[1] < hl or x.shape[2] < wl:
        raise CodecError(f"crop: input {x.shape[1:]} smaller than {hl}x{wl}")
    return np.ascontiguousarray(x[:, :hl, :wl])


# --------------------------------------------------------------------------------------------
# frame geometry (§4) and packing (§5)

def padded_size(w, h):
    return 16 * -(-w // 16), 16 * -(-h // 16)


def canonical_size(w, h, level):
    """(H_L, W_L) for a picture of w x h luma samples."""
    Wp, Hp = padded_size(w, h)
    if level <= 0:
        d = 1 << (-level)
        return -(-(Hp // 8) // d), -(-(Wp // 8) // d)
    return (Hp // 8) << level, (Wp // 8) << level


def chroma_size(w, h):
    return (w + 1) // 2, (h + 1) // 2


def pack(Y, U, V):
    """uint8 planes (Y h x w, U/V ceil(h/2) x ceil(w/2)) -> int16 [96, Hp/8, Wp/8] (exp 7)."""
    h, w = Y.shape
    cw, ch = chroma_size(w, h)
    if U.shape != (ch, cw) or V.shape != (ch, cw):
        raise CodecError("pack: chroma planes have the wrong size")
    Wp, Hp = padded_size(w, h)

    def ext(p, hh, ww):
        p = np.asarray(p, np.int16)
        return np.pad(p, ((0, hh - p.shape[0]), (0, ww - p.shape[1])), mode="edge") - 128

    y = op_unshuffle(ext(Y, Hp, Wp)[None], 8)
    u = op_unshuffle(ext(U, Hp // 2, Wp // 2)[None], 4)
    v = op_unshuffle(ext(V, Hp // 2, Wp // 2)[None], 4)
    return np.concatenate([y, u, v], 0).astype(np.int16)


def unpack(R, f, w, h):
    """96-channel level-0 tensor R (exponent f, 0..22) -> uint8 planes cropped to w x h."""
    if not 0 <= f <= 22:
        raise CodecError(f"unpack: exponent {f} outside 0..22")
    cw, ch = chroma_size(w, h)

    def plane(t, r, hh, ww):
        s = op_shuffle(t, r)[0]
        p = np.clip(align(s, f - 7) + 128, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(p[:hh, :ww])

    return (plane(R[0:64], 8, h, w), plane(R[64:80], 4, ch, cw), plane(R[80:96], 4, ch, cw))


# --------------------------------------------------------------------------------------------
# graph executor

class Stats:
    """Per graph node: max |acc| / 2^31 before requantisation, saturation counts."""

    def __init__(self):
        self.nodes = {}

    def get(self, graph, i, op):
        return self.nodes.setdefault((graph, i), {"op": op})

    def report(self):
        lines = [f"{'graph':28s} {'node':>4s} {'op':9s} {'calls':>5s} {'max|acc|/2^31':>13s} "
                 f"{'sat16':>7s}"]
        for (g, i), s in sorted(self.nodes.items()):
            acc = s.get("max_acc")
            a = f"{acc / 2 ** 31:13.6f}" if acc is not None else f"{'-':>13s}"
            lines.append(f"{g:28s} {i:4d} {OP_NAMES[s['op']]:9s} {s.get('calls', 0):5d} {a} "
                         f"{s.get('sat', 0):7d}")
        return "\n".join(lines)


def run_graph(model, g, inputs, qp, w, h, stats=None, want_all=False):
    """Run graph `g` on `inputs` (dict name -> int16 array); returns dict output -> (array, exp).

    w, h: the picture size (for CROP's canonical sizes).  want_all also returns every value.
    """
    T = model.tensors
    vals = []          # (array, exponent, level)
    for gi in g.inputs:
        x = inputs[gi.name]
        if x.shape[0] != gi.channels:
            raise CodecError(f"{g.name}: input {gi.name} has {x.shape[0]} channels")
        vals.append((np.asarray(x, np.int16), gi.exponent, gi.level))
    for ni, n in enumerate(g.nodes):
        st = stats.get(g.name, ni, n.op) if stats is not None else None
        ins = [vals[v] for v in n.inputs]
        x, fx, lx = ins[0]
        if n.op == CONV:
            wt = T[n.tensor]
            b = T[n.bias].data if n.bias != NONE_IDX else None
            out = op_conv(x, fx, wt.data, wt.exps, b, n.fo, n.stride, n.pad, n.groups,
                          n.act, n.act_k, st)
            lv = lx - (1 if n.stride == 2 else 0)
        elif n.op == ADD:
            out = op_add(x, fx, ins[1][0], ins[1][1], n.fo, n.act, n.act_k, st)
            lv = lx
        elif n.op == RESCALE:
            out = op_rescale(x, fx, n.fo, n.act, n.act_k, st)
            lv = lx
        elif n.op == CONCAT:
            out = op_concat([i[0] for i in ins])
            lv = lx
        elif n.op == QMUL:
            t = T[n.tensor]
            out = op_qmul(x, fx, t.data, int(t.exps[0]), qp, n.fo, n.act, n.act_k, st)
            lv = lx
        elif n.op == SHUFFLE:
            out = op_shuffle(x, n.arg)
            lv = lx + {2: 1, 4: 2, 8: 3}[n.arg]
        elif n.op == UNSHUFFLE:
            out = op_unshuffle(x, n.arg)
            lv = lx - {2: 1, 4: 2, 8: 3}[n.arg]
        elif n.op == CBMASK:
            out, lv = op_cbmask(x, n.arg), lx
        elif n.op == CBMERGE:
            out, lv = op_cbmerge(x, ins[1][0], n.arg), lx
        elif n.op == PAD:
            out, lv = op_pad(x, n.arg), lx
        elif n.op == CROP:
            out, lv = op_crop(x, *canonical_size(w, h, n.arg)), lx
        elif n.op == ACT:
            out, lv = apply_act(x, n.act, n.act_k).astype(np.int16), lx
        else:
            raise CodecError(f"unknown op {n.op}")
        if st is not None and n.op not in (CONV, ADD, RESCALE, QMUL):
            st["calls"] = st.get("calls", 0) + 1
        vals.append((out, n.fo, lv))
    res = {}
    for name, v in g.outputs:
        arr, f, lv = vals[v]
        hl, wl = canonical_size(w, h, lv)
        if arr.shape[1:] != (hl, wl):
            raise CodecError(f"{g.name}: output {name} is {arr.shape[1:]}, canonical {hl}x{wl}")
        res[name] = (arr, f)
    if want_all:
        return res, vals
    return res


# --------------------------------------------------------------------------------------------
# entropy parameters and symbols (§6)

def scale_bins(lam, fs, thresholds):
    v = shl(lam, 16 - fs)
    return np.searchsorted(np.asarray(thresholds, np.int64), v, side="right")


def y_symbols(y, fy, mu, fm, R):
    return np.clip(rshr(align(y, fy - fm) - np.asarray(mu, np.int64), fm), -R, R)


def y_recon(mu, q, fm):
    return sat16(np.asarray(mu, np.int64) + shl(q, fm))


def z_symbols(z, fz, Rz):
    return np.clip(rshr(z, fz), -Rz, Rz)


# --------------------------------------------------------------------------------------------
# stream units (FORMAT.md §1)

def leb128(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_leb128(buf, pos):
    v = 0
    for i in range(5):
        if pos + i >= len(buf):
            raise CodecError("LEB128 truncated")
        b = buf[pos + i]
        v |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            if i > 0 and b == 0:
                raise CodecError("LEB128 with a redundant trailing zero group")
            if v > 0xFFFFFFFF:
                raise CodecError("LEB128 value above 2^32 - 1")
            return v, pos + i + 1
    raise CodecError("LEB128 longer than 5 bytes")


def n_slices(w, h):
    Wp, Hp = padded_size(w, h)
    H1, W1 = Hp // 16, Wp // 16
    return min(H1, max(1, -(-(H1 * W1) // 1024)), 64)


def slice_rows(w, h):
    Wp, Hp = padded_size(w, h)
    H1 = Hp // 16
    n = n_slices(w, h)
    return [(i * H1 // n, (i + 1) * H1 // n) for i in range(n)]


SH_FIELDS = ("primaries", "transfer", "matrix", "range", "par_num", "par_den", "fps_num",
             "fps_den")
SH_DEFAULTS = {"primaries": 2, "transfer": 2, "matrix": 2, "range": 0, "par_num": 0,
               "par_den": 0, "fps_num": 0, "fps_den": 0}


def write_sh(model_id, w, h, colour=None, ext=b""):
    c = dict(SH_DEFAULTS, **(colour or {}))
    b = b"LVC" + struct.pack("<BBB", 1, 1, 1) + model_id
    b += struct.pack("<HHBBBBBBHHIHBB", w, h, 0, 1, c["primaries"], c["transfer"], c["matrix"],
                     c["range"], c["par_num"], c["par_den"], c["fps_num"], c["fps_den"], 0,
                     len(ext))
    return b + bytes(ext)


def parse_sh(buf):
    """Returns (dict, length); the dict's 'key' is the header without its extension."""
    if len(buf) < 44:
        raise CodecError("sequence header truncated")
    if buf[0:3] != b"LVC":
        raise CodecError("bad sequence header magic")
    bver, opset, profile = buf[3], buf[4], buf[5]
    if bver != 1:
        raise CodecError(f"unknown bitstream version {bver}")
    if opset != 1:
        raise CodecError(f"op-set version {opset} not implemented")
    if profile != 1:
        raise CodecError(f"unknown profile {profile}")
    mid = bytes(buf[6:22])
    (w, h, depth, chroma, prim, trc, mat, rng, pn, pd, fn, fd, flags, n) = struct.unpack_from(
        "<HHBBBBBBHHIHBB", buf, 22)
    if depth != 0 or chroma != 1:
        raise CodecError("only 8-bit 4:2:0 is supported")
    if not (1 <= w <= 8192 and 1 <= h <= 8192):
        raise CodecError(f"picture size {w}x{h} outside 1..8192")
    if flags != 0:
        raise CodecError("sequence header flags not zero")
    if rng > 2:
        raise CodecError(f"invalid range code {rng}")
    if len(buf) < 44 + n:
        raise CodecError("sequence header extension truncated")
    d = {"model_id": mid, "width": w, "height": h, "primaries": prim, "transfer": trc,
         "matrix": mat, "range": rng, "par_num": pn, "par_den": pd, "fps_num": fn,
         "fps_den": fd, "key": bytes(buf[:43]), "ext": bytes(buf[44:44 + n])}
    return d, 44 + n


# --------------------------------------------------------------------------------------------
# the codec data flow (ARITHMETIC.md §7)

class _Core:
    """What encoder and decoder compute identically; the symbol sources differ."""

    def __init__(self, model, stats=None):
        self.m = model
        self.info = lvcm.validate(model)
        self.fm = self.info["fm"]
        self.e = model.entropy
        self.stats = stats
        self.reset()

    def reset(self):
        self.F = None
        self.yhat = None
        self.last_qp = None

    def run(self, name, inputs, qp, w, h, trace):
        out = run_graph(self.m, self.m.graph(name), inputs, qp, w, h, self.stats)
        if trace is not None:
            for k, (a, f) in out.items():
                trace[f"{name}.{k}"] = (a, f)
        return out

    def context(self, qp, w, h, trace):
        if self.F is None:
            raise CodecError("P-frame without a reference (no I-frame in this sequence)")
        if not self.m.has_inter:
            raise CodecError("intra-only model cannot code P-frames")
        return self.run("inter.context", {"f": self.F}, qp, w, h, trace)["c"][0]

    def latent(self, kind, qp, w, h, zq, c, source, trace):
        """From z symbols to the state update and the decoded picture."""
        fm, e = self.fm, self.e
        g = "intra." if kind == "I" else "inter."
        zhat = zq.astype(np.int16)
        hh = self.run(g + "hyper_synthesis", {"zhat": zhat}, qp, w, h, trace)["h"][0]
        if kind == "I":
            pf = self.run(g + "prior_fusion", {"h": hh}, qp, w, h, trace)
        else:
            t = self.run(g + "temporal_prior", {"c": c, "yprev": self.yhat}, qp, w, h,
                         trace)["t"][0]
            pf = self.run(g + "prior_fusion", {"h": hh, "t": t}, qp, w, h, trace)
        prior = pf["prior"][0]
        mu1, (lam1, fs1) = pf["mu"][0], pf["scale"]
        H1, W1 = mu1.shape[1:]
        par = cb_parity(H1, W1)
        bins1 = scale_bins(lam1, fs1, e.thresholds)
        coded1 = (bins1 >= e.skip_bins) & (par == 0)[None]
        q1 = source(1, mu1, bins1, coded1)
        v1 = np.where(coded1, y_recon(mu1, q1, fm), mu1)
        yhat1 = op_cbmask(v1.astype(np.int16), 0)
        cs = self.run(g + "context_step", {"prior": prior, "yhat1": yhat1}, qp, w, h, trace)
        mu2, (lam2, fs2) = cs["mu"][0], cs["scale"]
        bins2 = scale_bins(lam2, fs2, e.thresholds)
        coded2 = (bins2 >= e.skip_bins) & (par == 1)[None]
        q2 = source(2, mu2, bins2, coded2)
        v2 = np.where(coded2, y_recon(mu2, q2, fm), mu2).astype(np.int16)
        yhat = op_cbmerge(yhat1, v2, 0)
        if kind == "I":
            F = self.run(g + "synthesis", {"yhat": yhat}, qp, w, h, trace)["f"][0]
        else:
            F = self.run(g + "synthesis", {"yhat": yhat, "c": c}, qp, w, h, trace)["f"][0]
        R, fr = self.run(g + "recon_head", {"f": F}, qp, w, h, trace)["r"]
        pic = unpack(R, fr, w, h)
        if trace is not None:
            trace["yhat1"] = (yhat1, fm)
            trace["yhat"] = (yhat, fm)
            trace["bins"] = (np.where(par == 0, bins1, bins2).astype(np.uint8), 0)
            trace["yq"] = (np.where(coded1, q1, np.where(coded2, q2, 0)).astype(np.int32), 0)
            trace["coded"] = ((coded1 | coded2).astype(np.uint8), 0)
        return yhat, F, pic

    def finish_frame(self, kind, refresh, qp, w, h, yhat, F, pic, trace):
        if refresh:
            x = pack(*pic)
            F = self.run("inter.refresh", {"x": x}, qp, w, h, trace)["f"][0]
        self.F, self.yhat, self.last_qp = F, yhat, qp


def _check_picture(pic):
    Y, U, V = (np.asarray(p) for p in pic)
    if Y.ndim != 2 or Y.dtype != np.uint8:
        raise CodecError("luma must be a 2-D uint8 array")
    h, w = Y.shape
    if not (1 <= w <= 8192 and 1 <= h <= 8192):
        raise CodecError(f"picture size {w}x{h} outside 1..8192")
    cw, ch = chroma_size(w, h)
    if U.shape != (ch, cw) or V.shape != (ch, cw) or U.dtype != np.uint8 or V.dtype != np.uint8:
        raise CodecError("chroma planes must be uint8 ceil(h/2) x ceil(w/2)")
    return Y, U, V, w, h


class Encoder:
    """Reference encoder: encode(picture, qp, frame_type, refresh) -> (packet, reconstruction).

    picture and reconstruction are (Y, U, V) uint8 planes; the reconstruction equals the
    decoder's output.  After each call `recon` holds it too, and `trace` maps names to
    (array, exponent) of everything computed for the frame.
    """

    def __init__(self, model, colour=None, stats=None):
        self.core = _Core(model, stats)
        self.model = model
        self.mid = model.model_id()
        self.colour = colour
        self.size = None
        self.recon = None
        self.trace = None

    def encode(self, picture, qp, frame_type="I", refresh=False):
        Y, U, V, w, h = _check_picture(picture)
        core, m, e = self.core, self.model, self.model.entropy
        if not 0 <= qp <= 63:
            raise CodecError(f"qp {qp} outside 0..63")
        kind = frame_type
        if kind not in ("I", "P"):
            raise CodecError("frame type must be 'I' or 'P'")
        if kind == "P" and (self.size != (w, h) or core.F is None):
            raise CodecError("a P-frame needs a preceding I-frame of the same size")
        if kind == "I" and refresh:
            raise CodecError("refresh applies to P-frames only")
        if refresh and not m.has_inter:
            raise CodecError("refresh needs an inter model")
        trace = {}
        x = pack(Y, U, V)
        trace["x"] = (x, 7)
        g = "intra." if kind == "I" else "inter."
        c = None
        if kind == "P":
            c = core.context(qp, w, h, trace)
            y, fy = core.run(g + "analysis", {"x": x, "c": c}, qp, w, h, trace)["y"]
        else:
            y, fy = core.run(g + "analysis", {"x": x}, qp, w, h, trace)["y"]
        z, fz = core.run(g + "hyper_analysis", {"y": y}, qp, w, h, trace)["z"]
        Rz, zsets = e.zset(kind == "P")
        zq = z_symbols(z, fz, Rz)
        rows = slice_rows(w, h)
        encs = [RansEncoder() for _ in rows]
        bucket = qp * len(zsets) // 64
        ztabs = zsets[bucket]
        zsyms = []
        for ci in range(zq.shape[0]):
            for v in zq[ci].ravel():
                encs[0].put_symbol(int(v), ztabs[ci])
                zsyms.append(int(v))
        ysyms = {1: [], 2: []}

        def source(step, mu, bins, coded):
            q = y_symbols(y, fy, mu, core.fm, e.R)
            for si, (r0, r1) in enumerate(rows):
                cc, rr, ww = np.nonzero(coded[:, r0:r1, :])
                for a, b_, d in zip(cc, rr + r0, ww):
                    v = int(q[a, b_, d])
                    encs[si].put_symbol(v, e.y_tables[bins[a, b_, d]])
                    ysyms[step].append(v)
            return q

        yhat, F, pic = core.latent(kind, qp, w, h, zq, c, source, trace)
        slices = [enc.finish() for enc in encs]
        first = kind == "I" or qp != core.last_qp
        hdr = 0x80 | (0x40 if kind == "P" else 0) | (0x20 if refresh else 0) | \
            (0x10 if first else 0)
        fu = bytes([hdr]) + (bytes([qp]) if first else b"")
        fu += b"".join(leb128(len(s)) for s in slices[:-1]) + b"".join(slices)
        pkt = (write_sh(self.mid, w, h, self.colour) if kind == "I" else b"") + fu
        core.finish_frame(kind, refresh, qp, w, h, yhat, F, pic, trace)
        self.size = (w, h)
        trace["zq"] = (zq.astype(np.int32), 0)
        trace["z_sym"] = (np.array(zsyms, np.int32), 0)
        trace["y_sym1"] = (np.array(ysyms[1], np.int32), 0)
        trace["y_sym2"] = (np.array(ysyms[2], np.int32), 0)
        trace["F"] = (core.F, self.core.info["ff"])
        self.recon = pic
        self.trace = trace
        return pkt, pic


class Decoder:
    """Reference decoder: decode(packet) -> (Y, U, V) uint8 planes.

    A damaged packet raises CodecError (RansError for entropy-coded damage); the decoder then
    refuses P-frames until the next I-frame.
    """

    def __init__(self, model, stats=None):
        self.core = _Core(model, stats)
        self.model = model
        self.mid = model.model_id()
        self.sh = None
        self.trace = None
        self.last = None

    def decode(self, packet):
        try:
            return self._decode(bytes(packet))
        except (CodecError, RansError, lvcm.ModelError):
            self.core.F = None      # wait for the next I-frame
            raise

    def _decode(self, buf):
        core, e = self.core, self.model.entropy
        if not buf:
            raise CodecError("empty packet")
        pos = 0
        sh = None
        if not buf[0] & 0x80:
            sh, pos = parse_sh(buf)
            if sh["model_id"] != self.mid:
                raise CodecError(f"stream needs model {sh['model_id'].hex()}, loaded "
                                 f"{self.mid.hex()}")
        if pos >= len(buf):
            raise CodecError("packet without a frame unit")
        hdr = buf[pos]
        pos += 1
        if not hdr & 0x80 or hdr & 0x0F:
            raise CodecError(f"bad frame unit header 0x{hdr:02x}")
        kind = "P" if hdr & 0x40 else "I"
        refresh = bool(hdr & 0x20)
        has_qp = bool(hdr & 0x10)
        if kind == "I":
            if sh is None:
                raise CodecError("I-frame packet without a sequence header")
            if refresh or not has_qp:
                raise CodecError("I-frame must carry qp and no refresh flag")
            if self.sh is None or sh["key"] != self.sh["key"]:
                core.reset()        # a new sequence
            self.sh = sh
        else:
            if sh is not None:
                raise CodecError("P-frame packet with a sequence header")
            if self.sh is None or core.F is None or core.last_qp is None:
                raise CodecError("P-frame without a preceding I-frame of this sequence")
        if has_qp:
            if pos >= len(buf):
                raise CodecError("frame unit truncated (qp)")
            qp = buf[pos]
            pos += 1
            if qp > 63:
                raise CodecError(f"qp {qp} outside 0..63")
            if kind == "P" and qp == core.last_qp:
                raise CodecError("P-frame carries an unchanged qp")
        else:
            qp = core.last_qp
        if refresh and not self.model.has_inter:
            raise CodecError("refresh needs an inter model")
        w, h = self.sh["width"], self.sh["height"]
        rows = slice_rows(w, h)
        sizes = []
        for _ in range(len(rows) - 1):
            s, pos = read_leb128(buf, pos)
            sizes.append(s)
        rest = len(buf) - pos
        if sum(sizes) > rest:
            raise CodecError("slice sizes exceed the packet")
        sizes.append(rest - sum(sizes))
        if min(sizes) < 8:
            raise CodecError("slice shorter than 8 bytes")
        decs = []
        for s in sizes:
            decs.append(RansDecoder(buf[pos:pos + s]))
            pos += s
        trace = {}
        c = core.context(qp, w, h, trace) if kind == "P" else None
        H3, W3 = canonical_size(w, h, -3)
        Rz, zsets = e.zset(kind == "P")
        bucket = qp * len(zsets) // 64
        ztabs = zsets[bucket]
        d0 = decs[0]
        zq = np.array([[d0.get_symbol(ztabs[ci], Rz) for _ in range(H3 * W3)]
                       for ci in range(64)], np.int64).reshape(64, H3, W3)

        def source(step, mu, bins, coded):
            q = np.zeros(mu.shape, np.int64)
            for si, (r0, r1) in enumerate(rows):
                d = decs[si]
                cc, rr, ww = np.nonzero(coded[:, r0:r1, :])
                for a, b_, x in zip(cc, rr + r0, ww):
                    q[a, b_, x] = d.get_symbol(e.y_tables[bins[a, b_, x]], e.R)
            return q

        yhat, F, pic = core.latent(kind, qp, w, h, zq, c, source, trace)
        for d in decs:
            d.finish()
        core.finish_frame(kind, refresh, qp, w, h, yhat, F, pic, trace)
        trace["zq"] = (zq.astype(np.int32), 0)
        self.trace = trace
        self.last = (kind, qp, refresh)
        return pic


def plan(model, w, h):
    """Check that every graph maps canonical input sizes to canonical output sizes for w x h
    (by running it on zeros)."""
    info = lvcm.validate(model)
    for g in model.graphs:
        ins = {}
        for gi in g.inputs:
            hl, wl = canonical_size(w, h, gi.level)
            ins[gi.name] = np.zeros((gi.channels, hl, wl), np.int16)
        run_graph(model, g, ins, 0, w, h)
    return info
