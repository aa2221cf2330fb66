"""The integer simulator decodes the conformance streams (made by the C encoder with the trained
models, tests/conformance/) to the MD5s the C decoder is held to (tests/conformance/md5.txt).
Each stream's model is models/<id>.lvcm, found by the id in its sequence header."""
import hashlib
import os
import struct

import numpy as np
import pytest

from train import intsim, lvcm

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
CONF = os.path.join(ROOT, "tests", "conformance")
MODELS = os.path.join(ROOT, "models")


def lvc_packets(path):
    """The packets of a .lvc file (FORMAT.md §4)."""
    data = open(path, "rb").read()
    assert data[:4] == b"LVCF"
    pos = struct.unpack_from("<H", data, 6)[0]
    while pos < len(data):
        size, _pts = struct.unpack_from("<Iq", data, pos)
        pos += 12
        yield data[pos:pos + size]
        pos += size


def expected():
    with open(os.path.join(CONF, "md5.txt")) as f:
        return [line.split() for line in f if line.strip()]


@pytest.mark.parametrize("md5,name", expected())
def test_conformance_stream(md5, name):
    pkts = list(lvc_packets(os.path.join(CONF, name)))
    mid = intsim.parse_sh(pkts[0])[0]["model_id"].hex()
    model = lvcm.read(os.path.join(MODELS, mid + ".lvcm"))
    dec = intsim.Decoder(model)
    h = hashlib.md5()
    n = 0
    for pkt in pkts:
        for plane in dec.decode(pkt):
            h.update(np.ascontiguousarray(np.asarray(plane, np.uint8)).tobytes())
        n += 1
    assert n > 0
    assert h.hexdigest() == md5
