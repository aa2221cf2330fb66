import argparse
import os

import torch

from train import ckpt
from train.fit import Trainer, add_args, lam
from train.gpu_window import main as gpu_window
from train.data import pan_clip
from train.yuv import pack, unpack

QUIET = lambda s: None


def _args(pack_path, out, *extra):
    return add_args(argparse.ArgumentParser()).parse_args(
        ["--pack", pack_path, "--out", out, "--batch", "2", "--crop", "64", "--threads", "2",
         "--device", "cpu", "--warmup", "0", "--log-every", "1000"] + list(extra))


def test_training_step_lowers_loss(tiny_pack, tmp_path):
    tr = Trainer(_args(tiny_pack, str(tmp_path), "--lr", "1e-3", "--clip", "0"), QUIET)
    y, u, v = tr.batcher.intra(2, 64)
    x = pack(y, u, v)
    qp = torch.tensor([5, 40])

    def loss():
        torch.manual_seed(123)     # same rate noise for each evaluation
        o = tr.model(x, qp, train=True)
        l, _, _ = tr._loss(o, x, qp)
        return l.mean()

    first = loss().item()
    for _ in range(4):
        tr.opt.zero_grad()
        loss().backward()
        tr.opt.step()
    assert loss().item() < first


def test_resume_reproduces_next_step(tiny_pack, tmp_path):
    a = _args(tiny_pack, str(tmp_path / "a"), "--steps", "2")
    straight = Trainer(a, QUIET)
    straight.train_step()
    l2, _, _ = straight.train_step()

    b = _args(tiny_pack, str(tmp_path / "b"), "--steps", "2")
    first = Trainer(b, QUIET)
    first.train_step()
    first.save()
    resumed = Trainer(b, QUIET)
    assert resumed.step == 1
    r2, _, _ = resumed.train_step()
    assert r2 == l2
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)
    for p, q in zip(straight.ema.parameters(), resumed.ema.parameters()):
        assert torch.equal(p, q)


def test_higher_qp_fewer_bits(tiny_pack, tmp_path):
    tr = Trainer(_args(tiny_pack, str(tmp_path), "--lr", "5e-4"), QUIET)
    for _ in range(3):
        tr.train_step()
    y, u, v = tr.batcher.intra(1, 64)
    x = pack(y, u, v)
    with torch.no_grad():
        bits = [tr.model(x, torch.tensor([q]), train=False)["bits"].item() for q in (0, 32, 63)]
    assert bits[0] > bits[1] > bits[2]
    assert lam(torch.tensor(0)) > lam(torch.tensor(63))


def test_gpu_window_dry_run(tiny_pack, tmp_path):
    out = str(tmp_path / "gw")
    gpu_window(["--pack", tiny_pack, "--out", out, "--minutes", "1", "--dry-run"])
    d = ckpt.latest_checkpoint(out)
    assert d and ckpt.load_split(os.path.join(d, "model.pt"))["step"] == 2
    for f in os.listdir(d):
        assert os.path.getsize(os.path.join(d, f)) <= 16 * 2 ** 20
    # inter curriculum on top of the dry-run intra model
    out2 = str(tmp_path / "gwp")
    gpu_window(["--pack", tiny_pack, "--out", out2, "--minutes", "1", "--dry-run",
                "--stage", "inter", "--intra-ckpt", out])
    d2 = ckpt.latest_checkpoint(out2)
    assert ckpt.load_split(os.path.join(d2, "model.pt"))["kind"] == "inter"


def test_p_static_repeats_the_first_frame(tiny_pack, tmp_path):
    """--p-static 1: every P-frame of a training clip is its first frame (a motionless scene)."""
    intra = str(tmp_path / "intra")
    gpu_window(["--pack", tiny_pack, "--out", intra, "--minutes", "1", "--dry-run"])
    tr = Trainer(_args(tiny_pack, str(tmp_path / "p"), "--stage", "inter", "--intra-ckpt", intra,
                       "--frames", "3:3", "--crop1", "32", "--p-static", "1"), QUIET)
    seen = []
    forward = tr.model.forward

    def spy(x, *rest, **kw):
        seen.append(x.detach().clone())
        return forward(x, *rest, **kw)

    tr.model.forward = spy
    tr.train_step()
    assert len(seen) == 2                       # the two P-frames (frame 0 is the intra model's)
    assert torch.equal(seen[0], seen[1]) and seen[0].abs().sum() > 0


