/* x86 SIMD kernels: one entry per instruction-set level, each filling the LvcDsp entries it
 * implements (the others keep what a lower level put there).  Each is compiled from
 * kernels_tmpl.c with that level's compiler flags and must only be called when
 * lvc_cpu_supports() says so.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_KERNELS_X86_H
#define LVC_KERNELS_X86_H

#include "kernels.h"

void lvc_dsp_init_avx2(LvcDsp *dsp);
void lvc_dsp_init_avxvnni(LvcDsp *dsp);
void lvc_dsp_init_avx512(LvcDsp *dsp);
void lvc_dsp_init_avx512vnni(LvcDsp *dsp);

#endif
