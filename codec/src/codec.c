/* The lvc-s frame data flow.  See codec.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "internal.h"
#include "rans.h"

#define Y_CHANNELS 128
#define Z_CHANNELS 64
#define X_CHANNELS 96

/* Error of a slice job, reported by the calling thread (messages are per thread). */
typedef struct SliceErr {
    int code;
    char msg[160];
} SliceErr;

struct LvcCodec {
    const LvcModel *m;
    int width, height, encoder;
    LvcThreadPool *pool;
    LvcDsp dsp;
    LvcGraphPlan *plan[LVC_G_COUNT];
    int16_t *scratch;             /* shared by every plan's temporaries */
    LvcTraceFn trace;
    void *trace_opaque;

    int h0, w0, h1, w1, h3, w3;   /* level 0, −1, −3 sizes */
    int n_slices;
    int slice_r0[LVC_MAX_SLICES + 1];

    int16_t *x;                   /* packed picture, 96 × h0 × w0, exponent 7 */
    int16_t *f;                   /* state F, fc × h0 × w0 */
    int f_channels, f_exp;
    int16_t *yhat, *yhat_new;     /* state ŷ and the frame's ŷ, 128 × h1 × w1 */
    int16_t *yhat1;
    int16_t *zhat;                /* 64 × h3 × w3 */
    int32_t *zq;
    int32_t *yq;                  /* 128 × h1 × w1 */
    uint8_t *bins, *coded;
    size_t buf_bytes;

    LvcRansEnc *enc;              /* n_slices (encoder) */
    LvcRansDec dec[LVC_MAX_SLICES];
    SliceErr err[LVC_MAX_SLICES];
    uint8_t *pkt;
    size_t pkt_cap;

    int have_ref;
    int last_qp;

    LvcGpu *gpu;                  /* the Vulkan executor (backend.h), or NULL: the CPU */
    double net_s, ent_s, macs;    /* lvc_codec_timings */
    double total_s;
    uint64_t frames;

    /* lvc_codec_checkpoint: a copy of the state for a re-encode (allocated on first use) */
    int16_t *f_saved, *yhat_saved;
    int have_ref_saved, last_qp_saved, have_checkpoint;
};

/* ---- helpers ------------------------------------------------------------------------------- */

static int16_t *alloc16(LvcCodec *c, size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(int16_t);
    bytes = (bytes + 63) & ~(size_t)63;
    c->buf_bytes += bytes;
    return aligned_alloc(64, bytes);
}

static void *alloc_bytes(LvcCodec *c, size_t n)
{
    c->buf_bytes += n ? n : 1;
    return malloc(n ? n : 1);
}

static void trace_out(LvcCodec *c, const char *graph, const char *port, const LvcTensor *t)
{
    if (!c->trace)
        return;
    if (c->gpu && lvc_gpu_to_host(c->gpu, &t, 1) < 0)
        return;
    char name[2 * LVC_MODEL_MAX_NAME + 2];
    if (graph)
        snprintf(name, sizeof(name), "%s.%s", graph, port);
    else
        snprintf(name, sizeof(name), "%s", port);
    c->trace(c->trace_opaque, name, t);
}

/* Run graph role with n inputs; outputs receive the graph's outputs. */
static int run(LvcCodec *c, int role, int qp, const LvcTensor *const *in, LvcTensor *out)
{
    LvcGraphPlan *p = c->plan[role];
    if (!p)
        return lvc_error(LVC_EINVAL, "graph %s is not available", lvc_model_graph_role_name(role));
    const double t0 = lvc_now_s();
    int r = c->gpu ? lvc_gpu_run(c->gpu, role, qp, in, out)
                   : lvc_graph_run(p, &c->dsp, c->pool, qp, in, out, c->scratch);
    if (r < 0)
        return r;
    const LvcGraph *g = lvc_graph_plan_graph(p);
    c->net_s += lvc_now_s() - t0;
    c->macs += g->macs * (double)c->h0 * (double)c->w0;
    for (int i = 0; i < g->n_outputs; i++)
        trace_out(c, g->name, g->outputs[i].name, &out[i]);
    return 0;
}

static LvcTensor tensor(int16_t *data, int ch, int h, int w, int exp)
{
    LvcTensor t = {data, ch, h, w, exp};
    return t;
}

/* ---- open / close -------------------------------------------------------------------------- */

