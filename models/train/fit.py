"""Training loop for the intra and inter models (CPU, CUDA with bf16 autocast, torchrun).

Under torchrun (WORLD_SIZE > 1) every rank draws its own batches and the gradients are
averaged with one flat all-reduce per step (plain data parallelism; it also covers the
inter stage's truncated back-propagation, which calls backward several times per step).

Loss per sample: lambda(qp) * D + R, with
  D = (6*MSE_Y + MSE_U + MSE_V) / 8 in 8-bit units squared (samples 0..255), on native 4:2:0,
  R = bits of y and z per luma pixel, from additive uniform noise (rate) while the synthesis
      sees y_hat = mu + round(y - mu) with a straight-through gradient (mixed quantisation).
qp is drawn uniformly in 0..63 per sample; lambda(qp) is log-spaced from the model config's lmbda[0]
(qp 0, best quality; 0.08 by default) to lmbda[1] (qp 63; 0.001).
"""
import argparse
import copy
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

from . import ckpt
from .data import Batcher, load_pack, pan_clip
from .model import DEFAULT_INTRA, NQP, build
from .yuv import pack, psnr, yuv_distortion


def lam(qp, cfg=None):
    """lambda for a qp tensor (float tensor, same shape): log-linear from the model config's
    lmbda[0] at qp 0 to lmbda[1] at qp 63 (the default config's without one)."""
    l0, l63 = (cfg or DEFAULT_INTRA)["lmbda"]
    return l0 * (l63 / l0) ** (qp.float() / (NQP - 1))


def add_args(p):
    p.add_argument("--stage", choices=["intra", "inter"], default="intra")
    p.add_argument("--pack", required=True, help="training pack (.npz or dir), see `pack`")
    p.add_argument("--out", required=True, help="run directory (checkpoints, log)")
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    p.add_argument("--minutes", type=float, default=0, help="stop after this much wall time")
    p.add_argument("--schedule-minutes", type=float, default=0,
                   help="length of the wall-time LR schedule, cumulative over resumes "
                        "(default: --minutes; 0 and no --minutes: step-based on --steps)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--lr-min-frac", type=float, default=0.05)
    p.add_argument("--decay-start", type=float, default=0.7,
                   help="fraction of the schedule after which the LR decays (cosine)")
    p.add_argument("--warmup", type=int, default=300, help="warm-up steps of a fresh run only")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: os.cpu_count())")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bf16", action="store_true",
                   help="bf16 autocast on the CPU too, as on CUDA (with AVX512-BF16: 1.2x the "
                        "2-thread float32 step rate; with --threads 1 it also avoids torch's "
                        "slow float32 path for 1x1 convolutions, about 10x)")
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--model-cfg", default="{}",
                   help="JSON overrides of the model config (on resume too: e.g. "
                        "'{\"lmbda\": [0.5, 0.002]}' changes the lambda range of a run)")
    p.add_argument("--fresh", action="store_true", help="ignore checkpoints in --out")
    # inter stage
    p.add_argument("--intra-ckpt", help="intra checkpoint (run dir or .pt) for --stage inter")
    p.add_argument("--frames", default="2:3-5", help="P curriculum: frames in phase 1 : phase 2")
    p.add_argument("--phase1", type=float, default=0.3, help="fraction of the schedule in phase 1")
    p.add_argument("--crop1", type=int, default=96, help="crop size in phase 1")
    p.add_argument("--tbptt", type=int, default=2, help="frames per truncated back-prop window")
    p.add_argument("--f-noise", type=float, default=0.05,
                   help="std of the noise added to F_{t-1}, relative to its std")
    p.add_argument("--p-refresh", type=float, default=0.15,
                   help="probability that a P-frame's F is replaced by refresh(decoded)")
    p.add_argument("--p-static", type=float, default=0.0,
                   help="probability that a clip is replaced by its first frame repeated (a "
                        "motionless scene: teaches the P-frame to take what the reference holds)")
    p.add_argument("--p-pan", type=float, default=0.0,
                   help="probability that a clip is replaced by a global pan over its first frame "
                        "(a constant integer velocity of at most --pan-max luma samples per "
                        "frame and axis: teaches the context to follow small motion)")
    p.add_argument("--pan-max", type=int, default=4, help="largest pan velocity of --p-pan")
    return p


