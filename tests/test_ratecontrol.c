/* Tests of the encoder's rate control (codec/src/ratecontrol.c through the public API) with the
 * golden random model (tests/golden/model_random.lvcm: noise pictures, but real bits) on a
 * small synthetic moving clip: the average rate after the first second, the leaky bucket
 * (checked here independently from the packet sizes), a rate change high → low → high, the
 * return to constant qp, all-intra coding and re-encoding with a tiny buffer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lvc/lvc.h"

#define W 128
#define H 96
#define FPS 30

static LvcModel *model;

/* Frame t of a moving scene: a drifting gradient, a textured square moving right and a disc
 * moving down, with some fixed-pattern texture. */
static void fill_picture(LvcPicture *p, int t)
{
    uint32_t seed = 12345;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            seed = seed * 1664525u + 1013904223u;
            int v = (x * 2 + y + 3 * t) % 200 + 20 + (int)(seed >> 28);
            int sx = x - (10 + 2 * t) % W, sy = y - 30;
            if (sx >= 0 && sx < 32 && sy >= 0 && sy < 32)
                v = ((sx / 4 + sy / 4) & 1) ? 230 : 40;
            int dx = x - 80, dy = y - (t * 3) % H;
            if (dx * dx + dy * dy < 144)
                v = 128 + dx * 4;
            p->data[0][y * p->stride[0] + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    for (int pl = 1; pl < 3; pl++)
        for (int y = 0; y < H / 2; y++)
            for (int x = 0; x < W / 2; x++)
                p->data[pl][y * p->stride[pl] + x] = (uint8_t)(128 + (pl == 1 ? x - 32 : y - 24) +
                                                              (t % 16));
}

typedef struct Run {
    int n;
    double bits[400];
    int qp[400];
    int type[400];
} Run;

/* Encode n frames; rate[i] (kbit/s, -1 = unchanged) is applied before frame i. */
static int encode(LvcEncoderSettings *s, int n, const int *rate, Run *out)
{
    LvcEncoder *enc = NULL;
    LvcPicture *pic = NULL;
    int r = lvc_encoder_open(&enc, model, s);
    if (r < 0) {
        fprintf(stderr, "open: %s\n", lvc_last_error());
        return r;
    }
    if ((r = lvc_picture_alloc(W, H, NULL, &pic)) < 0)
        goto done;
    out->n = 0;
    for (int i = 0; i < n; i++) {
        if (rate && rate[i] >= 0 && (r = lvc_encoder_set_bitrate(enc, rate[i])) < 0)
            goto done;
        fill_picture(pic, i);
        pic->pts = i;
        LvcPacket pkt;
        if ((r = lvc_encoder_send_picture(enc, pic)) < 0 ||
            (r = lvc_encoder_receive_packet(enc, &pkt)) < 0) {
            fprintf(stderr, "frame %d: %s\n", i, lvc_last_error());
            goto done;
        }
        out->bits[i] = (double)pkt.size * 8;
        out->qp[i] = pkt.qp;
        out->type[i] = pkt.frame_type;
        out->n++;
        if (getenv("RC_TRACE"))
            fprintf(stderr, "%d:%c%d:%.0f ", i, pkt.frame_type ? 'P' : 'I', pkt.qp,
                    (double)pkt.size * 8);
        lvc_packet_clear(&pkt);
    }
done:
    lvc_picture_unref(pic);
    lvc_encoder_close(enc);
    return r;
}

static double kbps(const Run *run, int from, int to)
{
    double b = 0;
    for (int i = from; i < to; i++)
        b += run->bits[i];
    return b * FPS / (to - from) / 1000;
}

/* The leaky bucket of ratecontrol.h replayed on the packet sizes: returns the number of frames
 * that did not fit.  rate[i] as in encode(). */
static int bucket_overflows(const Run *run, int kbps0, const int *rate, int vbv_ms)
{
    double k = kbps0, full = 0;
    int over = 0;
    for (int i = 0; i < run->n; i++) {
        if (rate && rate[i] > 0)
            k = rate[i];
        double size = k * vbv_ms, bpf = k * 1000 / FPS;
        if (size < 2 * bpf)
            size = 2 * bpf;
        full = fmin(full, size);
        if (full + run->bits[i] > size + 1e-6) {
            over++;
            fprintf(stderr, "  frame %d: %.0f bits with %.0f of %.0f in the bucket\n", i,
                    run->bits[i], full, size);
        }
        full = fmax(0, fmin(full + run->bits[i], size) - bpf);
    }
    return over;
}

static void settings(LvcEncoderSettings *s, int kbps0)
{
    lvc_encoder_settings_default(s);
    s->width = W;
    s->height = H;
    s->fps_num = FPS;
    s->fps_den = 1;
    s->bitrate_kbps = kbps0;
    s->threads = 1;
}

/* The constant-qp rates of the clip bound the targets the tests can ask for. */
static double rate_at_qp(int qp)
{
    LvcEncoderSettings s;
    settings(&s, 0);
    s.qp = qp;
    Run run;
    if (encode(&s, 60, NULL, &run) < 0)
        return 0;
    return kbps(&run, 30, 60);
}

static int t_hi, t_lo; /* targets inside the model's range on this clip */

static void test_steady(void)
{
    LvcEncoderSettings s;
    settings(&s, t_hi);
    static Run run;
    CHECK(encode(&s, 150, NULL, &run) == 0, "encode: %s", lvc_last_error());
    double k = kbps(&run, FPS, 150);
    printf("  steady %d kbit/s: %.1f kbit/s after the first second (qp %d..%d)\n", t_hi, k,
           run.qp[FPS], run.qp[149]);
    CHECK(fabs(k - t_hi) <= 0.05 * t_hi, "average %.1f kbit/s for a %d kbit/s target", k, t_hi);
    CHECK(bucket_overflows(&run, t_hi, NULL, 1000) == 0, "buffer overflow");
    CHECK(run.type[0] == 0 && run.type[1] == 1, "I then P");
}

static void test_change(void)
{
    LvcEncoderSettings s;
    settings(&s, t_hi);
    static Run run;
    static int rate[270];
    for (int i = 0; i < 270; i++)
        rate[i] = -1;
    rate[90] = t_lo;
    rate[180] = t_hi;
    CHECK(encode(&s, 270, rate, &run) == 0, "encode: %s", lvc_last_error());
    double k1 = kbps(&run, FPS, 90), k2 = kbps(&run, 90 + FPS, 180),
           k3 = kbps(&run, 180 + FPS, 270);
    printf("  change %d -> %d -> %d kbit/s: %.1f, %.1f, %.1f kbit/s from 1 s after each\n", t_hi,
           t_lo, t_hi, k1, k2, k3);
    CHECK(fabs(k1 - t_hi) <= 0.05 * t_hi, "first %.1f", k1);
    CHECK(fabs(k2 - t_lo) <= 0.05 * t_lo, "after the drop %.1f (target %d)", k2, t_lo);
    CHECK(fabs(k3 - t_hi) <= 0.05 * t_hi, "after the rise %.1f (target %d)", k3, t_hi);
    /* converged within the second: its last half-second is already near the target */
    double h2 = kbps(&run, 90 + FPS / 2, 90 + FPS), h3 = kbps(&run, 180 + FPS / 2, 180 + FPS);
    CHECK(fabs(h2 - t_lo) <= 0.1 * t_lo && fabs(h3 - t_hi) <= 0.1 * t_hi,
          "second half of the first second after the change: %.1f, %.1f", h2, h3);
    CHECK(bucket_overflows(&run, t_hi, rate, 1000) == 0, "buffer overflow");
}

static void test_back_to_constant_qp(void)
{
    LvcEncoderSettings s;
    settings(&s, t_hi);
    s.qp = 40;
    static Run run;
    int rate[40];
    for (int i = 0; i < 40; i++)
        rate[i] = -1;
    rate[20] = 0;
    CHECK(encode(&s, 40, rate, &run) == 0, "encode");
    int ok = 1;
    for (int i = 20; i < 40; i++)
        ok &= run.qp[i] == 40;
    CHECK(ok, "constant qp 40 after set_bitrate(0): qp %d", run.qp[39]);
}

static void test_all_intra(void)
{
    LvcEncoderSettings s;
    settings(&s, t_hi);
    s.key_int_max = 1;
    static Run run;
    CHECK(encode(&s, 90, NULL, &run) == 0, "encode");
    double k = kbps(&run, FPS, 90);
    printf("  all intra %d kbit/s: %.1f kbit/s\n", t_hi, k);
    CHECK(fabs(k - t_hi) <= 0.05 * t_hi, "all-intra average %.1f", k);
    CHECK(run.type[50] == 0, "I-frames");
    CHECK(bucket_overflows(&run, t_hi, NULL, 1000) == 0, "buffer overflow");
}

static void test_small_buffer(void)
{
    /* 100 ms: about three frames; the I-frames must be squeezed (re-encoded when needed) */
    LvcEncoderSettings s;
    settings(&s, t_hi);
    s.vbv_ms = 100;
    s.key_int_max = 30;
    static Run run;
    CHECK(encode(&s, 90, NULL, &run) == 0, "encode");
    double k = kbps(&run, FPS, 90);
    printf("  vbv 100 ms: %.1f kbit/s, I-frame qp %d, P qp %d\n", k, run.qp[30], run.qp[29]);
    CHECK(bucket_overflows(&run, t_hi, NULL, 100) == 0, "buffer overflow with a 100 ms buffer");
    CHECK(fabs(k - t_hi) <= 0.1 * t_hi, "average %.1f", k);
}

static void test_invalid(void)
{
    LvcEncoderSettings s;
    settings(&s, -5);
    LvcEncoder *enc = NULL;
    CHECK(lvc_encoder_open(&enc, model, &s) == LVC_EINVAL, "negative bitrate");
    settings(&s, 500);
    CHECK(lvc_encoder_open(&enc, model, &s) == 0, "open with a bitrate");
    CHECK(lvc_encoder_set_bitrate(enc, -1) == LVC_EINVAL, "negative rate");
    CHECK(lvc_encoder_set_bitrate(enc, 700) == 0, "set rate");
    lvc_encoder_close(enc);
}

int main(void)
{
    const char *path = LVC_SOURCE_ROOT "/tests/golden/model_random.lvcm";
    if (lvc_model_load(path, &model) < 0) {
        fprintf(stderr, "cannot load %s: %s\n", path, lvc_last_error());
        return 1;
    }
    /* Targets inside the range the random model reaches on this clip at constant qp.  (Its
     * P-frame sizes depend strongly on the history of the reference: after frames coded at a
     * low qp even qp 63 stays expensive, so the range is narrow.) */
    double r_lo = rate_at_qp(56), r_hi = rate_at_qp(40);
    t_hi = (int)(r_lo + 0.8 * (r_hi - r_lo));
    t_lo = (int)(r_lo + 0.2 * (r_hi - r_lo));
    printf("  constant qp 56: %.1f kbit/s, qp 40: %.1f kbit/s; targets %d and %d\n", r_lo, r_hi,
           t_lo, t_hi);
    RUN(test_steady);
    RUN(test_change);
    RUN(test_back_to_constant_qp);
    RUN(test_all_intra);
    RUN(test_small_buffer);
    RUN(test_invalid);
    lvc_model_unref(model);
    return check_finish();
}