int lvc_codec_open(LvcCodec **out, const LvcModel *model, int width, int height, int encoder,
                   LvcThreadPool *pool)
{
    *out = NULL;
    if (!model || width < 1 || height < 1 || width > LVC_MAX_DIM || height > LVC_MAX_DIM)
        return lvc_error(LVC_EINVAL, "codec: invalid model or picture size %dx%d", width,
                         height);
    LvcCodec *c = calloc(1, sizeof(*c));
    if (!c)
        return lvc_error(LVC_ENOMEM, "out of memory");
    c->m = model;
    c->width = width;
    c->height = height;
    c->encoder = encoder;
    c->pool = pool;
    c->last_qp = -1;
    lvc_dsp_init(&c->dsp, LVC_DSP_MAX);
    c->h0 = lvc_level_height(height, 0);
    c->w0 = lvc_level_width(width, 0);
    c->h1 = lvc_level_height(height, -1);
    c->w1 = lvc_level_width(width, -1);
    c->h3 = lvc_level_height(height, -3);
    c->w3 = lvc_level_width(width, -3);
    c->n_slices = lvc_slice_count(width, height);
    int r = 0;
    if (c->n_slices < 1) {
        r = c->n_slices;
        goto fail;
    }
    for (int i = 0; i <= c->n_slices; i++) {
        int r0, r1;
        lvc_slice_rows(c->h1, c->n_slices, i < c->n_slices ? i : c->n_slices - 1, &r0, &r1);
        c->slice_r0[i] = i < c->n_slices ? r0 : r1;
    }
    for (int role = 0; role < LVC_G_COUNT; role++) {
        const LvcGraph *g = model->role[role];
        if (!g) {
            if (role < LVC_G_FIRST_INTER) {
                r = lvc_error(LVC_EMODEL, "model %s lacks graph %s", model->name,
                              lvc_model_graph_role_name(role));
                goto fail;
            }
            continue;
        }
        if ((g->flags & LVC_GRAPH_ENCODER_ONLY) && !encoder)
            continue;
        if ((r = lvc_graph_plan(&c->plan[role], g, width, height)) < 0)
            goto fail;
    }
    size_t scratch = 0;
    for (int role = 0; role < LVC_G_COUNT; role++)
        if (c->plan[role] && lvc_graph_plan_scratch(c->plan[role]) > scratch)
            scratch = lvc_graph_plan_scratch(c->plan[role]);
    c->scratch = alloc16(c, scratch);
    const LvcGraph *syn = model->role[LVC_G_INTRA_SYNTHESIS];
    c->f_channels = syn->outputs[0].v.channels;
    c->f_exp = syn->outputs[0].v.exp;
    const size_t n0 = (size_t)c->h0 * (size_t)c->w0, n1 = (size_t)c->h1 * (size_t)c->w1;
    const size_t n3 = (size_t)c->h3 * (size_t)c->w3;
    c->x = alloc16(c, X_CHANNELS * n0);
    c->f = alloc16(c, (size_t)c->f_channels * n0);
    c->yhat = alloc16(c, Y_CHANNELS * n1);
    c->yhat_new = alloc16(c, Y_CHANNELS * n1);
    c->yhat1 = alloc16(c, Y_CHANNELS * n1);
    c->zhat = alloc16(c, Z_CHANNELS * n3);
    c->zq = alloc_bytes(c, Z_CHANNELS * n3 * sizeof(int32_t));
    c->yq = alloc_bytes(c, Y_CHANNELS * n1 * sizeof(int32_t));
    c->bins = alloc_bytes(c, Y_CHANNELS * n1);
    c->coded = alloc_bytes(c, Y_CHANNELS * n1);
    if (encoder) {
        c->enc = calloc((size_t)c->n_slices, sizeof(*c->enc));
        if (c->enc)
            for (int i = 0; i < c->n_slices; i++)
                lvc_rans_enc_init(&c->enc[i]);
    }
    if (!c->scratch || !c->x || !c->f || !c->yhat || !c->yhat_new || !c->yhat1 || !c->zhat || !c->zq ||
        !c->yq || !c->bins || !c->coded || (encoder && !c->enc)) {
        r = lvc_error(LVC_ENOMEM, "codec: out of memory for a %dx%d picture", width, height);
        goto fail;
    }
    memset(c->yq, 0, Y_CHANNELS * n1 * sizeof(int32_t));
    memset(c->bins, 0, Y_CHANNELS * n1);
    memset(c->coded, 0, Y_CHANNELS * n1);
    memset(c->zq, 0, Z_CHANNELS * n3 * sizeof(int32_t));
    *out = c;
    return 0;
fail:
    lvc_codec_close(c);
    return r;
}

