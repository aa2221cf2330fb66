#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Independent reference for codec/FORMAT.md §2.1-2.2, written from the text of the document.

Prints the golden streams that tests/test_rans.c checks byte for byte.  Run:
    /usr/bin/python3 tests/rans_reference.py
"""

PROB_BITS = 16
L = 1 << 23


def table_starts(freqs):
    """Start of each entry = sum of the frequencies before it (§2.2)."""
    assert all(f >= 1 for f in freqs) and sum(freqs) == 1 << PROB_BITS
    starts, acc = [], 0
    for f in freqs:
        starts.append(acc)
        acc += f
    return starts


def ops_for_symbol(q, bound, freqs):
    """The coding operations (start, freq) of symbol q with a table of bound B (§2.2)."""
    starts = table_starts(freqs)
    if abs(q) <= bound:
        i = q + bound  # entries are in the order -B .. B, escape
        return [(starts[i], freqs[i])]
    esc = 2 * bound + 1
    ops = [(starts[esc], freqs[esc])]
    v = abs(q) - bound - 1
    n = (v + 1).bit_length()
    assert 1 <= n <= 15
    ops.append(uniform(n, 4))
    if n > 1:
        ops.append(uniform((v + 1) & ((1 << (n - 1)) - 1), n - 1))
    ops.append(uniform(1 if q < 0 else 0, 1))
    return ops


def uniform(value, n):
    """A uniform value of n bits: freq = 2^(16-n), start = value * 2^(16-n) (§2.1)."""
    assert 1 <= n <= 15 and 0 <= value < (1 << n)
    return (value << (16 - n), 1 << (16 - n))


def encode(ops):
    """ops in decoding order; operation j uses state j mod 2; coded in reverse (§2.1)."""
    x = [L, L]
    out = bytearray()  # built backwards: each new byte goes before the previous ones
    for j in reversed(range(len(ops))):
        start, freq = ops[j]
        assert freq >= 1 and start + freq <= 1 << PROB_BITS
        s = x[j % 2]
        x_max = freq << 15
        while s >= x_max:
            out.insert(0, s & 0xFF)
            s >>= 8
        s = ((s // freq) << 16) + (s % freq) + start
        assert L <= s < 1 << 31
        x[j % 2] = s
    out[0:0] = x[1].to_bytes(4, "little")  # state 1 prepended first,
    out[0:0] = x[0].to_bytes(4, "little")  # then state 0: the slice begins with state 0
    return bytes(out)


class Decoder:
    """The decoder of §2.1: two states read from the first 8 bytes, then one call per op."""

    def __init__(self, data):
        assert len(data) >= 8
        self.data = data
        self.x = [int.from_bytes(data[0:4], "little"), int.from_bytes(data[4:8], "little")]
        assert all(L <= s < 1 << 31 for s in self.x)
        self.pos = 8
        self.j = 0

    def op(self, entries):
        """entries: the (start, freq) of the values this operation may take; returns the index
        of the one whose [start, start + freq) contains the slot."""
        s = self.x[self.j % 2]
        slot = s & 0xFFFF
        (k,) = [k for k, (st, f) in enumerate(entries) if st <= slot < st + f]
        st, f = entries[k]
        s = f * (s >> 16) + slot - st
        while s < L:
            s = (s << 8) | self.data[self.pos]
            self.pos += 1
        self.x[self.j % 2] = s
        self.j += 1
        return k

    def uniform(self, n):
        return self.op([uniform(v, n) for v in range(1 << n)])

    def symbol(self, bound, freqs, limit):
        starts = table_starts(freqs)
        k = self.op(list(zip(starts, freqs)))
        if k <= 2 * bound:
            return k - bound
        n = self.uniform(4)
        assert n != 0
        v1 = 1 << (n - 1)
        if n > 1:
            v1 |= self.uniform(n - 1)
        neg = self.uniform(1)
        mag = v1 - 1 + bound + 1  # |q| = v + B + 1 with v + 1 = v1
        assert mag <= limit
        return -mag if neg else mag

    def end_check(self):
        assert self.x == [L, L] and self.pos == len(self.data), "end check"


# The golden case: a B = 2 table and a mix of in-table symbols, escapes and uniform values.
GOLDEN_BOUND = 2
GOLDEN_FREQS = [1000, 12000, 40000, 11000, 1500, 36]  # -2, -1, 0, 1, 2, escape
GOLDEN_SYMBOLS = [0, 1, -1, 0, 2, -2, 3, -9, 0, 0, 700, -1, 1, 0]
GOLDEN_UNIFORMS = [(5, 3), (0, 1), (32767, 15), (1, 1), (9, 4)]


def golden_ops():
    """Symbols first (in order), then the uniform values, then one raw operation of freq 2^16."""
    ops = []
    for q in GOLDEN_SYMBOLS:
        ops += ops_for_symbol(q, GOLDEN_BOUND, GOLDEN_FREQS)
    for value, n in GOLDEN_UNIFORMS:
        ops.append(uniform(value, n))
    ops.append((0, 1 << 16))
    ops.append((65535, 1))
    return ops


def c_array(name, data):
    lines = [f"static const uint8_t {name}[{len(data)}] = {{"]
    for i in range(0, len(data), 12):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in data[i:i + 12]) + ",")
    lines.append("};")
    return "\n".join(lines)


def main():
    ops = golden_ops()
    data = encode(ops)
    # self-check with the literal decoder
    d = Decoder(data)
    assert [d.symbol(GOLDEN_BOUND, GOLDEN_FREQS, 1000) for _ in GOLDEN_SYMBOLS] == GOLDEN_SYMBOLS
    assert [(d.uniform(n), n) for _, n in GOLDEN_UNIFORMS] == GOLDEN_UNIFORMS
    assert d.op([(0, 1 << 16)]) == 0
    assert d.op([(0, 65535), (65535, 1)]) == 1
    d.end_check()
    print(f"/* {len(ops)} operations */")
    print(c_array("golden_stream", data))
    print(c_array("golden_empty", encode([])))


if __name__ == "__main__":
    main()
