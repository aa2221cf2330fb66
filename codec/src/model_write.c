/* Building and serialising .lvcm model files, and the random test-model generator.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "model_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"
#include "sha256.h"

/* ---- the writer ------------------------------------------------------------------------------- */

LvcModelWriter *lvc_mw_new(void)
{
    LvcModelWriter *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->format_version = LVC_MODEL_FORMAT_VERSION;
    w->opset_version = LVC_OPSET_VERSION;
    w->profile = 1;
    w->qp_count = 64;
    return w;
}

void lvc_mw_free(LvcModelWriter *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].exps);
        free(w->tensors[i].data);
    }
    free(w->tensors);
    for (int i = 0; i < w->n_graphs; i++)
        free(w->graphs[i].nodes);
    free(w->graphs);
    free(w->meta);
    free(w->entr);
    free(w);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

int lvc_mw_set_meta(LvcModelWriter *w, const char *text)
{
    char *m = dup_str(text);
    if (!m)
        return lvc_error(LVC_ENOMEM, "out of memory");
    free(w->meta);
    w->meta = m;
    return 0;
}

static void copy_name(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n > LVC_MW_NAME_MAX)
        n = LVC_MW_NAME_MAX;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int lvc_mw_add_tensor(LvcModelWriter *w, const char *name, int dtype, int ndim,
                      const uint32_t *dims, uint32_t n_exp, const int8_t *exps, const void *data)
{
    if (ndim < 1 || ndim > 4 || dtype < 1 || dtype > 3 || w->n_tensors >= 65535)
        return lvc_error(LVC_EINVAL, "invalid tensor");
    uint64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        count *= dims[d];
        if (count > (1u << 26))
            return lvc_error(LVC_EINVAL, "tensor too large");
    }
    if (w->n_tensors == w->cap_tensors) {
        int cap = w->cap_tensors ? 2 * w->cap_tensors : 32;
        LvcMwTensor *t = realloc(w->tensors, (size_t)cap * sizeof(*t));
        if (!t)
            return lvc_error(LVC_ENOMEM, "out of memory");
        w->tensors = t;
        w->cap_tensors = cap;
    }
    LvcMwTensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof(*t));
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->dims, dims, (size_t)ndim * sizeof(uint32_t));
    t->n_exp = n_exp;
    t->size = (size_t)count * (dtype == 1 ? 1 : dtype == 2 ? 2 : 4);
    t->name = dup_str(name);
    t->exps = malloc(n_exp ? n_exp : 1);
    t->data = calloc(t->size, 1);
    if (!t->name || !t->exps || !t->data) {
        free(t->name);
        free(t->exps);
        free(t->data);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    if (n_exp && exps)
        memcpy(t->exps, exps, n_exp);
    else if (n_exp)
        memset(t->exps, 0, n_exp);
    if (data)
        memcpy(t->data, data, t->size);
    return w->n_tensors++;
}

int lvc_mw_add_graph(LvcModelWriter *w, const char *name, unsigned flags)
{
    if (w->n_graphs == w->cap_graphs) {
        int cap = w->cap_graphs ? 2 * w->cap_graphs : 32;
        LvcMwGraph *g = realloc(w->graphs, (size_t)cap * sizeof(*g));
        if (!g)
            return lvc_error(LVC_ENOMEM, "out of memory");
        w->graphs = g;
        w->cap_graphs = cap;
    }
    LvcMwGraph *g = &w->graphs[w->n_graphs];
    memset(g, 0, sizeof(*g));
    copy_name(g->name, name);
    g->flags = (uint8_t)flags;
    return w->n_graphs++;
}

int lvc_mw_add_input(LvcModelWriter *w, int gi, const char *name, int channels, int level,
                     int exp)
{
    if (gi < 0 || gi >= w->n_graphs)
        return lvc_error(LVC_EINVAL, "no graph %d", gi);
    LvcMwGraph *g = &w->graphs[gi];
    if (g->n_inputs >= 8 || g->n_nodes)
        return lvc_error(LVC_EINVAL, "inputs come first, at most 8");
    LvcMwPort *p = &g->inputs[g->n_inputs];
    memset(p, 0, sizeof(*p));
    copy_name(p->name, name);
    p->channels = (uint16_t)channels;
    p->level = (int8_t)level;
    p->exp = (int8_t)exp;
    return g->n_inputs++;
}

