"""`python3 -m train export_pt --ckpt RUN --out FILE.pt`: EMA weights only, for models/."""
import argparse
import os

import torch

from . import ckpt


def main(argv=None):
    p = argparse.ArgumentParser(prog="train export_pt")
    p.add_argument("--ckpt", required=True, help="run dir or checkpoint dir")
    p.add_argument("--out", required=True)
    p.add_argument("--dtype", choices=["float16", "float32"], default="float32")
    a = p.parse_args(argv)
    s = ckpt.load_model_state(a.ckpt)
    dt = getattr(torch, a.dtype)
    w = {k: v.to(dt) if v.is_floating_point() else v for k, v in s["ema"].items()}
    torch.save(dict(kind=s["kind"], cfg=s["cfg"], step=s["step"],
                    train_seconds=s["train_seconds"], ema=w), a.out)
    print("wrote %s (%s, step %d, %.1f MiB)" % (a.out, s["kind"], s["step"],
                                                 os.path.getsize(a.out) / 2 ** 20))


if __name__ == "__main__":
    main()
