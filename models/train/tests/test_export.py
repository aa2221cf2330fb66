"""Integer export (export.py, calibrate.py, qat.py) on a tiny random-init intra model.

The model keeps the profile's fixed widths but the fewest blocks; calibration uses the
generated pack of conftest (no ../shared/data).
"""
import math

import numpy as np
import pytest
import torch

from train import calibrate as cal
from train import export as ex
from train import intsim, lvcm, qat
from train.model import build

TINY = dict(a8=1, a16=1, s16=1, s8=1, hs_blocks=1, pf_blocks=1, cs_blocks=1, rh_blocks=1)


@pytest.fixture(scope="module")
def exported(tiny_pack, tmp_path_factory):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = build("intra", TINY).eval()
    out = str(tmp_path_factory.mktemp("exp") / "tiny.lvcm")
    M, info = ex.export("random-init", out, n_crops=12, crop=64, pack=tiny_pack, model=m,
                        measure_crops=6, check_crops=0, log=lambda s: None,
                        skip_cands=(0, 2), name="tiny")
    crops = cal.calibration_crops(12, 64, 1234, tiny_pack)
    return m, M, info, out, crops


def test_lvcm_round_trip_and_id(exported, tiny_pack):
    m, M, info, out, crops = exported
    back = lvcm.read(out)                      # strict reader: sections, checksum, validation
    assert back.model_id_hex() == info["model_id"] == M.model_id_hex()
    assert back.meta["name"] == "tiny"
    # the same network exported again under another META: the id must not change
    qps = cal.calibration_qps(len(crops))
    stats = ex.collect_stats(m, crops, qps)
    force, _, _ = ex.choose_forced(stats)
    M2, _ = ex.build_model(m, stats, force, info["int16"], info["skip_bins"],
                           meta={"name": "other", "description": "x", "training": "y"},
                           log=lambda s: None)
    assert M2.model_id() == back.model_id()
    assert M2.to_bytes() != back.to_bytes()    # the metadata did change the file


def test_intsim_decode_equals_encode(exported):
    m, M, info, out, crops = exported
    rng = np.random.default_rng(3)
    # an odd size exercises PACK's edge extension and the hyper path's PAD / CROP
    h, w = 38, 50
    Y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    U = rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8)
    V = rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8)
    for pic, qp in ((crops[0], 5), ((Y, U, V), 60)):
        enc = intsim.Encoder(lvcm.read(out))
        pkt, rec = enc.encode(pic, qp)
        dec = intsim.Decoder(lvcm.read(out))
        got = dec.decode(pkt)
        for a, b in zip(rec, got):
            assert np.array_equal(a, b)


def _rel_rms(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)) / max(np.sqrt(np.mean(b ** 2)), 1e-9))


