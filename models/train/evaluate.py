"""Proxy evaluation of the float models against JPEG, x264 and x265.

Intra (Kodak): the 24 PNGs are converted to YUV 4:2:0 with BT.601 limited range
(yuv.rgb_to_yuv420) and padded by edge replication to a multiple of 16; every codec is scored
against that YUV picture.
  * lvc float model: bpp is the actual entropy -log2 P of the ROUNDED latents (z under its
    factorized prior, y under the discretised Gaussians of the 2-step checkerboard model);
    reconstruction clamp(round(128 v + 128)).
  * JPEG: cjpeg -optimize -sample 2x2 (4:2:0) quality sweep on the RGB PNG, djpeg, then the same
    RGB -> YUV conversion (so JPEG also pays for its own colour conversion round trip).
  * x264 / x265 all-intra through the ffmpeg CLI on the YUV picture: -preset medium -tune psnr,
    keyint=1, CRF sweep; rate = size of the raw elementary stream (headers included).
Metrics: bpp, PSNR-Y, PSNR-YUV = mean over images of (6*PSNR_Y + PSNR_U + PSNR_V)/8, and the
Bjontegaard delta rate on PSNR-YUV (bdrate.py).

Inter (--clips, optional and slow): first 32 frames of each clip in ../shared/data/eval, lvc
low-delay (I then P frames) against x264/x265 with infinite key-frame interval, no scene cut
and no B-frames.
"""
import argparse
import glob
import json
import os
import subprocess
import tempfile
import time

import numpy as np
import torch
from PIL import Image

from . import ckpt
from .bdrate import bd_rate
from .model import build
from .yuv import pack, pad_yuv, psnr_planes, psnr_yuv, rgb_to_yuv420, to_pixels, unpack

HERE = os.path.dirname(os.path.abspath(__file__))
EVAL = os.environ.get("LVC_EVAL_DATA", os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "data", "eval")))
CACHE = os.path.join(HERE, "runs", "anchor_cache")
JPEG_Q = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
CRFS = (20, 24, 28, 32, 36, 40)
QPS = (0, 12, 24, 36, 48, 63)


# ---------------------------------------------------------------------------------------------
def kodak(n=24):
    files = sorted(glob.glob(os.path.join(EVAL, "kodak", "*.png")))[:n]
    return [(os.path.basename(f), f, rgb_to_yuv420(np.asarray(Image.open(f).convert("RGB"))))
            for f in files]


def load_model(path, raw=False):
    s = ckpt.load_model_state(path)
    m = build(s["kind"], s["cfg"])
    w = s["model"] if raw and "model" in s else s.get("ema", s.get("model"))
    m.load_state_dict({k: v.float() for k, v in w.items()})
    return m.eval(), s


def to_tensor(frame):
    y, u, v = pad_yuv(*frame)
    t = lambda p: torch.from_numpy(np.ascontiguousarray(p))[None]
    return pack(t(y), t(u), t(v))


def from_tensor(x_hat, shape):
    h, w = shape
    y, u, v = (to_pixels(p)[0].numpy().astype(np.uint8) for p in unpack(x_hat))
    hc, wc = (h + 1) // 2, (w + 1) // 2
    return y[:h, :w], u[:hc, :wc], v[:hc, :wc]


def summarise(rows):
    """rows: list of (bits, pixels, (pY, pU, pV)) -> dict of means."""
    bpp = float(np.mean([b / n for b, n, _ in rows]))
    py = float(np.mean([p[0] for _, _, p in rows]))
    pyuv = float(np.mean([psnr_yuv(*p) for _, _, p in rows]))
    return dict(bpp=bpp, psnr_y=py, psnr_yuv=pyuv)


