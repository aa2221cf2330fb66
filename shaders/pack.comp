// PACK (§5): 96 × h0 × w0 tensor (exponent 7) from an I420 picture held as byte planes in
// the activation arena (Y: w × h, U and V: ⌈w/2⌉ × ⌈h/2⌉; row strides in bytes), edge
// replicated to the padded size.  One output word per invocation.
// Dispatch: flat_index over 96·h0·(w0 / 2) words (w0 is even).
// SPDX-License-Identifier: LGPL-2.1-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

#include "common.glsl"

layout(push_constant) uniform Push {
    uint out_off, y_off, u_off, v_off;
    int sy, sc, w, h, h0, w0;
} pc;

int fetch(int c, int i, int j)
{
    const int cw = (pc.w + 1) >> 1, ch = (pc.h + 1) >> 1;
    uint off;
    int bs, c0, pw, ph, stride;
    if (c < 64) {
        off = pc.y_off; bs = 8; c0 = 0; pw = pc.w; ph = pc.h; stride = pc.sy;
    } else {
        off = c < 80 ? pc.u_off : pc.v_off; bs = 4; c0 = c < 80 ? 64 : 80;
        pw = cw; ph = ch; stride = pc.sc;
    }
    const int a = (c - c0) / bs, b = (c - c0) % bs;
    const int py = min(bs * i + a, ph - 1), px = min(bs * j + b, pw - 1);
    return int(ld8(off, uint(py * stride + px))) - 128;
}

void main()
{
    const uint rs = uint(pc.w0) >> 1, plane = uint(pc.h0) * rs;
    const uint idx = flat_index(64u);
    if (idx >= 96u * plane)
        return;
    const int c = int(idx / plane), i = int((idx % plane) / rs), j = 2 * int(idx % rs);
    A[pc.out_off + idx] = pack2(fetch(c, i, j), fetch(c, i, j + 1));
}
