/* The public encoder (lvc_encoder_* of lvc.h): frame-type and refresh decisions, sequence
 * headers, the send/receive life cycle around the frame data flow of codec.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Zero frame delay: every picture sent is coded at once into one packet.  With a target bitrate
 * the qp of every frame comes from rate control (ratecontrol.h); a frame that overflows the
 * buffer is coded again at a higher qp from a checkpoint of the codec state. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "codec.h"
#include "internal.h"
#include "ratecontrol.h"

struct LvcEncoder {
    LvcModel *model;
    LvcEncoderSettings s;
    LvcThreadPool *pool;
    LvcCodec *codec;
    uint8_t sh[LVC_SH_MAX_SIZE];
    size_t sh_size;
    LvcPicture *recon;      /* the last reconstruction (internal) */
    int have_recon;
    int started, since_key, p_count, force_key, flushing;
    int have_pkt;
    LvcPacket pkt;
    int rc_on;              /* a target bitrate is set */
    int rc_started;         /* rc was initialised (keeps its model across rate changes) */
    int pending_kbps;       /* set_bitrate: applied at the next frame (-1: none) */
    LvcRateControl rc;
    int backend;            /* the backend in use (LVC_BACKEND_CPU / LVC_BACKEND_VULKAN) */
};

void lvc_encoder_settings_default(LvcEncoderSettings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    s->color.primaries = s->color.transfer = s->color.matrix = 2;
    s->qp = 32;
    s->vbv_ms = 1000;
    s->key_int_max = 256;
    s->refresh_period = 32;
    s->backend = LVC_BACKEND_AUTO;
}

static int check_settings(const LvcEncoderSettings *s)
{
    if (s->width < 1 || s->height < 1 || s->width > LVC_MAX_DIM || s->height > LVC_MAX_DIM)
        return lvc_error(LVC_EINVAL, "encoder: picture size %dx%d outside 1..%d", s->width,
                         s->height, LVC_MAX_DIM);
    if (s->qp < 0 || s->qp > LVC_QP_MAX)
        return lvc_error(LVC_EINVAL, "encoder: qp %d outside 0..%d", s->qp, LVC_QP_MAX);
    if (s->bitrate_kbps < 0 || s->vbv_ms < 0 || s->key_int_max < 0 || s->refresh_period < 0 ||
        s->threads < 0 || s->threads > LVC_THREADPOOL_MAX)
        return lvc_error(LVC_EINVAL, "encoder: negative bitrate, vbv, key_int_max, "
                         "refresh_period or invalid thread count %d", s->threads);
    if (s->backend != LVC_BACKEND_AUTO && s->backend != LVC_BACKEND_CPU &&
        s->backend != LVC_BACKEND_VULKAN)
        return lvc_error(LVC_EINVAL, "encoder: unknown backend %d", s->backend);
    return 0;
}

int lvc_encoder_open(LvcEncoder **out, LvcModel *model, const LvcEncoderSettings *s)
{
    lvc_error_clear();
    if (!out || !model || !s)
        return lvc_error(LVC_EINVAL, "encoder: NULL argument");
    *out = NULL;
    int r = check_settings(s);
    if (r < 0)
        return r;
    LvcEncoder *e = calloc(1, sizeof(*e));
    if (!e)
        return lvc_error(LVC_ENOMEM, "out of memory");
    e->s = *s;
    e->model = lvc_model_ref(model);
    e->pending_kbps = s->bitrate_kbps > 0 ? s->bitrate_kbps : -1;
    LvcSeqHeader sh;
    lvc_sh_init(&sh, s->width, s->height);
    memcpy(sh.model_id, model->id, LVC_MODEL_ID_SIZE);
    sh.color = s->color;
    sh.par_num = s->par_num;
    sh.par_den = s->par_den;
    sh.fps_num = s->fps_num < 0 ? 0xffffffffu : (uint32_t)s->fps_num;
    sh.fps_den = s->fps_den;
    if (s->fps_num < 0 || s->fps_den < 0 || s->fps_den > 0xffff || s->par_num < 0 ||
        s->par_num > 0xffff || s->par_den < 0 || s->par_den > 0xffff || s->color.range > 2) {
        r = lvc_error(LVC_EINVAL, "encoder: frame rate %d/%d, aspect ratio %d/%d or range %d "
                      "out of range", s->fps_num, s->fps_den, s->par_num, s->par_den,
                      s->color.range);
        goto fail;
    }
    if ((r = lvc_sh_write(&sh, e->sh, sizeof(e->sh))) < 0)
        goto fail;
    e->sh_size = (size_t)r;
    if ((r = lvc_threadpool_create(&e->pool, s->threads)) < 0)
        goto fail;
    if ((r = lvc_codec_open(&e->codec, model, s->width, s->height, 1, e->pool)) < 0)
        goto fail;
    if ((r = e->backend = lvc_backend_attach(e->codec, s->backend, s->vulkan_device,
                                             "encoder")) < 0)
        goto fail;
    if ((r = lvc_picture_alloc(s->width, s->height, NULL, &e->recon)) < 0)
        goto fail;
    *out = e;
    return 0;
fail:
    lvc_encoder_close(e);
    return r;
}

