/* The kernels of level avx512vnni: kernels_tmpl.c with 512-bit vectors and vpdpwssd.
 * Compiled with this level's target flags (codec/meson.build).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define LVC_ISA avx512vnni
#define LVC_VBITS 512
#define LVC_VNNI 1
#include "kernels_tmpl.c"
