/* AArch64 SIMD kernels (kernels_neon.c): fills the LvcDsp entries they implement.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_KERNELS_ARM_H
#define LVC_KERNELS_ARM_H

#include "kernels.h"

void lvc_dsp_init_neon(LvcDsp *dsp);

#endif
