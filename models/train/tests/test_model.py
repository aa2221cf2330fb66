import numpy as np
import torch

from train import macs
from train.model import NQP, build, checkerboard
from train.yuv import pack, rgb_to_yuv420, unpack


def _x(b, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 256, (b, h, w), generator=g, dtype=torch.uint8)
    u = torch.randint(0, 256, (b, h // 2, w // 2), generator=g, dtype=torch.uint8)
    v = torch.randint(0, 256, (b, h // 2, w // 2), generator=g, dtype=torch.uint8)
    return pack(y, u, v)


def test_pack_roundtrip_and_colour():
    x = _x(2, 32, 48)
    assert x.shape == (2, 96, 4, 6)
    y, u, v = unpack(x)
    assert torch.equal(pack(y * 128 + 128, u * 128 + 128, v * 128 + 128), x)
    white = np.full((2, 2, 3), 255, np.uint8)
    yy, uu, vv = rgb_to_yuv420(white)
    assert yy[0, 0] == 235 and uu[0, 0] == 128 and vv[0, 0] == 128


def test_shapes_intra_and_inter():
    torch.manual_seed(0)
    intra, inter = build("intra"), build("inter")
    for h, w in ((64, 64), (48, 80)):          # 48x80: latent 3x5, hyper path pads to 4x8
        x = _x(2, h, w)
        qp = torch.tensor([0, 63])
        o = intra(x, qp, train=True)
        assert o["x_hat"].shape == x.shape
        assert o["f"].shape == (2, 128, h // 8, w // 8)
        assert o["y_hat"].shape == (2, 128, h // 16, w // 16)
        assert o["bits"].shape == (2,) and torch.all(o["bits"] > 0)
        p = inter(x, qp, o["f"], o["y_hat"], train=False)
        assert p["x_hat"].shape == x.shape and p["f"].shape == o["f"].shape
        assert inter.refresh(p["x_hat"]).shape == o["f"].shape


def test_eval_mode_bits_finite():
    torch.manual_seed(0)
    m = build("intra").eval()
    with torch.no_grad():
        o = m(_x(1, 64, 64), torch.tensor([10]), train=False)
    assert torch.isfinite(o["bits"]).all()


def test_checkerboard():
    m = checkerboard(3, 4, "cpu")[0, 0]
    assert m.tolist() == [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]


def test_qtables_monotone_and_anchored():
    m = build("intra")
    enc, dec = m.q.enc.rows(), m.q.dec.rows()
    assert enc.shape == (NQP, 128)
    assert torch.all(enc[1:] <= enc[:-1]) and torch.all(dec[1:] >= dec[:-1])
    la = m.q.enc.log_anchors()
    for i, q in enumerate(m.q.enc.anchors):
        assert torch.allclose(m.q.enc.log_rows()[q], la[i])


def test_macs_under_budget():
    ci, cp = macs.count(build("intra"), 128, 128), macs.count(build("inter"), 128, 128)
    tot = macs.totals(ci, cp)
    for k, (v, budget) in tot.items():
        assert 0 < v <= budget, k
    assert tot["I decode"][0] <= 12500       # the first profile starts well below the budget
    assert set(ci) == {"analysis", "hyper_analysis", "hyper_synthesis", "prior_fusion",
                       "context_step", "synthesis", "recon_head"}
    assert set(cp) == set(ci) | {"temporal_prior", "context", "refresh"}
