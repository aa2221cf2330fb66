# SPDX-License-Identifier: LGPL-2.1-or-later
"""`.lvcm` model files (codec/FORMAT.md §3): in-memory model, strict reader, writer, model id,
a builder API for exporters, and `random_test_model` (a complete, valid, random lvc-s model).
"""
import hashlib
import math
import struct

import numpy as np

from .rans import CdfTable, PROB_SCALE

FORMAT_VERSION = 1
OPSET_VERSION = 1
PROFILE_LVC_S = 1
QP_COUNT = 64
NONE_IDX = 0xFFFFFFFF

# op codes (ARITHMETIC.md §3)
CONV, ADD, RESCALE, CONCAT, QMUL, SHUFFLE, UNSHUFFLE, CBMASK, CBMERGE, PAD, CROP, ACT = range(1, 13)
OP_NAMES = {CONV: "conv", ADD: "add", RESCALE: "rescale", CONCAT: "concat", QMUL: "qmul",
            SHUFFLE: "shuffle", UNSHUFFLE: "unshuffle", CBMASK: "cbmask", CBMERGE: "cbmerge",
            PAD: "pad", CROP: "crop", ACT: "act"}
ACT_NONE, ACT_RELU, ACT_LRELU = 0, 1, 2
_ACT_OPS = (CONV, ADD, RESCALE, QMUL, ACT)          # ops that may carry an activation
_ARG_OPS = (SHUFFLE, UNSHUFFLE, CBMASK, CBMERGE, PAD, CROP)

DTYPES = {1: np.dtype("<i1"), 2: np.dtype("<i2"), 3: np.dtype("<i4")}
DTYPE_CODE = {np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("int32"): 3}

SECTION_TAGS = (b"META", b"GRPH", b"TENS", b"ENTR", b"DATA")


class ModelError(ValueError):
    """A model file or model object that violates FORMAT.md §3 / ARITHMETIC.md §3."""


# --------------------------------------------------------------------------------------------
# in-memory model

class Tensor:
    def __init__(self, name, data, exps=()):
        self.name = name
        self.data = np.ascontiguousarray(data)
        if self.data.dtype not in DTYPE_CODE:
            raise ModelError(f"tensor {name}: dtype {self.data.dtype} not int8/int16/int32")
        self.exps = np.asarray(exps, dtype=np.int64).reshape(-1)

    @property
    def dtype_code(self):
        return DTYPE_CODE[self.data.dtype]

    @property
    def dims(self):
        return tuple(int(d) for d in self.data.shape)

    def desc_bytes(self):
        """dtype, ndim, dims, n_exp, exponents (as in TENS and in the model id)."""
        b = struct.pack("<BB", self.dtype_code, len(self.dims))
        b += struct.pack(f"<{len(self.dims)}I", *self.dims)
        b += struct.pack("<I", len(self.exps)) + struct.pack(f"<{len(self.exps)}b", *self.exps)
        return b

    def data_bytes(self):
        return self.data.astype(self.data.dtype.newbyteorder("<")).tobytes()


class GraphInput:
    def __init__(self, name, channels, level, exponent):
        self.name, self.channels, self.level, self.exponent = name, channels, level, exponent


class Node:
    def __init__(self, op, inputs, out_channels, fo, act=0, act_k=0, k=0, stride=0, pad=0,
                 groups=0, arg=0, tensor=NONE_IDX, bias=NONE_IDX):
        self.op, self.inputs = op, list(inputs)
        self.out_channels, self.fo = out_channels, fo
        self.act, self.act_k = act, act_k
        self.k, self.stride, self.pad, self.groups, self.arg = k, stride, pad, groups, arg
        self.tensor, self.bias = tensor, bias

    def __repr__(self):
        return (f"Node({OP_NAMES.get(self.op, self.op)} in={self.inputs} C={self.out_channels} "
                f"fo={self.fo})")


class Graph:
    def __init__(self, name, encoder_only=False):
        self.name = name
        self.encoder_only = encoder_only
        self.inputs = []    # GraphInput
        self.nodes = []     # Node
        self.outputs = []   # (name, value index)

    def output_value(self, name):
        for n, v in self.outputs:
            if n == name:
                return v
        raise KeyError(name)


class EntropyParams:
    def __init__(self, skip_bins, R, thresholds, y_tables, Rz, z_tables, Rz_p=None,
                 z_tables_p=None):
        self.skip_bins = int(skip_bins)
        self.R = int(R)
        self.thresholds = [int(t) for t in thresholds]
        self.y_tables = list(y_tables)        # nb CdfTable
        self.Rz = int(Rz)
        self.z_tables = [list(b) for b in z_tables]   # [n_buckets][channels] CdfTable
        # optional P-frame z set (FORMAT.md §3.6); None: P-frames use the I-frame set
        self.Rz_p = None if z_tables_p is None else int(Rz_p)
        self.z_tables_p = None if z_tables_p is None else [list(b) for b in z_tables_p]

    def zset(self, inter):
        """(Rz, tables [bucket][channel]) that a frame of this type codes z with."""
        if inter and self.z_tables_p is not None:
            return self.Rz_p, self.z_tables_p
        return self.Rz, self.z_tables

    @property
    def nb(self):
        return len(self.y_tables)

    @property
    def n_buckets(self):
        return len(self.z_tables)

    @property
    def z_channels(self):
        return len(self.z_tables[0]) if self.z_tables else 0


class Model:
    def __init__(self, meta=None, profile=PROFILE_LVC_S, opset=OPSET_VERSION):
        self.meta = dict(meta or {"name": "unnamed"})
        self.profile = profile
        self.opset = opset
        self.qp_count = QP_COUNT
        self.graphs = []
        self.tensors = []
        self.entropy = None

    # -- builder API --
    def add_tensor(self, name, data, exps=()):
        self.tensors.append(Tensor(name, data, exps))
        return len(self.tensors) - 1

    def graph_builder(self, name, encoder_only=None):
        if encoder_only is None:
            encoder_only = name.endswith(".analysis") or name.endswith(".hyper_analysis")
        return GraphBuilder(self, name, encoder_only)

    def graph(self, name):
        for g in self.graphs:
            if g.name == name:
                return g
        raise KeyError(name)

    def has_graph(self, name):
        return any(g.name == name for g in self.graphs)

    @property
    def has_inter(self):
        return self.has_graph("inter.synthesis")

    # -- derived --
    def model_id(self):
        return model_id(self)

    def model_id_hex(self):
        return model_id(self).hex()

    def to_bytes(self):
        return write_bytes(self)

    def save(self, path):
        with open(path, "wb") as f:
            f.write(write_bytes(self))

    def validate(self):
        return validate(self)

    def fm(self):
        return self._info()["fm"]

    def _info(self):
        if getattr(self, "_cached_info", None) is None:
            self._cached_info = validate(self)
        return self._cached_info