void lvc_codec_close(LvcCodec *c)
{
    if (!c)
        return;
    for (int i = 0; i < LVC_G_COUNT; i++)
        lvc_graph_plan_free(c->plan[i]);
    if (c->enc)
        for (int i = 0; i < c->n_slices; i++)
            lvc_rans_enc_free(&c->enc[i]);
    free(c->enc);
    free(c->scratch);
    free(c->x);
    free(c->f);
    free(c->yhat);
    free(c->yhat_new);
    free(c->yhat1);
    free(c->zhat);
    free(c->zq);
    free(c->yq);
    free(c->bins);
    free(c->coded);
    free(c->pkt);
    free(c->f_saved);
    free(c->yhat_saved);
    lvc_gpu_close(c->gpu);
    free(c);
}

void lvc_codec_set_trace(LvcCodec *c, LvcTraceFn fn, void *opaque)
{
    c->trace = fn;
    c->trace_opaque = opaque;
}

int lvc_codec_has_ref(const LvcCodec *c) { return c->have_ref; }
void lvc_codec_drop_ref(LvcCodec *c) { c->have_ref = 0; }
int lvc_codec_last_qp(const LvcCodec *c) { return c->last_qp; }

int lvc_codec_checkpoint(LvcCodec *c)
{
    const size_t nf = (size_t)c->f_channels * (size_t)c->h0 * (size_t)c->w0;
    const size_t ny = (size_t)Y_CHANNELS * (size_t)c->h1 * (size_t)c->w1;
    if (!c->f_saved)
        c->f_saved = alloc16(c, nf);
    if (!c->yhat_saved)
        c->yhat_saved = alloc16(c, ny);
    if (!c->f_saved || !c->yhat_saved)
        return lvc_error(LVC_ENOMEM, "codec: out of memory for a checkpoint");
    if (c->gpu) {
        LvcTensor tf = tensor(c->f, c->f_channels, c->h0, c->w0, c->f_exp);
        LvcTensor ty = tensor(c->yhat, Y_CHANNELS, c->h1, c->w1, c->m->fm);
        const LvcTensor *ts[2] = {&tf, &ty};
        int r = lvc_gpu_to_host(c->gpu, ts, 2);
        if (r < 0)
            return r;
    }
    memcpy(c->f_saved, c->f, nf * sizeof(int16_t));
    memcpy(c->yhat_saved, c->yhat, ny * sizeof(int16_t));
    c->have_ref_saved = c->have_ref;
    c->last_qp_saved = c->last_qp;
    c->have_checkpoint = 1;
    return 0;
}

void lvc_codec_rollback(LvcCodec *c)
{
    if (!c->have_checkpoint)
        return;
    memcpy(c->f, c->f_saved,
           (size_t)c->f_channels * (size_t)c->h0 * (size_t)c->w0 * sizeof(int16_t));
    memcpy(c->yhat, c->yhat_saved, (size_t)Y_CHANNELS * (size_t)c->h1 * (size_t)c->w1 *
           sizeof(int16_t));
    if (c->gpu) {
        lvc_gpu_host_wrote(c->gpu, c->f);
        lvc_gpu_host_wrote(c->gpu, c->yhat);
    }
    c->have_ref = c->have_ref_saved;
    c->last_qp = c->last_qp_saved;
}

size_t lvc_codec_memory(const LvcCodec *c)
{
    size_t n = sizeof(*c) + c->buf_bytes + c->pkt_cap + (c->gpu ? lvc_gpu_memory(c->gpu) : 0);
    for (int i = 0; i < LVC_G_COUNT; i++)
        if (c->plan[i])
            n += lvc_graph_plan_memory(c->plan[i]);
    if (c->enc)
        for (int i = 0; i < c->n_slices; i++)
            n += sizeof(c->enc[i]) + c->enc[i].cap_ops * sizeof(uint32_t) + c->enc[i].cap_buf;
    return n;
}

void lvc_codec_last_symbols(const LvcCodec *c, const int32_t **yq, const uint8_t **bins,
                            const uint8_t **coded, const int32_t **zq, int *h1, int *w1, int *h3,
                            int *w3)
{
    *yq = c->yq;
    *bins = c->bins;
    *coded = c->coded;
    *zq = c->zq;
    *h1 = c->h1;
    *w1 = c->w1;
    *h3 = c->h3;
    *w3 = c->w3;
}

/* ---- PACK / UNPACK on row bands ------------------------------------------------------------ */

typedef struct PicJob {
    LvcCodec *c;
    const LvcPicture *pic;
    LvcPicture *opic;
    const int16_t *r;
    int f, n_bands;
} PicJob;

static void pack_job(void *arg, int job)
{
    const PicJob *pj = arg;
    int y0, y1;
    lvc_band_range(pj->c->h0, pj->n_bands, job, &y0, &y1);
    if (y0 < y1)
        pj->c->dsp.pack(pj->c->x, pj->pic->data[0], pj->pic->stride[0], pj->pic->data[1],
                        pj->pic->stride[1], pj->pic->data[2], pj->pic->stride[2], pj->c->width,
                        pj->c->height, y0, y1);
}

