/* The kernels of level avx512: kernels_tmpl.c with 512-bit vectors and vpmaddwd + vpaddd.
 * Compiled with this level's target flags (codec/meson.build).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define LVC_ISA avx512
#define LVC_VBITS 512
#define LVC_VNNI 0
#include "kernels_tmpl.c"
