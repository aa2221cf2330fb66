/* The graph interpreter.  See graph.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Elements per arena alignment unit (64 bytes). */
#define ARENA_ALIGN 32

typedef struct PlanValue {
    int c, h, w, exp, level;
    size_t off;   /* node outputs: element offset in the arena (graph outputs) or scratch */
    size_t size;  /* elements, rounded up to ARENA_ALIGN */
    int last_use; /* index of the last node reading it; n_nodes for graph outputs; -1 none */
} PlanValue;

struct LvcGraphPlan {
    const LvcGraph *g;
    int width, height;
    int n_values;
    PlanValue *v;
    LvcConvParams *conv;  /* per node (CONV nodes only) */
    uint8_t *shifts;      /* CONV shifts as the kernels take them */
    int16_t **wide;       /* per node: int8 CONV weights widened once to int16 (SIMD kernels
                           * multiply int16 pairs; the integers are the same) */
    int16_t *arena;       /* the graph's outputs, kept after a run */
    size_t arena_elems;
    size_t scratch_elems; /* the other node outputs, in the caller's scratch buffer */
    size_t param_bytes;
    /* run-time state, set by lvc_graph_run for the jobs */
    LvcTensor *t;         /* per value: the tensor view of the current run */
    const LvcDsp *dsp;
    int qp;
};

static size_t round_up(size_t n) { return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN; }

static int plan_err(const LvcGraph *g, int k, int w, int h, const char *what)
{
    return lvc_error(LVC_EUNSUPPORTED, "graph %s: node %d cannot run on a %dx%d picture: %s",
                     g->name, k, w, h, what);
}

/* Derive the shape of node k's output from its inputs. */
static int derive(LvcGraphPlan *p, int k)
{
    const LvcGraph *g = p->g;
    const LvcNode *nd = &g->nodes[k];
    PlanValue *o = &p->v[g->n_inputs + k];
    const PlanValue *a = &p->v[nd->in[0]];
    o->c = nd->out_channels;
    o->exp = nd->fo;
    o->level = nd->out.level;
    o->h = a->h;
    o->w = a->w;
    switch (nd->op) {
    case LVC_OP_CONV:
        o->h = lvc_conv_out_size(a->h, nd->kernel, nd->stride, nd->pad);
        o->w = lvc_conv_out_size(a->w, nd->kernel, nd->stride, nd->pad);
        if (o->h < 1 || o->w < 1)
            return plan_err(g, k, p->width, p->height, "empty convolution output");
        break;
    case LVC_OP_ADD:
    case LVC_OP_CBMERGE:
    case LVC_OP_CONCAT:
        for (int i = 1; i < nd->n_in; i++) {
            const PlanValue *b = &p->v[nd->in[i]];
            if (b->h != a->h || b->w != a->w)
                return plan_err(g, k, p->width, p->height, "inputs of different sizes");
        }
        break;
    case LVC_OP_SHUFFLE:
        o->h = a->h * nd->arg;
        o->w = a->w * nd->arg;
        break;
    case LVC_OP_UNSHUFFLE:
        if (a->h % nd->arg || a->w % nd->arg)
            return plan_err(g, k, p->width, p->height, "UNSHUFFLE input not a multiple of r");
        o->h = a->h / nd->arg;
        o->w = a->w / nd->arg;
        break;
    case LVC_OP_PAD:
        o->h = (a->h + nd->arg - 1) / nd->arg * nd->arg;
        o->w = (a->w + nd->arg - 1) / nd->arg * nd->arg;
        break;
    case LVC_OP_CROP:
        o->h = lvc_level_height(p->height, nd->arg);
        o->w = lvc_level_width(p->width, nd->arg);
        if (o->h < 1 || o->w < 1 || o->h > a->h || o->w > a->w)
            return plan_err(g, k, p->width, p->height, "CROP larger than its input");
        break;
    default:
        break;
    }
    if (o->h < 1 || o->w < 1 || o->h > 65536 || o->w > 65536 ||
        (uint64_t)o->c * (uint64_t)o->h * (uint64_t)o->w > ((uint64_t)1 << 31))
        return plan_err(g, k, p->width, p->height, "value size out of range");
    return 0;
}