def test_integer_close_to_float(exported):
    """Each integer graph against the float graph on the same (integer-exact) inputs.

    Tolerance: int8 weights carry 7 significant bits per output channel (relative rounding
    error <= 2^-8 per weight, ~0.2 % rms on a dot product of many terms), int16 activations with
    one bit of headroom lose nothing comparable; over the ~10-20 layers of a graph the errors add
    up to about 1 % (measured on this tiny model: 0.7 % for the analysis, 0.45 % for synthesis
    and recon head, qp 0/20/63).  We allow 2 % relative rms (3x the measurement), while a wrong
    exponent, shift or layout (errors of 50-100 %) fails.  The fake-quantised torch graph
    (what QAT trains) replays the integer arithmetic: measured 0.0 on the analysis; we allow
    0.2 % (its ADD rounds the sum once where the integer op rounds each aligned input).
    """
    m, M, info, out, crops = exported
    qp = 20
    c = crops[1]
    x = ex.to_x([c])
    xi = intsim.pack(*c)
    h, w = c[0].shape
    E = ex.TorchEmitter(m, torch.tensor([qp]))
    with torch.no_grad():
        y = E.graph("intra.analysis", x)["y"]
        E.hw = y.shape[-2:]
        yi, fy = intsim.run_graph(M, M.graph("intra.analysis"), {"x": xi}, qp, w, h)["y"]
        assert _rel_rms(yi * 2.0 ** -fy, y[0].numpy()) < 0.02
        # synthesis + recon head from the same integer latent
        fm = M.fm()
        yq = np.round(y[0].numpy() * 2 ** fm).astype(np.int16)
        fi, ff = intsim.run_graph(M, M.graph("intra.synthesis"), {"yhat": yq}, qp, w, h)["f"]
        f = E.graph("intra.synthesis", torch.from_numpy(yq[None] * 2.0 ** -fm).float())["f"]
        assert _rel_rms(fi * 2.0 ** -ff, f[0].numpy()) < 0.02
        ri, fr = intsim.run_graph(M, M.graph("intra.recon_head"), {"f": fi}, qp, w, h)["r"]
        r = E.graph("intra.recon_head", torch.from_numpy(fi[None] * 2.0 ** -ff).float())["r"]
        assert _rel_rms(ri * 2.0 ** -fr, r[0].numpy()) < 0.02
        # the fake-quantised torch model is what QAT trains: it tracks the integer model
        Ef = ex.TorchEmitter(m, torch.tensor([qp]), "fq", info["plan"])
        yf = Ef.graph("intra.analysis", x)["y"]
        assert _rel_rms(yi * 2.0 ** -fy, yf[0].numpy()) < 0.002


def test_qat_step_keeps_or_lowers_loss(exported):
    m0, M, info, out, crops = exported
    m = build("intra", TINY)
    m.load_state_dict(m0.state_dict())
    qps = cal.calibration_qps(len(crops))
    plan, ent, _ = qat.prepare(m, crops, qps, skip_bins=2)
    x = ex.to_x(crops[:4])
    qp = torch.tensor([3, 20, 40, 60])

    def loss():
        torch.manual_seed(7)
        with torch.no_grad():
            return float(qat.qat_loss(m, plan, ent, x, qp)[0].mean())

    before = loss()
    g = torch.Generator().manual_seed(1)
    hist = qat.qat_finetune(m, lambda: x, 6, plan, ent, lr=1e-4, log=None, gen=g)
    assert len(hist) == 6 and all(math.isfinite(v) for v in hist)
    after = loss()
    assert after <= before * 1.001, (before, after)


def test_inter_export_p_frames(tiny_pack, tmp_path):
    """Intra + inter export: P-frames (and a refresh) decode to the encoder's reconstruction."""
    torch.manual_seed(1)
    mi = build("intra", TINY).eval()
    mp = build("inter", TINY).eval()
    out = str(tmp_path / "tiny-inter.lvcm")
    M, info = ex.export("random-init", out, n_crops=4, crop=48, pack=tiny_pack, model=mi,
                        inter_model=mp, clip_pack=tiny_pack, n_clips=4, measure_crops=2,
                        check_crops=0, int16_candidates=(), skip_cands=(0,),
                        log=lambda s: None)
    back = lvcm.read(out)
    assert back.has_inter and back.model_id() == M.model_id()
    clip = cal.calibration_clips(1, 48, 5, tiny_pack)[0]
    st, res = ex.intsim_check(back, [], [], [clip], [30])   # I, P, P with refresh
    assert [r[0] for r in res] == ["I", "P", "P"]


def test_ops_outside_the_vocabulary_are_named():
    import torch.nn as nn
    m = build("intra", TINY)
    m.recon_head.out = nn.Conv2d(128, 96, 3, padding=1, padding_mode="reflect")
    with pytest.raises(ex.Unsupported, match="recon_head.out.*padding mode"):
        ex.check_vocabulary(m)
    m = build("intra", TINY)
    m.analysis.inp = nn.Sequential(nn.Conv2d(96, 128, 1), nn.GELU())
    with pytest.raises(ex.Unsupported, match="analysis.inp.1: GELU"):
        ex.check_vocabulary(m)
