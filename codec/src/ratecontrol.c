/* Rate control.  See ratecontrol.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ratecontrol.h"

#include <math.h>
#include <string.h>

#define QP_MAX 63
#define SLOPE_PRIOR (-0.035) /* ln(bits) per qp step before any measurement */
#define SLOPE_MIN (-0.25)
#define SLOPE_MAX (-0.008)
#define FILL_LIMIT 0.9       /* a planned frame uses at most this share of the free buffer */
#define QP_UP_MAX 4          /* largest qp rise between frames of a type, buffer aside */
#define QP_DOWN_MAX 1        /* largest qp fall of P-frames: a reference coded much better than
                              * the last one raises the cost of the frames that follow */

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }
static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void set_rate(LvcRateControl *rc, int kbps)
{
    rc->kbps = kbps;
    rc->bpf = kbps * 1000.0 / rc->fps;
    rc->buf_size = kbps * (double)rc->vbv_ms;
    if (rc->buf_size < 2 * rc->bpf)
        rc->buf_size = 2 * rc->bpf; /* a bucket must hold at least a frame beyond its drain */
}

void lvc_rc_init(LvcRateControl *rc, int width, int height, int fps_num, int fps_den, int kbps,
                 int vbv_ms, int key_int, int all_intra, int init_qp)
{
    memset(rc, 0, sizeof(*rc));
    rc->fps = fps_num > 0 && fps_den > 0 ? (double)fps_num / fps_den : 25.0;
    rc->vbv_ms = vbv_ms > 0 ? vbv_ms : 1000;
    set_rate(rc, kbps > 0 ? kbps : 1);
    rc->all_intra = all_intra || key_int == 1;
    /* An I-frame that more P-frames predict from deserves a lower qp. */
    rc->i_offset = key_int == 0 || key_int >= 128 ? 6 : key_int >= 32 ? 4 : key_int >= 8 ? 3 : 2;
    const double pixels = (double)width * height;
    rc->s[0] = rc->s[1] = SLOPE_PRIOR;
    rc->a[0] = log(pixels * 0.5) - SLOPE_PRIOR * 32;  /* 0.5 bit per pixel at qp 32 */
    rc->a[1] = log(pixels * 0.15) - SLOPE_PRIOR * 32; /* 0.15 for P-frames */
    rc->last_qp[0] = rc->last_qp[1] = -1;
    rc->p_qp_avg = -1;
    rc->init_qp = clampi(init_qp, 0, QP_MAX);
}

void lvc_rc_set_bitrate(LvcRateControl *rc, int kbps)
{
    if (kbps <= 0 || kbps == rc->kbps)
        return;
    set_rate(rc, kbps);
    /* The bits in the bucket stay (within the new size); the average starts afresh at the new
     * rate (a debt run up at an unreachable low rate must not hold a higher one back). */
    rc->fullness = fmin(rc->fullness, rc->buf_size);
    rc->excess = 0;
}

static double predict(const LvcRateControl *rc, int t, int qp)
{
    return exp(rc->a[t] + rc->s[t] * qp);
}

/* The qp whose predicted size is closest to target bits (in the log domain). */
static int qp_for(const LvcRateControl *rc, int t, double target)
{
    double q = (log(target) - rc->a[t]) / rc->s[t];
    return clampi((int)lround(clampd(q, -1000, 1000)), 0, QP_MAX);
}