static void unpack_job(void *arg, int job)
{
    const PicJob *pj = arg;
    int y0, y1;
    lvc_band_range(pj->c->h0, pj->n_bands, job, &y0, &y1);
    if (y0 < y1)
        pj->c->dsp.unpack(pj->opic->data[0], pj->opic->stride[0], pj->opic->data[1],
                          pj->opic->stride[1], pj->opic->data[2], pj->opic->stride[2],
                          pj->c->width, pj->c->height, pj->r, pj->f, y0, y1);
}

static int pack(LvcCodec *c, const LvcPicture *pic, const char *name)
{
    if (c->gpu) {
        int r = lvc_gpu_pack(c->gpu, pic, c->x);
        if (r < 0)
            return r;
    } else {
        PicJob pj = {c, pic, NULL, NULL, 0,
                 lvc_band_count(c->h0, lvc_threadpool_threads(c->pool), 4)};
        lvc_threadpool_run(c->pool, pj.n_bands, pack_job, &pj);
    }
    if (c->trace) {
        LvcTensor t = tensor(c->x, X_CHANNELS, c->h0, c->w0, 7);
        trace_out(c, NULL, name, &t);
    }
    return 0;
}

static int unpack(LvcCodec *c, const LvcTensor *r, LvcPicture *out)
{
    if (c->gpu) /* the picture's planes are written by lvc_gpu_finish */
        return lvc_gpu_unpack(c->gpu, r, out);
    PicJob pj = {c, NULL, out, r->data, r->exp,
                 lvc_band_count(c->h0, lvc_threadpool_threads(c->pool), 4)};
    lvc_threadpool_run(c->pool, pj.n_bands, unpack_job, &pj);
    return 0;
}

/* ---- the checkerboard steps over slices ---------------------------------------------------- */

typedef struct StepJob {
    LvcCodec *c;
    int step;              /* 1 or 2 */
    const LvcTensor *mu, *lam;
    const LvcTensor *y;    /* encoder: the analysis output */
} StepJob;

static void slice_fail(SliceErr *e, int code, const char *msg, int slice, int step)
{
    if (e->code)
        return;
    e->code = code;
    snprintf(e->msg, sizeof(e->msg), "slice %d: %s in step %d", slice, msg, step);
}

/* Code (encoder) or decode one slice's elements of one step and write the step's values:
 * step 1 writes ŷ1 (0 at odd positions), step 2 writes ŷ (ŷ1 at even positions). */
static void step_job(void *arg, int slice)
{
    const StepJob *sj = arg;
    LvcCodec *c = sj->c;
    const LvcModel *m = c->m;
    const LvcEntropy *e = &m->ent;
    const int fm = m->fm, fs = sj->lam->exp, par = sj->step - 1;
    const int r0 = c->slice_r0[slice], r1 = c->slice_r0[slice + 1];
    const int16_t *mu = sj->mu->data, *lam = sj->lam->data;
    int16_t *dst = sj->step == 1 ? c->yhat1 : c->yhat_new;
    SliceErr *err = &c->err[slice];
    if (err->code)
        return;
    for (int ch = 0; ch < Y_CHANNELS; ch++) {
        for (int row = r0; row < r1; row++) {
            const size_t base = ((size_t)ch * (size_t)c->h1 + (size_t)row) * (size_t)c->w1;
            /* the other step's positions: 0 in ŷ1, ŷ1 (the step-1 values) in ŷ */
            for (int col = (row + par + 1) & 1; col < c->w1; col += 2)
                dst[base + (size_t)col] = sj->step == 1 ? 0 : c->yhat1[base + (size_t)col];
            for (int col = (row + par) & 1; col < c->w1; col += 2) {
                const size_t i = base + (size_t)col;
                const int bin = lvc_scale_bin(lam[i], fs, e->thresholds, e->nb);
                c->bins[i] = (uint8_t)bin;
                if (bin < e->skip_bins) {
                    c->coded[i] = 0;
                    c->yq[i] = 0;
                    dst[i] = mu[i];
                    continue;
                }
                int q;
                if (c->encoder) {
                    q = lvc_symbol_y(sj->y->data[i], sj->y->exp, mu[i], fm, e->R);
                    int r = lvc_rans_enc_symbol(&c->enc[slice], &e->y[bin], q, e->R);
                    if (r < 0) {
                        slice_fail(err, r, "cannot code a symbol", slice, sj->step);
                        return;
                    }
                } else if (lvc_rans_dec_symbol(&c->dec[slice], &e->y[bin], e->R, &q) < 0) {
                    slice_fail(err, LVC_EDATA, "invalid symbol or data exhausted", slice,
                               sj->step);
                    return;
                }
                c->coded[i] = 1;
                c->yq[i] = q;
                dst[i] = lvc_yhat(mu[i], q, fm);
            }
        }
    }
}

