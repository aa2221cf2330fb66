/* CPU instruction-set detection and the level cap (lvc_set_cpu_level_cap, LVC_CPU_LEVEL).
 *
 * A level names a set of instructions the SIMD kernels of that level use (the LVC_CPU_*
 * constants of lvc.h).  Levels are numbered so that a kernel table is built by installing the
 * kernels of every supported level up to a limit, lowest first; a level need not include the
 * levels below it (a CPU may have AVX-512 VNNI but not the 256-bit AVX-VNNI), so "supported"
 * is decided per level.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_CPU_H
#define LVC_CPU_H

#include "lvc/lvc.h"

/* 1 if the CPU and the operating system support every instruction of level (LVC_CPU_*).
 * LVC_CPU_C is always supported.  Not affected by the cap. */
int lvc_cpu_supports(int level);

/* The highest level the CPU supports (uncapped). */
int lvc_cpu_detected_level(void);

/* The cap in effect: the smaller of the LVC_CPU_LEVEL environment variable (read once) and
 * the value set with lvc_set_cpu_level_cap; LVC_CPU_MAX_LEVEL when neither is set. */
int lvc_cpu_level_cap(void);

/* Parse a level name ("c", "sse41", "avx2", "avxvnni", "avx512", "avx512vnni", "neon") or a decimal
 * number; returns the level or −1. */
int lvc_cpu_parse_level(const char *name);

/* The name of a level ("c", "avx2", ...), "?" for an unknown one. */
const char *lvc_cpu_level_name(int level);

#endif
