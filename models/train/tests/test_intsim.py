"""Integer simulator (train/intsim.py) against naive per-element computations, and the codec
data flow: encode -> decode equality, determinism, damaged packets."""
import copy
import os

import numpy as np
import pytest

from train import intsim, lvcm, golden
from train.intsim import CodecError
from train.lvcm import ModelError
from train.rans import RansError

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "golden")


# ---- naive references (Python ints) --------------------------------------------------------

def n_rshr(x, s):
    return x if s == 0 else (x >> s) + ((x >> (s - 1)) & 1)


def n_sat(x):
    return max(-32768, min(32767, x))


def n_wrap(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def n_align(x, d):
    return n_rshr(x, d) if d >= 0 else n_wrap(x << -d)


def n_act(v, act, k):
    if act == 1:
        return max(v, 0)
    if act == 2:
        return v if v >= 0 else v >> k
    return v


def n_conv(x, w, b, fx, fw, fo, s, p, g, act, k_act):
    cin, H, W = x.shape
    cout, cig, k, _ = w.shape
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    out = np.zeros((cout, Ho, Wo), np.int64)
    for co in range(cout):
        gi = co // (cout // g)
        S = fx + int(fw[co]) - fo
        for ho in range(Ho):
            for wo in range(Wo):
                acc = int(b[co]) if b is not None else 0
                for ci in range(cig):
                    for i in range(k):
                        for j in range(k):
                            h, ww = ho * s + i - p, wo * s + j - p
                            if 0 <= h < H and 0 <= ww < W:
                                acc += int(w[co, ci, i, j]) * int(x[gi * cig + ci, h, ww])
                acc = n_wrap(acc)
                out[co, ho, wo] = n_act(n_sat(n_rshr(acc, S)), act, k_act)
    return out


# ---- helpers ---------------------------------------------------------------------------------

def test_rshr_ties():
    assert int(intsim.rshr(5, 1)) == 3
    assert int(intsim.rshr(-5, 1)) == -2
    assert int(intsim.rshr(-6, 2)) == -1
    assert int(intsim.rshr(7, 0)) == 7
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.integers(-2 ** 31, 2 ** 31, 200), [2 ** 31 - 1, -2 ** 31, -1, 1]])
    for s in range(32):
        got = intsim.rshr(xs, s)
        assert [int(v) for v in got] == [n_rshr(int(v), s) for v in xs]
        assert got.max() < 2 ** 31 and got.min() >= -2 ** 31


def test_wrap_sat_align():
    assert int(intsim.wrap32(2 ** 31)) == -2 ** 31
    assert int(intsim.wrap32(-2 ** 31 - 1)) == 2 ** 31 - 1
    assert int(intsim.sat16(40000)) == 32767 and int(intsim.sat16(-40000)) == -32768
    for x in (-32768, -3, 0, 5, 32767):
        for d in range(-15, 31):
            assert int(intsim.align(x, d)) == n_align(x, d)


# ---- ops -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cin,cout,H,W,k,s,p,g,w16", [
    (4, 3, 5, 6, 1, 1, 0, 1, False), (4, 4, 5, 5, 3, 1, 1, 4, False),
    (6, 4, 7, 5, 2, 2, 0, 2, True), (3, 2, 6, 7, 3, 2, 1, 1, False),
    (2, 2, 4, 4, 5, 1, 2, 1, True), (2, 4, 3, 3, 7, 2, 3, 2, False)])
