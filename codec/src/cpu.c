/* CPU instruction-set detection (CPUID and XGETBV on x86) and the level cap.  See cpu.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define LVC_CPU_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#endif

static const char *const level_names[] = {
    [LVC_CPU_C] = "c",
    [LVC_CPU_SSE41] = "sse41",
    [LVC_CPU_AVX2] = "avx2",
    [LVC_CPU_AVXVNNI] = "avxvnni",
    [LVC_CPU_AVX512] = "avx512",
    [LVC_CPU_AVX512VNNI] = "avx512vnni",
    [LVC_CPU_NEON] = "neon",
};

#if LVC_CPU_X86
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
#if defined(_MSC_VER) && !defined(__clang__)
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++)
        r[i] = (uint32_t)v[i];
#else
    unsigned a, b, c, d;
    __cpuid_count(leaf, sub, a, b, c, d);
    r[0] = a, r[1] = b, r[2] = c, r[3] = d;
#endif
}

/* XCR0: the register states the operating system saves (only valid when OSXSAVE is set). */
static uint64_t xgetbv0(void)
{
#if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#else
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#endif
}

/* Bit mask of supported levels (bit L set: level L supported). */
static unsigned detect(void)
{
    unsigned mask = 1u << LVC_CPU_C;
    uint32_t r[4], l1[4], l7[4] = {0, 0, 0, 0}, l71[4] = {0, 0, 0, 0};
    cpuid(0, 0, r);
    const uint32_t max_leaf = r[0];
    if (max_leaf < 1)
        return mask;
    cpuid(1, 0, l1);
    if (l1[2] & (1u << 19))
        mask |= 1u << LVC_CPU_SSE41;
    if (max_leaf >= 7) {
        cpuid(7, 0, l7);
        if (l7[0] >= 1)
            cpuid(7, 1, l71);
    }
    const int osxsave = !!(l1[2] & (1u << 27)), avx = !!(l1[2] & (1u << 28));
    if (!osxsave || !avx)
        return mask;
    const uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return mask;
    const int avx2 = !!(l7[1] & (1u << 5));
    if (!avx2 || !(mask & (1u << LVC_CPU_SSE41)))
        return mask;
    mask |= 1u << LVC_CPU_AVX2;
    if (l71[0] & (1u << 4)) /* AVX-VNNI (VEX-encoded vpdpwssd) */
        mask |= 1u << LVC_CPU_AVXVNNI;
    const int zmm_state = (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM0-15 upper halves, ZMM16-31 */
    const int f = !!(l7[1] & (1u << 16)), bw = !!(l7[1] & (1u << 30)),
              vl = !!(l7[1] & (1u << 31)), vnni = !!(l7[2] & (1u << 11));
    if (zmm_state && f && bw && vl) {
        mask |= 1u << LVC_CPU_AVX512;
        if (vnni)
            mask |= 1u << LVC_CPU_AVX512VNNI;
    }
    return mask;
}
#elif defined(__aarch64__) || defined(_M_ARM64)
/* Advanced SIMD is part of every AArch64 implementation. */
static unsigned detect(void) { return (1u << LVC_CPU_C) | (1u << LVC_CPU_NEON); }
#else
static unsigned detect(void) { return 1u << LVC_CPU_C; }
#endif

/* Cached results; 0 means "not computed yet" (bit 0 is always set once computed).  Computing
 * them twice from two threads is harmless: both store the same value. */
static atomic_uint detected_mask;
static atomic_int env_cap = -2; /* −2: not read yet, −1: unset */
static atomic_int api_cap = -1; /* −1: unset */

static unsigned supported_mask(void)
{
    unsigned m = atomic_load(&detected_mask);
    if (!m) {
        m = detect();
        atomic_store(&detected_mask, m);
    }
    return m;
}

int lvc_cpu_supports(int level)
{
    if (level < 0 || level > LVC_CPU_MAX_LEVEL)
        return 0;
    return !!(supported_mask() & (1u << level));
}

int lvc_cpu_detected_level(void)
{
    const unsigned m = supported_mask();
    int best = LVC_CPU_C;
    for (int l = 0; l <= LVC_CPU_MAX_LEVEL; l++)
        if (m & (1u << l))
            best = l;
    return best;
}

int lvc_cpu_parse_level(const char *name)
{
    if (!name || !*name)
        return -1;
    for (int l = 0; l <= LVC_CPU_MAX_LEVEL; l++)
        if (level_names[l] && !strcmp(name, level_names[l]))
            return l;
    int v = 0;
    for (const char *c = name; *c; c++) {
        if (*c < '0' || *c > '9' || v > 1000)
            return -1;
        v = v * 10 + (*c - '0');
    }
    return v > LVC_CPU_MAX_LEVEL ? LVC_CPU_MAX_LEVEL : v;
}

const char *lvc_cpu_level_name(int level)
{
    if (level < 0 || level > LVC_CPU_MAX_LEVEL || !level_names[level])
        return "?";
    return level_names[level];
}

int lvc_cpu_level_cap(void)
{
    int e = atomic_load(&env_cap);
    if (e == -2) {
        e = lvc_cpu_parse_level(getenv("LVC_CPU_LEVEL"));
        atomic_store(&env_cap, e);
    }
    int cap = LVC_CPU_MAX_LEVEL;
    const int a = atomic_load(&api_cap);
    if (e >= 0 && e < cap)
        cap = e;
    if (a >= 0 && a < cap)
        cap = a;
    return cap;
}

int lvc_set_cpu_level_cap(int level)
{
    atomic_store(&api_cap, level < 0 ? -1 : level > LVC_CPU_MAX_LEVEL ? LVC_CPU_MAX_LEVEL : level);
    return lvc_get_cpu_level();
}

int lvc_get_cpu_level(void)
{
    const int cap = lvc_cpu_level_cap();
    const unsigned m = supported_mask();
    int best = LVC_CPU_C;
    for (int l = 0; l <= cap; l++)
        if (m & (1u << l))
            best = l;
    return best;
}