@torch.no_grad()
def eval_intra(model, images, qps):
    res = []
    for qp in qps:
        rows = []
        for _, _, fr in images:
            out = model(to_tensor(fr), torch.tensor([qp]), train=False)
            rec = from_tensor(out["x_hat"], fr[0].shape)
            rows.append((float(out["bits"][0]), fr[0].size, psnr_planes(fr, rec)))
        r = summarise(rows)
        r["qp"] = qp
        res.append(r)
    return res


# ---------------------------------------------------------------------------------------------
# anchors
# ---------------------------------------------------------------------------------------------
def _run(cmd, data=None):
    return subprocess.run(cmd, input=data, check=True, capture_output=True).stdout


def split_frames(raw, w, h):
    fs = w * h * 3 // 2
    out = []
    for i in range(len(raw) // fs):
        b = np.frombuffer(raw[i * fs:(i + 1) * fs], np.uint8)
        out.append((b[:w * h].reshape(h, w), b[w * h:w * h * 5 // 4].reshape(h // 2, w // 2),
                    b[w * h * 5 // 4:].reshape(h // 2, w // 2)))
    return out


def x26x(frames, codec, crf, intra):
    """Encode YUV frames with ffmpeg libx264/libx265; returns (bits per frame list, decoded)."""
    h, w = frames[0][0].shape
    raw = b"".join(p.tobytes() for f in frames for p in f)
    if codec == "x264":
        par = ["-c:v", "libx264", "-x264-params",
               "keyint=1" if intra else "keyint=infinite:scenecut=0:bframes=0"]
        fmt = "h264"
    else:
        par = ["-c:v", "libx265", "-x265-params",
               ("keyint=1" if intra else "keyint=-1:scenecut=0:bframes=0") + ":info=0:log-level=none"]
        fmt = "hevc"
    with tempfile.TemporaryDirectory() as td:
        bs = os.path.join(td, "s." + fmt)
        _run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s",
              "%dx%d" % (w, h), "-r", "25", "-i", "-"] + par +
             ["-preset", "medium", "-tune", "psnr", "-crf", str(crf), "-threads", "1", "-f", fmt,
              bs], raw)
        bits = os.path.getsize(bs) * 8
        dec = split_frames(_run(["ffmpeg", "-v", "error", "-i", bs, "-f", "rawvideo",
                                 "-pix_fmt", "yuv420p", "-"]), w, h)
    return bits, dec


def jpeg(png, q):
    with tempfile.TemporaryDirectory() as td:
        ppm = os.path.join(td, "a.ppm")
        Image.open(png).convert("RGB").save(ppm)
        data = _run(["cjpeg", "-quality", str(q), "-sample", "2x2", "-optimize", ppm])
        jp = os.path.join(td, "a.jpg")
        with open(jp, "wb") as f:
            f.write(data)
        dec = _run(["djpeg", "-pnm", jp])
        out = os.path.join(td, "b.ppm")
        with open(out, "wb") as f:
            f.write(dec)
        rgb = np.asarray(Image.open(out).convert("RGB"))
    return len(data) * 8, rgb_to_yuv420(rgb)


def anchors_intra(images, which=("jpeg", "x264", "x265")):
    """Rate-distortion points of the anchors on the given images (cached per image set)."""
    os.makedirs(CACHE, exist_ok=True)
    # the anchor configuration's version is part of the key (2: x265 without its per-IDR
    # version SEI, info=0)
    key = "intra_v2_%d_%s" % (len(images), "_".join(n.split(".")[0] for n, _, _ in images[:1] +
                                                 images[-1:]))
    path = os.path.join(CACHE, key + ".json")
    cache = json.load(open(path)) if os.path.exists(path) else {}
    changed = False
    for codec in which:
        if codec in cache:
            continue
        pts = []
        for setting in (JPEG_Q if codec == "jpeg" else CRFS):
            rows = []
            for name, png, fr in images:
                if codec == "jpeg":
                    bits, rec = jpeg(png, setting)
                else:
                    bits, dec = x26x([fr], codec, setting, True)
                    rec = dec[0]
                rows.append((bits, fr[0].size, psnr_planes(fr, rec)))
            r = summarise(rows)
            r["setting"] = setting
            pts.append(r)
        cache[codec] = pts
        changed = True
    if changed:
        json.dump(cache, open(path, "w"), indent=1)
    return {k: cache[k] for k in which}


def bd_table(test, anchors):
    out = {}
    for k, pts in anchors.items():
        try:
            out[k] = bd_rate([p["bpp"] for p in pts], [p["psnr_yuv"] for p in pts],
                             [p["bpp"] for p in test], [p["psnr_yuv"] for p in test])
        except ValueError:
            out[k] = float("nan")
    return out


def fmt_table(name, pts, key):
    lines = ["| %s | %s | bpp | PSNR-Y | PSNR-YUV |" % (name, key), "|---|---|---|---|---|"]
    for p in pts:
        lines.append("| %s | %s | %.4f | %.2f | %.2f |" % (name, p[key], p["bpp"], p["psnr_y"],
                                                           p["psnr_yuv"]))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# P-frames (optional, slow)
# ---------------------------------------------------------------------------------------------
def clip_frames(path, n=32):
    import re
    m = re.search(r"_(\d+)x(\d+)", os.path.basename(path))
    w, h = int(m.group(1)), int(m.group(2))
    raw = _run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", str(n), "-f", "rawvideo",
                "-pix_fmt", "yuv420p", "-"])
    return split_frames(raw, w, h)


@torch.no_grad()
def eval_clip_lvc(intra, inter, frames, qp, refresh_period=32):
    rows = []
    q = torch.tensor([qp])
    st = None
    n_p = 0
    for i, fr in enumerate(frames):
        x = to_tensor(fr)
        if i == 0 or inter is None:
            out = intra(x, q, train=False)
        else:
            out = inter(x, q, st[0], st[1], train=False)
            n_p += 1
        rec = from_tensor(out["x_hat"], fr[0].shape)
        f = out["f"]
        if inter is not None and i > 0 and refresh_period and n_p % refresh_period == 0:
            y, u, v = pad_yuv(*rec)
            t = lambda p: torch.from_numpy(np.ascontiguousarray(p))[None]
            f = inter.refresh(pack(t(y), t(u), t(v)))
        st = (f, out["y_hat"])
        rows.append((float(out["bits"][0]), fr[0].size, psnr_planes(fr, rec)))
    return rows


def eval_clips(intra, inter, qps, n=32, log=print):
    clips = sorted(glob.glob(os.path.join(EVAL, "*.mkv")))
    res = {"lvc": [], "x264": [], "x265": []}
    seqs = [(os.path.basename(c), clip_frames(c, n)) for c in clips]
    for qp in qps:
        rows = []
        for _, fr in seqs:
            rows += eval_clip_lvc(intra, inter, fr, qp)
        r = summarise(rows)
        r["qp"] = qp
        res["lvc"].append(r)
        log("P qp %d: %s" % (qp, r))
    for codec in ("x264", "x265"):
        for crf in CRFS:
            rows = []
            for _, fr in seqs:
                bits, dec = x26x(fr, codec, crf, False)
                per = bits / len(fr)
                rows += [(per, f[0].size, psnr_planes(f, d)) for f, d in zip(fr, dec)]
            r = summarise(rows)
            r["setting"] = crf
            res[codec].append(r)
    return res


# ---------------------------------------------------------------------------------------------
def main(argv=None):
    p = argparse.ArgumentParser(prog="train eval")
    p.add_argument("--ckpt", required=True, help="intra run dir, checkpoint dir or .pt")
    p.add_argument("--inter-ckpt", help="inter model for the P-frame evaluation")
    p.add_argument("--intra-only", action="store_true", help="skip the P-frame evaluation")
    p.add_argument("--qps", default=",".join(map(str, QPS)))
    p.add_argument("--images", type=int, default=24, help="first N Kodak images")
    p.add_argument("--anchors", default="jpeg,x264,x265", help="anchors ('' for none)")
    p.add_argument("--raw", action="store_true", help="use the raw weights instead of the EMA")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--frames", type=int, default=32, help="frames per clip (P evaluation)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--markdown", help="write the tables as markdown here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    qps = [int(q) for q in a.qps.split(",")]
    t0 = time.time()
    model, st = load_model(a.ckpt, a.raw)
    imgs = kodak(a.images)
    res = {"ckpt": a.ckpt, "step": st.get("step"), "images": len(imgs),
           "lvc": eval_intra(model, imgs, qps)}
    which = tuple(x for x in a.anchors.split(",") if x)
    res["anchors"] = anchors_intra(imgs, which) if which else {}
    res["bd_rate"] = bd_table(res["lvc"], res["anchors"])
    print("Kodak (%d images), step %s, %.0f s" % (len(imgs), res["step"], time.time() - t0))
    print(fmt_table("lvc", res["lvc"], "qp"))
    for k, v in res["anchors"].items():
        print(fmt_table(k, v, "setting"))
    for k, v in res["bd_rate"].items():
        print("BD-rate (PSNR-YUV) vs %s: %+.1f%%" % (k, v))
    if not a.intra_only and a.inter_ckpt:
        inter, _ = load_model(a.inter_ckpt, a.raw)
        pr = eval_clips(model, inter, qps, a.frames)
        res["p"] = pr
        res["frames"] = a.frames
        res["p_bd_rate"] = bd_table(pr["lvc"], {"x264": pr["x264"], "x265": pr["x265"]})
        print(fmt_table("lvc P", pr["lvc"], "qp"))
        for k in ("x264", "x265"):
            print(fmt_table(k + " LD", pr[k], "setting"))
        for k, v in res["p_bd_rate"].items():
            print("P BD-rate (PSNR-YUV) vs %s low-delay: %+.1f%%" % (k, v))
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown(res))


