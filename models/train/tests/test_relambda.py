import torch

from train.model import NQP, build
from train.relambda import _sample, old_position, relambda


def _tables(m):
    return {n: t.log_rows().detach().clone() for n, t in
            (("enc", m.q.enc), ("dec", m.q.dec), ("recon", m.q.recon), ("feature", m.q.feature))}


def test_relambda_keeps_the_quantisation_of_each_lambda():
    torch.manual_seed(0)
    m = build("inter")
    with torch.no_grad():       # make the tables non-trivial (monotone ones stay monotone)
        for t in (m.q.enc, m.q.dec):
            t.first.add_(torch.randn_like(t.first) * 0.3)
            t.raw_gap.add_(torch.randn_like(t.raw_gap) * 0.5)
        m.q.recon.log_anchor.add_(torch.randn_like(m.q.recon.log_anchor) * 0.2)
    before = _tables(m)
    same = relambda(build("inter"), (0.08, 0.001))
    same.load_state_dict(m.state_dict())
    relambda(same, (0.08, 0.001))
    for k, v in _tables(same).items():
        assert torch.allclose(v, before[k], atol=1e-5), k

    new = (2.5, 0.0017)
    relambda(m, new)
    assert tuple(m.cfg["lmbda"]) == new
    after = _tables(m)
    for k, v in after.items():
        for a in m.q.enc.anchors:        # each new anchor: the old table at the same lambda
            want = _sample(before[k].double(), m.q.enc.anchors, old_position(a, (0.08, 0.001), new))
            assert torch.allclose(v[a].double(), want, atol=1e-4), (k, a)
    # q_enc stays non-increasing and q_dec non-decreasing in qp, and the finer end gets finer
    assert (after["enc"][1:] <= after["enc"][:-1] + 1e-6).all()
    assert (after["dec"][1:] >= after["dec"][:-1] - 1e-6).all()
    assert (after["enc"][0] > before["enc"][0]).all()
    # a qp inside the old range keeps its old multipliers (qp 63 here: 0.0017 is lambda_old(~55))
    s = old_position(NQP - 1, (0.08, 0.001), new)
    assert 50 < s < 60
