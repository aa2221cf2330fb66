# SPDX-License-Identifier: LGPL-2.1-or-later
"""rANS entropy coder of codec/FORMAT.md §2.1-2.2, in plain Python integers.

Two interleaved 32-bit states, byte-wise renormalisation, 16-bit probabilities.  Operations are
numbered in decoding order; operation j uses state j mod 2.  The encoder collects the
operations of a slice and codes them in reverse, writing bytes backwards.
"""
from bisect import bisect_right

PROB_BITS = 16
PROB_SCALE = 1 << PROB_BITS
RANS_L = 1 << 23
STATE_MAX = 1 << 31
MAX_B = 1024


class RansError(ValueError):
    """A damaged or invalid rANS stream, or an invalid table/symbol."""


class CdfTable:
    """A CDF table (§2.2): symbols -B..B and an escape, freqs summing to 2^16, each >= 1."""

    __slots__ = ("B", "freqs", "starts")

    def __init__(self, B, freqs):
        B = int(B)
        freqs = [int(f) for f in freqs]
        if not 1 <= B <= MAX_B:
            raise RansError(f"table bound B={B} outside 1..{MAX_B}")
        if len(freqs) != 2 * B + 2:
            raise RansError(f"table has {len(freqs)} frequencies, expected {2 * B + 2}")
        if min(freqs) < 1:
            raise RansError("table frequency < 1")
        if sum(freqs) != PROB_SCALE:
            raise RansError(f"table frequencies sum to {sum(freqs)}, expected 65536")
        self.B = B
        self.freqs = freqs
        starts, acc = [], 0
        for f in freqs:
            starts.append(acc)
            acc += f
        self.starts = starts

    @property
    def escape(self):
        return 2 * self.B + 1

    def __eq__(self, other):
        return isinstance(other, CdfTable) and self.B == other.B and self.freqs == other.freqs

    def __repr__(self):
        return f"CdfTable(B={self.B})"


def symbol_ops(q, table):
    """The coding operations (start, freq) of symbol q with `table`, in decoding order."""
    q = int(q)
    B = table.B
    if -B <= q <= B:
        i = q + B
        return [(table.starts[i], table.freqs[i])]
    e = table.escape
    ops = [(table.starts[e], table.freqs[e])]
    v = abs(q) - B - 1
    n = (v + 1).bit_length()
    if n > 15:
        raise RansError(f"symbol {q} too large to escape-code")
    ops.append(uniform_op(n, 4))
    if n > 1:
        ops.append(uniform_op((v + 1) & ((1 << (n - 1)) - 1), n - 1))
    ops.append(uniform_op(1 if q < 0 else 0, 1))
    return ops


def uniform_op(value, nbits):
    """Operation of a uniform value of nbits bits (1 <= nbits <= 15)."""
    assert 1 <= nbits <= 15 and 0 <= value < (1 << nbits)
    sh = PROB_BITS - nbits
    return (value << sh, 1 << sh)


class RansEncoder:
    """Collects operations in decoding order; finish() produces the slice bytes."""

    def __init__(self):
        self.ops = []

    def put(self, start, freq):
        assert freq >= 1 and start >= 0 and start + freq <= PROB_SCALE
        self.ops.append((start, freq))

    def put_symbol(self, q, table):
        self.ops.extend(symbol_ops(q, table))

    def put_uniform(self, value, nbits):
        self.ops.append(uniform_op(value, nbits))

    def finish(self):
        out = bytearray()  # bytes in reverse order; reversed at the end
        x = [RANS_L, RANS_L]
        ops = self.ops
        for j in range(len(ops) - 1, -1, -1):
            start, freq = ops[j]
            s = j & 1
            xs = x[s]
            x_max = freq << 15
            while xs >= x_max:
                out.append(xs & 0xFF)
                xs >>= 8
            x[s] = ((xs // freq) << 16) + (xs % freq) + start
        out.reverse()
        return x[0].to_bytes(4, "little") + x[1].to_bytes(4, "little") + bytes(out)


class RansDecoder:
    """Decodes one slice; operations alternate states 0, 1, 0, ..."""

    def __init__(self, data):
        data = bytes(data)
        if len(data) < 8:
            raise RansError(f"rANS slice of {len(data)} bytes is shorter than 8")
        self.data = data
        self.pos = 8
        self.x = [int.from_bytes(data[0:4], "little"), int.from_bytes(data[4:8], "little")]
        for s in self.x:
            if not RANS_L <= s < STATE_MAX:
                raise RansError("rANS initial state out of range (damaged slice)")
        self.j = 0

    def _advance(self, start, freq):
        s = self.j & 1
        xs = self.x[s]
        xs = freq * (xs >> 16) + (xs & 0xFFFF) - start
        data, pos = self.data, self.pos
        while xs < RANS_L:
            if pos >= len(data):
                raise RansError("rANS slice exhausted (damaged slice)")
            xs = (xs << 8) | data[pos]
            pos += 1
        self.pos = pos
        self.x[s] = xs
        self.j += 1

    def peek(self):
        return self.x[self.j & 1] & 0xFFFF

    def get(self, starts, freqs):
        """Decode one operation against a start list; returns the entry index."""
        slot = self.peek()
        i = bisect_right(starts, slot) - 1
        if slot >= starts[i] + freqs[i]:
            raise RansError("rANS slot in no entry")
        self._advance(starts[i], freqs[i])
        return i

    def get_uniform(self, nbits):
        sh = PROB_BITS - nbits
        v = self.peek() >> sh
        self._advance(v << sh, 1 << sh)
        return v

    def get_symbol(self, table, bound):
        """Decode one symbol; `bound` is the symbol bound (R or Rz)."""
        i = self.get(table.starts, table.freqs)
        B = table.B
        if i <= 2 * B:
            q = i - B
        else:
            n = self.get_uniform(4)
            if n == 0:
                raise RansError("escape length 0 (damaged slice)")
            low = self.get_uniform(n - 1) if n > 1 else 0
            v = ((1 << (n - 1)) | low) - 1
            neg = self.get_uniform(1)
            a = v + B + 1
            q = -a if neg else a
        if abs(q) > bound:
            raise RansError(f"decoded symbol {q} beyond the bound {bound} (damaged slice)")
        return q

    def finish(self):
        """End check: both states back at L and every byte consumed."""
        if self.x[0] != RANS_L or self.x[1] != RANS_L or self.pos != len(self.data):
            raise RansError("rANS end check failed (damaged slice)")
