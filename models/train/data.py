"""Training data: sources, the training pack builder and the batch sampler.

A *training pack* is an .npz of uint8 YUV 4:2:0 material:
  iy [N,S,S], iu/iv [N,S/2,S/2]            intra crops (S = --crop, default 192)
  cy [M,T,Sc,Sc], cu/cv [M,T,Sc/2,Sc/2]    clips of T frames for P-training (Sc = --clip-crop)
  meta                                      JSON (sources, counts, seed)
It is built once (``python3 -m train pack OUT``) from ../shared/data/train:
  * photos/            random down-scale 0.4-1.0, still crops; synthetic motion clips
                       (pan / zoom / rotation, optional motion blur, 5-7 frames)
  * davis480p/         down-scaled 2x (hides the JPEG q75 blocks) and some full-size crops;
                       clips with temporal stride 1-4 (mostly 1)
  * vimeo_septuplet/   7-frame clips (stride 1) and still crops
  * h264/*.264         decoded once with ffmpeg into the cache (DECODE_DIR) as raw I420
  * a fraction of the crops and clips is re-encoded with x264/x265 at a random CRF
RGB sources are converted with BT.601 limited range (yuv.rgb_to_yuv420), like the eval files.
Flips and time reversal are applied when sampling (Batcher), on the CPU or on the GPU.
"""
import glob
import json
import math
import os
import subprocess
import tempfile

import numpy as np
import torch
from PIL import Image, ImageFilter

from .yuv import rgb_to_yuv420

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("LVC_TRAIN_DATA",
                      os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data",
                                                    "train")))
PACK_DIR = os.path.join(HERE, "packs")
DECODE_DIR = os.path.join(PACK_DIR, "decoded")
H264 = {"flower_1280x720.264": (1280, 720), "street_1920x1080.264": (1920, 1080),
        "screen_pdf_1024x768.264": (1024, 768)}


# ---------------------------------------------------------------------------------------------
# source access
# ---------------------------------------------------------------------------------------------
def load_rgb(path, scale=1.0):
    im = Image.open(path).convert("RGB")
    if scale != 1.0:
        w, h = im.size
        im = im.resize((max(2, round(w * scale)), max(2, round(h * scale))), Image.LANCZOS)
    return np.asarray(im)


def even_crop(rgb):
    h, w = rgb.shape[:2]
    return rgb[:h - h % 2, :w - w % 2]


def yuv_of(rgb):
    return rgb_to_yuv420(even_crop(rgb))


def decoded_h264(name):
    """Decode a .264 clip once into DECODE_DIR; return a memmap [T, H*W*3/2] of I420 frames."""
    w, h = H264[name]
    os.makedirs(DECODE_DIR, exist_ok=True)
    raw = os.path.join(DECODE_DIR, name.replace(".264", ".yuv"))
    if not os.path.exists(raw):
        tmp = raw + ".part"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-r", "30", "-i",
                        os.path.join(DATA, "h264", name), "-pix_fmt", "yuv420p", "-f", "rawvideo",
                        tmp], check=True)
        os.replace(tmp, raw)
    fs = w * h * 3 // 2
    n = os.path.getsize(raw) // fs
    return np.memmap(raw, np.uint8, "r", shape=(n, fs)), w, h