def test_pan_clip_moves_the_picture():
    """pan_clip: frame i is frame 0 read i*v samples further on (chroma at half the offset)."""
    g = torch.Generator().manual_seed(3)
    y = torch.randint(0, 256, (32, 40), generator=g, dtype=torch.uint8)
    u = torch.randint(0, 256, (16, 20), generator=g, dtype=torch.uint8)
    v = torch.randint(0, 256, (16, 20), generator=g, dtype=torch.uint8)
    py, pu, pv = pan_clip(y, u, v, 3, 2, -3)
    assert py.shape == (3, 32, 40) and pu.shape == (3, 16, 20) and pv.dtype == torch.uint8
    assert torch.equal(py[0], y) and torch.equal(pu[0], u)
    assert torch.equal(py[2][:28, 6:], y[4:, :34])              # (4, -6) luma samples on
    assert torch.equal(pu[2][:14, 3:], u[2:, :17])              # (2, -3) chroma samples on
    half = ((u[1:, :19].int() + u[1:, 1:].int() + 1) >> 1).to(torch.uint8)
    assert torch.equal(pu[1][:15, 2:], half[:, :18])            # (1, -1.5): averaged
    assert torch.equal(py[2][:28, :6], y[4:, :1].expand(28, 6))  # entering edge replicated
    assert torch.equal(py[2][28:], py[2][27:28].expand(4, 40))


def test_p_pan_moves_every_clip(tiny_pack, tmp_path):
    """--p-pan 1: every P-frame of a training clip is its first frame moved by one velocity."""
    intra = str(tmp_path / "intra")
    gpu_window(["--pack", tiny_pack, "--out", intra, "--minutes", "1", "--dry-run"])
    tr = Trainer(_args(tiny_pack, str(tmp_path / "p"), "--stage", "inter", "--intra-ckpt", intra,
                       "--frames", "3:3", "--crop1", "32", "--p-pan", "1", "--pan-max", "2"),
                 QUIET)
    seen = []
    forward = tr.model.forward

    def spy(x, *rest, **kw):
        seen.append(unpack(x.detach().clone())[0])
        return forward(x, *rest, **kw)

    tr.model.forward = spy
    for _ in range(3):
        seen.clear()
        tr.train_step()
        assert len(seen) == 2
        # each clip's second P-frame is its first one moved once more by one velocity
        y1, y2 = seen
        h, w = y1.shape[-2:]
        for b in range(y1.shape[0]):
            found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                     if torch.equal(y2[b, 4:-4, 4:-4], y1[b, 4 + dy:h - 4 + dy, 4 + dx:w - 4 + dx])]
            assert found, "clip %d: no velocity maps the first P-frame onto the second" % b


def test_bf16_on_the_cpu(tiny_pack, tmp_path):
    """--bf16: the networks run under bf16 autocast on the CPU; the first step's loss is that
    of the float32 step within bf16 precision."""
    losses = []
    for extra in ((), ("--bf16",)):
        torch.manual_seed(5)
        tr = Trainer(_args(tiny_pack, str(tmp_path / ("b" + str(len(extra)))), *extra), QUIET)
        dtypes = []
        forward = tr.model.forward

        def spy(*a, **kw):
            out = forward(*a, **kw)
            dtypes.append(out["x_hat"].dtype)
            return out

        tr.model.forward = spy
        losses.append(tr.train_step()[0])
        assert dtypes == [torch.bfloat16 if extra else torch.float32]
    assert abs(losses[1] - losses[0]) < 0.05 * abs(losses[0])


def test_lambda_range_from_the_model_config(tiny_pack, tmp_path):
    """lmbda in the model config sets lambda(qp) of the loss; it is saved with the checkpoint,
    can be changed on resume, and an inter model takes its intra model's by default."""
    qp = torch.tensor([0, 63, 21])
    assert torch.allclose(lam(qp), torch.tensor([0.08, 0.001, 0.08 * (0.001 / 0.08) ** (1 / 3)]))
    assert torch.allclose(lam(qp, {"lmbda": [2.0, 0.002]}),
                          torch.tensor([2.0, 0.002, 2.0 * 0.001 ** (1 / 3)]))
    out = str(tmp_path / "intra")
    tr = Trainer(_args(tiny_pack, out, "--model-cfg", '{"lmbda": [2.0, 0.002]}', "--steps", "1"),
                 QUIET)
    y, u, v = tr.batcher.intra(2, 64)
    x = pack(y, u, v)
    o = tr.model(x, qp[:2], train=False)
    loss, d, bpp = tr._loss(o, x, qp[:2])
    assert torch.allclose(loss, torch.tensor([2.0, 0.002]) * d + bpp)
    tr.run()
    s = ckpt.load_split(os.path.join(ckpt.latest_checkpoint(out), "model.pt"))
    assert list(s["cfg"]["lmbda"]) == [2.0, 0.002]
    wider = Trainer(_args(tiny_pack, out, "--model-cfg", '{"lmbda": [4.0, 0.004]}'), QUIET)
    assert wider.step == 1 and list(wider.model.cfg["lmbda"]) == [4.0, 0.004]
    inter = Trainer(_args(tiny_pack, str(tmp_path / "inter"), "--stage", "inter",
                          "--intra-ckpt", out), QUIET)
    assert list(inter.model.cfg["lmbda"]) == [2.0, 0.002]
