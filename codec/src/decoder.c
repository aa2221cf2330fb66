/* The public decoder (lvc_decoder_* of lvc.h): packet parsing, sequences and model look-up,
 * error recovery at key frames, around the frame data flow of codec.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "codec.h"
#include "internal.h"

struct LvcDecoder {
    LvcDecoderSettings s;
    LvcModel *model;        /* own reference: the settings' model or the one found */
    int fixed_model;        /* the model came from the settings */
    LvcThreadPool *pool;
    LvcCodec *codec;
    LvcSeqHeader sh;        /* the active sequence (ext not kept) */
    int have_sh;
    LvcPicture *out;
    int flushing;
    int backend;            /* of the current codec (lvc_backend_attach); AUTO before one */
};

void lvc_decoder_settings_default(LvcDecoderSettings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    s->backend = LVC_BACKEND_AUTO;
}

int lvc_decoder_open(LvcDecoder **out, const LvcDecoderSettings *s)
{
    lvc_error_clear();
    if (!out || !s)
        return lvc_error(LVC_EINVAL, "decoder: NULL argument");
    *out = NULL;
    if (s->threads < 0 || s->threads > LVC_THREADPOOL_MAX)
        return lvc_error(LVC_EINVAL, "decoder: invalid thread count %d", s->threads);
    if (s->max_pixels < 0)
        return lvc_error(LVC_EINVAL, "decoder: invalid max_pixels %d", s->max_pixels);
    if (s->backend != LVC_BACKEND_AUTO && s->backend != LVC_BACKEND_CPU &&
        s->backend != LVC_BACKEND_VULKAN)
        return lvc_error(LVC_EINVAL, "decoder: unknown backend %d", s->backend);
    LvcDecoder *d = calloc(1, sizeof(*d));
    if (!d)
        return lvc_error(LVC_ENOMEM, "out of memory");
    d->s = *s;
    if (s->model) {
        d->model = lvc_model_ref(s->model);
        d->fixed_model = 1;
    }
    int r = lvc_threadpool_create(&d->pool, s->threads);
    if (r < 0) {
        lvc_decoder_close(d);
        return r;
    }
    *out = d;
    return 0;
}

void lvc_decoder_close(LvcDecoder *d)
{
    if (!d)
        return;
    lvc_codec_close(d->codec);
    lvc_threadpool_destroy(d->pool);
    lvc_picture_unref(d->out);
    lvc_model_unref(d->model);
    free(d);
}

/* Make the model and codec fit a key frame's sequence header. */
static int start_sequence(LvcDecoder *d, const LvcSeqHeader *sh)
{
    int r;
    if (!d->model || memcmp(d->model->id, sh->model_id, LVC_MODEL_ID_SIZE) != 0) {
        char hex[2 * LVC_MODEL_ID_SIZE + 1];
        lvc_model_id_hex(sh->model_id, hex);
        if (d->fixed_model)
            return lvc_error(LVC_ENOMODEL, "the stream needs model %s; the decoder's model %s "
                             "has id %s", hex, d->model->name, d->model->id_hex);
        LvcModel *m;
        if ((r = lvc_model_find(sh->model_id, &m)) < 0)
            return r == LVC_ENOMODEL ? r : lvc_error(r, "cannot load model %s: %s", hex,
                                                     lvc_last_error());
        lvc_codec_close(d->codec);
        d->codec = NULL;
        d->have_sh = 0;
        lvc_model_unref(d->model);
        d->model = m;
    }
    if (d->have_sh && lvc_sh_equal(&d->sh, sh) && d->codec)
        return 0;
    /* a new sequence */
    if (d->s.max_pixels > 0 && (long long)sh->width * sh->height > d->s.max_pixels)
        return lvc_error(LVC_ENOMEM, "sequence of %dx%d exceeds the decoder's max_pixels %d",
                         sh->width, sh->height, d->s.max_pixels);
    /* a new sequence */
    if (!d->codec || !d->have_sh || d->sh.width != sh->width || d->sh.height != sh->height) {
        lvc_codec_close(d->codec);
        d->codec = NULL;
        d->have_sh = 0;
        if ((r = lvc_codec_open(&d->codec, d->model, sh->width, sh->height, 0, d->pool)) < 0)
            return r;
        if ((r = d->backend = lvc_backend_attach(d->codec, d->s.backend, d->s.vulkan_device,
                                                 "decoder")) < 0)
            return r;
    } else {
        lvc_codec_drop_ref(d->codec);
    }
    d->sh = *sh;
    d->sh.ext = NULL;
    d->sh.ext_size = 0;
    d->have_sh = 1;
    return 0;
}

