"""Checkpoints as directories of files no larger than a chunk limit (16 MiB by default).

A checkpoint ``DIR/step_00001234/`` holds ``model.pt.NNN`` (model, EMA, step, RNG states,
schedule clock, config) and ``optim.pt.NNN`` (optimizer state); ``DIR/latest`` names the newest.
Each logical file is one torch.save() stream cut into chunks.
"""
import io
import os
import shutil

import torch

CHUNK = 16 * 2 ** 20


def save_split(obj, path, chunk=CHUNK):
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    for i in range(0, max(len(data), 1), chunk):
        with open("%s.%03d" % (path, i // chunk), "wb") as f:
            f.write(data[i:i + chunk])


def load_split(path, map_location="cpu"):
    parts, i = [], 0
    while os.path.exists("%s.%03d" % (path, i)):
        with open("%s.%03d" % (path, i), "rb") as f:
            parts.append(f.read())
        i += 1
    if not parts:
        raise FileNotFoundError(path + ".000")
    return torch.load(io.BytesIO(b"".join(parts)), map_location=map_location)


def save_checkpoint(out_dir, step, model_state, optim_state, keep=3):
    name = "step_%08d" % step
    tmp = os.path.join(out_dir, name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    save_split(model_state, os.path.join(tmp, "model.pt"))
    save_split(optim_state, os.path.join(tmp, "optim.pt"))
    final = os.path.join(out_dir, name)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    with open(os.path.join(out_dir, "latest.tmp"), "w") as f:
        f.write(name + "\n")
    os.replace(os.path.join(out_dir, "latest.tmp"), os.path.join(out_dir, "latest"))
    old = sorted(d for d in os.listdir(out_dir) if d.startswith("step_") and
                 not d.endswith(".tmp"))
    for d in old[:-keep]:
        shutil.rmtree(os.path.join(out_dir, d), ignore_errors=True)
    return final


def latest_checkpoint(out_dir):
    p = os.path.join(out_dir, "latest")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        d = os.path.join(out_dir, f.read().strip())
    return d if os.path.isdir(d) else None


def load_model_state(path, map_location="cpu"):
    """Model-side state from a checkpoint directory, a run directory, or a single .pt file."""
    if os.path.isdir(path):
        d = latest_checkpoint(path) or path
        return load_split(os.path.join(d, "model.pt"), map_location)
    return torch.load(path, map_location=map_location)


def ema_weights(path):
    """(kind, cfg, state_dict) of the EMA weights of a checkpoint or exported .pt file."""
    s = load_model_state(path)
    w = s.get("ema", s.get("model"))
    return s["kind"], s["cfg"], {k: v.float() for k, v in w.items()}