static int run_step(LvcCodec *c, int step, const LvcTensor *mu, const LvcTensor *lam,
                    const LvcTensor *y)
{
    StepJob sj = {c, step, mu, lam, y};
    if (c->gpu) {
        const LvcTensor *need[3] = {mu, lam, y};
        int r = lvc_gpu_to_host(c->gpu, need, y ? 3 : 2);
        if (r < 0)
            return r;
    }
    const double t0 = lvc_now_s();
    if (c->n_slices == 1)
        step_job(&sj, 0);
    else
        lvc_threadpool_run(c->pool, c->n_slices, step_job, &sj);
    c->ent_s += lvc_now_s() - t0;
    if (c->gpu)
        lvc_gpu_host_wrote(c->gpu, step == 1 ? c->yhat1 : c->yhat_new);
    for (int i = 0; i < c->n_slices; i++)
        if (c->err[i].code)
            return lvc_error(c->err[i].code, "%s", c->err[i].msg);
    return 0;
}

typedef struct FinishJob {
    LvcCodec *c;
    const uint8_t *data[LVC_MAX_SLICES];
    size_t size[LVC_MAX_SLICES];
} FinishJob;

static void finish_job(void *arg, int slice)
{
    FinishJob *fj = arg;
    int r = lvc_rans_enc_finish(&fj->c->enc[slice], &fj->data[slice], &fj->size[slice]);
    if (r < 0)
        slice_fail(&fj->c->err[slice], r, "cannot finish the rANS stream", slice, 2);
}

/* ---- the frame ----------------------------------------------------------------------------- */

/* Everything after the z symbols: hyper-synthesis, priors, the two steps, synthesis, recon and
 * the state update.  y is the analysis output (encoder) or NULL (decoder).  c_in is the inter
 * context (P) or NULL. */
static int latent(LvcCodec *c, int type, int qp, int refresh, const LvcTensor *ctx,
                  const LvcTensor *y, LvcPicture *out)
{
    const LvcModel *m = c->m;
    const int inter = type == LVC_FRAME_P;
    const int fm = m->fm;
    const size_t n3 = (size_t)c->h3 * (size_t)c->w3;
    for (size_t i = 0; i < Z_CHANNELS * n3; i++)
        c->zhat[i] = (int16_t)c->zq[i];
    if (c->gpu)
        lvc_gpu_host_wrote(c->gpu, c->zhat);
    LvcTensor zhat = tensor(c->zhat, Z_CHANNELS, c->h3, c->w3, 0);
    const LvcTensor *in[LVC_MODEL_MAX_GRAPH_IO];
    LvcTensor h[1], t[1], pf[3], cs[2], f[1], rr[1];
    int r;
    in[0] = &zhat;
    if ((r = run(c, inter ? LVC_G_INTER_HYPER_SYNTHESIS : LVC_G_INTRA_HYPER_SYNTHESIS, qp, in,
                 h)) < 0)
        return r;
    if (inter) {
        LvcTensor yprev = tensor(c->yhat, Y_CHANNELS, c->h1, c->w1, fm);
        in[0] = ctx;
        in[1] = &yprev;
        if ((r = run(c, LVC_G_INTER_TEMPORAL_PRIOR, qp, in, t)) < 0)
            return r;
        in[0] = &h[0];
        in[1] = &t[0];
        if ((r = run(c, LVC_G_INTER_PRIOR_FUSION, qp, in, pf)) < 0)
            return r;
    } else {
        in[0] = &h[0];
        if ((r = run(c, LVC_G_INTRA_PRIOR_FUSION, qp, in, pf)) < 0)
            return r;
    }
    /* step 1 */
    if ((r = run_step(c, 1, &pf[1], &pf[2], y)) < 0)
        return r;
    LvcTensor yhat1 = tensor(c->yhat1, Y_CHANNELS, c->h1, c->w1, fm);
    trace_out(c, NULL, "yhat1", &yhat1);
    in[0] = &pf[0];
    in[1] = &yhat1;
    if ((r = run(c, inter ? LVC_G_INTER_CONTEXT_STEP : LVC_G_INTRA_CONTEXT_STEP, qp, in, cs)) <
        0)
        return r;
    /* step 2 */
    if ((r = run_step(c, 2, &cs[0], &cs[1], y)) < 0)
        return r;
    if (!c->encoder) {
        for (int i = 0; i < c->n_slices; i++)
            if (lvc_rans_dec_finish(&c->dec[i]) < 0)
                return lvc_error(LVC_EDATA, "slice %d: end check failed (damaged data)", i);
    }
    LvcTensor yhat = tensor(c->yhat_new, Y_CHANNELS, c->h1, c->w1, fm);
    trace_out(c, NULL, "yhat", &yhat);
    in[0] = &yhat;
    in[1] = ctx;
    if ((r = run(c, inter ? LVC_G_INTER_SYNTHESIS : LVC_G_INTRA_SYNTHESIS, qp, in, f)) < 0)
        return r;
    if (out) { /* NULL: a reference-only decode (never with refresh, which needs the picture) */
        in[0] = &f[0];
        if ((r = run(c, inter ? LVC_G_INTER_RECON_HEAD : LVC_G_INTRA_RECON_HEAD, qp, in, rr)) < 0)
            return r;
        if ((r = unpack(c, &rr[0], out)) < 0)
            return r;
    }
    const LvcTensor *fstate = &f[0];
    if (refresh) {
        if ((r = pack(c, out, "refresh.x")) < 0)
            return r;
        LvcTensor x = tensor(c->x, X_CHANNELS, c->h0, c->w0, 7);
        in[0] = &x;
        if ((r = run(c, LVC_G_INTER_REFRESH, qp, in, f)) < 0)
            return r;
        fstate = &f[0];
    }
    if (c->gpu) {
        if ((r = lvc_gpu_copy(c->gpu, c->f, fstate)) < 0 || (r = lvc_gpu_finish(c->gpu)) < 0)
            return r;
    } else {
        memcpy(c->f, fstate->data,
               (size_t)c->f_channels * (size_t)c->h0 * (size_t)c->w0 * sizeof(int16_t));
    }
    int16_t *tmp = c->yhat;
    c->yhat = c->yhat_new;
    c->yhat_new = tmp;
    if (c->trace) {
        LvcTensor ft = tensor(c->f, c->f_channels, c->h0, c->w0, c->f_exp);
        trace_out(c, NULL, "F", &ft);
    }
    c->have_ref = 1;
    c->last_qp = qp;
    return 0;
}

