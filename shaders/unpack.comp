// UNPACK (§5): bytes of the w × h I420 picture from a 96-channel level-0 tensor with exponent
// f (0..22), p = clamp(align(r, f − 7) + 128, 0, 255).  One invocation writes one word (4
// bytes) of a plane row; rows are wy (luma) and wc (chroma) words long, the bytes past the
// plane's width are 0.  Planes: Y rows 0..h−1, then U and V rows 0..⌈h/2⌉−1.
// Dispatch: flat_index over h·wy + 2·⌈h/2⌉·wc words.
// SPDX-License-Identifier: LGPL-2.1-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

#include "common.glsl"

layout(push_constant) uniform Push {
    uint in_off, y_off, u_off, v_off;
    int w, h, h0, w0, f, wy, wc;
} pc;

void main()
{
    const int cw = (pc.w + 1) >> 1, ch = (pc.h + 1) >> 1;
    const uint ny = uint(pc.h * pc.wy), nc = uint(ch * pc.wc);
    uint idx = flat_index(64u);
    if (idx >= ny + 2u * nc)
        return;
    uint off;
    int bs, c0, pw, words;
    if (idx < ny) {
        off = pc.y_off; bs = 8; c0 = 0; pw = pc.w; words = pc.wy;
    } else if (idx < ny + nc) {
        idx -= ny; off = pc.u_off; bs = 4; c0 = 64; pw = cw; words = pc.wc;
    } else {
        idx -= ny + nc; off = pc.v_off; bs = 4; c0 = 80; pw = cw; words = pc.wc;
    }
    const int py = int(idx) / words, px0 = 4 * (int(idx) % words);
    const int a = py % bs, i = py / bs;
    const uint rs = uint(pc.w0) >> 1;
    uint word = 0u;
    for (int q = 0; q < 4; q++) {
        const int px = px0 + q;
        if (px >= pw)
            break;
        const int c = c0 + bs * a + px % bs, j = px / bs;
        const int r = ld16(pc.in_off, rs, uint(pc.h0), uint(c), uint(i), uint(j));
        const int v = clamp(align_exp(r, pc.f - 7) + 128, 0, 255);
        word |= uint(v) << (8u * uint(q));
    }
    A[off + idx] = word;
}
