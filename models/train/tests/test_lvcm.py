"""`.lvcm` model files and the model id (FORMAT.md §3), train/lvcm.py."""
import copy
import hashlib
import struct

import numpy as np
import pytest

from train import lvcm
from train.lvcm import ModelError, NONE_IDX


@pytest.fixture(scope="module")
def model():
    return lvcm.random_test_model(with_inter=True, seed=1)


def _refresh_checksum(b):
    b = bytearray(b[:-32])
    return bytes(b) + hashlib.sha256(bytes(b)).digest()


def test_round_trip(model):
    b = model.to_bytes()
    m2 = lvcm.read_bytes(b)
    assert m2.to_bytes() == b
    assert m2.model_id() == model.model_id()
    assert m2.meta == model.meta
    assert [g.name for g in m2.graphs] == [g.name for g in model.graphs]
    for t1, t2 in zip(model.tensors, m2.tensors):
        assert t1.name == t2.name and t1.data.dtype == t2.data.dtype
        assert np.array_equal(t1.data, t2.data) and np.array_equal(t1.exps, t2.exps)
    assert m2.entropy.y_tables == model.entropy.y_tables
    assert m2.entropy.z_tables == model.entropy.z_tables
    assert m2.entropy.thresholds == model.entropy.thresholds


def test_layout(model):
    b = model.to_bytes()
    magic, fver, opset, prof, qpc, _, ns, size = struct.unpack_from("<4sHHBBHIQ", b)
    assert (magic, fver, opset, prof, qpc, size) == (b"LVCM", 1, 1, 1, 64, len(b))
    tags = set()
    for i in range(ns):
        tag, r, off, sz = struct.unpack_from("<4sIQQ", b, 64 + 24 * i)
        assert off % 64 == 0 and off >= 64 + 24 * ns and off + sz <= len(b) - 32
        tags.add(tag)
    assert tags == {b"META", b"GRPH", b"TENS", b"DATA", b"ENTR"}
    assert hashlib.sha256(b[:-32]).digest() == b[-32:]


def test_intra_only_round_trip():
    m = lvcm.random_test_model(with_inter=False, seed=4)
    assert not m.has_inter and len(m.graphs) == 7
    assert lvcm.read_bytes(m.to_bytes()).model_id() == m.model_id()


def test_reader_rejects(model):
    b = model.to_bytes()
    with pytest.raises(ModelError):
        lvcm.read_bytes(b[:-1])
    bad = bytearray(b)
    bad[200] ^= 1
    with pytest.raises(ModelError, match="checksum"):
        lvcm.read_bytes(bytes(bad))
    bad = bytearray(b)
    bad[10] = 1                                       # reserved
    with pytest.raises(ModelError, match="reserved"):
        lvcm.read_bytes(_refresh_checksum(bad))
    bad = bytearray(b)
    bad[64:68] = b"XXXX"                              # unknown section tag
    with pytest.raises(ModelError, match="tag"):
        lvcm.read_bytes(_refresh_checksum(bad))
    bad = bytearray(b)
    struct.pack_into("<Q", bad, 64 + 8, 65)           # misaligned section
    with pytest.raises(ModelError):
        lvcm.read_bytes(_refresh_checksum(bad))
    bad = bytearray(b)
    bad[6] = 2                                        # op-set version
    with pytest.raises(ModelError, match="op-set"):
        lvcm.read_bytes(_refresh_checksum(bad))


def test_validation_rejects_bad_shift():
    m = lvcm.random_test_model(with_inter=False, seed=2)
    g = m.graph("intra.synthesis")
    conv = next(n for n in g.nodes if n.op == lvcm.CONV)
    m.tensors[conv.tensor].exps = m.tensors[conv.tensor].exps + 40     # S > 30
    with pytest.raises(ModelError, match="shift"):
        m.validate()


