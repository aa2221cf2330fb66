"""rANS coder of FORMAT.md §2.1-2.2 (train/rans.py)."""
import numpy as np
import pytest

from train.rans import (CdfTable, RansDecoder, RansEncoder, RansError, RANS_L, symbol_ops)
from train.lvcm import gaussian_table


def test_empty_slice():
    b = RansEncoder().finish()
    assert b == bytes.fromhex("00008000" "00008000")
    RansDecoder(b).finish()


def test_hand_checked_single_ops():
    # uniform 1-bit value 1 (start 2^15, freq 2^15) on state 0 = L = 2^23: x_max = 2^30, no
    # renormalisation; x = ((2^23 / 2^15) << 16) + 0 + 2^15 = 0x01008000
    e = RansEncoder()
    e.put_uniform(1, 1)
    b = e.finish()
    assert b == bytes.fromhex("00800001" "00008000")
    d = RansDecoder(b)
    assert d.get_uniform(1) == 1
    d.finish()
    # (start 5, freq 3): x_max = 3 << 15 = 98304 <= 2^23, emit 0x00, x = 2^15;
    # x = (10922 << 16) + 2 + 5 = 0x2AAA0007
    e = RansEncoder()
    e.put(5, 3)
    b = e.finish()
    assert b == bytes.fromhex("0700aa2a" "00008000" "00")
    d = RansDecoder(b)
    assert d.get([0, 5, 8], [5, 3, 65528]) == 1
    d.finish()


def test_interleaving_uses_state_j_mod_2():
    # two ops: j = 0 on state 0, j = 1 on state 1
    e = RansEncoder()
    e.put_uniform(1, 1)
    e.put_uniform(0, 1)
    b = e.finish()
    assert b[:4] == bytes.fromhex("00800001")        # state 0 took the value 1
    assert b[4:8] == bytes.fromhex("00000001")       # state 1: ((2^23>>15)<<16) + 0
    assert len(b) == 8


# Produced by the independent reference tests/rans_reference.py (29 operations).
GOLDEN = bytes.fromhex("4b83176bf4d73f07dfffaee1e44f5d1070ff9fff0000")


def test_matches_independent_reference_vector():
    t = CdfTable(2, [1000, 12000, 40000, 11000, 1500, 36])
    syms = [0, 1, -1, 0, 2, -2, 3, -9, 0, 0, 700, -1, 1, 0]
    unis = [(5, 3), (0, 1), (32767, 15), (1, 1), (9, 4)]
    e = RansEncoder()
    for q in syms:
        e.put_symbol(q, t)
    for v, n in unis:
        e.put_uniform(v, n)
    e.put(0, 1 << 16)
    e.put(65535, 1)
    assert len(e.ops) == 29
    b = e.finish()
    assert b == GOLDEN
    d = RansDecoder(b)
    assert [d.get_symbol(t, 1000) for _ in syms] == syms
    assert [d.get_uniform(n) for _, n in unis] == [v for v, _ in unis]
    assert d.get([0], [1 << 16]) == 0
    assert d.get([0, 65535], [65535, 1]) == 1
    d.finish()


def test_escape_coding_layout():
    t = CdfTable(1, [100, 65000, 400, 36])
    # |q| = 5, B = 1: v = 3, v + 1 = 4 = 0b100, n = 3, low bits 00, sign 1
    ops = symbol_ops(-5, t)
    assert ops == [(65500, 36), (3 << 12, 1 << 12), (0, 1 << 14), (1 << 15, 1 << 15)]
    # |q| = B + 1: v = 0, n = 1, no low bits
    assert symbol_ops(2, t) == [(65500, 36), (1 << 12, 1 << 12), (0, 1 << 15)]


def _tables():
    return [gaussian_table(s, b) for s, b in ((0.3, 1), (2.0, 6), (9.0, 30), (60.0, 200))]


def test_round_trip_random_with_escapes():
    rng = np.random.default_rng(3)
    tabs = _tables()
    R = 32767
    for trial in range(4):
        n = int(rng.integers(1, 400))
        items = []
        for _ in range(n):
            t = tabs[int(rng.integers(len(tabs)))]
            kind = rng.random()
            if kind < 0.1:
                q = int(rng.integers(-R, R + 1))          # far escapes up to the bound
            elif kind < 0.2:
                q = int(rng.choice([-R, R, t.B + 1, -t.B - 1, t.B, -t.B]))
            else:
                q = int(np.clip(np.round(rng.normal(0, 3)), -R, R))
            items.append((q, t))
        e = RansEncoder()
        for q, t in items:
            e.put_symbol(q, t)
        b = e.finish()
        d = RansDecoder(b)
        assert [d.get_symbol(t, R) for _, t in items] == [q for q, _ in items]
        d.finish()


def _stream():
    rng = np.random.default_rng(5)
    tabs = _tables()
    items = [(int(np.round(rng.normal(0, 4))), tabs[i % 4]) for i in range(300)]
    e = RansEncoder()
    for q, t in items:
        e.put_symbol(q, t)
    return e.finish(), items


def _decode_all(b, items):
    d = RansDecoder(b)
    out = [d.get_symbol(t, 32767) for _, t in items]
    d.finish()
    return out


def test_damage_detected_by_end_check():
    b, items = _stream()
    assert _decode_all(b, items) == [q for q, _ in items]
    with pytest.raises(RansError):
        _decode_all(b[:-1], items)                  # truncated
    with pytest.raises(RansError):
        _decode_all(b + b"\0", items)               # extra byte not consumed
    with pytest.raises(RansError):
        _decode_all(b, items[:-1])                  # fewer operations: states not back at L
    # Random bit flips: the end check is probabilistic.  A flip can change a single symbol
    # and let the state resynchronise (4 of these 40 do), so only most flips are detected.
    rng = np.random.default_rng(9)
    detected = 0
    for _ in range(40):
        bad = bytearray(b)
        i = int(rng.integers(len(bad)))
        bad[i] ^= 1 << int(rng.integers(8))
        try:
            _decode_all(bytes(bad), items)
        except RansError:
            detected += 1
    assert detected >= 34


def test_bound_and_table_checks():
    t = CdfTable(2, [1000, 12000, 40000, 11000, 1500, 36])
    e = RansEncoder()
    e.put_symbol(9, t)
    d = RansDecoder(e.finish())
    with pytest.raises(RansError):
        d.get_symbol(t, 8)                          # beyond the bound R
    with pytest.raises(ValueError):
        CdfTable(1, [0, 65535, 1, 0])
    with pytest.raises(ValueError):
        CdfTable(1, [1, 65532, 1, 1])
    with pytest.raises(RansError):
        RansDecoder(b"\0" * 7)
    with pytest.raises(RansError):                   # initial state below L
        RansDecoder(bytes(8))
    assert RANS_L == 1 << 23
