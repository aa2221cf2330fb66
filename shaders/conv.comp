// CONV (ARITHMETIC.md §3.1), any kernel size, stride, padding and groups (depthwise included).
// One invocation computes one output word: outputs (co, oy, 2·xw) and (co, oy, 2·xw + 1).
// Kernel size and stride are specialisation constants so that the tap loops unroll.
// Dispatch: x·y cover ho·rso words (flat_index), z = output channel.
// SPDX-License-Identifier: LGPL-2.1-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const int K = 3;
layout(constant_id = 1) const int STRIDE = 1;

#include "common.glsl"

layout(push_constant) uniform Push {
    uint in_off, out_off, w_off, b_off, s_off;
    int cin, h, w, cout, ho, wo, pad, groups, act, act_k, has_bias;
} pc;

void main()
{
    const uint rs = uint(pc.w + 1) >> 1, rso = uint(pc.wo + 1) >> 1;
    const uint idx = flat_index(64u);
    const int co = int(gl_GlobalInvocationID.z);
    if (idx >= uint(pc.ho) * rso)
        return;
    const int oy = int(idx / rso);
    const int ox0 = 2 * int(idx % rso);
    const int cig = pc.cin / pc.groups, cog = pc.cout / pc.groups;
    const int ci0 = (co / cog) * cig;

    int acc0 = pc.has_bias != 0 ? P[pc.b_off + uint(co)] : 0;
    int acc1 = acc0;
    const int ix0 = ox0 * STRIDE - pc.pad;
    const int ix1 = ix0 + STRIDE;
    for (int ci = 0; ci < cig; ci++) {
        const uint wbase = pc.w_off + uint((co * cig + ci) * K * K);
        const uint plane = pc.in_off + uint(ci0 + ci) * uint(pc.h) * rs;
        for (int i = 0; i < K; i++) {
            const int iy = oy * STRIDE + i - pc.pad;
            if (iy < 0 || iy >= pc.h)
                continue;
            const uint row = plane + uint(iy) * rs;
            for (int j = 0; j < K; j++) {
                const int tap = P[wbase + uint(i * K + j)];
                const int xa = ix0 + j, xb = ix1 + j;
                if (xa >= 0 && xa < pc.w)
                    acc0 += tap * half16(A[row + (uint(xa) >> 1)], uint(xa) & 1u);
                if (xb >= 0 && xb < pc.w)
                    acc1 += tap * half16(A[row + (uint(xb) >> 1)], uint(xb) & 1u);
            }
        }
    }
    const int s = P[pc.s_off + uint(co)];
    const int v0 = act_fn(requant(acc0, s), pc.act, pc.act_k);
    const int v1 = act_fn(requant(acc1, s), pc.act, pc.act_k);
    A[pc.out_off + (uint(co) * uint(pc.ho) + uint(oy)) * rso + uint(ox0 >> 1)] = pack2(v0, v1);
}
