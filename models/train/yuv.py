"""YUV 4:2:0 helpers: colour conversion, padding, the 96-channel packed tensor, PSNR."""
import numpy as np
import torch
import torch.nn.functional as F

# BT.601 limited range, 8 bit (the conversion used for the eval files and all RGB sources)
_M = np.array([[0.256788, 0.504129, 0.097906],
               [-0.148223, -0.290993, 0.439216],
               [0.439216, -0.367788, -0.071427]], np.float64)
_OFF = np.array([16.0, 128.0, 128.0])


def rgb_to_yuv420(rgb):
    """uint8 [H,W,3] RGB -> (Y [H,W], U [ceil(H/2),ceil(W/2)], V) uint8, BT.601 limited.

    Chroma is the mean of each 2x2 block (odd sizes: the last row/column is replicated).
    """
    rgb = rgb.astype(np.float64)
    h, w = rgb.shape[:2]
    yuv = rgb @ _M.T + _OFF
    y = np.clip(np.round(yuv[..., 0]), 0, 255).astype(np.uint8)
    c = yuv[..., 1:]
    if h % 2:
        c = np.concatenate([c, c[-1:]], 0)
    if w % 2:
        c = np.concatenate([c, c[:, -1:]], 1)
    c = c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2, 2).mean((1, 3))
    c = np.clip(np.round(c), 0, 255).astype(np.uint8)
    return y, c[..., 0].copy(), c[..., 1].copy()


def pad_yuv(y, u, v, m=16):
    """Edge-replicate a frame (numpy planes) to a multiple of m luma samples."""
    h, w = y.shape
    ph, pw = (-h) % m, (-w) % m
    y = np.pad(y, ((0, ph), (0, pw)), mode="edge")
    hc, wc = y.shape[0] // 2, y.shape[1] // 2
    u = np.pad(u, ((0, hc - u.shape[0]), (0, wc - u.shape[1])), mode="edge")
    v = np.pad(v, ((0, hc - v.shape[0]), (0, wc - v.shape[1])), mode="edge")
    return y, u, v


def pack(y, u, v):
    """uint8/float planes [B,H,W], [B,H/2,W/2] x2 -> packed [B,96,H/8,W/8], (p-128)/128."""
    y = (y.float() - 128.0) / 128.0
    u = (u.float() - 128.0) / 128.0
    v = (v.float() - 128.0) / 128.0
    return torch.cat([F.pixel_unshuffle(y[:, None], 8), F.pixel_unshuffle(u[:, None], 4),
                      F.pixel_unshuffle(v[:, None], 4)], 1)


def unpack(x):
    """packed [B,96,h,w] -> float planes (normalised units) y [B,8h,8w], u, v [B,4h,4w]."""
    y = F.pixel_shuffle(x[:, :64], 8)[:, 0]
    u = F.pixel_shuffle(x[:, 64:80], 4)[:, 0]
    v = F.pixel_shuffle(x[:, 80:96], 4)[:, 0]
    return y, u, v


def to_pixels(v):
    """normalised value -> 8-bit sample: clamp(round(v*128 + 128), 0, 255)."""
    return torch.clamp(torch.round(v * 128.0 + 128.0), 0, 255)


def plane_mse(x_hat, x):
    """Per-sample MSE of (Y, U, V) in 8-bit units squared from packed tensors."""
    d = (x_hat - x) * 128.0
    d2 = d * d
    return d2[:, :64].mean((1, 2, 3)), d2[:, 64:80].mean((1, 2, 3)), d2[:, 80:].mean((1, 2, 3))


def yuv_distortion(x_hat, x):
    """D = (6*MSE_Y + MSE_U + MSE_V) / 8 per sample, 8-bit units squared."""
    my, mu, mv = plane_mse(x_hat, x)
    return (6 * my + mu + mv) / 8


def psnr(mse):
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def psnr_planes(a, b):
    """PSNR (Y, U, V) between two frames given as tuples of uint8 numpy planes."""
    return [float(psnr(np.mean((p.astype(np.float64) - q.astype(np.float64)) ** 2)))
            for p, q in zip(a, b)]


def psnr_yuv(py, pu, pv):
    return (6 * py + pu + pv) / 8