# --------------------------------------------------------------------------------------------
# builder

class GraphBuilder:
    """Appends nodes to a graph; every helper returns the new value's index."""

    def __init__(self, model, name, encoder_only):
        self.model = model
        self.g = Graph(name, encoder_only)
        self.info = []          # (channels, level, exponent) per value

    def ch(self, v):
        return self.info[v][0]

    def level(self, v):
        return self.info[v][1]

    def exp(self, v):
        return self.info[v][2]

    def input(self, name, channels, level, exponent):
        if self.g.nodes:
            raise ModelError("graph inputs must come before nodes")
        self.g.inputs.append(GraphInput(name, channels, level, exponent))
        self.info.append((channels, level, exponent))
        return len(self.info) - 1

    def _node(self, node, channels, level, fo):
        self.g.nodes.append(node)
        self.info.append((channels, level, fo))
        return len(self.info) - 1

    @staticmethod
    def _act(act):
        if act is None or act == "none":
            return 0, 0
        if act == "relu":
            return ACT_RELU, 0
        if isinstance(act, tuple) and act[0] == "lrelu":
            return ACT_LRELU, int(act[1])
        raise ModelError(f"bad activation {act!r}")

    def conv(self, x, weight, bias, fo, k, stride=1, pad=0, groups=1, act=None):
        cout = self.model.tensors[weight].dims[0]
        a, ak = self._act(act)
        n = Node(CONV, [x], cout, fo, a, ak, k, stride, pad, groups, 0, weight,
                 NONE_IDX if bias is None else bias)
        return self._node(n, cout, self.level(x) - (1 if stride == 2 else 0), fo)

    def add(self, a, b, fo, act=None):
        ac, ak = self._act(act)
        return self._node(Node(ADD, [a, b], self.ch(a), fo, ac, ak), self.ch(a), self.level(a), fo)

    def rescale(self, x, fo, act=None):
        ac, ak = self._act(act)
        return self._node(Node(RESCALE, [x], self.ch(x), fo, ac, ak), self.ch(x), self.level(x), fo)

    def concat(self, *xs):
        c = sum(self.ch(x) for x in xs)
        return self._node(Node(CONCAT, list(xs), c, self.exp(xs[0])), c, self.level(xs[0]),
                          self.exp(xs[0]))

    def qmul(self, x, table, fo, act=None):
        ac, ak = self._act(act)
        n = Node(QMUL, [x], self.ch(x), fo, ac, ak, tensor=table)
        return self._node(n, self.ch(x), self.level(x), fo)

    def shuffle(self, x, r):
        c = self.ch(x) // (r * r)
        return self._node(Node(SHUFFLE, [x], c, self.exp(x), arg=r), c,
                          self.level(x) + int(math.log2(r)), self.exp(x))

    def unshuffle(self, x, r):
        c = self.ch(x) * r * r
        return self._node(Node(UNSHUFFLE, [x], c, self.exp(x), arg=r), c,
                          self.level(x) - int(math.log2(r)), self.exp(x))

    def cbmask(self, x, parity):
        return self._node(Node(CBMASK, [x], self.ch(x), self.exp(x), arg=parity), self.ch(x),
                          self.level(x), self.exp(x))

    def cbmerge(self, a, b, parity):
        return self._node(Node(CBMERGE, [a, b], self.ch(a), self.exp(a), arg=parity), self.ch(a),
                          self.level(a), self.exp(a))

    def pad(self, x, multiple):
        return self._node(Node(PAD, [x], self.ch(x), self.exp(x), arg=multiple), self.ch(x),
                          self.level(x), self.exp(x))

    def crop(self, x, level):
        return self._node(Node(CROP, [x], self.ch(x), self.exp(x), arg=level), self.ch(x),
                          level, self.exp(x))

    def act(self, x, act):
        ac, ak = self._act(act)
        return self._node(Node(ACT, [x], self.ch(x), self.exp(x), ac, ak), self.ch(x),
                          self.level(x), self.exp(x))

    def output(self, name, v):
        self.g.outputs.append((name, v))

    def finish(self):
        self.model.graphs.append(self.g)
        self.model._cached_info = None
        return self.g


# --------------------------------------------------------------------------------------------
# serialisation

def _name_bytes(s):
    b = s.encode("utf-8")
    if len(b) > 255:
        raise ModelError(f"name too long: {s!r}")
    return struct.pack("<B", len(b)) + b


def graph_record(g, remap=None):
    """The GRPH record of one graph (§3.3); `remap` maps file tensor indices (model id)."""
    def ti(i):
        if i == NONE_IDX or remap is None:
            return i
        return remap[i]

    b = _name_bytes(g.name) + struct.pack("<B", 1 if g.encoder_only else 0)
    b += struct.pack("<B", len(g.inputs))
    for gi in g.inputs:
        b += _name_bytes(gi.name) + struct.pack("<Hbb", gi.channels, gi.level, gi.exponent)
    b += struct.pack("<H", len(g.nodes))
    for n in g.nodes:
        b += struct.pack("<BBBBHbBBBHhHII", n.op, n.act, n.act_k, len(n.inputs), n.out_channels,
                         n.fo, n.k, n.stride, n.pad, n.groups, n.arg, 0, ti(n.tensor), ti(n.bias))
        ins = struct.pack(f"<{len(n.inputs)}H", *n.inputs)
        ins += b"\0" * ((-len(ins)) % 4)
        b += ins
    b += struct.pack("<B", len(g.outputs))
    for name, v in g.outputs:
        b += _name_bytes(name) + struct.pack("<H", v)
    return b


def _table_bytes(t):
    return struct.pack(f"<H{len(t.freqs)}H", t.B, *t.freqs)


