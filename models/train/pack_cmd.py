"""`python3 -m train pack OUT`: build a training pack (see data.py)."""
import argparse
import time

from .data import build_pack


def main(argv=None):
    p = argparse.ArgumentParser(prog="train pack")
    p.add_argument("out", help="output .npz file or directory (writes DIR/pack.npz)")
    p.add_argument("--mib", type=float, default=32.0, help="size limit in MiB")
    p.add_argument("--intra-frac", type=float, default=0.4,
                   help="share of the budget for intra crops (the rest: clips)")
    p.add_argument("--crop", type=int, default=192, help="intra crop size (luma)")
    p.add_argument("--clip-crop", type=int, default=128, help="clip crop size (luma)")
    p.add_argument("--clip-len", type=int, default=7, help="frames per clip")
    p.add_argument("--reencode", type=float, default=0.08,
                   help="fraction of crops/clips re-encoded with x264/x265 at a random CRF")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    t = time.time()
    build_pack(a.out, a.mib, a.intra_frac, a.crop, a.clip_crop, a.clip_len, a.seed, a.reencode)
    print("pack: %.1f s" % (time.time() - t))


if __name__ == "__main__":
    main()
