/* The kernels of level avx2: kernels_tmpl.c with 256-bit vectors and vpmaddwd + vpaddd.
 * Compiled with this level's target flags (codec/meson.build).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define LVC_ISA avx2
#define LVC_VBITS 256
#define LVC_VNNI 0
#include "kernels_tmpl.c"
