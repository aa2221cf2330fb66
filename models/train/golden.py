# SPDX-License-Identifier: LGPL-2.1-or-later
"""Golden vectors from the integer simulator, for the C tests (format: tests/golden/README.md).

    cd models && /usr/bin/python3 -m train.golden --out ../tests/golden
"""
import argparse
import os
import struct

import numpy as np

from . import intsim, lvcm
from .intsim import (op_conv, op_add, op_rescale, op_concat, op_qmul, op_shuffle, op_unshuffle,
                     op_cbmask, op_cbmerge, op_pad, op_crop, apply_act, canonical_size, pack,
                     unpack, rshr, align)
from .lvcm import (CONV, ADD, RESCALE, CONCAT, QMUL, SHUFFLE, UNSHUFFLE, CBMASK, CBMERGE, PAD,
                   CROP, ACT)

MAGIC = b"LVGV"
OP_PACK, OP_UNPACK, OP_HELPERS = 100, 101, 102
_DT = {1: np.dtype("<i1"), 2: np.dtype("<i2"), 3: np.dtype("<i4"), 4: np.dtype("u1")}
_DT_CODE = {np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("int32"): 3,
            np.dtype("uint8"): 4}
N_PARAMS = 16
DEFAULT_OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden")


# --------------------------------------------------------------------------------------------
# container

def write_lvgv(path, records):
    """records: list of (name, array, exponent)."""
    out = bytearray(MAGIC + struct.pack("<I", len(records)))
    for name, arr, exp in records:
        arr = np.asarray(arr)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        code = _DT_CODE[arr.dtype]
        nb = name.encode()
        assert len(nb) < 256
        out += struct.pack("<B", len(nb)) + nb + struct.pack("<BB", code, arr.ndim)
        out += struct.pack(f"<{arr.ndim}I", *arr.shape) + struct.pack("<i", int(exp))
        out += arr.astype(_DT[code]).tobytes()
    with open(path, "wb") as f:
        f.write(out)