static int check_picture(const LvcCodec *c, const LvcPicture *p, const char *what)
{
    if (!p || p->width != c->width || p->height != c->height || !p->data[0] || !p->data[1] ||
        !p->data[2])
        return lvc_error(LVC_EINVAL, "%s picture is not %dx%d", what, c->width, c->height);
    return 0;
}

static int frame_check(LvcCodec *c, int type, int qp, int refresh)
{
    if (qp < 0 || qp > LVC_QP_MAX)
        return lvc_error(LVC_EINVAL, "qp %d outside 0..63", qp);
    if (type != LVC_FRAME_I && type != LVC_FRAME_P)
        return lvc_error(LVC_EINVAL, "invalid frame type %d", type);
    if (type == LVC_FRAME_I && refresh)
        return lvc_error(LVC_EINVAL, "refresh applies to P-frames only");
    if (type == LVC_FRAME_P && !c->m->has_inter)
        return lvc_error(LVC_EINVAL, "model %s is intra-only: it codes no P-frames", c->m->name);
    if (type == LVC_FRAME_P && !c->have_ref)
        return lvc_error(LVC_ENOREF, "P-frame without a reference (no I-frame since the start "
                         "or the last error)");
    return 0;
}

static int encode_frame(LvcCodec *c, const LvcPicture *src, int type, int qp, int refresh,
                        const uint8_t *sh, size_t sh_size, const uint8_t **pkt,
                        size_t *pkt_size, LvcPicture *recon)
{
    int r;
    if (!c->encoder)
        return lvc_error(LVC_EINVAL, "codec opened for decoding");
    if ((r = frame_check(c, type, qp, refresh)) < 0 || (r = check_picture(c, src, "source")) < 0)
        return r;
    const LvcModel *m = c->m;
    const int inter = type == LVC_FRAME_P;
    const int qp_present = !inter || qp != c->last_qp;
    for (int i = 0; i < c->n_slices; i++) {
        lvc_rans_enc_reset(&c->enc[i]);
        c->err[i].code = 0;
    }
    if (c->gpu)
        lvc_gpu_begin_frame(c->gpu);
    /* analysis */
    if ((r = pack(c, src, "x")) < 0)
        return r;
    LvcTensor x = tensor(c->x, X_CHANNELS, c->h0, c->w0, 7);
    const LvcTensor *in[2];
    LvcTensor ctx[1], y[1], z[1];
    if (inter) {
        LvcTensor fprev = tensor(c->f, c->f_channels, c->h0, c->w0, c->f_exp);
        in[0] = &fprev;
        if ((r = run(c, LVC_G_INTER_CONTEXT, qp, in, ctx)) < 0)
            return r;
        in[0] = &x;
        in[1] = &ctx[0];
        r = run(c, LVC_G_INTER_ANALYSIS, qp, in, y);
    } else {
        in[0] = &x;
        r = run(c, LVC_G_INTRA_ANALYSIS, qp, in, y);
    }
    if (r < 0)
        return r;
    in[0] = &y[0];
    if ((r = run(c, inter ? LVC_G_INTER_HYPER_ANALYSIS : LVC_G_INTRA_HYPER_ANALYSIS, qp, in, z)) <
        0)
        return r;
    /* z symbols into slice 0 */
    const LvcZTables *zt = lvc_entropy_z(&m->ent, inter);
    const int bucket = qp * zt->n_buckets / 64;
    const size_t n3 = (size_t)c->h3 * (size_t)c->w3;
    if (c->gpu) {
        const LvcTensor *need[1] = {&z[0]};
        if ((r = lvc_gpu_to_host(c->gpu, need, 1)) < 0)
            return r;
    }
    for (int ch = 0; ch < Z_CHANNELS; ch++) {
        const LvcCdf *cdf = &zt->cdf[bucket * zt->channels + ch];
        for (size_t i = 0; i < n3; i++) {
            const size_t k = (size_t)ch * n3 + i;
            c->zq[k] = lvc_symbol_z(z[0].data[k], z[0].exp, zt->Rz);
            if ((r = lvc_rans_enc_symbol(&c->enc[0], cdf, c->zq[k], zt->Rz)) < 0)
                return r;
        }
    }
    c->have_ref = 0; /* until the frame is complete */
    if ((r = latent(c, type, qp, refresh, inter ? &ctx[0] : NULL, &y[0], recon)) < 0)
        return r;
    /* the packet */
    FinishJob fj;
    memset(&fj, 0, sizeof(fj));
    fj.c = c;
    lvc_threadpool_run(c->pool, c->n_slices, finish_job, &fj);
    for (int i = 0; i < c->n_slices; i++)
        if (c->err[i].code)
            return lvc_error(c->err[i].code, "%s", c->err[i].msg);
    LvcFrameHeader fh = {type, refresh, qp_present, qp};
    uint8_t hdr[LVC_FU_HEADER_MAX_SIZE];
    int hs = lvc_fu_write_header(&fh, c->n_slices, fj.size, hdr, sizeof(hdr));
    if (hs < 0)
        return hs;
    size_t total = (type == LVC_FRAME_I ? sh_size : 0) + (size_t)hs;
    for (int i = 0; i < c->n_slices; i++)
        total += fj.size[i];
    if (total > c->pkt_cap) {
        uint8_t *np = realloc(c->pkt, total);
        if (!np)
            return lvc_error(LVC_ENOMEM, "out of memory for a %zu-byte packet", total);
        c->pkt = np;
        c->pkt_cap = total;
    }
    size_t pos = 0;
    if (type == LVC_FRAME_I) {
        memcpy(c->pkt, sh, sh_size);
        pos = sh_size;
    }
    memcpy(c->pkt + pos, hdr, (size_t)hs);
    pos += (size_t)hs;
    for (int i = 0; i < c->n_slices; i++) {
        memcpy(c->pkt + pos, fj.data[i], fj.size[i]);
        pos += fj.size[i];
    }
    *pkt = c->pkt;
    *pkt_size = pos;
    return 0;
}

