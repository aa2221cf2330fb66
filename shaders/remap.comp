// Gathers: CROP and PAD (§3.8), SHUFFLE and UNSHUFFLE (§3.6).  One output word per
// invocation; each of its two elements reads the input element the op maps it from.
// Dispatch: flat_index over oc·oh·ors words.
// SPDX-License-Identifier: LGPL-2.1-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

#include "common.glsl"

const int M_CROP = 0, M_PAD = 1, M_SHUFFLE = 2, M_UNSHUFFLE = 3;

layout(push_constant) uniform Push {
    uint out_off, in_off;
    int mode, oc, oh, ow, ih, iw, r;
} pc;

int src(int c, int y, int x)
{
    const uint rs = uint(pc.iw + 1) >> 1, hh = uint(pc.ih);
    const int r = pc.r;
    if (x >= pc.ow)
        return 0; // the pad half of an odd-width row
    switch (pc.mode) {
    case M_CROP:
        return ld16(pc.in_off, rs, hh, uint(c), uint(y), uint(x));
    case M_PAD:
        return ld16(pc.in_off, rs, hh, uint(c), uint(min(y, pc.ih - 1)), uint(min(x, pc.iw - 1)));
    case M_SHUFFLE:
        return ld16(pc.in_off, rs, hh, uint(c * r * r + (y % r) * r + x % r), uint(y / r),
                    uint(x / r));
    default: // M_UNSHUFFLE
        return ld16(pc.in_off, rs, hh, uint(c / (r * r)), uint(y * r + (c / r) % r),
                    uint(x * r + c % r));
    }
}

void main()
{
    const uint rso = uint(pc.ow + 1) >> 1, plane = uint(pc.oh) * rso;
    const uint idx = flat_index(64u);
    if (idx >= uint(pc.oc) * plane)
        return;
    const int c = int(idx / plane), y = int((idx % plane) / rso), x = 2 * int(idx % rso);
    A[pc.out_off + idx] = pack2(src(c, y, x), src(c, y, x + 1));
}