static void drop_ref(LvcDecoder *d)
{
    if (d->codec)
        lvc_codec_drop_ref(d->codec);
}

int lvc_decoder_send_packet(LvcDecoder *d, const uint8_t *data, size_t size, int64_t pts)
{
    return lvc_decoder_send_packet_flags(d, data, size, pts, 0);
}

int lvc_decoder_send_packet_flags(LvcDecoder *d, const uint8_t *data, size_t size, int64_t pts,
                                  unsigned flags)
{
    lvc_error_clear();
    if (!d)
        return lvc_error(LVC_EINVAL, "decoder: NULL argument");
    if (flags & ~LVC_DECODE_NO_PICTURE)
        return lvc_error(LVC_EINVAL, "decoder: unknown flags 0x%x", flags);
    if (d->out)
        return LVC_EAGAIN;
    if (!data) {
        d->flushing = 1;
        return 0;
    }
    if (d->flushing)
        return lvc_error(LVC_EINVAL, "decoder: packet sent after flushing started");
    LvcPacketInfo info;
    int n_slices = d->have_sh ? lvc_slice_count(d->sh.width, d->sh.height) : 0;
    int r = lvc_packet_parse(data, size, n_slices, &info);
    if (r < 0) {
        drop_ref(d);
        return r;
    }
    if (info.has_sh) {
        if ((r = start_sequence(d, &info.sh)) < 0) {
            drop_ref(d);
            return r;
        }
    } else if (!d->codec || !lvc_codec_has_ref(d->codec)) {
        return lvc_error(LVC_ENOREF, "P-frame without a reference: waiting for a key frame");
    }
    if ((flags & LVC_DECODE_NO_PICTURE) && !info.fh.refresh)
        return lvc_codec_decode(d->codec, &info, NULL);
    LvcPicture *pic;
    if ((r = lvc_picture_alloc(d->sh.width, d->sh.height, d->s.allocator, &pic)) < 0) {
        drop_ref(d); /* the frame is lost: the next P-frames have no reference */
        return r;
    }
    if ((r = lvc_codec_decode(d->codec, &info, pic)) < 0) {
        lvc_picture_unref(pic);
        return r;
    }
    pic->pts = pts;
    pic->color = d->sh.color;
    pic->par_num = d->sh.par_num;
    pic->par_den = d->sh.par_den;
    pic->flags = 0;
    d->out = pic;
    return 0;
}

int lvc_decoder_receive_picture(LvcDecoder *d, LvcPicture **out)
{
    lvc_error_clear();
    if (!d || !out)
        return lvc_error(LVC_EINVAL, "decoder: NULL argument");
    *out = NULL;
    if (!d->out)
        return d->flushing ? LVC_EOF : LVC_EAGAIN;
    *out = d->out;
    d->out = NULL;
    return 0;
}

size_t lvc_decoder_memory(const LvcDecoder *d)
{
    size_t n = sizeof(*d);
    if (d->codec)
        n += lvc_codec_memory(d->codec);
    if (d->have_sh)
        n += (size_t)d->sh.width * (size_t)d->sh.height * 3 / 2; /* the output picture */
    return n;
}

int lvc_decoder_get_backend(const LvcDecoder *d)
{
    lvc_error_clear();
    if (!d)
        return lvc_error(LVC_EINVAL, "decoder: NULL argument");
    return d->codec ? d->backend : LVC_BACKEND_AUTO;
}

int lvc_decoder_get_timings(const LvcDecoder *d, LvcTimings *t)
{
    lvc_error_clear();
    if (!d || !t)
        return lvc_error(LVC_EINVAL, "decoder: NULL argument");
    memset(t, 0, sizeof(*t));
    if (d->codec)
        lvc_codec_timings(d->codec, t);
    return 0;
}
