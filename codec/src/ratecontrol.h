/* Rate control of the encoder: a target bitrate with a leaky-bucket buffer.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Buffer: the encoder's leaky bucket of vbv_ms worth of bits at the target rate.  A frame of b
 * bits fits when fullness + b <= size; after it, fullness = max(0, min(fullness + b, size) - bits
 * per frame).  Frames are kept within it: the qp is chosen so that the predicted size fits
 * (within 90 % of the free space), and a frame that still comes out too large is coded again at
 * a higher qp (lvc_rc_fits / lvc_rc_retry_qp; the encoder also tries a P-frame that overflows at
 * qp 63 as an I-frame).
 *
 * Rate model: per frame type (I, P) ln(bits) = a + s·qp, updated after every coded frame (a
 * from the prediction error, s from pairs of frames of the type coded at different qps).
 *
 * Allocation: a frame that is not an I-frame among P-frames gets the bits per frame minus a
 * share of the accumulated over-spend (bits coded - bits allowed so far, kept within half a
 * buffer), so the average rate returns to the target within about a second.  An
 * I-frame among P-frames gets the recent P qp minus an offset chosen from the key-frame
 * interval (2..6; an I-frame is worth more when more P-frames use it), within the buffer.
 * With no P history (the first frame) it aims at 4 frames' worth of bits, at most half the
 * buffer, and no lower than 8 below the settings' qp (the prior of the rate model is rough, and
 * a first frame coded far too well makes the P-frames that follow it expensive).  The first
 * P-frame's qp is at least its I-frame's.  Between frames of a type the qp rises by at most 4
 * and falls by at most 4 (I) or 1 (P) (the buffer may raise it further): a reference coded much
 * better than the one before makes the next P-frames more expensive, which would otherwise
 * oscillate. */
#ifndef LVC_RATECONTROL_H
#define LVC_RATECONTROL_H

#include <stddef.h>

typedef struct LvcRateControl {
    double fps;
    int kbps, vbv_ms;
    double bpf;          /* target bits per frame */
    double buf_size;     /* bits */
    double fullness;     /* bits in the bucket before the next frame */
    double excess;       /* bits coded - bits allowed, within ±buf_size/2 */
    double a[2], s[2];   /* ln(bits) = a + s·qp per frame type (0 = I, 1 = P) */
    int n_obs[2];
    int last_qp[2];
    double last_lnb[2];
    double p_qp_avg;     /* recent P qp (exponential average), < 0 before the first P-frame */
    int i_offset;
    int all_intra;       /* every frame is an I-frame: I-frames are the regular frames */
    int init_qp;         /* the settings' qp */
    long long frames, reencodes, overflows;
} LvcRateControl;

/* Start rate control for pictures of width × height at fps_num/fps_den (25 fps when unknown),
 * kbps > 0, vbv_ms > 0 (1000 when 0), key_int (0 = only on request; 1 = all intra), all_intra
 * (an intra-only model) and the settings' qp. */
void lvc_rc_init(LvcRateControl *rc, int width, int height, int fps_num, int fps_den, int kbps,
                 int vbv_ms, int key_int, int all_intra, int init_qp);

/* Change the target (kbps > 0): the bucket keeps its bits (at most its new size) and the
 * over-spend account starts again at 0. */
void lvc_rc_set_bitrate(LvcRateControl *rc, int kbps);

/* The qp for the next frame of this type (0 = I, 1 = P), in 0..63. */
int lvc_rc_frame_qp(const LvcRateControl *rc, int type);

/* 1 when a frame of this many bits fits the buffer. */
int lvc_rc_fits(const LvcRateControl *rc, double bits);

/* A frame of this type coded at qp came out at bits and does not fit: learn from it and
 * return the qp to code it again with (> qp; at most 63). */
int lvc_rc_retry_qp(LvcRateControl *rc, int type, int qp, double bits);

/* Account for a coded frame (after the last retry). */
void lvc_rc_update(LvcRateControl *rc, int type, int qp, double bits);

#endif