static int prepare_conv(LvcGraphPlan *p, int k, uint8_t *shifts)
{
    const LvcNode *nd = &p->g->nodes[k];
    const PlanValue *a = &p->v[nd->in[0]], *o = &p->v[p->g->n_inputs + k];
    LvcConvParams *cp = &p->conv[k];
    cp->cin = a->c;
    cp->h = a->h;
    cp->w = a->w;
    cp->cout = o->c;
    cp->ho = o->h;
    cp->wo = o->w;
    cp->k = nd->kernel;
    cp->stride = nd->stride;
    cp->pad = nd->pad;
    cp->groups = nd->groups;
    if (nd->weight_dtype == LVC_DTYPE_INT8) {
        size_t n = (size_t)o->c * (size_t)(a->c / nd->groups) * (size_t)nd->kernel *
                   (size_t)nd->kernel;
        const int8_t *w8 = nd->weights;
        int16_t *w = malloc(n * sizeof(int16_t));
        if (!w)
            return lvc_error(LVC_ENOMEM, "out of memory planning graph %s", p->g->name);
        for (size_t i = 0; i < n; i++)
            w[i] = w8[i];
        p->wide[k] = w;
        p->param_bytes += n * sizeof(int16_t);
        cp->w16 = w;
    } else {
        cp->w16 = nd->weights;
    }
    cp->bias = nd->bias;
    for (int co = 0; co < o->c; co++)
        shifts[co] = (uint8_t)nd->shift[co];
    cp->shift = shifts;
    cp->act = nd->act;
    cp->act_shift = nd->act_shift;
    int r = lvc_conv_check(cp);
    if (r < 0)
        return lvc_error(LVC_EUNSUPPORTED, "graph %s: node %d: %s", p->g->name, k,
                         lvc_last_error());
    return 0;
}

/* A first-fit slot of size elements among the live values (sorted by offset); returns the
 * offset and the position to insert at. */
static size_t first_fit(const LvcGraphPlan *p, const int *live, int n_live, size_t size, int *at)
{
    size_t prev_end = 0;
    for (int i = 0; i < n_live; i++) {
        const PlanValue *u = &p->v[live[i]];
        if (u->off - prev_end >= size) {
            *at = i;
            return prev_end;
        }
        prev_end = u->off + u->size;
    }
    *at = n_live;
    return prev_end;
}

/* Lay out the node outputs: graph outputs one after the other in the plan's arena, the other
 * values first-fit in the scratch buffer, each freed after its last reader. */
static int place(LvcGraphPlan *p)
{
    const LvcGraph *g = p->g;
    int n = g->n_nodes;
    int *live = malloc((size_t)n * sizeof(int)); /* scratch values, sorted by offset */
    if (!live)
        return lvc_error(LVC_ENOMEM, "out of memory planning graph %s", g->name);
    int n_live = 0;
    size_t top = 0;
    for (int k = 0; k < n; k++) {
        int vi = g->n_inputs + k;
        PlanValue *v = &p->v[vi];
        if (v->last_use == n) {
            v->off = p->arena_elems;
            p->arena_elems += v->size;
        } else {
            int at;
            v->off = first_fit(p, live, n_live, v->size, &at);
            memmove(live + at + 1, live + at, (size_t)(n_live - at) * sizeof(int));
            live[at] = vi;
            n_live++;
            if (v->off + v->size > top)
                top = v->off + v->size;
        }
        /* free the values whose last reader is this node, and this one if nobody reads it */
        for (int i = 0; i < n_live;) {
            const PlanValue *u = &p->v[live[i]];
            if (u->last_use <= k && (live[i] != vi || u->last_use < 0)) {
                memmove(live + i, live + i + 1, (size_t)(n_live - i - 1) * sizeof(int));
                n_live--;
            } else {
                i++;
            }
        }
    }
    free(live);
    p->scratch_elems = top;
    return 0;
}

