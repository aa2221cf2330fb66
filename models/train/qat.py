"""Quantisation-aware fine-tuning (DESIGN.md §3.3, §7): a few steps at the end of a run with
the network running in the exporter's fake-quantised mode.

* weights: per-output-channel power-of-two quantisation (int8, or int16 where the plan says),
  re-derived from the current weights every step under the same shift rules as the export;
* activations: int16 at the calibrated per-tensor exponents (round half up, saturate), the
  integer LeakyReLU (floor of v / 2^k for negative v);
* biases at the accumulator exponent, q tables at their exponents;
* entropy model: log-sigma snapped to the representative sigma of its scale bin and the skip
  mask (elements in a bin below skip_bins take y_hat = mu and cost no bits);
all with straight-through gradients.  Activation exponents are calibrated once, at the start.

    cd models
    /usr/bin/python3 -m train.qat --ckpt train/runs/intra-s1 --out intra-s1-qat.pt --steps 200

Trainers call `qat_finetune(model, sample, steps, ...)` with their own batch source.
"""
import argparse
import time

import numpy as np
import torch

from . import calibrate as cal
from . import export as ex
from .fit import lam
from .model import NQP
from .yuv import yuv_distortion


def prepare(model, crops, qps, skip_bins=None, log=print, measure=16):
    """Calibrate on the crops and return (plan, EntropyFQ, info) for the fq mode."""
    stats = ex.collect_stats(model, crops, qps)
    force, fm, fs = ex.choose_forced(stats)
    zt = {"intra": ex.z_tables(model.z_prior)}
    M, plan = ex.build_model(model, stats, force, (), 0, log=lambda s: None, ztabs=zt)
    if skip_bins is None:
        sel = np.linspace(0, len(crops) - 1, min(measure, len(crops))).round().astype(int)
        skip_bins, _ = ex.choose_skip(model, M, plan, [crops[i] for i in sel],
                                      [qps[i] for i in sel], log=lambda s: None)
    e = M.entropy
    ent = ex.EntropyFQ(e.thresholds, ex.bin_sigmas(e.thresholds), skip_bins)
    return plan, ent, dict(fm=fm, fs=fs, skip_bins=skip_bins)


def qat_loss(model, plan, ent, x, qp):
    E = ex.TorchEmitter(model, qp, "fq", plan)
    out = ex.codec_forward(E, model, x, qp, train=True, ent=ent)
    d = yuv_distortion(out["x_hat"].float(), x)
    bpp = out["bits"].float() / (x.shape[2] * x.shape[3] * 64)
    return lam(qp, model.cfg) * d + bpp, d, bpp


def qat_finetune(model, sample, steps, plan, ent, lr=1e-5, clip=1.0, log=print,
                 log_every=20, gen=None):
    """Fine-tune `model` in place for `steps` steps.

    sample(): a packed batch x [B, 96, h, w] (float, as yuv.pack); qp is drawn uniformly.
    Returns the list of per-step losses.
    """
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist = []
    t0 = time.time()
    for step in range(1, steps + 1):
        x = sample()
        qp = torch.randint(0, NQP, (x.shape[0],), generator=gen)
        loss, d, bpp = qat_loss(model, plan, ent, x, qp)
        opt.zero_grad(set_to_none=True)
        loss.mean().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        hist.append(float(loss.mean()))
        if log and (step % log_every == 0 or step == 1):
            log("qat step %d loss %.4f (mean of last %d: %.4f) bpp %.4f %.1f s" % (
                step, hist[-1], min(log_every, len(hist)), np.mean(hist[-log_every:]),
                float(bpp.mean()), time.time() - t0))
    model.eval()
    return hist


@torch.no_grad()
def fq_cost(model, plan, ent, crops, qps):
    return ex.rd_cost(model, plan, crops, qps, ent)


def main(argv=None):
    p = argparse.ArgumentParser(prog="train.qat")
    p.add_argument("--ckpt", required=True, help="run dir, checkpoint dir or .pt (EMA weights)")
    p.add_argument("--out", required=True, help=".pt with the fine-tuned weights (as export_pt)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--pack", help="training pack (default packs/cpu_intra.npz)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--calib-crops", type=int, default=200)
    p.add_argument("--eval-crops", type=int, default=48, help="held-out crops for before/after")
    p.add_argument("--skip-bins", type=int, default=None, help="default: measured")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=5)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    from . import ckpt
    from .evaluate import load_model
    model, st = load_model(a.ckpt)
    crops = cal.calibration_crops(a.calib_crops, a.crop, 1234, a.pack)
    qps = cal.calibration_qps(len(crops))
    plan, ent, info = prepare(model, crops, qps, a.skip_bins)
    print("calibrated: fm %d fs %d skip_bins %d" % (info["fm"], info["fs"], info["skip_bins"]))
    ev = cal.calibration_crops(a.eval_crops, a.crop, 4321, a.pack)   # other crops, same source
    evq = cal.calibration_qps(len(ev))
    before = fq_cost(model, plan, ent, ev, evq)
    print("before: fq J %.4f bpp %.4f PSNR %.2f" % (before["J"], before["bpp"], before["psnr"]))
    rng = np.random.default_rng(a.seed)
    pool = cal.calibration_crops(max(256, a.batch * 16), a.crop, 999, a.pack)

    def sample():
        idx = rng.choice(len(pool), a.batch, replace=False)
        return ex.to_x([pool[i] for i in idx])

    qat_finetune(model, sample, a.steps, plan, ent, a.lr)
    after = fq_cost(model, plan, ent, ev, evq)
    print("after:  fq J %.4f bpp %.4f PSNR %.2f" % (after["J"], after["bpp"], after["psnr"]))
    w = {k: v.detach().clone() for k, v in model.state_dict().items()}
    s = ckpt.load_model_state(a.ckpt)
    torch.save(dict(kind=s["kind"], cfg=s["cfg"], step=s.get("step"),
                    train_seconds=s.get("train_seconds"), ema=w,
                    qat=dict(steps=a.steps, lr=a.lr, skip_bins=info["skip_bins"],
                             before=before, after=after)), a.out)
    print("wrote %s" % a.out)


if __name__ == "__main__":
    main()