int lvc_mw_add_node(LvcModelWriter *w, int gi, const LvcMwNode *node)
{
    if (gi < 0 || gi >= w->n_graphs)
        return lvc_error(LVC_EINVAL, "no graph %d", gi);
    LvcMwGraph *g = &w->graphs[gi];
    if (g->n_nodes >= 65535 || node->n_in > 8)
        return lvc_error(LVC_EINVAL, "too many nodes or inputs");
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 32;
        LvcMwNode *n = realloc(g->nodes, (size_t)cap * sizeof(*n));
        if (!n)
            return lvc_error(LVC_ENOMEM, "out of memory");
        g->nodes = n;
        g->cap_nodes = cap;
    }
    g->nodes[g->n_nodes++] = *node;
    return g->n_inputs + g->n_nodes - 1;
}

int lvc_mw_add_output(LvcModelWriter *w, int gi, const char *name, int value)
{
    if (gi < 0 || gi >= w->n_graphs)
        return lvc_error(LVC_EINVAL, "no graph %d", gi);
    LvcMwGraph *g = &w->graphs[gi];
    if (g->n_outputs >= 8)
        return lvc_error(LVC_EINVAL, "at most 8 outputs");
    LvcMwPort *p = &g->outputs[g->n_outputs];
    memset(p, 0, sizeof(*p));
    copy_name(p->name, name);
    p->value = (uint16_t)value;
    g->n_outputs++;
    return 0;
}

LvcMwGraph *lvc_mw_graph(LvcModelWriter *w, const char *name)
{
    for (int i = 0; i < w->n_graphs; i++)
        if (strcmp(w->graphs[i].name, name) == 0)
            return &w->graphs[i];
    return NULL;
}

int lvc_mw_remove_graph(LvcModelWriter *w, const char *name)
{
    LvcMwGraph *g = lvc_mw_graph(w, name);
    if (!g)
        return lvc_error(LVC_EINVAL, "no graph %s", name);
    int i = (int)(g - w->graphs);
    free(g->nodes);
    memmove(&w->graphs[i], &w->graphs[i + 1], (size_t)(w->n_graphs - i - 1) * sizeof(*g));
    w->n_graphs--;
    return 0;
}

int lvc_mw_permute_tensors(LvcModelWriter *w, const uint32_t *new_index)
{
    LvcMwTensor *t = malloc((size_t)(w->n_tensors ? w->n_tensors : 1) * sizeof(*t));
    if (!t)
        return lvc_error(LVC_ENOMEM, "out of memory");
    for (int i = 0; i < w->n_tensors; i++)
        t[new_index[i]] = w->tensors[i];
    memcpy(w->tensors, t, (size_t)w->n_tensors * sizeof(*t));
    free(t);
    for (int gi = 0; gi < w->n_graphs; gi++)
        for (int k = 0; k < w->graphs[gi].n_nodes; k++) {
            LvcMwNode *n = &w->graphs[gi].nodes[k];
            if (n->tensor != LVC_NO_TENSOR && n->tensor < (uint32_t)w->n_tensors)
                n->tensor = new_index[n->tensor];
            if (n->bias != LVC_NO_TENSOR && n->bias < (uint32_t)w->n_tensors)
                n->bias = new_index[n->bias];
        }
    return 0;
}

/* ---- byte buffers ----------------------------------------------------------------------------- */

typedef struct Buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} Buf;

/* Room for n more bytes; NULL when n is 0 (nothing to write) or on failure (b->oom). */
static uint8_t *buf_grow(Buf *b, size_t n)
{
    if (b->oom || n == 0)
        return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *q = b->p + b->len;
    b->len += n;
    return q;
}

static void put_bytes(Buf *b, const void *d, size_t n)
{
    uint8_t *q = buf_grow(b, n);
    if (q)
        memcpy(q, d, n);
}
static void put8(Buf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    put_bytes(b, &x, 1);
}
static void put16(Buf *b, unsigned v)
{
    uint8_t *q = buf_grow(b, 2);
    if (q)
        lvc_wr16(q, (uint16_t)v);
}
static void put32(Buf *b, uint32_t v)
{
    uint8_t *q = buf_grow(b, 4);
    if (q)
        lvc_wr32(q, v);
}
static void put64(Buf *b, uint64_t v)
{
    uint8_t *q = buf_grow(b, 8);
    if (q)
        lvc_wr64(q, v);
}
static void put_name(Buf *b, const char *s)
{
    size_t n = strlen(s);
    put8(b, (unsigned)n);
    put_bytes(b, s, n);
}
static void put_zeros(Buf *b, size_t n)
{
    uint8_t *q = buf_grow(b, n);
    if (q)
        memset(q, 0, n);
}

static void put_cdf(Buf *b, const LvcMwCdf *c)
{
    put16(b, (unsigned)c->bound);
    for (int i = 0; i < 2 * c->bound + 2; i++)
        put16(b, c->freq[i]);
}