def split_i420(buf, w, h):
    y = np.asarray(buf[:w * h]).reshape(h, w)
    u = np.asarray(buf[w * h:w * h * 5 // 4]).reshape(h // 2, w // 2)
    v = np.asarray(buf[w * h * 5 // 4:]).reshape(h // 2, w // 2)
    return y, u, v


def scale_yuv(y, u, v, s):
    """Resample YUV planes by factor s (Lanczos on each plane)."""
    if s == 1.0:
        return y, u, v
    h, w = y.shape
    nw, nh = (round(w * s) // 2) * 2, (round(h * s) // 2) * 2
    f = lambda p, a, b: np.asarray(Image.fromarray(p).resize((a, b), Image.LANCZOS))
    return f(y, nw, nh), f(u, nw // 2, nh // 2), f(v, nw // 2, nh // 2)


def crop_yuv(frame, top, left, s):
    y, u, v = frame
    t2, l2 = top // 2, left // 2
    return (y[top:top + s, left:left + s], u[t2:t2 + s // 2, l2:l2 + s // 2],
            v[t2:t2 + s // 2, l2:l2 + s // 2])


def rand_pos(rng, frame_hw, s):
    h, w = frame_hw
    return 2 * int(rng.integers(0, (h - s) // 2 + 1)), 2 * int(rng.integers(0, (w - s) // 2 + 1))


def davis_seqs():
    return sorted(d for d in glob.glob(os.path.join(DATA, "davis480p", "*")) if os.path.isdir(d))


def vimeo_clips():
    return sorted(glob.glob(os.path.join(DATA, "vimeo_septuplet", "sequences", "*", "*")))


def photos():
    return sorted(glob.glob(os.path.join(DATA, "photos", "*.jpg")))


# ---------------------------------------------------------------------------------------------
# intra crops
# ---------------------------------------------------------------------------------------------
def intra_crop(rng, kind, s, k=1):
    """k random S x S crops (uint8 planes) from one frame of a source of the given kind."""
    while True:
        if kind == "photo":
            p = photos()[rng.integers(len(photos()))]
            frame = yuv_of(load_rgb(p, float(rng.uniform(0.4, 1.0))))
        elif kind == "davis_half":
            seq = davis_seqs()[rng.integers(len(davis_seqs()))]
            fr = sorted(glob.glob(os.path.join(seq, "*.jpg")))
            frame = yuv_of(load_rgb(fr[rng.integers(len(fr))], 0.5))
        elif kind == "davis_full":
            seq = davis_seqs()[rng.integers(len(davis_seqs()))]
            fr = sorted(glob.glob(os.path.join(seq, "*.jpg")))
            frame = yuv_of(load_rgb(fr[rng.integers(len(fr))]))
        elif kind == "vimeo":
            c = vimeo_clips()[rng.integers(len(vimeo_clips()))]
            frame = yuv_of(load_rgb(os.path.join(c, "im%d.png" % rng.integers(1, 8))))
        else:  # h264
            name = list(H264)[rng.integers(len(H264))]
            mm, w, h = decoded_h264(name)
            frame = split_i420(mm[rng.integers(len(mm))], w, h)
            frame = scale_yuv(*frame, float(rng.choice([0.5, 0.75, 1.0])))
        if min(frame[0].shape) >= s:
            return [[np.ascontiguousarray(p) for p in
                     crop_yuv(frame, *rand_pos(rng, frame[0].shape, s), s)] for _ in range(k)]


INTRA_MIX = (("photo", 0.35), ("davis_half", 0.25), ("davis_full", 0.10), ("vimeo", 0.12),
             ("h264", 0.18))


def intra_crops(rng, n, s, many_per_frame=4):
    """n crops following INTRA_MIX; several crops are taken from each decoded frame."""
    kinds = [k for k, _ in INTRA_MIX]
    p = np.array([w for _, w in INTRA_MIX])
    out = []
    while len(out) < n:
        kind = kinds[rng.choice(len(kinds), p=p / p.sum())]
        out.extend(intra_crop(rng, kind, s, many_per_frame))
    return out[:n]


# ---------------------------------------------------------------------------------------------
# clips
# ---------------------------------------------------------------------------------------------
def _affine_frame(img, cx, cy, zoom, rot, s_out):
    """Render an s_out x s_out view of img centred at (cx, cy), zoomed and rotated."""
    a = math.radians(rot)
    ca, sa = math.cos(a) / zoom, math.sin(a) / zoom
    # output (x, y) -> input: centre + R/zoom * (out - half)
    h = s_out / 2
    coeffs = (ca, -sa, cx - ca * h + sa * h, sa, ca, cy - sa * h - ca * h)
    return img.transform((s_out, s_out), Image.AFFINE, coeffs, resample=Image.BICUBIC)


def synthetic_clip(rng, t, s):
    """A photo moved by a random pan / zoom / rotation trajectory, optionally motion-blurred."""
    p = photos()[rng.integers(len(photos()))]
    img = Image.open(p).convert("RGB")
    sc = float(rng.uniform(0.35, 0.9))
    img = img.resize((round(img.size[0] * sc), round(img.size[1] * sc)), Image.LANCZOS)
    w, h = img.size
    vx, vy = rng.uniform(-6, 6, 2)                 # pixels per frame
    dz = float(np.exp(rng.uniform(-0.03, 0.03)))    # zoom per frame
    dr = float(rng.uniform(-1.5, 1.5)) if rng.random() < 0.4 else 0.0   # degrees per frame
    blur = rng.random() < 0.3
    span = s * 0.75 + 8 * t
    cx = float(rng.uniform(span, max(span + 1, w - span)))
    cy = float(rng.uniform(span, max(span + 1, h - span)))
    frames = []
    for i in range(t):
        if blur:   # average of sub-frame positions along the trajectory
            subs = [np.asarray(_affine_frame(img, cx + vx * (i + d), cy + vy * (i + d),
                                             dz ** (i + d), dr * (i + d), s), np.float32)
                    for d in (-0.33, 0.0, 0.33)]
            rgb = np.clip(np.round(sum(subs) / len(subs)), 0, 255).astype(np.uint8)
        else:
            rgb = np.asarray(_affine_frame(img, cx + vx * i, cy + vy * i, dz ** i, dr * i, s))
        if rng.random() < 0.1:
            rgb = np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(0.6)))
        frames.append(rgb_to_yuv420(rgb))
    return frames


def _shifted(p, oy, ox):
    """p [..., H, W] read at (row + oy, col + ox), edges replicated."""
    h, w = p.shape[-2:]
    r = (torch.arange(h, device=p.device) + oy).clamp(0, h - 1)
    c = (torch.arange(w, device=p.device) + ox).clamp(0, w - 1)
    return p[..., r, :][..., c]


def pan_clip(y, u, v, t, vy, vx):
    """t frames of a global pan over one picture: frame i is the picture read (i*vy, i*vx)
    luma samples further on, edges replicated (new content entering at the border).

    y [H, W], u, v [H/2, W/2] (uint8); returns y [t, H, W], u, v [t, H/2, W/2].  Chroma
    moves by half the luma offset; an odd offset averages the two nearest positions.
    """
    def chroma(p, oy, ox):
        a = _shifted(p, oy // 2, ox // 2)
        if oy % 2 == 0 and ox % 2 == 0:
            return a
        b = _shifted(p, oy // 2 + oy % 2, ox // 2 + ox % 2)
        return ((a.int() + b.int() + 1) >> 1).to(p.dtype)

    offs = [(i * vy, i * vx) for i in range(t)]
    return (torch.stack([_shifted(y, oy, ox) for oy, ox in offs]),
            torch.stack([chroma(u, oy, ox) for oy, ox in offs]),
            torch.stack([chroma(v, oy, ox) for oy, ox in offs]))


STRIDE_P = (0.6, 0.25, 0.1, 0.05)   # temporal stride 1, 2, 3, 4 of the video clips


def video_clip(rng, kind, t, s):
    while True:
        # mostly consecutive frames, as coded; larger steps for faster motion
        stride = int(rng.choice(4, p=STRIDE_P)) + 1
        if kind in ("davis_half", "davis_full"):
            seq = davis_seqs()[rng.integers(len(davis_seqs()))]
            fr = sorted(glob.glob(os.path.join(seq, "*.jpg")))
            if len(fr) < (t - 1) * stride + 1:
                continue
            i0 = int(rng.integers(0, len(fr) - (t - 1) * stride))
            sc = 0.5 if kind == "davis_half" else 1.0
            frames = [yuv_of(load_rgb(fr[i0 + k * stride], sc)) for k in range(t)]
        elif kind == "vimeo":
            c = vimeo_clips()[rng.integers(len(vimeo_clips()))]
            i0 = int(rng.integers(1, 9 - t))
            frames = [yuv_of(load_rgb(os.path.join(c, "im%d.png" % (i0 + k)))) for k in range(t)]
        else:
            name = list(H264)[rng.integers(len(H264))]
            mm, w, h = decoded_h264(name)
            if len(mm) < (t - 1) * stride + 1:
                continue
            i0 = int(rng.integers(0, len(mm) - (t - 1) * stride))
            sc = float(rng.choice([0.5, 1.0]))
            frames = [scale_yuv(*split_i420(mm[i0 + k * stride], w, h), sc) for k in range(t)]
        if min(frames[0][0].shape) >= s:
            pos = rand_pos(rng, frames[0][0].shape, s)
            return [[np.ascontiguousarray(p) for p in crop_yuv(f, *pos, s)] for f in frames]


CLIP_MIX = (("synthetic", 0.3), ("davis_half", 0.3), ("davis_full", 0.05), ("vimeo", 0.15),
            ("h264", 0.2))


def clips(rng, n, t, s):
    kinds = [k for k, _ in CLIP_MIX]
    p = np.array([w for _, w in CLIP_MIX])
    out = []
    while len(out) < n:
        kind = kinds[rng.choice(len(kinds), p=p / p.sum())]
        out.append(synthetic_clip(rng, t, s) if kind == "synthetic"
                   else video_clip(rng, kind, t, s))
    return out


# ---------------------------------------------------------------------------------------------
# re-encoding with x264 / x265
# ---------------------------------------------------------------------------------------------
def reencode(frames, codec, crf):
    """Encode a list of same-size YUV frames with ffmpeg (libx264/libx265) and decode them back."""
    h, w = frames[0][0].shape
    raw = b"".join(p.tobytes() for f in frames for p in f)
    with tempfile.TemporaryDirectory() as td:
        bs = os.path.join(td, "s.mkv")
        extra = ["-x265-params", "log-level=none"] if codec == "libx265" else []
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                        "-s", "%dx%d" % (w, h), "-i", "-", "-c:v", codec, "-preset", "fast",
                        "-crf", str(crf)] + extra + [bs], input=raw, check=True)
        out = subprocess.run(["ffmpeg", "-v", "error", "-i", bs, "-f", "rawvideo", "-pix_fmt",
                              "yuv420p", "-"], check=True, capture_output=True).stdout
    fs = w * h * 3 // 2
    return [list(split_i420(np.frombuffer(out[i * fs:(i + 1) * fs], np.uint8), w, h))
            for i in range(len(frames))]


def reencode_some(rng, items, frac, group=16):
    """Re-encode a random fraction of items (each a list of frames) in place."""
    idx = [i for i in range(len(items)) if rng.random() < frac]
    if not idx:
        return 0
    if len(items[idx[0]]) == 1:   # single crops: encode groups as one sequence
        for g in range(0, len(idx), group):
            sel = idx[g:g + group]
            dec = reencode([items[i][0] for i in sel], str(rng.choice(["libx264", "libx265"])),
                           int(rng.integers(18, 37)))
            for i, f in zip(sel, dec):
                items[i] = [f]
    else:
        for i in idx:
            items[i] = reencode(items[i], str(rng.choice(["libx264", "libx265"])),
                                int(rng.integers(18, 37)))
    return len(idx)


# ---------------------------------------------------------------------------------------------
# pack builder
# ---------------------------------------------------------------------------------------------
def build_pack(out, mib=32.0, intra_frac=0.4, crop=192, clip_crop=128, clip_len=7, seed=0,
               reencode_frac=0.08, log=print):
    """Write a training pack of at most `mib` MiB of uint8 crops/clips; returns its path."""
    if not out.endswith(".npz"):
        os.makedirs(out, exist_ok=True)
        out = os.path.join(out, "pack.npz")
    rng = np.random.default_rng(seed)
    budget = mib * 2 ** 20 - 65536
    n_i = int(budget * intra_frac // (crop * crop * 3 // 2))
    n_c = int(budget * (1 - intra_frac) // (clip_len * clip_crop * clip_crop * 3 // 2))
    log("pack: %d intra crops %dx%d, %d clips %dx%dx%d" % (n_i, crop, crop, n_c, clip_len,
                                                            clip_crop, clip_crop))
    ic = [[c] for c in intra_crops(rng, n_i, crop)]
    r_i = reencode_some(rng, ic, reencode_frac)
    cl = clips(rng, n_c, clip_len, clip_crop) if n_c else []
    r_c = reencode_some(rng, cl, reencode_frac) if n_c else 0
    arr = {}
    for name, items, s, t in (("i", ic, crop, 1), ("c", cl, clip_crop, clip_len)):
        n = len(items)
        y = np.zeros((n, t, s, s), np.uint8)
        u = np.zeros((n, t, s // 2, s // 2), np.uint8)
        v = np.zeros((n, t, s // 2, s // 2), np.uint8)
        for i, fr in enumerate(items):
            for k, (a, b, c) in enumerate(fr):
                y[i, k], u[i, k], v[i, k] = a, b, c
        if name == "i":
            y, u, v = y[:, 0], u[:, 0], v[:, 0]
        arr[name + "y"], arr[name + "u"], arr[name + "v"] = y, u, v
    meta = dict(seed=seed, intra=n_i, clips=n_c, crop=crop, clip_crop=clip_crop,
                clip_len=clip_len, reencoded_crops=r_i, reencoded_clips=r_c,
                intra_mix=INTRA_MIX, clip_mix=CLIP_MIX, data=DATA)
    arr["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".part.npz"
    np.savez(tmp, **arr)
    os.replace(tmp, out)
    log("pack: wrote %s (%.1f MiB)" % (out, os.path.getsize(out) / 2 ** 20))
    return out


def load_pack(path, device="cpu"):
    """Load a pack into uint8 tensors on `device`; returns dict of tensors and meta."""
    if os.path.isdir(path):
        path = os.path.join(path, "pack.npz")
    z = np.load(path)
    d = {k: torch.from_numpy(np.ascontiguousarray(z[k])).to(device) for k in z.files
         if k != "meta"}
    d["meta"] = json.loads(bytes(z["meta"]).decode())
    return d


# ---------------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------------
class Batcher:
    """Random crops, flips and time reversal from a loaded pack, on the pack's device.

    All randomness comes from one torch.Generator (CPU) whose state is checkpointed, so a
    resumed run draws the same batches.
    """

    def __init__(self, pack, seed=0):
        self.p = pack
        self.g = torch.Generator()
        self.g.manual_seed(seed)

    def _ri(self, hi):
        return int(torch.randint(0, hi, (1,), generator=self.g))

    def _crop(self, y, u, v, s):
        h, w = y.shape[-2:]
        t, l = 2 * self._ri((h - s) // 2 + 1), 2 * self._ri((w - s) // 2 + 1)
        y = y[..., t:t + s, l:l + s]
        u = u[..., t // 2:t // 2 + s // 2, l // 2:l // 2 + s // 2]
        v = v[..., t // 2:t // 2 + s // 2, l // 2:l // 2 + s // 2]
        if self._ri(2):
            y, u, v = y.flip(-1), u.flip(-1), v.flip(-1)
        if self._ri(2):
            y, u, v = y.flip(-2), u.flip(-2), v.flip(-2)
        return y, u, v

    def intra(self, b, s):
        """b crops of s x s: uint8 tensors y [b,s,s], u, v [b,s/2,s/2]."""
        ys, us, vs = [], [], []
        n = self.p["iy"].shape[0]
        for _ in range(b):
            i = self._ri(n)
            y, u, v = self._crop(self.p["iy"][i], self.p["iu"][i], self.p["iv"][i], s)
            ys.append(y), us.append(u), vs.append(v)
        return torch.stack(ys), torch.stack(us), torch.stack(vs)

    def clip(self, b, t, s):
        """b clips of t frames: uint8 tensors y [b,t,s,s], u, v [b,t,s/2,s/2]."""
        ys, us, vs = [], [], []
        n, tt = self.p["cy"].shape[:2]
        for _ in range(b):
            i = self._ri(n)
            t0 = self._ri(tt - t + 1)
            y, u, v = self._crop(self.p["cy"][i, t0:t0 + t], self.p["cu"][i, t0:t0 + t],
                                 self.p["cv"][i, t0:t0 + t], s)
            if self._ri(2):   # time reversal
                y, u, v = y.flip(0), u.flip(0), v.flip(0)
            ys.append(y), us.append(u), vs.append(v)
        return torch.stack(ys), torch.stack(us), torch.stack(vs)

    def state_dict(self):
        return {"g": self.g.get_state()}

    def load_state_dict(self, s):
        self.g.set_state(s["g"])


def synthetic_pack(out, n_intra=16, n_clips=4, crop=96, clip_crop=64, clip_len=5, seed=0):
    """A small pack of generated pictures (smooth patterns, edges, noise; clips pan across a
    larger generated picture).  Used by the tests, which must not need ../shared/data."""
    rng = np.random.default_rng(seed)

    def picture(h, w):
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        img = np.zeros((h, w, 3))
        for _ in range(4):
            fx, fy = rng.uniform(0.005, 0.08, 2)
            ph = rng.uniform(0, 6.3)
            img += rng.uniform(20, 60, 3) * np.sin(fx * xx + fy * yy + ph)[..., None]
        img += 128 + rng.uniform(-40, 40, 3)
        for _ in range(3):   # a few flat rectangles with sharp edges
            t, l = rng.integers(0, h // 2), rng.integers(0, w // 2)
            hh, ww = rng.integers(8, h // 2), rng.integers(8, w // 2)
            img[t:t + hh, l:l + ww] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 3, img.shape)
        return np.clip(np.round(img), 0, 255).astype(np.uint8)

    arr = {}
    ic = [rgb_to_yuv420(picture(crop, crop)) for _ in range(n_intra)]
    arr["iy"] = np.stack([c[0] for c in ic])
    arr["iu"] = np.stack([c[1] for c in ic])
    arr["iv"] = np.stack([c[2] for c in ic])
    cy, cu, cv = [], [], []
    for _ in range(n_clips):
        big = picture(clip_crop + 4 * clip_len, clip_crop + 4 * clip_len)
        dy, dx = rng.integers(0, 3, 2)
        fr = [rgb_to_yuv420(big[2 * k * dy:2 * k * dy + clip_crop,
                                2 * k * dx:2 * k * dx + clip_crop]) for k in range(clip_len)]
        cy.append(np.stack([f[0] for f in fr]))
        cu.append(np.stack([f[1] for f in fr]))
        cv.append(np.stack([f[2] for f in fr]))
    arr["cy"], arr["cu"], arr["cv"] = np.stack(cy), np.stack(cu), np.stack(cv)
    meta = dict(seed=seed, intra=n_intra, clips=n_clips, crop=crop, clip_crop=clip_crop,
                clip_len=clip_len, synthetic=True)
    arr["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(out, **arr)
    return out