def test_conv_vs_naive(cin, cout, H, W, k, s, p, g, w16):
    rng = np.random.default_rng(cin * 100 + k)
    x = rng.integers(-32768, 32768, (cin, H, W)).astype(np.int16)
    if w16:
        w = rng.integers(-32768, 32768, (cout, cin // g, k, k)).astype(np.int16)
    else:
        w = rng.integers(-128, 128, (cout, cin // g, k, k)).astype(np.int8)
    b = rng.integers(-2 ** 31, 2 ** 31, cout).astype(np.int32)
    fw = rng.integers(5, 12, cout)
    fx, fo = 3, 0
    for act, ka in ((0, 0), (2, 3)):
        got = intsim.op_conv(x, fx, w, fw, b, fo, s, p, g, act, ka)
        assert np.array_equal(got, n_conv(x, w, b, fx, fw, fo, s, p, g, act, ka))
    got = intsim.op_conv(x, fx, w, fw, None, fo, s, p, g)
    assert np.array_equal(got, n_conv(x, w, None, fx, fw, fo, s, p, g, 0, 0))


def test_conv_wraps_mod_2_32():
    x = np.full((4, 1, 1), 32767, np.int16)
    w = np.full((1, 4, 1, 1), 32767, np.int16)            # 4 * (2^30 - 2^16 + 1) > 2^31
    acc = 4 * 32767 * 32767
    got = intsim.op_conv(x, 0, w, [1], None, 0, 1, 0, 1)
    assert int(got[0, 0, 0]) == n_sat(n_rshr(n_wrap(acc), 1))
    assert n_wrap(acc) != acc


def test_eltwise_vs_naive():
    rng = np.random.default_rng(1)
    a = rng.integers(-32768, 32768, (2, 3, 4)).astype(np.int16)
    b = rng.integers(-32768, 32768, (2, 3, 4)).astype(np.int16)
    for da, db in ((0, 0), (-15, 30), (3, -2), (30, -15)):
        for act, k in ((0, 0), (1, 0), (2, 5)):
            got = intsim.op_add(a, 5 + da, b, 5 + db, 5, act, k)
            ref = [n_act(n_sat(n_align(int(u), da) + n_align(int(v), db)), act, k)
                   for u, v in zip(a.ravel(), b.ravel())]
            assert got.ravel().tolist() == ref
    for d in (-15, -1, 0, 1, 7, 30):
        got = intsim.op_rescale(a, d, 0, 2, 2)
        assert got.ravel().tolist() == [n_act(n_sat(n_align(int(u), d)), 2, 2)
                                        for u in a.ravel()]
    t = rng.integers(-32768, 32768, (64, 2)).astype(np.int16)
    for qp in (0, 33, 63):
        got = intsim.op_qmul(a, 4, t, 12, qp, 1, 1, 0)
        ref = [[[n_act(n_sat(n_rshr(int(a[c, i, j]) * int(t[qp, c]), 15)), 1, 0)
                 for j in range(4)] for i in range(3)] for c in range(2)]
        assert got.tolist() == ref
    for act, k in ((1, 0), (2, 1), (2, 15)):
        assert intsim.apply_act(a, act, k).ravel().tolist() == [n_act(int(v), act, k)
                                                               for v in a.ravel()]


def test_layout_ops_vs_naive():
    rng = np.random.default_rng(2)
    for r in (2, 4, 8):
        x = rng.integers(-99, 99, (2 * r * r, 3, 2)).astype(np.int16)
        y = intsim.op_shuffle(x, r)
        for c in range(2):
            for h in range(3):
                for w in range(2):
                    for i in range(r):
                        for j in range(r):
                            assert y[c, h * r + i, w * r + j] == x[c * r * r + i * r + j, h, w]
        assert np.array_equal(intsim.op_unshuffle(y, r), x)
    x = rng.integers(-99, 99, (2, 5, 7)).astype(np.int16)
    z = rng.integers(-99, 99, (2, 5, 7)).astype(np.int16)
    for par in (0, 1):
        m = intsim.op_cbmask(x, par)
        mm = intsim.op_cbmerge(x, z, par)
        for h in range(5):
            for w in range(7):
                on = ((h + w) & 1) == par
                assert (m[:, h, w] == (x[:, h, w] if on else 0)).all()
                assert (mm[:, h, w] == (x[:, h, w] if on else z[:, h, w])).all()
    for mlt in (1, 3, 4, 64):
        p = intsim.op_pad(x, mlt)
        assert p.shape[1] % mlt == 0 and p.shape[2] % mlt == 0
        assert p.shape[1] - 5 < mlt and p.shape[2] - 7 < mlt
        for h in range(p.shape[1]):
            for w in range(p.shape[2]):
                assert (p[:, h, w] == x[:, min(h, 4), min(w, 6)]).all()


def test_geometry():
    assert intsim.canonical_size(64, 48, 0) == (6, 8)
    assert intsim.canonical_size(64, 48, -1) == (3, 4)
    assert intsim.canonical_size(64, 48, -3) == (1, 1)
    assert intsim.canonical_size(50, 38, -1) == (3, 4)
    assert intsim.canonical_size(1, 1, 0) == (2, 2)
    assert intsim.canonical_size(640, 360, -3) == (6, 10)
    assert intsim.canonical_size(8, 8, 2) == (8, 8)
    assert intsim.n_slices(64, 48) == 1
    assert intsim.n_slices(528, 512) == 2
    assert intsim.n_slices(8192, 8192) == 64
    assert intsim.slice_rows(528, 512) == [(0, 16), (16, 32)]


def test_pack_unpack_vs_naive():
    rng = np.random.default_rng(3)
    for w, h in ((1, 1), (3, 5), (17, 9), (50, 38)):
        cw, ch = (w + 1) // 2, (h + 1) // 2
        Y = rng.integers(0, 256, (h, w)).astype(np.uint8)
        U = rng.integers(0, 256, (ch, cw)).astype(np.uint8)
        V = rng.integers(0, 256, (ch, cw)).astype(np.uint8)
        X = intsim.pack(Y, U, V)
        Wp, Hp = intsim.padded_size(w, h)
        assert X.shape == (96, Hp // 8, Wp // 8)
        for i in range(Hp // 8):
            for j in range(Wp // 8):
                for a in range(8):
                    for b in range(8):
                        assert X[8 * a + b, i, j] == int(Y[min(8 * i + a, h - 1),
                                                           min(8 * j + b, w - 1)]) - 128
                for a in range(4):
                    for b in range(4):
                        uu = (min(4 * i + a, ch - 1), min(4 * j + b, cw - 1))
                        assert X[64 + 4 * a + b, i, j] == int(U[uu]) - 128
                        assert X[80 + 4 * a + b, i, j] == int(V[uu]) - 128
        back = intsim.unpack(X, 7, w, h)
        assert all(np.array_equal(p, q) for p, q in zip(back, (Y, U, V)))
        R = rng.integers(-32768, 32768, X.shape).astype(np.int16)
        for f in (0, 9, 22):
            Yo, Uo, Vo = intsim.unpack(R, f, w, h)
            assert Yo.shape == (h, w) and Uo.shape == (ch, cw)
            for yy in range(h):
                for xx in range(w):
                    r = int(R[8 * (yy % 8) + xx % 8, yy // 8, xx // 8])
                    assert Yo[yy, xx] == max(0, min(255, n_align(r, f - 7) + 128))
            for yy in range(ch):
                for xx in range(cw):
                    r = int(R[80 + 4 * (yy % 4) + xx % 4, yy // 4, xx // 4])
                    assert Vo[yy, xx] == max(0, min(255, n_align(r, f - 7) + 128))


def test_scale_bins_and_symbols():
    thr = [-65536, 0, 65536]
    lam = np.array([-512, -257, -256, -1, 0, 255, 256, 10000])    # fs = 8
    assert intsim.scale_bins(lam, 8, thr).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    y = np.array([100, -100, 7, 8, -8])
    q = intsim.y_symbols(y, 4, np.array([0, 0, 0, 0, 0]), 4, 10)
    assert q.tolist() == [6, -6, 0, 1, 0]                 # 100/16 = 6.25; 8/16 rounds up
    q = intsim.y_symbols(y, 6, np.array([3, 0, 0, 0, 0]), 4, 5)
    assert q.tolist() == [n_rshr(n_rshr(100, 2) - 3, 4), -2, 0, 0, 0]
    assert intsim.y_symbols(y, 4, np.zeros(5, int), 4, 5).tolist() == [5, -5, 0, 1, 0]
    assert intsim.y_symbols(np.array([32767]), 0, np.array([0]), 4, 255).tolist() == [255]
    assert intsim.y_recon(np.array([32760]), np.array([5]), 4).tolist() == [32767]


def test_leb128():
    for v in (0, 1, 127, 128, 300, 2 ** 32 - 1):
        b = intsim.leb128(v)
        assert intsim.read_leb128(b, 0) == (v, len(b))
    for bad in (b"\x80\x00", b"\x80", b"\xff\xff\xff\xff\x7f", b"\x80\x80\x80\x80\x80\x01"):
        with pytest.raises(CodecError):
            intsim.read_leb128(bad, 0)


# ---- codec -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model():
    return lvcm.random_test_model(with_inter=True, seed=1)


SEQ = [("I", 20, False), ("P", 20, False), ("P", 35, False), ("P", 35, True), ("P", 10, False),
       ("I", 40, False), ("P", 40, False)]


def _encode_seq(model, w, h, seq=SEQ):
    enc = intsim.Encoder(model)
    pkts, recons, traces = [], [], []
    for i, (k, qp, rf) in enumerate(seq):
        pkts.append(enc.encode(golden.synthetic_frame(w, h, i), qp, k, rf)[0])
        recons.append(enc.recon)
        traces.append(enc.trace)
    return pkts, recons, traces


@pytest.fixture(scope="module")
def stream(model):
    return _encode_seq(model, 50, 38)


def test_encode_decode_equal(model, stream):
    pkts, recons, traces = stream
    dec = intsim.Decoder(model)
    for i, (p, r) in enumerate(zip(pkts, recons)):
        out = dec.decode(p)
        assert all(np.array_equal(a, b) for a, b in zip(out, r)), f"frame {i}"
        assert out[0].shape == (38, 50) and out[1].shape == (19, 25)
        for key in ("yhat", "inter.context.c", "intra.prior_fusion.mu", "inter.refresh.f"):
            if key in traces[i]:
                assert np.array_equal(dec.trace[key][0], traces[i][key][0])
    # header bits: SH before I-frames, qp only when it changes
    assert pkts[0][:3] == b"LVC" and pkts[5][:3] == b"LVC"
    assert pkts[1][0] == 0xC0                       # P, qp unchanged
    assert pkts[2][0] == 0xD0 and pkts[2][1] == 35  # P, qp changed
    assert pkts[3][0] == 0xE0                       # P with refresh
    assert pkts[0][44] == 0x90 and pkts[0][45] == 20


def test_decode_deterministic(model, stream):
    pkts = stream[0]
    outs = []
    for _ in range(2):
        dec = intsim.Decoder(model)
        outs.append([dec.decode(p) for p in pkts])
    for a, b in zip(*outs):
        assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_multi_slice(model):
    w, h = 24, 16 * 40                              # H1 = 40 rows, W1 = 2
    assert intsim.n_slices(w, h) == 1
    from unittest import mock
    with mock.patch.object(intsim, "n_slices", lambda w, h: 3):
        pkts, recons, _ = _encode_seq(model, w, h, SEQ[:3])
        assert intsim.slice_rows(w, h) == [(0, 13), (13, 26), (26, 40)]
        dec = intsim.Decoder(model)
        for p, r in zip(pkts, recons):
            assert all(np.array_equal(a, b) for a, b in zip(dec.decode(p), r))


def test_damaged_packets(model, stream):
    pkts = stream[0]
    dec = intsim.Decoder(model)
    dec.decode(pkts[0])
    with pytest.raises(ValueError):
        dec.decode(pkts[1][:-3])                    # truncated
    with pytest.raises(CodecError, match="P-frame"):
        dec.decode(pkts[1])                         # refused until the next I-frame
    dec.decode(pkts[0])
    bad = bytearray(pkts[1])
    bad[0] |= 0x01                                  # reserved header bits
    with pytest.raises(CodecError):
        dec.decode(bytes(bad))
    d2 = intsim.Decoder(model)
    with pytest.raises(CodecError):
        d2.decode(pkts[1])                          # P without I
    with pytest.raises(CodecError):
        d2.decode(pkts[0][44:])                     # I without sequence header
    with pytest.raises(CodecError):
        d2.decode(pkts[0][:30])                     # truncated sequence header
    bad = bytearray(pkts[0])
    bad[10] ^= 1                                    # other model id
    with pytest.raises(CodecError, match="model"):
        d2.decode(bytes(bad))
    with pytest.raises(CodecError):
        d2.decode(b"")
    d3 = intsim.Decoder(model)
    d3.decode(pkts[0])
    with pytest.raises(CodecError, match="sequence header"):
        d3.decode(pkts[0][:44] + pkts[1])          # P-frame with a sequence header
    bad = bytearray(pkts[0])
    bad[31] = 3                                     # range code 3 is invalid
    with pytest.raises(CodecError, match="range"):
        intsim.Decoder(model).decode(bytes(bad))
    for w, h in ((1, 1), (2, 2), (17, 3)):           # tiny and odd pictures
        e = intsim.Encoder(model)
        dd = intsim.Decoder(model)
        for i, k in enumerate("IP"):
            out = dd.decode(e.encode(golden.synthetic_frame(w, h, i), 30, k)[0])
            assert out[0].shape == (h, w)
            assert all(np.array_equal(a, b) for a, b in zip(out, e.recon))
    # corrupted payload bytes: most are detected (rANS end check / bounds)
    rng = np.random.default_rng(4)
    detected = 0
    for _ in range(12):
        bad = bytearray(pkts[0])
        i = int(rng.integers(46, len(bad)))
        bad[i] ^= 0xFF
        try:
            intsim.Decoder(model).decode(bytes(bad))
        except (CodecError, RansError):
            detected += 1
    assert detected >= 10


def test_stats_report(model):
    st = intsim.Stats()
    enc = intsim.Encoder(model, stats=st)
    enc.encode(golden.synthetic_frame(32, 32, 0), 10, "I")
    rep = st.report()
    assert "intra.analysis" in rep and "max|acc|/2^31" in rep


# ---- golden vectors, when present ------------------------------------------------------------

@pytest.mark.skipif(not os.path.isdir(GOLDEN_DIR), reason="no tests/golden")
def test_golden_dir_consistent():
    m = lvcm.read(os.path.join(GOLDEN_DIR, "model_random.lvcm"))
    with open(os.path.join(GOLDEN_DIR, "model_random.id")) as f:
        assert f.read().strip() == m.model_id_hex()
    for name in ("frames_50x38.lvgv",):
        recs = golden.read_lvgv(os.path.join(GOLDEN_DIR, name))
        dec = intsim.Decoder(m)
        i = 0
        while f"f{i}.packet" in recs:
            out = dec.decode(recs[f"f{i}.packet"][0].tobytes())
            for nm, plane in zip("YUV", out):
                assert np.array_equal(plane, recs[f"f{i}.out{nm}"][0])
            assert np.array_equal(dec.trace["yhat"][0], recs[f"f{i}.yhat"][0])
            i += 1
        assert i == 4
    recs = golden.read_lvgv(os.path.join(GOLDEN_DIR, "ops", "conv.lvgv"))
    i = 0
    while f"c{i}.param" in recs:
        p = recs[f"c{i}.param"][0]
        x, fx = recs[f"c{i}.in0"]
        b = recs[f"c{i}.b"][0] if f"c{i}.b" in recs else None
        got = intsim.op_conv(x, fx, recs[f"c{i}.w"][0], recs[f"c{i}.fw"][0], b, int(p[8]),
                             int(p[4]), int(p[5]), int(p[6]), int(p[1]), int(p[2]))
        assert np.array_equal(got, recs[f"c{i}.out"][0])
        i += 1
    assert i >= 10


def test_p_frame_z_tables(model):
    """A P-frame z set (FORMAT.md §3.6): I-frames unchanged, P-frames coded with the P set."""
    mp = copy.deepcopy(model)
    e = mp.entropy
    e.Rz_p, e.z_tables_p = e.Rz, [list(reversed(b)) for b in e.z_tables]
    back = lvcm.read_bytes(mp.to_bytes())
    assert back.entropy.z_tables_p == e.z_tables_p and back.entropy.Rz_p == e.Rz
    assert back.model_id() == mp.model_id() != model.model_id()
    a, ra, _ = _encode_seq(mp, 50, 38, SEQ[:3])
    b, _, _ = _encode_seq(model, 50, 38, SEQ[:3])
    assert a[0][44:] == b[0][44:]                   # the FU of the I-frame (SH names the id)
    assert a[1] != b[1] and a[2] != b[2]
    dec = intsim.Decoder(mp)
    for p, r in zip(a, ra):
        assert all(np.array_equal(u, v) for u, v in zip(dec.decode(p), r))
    intra = lvcm.random_test_model(with_inter=False, seed=4)
    intra.entropy.Rz_p, intra.entropy.z_tables_p = e.Rz, e.z_tables_p
    with pytest.raises(ModelError, match="intra-only"):
        lvcm.read_bytes(intra.to_bytes())