void lvc_encoder_close(LvcEncoder *e)
{
    if (!e)
        return;
    lvc_codec_close(e->codec);
    lvc_threadpool_destroy(e->pool);
    lvc_picture_unref(e->recon);
    if (e->have_pkt)
        lvc_packet_clear(&e->pkt);
    lvc_model_unref(e->model);
    free(e);
}

int lvc_encoder_send_picture(LvcEncoder *e, LvcPicture *pic)
{
    lvc_error_clear();
    if (!e)
        return lvc_error(LVC_EINVAL, "encoder: NULL argument");
    if (e->have_pkt)
        return LVC_EAGAIN;
    if (!pic) {
        e->flushing = 1;
        return 0;
    }
    if (e->flushing)
        return lvc_error(LVC_EINVAL, "encoder: picture sent after flushing started");
    if (pic->format != LVC_PIX_I420 || pic->width != e->s.width || pic->height != e->s.height)
        return lvc_error(LVC_EINVAL, "encoder: picture is %dx%d format %d, the encoder codes "
                         "%dx%d I420", pic->width, pic->height, pic->format, e->s.width,
                         e->s.height);
    int key = !e->started || e->force_key || !e->model->has_inter ||
              !lvc_codec_has_ref(e->codec) ||
              (e->s.key_int_max > 0 && e->since_key >= e->s.key_int_max);
    int refresh = 0;
    if (!key && e->s.refresh_period > 0 && e->p_count + 1 >= e->s.refresh_period)
        refresh = 1;
    if (e->pending_kbps >= 0) {
        const int was_off = !e->rc_on;
        e->rc_on = e->pending_kbps > 0;
        if (e->rc_on && !e->rc_started) {
            lvc_rc_init(&e->rc, e->s.width, e->s.height, e->s.fps_num, e->s.fps_den,
                        e->pending_kbps, e->s.vbv_ms, e->s.key_int_max, !e->model->has_inter,
                        e->s.qp);
            e->rc_started = 1;
        } else if (e->rc_on) {
            if (was_off) { /* the bucket drained while coding at constant qp */
                e->rc.fullness = 0;
                e->rc.excess = 0;
            }
            lvc_rc_set_bitrate(&e->rc, e->pending_kbps);
        }
        e->pending_kbps = -1;
    }
    int type = key ? LVC_FRAME_I : LVC_FRAME_P;
    int qp = e->rc_on ? lvc_rc_frame_qp(&e->rc, type) : e->s.qp;
    const uint8_t *data;
    size_t size;
    int r, tried_intra = 0;
    double p_bits = 0;
    if (e->rc_on && (r = lvc_codec_checkpoint(e->codec)) < 0)
        return r;
    for (;;) {
        r = lvc_codec_encode(e->codec, pic, type, qp, refresh, e->sh, e->sh_size, &data, &size,
                             e->recon);
        if (r < 0) {
            e->have_recon = 0;
            return r;
        }
        const double bits = (double)size * 8;
        if (!e->rc_on || lvc_rc_fits(&e->rc, bits))
            break;
        /* Too large for the buffer: code the frame again at a higher qp; a P-frame still too
         * large at the highest qp is tried as an I-frame (its reference may be what costs),
         * and the smaller of the two is kept. */
        if (qp < LVC_QP_MAX) {
            qp = lvc_rc_retry_qp(&e->rc, type, qp, bits);
        } else if (type == LVC_FRAME_P && !tried_intra) {
            tried_intra = 1;
            p_bits = bits;
            type = LVC_FRAME_I;
            refresh = 0;
            qp = lvc_rc_frame_qp(&e->rc, type);
        } else if (type == LVC_FRAME_I && tried_intra == 1 && bits > p_bits) {
            tried_intra = 2;
            type = LVC_FRAME_P;
            refresh = e->s.refresh_period > 0 && e->p_count + 1 >= e->s.refresh_period;
        } else {
            break;
        }
        lvc_codec_rollback(e->codec);
    }
    key = type == LVC_FRAME_I;
    if (e->rc_on)
        lvc_rc_update(&e->rc, type, qp, (double)size * 8);
    uint8_t *copy = malloc(size);
    if (!copy)
        return lvc_error(LVC_ENOMEM, "out of memory for a %zu-byte packet", size);
    memcpy(copy, data, size);
    e->started = 1;
    if (key) {
        e->force_key = 0;
        e->since_key = 1;
        e->p_count = 0;
    } else {
        e->since_key++;
        e->p_count = refresh ? 0 : e->p_count + 1;
    }
    memset(&e->pkt, 0, sizeof(e->pkt));
    e->pkt.data = copy;
    e->pkt.size = size;
    e->pkt.pts = pic->pts;
    e->pkt.flags = key ? LVC_PACKET_KEYFRAME : 0;
    e->pkt.qp = qp;
    e->pkt.frame_type = key ? 0 : 1;
    e->pkt.user_data = pic->user_data;
    e->have_pkt = 1;
    e->recon->pts = pic->pts;
    e->recon->color = e->s.color;
    e->recon->par_num = e->s.par_num;
    e->recon->par_den = e->s.par_den;
    e->recon->user_data = pic->user_data;
    e->have_recon = 1;
    return 0;
}