int lvc_rc_frame_qp(const LvcRateControl *rc, int type)
{
    int t = type ? 1 : 0, qp;
    if (t == 0 && !rc->all_intra) {
        if (rc->p_qp_avg >= 0)
            qp = clampi((int)lround(rc->p_qp_avg) - rc->i_offset, 0, QP_MAX);
        else if (rc->n_obs[0] == 0)
            qp = clampi(qp_for(rc, 0, fmin(4 * rc->bpf, 0.5 * rc->buf_size)), rc->init_qp - 8,
                        QP_MAX);
        else
            qp = qp_for(rc, 0, fmin(4 * rc->bpf, 0.5 * rc->buf_size));
    } else {
        /* Pay back half a second's share of the over-spend per frame. */
        double react = fmax(1.0, rc->fps / 2);
        /* and take back an under-spend more gently: it must not push the rate far above the
         * target (after a rate rise the climb itself under-spends) */
        double target = clampd(rc->bpf - rc->excess / react, 0.2 * rc->bpf, 1.1 * rc->bpf);
        qp = qp_for(rc, t, target);
        if (rc->n_obs[t] == 0 && rc->n_obs[0] == 0)
            qp = clampi(qp, rc->init_qp - 8, QP_MAX);
        else if (rc->n_obs[t] == 0) /* the first P-frame: no better than its I-frame */
            qp = clampi(qp, rc->last_qp[0], QP_MAX);
        if (rc->n_obs[t] > 0) {
            /* P-frames fall slowly, unless the last qp is predicted to give less than 80 % of the
             * target (after a rate rise): then as fast as they may rise */
            int down = t && predict(rc, t, rc->last_qp[t]) > 0.8 * target ? QP_DOWN_MAX
                                                                         : QP_UP_MAX;
            qp = clampi(qp, rc->last_qp[t] - down, rc->last_qp[t] + QP_UP_MAX);
        }
    }
    /* Within the buffer, with a margin for the model's error. */
    const double room = FILL_LIMIT * (rc->buf_size - rc->fullness);
    while (qp < QP_MAX && predict(rc, t, qp) > room)
        qp++;
    return qp;
}

int lvc_rc_fits(const LvcRateControl *rc, double bits)
{
    return rc->fullness + bits <= rc->buf_size;
}

int lvc_rc_retry_qp(LvcRateControl *rc, int type, int qp, double bits)
{
    int t = type ? 1 : 0;
    rc->reencodes++;
    const double lnb = log(fmax(bits, 1.0));
    rc->a[t] = lnb - rc->s[t] * qp; /* the same frame: trust the measurement */
    const double room = FILL_LIMIT * (rc->buf_size - rc->fullness);
    double dq = (log(fmax(room, 1.0)) - lnb) / rc->s[t];
    int next = qp + (int)ceil(clampd(dq, 1, QP_MAX));
    return clampi(next, qp + 1, QP_MAX);
}

void lvc_rc_update(LvcRateControl *rc, int type, int qp, double bits)
{
    int t = type ? 1 : 0;
    const double lnb = log(fmax(bits, 1.0));
    if (rc->n_obs[t] == 0) {
        rc->a[t] = lnb - rc->s[t] * qp;
        if (t == 0 && rc->n_obs[1] == 0)
            rc->a[1] = rc->a[0] + log(0.5); /* until the first P-frame is measured */
    } else {
        int dq = qp - rc->last_qp[t];
        if (dq >= 2 || dq <= -2) {
            double s_obs = (lnb - rc->last_lnb[t]) / dq;
            if (isfinite(s_obs))
                rc->s[t] = clampd(0.85 * rc->s[t] + 0.15 * clampd(s_obs, SLOPE_MIN, SLOPE_MAX),
                                  SLOPE_MIN, SLOPE_MAX);
        }
        rc->a[t] += 0.5 * (lnb - (rc->a[t] + rc->s[t] * qp));
    }
    rc->n_obs[t]++;
    rc->last_qp[t] = qp;
    rc->last_lnb[t] = lnb;
    if (t == 1)
        rc->p_qp_avg = rc->p_qp_avg < 0 ? qp : 0.8 * rc->p_qp_avg + 0.2 * qp;
    if (rc->fullness + bits > rc->buf_size)
        rc->overflows++;
    rc->fullness = fmax(0.0, fmin(rc->fullness + bits, rc->buf_size) - rc->bpf);
    rc->excess = clampd(rc->excess + bits - rc->bpf, -0.5 * rc->buf_size, 0.5 * rc->buf_size);
    rc->frames++;
}