def test_validation_rejects_interface_violation():
    m = lvcm.random_test_model(with_inter=False, seed=2)
    m.graph("intra.recon_head").inputs[0].level = -1
    with pytest.raises(ModelError):
        m.validate()
    m = lvcm.random_test_model(with_inter=False, seed=2)
    m.graphs[0].encoder_only = False
    with pytest.raises(ModelError, match="encoder-only"):
        m.validate()


def test_canonical_prefix(model):
    c = lvcm.canonical_bytes(model)
    assert c[:16] == b"lvc-model-id-v1\0"
    assert struct.unpack_from("<HBB", c, 16) == (1, 1, 64)
    assert len(model.model_id()) == 16 and len(model.model_id_hex()) == 32


def _permute_tensors(m, perm):
    """New tensor order: new[i] = old[perm[i]]; node indices remapped."""
    m = copy.deepcopy(m)
    inv = {old: new for new, old in enumerate(perm)}
    m.tensors = [m.tensors[i] for i in perm]
    for g in m.graphs:
        for n in g.nodes:
            if n.tensor != NONE_IDX:
                n.tensor = inv[n.tensor]
            if n.bias != NONE_IDX:
                n.bias = inv[n.bias]
    return m


def test_id_ignores_names_metadata_order_encoder_graphs(model):
    mid = model.model_id()
    m = copy.deepcopy(model)
    for i, t in enumerate(m.tensors):
        t.name = f"renamed{i}"
    m.meta = {"name": "other", "description": "x", "training": "none"}
    for g in m.graphs:
        g.inputs = [copy.copy(i) for i in g.inputs]
    assert m.model_id() == mid
    perm = list(np.random.default_rng(0).permutation(len(m.tensors)))
    mp = _permute_tensors(m, perm)
    assert mp.model_id() == mid
    assert lvcm.read_bytes(mp.to_bytes()).model_id() == mid
    # changing an encoder-only graph (weights, exponents, structure of its outputs) keeps the id
    me = copy.deepcopy(model)
    for g in me.graphs:
        if g.encoder_only:
            for n in g.nodes:
                if n.op == lvcm.CONV:
                    me.tensors[n.tensor].data = (me.tensors[n.tensor].data // 2).astype(
                        me.tensors[n.tensor].data.dtype)
    assert me.model_id() == mid


def _decoder_tensors(m):
    used = []
    for g in m.graphs:
        if not g.encoder_only:
            for n in g.nodes:
                for t in (n.tensor, n.bias):
                    if t != NONE_IDX and t not in used:
                        used.append(t)
    return used


def test_id_changes_with_any_decoder_weight(model):
    mid = model.model_id()
    used = _decoder_tensors(model)
    assert len(used) > 20
    for t in used:
        m = copy.copy(model)
        m.tensors = list(model.tensors)
        old = model.tensors[t]
        data = old.data.copy()
        data.flat[len(data.flat) // 2] ^= 1
        m.tensors[t] = lvcm.Tensor(old.name, data, old.exps)
        assert m.model_id() != mid, f"tensor {t} ({old.name})"
        if len(old.exps):
            m.tensors[t] = lvcm.Tensor(old.name, old.data, old.exps + 1)
            assert m.model_id() != mid
    m = copy.deepcopy(model)
    m.entropy.skip_bins += 1
    assert m.model_id() != mid
    m = copy.deepcopy(model)
    m.graph("intra.synthesis").nodes[0].fo += 0  # no-op keeps the id
    assert m.model_id() == mid
    m.graph("intra.recon_head").nodes[0].act = lvcm.ACT_RELU
    assert m.model_id() != mid


def test_random_model_rules(model):
    e = model.entropy
    info = model.validate()
    assert e.R * 2 ** info["fm"] <= 32767
    for t in e.y_tables + [t for b in e.z_tables for t in b]:
        assert min(t.freqs) >= 1 and sum(t.freqs) == 65536 and 1 <= t.B <= 1024
    thr = np.array(e.thresholds) / 65536
    assert abs(thr[0] - np.log(0.11)) < 1e-4 and abs(thr[-1] - np.log(64)) < 1e-4
    assert len(model.graphs) == 17