def entr_bytes(e):
    b = struct.pack("<HHH", e.nb, e.skip_bins, e.R)
    b += struct.pack(f"<{len(e.thresholds)}i", *e.thresholds)
    for t in e.y_tables:
        b += _table_bytes(t)
    sets = [(e.Rz, e.z_tables)]
    if e.z_tables_p is not None:
        sets.append((e.Rz_p, e.z_tables_p))
    for rz, tabs in sets:
        b += struct.pack("<BHH", len(tabs), len(tabs[0]), rz)
        for bucket in tabs:
            for t in bucket:
                b += _table_bytes(t)
    return b


def _align64(n):
    return (n + 63) & ~63


def write_bytes(model):
    validate(model)
    meta = "".join(f"{k}={v}\n" for k, v in model.meta.items()).encode("utf-8")
    grph = struct.pack("<I", len(model.graphs)) + b"".join(graph_record(g) for g in model.graphs)
    data = bytearray()
    tens = struct.pack("<I", len(model.tensors))
    for t in model.tensors:
        off = _align64(len(data))
        data += b"\0" * (off - len(data))
        raw = t.data_bytes()
        data += raw
        tens += _name_bytes(t.name) + t.desc_bytes() + struct.pack("<QQ", off, len(raw))
    payload = {b"META": meta, b"GRPH": grph, b"TENS": tens, b"ENTR": entr_bytes(model.entropy),
               b"DATA": bytes(data)}
    ns = len(SECTION_TAGS)
    out = bytearray(64)
    out += b"\0" * (24 * ns)
    for i, tag in enumerate(SECTION_TAGS):
        out += b"\0" * (_align64(len(out)) - len(out))
        struct.pack_into("<4sIQQ", out, 64 + 24 * i, tag, 0, len(out), len(payload[tag]))
        out += payload[tag]
    size = len(out) + 32
    out[0:64] = struct.pack("<4sHHBBHIQ40s", b"LVCM", FORMAT_VERSION, model.opset, model.profile,
                            model.qp_count, 0, ns, size, b"\0" * 40)
    out += hashlib.sha256(bytes(out)).digest()
    return bytes(out)


class _Cur:
    """Bounds-checked little-endian reader."""

    def __init__(self, buf, what):
        self.buf, self.pos, self.what = buf, 0, what

    def take(self, n):
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelError(f"{self.what}: truncated at byte {self.pos} (need {n})")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size))

    def u8(self):
        return self.unpack("B")[0]

    def u16(self):
        return self.unpack("H")[0]

    def u32(self):
        return self.unpack("I")[0]

    def name(self):
        try:
            return self.take(self.u8()).decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"{self.what}: name is not UTF-8") from None

    def left(self):
        return len(self.buf) - self.pos

    def end(self):
        if self.pos != len(self.buf):
            raise ModelError(f"{self.what}: {len(self.buf) - self.pos} trailing bytes")


def _read_table(c):
    B = c.u16()
    if not 1 <= B <= 1024:
        raise ModelError(f"ENTR: table bound {B} outside 1..1024")
    freqs = c.unpack(f"{2 * B + 2}H")
    try:
        return CdfTable(B, freqs)
    except ValueError as e:
        raise ModelError(f"ENTR: {e}") from None