int lvc_encoder_receive_packet(LvcEncoder *e, LvcPacket *pkt)
{
    lvc_error_clear();
    if (!e || !pkt)
        return lvc_error(LVC_EINVAL, "encoder: NULL argument");
    if (!e->have_pkt)
        return e->flushing ? LVC_EOF : LVC_EAGAIN;
    *pkt = e->pkt;
    memset(&e->pkt, 0, sizeof(e->pkt));
    e->have_pkt = 0;
    return 0;
}

int lvc_encoder_receive_recon(LvcEncoder *e, LvcPicture **out)
{
    lvc_error_clear();
    if (!e || !out)
        return lvc_error(LVC_EINVAL, "encoder: NULL argument");
    *out = NULL;
    if (!e->s.want_recon)
        return lvc_error(LVC_EINVAL, "encoder: opened without want_recon");
    if (!e->have_recon)
        return LVC_EAGAIN;
    LvcPicture *p;
    int r = lvc_picture_alloc(e->s.width, e->s.height, NULL, &p);
    if (r < 0)
        return r;
    const LvcPicture *s = e->recon;
    for (int pl = 0; pl < 3; pl++) {
        int w = pl ? (s->width + 1) / 2 : s->width, h = pl ? (s->height + 1) / 2 : s->height;
        for (int y = 0; y < h; y++)
            memcpy(p->data[pl] + y * p->stride[pl], s->data[pl] + y * s->stride[pl], (size_t)w);
    }
    p->pts = s->pts;
    p->color = s->color;
    p->par_num = s->par_num;
    p->par_den = s->par_den;
    p->user_data = s->user_data;
    *out = p;
    return 0;
}

int lvc_encoder_force_keyframe(LvcEncoder *e)
{
    lvc_error_clear();
    if (!e)
        return lvc_error(LVC_EINVAL, "encoder: NULL argument");
    e->force_key = 1;
    return 0;
}

int lvc_encoder_set_bitrate(LvcEncoder *e, int kbps)
{
    lvc_error_clear();
    if (!e || kbps < 0)
        return lvc_error(LVC_EINVAL, "encoder: invalid bitrate %d", kbps);
    e->pending_kbps = kbps;
    return 0;
}

int lvc_encoder_get_sequence_header(LvcEncoder *e, const uint8_t **data, size_t *size)
{
    lvc_error_clear();
    if (!e || !data || !size)
        return lvc_error(LVC_EINVAL, "encoder: NULL argument");
    *data = e->sh;
    *size = e->sh_size;
    return 0;
}

size_t lvc_encoder_memory(const LvcEncoder *e)
{
    size_t pic = (size_t)e->s.width * (size_t)e->s.height * 3 / 2;
    return sizeof(*e) + lvc_codec_memory(e->codec) + pic + e->pkt.size;
}

int lvc_encoder_get_backend(const LvcEncoder *e)
{
    lvc_error_clear();
    if (!e)
        return lvc_error(LVC_EINVAL, "encoder: NULL argument");
    return e->backend;
}

int lvc_encoder_get_timings(const LvcEncoder *e, LvcTimings *t)
{
    lvc_error_clear();
    if (!e || !t)
        return lvc_error(LVC_EINVAL, "encoder: NULL argument");
    memset(t, 0, sizeof(*t));
    lvc_codec_timings(e->codec, t);
    return 0;
}