class Trainer:
    def __init__(self, a, log=print):
        self.a, self.log = a, log
        self.ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1
        self.rank = 0
        if a.device == "auto":
            a.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.ddp:
            dist.init_process_group("nccl" if a.device == "cuda" else "gloo")
            self.rank = dist.get_rank()
            if a.device == "cuda":
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        self.dev = torch.device(a.device if a.device != "cuda" else
                                "cuda:%d" % torch.cuda.current_device())
        if self.dev.type == "cpu":
            torch.set_num_threads(a.threads or os.cpu_count())
        else:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(a.seed + 1000 * self.rank)
        random.seed(a.seed)
        np.random.seed(a.seed)
        cfg = json.loads(a.model_cfg)
        self.intra = None
        if a.stage == "inter":
            if not a.intra_ckpt:
                raise SystemExit("--stage inter needs --intra-ckpt")
            kind, icfg, w = ckpt.ema_weights(a.intra_ckpt)
            self.intra = build("intra", icfg)
            self.intra.load_state_dict(w)
            self.intra.to(self.dev).eval().requires_grad_(False)
            cfg.setdefault("lmbda", self.intra.cfg["lmbda"])   # the I-frames' trade-off
        self.model = build(a.stage, cfg).to(self.dev)
        if self.intra is not None:
            self._init_from_intra(w)
        self.ema = copy.deepcopy(self.model).requires_grad_(False)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=a.lr)
        self.pack = load_pack(a.pack, self.dev)
        self.batcher = Batcher(self.pack, a.seed + 7919 * self.rank)
        self.step = 0
        self.train_seconds = 0.0
        os.makedirs(a.out, exist_ok=True)
        last = None if a.fresh else ckpt.latest_checkpoint(a.out)
        if last:
            self.resume(last)
        if self.ddp and self.rank > 0:   # each rank draws its own batches
            self.batcher.g.manual_seed(a.seed + 7919 * self.rank + self.step)

    # -- state ----------------------------------------------------------------------------
    def _init_from_intra(self, w):
        """Start the inter model as the intra model that ignores its temporal inputs.

        Tensors of equal shape are copied; convolutions that take extra (temporal) input
        channels get the intra weights for the leading channels and zeros for the rest; the
        synthesis' merge of up(y_hat) and c_t starts as the identity on up(y_hat).
        """
        own = self.model.state_dict()
        n = 0
        for k, v in w.items():
            if k not in own:
                continue
            o = own[k]
            if o.shape == v.shape:
                o.copy_(v)
                n += 1
            elif o.dim() == 4 and o.shape[0] == v.shape[0] and o.shape[1] > v.shape[1] and \
                    o.shape[2:] == v.shape[2:]:
                o.zero_()
                o[:, :v.shape[1]].copy_(v)
                n += 1
        mix = self.model.synthesis.mix
        with torch.no_grad():
            mix.weight.zero_()
            mix.bias.zero_()
            c = mix.weight.shape[0]
            mix.weight[:, :c, 0, 0].copy_(torch.eye(c))
        self.log("inter: %d tensors initialised from the intra model" % n)

    def model_state(self):
        s = dict(kind=self.a.stage, cfg=self.model.cfg, step=self.step,
                 train_seconds=self.train_seconds, model=self.model.state_dict(),
                 ema=self.ema.state_dict(), batcher=self.batcher.state_dict(),
                 torch_rng=torch.get_rng_state(), np_rng=np.random.get_state(),
                 py_rng=random.getstate(), args=vars(self.a))
        if self.dev.type == "cuda":
            s["cuda_rng"] = torch.cuda.get_rng_state(self.dev)
        return s

    def save(self):
        if self.rank == 0:
            d = ckpt.save_checkpoint(self.a.out, self.step, self.model_state(),
                                     self.opt.state_dict())
            self.log("checkpoint %s" % d)

    def resume(self, d):
        s = ckpt.load_split(os.path.join(d, "model.pt"))
        self.model.load_state_dict(s["model"])
        self.ema.load_state_dict(s["ema"])
        self.opt.load_state_dict(ckpt.load_split(os.path.join(d, "optim.pt"),
                                                 map_location=self.dev))
        self.batcher.load_state_dict(s["batcher"])
        self.step, self.train_seconds = s["step"], s["train_seconds"]
        torch.set_rng_state(s["torch_rng"])
        np.random.set_state(s["np_rng"])
        random.setstate(s["py_rng"])
        if self.dev.type == "cuda" and "cuda_rng" in s:
            torch.cuda.set_rng_state(s["cuda_rng"], self.dev)
        self.log("resumed %s at step %d (%.1f min trained)" % (d, self.step,
                                                                self.train_seconds / 60))

    # -- schedule -------------------------------------------------------------------------
    def progress(self):
        a = self.a
        total = a.schedule_minutes or a.minutes
        if total:
            return self.train_seconds / (60 * total)
        return self.step / a.steps if a.steps else 0.0

    def lr_now(self):
        a = self.a
        warm = min(1.0, (self.step + 1) / a.warmup) if a.warmup else 1.0
        p = self.progress()
        if p <= a.decay_start:
            f = 1.0
        else:
            q = min(1.0, (p - a.decay_start) / max(1e-9, 1 - a.decay_start))
            f = a.lr_min_frac + (1 - a.lr_min_frac) * 0.5 * (1 + math.cos(math.pi * q))
        return a.lr * warm * f

    # -- steps ----------------------------------------------------------------------------
    def autocast(self):
        if self.dev.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.a.bf16)

    def _qp(self, b):
        return torch.randint(0, NQP, (b,), generator=self.batcher.g).to(self.dev)

    def _loss(self, out, x, qp):
        d = yuv_distortion(out["x_hat"].float(), x)
        bpp = out["bits"].float() / (x.shape[2] * x.shape[3] * 64)
        return lam(qp, self.model.cfg) * d + bpp, d, bpp

    def step_intra(self):
        a = self.a
        y, u, v = self.batcher.intra(a.batch, a.crop)
        x = pack(y, u, v)
        qp = self._qp(a.batch)
        with self.autocast():
            out = self.model(x, qp, train=True)
        loss, d, bpp = self._loss(out, x, qp)
        loss.mean().backward()
        return loss.mean().item(), d, bpp

    def step_inter(self):
        a = self.a
        ph1, ph2 = a.frames.split(":")
        spec = ph1 if self.progress() < a.phase1 else ph2
        lo, hi = (int(t) for t in (spec.split("-") if "-" in spec else (spec, spec)))
        t = lo + int(torch.randint(0, hi - lo + 1, (1,), generator=self.batcher.g))
        crop = a.crop1 if self.progress() < a.phase1 else a.crop
        y, u, v = self.batcher.clip(a.batch, t, crop)
        if a.p_static:
            still = torch.rand(a.batch, generator=self.batcher.g) < a.p_static
            for c in (y, u, v):
                c[still] = c[still][:, :1].expand_as(c[still])
        if a.p_pan:
            pan = torch.rand(a.batch, generator=self.batcher.g) < a.p_pan
            vel = torch.randint(-a.pan_max, a.pan_max + 1, (a.batch, 2),
                                generator=self.batcher.g)
            for b in pan.nonzero().flatten().tolist():
                y[b], u[b], v[b] = pan_clip(y[b, 0], u[b, 0], v[b, 0], t,
                                            int(vel[b, 0]), int(vel[b, 1]))
        qp = self._qp(a.batch)
        xs = [pack(y[:, i], u[:, i], v[:, i]) for i in range(t)]
        with torch.no_grad(), self.autocast():
            o = self.intra(xs[0], qp, train=False)
        f, yp = o["f"].float(), o["y_hat"].float()
        w = torch.arange(1, t, dtype=torch.float32)
        w = w / w.sum()                                   # later frames weigh more
        acc, total, ds, bs = 0.0, 0.0, [], []
        for i in range(1, t):
            if a.f_noise:
                f = f + a.f_noise * f.detach().std() * torch.randn_like(f)
            with self.autocast():
                out = self.model(xs[i], qp, f, yp, train=True)
            loss, d, bpp = self._loss(out, xs[i], qp)
            acc = acc + w[i - 1] * loss.mean()
            ds.append(d), bs.append(bpp)
            f, yp = out["f"].float(), out["y_hat"].float()
            if float(torch.rand(1, generator=self.batcher.g)) < a.p_refresh:
                with self.autocast():
                    f = self.model.refresh(out["x_hat"]).float()
            if i % a.tbptt == 0 or i == t - 1:
                acc.backward()
                total += float(acc)
                acc = 0.0
                f, yp = f.detach(), yp.detach()
        return total, torch.stack(ds).mean(0), torch.stack(bs).mean(0)

    def train_step(self):
        for g in self.opt.param_groups:
            g["lr"] = self.lr_now()
        self.opt.zero_grad(set_to_none=True)
        self.model.train()
        res = self.step_intra() if self.a.stage == "intra" else self.step_inter()
        if self.ddp:
            self.allreduce_grads()
        if self.a.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.a.clip)
        self.opt.step()
        self.step += 1
        decay = min(self.a.ema, (1 + self.step) / (10 + self.step))
        with torch.no_grad():
            for e, p in zip(self.ema.parameters(), self.model.parameters()):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        return res

    def allreduce_grads(self):
        """Data parallelism: average the gradients of all ranks (one flat all-reduce)."""
        ps = list(self.model.parameters())
        for p in ps:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.flatten() for p in ps])
        dist.all_reduce(flat)
        flat /= dist.get_world_size()
        i = 0
        for p in ps:
            n = p.numel()
            p.grad.copy_(flat[i:i + n].view_as(p))
            i += n

    def broadcast_weights(self):
        """Start every rank from rank 0's model and EMA (after resume or --init)."""
        with torch.no_grad():
            for t in list(self.model.state_dict().values()) + list(self.ema.state_dict().values()):
                dist.broadcast(t, 0)

    def run(self):
        a = self.a
        if self.ddp:
            self.broadcast_weights()
        t_start = time.time()
        last_ck = time.time()
        hist = []
        t_log = time.time()
        n_log = 0
        while True:
            if a.steps and self.step >= a.steps:
                break
            if a.minutes and time.time() - t_start >= a.minutes * 60:
                break
            t0 = time.time()
            loss, d, bpp = self.train_step()
            self.train_seconds += time.time() - t0
            hist.append((loss, float(d.mean()), float(bpp.mean()),
                         float(np.mean(psnr(d.detach().cpu().numpy())))))
            n_log += 1
            if self.rank == 0 and (self.step % a.log_every == 0 or self.step == 1):
                h = np.array(hist)
                sps = n_log / max(1e-9, time.time() - t_log)
                self.log("step %d loss %.4f bpp %.4f psnr %.2f lr %.2e %.2f steps/s "
                         "trained %.1f min" % (self.step, h[:, 0].mean(), h[:, 2].mean(),
                                               h[:, 3].mean(), self.lr_now(), sps,
                                               self.train_seconds / 60))
                hist, n_log, t_log = [], 0, time.time()
            if time.time() - last_ck >= a.ckpt_minutes * 60:
                self.save()
                last_ck = time.time()
        self.save()
        if self.ddp:
            dist.destroy_process_group()


def main(argv=None):
    p = add_args(argparse.ArgumentParser(prog="train fit"))
    a = p.parse_args(argv)

    def log(s):
        print(time.strftime("%H:%M:%S ") + s, flush=True)

    Trainer(a, log).run()


if __name__ == "__main__":
    main(sys.argv[1:])