def read_bytes(buf):
    buf = bytes(buf)
    if len(buf) < 64 + 24 + 32:
        raise ModelError("model file too short")
    if hashlib.sha256(buf[:-32]).digest() != buf[-32:]:
        raise ModelError("model file checksum mismatch")
    magic, fver, opset, profile, qpc, res, ns, size, res40 = struct.unpack_from(
        "<4sHHBBHIQ40s", buf, 0)
    if magic != b"LVCM":
        raise ModelError("not an .lvcm file (bad magic)")
    if fver != FORMAT_VERSION:
        raise ModelError(f"unsupported model format version {fver}")
    if opset != OPSET_VERSION:
        raise ModelError(f"unsupported op-set version {opset}")
    if profile != PROFILE_LVC_S:
        raise ModelError(f"unknown profile {profile}")
    if qpc != QP_COUNT:
        raise ModelError(f"qp count {qpc} != 64")
    if res != 0 or res40 != b"\0" * 40:
        raise ModelError("reserved header bytes not zero")
    if size != len(buf):
        raise ModelError(f"header file size {size} != actual {len(buf)}")
    if not 1 <= ns <= 16:
        raise ModelError(f"section count {ns} outside 1..16")
    dir_end = 64 + 24 * ns
    footer = len(buf) - 32
    if dir_end > footer:
        raise ModelError("section directory truncated")
    secs = {}
    spans = []
    for i in range(ns):
        tag, r, off, sz = struct.unpack_from("<4sIQQ", buf, 64 + 24 * i)
        if tag not in SECTION_TAGS:
            raise ModelError(f"unknown section tag {tag!r}")
        if tag in secs:
            raise ModelError(f"duplicate section {tag!r}")
        if r != 0:
            raise ModelError("reserved directory field not zero")
        if off % 64 or off < dir_end or off + sz > footer:
            raise ModelError(f"section {tag!r} misplaced (offset {off}, size {sz})")
        secs[tag] = buf[off:off + sz]
        spans.append((off, off + sz))
    spans.sort()
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        if b0 < a1:
            raise ModelError("sections overlap")
    for tag in SECTION_TAGS:
        if tag not in secs:
            raise ModelError(f"missing section {tag!r}")

    m = Model(meta={}, profile=profile, opset=opset)
    try:
        text = secs[b"META"].decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError("META is not UTF-8") from None
    for line in text.split("\n")[:-1] if text else []:
        if "=" not in line:
            raise ModelError(f"META line without '=': {line!r}")
        k, v = line.split("=", 1)
        m.meta[k] = v
    if text and not text.endswith("\n"):
        raise ModelError("META does not end with a newline")
    if "name" not in m.meta:
        raise ModelError("META lacks the required key 'name'")

    # TENS + DATA
    data = secs[b"DATA"]
    c = _Cur(secs[b"TENS"], "TENS")
    nt = c.u32()
    if not 1 <= nt <= 65535:
        raise ModelError(f"tensor count {nt} outside 1..65535")
    for _ in range(nt):
        name = c.name()
        dt, ndim = c.unpack("BB")
        if dt not in DTYPES:
            raise ModelError(f"tensor {name}: bad dtype {dt}")
        if not 1 <= ndim <= 4:
            raise ModelError(f"tensor {name}: ndim {ndim}")
        dims = c.unpack(f"{ndim}I")
        if min(dims) < 1 or math.prod(dims) > (1 << 26):
            raise ModelError(f"tensor {name}: bad dims {dims}")
        n_exp = c.u32()
        if n_exp not in (0, 1, dims[0]):
            raise ModelError(f"tensor {name}: n_exp {n_exp}")
        exps = c.unpack(f"{n_exp}b")
        off, sz = c.unpack("QQ")
        if off % 64 or sz != math.prod(dims) * DTYPES[dt].itemsize or off + sz > len(data):
            raise ModelError(f"tensor {name}: bad offset/size")
        arr = np.frombuffer(data, DTYPES[dt], math.prod(dims), off).reshape(dims)
        m.tensors.append(Tensor(name, arr.astype(DTYPES[dt].newbyteorder("=")), exps))
    c.end()

    # GRPH
    c = _Cur(secs[b"GRPH"], "GRPH")
    ng = c.u32()
    if not 1 <= ng <= 64:
        raise ModelError(f"graph count {ng} outside 1..64")
    for _ in range(ng):
        g = Graph(c.name())
        flags = c.u8()
        if flags & ~1:
            raise ModelError(f"graph {g.name}: reserved flag bits set")
        g.encoder_only = bool(flags & 1)
        ni = c.u8()
        if not 1 <= ni <= 8:
            raise ModelError(f"graph {g.name}: {ni} inputs")
        for _ in range(ni):
            nm = c.name()
            ch, lv, ex = c.unpack("Hbb")
            g.inputs.append(GraphInput(nm, ch, lv, ex))
        nn = c.u16()
        if not 1 <= nn <= 4096:
            raise ModelError(f"graph {g.name}: {nn} nodes")
        for _ in range(nn):
            (op, act, act_k, n_in, oc, fo, k, st, pd, grp, arg, r, t, bi) = c.unpack(
                "BBBBHbBBBHhHII")
            if r != 0:
                raise ModelError(f"graph {g.name}: node reserved field not zero")
            ins = c.unpack(f"{n_in}H")
            padb = c.take((-2 * n_in) % 4)
            if any(padb):
                raise ModelError(f"graph {g.name}: node input padding not zero")
            g.nodes.append(Node(op, ins, oc, fo, act, act_k, k, st, pd, grp, arg, t, bi))
        no = c.u8()
        if not 1 <= no <= 8:
            raise ModelError(f"graph {g.name}: {no} outputs")
        for _ in range(no):
            nm = c.name()
            g.outputs.append((nm, c.u16()))
        m.graphs.append(g)
    c.end()

    # ENTR
    c = _Cur(secs[b"ENTR"], "ENTR")
    nb, skip, R = c.unpack("HHH")
    if not 2 <= nb <= 256:
        raise ModelError(f"ENTR: nb {nb} outside 2..256")
    if skip > nb:
        raise ModelError(f"ENTR: skip_bins {skip} > nb")
    if not 1 <= R <= 32767:
        raise ModelError(f"ENTR: R {R}")
    thr = c.unpack(f"{nb - 1}i")
    ytab = [_read_table(c) for _ in range(nb)]
    sets = []
    while not sets or c.left():
        nbk, zc, Rz = c.unpack("BHH")
        if not 1 <= nbk <= 64:
            raise ModelError(f"ENTR: n_buckets {nbk}")
        if zc != 64:
            raise ModelError(f"ENTR: z channels {zc} != 64")
        sets.append((Rz, [[_read_table(c) for _ in range(zc)] for _ in range(nbk)]))
        if len(sets) == 2:
            break
    c.end()
    Rz_p, ztab_p = sets[1] if len(sets) > 1 else (None, None)
    m.entropy = EntropyParams(skip, R, thr, ytab, sets[0][0], sets[0][1], Rz_p, ztab_p)
    validate(m)
    return m


def read(path):
    with open(path, "rb") as f:
        return read_bytes(f.read())


# --------------------------------------------------------------------------------------------
# validation (derive channels/level/exponent of every value, check ARITHMETIC.md §3 and §3.7)

INTERFACE = {
    # name: (encoder_only, [(input, channels or None, level)], [(output, channels or None, level)])
    "intra.analysis": (True, [("x", 96, 0)], [("y", 128, -1)]),
    "intra.hyper_analysis": (True, [("y", 128, -1)], [("z", 64, -3)]),
    "intra.hyper_synthesis": (False, [("zhat", 64, -3)], [("h", None, -1)]),
    "intra.prior_fusion": (False, [("h", None, -1)],
                           [("prior", None, -1), ("mu", 128, -1), ("scale", 128, -1)]),
    "intra.context_step": (False, [("prior", None, -1), ("yhat1", 128, -1)],
                           [("mu", 128, -1), ("scale", 128, -1)]),
    "intra.synthesis": (False, [("yhat", 128, -1)], [("f", 128, 0)]),
    "intra.recon_head": (False, [("f", 128, 0)], [("r", 96, 0)]),
    "inter.context": (False, [("f", 128, 0)], [("c", 128, 0)]),
    "inter.analysis": (True, [("x", 96, 0), ("c", 128, 0)], [("y", 128, -1)]),
    "inter.hyper_analysis": (True, [("y", 128, -1)], [("z", 64, -3)]),
    "inter.hyper_synthesis": (False, [("zhat", 64, -3)], [("h", None, -1)]),
    "inter.temporal_prior": (False, [("c", 128, 0), ("yprev", 128, -1)], [("t", None, -1)]),
    "inter.prior_fusion": (False, [("h", None, -1), ("t", None, -1)],
                           [("prior", None, -1), ("mu", 128, -1), ("scale", 128, -1)]),
    "inter.context_step": (False, [("prior", None, -1), ("yhat1", 128, -1)],
                           [("mu", 128, -1), ("scale", 128, -1)]),
    "inter.synthesis": (False, [("yhat", 128, -1), ("c", 128, 0)], [("f", 128, 0)]),
    "inter.recon_head": (False, [("f", 128, 0)], [("r", 96, 0)]),
    "inter.refresh": (False, [("x", 96, 0)], [("f", 128, 0)]),
}
INTRA_GRAPHS = [n for n in INTERFACE if n.startswith("intra.")]
INTER_GRAPHS = [n for n in INTERFACE if n.startswith("inter.")]

