/* x264 / x265 anchors through libavcodec, and libavformat input.  See anchors.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "anchors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>

#include "metrics.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void av_err(char *err, size_t n, const char *what, int code)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, buf, sizeof(buf));
    snprintf(err, n, "%s: %s", what, buf);
}

void anchor_quiet(void)
{
    av_log_set_level(AV_LOG_ERROR);
}

static const char *encoder_name(const char *codec)
{
    return !strcmp(codec, "x264") ? "libx264" : !strcmp(codec, "x265") ? "libx265" : NULL;
}

int anchor_available(const char *codec)
{
    const char *n = encoder_name(codec);
    return n && avcodec_find_encoder_by_name(n) != NULL;
}

/* The coded packets of one run. */
typedef struct PacketList {
    AVPacket **p;
    int n, cap;
} PacketList;

static int list_add(PacketList *l, AVPacket *pkt)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        AVPacket **np = realloc(l->p, (size_t)cap * sizeof(*np));
        if (!np)
            return -1;
        l->p = np;
        l->cap = cap;
    }
    l->p[l->n++] = pkt;
    return 0;
}

static void list_free(PacketList *l)
{
    for (int i = 0; i < l->n; i++)
        av_packet_free(&l->p[i]);
    free(l->p);
    memset(l, 0, sizeof(*l));
}

/* Receive every available packet of the encoder into l; adds their bytes to *bytes. */
static int drain_encoder(AVCodecContext *c, PacketList *l, double *bytes, char *err, size_t n)
{
    for (;;) {
        AVPacket *pkt = av_packet_alloc();
        if (!pkt) {
            snprintf(err, n, "out of memory");
            return -1;
        }
        int r = avcodec_receive_packet(c, pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) {
            av_packet_free(&pkt);
            return 0;
        }
        if (r < 0) {
            av_packet_free(&pkt);
            av_err(err, n, "encoding", r);
            return -1;
        }
        *bytes += pkt->size;
        if (list_add(l, pkt) < 0) {
            av_packet_free(&pkt);
            snprintf(err, n, "out of memory");
            return -1;
        }
    }
}

typedef struct DecodeState {
    const BenchClip *clip;
    int with_msssim, index;
    double sum_y, sum_u, sum_v, sum_yuv, sum_ms;
    double t_metrics;
} DecodeState;

static int drain_decoder(AVCodecContext *c, AVFrame *f, DecodeState *d, char *err, size_t n)
{
    for (;;) {
        int r = avcodec_receive_frame(c, f);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return 0;
        if (r < 0) {
            av_err(err, n, "decoding", r);
            return -1;
        }
        double t0 = now_s();
        if (d->index < d->clip->n) {
            if (f->width != d->clip->width || f->height != d->clip->height ||
                (f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P)) {
                snprintf(err, n, "decoded frame is %dx%d format %d", f->width, f->height,
                         f->format);
                av_frame_unref(f);
                return -1;
            }
            LvcPicture view;
            memset(&view, 0, sizeof(view));
            view.width = f->width;
            view.height = f->height;
            for (int p = 0; p < 3; p++) {
                view.data[p] = f->data[p];
                view.stride[p] = f->linesize[p];
            }
            FrameMetrics m;
            if (metrics_frame(d->clip->frames[d->index], &view, d->with_msssim, &m) < 0) {
                snprintf(err, n, "out of memory");
                av_frame_unref(f);
                return -1;
            }
            d->sum_y += m.psnr[0];
            d->sum_u += m.psnr[1];
            d->sum_v += m.psnr[2];
            d->sum_yuv += m.psnr_yuv;
            d->sum_ms += m.msssim_y;
        }
        d->index++;
        av_frame_unref(f);
        d->t_metrics += now_s() - t0;
    }
}