static void put_zset(Buf *b, const LvcMwZSet *z)
{
    put8(b, (unsigned)z->n_buckets);
    put16(b, (unsigned)z->channels);
    put16(b, (unsigned)z->Rz);
    for (int i = 0; i < z->n_buckets * z->channels; i++)
        put_cdf(b, &z->tables[i]);
}

int lvc_mw_set_entropy(LvcModelWriter *w, int nb, int skip_bins, int R, const int32_t *thresholds,
                       const LvcMwCdf *y_tables, const LvcMwZSet *z, const LvcMwZSet *z_p)
{
    Buf b = {0};
    put16(&b, (unsigned)nb);
    put16(&b, (unsigned)skip_bins);
    put16(&b, (unsigned)R);
    for (int i = 0; i < nb - 1; i++)
        put32(&b, (uint32_t)thresholds[i]);
    for (int i = 0; i < nb; i++)
        put_cdf(&b, &y_tables[i]);
    put_zset(&b, z);
    if (z_p)
        put_zset(&b, z_p);
    if (b.oom) {
        free(b.p);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    free(w->entr);
    w->entr = b.p;
    w->entr_size = b.len;
    return 0;
}

int lvc_mw_set_entropy_raw(LvcModelWriter *w, const void *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return lvc_error(LVC_ENOMEM, "out of memory");
    if (size)
        memcpy(p, data, size);
    free(w->entr);
    w->entr = p;
    w->entr_size = size;
    return 0;
}

/* ---- serialisation ---------------------------------------------------------------------------- */

static void put_graph(Buf *b, const LvcMwGraph *g)
{
    put_name(b, g->name);
    put8(b, g->flags);
    put8(b, (unsigned)g->n_inputs);
    for (int i = 0; i < g->n_inputs; i++) {
        put_name(b, g->inputs[i].name);
        put16(b, g->inputs[i].channels);
        put8(b, (uint8_t)g->inputs[i].level);
        put8(b, (uint8_t)g->inputs[i].exp);
    }
    put16(b, (unsigned)g->n_nodes);
    for (int k = 0; k < g->n_nodes; k++) {
        const LvcMwNode *n = &g->nodes[k];
        put8(b, n->op);
        put8(b, n->act);
        put8(b, n->act_shift);
        put8(b, n->n_in);
        put16(b, n->out_channels);
        put8(b, (uint8_t)n->fo);
        put8(b, n->kernel);
        put8(b, n->stride);
        put8(b, n->pad);
        put16(b, n->groups);
        put16(b, (uint16_t)n->arg);
        put16(b, n->reserved);
        put32(b, n->tensor);
        put32(b, n->bias);
        for (int i = 0; i < n->n_in && i < 8; i++)
            put16(b, n->in[i]);
        if (n->n_in & 1)
            put16(b, 0);
    }
    put8(b, (unsigned)g->n_outputs);
    for (int i = 0; i < g->n_outputs; i++) {
        put_name(b, g->outputs[i].name);
        put16(b, g->outputs[i].value);
    }
}

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

void lvc_mw_fix_footer(uint8_t *file, size_t size)
{
    if (size >= 32)
        lvc_sha256(file, size - 32, file + size - 32);
}

int lvc_mw_serialize(const LvcModelWriter *w, uint8_t **out, size_t *size)
{
    *out = NULL;
    *size = 0;
    Buf sec[5] = {{0}};
    static const char tags[5][5] = {"META", "GRPH", "TENS", "ENTR", "DATA"};
    /* META */
    if (w->meta)
        put_bytes(&sec[0], w->meta, strlen(w->meta));
    /* GRPH */
    put32(&sec[1], (uint32_t)w->n_graphs);
    for (int i = 0; i < w->n_graphs; i++)
        put_graph(&sec[1], &w->graphs[i]);
    /* TENS and DATA */
    put32(&sec[2], (uint32_t)w->n_tensors);
    for (int i = 0; i < w->n_tensors; i++) {
        const LvcMwTensor *t = &w->tensors[i];
        put_name(&sec[2], t->name);
        put8(&sec[2], (unsigned)t->dtype);
        put8(&sec[2], (unsigned)t->ndim);
        for (int d = 0; d < t->ndim; d++)
            put32(&sec[2], t->dims[d]);
        put32(&sec[2], t->n_exp);
        put_bytes(&sec[2], t->exps, t->n_exp);
        size_t off = align64(sec[4].len);
        put_zeros(&sec[4], off - sec[4].len);
        put64(&sec[2], off);
        put64(&sec[2], t->size);
        put_bytes(&sec[4], t->data, t->size);
    }
    /* ENTR */
    put_bytes(&sec[3], w->entr, w->entr_size);

    size_t offs[5], pos = align64(64 + 5 * 24);
    for (int s = 0; s < 5; s++) {
        offs[s] = pos;
        pos = align64(pos + sec[s].len);
    }
    size_t total = pos + 32;
    uint8_t *f = calloc(total, 1);
    int oom = !f;
    for (int s = 0; s < 5; s++)
        oom |= sec[s].oom;
    if (oom) {
        free(f);
        for (int s = 0; s < 5; s++)
            free(sec[s].p);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    memcpy(f, "LVCM", 4);
    lvc_wr16(f + 4, (uint16_t)w->format_version);
    lvc_wr16(f + 6, (uint16_t)w->opset_version);
    f[8] = (uint8_t)w->profile;
    f[9] = (uint8_t)w->qp_count;
    lvc_wr32(f + 12, 5);
    lvc_wr64(f + 16, total);
    for (int s = 0; s < 5; s++) {
        uint8_t *e = f + 64 + 24 * s;
        memcpy(e, tags[s], 4);
        lvc_wr64(e + 8, offs[s]);
        lvc_wr64(e + 16, sec[s].len);
        if (sec[s].len)
            memcpy(f + offs[s], sec[s].p, sec[s].len);
        free(sec[s].p);
    }
    lvc_mw_fix_footer(f, total);
    *out = f;
    *size = total;
    return 0;
}

/* ---- the random test model -------------------------------------------------------------------- */

#define GEN_MAX_VALUES 256

typedef struct Gen {
    LvcModelWriter *w;
    uint32_t rng;
    int small;
    int p_z_tables;
    int g;   /* current graph */
    int err;
    int nv;  /* values of the current graph */
    int ch[GEN_MAX_VALUES], lv[GEN_MAX_VALUES], ex[GEN_MAX_VALUES];
    int counter; /* for tensor names */
} Gen;

static uint32_t rnd(Gen *G)
{
    uint32_t x = G->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return G->rng = x;
}

/* Uniform in -a..a. */
static int rnd_sym(Gen *G, int a) { return (int)(rnd(G) % (uint32_t)(2 * a + 1)) - a; }

static int gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int isqrt(int n)
{
    int r = 0;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r;
}

static void gen_graph(Gen *G, const char *name, unsigned flags)
{
    if (G->err)
        return;
    G->g = lvc_mw_add_graph(G->w, name, flags);
    G->nv = 0;
    if (G->g < 0)
        G->err = G->g;
}

static int gen_input(Gen *G, const char *name, int ch, int level, int exp)
{
    if (G->err)
        return 0;
    int v = lvc_mw_add_input(G->w, G->g, name, ch, level, exp);
    if (v < 0) {
        G->err = v;
        return 0;
    }
    G->ch[v] = ch;
    G->lv[v] = level;
    G->ex[v] = exp;
    G->nv = v + 1;
    return v;
}

static int gen_node(Gen *G, LvcMwNode *n, int ch, int level)
{
    if (G->err)
        return 0;
    if (G->nv >= GEN_MAX_VALUES) {
        G->err = lvc_error(LVC_EINVAL, "test model graph too large");
        return 0;
    }
    n->out_channels = (uint16_t)ch;
    int v = lvc_mw_add_node(G->w, G->g, n);
    if (v < 0) {
        G->err = v;
        return 0;
    }
    G->ch[v] = ch;
    G->lv[v] = level;
    G->ex[v] = n->fo;
    G->nv = v + 1;
    return v;
}

static LvcMwNode node_init(int op, int n_in)
{
    LvcMwNode n;
    memset(&n, 0, sizeof(n));
    n.op = (uint8_t)op;
    n.n_in = (uint8_t)n_in;
    n.tensor = n.bias = LVC_NO_TENSOR;
    return n;
}

static void gen_output(Gen *G, const char *name, int v)
{
    if (!G->err) {
        int r = lvc_mw_add_output(G->w, G->g, name, v);
        if (r < 0)
            G->err = r;
    }
}

/* groups: 1 = dense (grouped as far as possible in small models), 0 = depthwise. */
static int gen_conv(Gen *G, int in, int cout, int k, int s, int groups, int act, int fo,
                    int wide)
{
    if (G->err)
        return 0;
    int cin = G->ch[in], fin = G->ex[in];
    int g = groups == 0 ? cin : G->small ? gcd(cin, cout) : groups;
    int cin_g = cin / g;
    int fan_in = cin_g * k * k;
    uint32_t dims[4] = {(uint32_t)cout, (uint32_t)cin_g, (uint32_t)k, (uint32_t)k};
    size_t count = (size_t)cout * (size_t)cin_g * (size_t)k * (size_t)k;
    int8_t *exps = malloc((size_t)cout);
    uint8_t *data = malloc(count * (wide ? 2 : 1));
    int32_t *bias = malloc((size_t)cout * sizeof(int32_t));
    uint8_t *bias_le = malloc((size_t)cout * 4);
    if (!exps || !data || !bias || !bias_le) {
        free(exps);
        free(data);
        free(bias);
        free(bias_le);
        G->err = lvc_error(LVC_ENOMEM, "out of memory");
        return 0;
    }
    /* Weights about 1.5 / sqrt(fan_in) in magnitude at S = 7 (int8) or S = 14 (int16). */
    int base_s = wide ? 14 : 7;
    int amp = (wide ? 192 * 128 : 192) / isqrt(fan_in);
    if (amp < 1)
        amp = 1;
    if (amp > (wide ? 32767 : 127))
        amp = wide ? 32767 : 127;
    for (int co = 0; co < cout; co++) {
        int S = base_s + (int)(rnd(G) % 3) - 1;
        exps[co] = (int8_t)(fo - fin + S);
        bias[co] = rnd_sym(G, 1 << (S - 1)) * 2;
    }
    for (size_t i = 0; i < count; i++) {
        int v = rnd_sym(G, amp);
        if (wide)
            lvc_wr16(data + 2 * i, (uint16_t)v);
        else
            data[i] = (uint8_t)v;
    }
    for (int co = 0; co < cout; co++)
        lvc_wr32(bias_le + 4 * co, (uint32_t)bias[co]);
    char name[300];
    snprintf(name, sizeof(name), "%s.conv%d.weight", G->w->graphs[G->g].name, G->counter);
    LvcMwNode n = node_init(1, 1);
    int t = lvc_mw_add_tensor(G->w, name, wide ? 2 : 1, 4, dims, (uint32_t)cout, exps, data);
    n.tensor = (uint32_t)t;
    if (t >= 0 && !G->small) {
        snprintf(name, sizeof(name), "%s.conv%d.bias", G->w->graphs[G->g].name, G->counter);
        uint32_t bd = (uint32_t)cout;
        int tb = lvc_mw_add_tensor(G->w, name, 3, 1, &bd, 0, NULL, bias_le);
        n.bias = (uint32_t)tb;
        if (tb < 0)
            t = tb;
    }
    G->counter++;
    free(exps);
    free(data);
    free(bias);
    free(bias_le);
    if (t < 0) {
        G->err = t;
        return 0;
    }
    n.in[0] = (uint16_t)in;
    n.kernel = (uint8_t)k;
    n.stride = (uint8_t)s;
    n.pad = (uint8_t)(k == 3 ? 1 : 0);
    n.groups = (uint16_t)g;
    n.fo = (int8_t)fo;
    n.act = (uint8_t)act;
    n.act_shift = act == 2 ? 3 : 0;
    return gen_node(G, &n, cout, G->lv[in] - (s == 2));
}

static int gen_qmul(Gen *G, int in, int fo)
{
    if (G->err)
        return 0;
    if (G->small)
        return in;
    int c = G->ch[in];
    int16_t *tab = malloc((size_t)64 * (size_t)c * sizeof(int16_t));
    uint8_t *le = malloc((size_t)64 * (size_t)c * 2);
    if (!tab || !le) {
        free(tab);
        free(le);
        G->err = lvc_error(LVC_ENOMEM, "out of memory");
        return 0;
    }
    /* fq = 12: multipliers from about 1.5 (qp 0) down to about 0.5 (qp 63). */
    for (int qp = 0; qp < 64; qp++)
        for (int ch = 0; ch < c; ch++)
            lvc_wr16(le + 2 * ((size_t)qp * (size_t)c + (size_t)ch),
                     (uint16_t)(6144 - 64 * qp + rnd_sym(G, 256)));
    int8_t fq = 12;
    uint32_t dims[2] = {64, (uint32_t)c};
    char name[300];
    snprintf(name, sizeof(name), "%s.q%d", G->w->graphs[G->g].name, G->counter++);
    int t = lvc_mw_add_tensor(G->w, name, 2, 2, dims, 1, &fq, le);
    free(tab);
    free(le);
    if (t < 0) {
        G->err = t;
        return 0;
    }
    LvcMwNode n = node_init(5, 1);
    n.tensor = (uint32_t)t;
    n.in[0] = (uint16_t)in;
    n.fo = (int8_t)fo;
    return gen_node(G, &n, c, G->lv[in]);
}

static int gen_simple(Gen *G, int op, int a, int b, int arg, int fo, int act, int act_shift)
{
    if (G->err)
        return 0;
    int two = op == 2 || op == 9;
    LvcMwNode n = node_init(op, two ? 2 : 1);
    n.in[0] = (uint16_t)a;
    n.in[1] = (uint16_t)(two ? b : 0);
    n.arg = (int16_t)arg;
    n.fo = (int8_t)fo;
    n.act = (uint8_t)act;
    n.act_shift = (uint8_t)act_shift;
    int ch = G->ch[a], lv = G->lv[a];
    int lg = arg == 2 ? 1 : arg == 4 ? 2 : 3;
    if (op == 6) {
        ch /= arg * arg;
        lv += lg;
    } else if (op == 7) {
        ch *= arg * arg;
        lv -= lg;
    }
    return gen_node(G, &n, ch, lv);
}

static int gen_concat(Gen *G, int a, int b)
{
    if (G->err)
        return 0;
    LvcMwNode n = node_init(4, 2);
    n.in[0] = (uint16_t)a;
    n.in[1] = (uint16_t)b;
    n.fo = (int8_t)G->ex[a];
    return gen_node(G, &n, G->ch[a] + G->ch[b], G->lv[a]);
}

#define FEAT_EXP 8
#define FM 4
#define FS 8
#define FY 6
#define FZ 2
#define FR 7

/* The residual depthwise block of the design: 1x1, act, 3x3 depthwise, 1x1, residual add. */
static int gen_block(Gen *G, int v)
{
    int c = G->ch[v];
    int a = gen_conv(G, v, c, 1, 1, 1, 1, FEAT_EXP, 0);
    int b = gen_conv(G, a, c, 3, 1, 0, 0, FEAT_EXP, 0);
    int d = gen_conv(G, b, c, 1, 1, 1, 0, FEAT_EXP, 0);
    return gen_simple(G, 2, v, d, 0, FEAT_EXP, 2, 3);
}

static void gen_analysis(Gen *G, int inter)
{
    gen_graph(G, inter ? "inter.analysis" : "intra.analysis", 1);
    int x = gen_input(G, "x", 96, 0, 7), v;
    if (inter) {
        int c = gen_input(G, "c", 128, 0, FEAT_EXP);
        int xr = gen_simple(G, 3, x, 0, 0, FEAT_EXP, 0, 0);
        v = gen_conv(G, gen_concat(G, xr, c), 128, 2, 2, 1, 1, FEAT_EXP, 0);
    } else {
        v = gen_conv(G, x, 128, 2, 2, 1, 1, FEAT_EXP, 0);
    }
    v = gen_block(G, v);
    v = gen_qmul(G, v, FEAT_EXP);
    gen_output(G, "y", gen_conv(G, v, 128, 1, 1, 1, 0, FY, 0));
}

static void gen_hyper_analysis(Gen *G, int inter)
{
    gen_graph(G, inter ? "inter.hyper_analysis" : "intra.hyper_analysis", 1);
    int y = gen_input(G, "y", 128, -1, FY);
    int p = gen_simple(G, 10, y, 0, 4, FY, 0, 0);
    int a = gen_conv(G, p, 64, 2, 2, 1, 1, FY, 0);
    gen_output(G, "z", gen_conv(G, a, 64, 2, 2, 1, 0, FZ, 0));
}

static void gen_hyper_synthesis(Gen *G, int inter)
{
    gen_graph(G, inter ? "inter.hyper_synthesis" : "intra.hyper_synthesis", 0);
    int z = gen_input(G, "zhat", 64, -3, 0);
    int a = gen_conv(G, z, 256, 1, 1, 1, 1, FEAT_EXP, 0);
    int s = gen_simple(G, 6, a, 0, 2, FEAT_EXP, 0, 0);
    int b = gen_conv(G, s, 64, 3, 1, 0, 1, FEAT_EXP, 0);
    int c = gen_conv(G, b, 256, 1, 1, 1, 1, FEAT_EXP, 0);
    int s2 = gen_simple(G, 6, c, 0, 2, FEAT_EXP, 0, 0);
    gen_output(G, "h", gen_simple(G, 11, s2, 0, -1, FEAT_EXP, 0, 0));
}

static void gen_prior_fusion(Gen *G, int inter)
{
    gen_graph(G, inter ? "inter.prior_fusion" : "intra.prior_fusion", 0);
    int v = gen_input(G, "h", 64, -1, FEAT_EXP);
    if (inter)
        v = gen_concat(G, v, gen_input(G, "t", 128, -1, FEAT_EXP));
    int prior = gen_conv(G, v, 128, 1, 1, 1, 1, FEAT_EXP, 0);
    gen_output(G, "prior", prior);
    gen_output(G, "mu", gen_conv(G, prior, 128, 1, 1, 1, 0, FM, 0));
    gen_output(G, "scale", gen_conv(G, prior, 128, 1, 1, 1, 0, FS, 0));
}

static void gen_context_step(Gen *G, int inter)
{
    gen_graph(G, inter ? "inter.context_step" : "intra.context_step", 0);
    int prior = gen_input(G, "prior", 128, -1, FEAT_EXP);
    int y1 = gen_input(G, "yhat1", 128, -1, FM);
    int m = gen_simple(G, 8, y1, 0, 0, FM, 0, 0);
    int r = gen_simple(G, 3, m, 0, 0, FEAT_EXP, 0, 0);
    if (inter)
        r = gen_simple(G, 9, r, prior, 0, FEAT_EXP, 0, 0);
    int a = gen_conv(G, gen_concat(G, prior, r), 128, 3, 1, 1, 1, FEAT_EXP, 0);
    gen_output(G, "mu", gen_conv(G, a, 128, 1, 1, 1, 0, FM, 0));
    gen_output(G, "scale", gen_conv(G, a, 128, 1, 1, 1, 0, FS, 0));
}

static void gen_synthesis(Gen *G, int inter)
{
    gen_graph(G, inter ? "inter.synthesis" : "intra.synthesis", 0);
    int y = gen_input(G, "yhat", 128, -1, FM);
    int c = inter ? gen_input(G, "c", 128, 0, FEAT_EXP) : 0;
    int a = gen_conv(G, y, 512, 1, 1, 1, 1, FEAT_EXP, 0);
    int s = gen_simple(G, 6, a, 0, 2, FEAT_EXP, 0, 0);
    if (inter)
        s = gen_conv(G, gen_concat(G, s, c), 128, 1, 1, 1, 1, FEAT_EXP, 0);
    s = gen_block(G, s);
    gen_output(G, "f", gen_simple(G, 12, s, 0, 0, FEAT_EXP, 2, 4));
}

static void gen_recon_head(Gen *G, int inter)
{
    gen_graph(G, inter ? "inter.recon_head" : "intra.recon_head", 0);
    int f = gen_input(G, "f", 128, 0, FEAT_EXP);
    int a = gen_conv(G, f, 128, 3, 1, 0, 1, FEAT_EXP, 0);
    a = gen_qmul(G, a, FEAT_EXP);
    gen_output(G, "r", gen_conv(G, a, 96, 1, 1, 1, 0, FR, 1));
}

static void gen_context(Gen *G)
{
    gen_graph(G, "inter.context", 0);
    int f = gen_input(G, "f", 128, 0, FEAT_EXP);
    int a = gen_conv(G, f, 128, 1, 1, 1, 1, FEAT_EXP, 0);
    a = gen_block(G, a);
    gen_output(G, "c", gen_qmul(G, a, FEAT_EXP));
}

static void gen_temporal_prior(Gen *G)
{
    gen_graph(G, "inter.temporal_prior", 0);
    int c = gen_input(G, "c", 128, 0, FEAT_EXP);
    int yp = gen_input(G, "yprev", 128, -1, FM);
    int u = gen_simple(G, 7, c, 0, 2, FEAT_EXP, 0, 0);
    int a = gen_conv(G, u, 128, 1, 1, 1, 1, FEAT_EXP, 0);
    int yr = gen_simple(G, 3, yp, 0, 0, FEAT_EXP, 1, 0);
    gen_output(G, "t", gen_conv(G, gen_concat(G, a, yr), 128, 1, 1, 1, 0, FEAT_EXP, 0));
}

static void gen_refresh(Gen *G)
{
    gen_graph(G, "inter.refresh", 0);
    int x = gen_input(G, "x", 96, 0, 7);
    int a = gen_conv(G, x, 128, 3, 1, 1, 1, FEAT_EXP, 0);
    gen_output(G, "f", gen_conv(G, a, 128, 1, 1, 1, 0, FEAT_EXP, 0));
}

/* A discrete two-sided geometric-like table over -B..B and the escape, summing to 2^16. */
static void gen_freqs(int B, int spread, uint16_t *freq)
{
    int n = 2 * B + 2;
    uint64_t wsum = 0, wts[2 * 1024 + 2];
    for (int i = 0; i < n - 1; i++) {
        int s = i - B < 0 ? B - i : i - B;
        wts[i] = 4096 / (uint64_t)(1 + s * spread) + 1;
        wsum += wts[i];
    }
    wts[n - 1] = 8;
    wsum += 8;
    uint32_t sum = 0;
    for (int i = 0; i < n; i++) {
        freq[i] = (uint16_t)(1 + wts[i] * (uint64_t)(65536 - n) / wsum);
        sum += freq[i];
    }
    freq[B] = (uint16_t)(freq[B] + (65536 - sum));
}

static int gen_entropy(Gen *G)
{
    int nb = G->small ? 3 : 16, B = G->small ? 2 : 24;
    int nbk = G->small ? 1 : 4, Bz = G->small ? 1 : 12;
    int32_t thr[256];
    LvcMwCdf yt[256], *zt = malloc((size_t)nbk * 64 * sizeof(LvcMwCdf));
    uint16_t *yf = malloc((size_t)nb * (2 * (size_t)B + 2) * sizeof(uint16_t));
    uint16_t *zf = malloc((size_t)nbk * 64 * (2 * (size_t)Bz + 2) * sizeof(uint16_t));
    if (!zt || !yf || !zf) {
        free(zt);
        free(yf);
        free(zf);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    for (int i = 0; i < nb - 1; i++)
        thr[i] = (i - nb / 2) * 24576 + rnd_sym(G, 100);
    for (int i = 0; i < nb; i++) {
        yt[i].bound = B;
        yt[i].freq = yf + (size_t)i * (2 * (size_t)B + 2);
        gen_freqs(B, nb - i, (uint16_t *)yt[i].freq);
    }
    for (int i = 0; i < nbk * 64; i++) {
        zt[i].bound = Bz;
        zt[i].freq = zf + (size_t)i * (2 * (size_t)Bz + 2);
        gen_freqs(Bz, 1 + (int)(rnd(G) % 8), (uint16_t *)zt[i].freq);
    }
    /* The P-frame set, when asked for: the same tables with the channels in reverse order. */
    LvcMwCdf *zp = G->p_z_tables ? malloc((size_t)nbk * 64 * sizeof(LvcMwCdf)) : NULL;
    if (G->p_z_tables && !zp) {
        free(zt);
        free(yf);
        free(zf);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    for (int i = 0; zp && i < nbk * 64; i++)
        zp[i] = zt[(i / 64) * 64 + 63 - i % 64];
    const LvcMwZSet zs = {nbk, 64, 64, zt}, zsp = {nbk, 64, 64, zp};
    int ret = lvc_mw_set_entropy(G->w, nb, 1, 256, thr, yt, &zs, zp ? &zsp : NULL);
    free(zp);
    free(zt);
    free(yf);
    free(zf);
    return ret;
}

int lvc_mw_build_test_model(const LvcTestModelOptions *opt, LvcModelWriter **out)
{
    *out = NULL;
    Gen G;
    memset(&G, 0, sizeof(G));
    G.w = lvc_mw_new();
    if (!G.w)
        return lvc_error(LVC_ENOMEM, "out of memory");
    G.rng = opt->seed * 2654435761u + 0x9e3779b9u;
    if (!G.rng)
        G.rng = 1;
    G.small = opt->small;
    G.p_z_tables = opt->with_inter && opt->p_z_tables;
    char meta[160];
    snprintf(meta, sizeof(meta),
             "name=test-%s%s-%u\ndescription=random test model (not trained)\n",
             opt->with_inter ? "inter" : "intra", opt->small ? "-small" : "", opt->seed);
    G.err = lvc_mw_set_meta(G.w, meta);
    for (int inter = 0; inter <= (opt->with_inter ? 1 : 0); inter++) {
        if (inter)
            gen_context(&G);
        gen_analysis(&G, inter);
        gen_hyper_analysis(&G, inter);
        gen_hyper_synthesis(&G, inter);
        if (inter)
            gen_temporal_prior(&G);
        gen_prior_fusion(&G, inter);
        gen_context_step(&G, inter);
        gen_synthesis(&G, inter);
        gen_recon_head(&G, inter);
        if (inter)
            gen_refresh(&G);
    }
    if (!G.err)
        G.err = gen_entropy(&G);
    if (G.err < 0) {
        lvc_mw_free(G.w);
        return G.err;
    }
    *out = G.w;
    return 0;
}

int lvc_model_write_random_test_model(int with_inter, uint32_t seed, uint8_t **out,
                                      size_t *size)
{
    LvcTestModelOptions opt = {.with_inter = with_inter, .seed = seed};
    LvcModelWriter *w;
    *out = NULL;
    *size = 0;
    int ret = lvc_mw_build_test_model(&opt, &w);
    if (ret < 0)
        return ret;
    ret = lvc_mw_serialize(w, out, size);
    lvc_mw_free(w);
    return ret;
}
