/* The kernels of level avxvnni: kernels_tmpl.c with 256-bit vectors and vpdpwssd.
 * Compiled with this level's target flags (codec/meson.build).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#define LVC_ISA avxvnni
#define LVC_VBITS 256
#define LVC_VNNI 1
#include "kernels_tmpl.c"
