"""Short GPU training windows.

  python3 -m train gpu_window --pack PACK --out DIR --minutes N [--stage intra|inter]

The pack is preloaded to GPU memory as uint8 and cropped there; the networks run under bf16
autocast with big batches.  The run resumes the latest checkpoint in DIR (model, EMA,
optimizer, step, RNG states and the schedule clock), so a resumed window does not warm up
again; the learning rate follows a wall-time schedule over --total-minutes of GPU time summed
over all windows.  A checkpoint is written every 2 minutes and at the end, as files of at most
16 MiB (weights + EMA in model.pt.NNN, optimizer in optim.pt.NNN).  --init starts a fresh DIR
from the weights of another run (e.g. a CPU-trained one).  --dry-run does 2 CPU steps.
Multi-GPU: torchrun --nproc_per_node=K -m train gpu_window ... (DDP).
"""
import argparse
import os
import time

import torch

from . import ckpt
from .fit import Trainer, add_args


def main(argv=None):
    p = argparse.ArgumentParser(prog="train gpu_window")
    p.add_argument("--total-minutes", type=float, default=0,
                   help="length of the LR schedule over all windows (default: --minutes)")
    p.add_argument("--init", help="start from these weights (checkpoint/run dir or .pt) when "
                                  "DIR has no checkpoint")
    p.add_argument("--dry-run", action="store_true", help="2 CPU steps with a small batch")
    add_args(p)
    p.set_defaults(batch=32, crop=192, ckpt_minutes=2.0, lr=4e-4, warmup=500, log_every=50,
                   device="cuda")
    a = p.parse_args(argv)
    a.schedule_minutes = a.total_minutes or a.minutes
    if a.dry_run:
        a.device, a.steps, a.batch, a.minutes = "cpu", 2, 2, 0
        a.crop, a.crop1, a.threads, a.log_every = 64, 64, 2, 1
        a.schedule_minutes = 0
        if a.stage == "inter":
            a.frames = "2:3"

    def log(s):
        if int(os.environ.get("RANK", "0")) == 0:
            print(time.strftime("%H:%M:%S ") + s, flush=True)

    tr = Trainer(a, log)
    if a.init and tr.step == 0:
        s = ckpt.load_model_state(a.init)
        w = s.get("ema", s.get("model"))
        tr.model.load_state_dict({k: v.float() for k, v in w.items()})
        tr.ema.load_state_dict({k: v.float() for k, v in w.items()})
        log("initialised from %s (step %s)" % (a.init, s.get("step")))
    dev = tr.dev
    if dev.type == "cuda":
        log("device %s, pack on GPU: %.1f MiB" % (
            torch.cuda.get_device_name(dev),
            sum(v.numel() for k, v in tr.pack.items() if torch.is_tensor(v)) / 2 ** 20))
    tr.run()


if __name__ == "__main__":
    main()