int anchor_run(const AnchorConfig *cfg, const BenchClip *clip, int with_msssim, RdPoint *out,
               char *err, size_t err_size)
{
    const char *name = encoder_name(cfg->codec);
    const AVCodec *codec = name ? avcodec_find_encoder_by_name(name) : NULL;
    if (!codec) {
        snprintf(err, err_size, "libavcodec has no %s encoder", name ? name : cfg->codec);
        return -1;
    }
    const int x264 = !strcmp(cfg->codec, "x264");
    AVCodecContext *enc = NULL, *dec = NULL;
    AVFrame *frame = NULL;
    AVDictionary *opts = NULL;
    PacketList pl = {0};
    int ret = -1, r;
    const int fps_num = clip->fps_num > 0 && clip->fps_den > 0 ? clip->fps_num : 25;
    const int fps_den = clip->fps_num > 0 && clip->fps_den > 0 ? clip->fps_den : 1;
    if (!(enc = avcodec_alloc_context3(codec)) || !(frame = av_frame_alloc())) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    enc->width = clip->width;
    enc->height = clip->height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = (AVRational){fps_den, fps_num};
    enc->framerate = (AVRational){fps_num, fps_den};
    if (clip->par_num > 0 && clip->par_den > 0)
        enc->sample_aspect_ratio = (AVRational){clip->par_num, clip->par_den};
    enc->chroma_sample_location = (enum AVChromaLocation)clip->chroma_loc;
    enc->color_range = clip->range == 2   ? AVCOL_RANGE_JPEG
                       : clip->range == 1 ? AVCOL_RANGE_MPEG
                                          : AVCOL_RANGE_UNSPECIFIED;
    enc->thread_count = cfg->threads;
    char crf[16];
    snprintf(crf, sizeof(crf), "%d", cfg->crf);
    av_dict_set(&opts, "preset", cfg->preset, 0);
    av_dict_set(&opts, "tune", "psnr", 0);
    av_dict_set(&opts, "crf", crf, 0);
    if (x264)
        av_dict_set(&opts, "x264-params",
                    cfg->intra ? "keyint=1" : "keyint=infinite:scenecut=0:bframes=0", 0);
    else /* info=0: x265 repeats its version-and-options SEI (about 2 KB) in every IDR
          * picture otherwise, which all-intra coding would count against it */
        av_dict_set(&opts, "x265-params",
                    cfg->intra ? "keyint=1:info=0:log-level=error"
                               : "keyint=-1:scenecut=0:bframes=0:info=0:log-level=error", 0);
    double t0 = now_s(), bytes = 0;
    if ((r = avcodec_open2(enc, codec, &opts)) < 0) {
        av_err(err, err_size, name, r);
        goto done;
    }
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = clip->width;
    frame->height = clip->height;
    for (int i = 0; i < clip->n; i++) {
        if ((r = av_frame_get_buffer(frame, 0)) < 0 || (r = av_frame_make_writable(frame)) < 0) {
            av_err(err, err_size, "frame buffer", r);
            goto done;
        }
        const LvcPicture *p = clip->frames[i];
        for (int pl_i = 0; pl_i < 3; pl_i++) {
            int w = pl_i ? (clip->width + 1) / 2 : clip->width;
            int h = pl_i ? (clip->height + 1) / 2 : clip->height;
            for (int y = 0; y < h; y++)
                memcpy(frame->data[pl_i] + (ptrdiff_t)y * frame->linesize[pl_i],
                       p->data[pl_i] + y * p->stride[pl_i], (size_t)w);
        }
        frame->pts = i;
        if ((r = avcodec_send_frame(enc, frame)) < 0) {
            av_err(err, err_size, "encoding", r);
            goto done;
        }
        av_frame_unref(frame);
        frame->format = AV_PIX_FMT_YUV420P;
        frame->width = clip->width;
        frame->height = clip->height;
        if (drain_encoder(enc, &pl, &bytes, err, err_size) < 0)
            goto done;
    }
    if ((r = avcodec_send_frame(enc, NULL)) < 0) {
        av_err(err, err_size, "flushing", r);
        goto done;
    }
    if (drain_encoder(enc, &pl, &bytes, err, err_size) < 0)
        goto done;
    double t_enc = now_s() - t0;

    const AVCodec *dcodec = avcodec_find_decoder(x264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC);
    if (!dcodec || !(dec = avcodec_alloc_context3(dcodec))) {
        snprintf(err, err_size, "no %s decoder", x264 ? "h264" : "hevc");
        goto done;
    }
    dec->thread_count = cfg->threads;
    t0 = now_s();
    if ((r = avcodec_open2(dec, dcodec, NULL)) < 0) {
        av_err(err, err_size, "decoder", r);
        goto done;
    }
    DecodeState ds;
    memset(&ds, 0, sizeof(ds));
    ds.clip = clip;
    ds.with_msssim = with_msssim;
    for (int i = 0; i <= pl.n; i++) {
        if ((r = avcodec_send_packet(dec, i < pl.n ? pl.p[i] : NULL)) < 0) {
            av_err(err, err_size, "decoding", r);
            goto done;
        }
        if (drain_decoder(dec, frame, &ds, err, err_size) < 0)
            goto done;
    }
    double t_dec = now_s() - t0 - ds.t_metrics;
    if (ds.index != clip->n) {
        snprintf(err, err_size, "%d frames decoded of %d", ds.index, clip->n);
        goto done;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->codec, sizeof(out->codec), "%s", cfg->codec);
    out->setting = cfg->crf;
    out->frames = clip->n;
    out->bits = bytes * 8;
    out->psnr[0] = ds.sum_y / clip->n;
    out->psnr[1] = ds.sum_u / clip->n;
    out->psnr[2] = ds.sum_v / clip->n;
    out->psnr_yuv = ds.sum_yuv / clip->n;
    out->msssim_y = ds.sum_ms / clip->n;
    out->enc_fps = t_enc > 0 ? clip->n / t_enc : 0;
    out->dec_fps = t_dec > 0 ? clip->n / t_dec : 0;
    bench_finish_point(out, clip);
    ret = 0;
done:
    av_dict_free(&opts);
    list_free(&pl);
    av_frame_free(&frame);
    avcodec_free_context(&enc);
    avcodec_free_context(&dec);
    return ret;
}