int lvc_graph_plan(LvcGraphPlan **out, const LvcGraph *g, int width, int height)
{
    *out = NULL;
    if (width < 1 || height < 1 || width > LVC_MAX_DIM || height > LVC_MAX_DIM)
        return lvc_error(LVC_EINVAL, "graph %s: picture size %dx%d outside 1..%d", g->name,
                         width, height, LVC_MAX_DIM);
    LvcGraphPlan *p = calloc(1, sizeof(*p));
    if (!p)
        return lvc_error(LVC_ENOMEM, "out of memory");
    p->g = g;
    p->width = width;
    p->height = height;
    p->n_values = g->n_inputs + g->n_nodes;
    p->v = calloc((size_t)p->n_values, sizeof(*p->v));
    p->t = calloc((size_t)p->n_values, sizeof(*p->t));
    p->conv = calloc((size_t)g->n_nodes, sizeof(*p->conv));
    p->wide = calloc((size_t)g->n_nodes, sizeof(*p->wide));
    size_t n_shifts = 0;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == LVC_OP_CONV)
            n_shifts += (size_t)g->nodes[k].out_channels;
    p->shifts = malloc(n_shifts ? n_shifts : 1);
    int r = 0;
    if (!p->v || !p->t || !p->conv || !p->wide || !p->shifts) {
        r = lvc_error(LVC_ENOMEM, "out of memory planning graph %s", g->name);
        goto fail;
    }
    p->param_bytes = sizeof(*p) + (size_t)p->n_values * (sizeof(*p->v) + sizeof(*p->t)) +
                     (size_t)g->n_nodes * sizeof(*p->conv) + n_shifts;
    for (int i = 0; i < g->n_inputs; i++) {
        PlanValue *v = &p->v[i];
        v->c = g->inputs[i].v.channels;
        v->level = g->inputs[i].v.level;
        v->exp = g->inputs[i].v.exp;
        v->h = lvc_level_height(height, v->level);
        v->w = lvc_level_width(width, v->level);
        v->last_use = -1;
        if (v->h < 1 || v->w < 1) {
            r = lvc_error(LVC_EUNSUPPORTED, "graph %s: input level %d out of range", g->name,
                          v->level);
            goto fail;
        }
    }
    size_t si = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const LvcNode *nd = &g->nodes[k];
        if ((r = derive(p, k)) < 0)
            goto fail;
        PlanValue *o = &p->v[g->n_inputs + k];
        o->size = round_up((size_t)o->c * (size_t)o->h * (size_t)o->w);
        o->last_use = -1;
        for (int i = 0; i < nd->n_in; i++)
            p->v[nd->in[i]].last_use = k;
        if (nd->op == LVC_OP_CONV) {
            if ((r = prepare_conv(p, k, p->shifts + si)) < 0)
                goto fail;
            si += (size_t)nd->out_channels;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        PlanValue *v = &p->v[g->outputs[i].value];
        int hl = lvc_level_height(height, v->level), wl = lvc_level_width(width, v->level);
        if (v->h != hl || v->w != wl) {
            r = lvc_error(LVC_EUNSUPPORTED, "graph %s: output %s is %dx%d at level %d on a %dx%d "
                          "picture, the canonical size is %dx%d", g->name, g->outputs[i].name,
                          v->w, v->h, v->level, width, height, wl, hl);
            goto fail;
        }
        v->last_use = g->n_nodes; /* kept after the run */
    }
    if ((r = place(p)) < 0)
        goto fail;
    p->arena = aligned_alloc(64, round_up(p->arena_elems ? p->arena_elems : 1) * sizeof(int16_t));
    if (!p->arena) {
        r = lvc_error(LVC_ENOMEM, "cannot allocate %zu bytes for graph %s",
                      p->arena_elems * sizeof(int16_t), g->name);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    lvc_graph_plan_free(p);
    return r;
}

void lvc_graph_plan_free(LvcGraphPlan *p)
{
    if (!p)
        return;
    free(p->v);
    free(p->t);
    if (p->wide)
        for (int k = 0; k < p->g->n_nodes; k++)
            free(p->wide[k]);
    free(p->wide);
    free(p->conv);
    free(p->shifts);
    free(p->arena);
    free(p);
}

const LvcGraph *lvc_graph_plan_graph(const LvcGraphPlan *p) { return p->g; }

LvcTensor lvc_graph_input_shape(const LvcGraphPlan *p, int i)
{
    const PlanValue *v = &p->v[i];
    LvcTensor t = {NULL, v->c, v->h, v->w, v->exp};
    return t;
}

LvcTensor lvc_graph_value_shape(const LvcGraphPlan *p, int vi)
{
    return lvc_graph_input_shape(p, vi);
}

const LvcConvParams *lvc_graph_conv_params(const LvcGraphPlan *p, int k)
{
    return p->g->nodes[k].op == LVC_OP_CONV ? &p->conv[k] : NULL;
}

size_t lvc_graph_plan_scratch(const LvcGraphPlan *p) { return p->scratch_elems; }

size_t lvc_graph_plan_memory(const LvcGraphPlan *p)
{
    return p->param_bytes + round_up(p->arena_elems ? p->arena_elems : 1) * sizeof(int16_t);
}

/* ---- running ------------------------------------------------------------------------------- */

typedef struct NodeJob {
    LvcGraphPlan *p;
    int k, n_bands;
} NodeJob;