static int decode_frame(LvcCodec *c, const LvcPacketInfo *info, LvcPicture *out)
{
    int r;
    const LvcFrameHeader *fh = &info->fh;
    int qp = fh->qp_present ? fh->qp : c->last_qp;
    if (fh->type == LVC_FRAME_P && !c->have_ref)
        return lvc_error(LVC_ENOREF, "P-frame without a reference (no I-frame since the start "
                         "or since a damaged frame)");
    if (fh->type == LVC_FRAME_P && fh->qp_present && fh->qp == c->last_qp) {
        c->have_ref = 0;
        return lvc_error(LVC_EDATA, "P-frame codes qp %d, unchanged from the previous frame",
                         fh->qp);
    }
    if (fh->type == LVC_FRAME_P && !c->m->has_inter) {
        c->have_ref = 0;
        return lvc_error(LVC_EDATA, "P-frame for the intra-only model %s", c->m->name);
    }
    if (!out && fh->refresh) {
        c->have_ref = 0;
        return lvc_error(LVC_EINVAL, "a refresh frame needs its picture");
    }
    if ((r = frame_check(c, fh->type, qp, fh->refresh)) < 0 ||
        (out && (r = check_picture(c, out, "output")) < 0)) {
        c->have_ref = 0;
        return r == LVC_EINVAL ? lvc_error(LVC_EDATA, "%s", lvc_last_error()) : r;
    }
    if (info->n_slices != c->n_slices) {
        c->have_ref = 0;
        return lvc_error(LVC_EDATA, "packet has %d slices, a %dx%d picture %d", info->n_slices,
                         c->width, c->height, c->n_slices);
    }
    for (int i = 0; i < c->n_slices; i++) {
        c->err[i].code = 0;
        if (lvc_rans_dec_init(&c->dec[i], info->slice[i], info->slice_size[i]) < 0) {
            c->have_ref = 0;
            return lvc_error(LVC_EDATA, "slice %d: invalid initial rANS state", i);
        }
    }
    const int inter = fh->type == LVC_FRAME_P;
    LvcTensor ctx[1];
    if (c->gpu)
        lvc_gpu_begin_frame(c->gpu);
    if (inter) {
        LvcTensor fprev = tensor(c->f, c->f_channels, c->h0, c->w0, c->f_exp);
        const LvcTensor *in[1] = {&fprev};
        if ((r = run(c, LVC_G_INTER_CONTEXT, qp, in, ctx)) < 0) {
            c->have_ref = 0;
            return r;
        }
    }
    c->have_ref = 0; /* until the frame is complete */
    const LvcZTables *zt = lvc_entropy_z(&c->m->ent, inter);
    const int bucket = qp * zt->n_buckets / 64;
    const size_t n3 = (size_t)c->h3 * (size_t)c->w3;
    for (int ch = 0; ch < Z_CHANNELS; ch++) {
        const LvcCdf *cdf = &zt->cdf[bucket * zt->channels + ch];
        for (size_t i = 0; i < n3; i++) {
            int q;
            if (lvc_rans_dec_symbol(&c->dec[0], cdf, zt->Rz, &q) < 0)
                return lvc_error(LVC_EDATA, "slice 0: invalid z symbol or data exhausted");
            c->zq[(size_t)ch * n3 + i] = q;
        }
    }
    return latent(c, fh->type, qp, fh->refresh, inter ? &ctx[0] : NULL, NULL, out);
}