# (graph, input) <- (graph, output) whose exponent it must carry; "fm" / "x7" / "z0" are fixed
_LINKS = {
    ("intra.analysis", "x"): "x7", ("intra.hyper_analysis", "y"): ("intra.analysis", "y"),
    ("intra.hyper_synthesis", "zhat"): "z0",
    ("intra.prior_fusion", "h"): ("intra.hyper_synthesis", "h"),
    ("intra.context_step", "prior"): ("intra.prior_fusion", "prior"),
    ("intra.context_step", "yhat1"): "fm", ("intra.synthesis", "yhat"): "fm",
    ("intra.recon_head", "f"): ("intra.synthesis", "f"),
    ("inter.context", "f"): ("intra.synthesis", "f"),
    ("inter.analysis", "x"): "x7", ("inter.analysis", "c"): ("inter.context", "c"),
    ("inter.hyper_analysis", "y"): ("inter.analysis", "y"),
    ("inter.hyper_synthesis", "zhat"): "z0",
    ("inter.temporal_prior", "c"): ("inter.context", "c"),
    ("inter.temporal_prior", "yprev"): "fm",
    ("inter.prior_fusion", "h"): ("inter.hyper_synthesis", "h"),
    ("inter.prior_fusion", "t"): ("inter.temporal_prior", "t"),
    ("inter.context_step", "prior"): ("inter.prior_fusion", "prior"),
    ("inter.context_step", "yhat1"): "fm",
    ("inter.synthesis", "yhat"): "fm", ("inter.synthesis", "c"): ("inter.context", "c"),
    ("inter.recon_head", "f"): ("inter.synthesis", "f"),
    ("inter.refresh", "x"): "x7",
}


def _chk(cond, msg):
    if not cond:
        raise ModelError(msg)