static void node_band(void *arg, int job)
{
    const NodeJob *nj = arg;
    LvcGraphPlan *p = nj->p;
    const LvcGraph *g = p->g;
    const LvcNode *nd = &g->nodes[nj->k];
    LvcTensor *o = &p->t[g->n_inputs + nj->k];
    const LvcTensor *a = &p->t[nd->in[0]];
    const LvcTensor *b = nd->n_in > 1 ? &p->t[nd->in[1]] : NULL;
    int y0, y1;
    lvc_band_range(o->h, nj->n_bands, job, &y0, &y1);
    if (y0 >= y1)
        return;
    switch (nd->op) {
    case LVC_OP_CONV:
        lvc_conv_band(p->dsp, &p->conv[nj->k], a, o, y0, y1);
        break;
    case LVC_OP_ADD:
        lvc_add_band(p->dsp, o, a, b, nd->act, nd->act_shift, y0, y1);
        break;
    case LVC_OP_RESCALE:
        lvc_rescale_band(p->dsp, o, a, nd->act, nd->act_shift, y0, y1);
        break;
    case LVC_OP_CONCAT: {
        int c0 = 0;
        for (int i = 0; i < nd->n_in; i++) {
            const LvcTensor *in = &p->t[nd->in[i]];
            lvc_concat_band(o, c0, in, y0, y1);
            c0 += in->c;
        }
        break;
    }
    case LVC_OP_QMUL:
        lvc_qmul_band(p->dsp, o, a, nd->table + (size_t)p->qp * (size_t)a->c, nd->table_exp,
                      nd->act, nd->act_shift, y0, y1);
        break;
    case LVC_OP_SHUFFLE:
        lvc_shuffle_band(o, a, nd->arg, y0, y1);
        break;
    case LVC_OP_UNSHUFFLE:
        lvc_unshuffle_band(o, a, nd->arg, y0, y1);
        break;
    case LVC_OP_CBMASK:
        lvc_cbmask_band(o, a, nd->arg, y0, y1);
        break;
    case LVC_OP_CBMERGE:
        lvc_cbmerge_band(o, a, b, nd->arg, y0, y1);
        break;
    case LVC_OP_PAD:
        lvc_pad_band(o, a, y0, y1);
        break;
    case LVC_OP_CROP:
        lvc_crop_band(o, a, y0, y1);
        break;
    case LVC_OP_ACT:
        lvc_act_band(p->dsp, o, a, nd->act, nd->act_shift, y0, y1);
        break;
    default:
        break;
    }
}

int lvc_graph_run(LvcGraphPlan *p, const LvcDsp *dsp, LvcThreadPool *pool, int qp,
                  const LvcTensor *const *inputs, LvcTensor *outputs, int16_t *scratch)
{
    const LvcGraph *g = p->g;
    if (qp < 0 || qp > 63)
        return lvc_error(LVC_EINVAL, "graph %s: qp %d outside 0..63", g->name, qp);
    if (p->scratch_elems && !scratch)
        return lvc_error(LVC_EINVAL, "graph %s: no scratch buffer", g->name);
    for (int i = 0; i < g->n_inputs; i++) {
        const PlanValue *v = &p->v[i];
        const LvcTensor *in = inputs[i];
        if (!in || !in->data || in->c != v->c || in->h != v->h || in->w != v->w ||
            in->exp != v->exp)
            return lvc_error(LVC_EINVAL, "graph %s: input %s is not %dx%dx%d at exponent %d",
                             g->name, g->inputs[i].name, v->c, v->h, v->w, v->exp);
        p->t[i] = *in;
    }
    for (int k = 0; k < g->n_nodes; k++) {
        const PlanValue *v = &p->v[g->n_inputs + k];
        int16_t *base = v->last_use == g->n_nodes ? p->arena : scratch;
        LvcTensor t = {base + v->off, v->c, v->h, v->w, v->exp};
        p->t[g->n_inputs + k] = t;
    }
    p->dsp = dsp;
    p->qp = qp;
    const int threads = lvc_threadpool_threads(pool);
    for (int k = 0; k < g->n_nodes; k++) {
        const LvcTensor *o = &p->t[g->n_inputs + k];
        /* a band is worth a thread from about 4096 output elements on */
        size_t row = (size_t)o->c * (size_t)o->w;
        int min_rows = row >= 4096 ? 1 : (int)(4096 / (row ? row : 1));
        /* a few bands per thread so that a late-waking worker still finds work */
        NodeJob nj = {p, k, lvc_band_count(o->h, threads > 1 ? 4 * threads : 1, min_rows)};
        if (nj.n_bands <= 1) {
            nj.n_bands = 1;
            node_band(&nj, 0);
        } else {
            lvc_threadpool_run(pool, nj.n_bands, node_band, &nj);
        }
    }
    for (int i = 0; i < g->n_outputs; i++)
        outputs[i] = p->t[g->outputs[i].value];
    return 0;
}
