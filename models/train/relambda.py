"""`python3 -m train relambda --ckpt IN --lmbda L0,L63 --out OUT.pt`: move a model to another
lambda range.

lambda(qp) is log-linear from lmbda[0] (qp 0) to lmbda[1] (qp 63) (fit.lam).  Fine-tuning a
model under a new range with its old q tables would make every qp start at the wrong
quantisation and the tables move slowly, so this tool rewrites each q table (q_enc, q_dec,
q_recon, q_feature): the new anchor at qp a takes the old table's log-multiplier at the old qp
whose lambda equals lambda_new(a), interpolated between the 64 rows and extrapolated linearly
beyond qp 0 and 63 from the end anchors' slopes.  Qps inside the old range keep their old
quantisation; the rest continue its trend.  The EMA weights are written with the new config
(a .pt like export_pt's) for `gpu_window --init` or the exporter.
"""
import argparse
import math

import torch

from . import ckpt
from .model import NQP, QTable, build


def old_position(qp, old, new):
    """The (fractional, possibly outside 0..63) old qp whose lambda is lambda_new(qp)."""
    l_new = new[0] * (new[1] / new[0]) ** (qp / (NQP - 1))
    return (NQP - 1) * math.log(l_new / old[0]) / math.log(old[1] / old[0])


def _sample(rows, anchors, s):
    """Log-multiplier rows [64, C] read at fractional qp s (linear; beyond the ends along the
    first / last anchor segment)."""
    if s <= 0:
        a0, a1 = anchors[0], anchors[1]
        return rows[a0] + (rows[a1] - rows[a0]) * (s - a0) / (a1 - a0)
    if s >= NQP - 1:
        a0, a1 = anchors[-2], anchors[-1]
        return rows[a1] + (rows[a1] - rows[a0]) * (s - a1) / (a1 - a0)
    i = int(math.floor(s))
    t = s - i
    return rows[i] * (1 - t) + rows[min(i + 1, NQP - 1)] * t


@torch.no_grad()
def remap_table(t, old, new):
    """Rewrite QTable t in place for the lambda range `new` (was `old`)."""
    rows = t.log_rows().detach().double()
    vals = torch.stack([_sample(rows, t.anchors, old_position(a, old, new)) for a in t.anchors])
    if t.monotone is None:
        t.log_anchor.copy_(vals.to(t.log_anchor.dtype))
        return
    sign = -1.0 if t.monotone == "dec" else 1.0
    gaps = (sign * (vals[1:] - vals[:-1])).clamp_min(1e-4)
    t.first.copy_(vals[0].to(t.first.dtype))
    t.raw_gap.copy_(torch.log(torch.expm1(gaps)).to(t.raw_gap.dtype))


def relambda(model, new):
    """Move model (intra or inter) to lambda range `new`; updates model.cfg."""
    old = tuple(model.cfg["lmbda"])
    for m in model.modules():
        if isinstance(m, QTable):
            remap_table(m, old, tuple(new))
    model.cfg["lmbda"] = tuple(new)
    return model


def main(argv=None):
    p = argparse.ArgumentParser(prog="train relambda", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True, help="run dir, checkpoint dir or .pt")
    p.add_argument("--lmbda", required=True, help="new lambda at qp 0 and qp 63: L0,L63")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    new = tuple(float(v) for v in a.lmbda.split(","))
    if len(new) != 2 or not new[0] > new[1] > 0:
        raise SystemExit("--lmbda: two numbers L0 > L63 > 0")
    s = ckpt.load_model_state(a.ckpt)
    kind = s["kind"]
    m = build(kind, s["cfg"])
    m.load_state_dict({k: v.float() for k, v in s.get("ema", s.get("model")).items()})
    old = tuple(m.cfg["lmbda"])
    relambda(m, new)
    torch.save(dict(kind=kind, cfg=m.cfg, step=s.get("step"),
                    train_seconds=s.get("train_seconds"), ema=m.state_dict()), a.out)
    print("wrote %s: %s lambda %g..%g -> %g..%g" % (a.out, kind, old[0], old[1], new[0], new[1]))


if __name__ == "__main__":
    main()
