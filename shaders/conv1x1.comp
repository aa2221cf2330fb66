// CONV with k = 1, stride 1, pad 0 (any groups) as a tiled GEMM in shared memory:
// per group, out[co][n] = B[co] + Σ_ci W[co][ci] · X[ci][n] over the words n of a plane (two
// pixels each; the pad half of odd-width rows is computed like the others and ignored).
// Tile: 64 output channels × 32 words (64 pixels) per workgroup of 256 invocations, K in
// steps of 16 input channels.  Invocation t owns channels 4·(t / 16) + 0..3 and words
// (t % 16) and (t % 16) + 16, i.e. 16 accumulators.
// Dispatch: x = ⌈N / 32⌉ word tiles, y = ⌈cog / 64⌉ channel tiles, z = groups.
// SPDX-License-Identifier: LGPL-2.1-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

#include "common.glsl"

layout(push_constant) uniform Push {
    uint in_off, out_off, w_off, b_off, s_off;
    int cin, h, w, cout, ho, wo, pad, groups, act, act_k, has_bias;
} pc;

const int TM = 64, TW = 32, TK = 16;

shared int Ws[TK][TM];
shared ivec2 Xs[TK][TW];

void main()
{
    const uint t = gl_LocalInvocationID.x;
    const int cig = pc.cin / pc.groups, cog = pc.cout / pc.groups;
    const int g = int(gl_WorkGroupID.z);
    const int n_words = pc.h * int(uint(pc.w + 1) >> 1);
    const int n0 = int(gl_WorkGroupID.x) * TW;
    const int m0 = int(gl_WorkGroupID.y) * TM;
    const int tm = int(t >> 4) * 4, tn = int(t & 15u);

    ivec2 acc[4][2];
    for (int i = 0; i < 4; i++) {
        const int co = min(m0 + tm + i, cog - 1) + g * cog;
        const int b = pc.has_bias != 0 ? P[pc.b_off + uint(co)] : 0;
        acc[i][0] = ivec2(b);
        acc[i][1] = ivec2(b);
    }

    for (int k0 = 0; k0 < cig; k0 += TK) {
        // weights: 1024 entries, 4 per invocation, consecutive invocations along ci
        for (int e = 0; e < 4; e++) {
            const int id = int(t) + 256 * e;
            const int m = id >> 4, kk = id & 15;
            const int co = m0 + m, ci = k0 + kk;
            Ws[kk][m] = (co < cog && ci < cig)
                ? P[pc.w_off + uint((g * cog + co) * cig + ci)] : 0;
        }
        // inputs: 16 channels × 32 words, 2 per invocation
        for (int e = 0; e < 2; e++) {
            const int id = int(t) + 256 * e;
            const int kk = id >> 5, wd = id & 31;
            const int ci = k0 + kk, n = n0 + wd;
            uint word = 0u;
            if (ci < cig && n < n_words)
                word = A[pc.in_off + uint((g * cig + ci) * n_words + n)];
            Xs[kk][wd] = ivec2(half16(word, 0u), half16(word, 1u));
        }
        barrier();
        for (int kk = 0; kk < TK; kk++) {
            const ivec2 x0 = Xs[kk][tn], x1 = Xs[kk][tn + 16];
            for (int i = 0; i < 4; i++) {
                const int a = Ws[kk][tm + i];
                acc[i][0] += a * x0;
                acc[i][1] += a * x1;
            }
        }
        barrier();
    }

    for (int i = 0; i < 4; i++) {
        const int co = m0 + tm + i;
        if (co >= cog)
            continue;
        const int oc = g * cog + co;
        const int s = P[pc.s_off + uint(oc)];
        for (int q = 0; q < 2; q++) {
            const int n = n0 + tn + 16 * q;
            if (n >= n_words)
                continue;
            const ivec2 a = acc[i][q];
            A[pc.out_off + uint(oc * n_words + n)] =
                pack2(act_fn(requant(a.x, s), pc.act, pc.act_k),
                      act_fn(requant(a.y, s), pc.act, pc.act_k));
        }
    }
}