int lvc_codec_encode(LvcCodec *c, const LvcPicture *src, int type, int qp, int refresh,
                     const uint8_t *sh, size_t sh_size, const uint8_t **pkt, size_t *pkt_size,
                     LvcPicture *recon)
{
    const double t0 = lvc_now_s();
    int r = encode_frame(c, src, type, qp, refresh, sh, sh_size, pkt, pkt_size, recon);
    c->total_s += lvc_now_s() - t0;
    c->frames++;
    return r;
}

int lvc_codec_decode(LvcCodec *c, const LvcPacketInfo *info, LvcPicture *out)
{
    const double t0 = lvc_now_s();
    int r = decode_frame(c, info, out);
    c->total_s += lvc_now_s() - t0;
    c->frames++;
    return r;
}

/* ---- backends ------------------------------------------------------------------------------ */

int lvc_codec_use_gpu(LvcCodec *c, LvcVulkanDevice *dev)
{
#ifdef LVC_HAVE_VULKAN
    const LvcGpuSlot slots[] = {
        {c->x, X_CHANNELS, c->h0, c->w0},
        {c->f, c->f_channels, c->h0, c->w0},
        {c->yhat, Y_CHANNELS, c->h1, c->w1},
        {c->yhat_new, Y_CHANNELS, c->h1, c->w1},
        {c->yhat1, Y_CHANNELS, c->h1, c->w1},
        {c->zhat, Z_CHANNELS, c->h3, c->w3},
    };
    LvcGpu *g;
    int r = lvc_gpu_open(&g, dev, c->m, c->plan, c->width, c->height, slots,
                         (int)(sizeof(slots) / sizeof(slots[0])));
    if (r < 0)
        return r;
    lvc_gpu_close(c->gpu);
    c->gpu = g;
    return 0;
#else
    (void)c;
    (void)dev;
    return lvc_error(LVC_EUNSUPPORTED, "liblvc was built without the Vulkan backend");
#endif
}

void lvc_codec_timings(const LvcCodec *c, LvcTimings *t)
{
    LvcGpuTimes gt;
    memset(&gt, 0, sizeof(gt));
    if (c->gpu)
        lvc_gpu_times(c->gpu, &gt);
    t->network_s += c->net_s + gt.wait_s;
    t->device_s += gt.device_s;
    t->transfer_s += gt.transfer_s;
    t->entropy_s += c->ent_s;
    t->macs += c->macs;
    t->total_s += c->total_s;
    t->frames += c->frames;
}
