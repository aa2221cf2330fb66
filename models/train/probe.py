"""Temporal probe of an inter model: how much its P-frames take from their reference.

Two synthetic cases built from still pictures (by default the first frame of every clip in
../shared/data/eval), coded with the float models as `eval` does (rounded latents, decoded
samples rounded to 8 bits):

  * repeat: the picture as an I-frame, then --repeats P-frames of the same picture.  A codec
    that copies from its reference spends next to nothing on the P-frames once the quality is
    reached; the P/I bit ratio says how far the model is from that.
  * pan v: the picture moved by v luma samples per frame horizontally (data.pan_clip, edges
    replicated), coded as a P-frame after the I-frame of the unmoved picture, against the
    I-frame of the moved picture.  It shows which motion the context follows.

Ratios are of the bits summed over the pictures; PSNR-YUV is the mean over pictures.
"""
import argparse
import glob
import json
import os

import numpy as np
import torch

from .data import pan_clip
from .evaluate import EVAL, clip_frames, load_model
from .yuv import pack, pad_yuv, plane_mse, psnr, psnr_yuv, to_pixels

QPS = (16, 32, 48)
PANS = (1, 2, 4, 8)


def _coded(out, x):
    """(bits, PSNR-YUV) of a model output against the packed original x (one picture)."""
    xq = (to_pixels(out["x_hat"]) - 128.0) / 128.0
    p = [float(psnr(m.item())) for m in plane_mse(xq, x)]
    return float(out["bits"][0]), psnr_yuv(*p)


def _planes(picture):
    y, u, v = pad_yuv(*picture)
    return [torch.from_numpy(np.ascontiguousarray(p)) for p in (y, u, v)]


@torch.no_grad()
def probe(intra, inter, pictures, qps=QPS, repeats=3, pans=PANS):
    """pictures: list of (y, u, v) uint8 planes.  Returns {qp: {...}} with, summed over the
    pictures, the bits and mean PSNR-YUV of the I-frame, of each repeated P-frame, and per pan
    speed of the P-frame and of the moved picture's I-frame."""
    res = {}
    for qp in qps:
        q = torch.tensor([qp])
        r = {"I": [0.0, 0.0], "repeat": [[0.0, 0.0] for _ in range(repeats)],
             "pan": {v: {"P": [0.0, 0.0], "I": [0.0, 0.0]} for v in pans}}

        def add(acc, bp):
            acc[0] += bp[0]
            acc[1] += bp[1] / len(pictures)

        for pic in pictures:
            y, u, v = _planes(pic)
            x = pack(y[None], u[None], v[None])
            o = intra(x, q, train=False)
            add(r["I"], _coded(o, x))
            f, yp = o["f"], o["y_hat"]
            for k in range(repeats):
                out = inter(x, q, f, yp, train=False)
                add(r["repeat"][k], _coded(out, x))
                f, yp = out["f"], out["y_hat"]
            for s in pans:
                py, pu, pv = pan_clip(y, u, v, 2, 0, s)
                x1 = pack(py[1:], pu[1:], pv[1:])
                add(r["pan"][s]["P"], _coded(inter(x1, q, o["f"], o["y_hat"], train=False), x1))
                add(r["pan"][s]["I"], _coded(intra(x1, q, train=False), x1))
        res[qp] = r
    return res


def markdown(res, npix):
    """One row per qp: the I-frame, the repeated P-frames and the pans as P/I bit ratios."""
    qps = sorted(res)
    r0 = res[qps[0]]
    reps = len(r0["repeat"])
    pans = sorted(r0["pan"])
    head = ["qp", "I bpp", "I PSNR-YUV"] + ["repeat P%d / I" % (k + 1) for k in range(reps)] + \
        ["pan %d px P / I" % s for s in pans]
    out = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for qp in qps:
        r = res[qp]
        cells = ["%d" % qp, "%.4f" % (r["I"][0] / npix), "%.2f" % r["I"][1]]
        cells += ["%.2f (%+.2f dB)" % (p[0] / r["I"][0], p[1] - r["I"][1]) for p in r["repeat"]]
        cells += ["%.2f" % (r["pan"][s]["P"][0] / r["pan"][s]["I"][0]) for s in pans]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="train probe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--intra", required=True, help="intra checkpoint, run dir or .pt")
    p.add_argument("--inter", required=True, help="inter checkpoint, run dir or .pt")
    p.add_argument("--qps", default=",".join(map(str, QPS)))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--pans", default=",".join(map(str, PANS)))
    p.add_argument("--clips", default=os.path.join(EVAL, "*.mkv"),
                   help="glob of clips whose first frames are the pictures")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write the results here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    intra, _ = load_model(a.intra)
    inter, st = load_model(a.inter)
    files = sorted(glob.glob(a.clips))
    if not files:
        raise SystemExit("no clips match %s" % a.clips)
    pics = [clip_frames(f, 1)[0] for f in files]
    res = probe(intra, inter, pics, [int(q) for q in a.qps.split(",")], a.repeats,
                [int(s) for s in a.pans.split(",")])
    npix = sum(pc[0].size for pc in pics)
    print("temporal probe: %s (step %s), %d pictures" % (a.inter, st.get("step"), len(pics)))
    print(markdown(res, npix), end="")
    if a.json:
        json.dump({str(k): v for k, v in res.items()}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