/* ---- input --------------------------------------------------------------------------------- */

static int add_frame(BenchClip *clip, const AVFrame *f, struct SwsContext **sws, char *err,
                     size_t n)
{
    LvcPicture *pic = NULL;
    if (lvc_picture_alloc(clip->width, clip->height, NULL, &pic) < 0) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    if (f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUVJ420P) {
        for (int p = 0; p < 3; p++) {
            int w = p ? (clip->width + 1) / 2 : clip->width;
            int h = p ? (clip->height + 1) / 2 : clip->height;
            for (int y = 0; y < h; y++)
                memcpy(pic->data[p] + y * pic->stride[p],
                       f->data[p] + (ptrdiff_t)y * f->linesize[p], (size_t)w);
        }
    } else {
        *sws = sws_getCachedContext(*sws, f->width, f->height, f->format, clip->width,
                                    clip->height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL,
                                    NULL);
        if (!*sws) {
            lvc_picture_unref(pic);
            snprintf(err, n, "cannot convert pixel format %s to yuv420p",
                     av_get_pix_fmt_name(f->format) ? av_get_pix_fmt_name(f->format) : "?");
            return -1;
        }
        int ls[4] = {(int)pic->stride[0], (int)pic->stride[1], (int)pic->stride[2], 0};
        uint8_t *d[4] = {pic->data[0], pic->data[1], pic->data[2], NULL};
        sws_scale(*sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, d, ls);
    }
    pic->pts = clip->n;
    LvcPicture **nf = realloc(clip->frames, (size_t)(clip->n + 1) * sizeof(*nf));
    if (!nf) {
        lvc_picture_unref(pic);
        snprintf(err, n, "out of memory");
        return -1;
    }
    clip->frames = nf;
    clip->frames[clip->n++] = pic;
    return 0;
}

int anchor_read_clip(const char *path, int max_frames, BenchClip *clip, char *err,
                     size_t err_size)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    struct SwsContext *sws = NULL;
    int ret = -1, r;
    if (!pkt || !f) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    if ((r = avformat_open_input(&fmt, path, NULL, NULL)) < 0 ||
        (r = avformat_find_stream_info(fmt, NULL)) < 0) {
        av_err(err, err_size, "cannot open", r);
        goto done;
    }
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0 || !codec) {
        snprintf(err, err_size, "no decodable video stream");
        goto done;
    }
    AVStream *st = fmt->streams[si];
    if (!(dec = avcodec_alloc_context3(codec)) ||
        (r = avcodec_parameters_to_context(dec, st->codecpar)) < 0 ||
        (r = avcodec_open2(dec, codec, NULL)) < 0) {
        snprintf(err, err_size, "cannot open the %s decoder", codec->name);
        goto done;
    }
    clip->width = dec->width;
    clip->height = dec->height;
    if (clip->width < 1 || clip->height < 1 || clip->width > 8192 || clip->height > 8192) {
        snprintf(err, err_size, "picture size %dx%d", clip->width, clip->height);
        goto done;
    }
    clip->par_num = st->codecpar->sample_aspect_ratio.num;
    clip->par_den = st->codecpar->sample_aspect_ratio.den;
    clip->chroma_loc = (int)st->codecpar->chroma_location;
    clip->range = st->codecpar->color_range == AVCOL_RANGE_JPEG ? 2
                  : st->codecpar->color_range == AVCOL_RANGE_MPEG ? 1 : 0;
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    clip->fps_num = fr.num > 0 && fr.den > 0 ? fr.num : 0;
    clip->fps_den = fr.num > 0 && fr.den > 0 ? fr.den : 0;
    int eof = 0;
    while (max_frames < 0 || clip->n < max_frames) {
        if (!eof) {
            r = av_read_frame(fmt, pkt);
            if (r < 0) {
                eof = 1;
                avcodec_send_packet(dec, NULL);
            } else {
                if (pkt->stream_index == si && (r = avcodec_send_packet(dec, pkt)) < 0 &&
                    r != AVERROR(EAGAIN)) {
                    av_packet_unref(pkt);
                    av_err(err, err_size, "decoding", r);
                    goto done;
                }
                av_packet_unref(pkt);
            }
        }
        for (;;) {
            r = avcodec_receive_frame(dec, f);
            if (r == AVERROR(EAGAIN))
                break;
            if (r == AVERROR_EOF)
                goto end;
            if (r < 0) {
                av_err(err, err_size, "decoding", r);
                goto done;
            }
            if (max_frames < 0 || clip->n < max_frames) {
                if (f->width != clip->width || f->height != clip->height) {
                    snprintf(err, err_size, "the picture size changes");
                    av_frame_unref(f);
                    goto done;
                }
                if (add_frame(clip, f, &sws, err, err_size) < 0) {
                    av_frame_unref(f);
                    goto done;
                }
            }
            av_frame_unref(f);
        }
    }
end:
    if (clip->n == 0) {
        snprintf(err, err_size, "no frames");
        goto done;
    }
    ret = 0;
done:
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return ret;
}
