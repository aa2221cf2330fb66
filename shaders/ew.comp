// Element-wise ops on equal shapes, one output word (two elements of a row) per invocation:
// ADD (§3.2), RESCALE (§3.3), QMUL (§3.5), ACT (§3.9), CBMASK / CBMERGE (§3.7) and COPY (a
// word copy, used for CONCAT into a channel slice of the output, §3.4).
// Dispatch: flat_index over c·h·rs words.
// SPDX-License-Identifier: LGPL-2.1-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

#include "common.glsl"

const int OP_ADD = 0, OP_RESCALE = 1, OP_QMUL = 2, OP_ACT = 3, OP_CBMASK = 4,
          OP_CBMERGE = 5, OP_COPY = 6;

layout(push_constant) uniform Push {
    uint out_off, a_off, b_off, t_off;
    int op, c, h, w, da, db, s, act, act_k, par;
} pc;

int one(int a, int b, int c, int y, int x)
{
    switch (pc.op) {
    case OP_ADD:
        return act_fn(sat16(align_exp(a, pc.da) + align_exp(b, pc.db)), pc.act, pc.act_k);
    case OP_RESCALE:
        return act_fn(sat16(align_exp(a, pc.da)), pc.act, pc.act_k);
    case OP_QMUL:
        return act_fn(requant(a * P[pc.t_off + uint(c)], pc.s), pc.act, pc.act_k);
    case OP_ACT:
        return act_fn(a, pc.act, pc.act_k);
    case OP_CBMASK:
        return ((y + x) & 1) == pc.par ? a : 0;
    default: // OP_CBMERGE
        return ((y + x) & 1) == pc.par ? a : b;
    }
}

void main()
{
    const uint rs = uint(pc.w + 1) >> 1, plane = uint(pc.h) * rs;
    const uint idx = flat_index(64u);
    if (idx >= uint(pc.c) * plane)
        return;
    const uint wa = A[pc.a_off + idx];
    if (pc.op == OP_COPY) {
        A[pc.out_off + idx] = wa;
        return;
    }
    const uint wb = (pc.op == OP_ADD || pc.op == OP_CBMERGE) ? A[pc.b_off + idx] : 0u;
    const int c = int(idx / plane), y = int((idx % plane) / rs), x = 2 * int(idx % rs);
    A[pc.out_off + idx] = pack2(one(half16(wa, 0u), half16(wb, 0u), c, y, x),
                                one(half16(wa, 1u), half16(wb, 1u), c, y, x + 1));
}