def validate_graph(model, g):
    """Derive (channels, level, exponent) of every value; check the node rules."""
    T = model.tensors
    info = []
    for gi in g.inputs:
        _chk(1 <= gi.channels <= 4096, f"{g.name}: input {gi.name} channels {gi.channels}")
        _chk(-32 <= gi.exponent <= 32, f"{g.name}: input {gi.name} exponent")
        info.append((gi.channels, gi.level, gi.exponent))
    for ni, n in enumerate(g.nodes):
        where = f"{g.name} node {ni} ({OP_NAMES.get(n.op, n.op)})"
        _chk(n.op in OP_NAMES, f"{where}: unknown op")
        want_nin = {CONCAT: None, ADD: 2, CBMERGE: 2}.get(n.op, 1)
        if want_nin is None:
            _chk(2 <= len(n.inputs) <= 8, f"{where}: n_in {len(n.inputs)}")
        else:
            _chk(len(n.inputs) == want_nin, f"{where}: n_in {len(n.inputs)}")
        for v in n.inputs:
            _chk(v < len(info), f"{where}: reads value {v} not yet defined")
        ins = [info[v] for v in n.inputs]
        c0, l0, f0 = ins[0]
        _chk(n.act in (0, 1, 2), f"{where}: activation {n.act}")
        if n.act == ACT_LRELU:
            _chk(1 <= n.act_k <= 15, f"{where}: lrelu shift {n.act_k}")
        else:
            _chk(n.act_k == 0, f"{where}: act_k must be 0")
        if n.op not in _ACT_OPS:
            _chk(n.act == 0, f"{where}: op takes no activation")
        if n.op == ACT:
            _chk(n.act != 0, f"{where}: ACT without activation")
        if n.op != CONV:
            _chk(n.k == 0 and n.stride == 0 and n.pad == 0 and n.groups == 0,
                 f"{where}: conv fields must be 0")
            _chk(n.bias == NONE_IDX, f"{where}: bias must be none")
        if n.op not in (CONV, QMUL):
            _chk(n.tensor == NONE_IDX, f"{where}: tensor must be none")
        if n.op not in _ARG_OPS:
            _chk(n.arg == 0, f"{where}: arg must be 0")
        _chk(-32 <= n.fo <= 32, f"{where}: exponent {n.fo}")
        fo = n.fo
        if n.op == CONV:
            _chk(1 <= n.k <= 7 and n.stride in (1, 2) and 0 <= n.pad < n.k,
                 f"{where}: k/stride/pad")
            _chk(n.tensor < len(T), f"{where}: weight tensor index")
            w = T[n.tensor]
            _chk(w.dtype_code in (1, 2) and len(w.dims) == 4, f"{where}: weight dtype/ndim")
            cout, cig, kh, kw = w.dims
            _chk(n.groups >= 1 and c0 % n.groups == 0 and cout % n.groups == 0,
                 f"{where}: groups {n.groups}")
            _chk(cig == c0 // n.groups and kh == n.k and kw == n.k, f"{where}: weight shape")
            _chk(n.out_channels == cout, f"{where}: out_channels")
            _chk(len(w.exps) == cout, f"{where}: weight exponents")
            if n.bias != NONE_IDX:
                _chk(n.bias < len(T), f"{where}: bias index")
                b = T[n.bias]
                _chk(b.dtype_code == 3 and b.dims == (cout,) and len(b.exps) == 0,
                     f"{where}: bias must be int32 [{cout}] without exponents")
            S = f0 + w.exps - fo
            _chk(S.min() >= 1 and S.max() <= 30, f"{where}: shift {S.min()}..{S.max()}")
            out = (cout, l0 - (1 if n.stride == 2 else 0), fo)
        elif n.op == ADD:
            _chk(ins[1][0] == c0 and ins[1][1] == l0, f"{where}: inputs differ in shape")
            for _, _, fi in ins:
                _chk(-15 <= fi - fo <= 30, f"{where}: alignment {fi - fo}")
            out = (c0, l0, fo)
        elif n.op == RESCALE:
            _chk(-15 <= f0 - fo <= 30, f"{where}: alignment {f0 - fo}")
            out = (c0, l0, fo)
        elif n.op == CONCAT:
            for c, l, f in ins:
                _chk(l == l0 and f == f0, f"{where}: inputs differ in level/exponent")
            out = (sum(i[0] for i in ins), l0, f0)
        elif n.op == QMUL:
            _chk(n.tensor < len(T), f"{where}: table index")
            t = T[n.tensor]
            _chk(t.dtype_code == 2 and t.dims == (64, c0) and len(t.exps) == 1,
                 f"{where}: q table must be int16 [64][{c0}] with one exponent")
            S = f0 + int(t.exps[0]) - fo
            _chk(1 <= S <= 30, f"{where}: shift {S}")
            out = (c0, l0, fo)
        elif n.op in (SHUFFLE, UNSHUFFLE):
            _chk(n.arg in (2, 4, 8), f"{where}: factor {n.arg}")
            r = n.arg
            lg = {2: 1, 4: 2, 8: 3}[r]
            if n.op == SHUFFLE:
                _chk(c0 % (r * r) == 0, f"{where}: channels not divisible by r^2")
                out = (c0 // (r * r), l0 + lg, f0)
            else:
                out = (c0 * r * r, l0 - lg, f0)
        elif n.op in (CBMASK, CBMERGE):
            _chk(n.arg in (0, 1), f"{where}: parity {n.arg}")
            if n.op == CBMERGE:
                _chk(ins[1] == ins[0], f"{where}: inputs differ")
            out = (c0, l0, f0)
        elif n.op == PAD:
            _chk(1 <= n.arg <= 64, f"{where}: multiple {n.arg}")
            out = (c0, l0, f0)
        elif n.op == CROP:
            _chk(n.arg == l0, f"{where}: crop level {n.arg} != input level {l0}")
            out = (c0, l0, f0)
        else:  # ACT
            out = (c0, l0, f0)
        _chk(n.out_channels == out[0], f"{where}: out_channels {n.out_channels} != {out[0]}")
        _chk(n.fo == out[2], f"{where}: exponent {n.fo} != {out[2]}")
        _chk(out[0] <= 4096, f"{where}: {out[0]} channels")
        _chk(out[0] * 4.0 ** out[1] <= 4096, f"{where}: channels x 4^level > 4096")
        info.append(out)
    for name, v in g.outputs:
        _chk(v < len(info), f"{g.name}: output {name} value {v}")
    return info


def validate(model):
    """Check the whole model; returns a dict with derived exponents (fm, fs, fz, ...)."""
    _chk(model.entropy is not None, "model has no entropy tables")
    _chk(1 <= len(model.graphs) <= 64, "graph count")
    names = [g.name for g in model.graphs]
    _chk(len(set(names)) == len(names), "duplicate graph names")
    intra = all(n in names for n in INTRA_GRAPHS)
    inter = any(n in names for n in INTER_GRAPHS)
    _chk(intra, "missing intra.* graphs")
    if inter:
        _chk(all(n in names for n in INTER_GRAPHS), "incomplete inter.* graphs")
    for n in names:
        _chk(n in INTERFACE, f"unknown graph {n}")
    outexp = {}
    for g in model.graphs:
        enc, ins, outs = INTERFACE[g.name]
        _chk(g.encoder_only == enc, f"{g.name}: encoder-only flag")
        info = validate_graph(model, g)
        _chk([i.name for i in g.inputs] == [i[0] for i in ins], f"{g.name}: input names")
        _chk([o[0] for o in g.outputs] == [o[0] for o in outs], f"{g.name}: output names")
        for gi, (nm, ch, lv) in zip(g.inputs, ins):
            _chk(ch is None or gi.channels == ch, f"{g.name}: input {nm} channels")
            _chk(gi.level == lv, f"{g.name}: input {nm} level")
        for (nm, v), (_, ch, lv) in zip(g.outputs, outs):
            c, l, f = info[v]
            _chk(ch is None or c == ch, f"{g.name}: output {nm} has {c} channels")
            _chk(l == lv, f"{g.name}: output {nm} level {l}")
            outexp[(g.name, nm)] = (c, f)
    fms = {outexp[(g, "mu")][1] for g in names if (g, "mu") in outexp}
    _chk(len(fms) == 1, f"mu outputs have different exponents {fms}")
    fm = fms.pop()
    _chk(0 <= fm <= 12, f"fm {fm} outside 0..12")
    fs = {}
    for g in names:
        if (g, "scale") in outexp:
            fs[g] = outexp[(g, "scale")][1]
            _chk(0 <= fs[g] <= 15, f"{g}: scale exponent {fs[g]}")
    fz = {}
    fy = {}
    for g in names:
        if g.endswith("hyper_analysis"):
            fz[g] = outexp[(g, "z")][1]
            _chk(fz[g] >= 0, f"{g}: z exponent {fz[g]} < 0")
        if g.endswith(".analysis"):
            fy[g] = outexp[(g, "y")][1]
            _chk(-15 <= fy[g] - fm <= 30, f"{g}: fy - fm out of range")
    ff = {outexp[(g, "f")][1] for g in ("intra.synthesis", "inter.synthesis", "inter.refresh")
          if (g, "f") in outexp}
    _chk(len(ff) == 1, "f outputs have different exponents")
    for g in ("intra.recon_head", "inter.recon_head"):
        if (g, "r") in outexp:
            _chk(0 <= outexp[(g, "r")][1] <= 22, f"{g}: r exponent outside 0..22")
    for g in model.graphs:
        for gi in g.inputs:
            src = _LINKS[(g.name, gi.name)]
            want = {"x7": 7, "z0": 0, "fm": fm}.get(src) if isinstance(src, str) \
                else outexp[src][1]
            _chk(gi.exponent == want, f"{g.name}: input {gi.name} exponent {gi.exponent} "
                                      f"!= {want}")
            if not isinstance(src, str):
                _chk(gi.channels == outexp[src][0], f"{g.name}: input {gi.name} channels")
    e = model.entropy
    _chk(2 <= e.nb <= 256 and 0 <= e.skip_bins <= e.nb, "ENTR: nb / skip_bins")
    _chk(len(e.thresholds) == e.nb - 1, "ENTR: threshold count")
    _chk(all(a < b for a, b in zip(e.thresholds, e.thresholds[1:])),
         "ENTR: thresholds not strictly ascending")
    _chk(1 <= e.R <= 32767 and e.R * (1 << fm) <= 32767, "ENTR: R * 2^fm > 32767")
    _chk(1 <= e.n_buckets <= 64 and e.z_channels == 64, "ENTR: z tables")
    _chk(1 <= e.Rz <= 32767, "ENTR: Rz")
    if e.z_tables_p is not None:
        _chk(model.has_inter, "ENTR: P-frame z tables in an intra-only model")
        _chk(1 <= len(e.z_tables_p) <= 64 and all(len(b) == 64 for b in e.z_tables_p),
             "ENTR: P-frame z tables")
        _chk(1 <= e.Rz_p <= 32767, "ENTR: P-frame Rz")
    return {"fm": fm, "fs": fs, "fz": fz, "fy": fy, "ff": ff.pop(), "outexp": outexp}


# --------------------------------------------------------------------------------------------
# model id (§3.8)

def canonical_bytes(model):
    canon = {}
    recs = []
    for g in model.graphs:
        if g.encoder_only:
            continue
        for n in g.nodes:
            for t in (n.tensor, n.bias):
                if t != NONE_IDX and t not in canon:
                    canon[t] = len(canon)
        recs.append(graph_record(g, canon))
    b = b"lvc-model-id-v1\0"
    b += struct.pack("<HBB", model.opset, model.profile, model.qp_count)
    b += b"".join(recs)
    b += struct.pack("<I", len(canon))
    for t in sorted(canon, key=canon.get):
        b += model.tensors[t].desc_bytes() + model.tensors[t].data_bytes()
    b += entr_bytes(model.entropy)
    return b


def model_id(model):
    return hashlib.sha256(canonical_bytes(model)).digest()[:16]


# --------------------------------------------------------------------------------------------
# tables

def gaussian_table(sigma, B, mu=0.0):
    """CDF table of a discretised Gaussian: entries -B..B, escape = both tails."""
    from math import erf, sqrt
    cdf = lambda v: 0.5 * (1.0 + erf((v - mu) / (sigma * sqrt(2.0))))  # noqa: E731
    edges = [cdf(q - 0.5) for q in range(-B, B + 2)]
    p = [edges[i + 1] - edges[i] for i in range(2 * B + 1)]
    p.append(edges[0] + (1.0 - edges[-1]))
    n = len(p)
    spare = PROB_SCALE - n
    freqs = [1 + int(x * spare) for x in p]
    rem = PROB_SCALE - sum(freqs)
    order = sorted(range(n), key=lambda i: -p[i])
    i = 0
    while rem > 0:
        freqs[order[i % n]] += 1
        rem -= 1
        i += 1
    return CdfTable(B, freqs)


def log_thresholds(nb, lo=0.11, hi=64.0):
    """nb-1 thresholds on ln sigma, evenly spaced from ln lo to ln hi, at exponent 16."""
    a, b = math.log(lo), math.log(hi)
    return [int(round((a + (b - a) * i / (nb - 2)) * 65536)) for i in range(nb - 1)]


def bin_sigma(thr, i):
    """A representative sigma of scale bin i."""
    t = [x / 65536 for x in thr]
    if i == 0:
        return math.exp(t[0] - 0.5 * (t[1] - t[0]))
    if i == len(t):
        return math.exp(t[-1] + 0.5 * (t[-1] - t[-2]))
    return math.exp(0.5 * (t[i - 1] + t[i]))


# --------------------------------------------------------------------------------------------
# random test model

class _Rand:
    """Random layers with exponents chosen so every shift rule holds."""

    def __init__(self, model, seed):
        self.m = model
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def _name(self, base):
        self.n += 1
        return f"{base}.{self.n}"

    def conv(self, gb, x, cout, k=1, stride=1, pad=0, groups=1, fo=10, act=None, gain=1.0,
             bias=0.0, wmax=60, int16=False):
        cin = gb.ch(x)
        fan = cin // groups * k * k
        shape = (cout, cin // groups, k, k)
        if int16:
            w = self.rng.integers(-wmax * 64, wmax * 64 + 1, shape).astype(np.int16)
        else:
            w = self.rng.integers(-wmax, wmax + 1, shape).astype(np.int8)
        # real weight = w * 2^-fw;  E|sum| ~ sqrt(fan) * wmax/sqrt(3) * 2^-fw  ~  gain
        std = math.sqrt(fan) * (wmax * (64 if int16 else 1)) / math.sqrt(3)
        fw0 = int(round(math.log2(std / gain)))
        fw = np.full(cout, fw0, np.int64) + self.rng.integers(-1, 2, cout)
        fin = gb.exp(x)
        fw = np.clip(fw, fo - fin + 1, fo - fin + 30)
        wi = self.m.add_tensor(self._name(gb.g.name + ".w"), w, fw)
        bi = None
        if bias is not None:
            facc = fin + fw
            b = (bias + 0.25 * self.rng.standard_normal(cout)) * np.exp2(facc)
            b = np.clip(np.round(b), -(2 ** 30), 2 ** 30).astype(np.int32)
            bi = self.m.add_tensor(self._name(gb.g.name + ".b"), b)
        return gb.conv(x, wi, bi, fo, k, stride, pad, groups, act)

    def qtable(self, name, C, lo, hi, fq=12):
        """q table whose rows go log-linearly from `hi` (qp 0) to `lo` (qp 63), per channel."""
        qp = np.arange(64)[:, None] / 63.0
        chan = np.exp2(0.3 * self.rng.standard_normal(C))[None, :]
        real = np.exp(np.log(hi) + (np.log(lo) - np.log(hi)) * qp) * chan
        t = np.clip(np.round(real * 2 ** fq), -32768, 32767).astype(np.int16)
        return self.m.add_tensor(self._name(name), t, [fq])


FY = 4          # analysis output exponent (= fm here)
FM = 4
FS = 8
FZ = 4
FF = 9          # feature f exponent
FC = 9          # context c exponent


def random_test_model(with_inter=True, seed=0):
    """A complete, valid lvc-s model with small random int8 weights (tests, golden vectors)."""
    m = Model(meta={"name": f"random-{seed}", "description": "random test model"})
    r = _Rand(m, seed)

    def analysis(name, inter):
        gb = m.graph_builder(name)
        x = gb.input("x", 96, 0, 7)
        if inter:
            c = gb.input("c", 128, 0, FC)
            xr = gb.rescale(x, FC)
            x = gb.concat(xr, c)
        a = r.conv(gb, x, 128, k=2, stride=2, groups=32, fo=9, act=("lrelu", 3), gain=2.0)
        a = r.conv(gb, a, 128, fo=8, gain=1.0)
        qe = r.qtable(name + ".q_enc", 128, 0.25, 4.0)
        y = gb.qmul(a, qe, FY)
        gb.output("y", y)
        gb.finish()

    def hyper_analysis(name):
        gb = m.graph_builder(name)
        y = gb.input("y", 128, -1, FY)
        p = gb.pad(y, 4)
        a = r.conv(gb, p, 64, k=2, stride=2, groups=16, fo=6, act="relu", gain=0.5)
        z = r.conv(gb, a, 64, k=2, stride=2, groups=4, fo=FZ, gain=1.0)
        gb.output("z", z)
        gb.finish()

    def hyper_synthesis(name):
        gb = m.graph_builder(name)
        z = gb.input("zhat", 64, -3, 0)
        a = r.conv(gb, z, 128, fo=8, act=("lrelu", 2), gain=1.0)
        a = gb.shuffle(a, 2)                               # 32 at -2
        a = r.conv(gb, a, 128, fo=8, act="relu", gain=1.0)
        a = gb.shuffle(a, 2)                               # 32 at -1
        h = gb.crop(a, -1)
        gb.output("h", h)
        gb.finish()

    def prior_fusion(name, inter):
        gb = m.graph_builder(name)
        h = gb.input("h", 32, -1, 8)
        if inter:
            t = gb.input("t", 64, -1, 8)
            h = gb.concat(h, t)
        p = r.conv(gb, h, 64, fo=8, act=("lrelu", 3), gain=1.0)
        mu = r.conv(gb, p, 128, fo=FM, gain=1.5)
        sc = r.conv(gb, p, 128, fo=FS, gain=1.2, bias=1.0)
        gb.output("prior", p)
        gb.output("mu", mu)
        gb.output("scale", sc)
        gb.finish()

    def context_step(name):
        gb = m.graph_builder(name)
        p = gb.input("prior", 64, -1, 8)
        y1 = gb.input("yhat1", 128, -1, FM)
        a = r.conv(gb, y1, 128, k=3, pad=1, groups=128, fo=7, gain=0.3)
        a = r.conv(gb, a, 64, fo=8, gain=1.0)
        s = gb.add(a, p, 8, act="relu")
        mu = r.conv(gb, s, 128, fo=FM, gain=1.5)
        sc = r.conv(gb, s, 128, k=3, pad=1, groups=64, fo=FS, gain=1.0, bias=0.8)
        gb.output("mu", mu)
        gb.output("scale", sc)
        gb.finish()

    def synthesis(name, inter):
        gb = m.graph_builder(name)
        y = gb.input("yhat", 128, -1, FM)
        if inter:
            c = gb.input("c", 128, 0, FC)
        qd = r.qtable(name + ".q_dec", 128, 2.0, 0.25)
        a = gb.qmul(y, qd, 7)
        a = r.conv(gb, a, 512, fo=9, gain=1.0, groups=4, act=("lrelu", 4))
        f = gb.shuffle(a, 2)
        if inter:
            cc = r.conv(gb, c, 128, fo=FF, gain=1.0)
            f = gb.add(f, cc, FF)
        else:
            f = gb.rescale(f, FF)
        gb.output("f", f)
        gb.finish()

    def recon_head(name):
        gb = m.graph_builder(name)
        f = gb.input("f", 128, 0, FF)
        rr = r.conv(gb, f, 96, fo=9, gain=0.5, int16=True)
        gb.output("r", rr)
        gb.finish()

    def context(name):
        gb = m.graph_builder(name)
        f = gb.input("f", 128, 0, FF)
        a = r.conv(gb, f, 64, fo=9, act=("lrelu", 3), gain=1.0)
        a = r.conv(gb, a, 64, k=3, pad=1, groups=64, fo=9, gain=0.3)
        a = r.conv(gb, a, 128, fo=FF, gain=1.0)
        a = gb.add(a, f, FF)
        qf = r.qtable(name + ".q_feature", 128, 0.5, 1.0)
        c = gb.qmul(a, qf, FC)
        gb.output("c", c)
        gb.finish()

    def temporal_prior(name):
        gb = m.graph_builder(name)
        c = gb.input("c", 128, 0, FC)
        yp = gb.input("yprev", 128, -1, FM)
        a = gb.unshuffle(c, 2)                              # 512 at -1
        a = r.conv(gb, a, 64, groups=8, fo=8, gain=1.0)
        b = r.conv(gb, yp, 64, fo=8, gain=1.0)
        t = gb.add(a, b, 8, act=("lrelu", 2))
        gb.output("t", t)
        gb.finish()

    def refresh(name):
        gb = m.graph_builder(name)
        x = gb.input("x", 96, 0, 7)
        a = r.conv(gb, x, 128, fo=9, act=("lrelu", 3), gain=1.0)
        mk = gb.cbmask(a, 1)
        a = gb.cbmerge(a, mk, 0)                            # exercise the ops (identity at even)
        f = r.conv(gb, a, 128, fo=FF, gain=1.0)
        gb.output("f", f)
        gb.finish()

    analysis("intra.analysis", False)
    hyper_analysis("intra.hyper_analysis")
    hyper_synthesis("intra.hyper_synthesis")
    prior_fusion("intra.prior_fusion", False)
    context_step("intra.context_step")
    synthesis("intra.synthesis", False)
    recon_head("intra.recon_head")
    if with_inter:
        context("inter.context")
        analysis("inter.analysis", True)
        hyper_analysis("inter.hyper_analysis")
        hyper_synthesis("inter.hyper_synthesis")
        temporal_prior("inter.temporal_prior")
        prior_fusion("inter.prior_fusion", True)
        context_step("inter.context_step")
        synthesis("inter.synthesis", True)
        recon_head("inter.recon_head")
        refresh("inter.refresh")

    nb = 24
    thr = log_thresholds(nb)
    ytab = [gaussian_table(bin_sigma(thr, i), min(1024, max(1, math.ceil(3 * bin_sigma(thr, i)))))
            for i in range(nb)]
    nbk = 4
    ztab = []
    for b in range(nbk):
        row = []
        for c in range(64):
            s = 0.4 + 3.0 * ((c * 7 + b * 3) % 16) / 16 * (1.0 - 0.2 * b)
            row.append(gaussian_table(s, max(1, math.ceil(2 * s))))
        ztab.append(row)
    m.entropy = EntropyParams(2, 255, thr, ytab, 255, ztab)
    validate(m)
    return m
