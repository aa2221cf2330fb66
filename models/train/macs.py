"""MACs per luma pixel and parameters of every sub-network; writes the table into
models/README.md between the markers below.

MACs are counted for the convolutions (out elements x in-channels/groups x k x k); the q-table
multiplies, residual adds and activations are element-wise and listed as not counted.
"""
import argparse
import os

import torch
import torch.nn as nn

from .model import build

BEGIN = "<!-- macs:begin -->"
END = "<!-- macs:end -->"
README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")

DEC_I = ("hyper_synthesis", "prior_fusion", "context_step", "synthesis", "recon_head")
ENC_I = ("analysis", "hyper_analysis") + DEC_I
DEC_P = ("context", "hyper_synthesis", "temporal_prior", "prior_fusion", "context_step",
         "synthesis", "recon_head")
ENC_P = ("analysis", "hyper_analysis") + DEC_P


def count(model, h=256, w=256):
    """{subnet: (MACs per luma pixel, parameters)} for a model at an h x w picture."""
    macs = {n: 0 for n in model.SUBNETS}
    hooks = []
    for name, sub in model.subnets().items():
        for m in sub.modules():
            if isinstance(m, nn.Conv2d):
                def hook(mod, inp, out, name=name):
                    k = mod.kernel_size[0] * mod.kernel_size[1]
                    macs[name] += out.numel() * (mod.in_channels // mod.groups) * k
                hooks.append(m.register_forward_hook(hook))
    x = torch.zeros(1, 96, h // 8, w // 8)
    qp = torch.tensor([0])
    with torch.no_grad():
        if model.inter:
            f = torch.zeros(1, 128, h // 8, w // 8)
            y = torch.zeros(1, 128, h // 16, w // 16)
            out = model(x, qp, f, y, train=False)
            model.refresh(out["x_hat"])
        else:
            model(x, qp, train=False)
    for hk in hooks:
        hk.remove()
    return {n: (macs[n] / (h * w), sum(p.numel() for p in model.subnets()[n].parameters()))
            for n in model.SUBNETS}


def table(intra=None, inter=None):
    intra = intra or build("intra")
    inter = inter or build("inter")
    ci, cp = count(intra), count(inter)
    lines = ["| model | sub-network | MAC / luma px | parameters |", "|---|---|---:|---:|"]
    for tag, c in (("intra", ci), ("inter", cp)):
        for n, (m, p) in c.items():
            lines.append("| %s | `%s.%s` | %.0f | %d |" % (tag, tag, n, m, p))
    tot = totals(ci, cp)
    lines.append("")
    lines.append("| total | MAC / luma px | budget |")
    lines.append("|---|---:|---:|")
    for k, (v, b) in tot.items():
        lines.append("| %s | %.0f | %d |" % (k, v, b))
    zp = sum(p.numel() for p in intra.z_prior.parameters())
    lines.append("")
    lines.append("Counted: convolutions at a 256x256 picture (MACs scale with the area). Not "
                 "counted: q-table multiplies, residual adds, activations, pixel (un)shuffle, "
                 "entropy coding. Entropy parameters outside the graphs: z prior %d "
                 "(tabulated at export), q tables 8 anchors x channels per table." % zp)
    return "\n".join(lines), tot


def totals(ci, cp):
    s = lambda c, names: sum(c[n][0] for n in names)
    return {"I decode": (s(ci, DEC_I), 25000), "I encode": (s(ci, ENC_I), 40000),
            "P decode": (s(cp, DEC_P), 25000),
            "P decode, refresh frame": (s(cp, DEC_P) + cp["refresh"][0], 25000),
            "P encode": (s(cp, ENC_P), 40000),
            "P encode, refresh frame": (s(cp, ENC_P) + cp["refresh"][0], 40000)}


def write_readme(text, path=README):
    block = BEGIN + "\n" + text + "\n" + END
    old = open(path).read() if os.path.exists(path) else ""
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
    else:
        new = old + ("\n" if old else "") + "## Module table\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(new)


def main(argv=None):
    p = argparse.ArgumentParser(prog="train macs")
    p.add_argument("--readme", default=README)
    p.add_argument("--print-only", action="store_true")
    a = p.parse_args(argv)
    text, _ = table()
    print(text)
    if not a.print_only:
        write_readme(text, a.readme)
        print("written to", a.readme)


if __name__ == "__main__":
    main()