def read_lvgv(path):
    """-> dict name -> (array, exponent), in file order."""
    buf = open(path, "rb").read()
    assert buf[:4] == MAGIC, "bad magic"
    (n,) = struct.unpack_from("<I", buf, 4)
    pos, res = 8, {}
    for _ in range(n):
        ln = buf[pos]
        name = buf[pos + 1:pos + 1 + ln].decode()
        pos += 1 + ln
        code, ndim = buf[pos], buf[pos + 1]
        pos += 2
        dims = struct.unpack_from(f"<{ndim}I", buf, pos)
        pos += 4 * ndim
        (exp,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        cnt = int(np.prod(dims))
        arr = np.frombuffer(buf, _DT[code], cnt, pos).reshape(dims)
        pos += cnt * _DT[code].itemsize
        res[name] = (arr.astype(_DT[code].newbyteorder("=")), exp)
    assert pos == len(buf), "trailing bytes"
    return res


def params(op, act=0, act_k=0, k=0, stride=0, pad=0, groups=0, arg=0, fo=0, out_channels=0,
           qp=0, w=0, h=0):
    p = np.zeros(N_PARAMS, np.int32)
    p[:13] = [op, act, act_k, k, stride, pad, groups, arg, fo, out_channels, qp, w, h]
    return p


# --------------------------------------------------------------------------------------------
# per-op cases

class _Cases:
    def __init__(self):
        self.recs = []
        self.n = 0

    def add(self, param, ins, out, extra=()):
        """ins: list of (array, exp); extra: list of (suffix, array, exp)."""
        c = f"c{self.n}."
        self.recs.append((c + "param", param, 0))
        for i, (a, f) in enumerate(ins):
            self.recs.append((c + f"in{i}", a, f))
        for s, a, f in extra:
            self.recs.append((c + s, a, f))
        if isinstance(out, dict):
            for s, (a, f) in out.items():
                self.recs.append((c + s, a, f))
        else:
            self.recs.append((c + "out", out[0], out[1]))
        self.n += 1


def _r16(rng, shape, lo=-32768, hi=32767):
    return rng.integers(lo, hi + 1, shape).astype(np.int16)


def conv_cases(rng):
    cs = _Cases()

    def case(cin, cout, H, W, k, s, p, g, fx, fw, fo, act=0, act_k=0, w16=False, bias=True,
             x=None, w=None, b=None):
        if x is None:
            x = _r16(rng, (cin, H, W), -3000, 3000)
        if w is None:
            w = (_r16(rng, (cout, cin // g, k, k), -20000, 20000) if w16 else
                 rng.integers(-128, 128, (cout, cin // g, k, k)).astype(np.int8))
        fw = np.broadcast_to(np.asarray(fw, np.int32), (cout,)).copy()
        if bias and b is None:
            b = rng.integers(-(1 << 20), 1 << 20, cout).astype(np.int32)
        out = op_conv(x, fx, w, fw, b if bias else None, fo, s, p, g, act, act_k)
        extra = [("w", w, 0), ("fw", fw, 0)] + ([("b", b, 0)] if bias else [])
        cs.add(params(CONV, act, act_k, k, s, p, g, 0, fo, cout), [(x, fx)], (out, fo), extra)

    case(8, 6, 5, 7, 1, 1, 0, 1, 8, 7, 8)                            # 1x1
    case(8, 8, 6, 5, 3, 1, 1, 8, 8, [6, 7, 8, 9, 6, 7, 8, 9], 9, 1)  # 3x3 depthwise relu
    case(12, 8, 6, 6, 3, 1, 1, 1, 7, 8, 8, 2, 3)                     # 3x3 dense lrelu 3
    case(8, 16, 7, 9, 2, 2, 0, 1, 8, 7, 9)                           # 2x2 s2, odd size
    case(8, 4, 9, 7, 3, 2, 1, 2, 8, 14, 12, 2, 1, w16=True)          # 3x3 s2 g2 int16 lrelu 1
    case(4, 4, 8, 8, 5, 2, 2, 4, 6, 7, 8, bias=False)                # 5x5 s2 depthwise no bias
    case(3, 5, 9, 10, 7, 1, 3, 1, 7, 8, 9, 2, 15)                    # 7x7 lrelu 15
    case(6, 6, 1, 1, 3, 1, 1, 3, 7, 7, 7)                            # 1x1 picture, padding
    case(4, 4, 4, 5, 3, 1, 2, 1, 7, 7, 7)                            # p = 2 (output larger)
    # S = 1 and S = 30
    case(8, 8, 4, 4, 1, 1, 0, 1, 0, 1, 0, w16=True)                  # S = 1: saturation
    case(8, 8, 4, 4, 3, 1, 1, 1, 10, 20, 0, w16=True)                # S = 30
    # accumulators near and past 2^31 (wrap): x = 32767, w = 32767, 2 terms ~ 2^31 - 2^17
    xb = np.full((2, 2, 3), 32767, np.int16)
    wb = np.full((3, 2, 1, 1), 32767, np.int16)
    bb = np.array([0, (1 << 17) - 3, (1 << 17) + 100], np.int32)   # 2^31 - 2^17 + 2, 2^31 - 1, past
    case(2, 3, 2, 3, 1, 1, 0, 1, 0, [16, 16, 16], 1, w16=True, x=xb, w=wb, b=bb)
    xb = np.full((4, 3, 3), -32768, np.int16)
    xb[:, 1, 1] = 32767
    wb = np.full((2, 4, 1, 1), 32767, np.int16)
    wb[1] = -32768
    case(4, 2, 3, 3, 1, 1, 0, 1, 0, 15, 1, w16=True, x=xb, w=wb,
         b=np.array([-5, 7], np.int32))                              # |acc| ~ 2^32: wraps
    # boundary int8 weights and int16 inputs
    xb = rng.choice(np.array([-32768, -32767, -1, 0, 1, 32766, 32767], np.int16), (16, 5, 5))
    wb = rng.choice(np.array([-128, -127, -1, 0, 1, 127], np.int8), (16, 16, 3, 3))
    case(16, 16, 5, 5, 3, 1, 1, 1, 2, 6, 1, x=xb, w=wb)
    wb = rng.choice(np.array([-32768, 32767, -1, 1], np.int16), (8, 16, 3, 3))
    case(16, 8, 5, 5, 3, 1, 1, 1, 2, 6, 1, w16=True, x=xb, w=wb, b=np.zeros(8, np.int32))
    # large fan-in: 128 x 3x3
    case(128, 4, 3, 3, 3, 1, 1, 1, 7, 9, 4, 1)
    return cs


def eltwise_cases(rng):
    adds, resc, cats, acts = _Cases(), _Cases(), _Cases(), _Cases()
    edge = np.array([-32768, -32767, -16385, -3, -2, -1, 0, 1, 2, 3, 16384, 32767], np.int16)
    for da, db in [(0, 0), (-15, 30), (30, -15), (1, -1), (-1, 1), (5, 2), (-8, 0), (16, 16),
                   (2, -3)]:
        for act, k in [(0, 0), (1, 0), (2, 4)]:
            fo = 3
            a = rng.choice(edge, (3, 4, 5)) if (da + db) % 2 else _r16(rng, (3, 4, 5))
            b = _r16(rng, (3, 4, 5))
            out = op_add(a, fo + da, b, fo + db, fo, act, k)
            adds.add(params(ADD, act, k, fo=fo, out_channels=3), [(a, fo + da), (b, fo + db)],
                     (out, fo))
    for d in [-15, -8, -1, 0, 1, 2, 5, 16, 29, 30]:
        for act, k in [(0, 0), (2, 1)]:
            fo = -10 if d > 15 else 2
            x = np.concatenate([edge.reshape(1, 3, 4), _r16(rng, (2, 3, 4))], 0)
            out = op_rescale(x, fo + d, fo, act, k)
            resc.add(params(RESCALE, act, k, fo=fo, out_channels=3), [(x, fo + d)], (out, fo))
    xs = [_r16(rng, (c, 3, 5)) for c in (2, 5, 1)]
    cats.add(params(CONCAT, fo=6, out_channels=8), [(x, 6) for x in xs], (op_concat(xs), 6))
    xs = [_r16(rng, (3, 2, 2)) for _ in range(8)]
    cats.add(params(CONCAT, fo=-2, out_channels=24), [(x, -2) for x in xs], (op_concat(xs), -2))
    for act, k in [(1, 0), (2, 1), (2, 3), (2, 15)]:
        x = np.concatenate([edge.reshape(1, 3, 4), _r16(rng, (2, 3, 4))], 0)
        acts.add(params(ACT, act, k, fo=5, out_channels=3), [(x, 5)],
                 (apply_act(x, act, k).astype(np.int16), 5))
    return adds, resc, cats, acts


def qmul_cases(rng):
    cs = _Cases()
    for qp, fx, fq, fo, act, k in [(0, 8, 12, 4, 0, 0), (63, 7, 12, 9, 1, 0), (17, 0, 0, -1, 2, 2),
                                   (40, 15, 15, 0, 0, 0)]:
        x = _r16(rng, (5, 3, 4))
        t = _r16(rng, (64, 5))
        if qp == 40:       # boundary products
            x[0] = -32768
            t[qp] = [-32768, 32767, -1, 0, 1]
        out = op_qmul(x, fx, t, fq, qp, fo, act, k)
        cs.add(params(QMUL, act, k, fo=fo, out_channels=5, qp=qp), [(x, fx)], (out, fo),
               [("table", t, fq)])
    return cs


def layout_cases(rng):
    sh, us, cm, cg, pd, cr = _Cases(), _Cases(), _Cases(), _Cases(), _Cases(), _Cases()
    for r in (2, 4, 8):
        x = _r16(rng, (2 * r * r, 3, 2))
        sh.add(params(SHUFFLE, arg=r, fo=4, out_channels=2), [(x, 4)], (op_shuffle(x, r), 4))
        x = _r16(rng, (3, 2 * r, 3 * r))
        us.add(params(UNSHUFFLE, arg=r, fo=4, out_channels=3 * r * r), [(x, 4)],
               (op_unshuffle(x, r), 4))
    for p in (0, 1):
        for hw in ((5, 7), (4, 4), (1, 1)):
            x = _r16(rng, (2,) + hw)
            cm.add(params(CBMASK, arg=p, fo=3, out_channels=2), [(x, 3)], (op_cbmask(x, p), 3))
            y = _r16(rng, (2,) + hw)
            cg.add(params(CBMERGE, arg=p, fo=3, out_channels=2), [(x, 3), (y, 3)],
                   (op_cbmerge(x, y, p), 3))
    for m, hw in ((1, (3, 5)), (3, (5, 7)), (4, (3, 4)), (4, (1, 1)), (64, (2, 3)), (2, (4, 6))):
        x = _r16(rng, (2,) + hw)
        pd.add(params(PAD, arg=m, fo=1, out_channels=2), [(x, 1)], (op_pad(x, m), 1))
    for lvl, (w, h), hw in ((-1, (50, 38), (4, 5)), (-3, (64, 48), (2, 2)), (0, (50, 38), (6, 8)),
                            (-2, (17, 9), (3, 3)), (1, (8, 8), (5, 6))):
        x = _r16(rng, (2,) + hw)
        hl, wl = canonical_size(w, h, lvl)
        cr.add(params(CROP, arg=lvl, fo=0, out_channels=2, w=w, h=h), [(x, 0)],
               (op_crop(x, hl, wl), 0))
    return sh, us, cm, cg, pd, cr


def pack_cases(rng):
    pk, up = _Cases(), _Cases()
    for w, h in ((1, 1), (2, 2), (3, 5), (17, 9), (50, 38), (16, 16)):
        cw, ch = (w + 1) // 2, (h + 1) // 2
        Y = rng.integers(0, 256, (h, w)).astype(np.uint8)
        U = rng.integers(0, 256, (ch, cw)).astype(np.uint8)
        V = rng.integers(0, 256, (ch, cw)).astype(np.uint8)
        pk.add(params(OP_PACK, w=w, h=h), [(Y, 0), (U, 0), (V, 0)], (pack(Y, U, V), 7))
    for (w, h), f in (((1, 1), 7), ((17, 9), 0), ((50, 38), 22), ((16, 16), 9), ((3, 5), 3)):
        Wp, Hp = intsim.padded_size(w, h)
        R = _r16(rng, (96, Hp // 8, Wp // 8), -40000 >> 1, 20000)
        R[0, 0, 0], R[1, 0, 0] = -32768, 32767
        Y, U, V = unpack(R, f, w, h)
        up.add(params(OP_UNPACK, fo=f, w=w, h=h), [(R, f)],
               {"outY": (Y, 0), "outU": (U, 0), "outV": (V, 0)})
    return pk, up


def helper_cases(rng):
    """rshr(x, s) and align(x, d) on edge values; records x, s, out (all int32)."""
    cs = _Cases()
    xs = np.array([0, 1, -1, 2, -2, 3, -3, 5, -5, 6, -6, 7, -7, 2 ** 31 - 1, -2 ** 31, 2 ** 30,
                   -2 ** 30, 12345678, -12345678], np.int64)
    xs = np.concatenate([xs, rng.integers(-2 ** 31, 2 ** 31, 45)])
    ss = np.arange(0, 32)
    X, S = np.meshgrid(xs, ss, indexing="ij")
    out = rshr(X, S)
    cs.add(params(OP_HELPERS, arg=0), [(X.astype(np.int32), 0), (S.astype(np.int32), 0)],
           (out.astype(np.int32), 0))
    xs = np.array([-32768, -32767, -1, 0, 1, 3, 32767], np.int64)
    ds = np.arange(-15, 31)
    X, D = np.meshgrid(xs, ds, indexing="ij")
    out = np.stack([align(X[i, j], D[i, j]) for i in range(X.shape[0])
                    for j in range(X.shape[1])]).reshape(X.shape)
    cs.add(params(OP_HELPERS, arg=1), [(X.astype(np.int32), 0), (D.astype(np.int32), 0)],
           (out.astype(np.int32), 0))
    return cs


# --------------------------------------------------------------------------------------------
# per-frame

def synthetic_frame(w, h, t, seed=7):
    """Deterministic integer-only moving pattern: a smooth random texture panning (2, 1) px per
    frame, a bright square moving the other way, colour ramps."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, (h // 4 + 16, w // 4 + 24)).astype(np.int32)
    big = np.kron(big, np.ones((4, 4), np.int32))
    k = np.ones(5, np.int32)
    for ax in (0, 1):
        big = np.apply_along_axis(lambda v: np.convolve(v, k, "same"), ax, big) // 5
    Y = big[t:t + h, 2 * t:2 * t + w].copy()
    sx, sy = (w - 12 - 3 * t) % w, (5 + 2 * t) % h
    Y[sy:sy + 10, sx:sx + 10] = 235
    Y = np.clip(Y, 0, 255).astype(np.uint8)
    cw, ch = (w + 1) // 2, (h + 1) // 2
    yy, xx = np.mgrid[0:ch, 0:cw]
    U = ((xx * 160) // cw + 48 + t * 3).clip(0, 255).astype(np.uint8)
    V = ((yy * 160) // ch + 48 + (xx & 7) * 2).clip(0, 255).astype(np.uint8)
    return Y, U, V


SEQUENCE = [("I", 22, False), ("P", 22, False), ("P", 30, False), ("P", 30, True)]


def frame_records(model, w, h, seq=SEQUENCE):
    enc = intsim.Encoder(model)
    dec = intsim.Decoder(model)
    recs = []
    for i, (kind, qp, refresh) in enumerate(seq):
        pic = synthetic_frame(w, h, i)
        pkt, _ = enc.encode(pic, qp, kind, refresh)
        out = dec.decode(pkt)
        for a, b in zip(out, enc.recon):
            assert np.array_equal(a, b), "decoder output differs from the encoder reconstruction"
        p = f"f{i}."
        recs.append((p + "param", np.array([kind == "P", qp, refresh, w, h], np.int32), 0))
        for nm, plane in zip("YUV", pic):
            recs.append((p + "in" + nm, plane, 0))
        for name, (arr, f) in enc.trace.items():
            arr = np.asarray(arr)
            if arr.dtype == np.int64:
                arr = arr.astype(np.int32)
            recs.append((p + name, arr, f))
        recs.append((p + "packet", np.frombuffer(pkt, np.uint8), 0))
        for nm, plane in zip("YUV", out):
            recs.append((p + "out" + nm, plane, 0))
    return recs


def multislice_records(model, w=528, h=512):
    """A 2-slice stream (I, P at qp 63): packets, z symbols and MD5s of the decoded planes."""
    import hashlib
    enc = intsim.Encoder(model)
    dec = intsim.Decoder(model)
    recs = []
    for i, (kind, qp, refresh) in enumerate([("I", 63, False), ("P", 63, False)]):
        pkt, _ = enc.encode(synthetic_frame(w, h, i), qp, kind, refresh)
        out = dec.decode(pkt)
        for a, b in zip(out, enc.recon):
            assert np.array_equal(a, b)
        p = f"f{i}."
        recs.append((p + "param", np.array([kind == "P", qp, refresh, w, h], np.int32), 0))
        recs.append((p + "zq", enc.trace["zq"][0], 0))
        recs.append((p + "packet", np.frombuffer(pkt, np.uint8), 0))
        for nm, plane in zip("YUV", out):
            md5 = np.frombuffer(hashlib.md5(plane.tobytes()).digest(), np.uint8)
            recs.append((p + "md5" + nm, md5, 0))
    return recs


def generate(out_dir):
    os.makedirs(os.path.join(out_dir, "ops"), exist_ok=True)
    rng = np.random.default_rng(2024)
    files = {"conv": conv_cases(rng)}
    files["add"], files["rescale"], files["concat"], files["act"] = eltwise_cases(rng)
    files["qmul"] = qmul_cases(rng)
    (files["shuffle"], files["unshuffle"], files["cbmask"], files["cbmerge"], files["pad"],
     files["crop"]) = layout_cases(rng)
    files["pack"], files["unpack"] = pack_cases(rng)
    files["helpers"] = helper_cases(rng)
    for name, cs in files.items():
        write_lvgv(os.path.join(out_dir, "ops", name + ".lvgv"), cs.recs)
    model = lvcm.random_test_model(with_inter=True, seed=1)
    model.save(os.path.join(out_dir, "model_random.lvcm"))
    with open(os.path.join(out_dir, "model_random.id"), "w") as f:
        f.write(model.model_id_hex() + "\n")
    for w, h in ((64, 48), (50, 38)):
        write_lvgv(os.path.join(out_dir, f"frames_{w}x{h}.lvgv"), frame_records(model, w, h))
    write_lvgv(os.path.join(out_dir, "frames_528x512.lvgv"), multislice_records(model))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    a = ap.parse_args(argv)
    generate(a.out)
    total = 0
    for root, _, fs in os.walk(a.out):
        for f in fs:
            total += os.path.getsize(os.path.join(root, f))
    print(f"golden vectors written to {a.out} ({total} bytes)")


if __name__ == "__main__":
    main()
