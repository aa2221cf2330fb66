// Shared definitions of the lvc compute shaders (codec/ARITHMETIC.md, op-set version 1).
//
// Storage format (see codec/src/vulkan/vk.h): only 32-bit storage is used, so the shaders
// need no optional Vulkan feature.
// - Binding 0, A[]: the activation arena, uint words.  An int16 tensor C × H × W at word
//   offset `off` has rows of RS = (W + 1) / 2 words; element (c, y, x) is half (x & 1) (0 = low
//   16 bits) of word off + (c·H + y)·RS + x / 2.  The pad half of a row with odd W holds an
//   unspecified value and is never read as data.  Byte planes (PACK/UNPACK) are in A[] as well,
//   4 bytes a word, little-endian.
// - Binding 1, P[]: the parameter arena, int32 words (weights widened to int32, biases,
//   shifts, q-table rows).
// All arithmetic is int32 and wraps modulo 2^32 (SPIR-V OpIAdd/OpIMul); `>>` on int is the
// arithmetic shift; int/uint conversions keep the bit pattern.  No floating point.
// SPDX-License-Identifier: LGPL-2.1-or-later

layout(std430, set = 0, binding = 0) buffer ActArena { uint A[]; };
layout(std430, set = 0, binding = 1) readonly buffer ParArena { int P[]; };

const int ACT_NONE = 0;
const int ACT_RELU = 1;
const int ACT_LRELU = 2;

int sat16(int x) { return clamp(x, -32768, 32767); }

// ⌊x / 2^s⌋, 0 ≤ s ≤ 31
int asr(int x, int s) { return x >> s; }

// (int32)((uint32)x << s), 0 ≤ s ≤ 31
int shl(int x, int s) { return int(uint(x) << uint(s)); }

// shift right with rounding half up; s = 0 is the identity
int rshr(int x, int s) { return s == 0 ? x : asr(x, s) + (asr(x, s - 1) & 1); }

// d ≥ 0: rshr(x, d); d < 0: shl(x, −d)
int align_exp(int x, int d) { return d >= 0 ? rshr(x, d) : shl(x, -d); }

int requant(int acc, int s) { return sat16(rshr(acc, s)); }

int act_fn(int v, int act, int k)
{
    if (v >= 0 || act == ACT_NONE)
        return v;
    return act == ACT_RELU ? 0 : asr(v, k);
}

// Low (h = 0) or high (h = 1) int16 half of a word, sign-extended.
int half16(uint word, uint h) { return int(word << (16u - 16u * h)) >> 16; }

// Element (c, y, x) of the tensor at word offset off with rows of rs words and height hh.
int ld16(uint off, uint rs, uint hh, uint c, uint y, uint x)
{
    return half16(A[off + (c * hh + y) * rs + (x >> 1)], x & 1u);
}

uint pack2(int lo, int hi) { return (uint(lo) & 0xffffu) | (uint(hi) << 16); }

// Byte i of the byte plane at word offset off.
uint ld8(uint off, uint i) { return (A[off + (i >> 2)] >> (8u * (i & 3u))) & 0xffu; }

// A flat invocation index over a 2-D dispatch (large grids exceed 65535 groups in x).
uint flat_index(uint lsize)
{
    return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * lsize;
}