def markdown(res):
    """The evaluation as markdown: one RD table (lvc and anchors) and the BD-rates."""
    out = ["Kodak, %d images, YUV 4:2:0 BT.601 limited; checkpoint step %s." % (
        res["images"], res["step"]), "",
        "| codec | setting | bpp | PSNR-Y (dB) | PSNR-YUV (dB) |", "|---|---|---:|---:|---:|"]
    for p in res["lvc"]:
        out.append("| lvc (float) | qp %d | %.4f | %.2f | %.2f |" % (p["qp"], p["bpp"],
                                                                   p["psnr_y"], p["psnr_yuv"]))
    names = {"jpeg": ("JPEG", "q"), "x264": ("x264 intra", "CRF"),
             "x265": ("x265 intra", "CRF")}
    for k, pts in res["anchors"].items():
        n, s = names[k]
        for p in pts:
            out.append("| %s | %s %d | %.4f | %.2f | %.2f |" % (n, s, p["setting"], p["bpp"],
                                                               p["psnr_y"], p["psnr_yuv"]))
    out += ["", "| BD-rate of lvc (PSNR-YUV) | vs |", "|---|---:|"]
    for k, v in res["bd_rate"].items():
        out.append("| %s | %+.1f %% |" % (names[k][0], v))
    if "p" in res:
        out += ["", "P-frames (first %d frames per eval clip, low delay):" % res["frames"], "",
                "| codec | setting | bpp | PSNR-Y | PSNR-YUV |", "|---|---|---:|---:|---:|"]
        for k, pts in res["p"].items():
            for p in pts:
                out.append("| %s | %s | %.4f | %.2f | %.2f |" % (
                    k, p.get("qp", p.get("setting")), p["bpp"], p["psnr_y"], p["psnr_yuv"]))
        for k, v in res["p_bd_rate"].items():
            out.append("\nBD-rate vs %s low-delay: %+.1f %%" % (k, v))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
