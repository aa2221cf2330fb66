import numpy as np
import torch

from train.model import build
from train.probe import markdown, probe


def test_probe_repeat_and_pan():
    """The probe's cases are wired as documented: a pan of 0 is the first repeated P-frame and
    the I-frame again; every bit count is positive; the markdown has a row per qp."""
    torch.manual_seed(0)
    intra, inter = build("intra").eval(), build("inter").eval()
    rng = np.random.default_rng(1)
    pics = [(rng.integers(0, 256, (40, 56), dtype=np.uint8),
             rng.integers(0, 256, (20, 28), dtype=np.uint8),
             rng.integers(0, 256, (20, 28), dtype=np.uint8)) for _ in range(2)]
    res = probe(intra, inter, pics, qps=(10, 50), repeats=2, pans=(0, 3))
    for qp in (10, 50):
        r = res[qp]
        assert r["I"][0] > 0 and all(p[0] > 0 for p in r["repeat"])
        assert r["pan"][0]["P"] == r["repeat"][0]
        assert r["pan"][0]["I"] == r["I"]
        assert r["pan"][3]["P"] != r["repeat"][0]
    assert res[10]["I"][0] > res[50]["I"][0]        # lower qp, more bits
    md = markdown(res, 2 * 40 * 56)
    assert md.count("\n") == 4 and "| 10 |" in md and "| 50 |" in md
