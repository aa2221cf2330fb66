/* The C engine against the golden vectors of the Python integer simulator (tests/golden,
 * models/train/intsim.py): every per-op case recomputed with the C kernels, and the coded
 * frames decoded and encoded with the engine, compared output by output, at 1, 2 and 7
 * threads.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "internal.h"
#include "lvc/lvc.h"
#include "y4m.h"

#ifndef LVC_SOURCE_ROOT
#define LVC_SOURCE_ROOT "."
#endif

static char golden_dir[1024];

/* ---- the LVGV container -------------------------------------------------------------------- */

enum { GT_I8 = 1, GT_I16 = 2, GT_I32 = 3, GT_U8 = 4 };

typedef struct GRec {
    char name[256];
    int dtype, ndim;
    uint32_t dims[8];
    int32_t exp;
    size_t count;
    const uint8_t *data;
} GRec;

typedef struct GFile {
    uint8_t *buf;
    size_t size;
    int n;
    GRec *rec;
} GFile;

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (!got)
            break;
        n += got;
    }
    fclose(f);
    *size = n;
    return buf;
}

static size_t elem_size(int dt) { return dt == GT_I16 ? 2 : dt == GT_I32 ? 4 : 1; }

static int gfile_load(GFile *g, const char *name)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
    memset(g, 0, sizeof(*g));
    g->buf = read_file(path, &g->size);
    if (!g->buf || g->size < 8 || memcmp(g->buf, "LVGV", 4)) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    uint32_t n = lvc_rd32(g->buf + 4);
    g->rec = calloc(n ? n : 1, sizeof(GRec));
    if (!g->rec)
        return -1;
    size_t pos = 8;
    for (uint32_t i = 0; i < n; i++) {
        GRec *r = &g->rec[i];
        if (pos + 1 > g->size)
            return -1;
        size_t l = g->buf[pos++];
        if (pos + l + 2 > g->size)
            return -1;
        memcpy(r->name, g->buf + pos, l);
        r->name[l] = 0;
        pos += l;
        r->dtype = g->buf[pos++];
        r->ndim = g->buf[pos++];
        if (r->ndim < 1 || r->ndim > 8 || pos + 4u * (size_t)r->ndim + 4 > g->size)
            return -1;
        r->count = 1;
        for (int d = 0; d < r->ndim; d++) {
            r->dims[d] = lvc_rd32(g->buf + pos);
            r->count *= r->dims[d];
            pos += 4;
        }
        r->exp = (int32_t)lvc_rd32(g->buf + pos);
        pos += 4;
        size_t bytes = r->count * elem_size(r->dtype);
        if (pos + bytes > g->size)
            return -1;
        r->data = g->buf + pos;
        pos += bytes;
        g->n++;
    }
    return 0;
}

static void gfile_free(GFile *g)
{
    free(g->buf);
    free(g->rec);
    memset(g, 0, sizeof(*g));
}

static const GRec *gfind(const GFile *g, const char *fmt, ...) LVC_PRINTF(2, 3);
#include <stdarg.h>
static const GRec *gfind(const GFile *g, const char *fmt, ...)
{
    char name[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->rec[i].name, name) == 0)
            return &g->rec[i];
    return NULL;
}

static int32_t gval(const GRec *r, size_t i)
{
    const uint8_t *p = r->data + i * elem_size(r->dtype);
    switch (r->dtype) {
    case GT_I8: return (int8_t)p[0];
    case GT_I16: return (int16_t)lvc_rd16(p);
    case GT_I32: return (int32_t)lvc_rd32(p);
    default: return p[0];
    }
}

/* A record as an int16 tensor (malloc'd data). */
static LvcTensor gtensor(const GRec *r)
{
    LvcTensor t = {NULL, 1, 1, 1, r->exp};
    if (r->ndim == 3) {
        t.c = (int)r->dims[0];
        t.h = (int)r->dims[1];
        t.w = (int)r->dims[2];
    } else if (r->ndim == 2) {
        t.h = (int)r->dims[0];
        t.w = (int)r->dims[1];
    } else {
        t.w = (int)r->count;
    }
    t.data = malloc((r->count ? r->count : 1) * sizeof(int16_t));
    for (size_t i = 0; i < r->count; i++)
        t.data[i] = (int16_t)gval(r, i);
    return t;
}

static LvcTensor new_tensor(int c, int h, int w, int exp)
{
    LvcTensor t = {calloc((size_t)c * (size_t)h * (size_t)w + 1, sizeof(int16_t)), c, h, w, exp};
    return t;
}

/* Compare n values of a with record r; returns the number of mismatches (reports the first). */
static int compare_i32(const char *what, const GRec *r, const int32_t *a, size_t n)
{
    if (!r) {
        CHECK(0, "%s: golden record missing", what);
        return 1;
    }
    if (r->count != n) {
        CHECK(0, "%s: %zu values, golden %zu", what, n, r->count);
        return 1;
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != gval(r, i)) {
            if (!bad)
                CHECK(0, "%s: element %zu is %d, golden %d", what, i, a[i], gval(r, i));
            bad++;
        }
    return bad;
}

static int compare_tensor(const char *what, const GRec *r, const LvcTensor *t)
{
    if (!r) {
        CHECK(0, "%s: golden record missing", what);
        return 1;
    }
    LvcTensor g = gtensor(r);
    int bad = 0;
    if (g.c != t->c || g.h != t->h || g.w != t->w || g.exp != t->exp) {
        CHECK(0, "%s: %dx%dx%d exp %d, golden %dx%dx%d exp %d", what, t->c, t->h, t->w, t->exp,
              g.c, g.h, g.w, g.exp);
        bad = 1;
    } else {
        size_t n = (size_t)t->c * (size_t)t->h * (size_t)t->w;
        for (size_t i = 0; i < n; i++)
            if (t->data[i] != g.data[i]) {
                if (!bad)
                    CHECK(0, "%s: element %zu (c %zu) is %d, golden %d", what, i,
                          i / ((size_t)t->h * (size_t)t->w), t->data[i], g.data[i]);
                bad++;
            }
    }
    free(g.data);
    return bad;
}

/* ---- per-op golden cases ------------------------------------------------------------------- */

static LvcDsp dsp;

/* Compute out rows in two bands (the split must not matter). */
#define BANDS(h, call)                                                                          \
    do {                                                                                        \
        int y0 = 0, y1 = (h) / 2, hh_ = (h);                                                    \
        call;                                                                                   \
        y0 = y1;                                                                                \
        y1 = hh_;                                                                               \
        call;                                                                                   \
    } while (0)

static int run_op_case(const GFile *g, int ci)
{
    const GRec *pr = gfind(g, "c%d.param", ci);
    if (!pr)
        return 0;
    int32_t p[16];
    for (int i = 0; i < 16; i++)
        p[i] = gval(pr, i);
    const int op = p[0], act = p[1], ak = p[2], fo = p[8], cout = p[9];
    char what[64];
    snprintf(what, sizeof(what), "op %d case %d", op, ci);
    const GRec *ro = gfind(g, "c%d.out", ci);
    const GRec *r0 = gfind(g, "c%d.in0", ci), *r1 = gfind(g, "c%d.in1", ci);
    if (op == 102) { /* helpers */
        size_t n = r0->count;
        int32_t *res = malloc(n * sizeof(int32_t));
        for (size_t i = 0; i < n; i++)
            res[i] = p[7] == 0 ? lvc_rshr(gval(r0, i), gval(r1, i))
                               : lvc_align(gval(r0, i), gval(r1, i));
        compare_i32(what, ro, res, n);
        free(res);
        return 1;
    }
    if (op == 100) { /* PACK */
        const GRec *ry = r0, *ru = r1, *rv = gfind(g, "c%d.in2", ci);
        int w = p[11], h = p[12];
        LvcTensor out = new_tensor(96, lvc_level_height(h, 0), lvc_level_width(w, 0), 7);
        BANDS(out.h, dsp.pack(out.data, ry->data, (ptrdiff_t)ry->dims[1], ru->data,
                              (ptrdiff_t)ru->dims[1], rv->data, (ptrdiff_t)rv->dims[1], w, h, y0,
                              y1));
        compare_tensor(what, ro, &out);
        free(out.data);
        return 1;
    }
    LvcTensor in0 = gtensor(r0);
    if (op == 101) { /* UNPACK */
        int w = p[11], h = p[12], cw = (w + 1) / 2, ch = (h + 1) / 2;
        uint8_t *py = calloc((size_t)w * (size_t)h, 1), *pu = calloc((size_t)cw * (size_t)ch, 1),
                *pv = calloc((size_t)cw * (size_t)ch, 1);
        BANDS(in0.h, dsp.unpack(py, w, pu, cw, pv, cw, w, h, in0.data, p[8], y0, y1));
        int32_t *tmp = malloc((size_t)w * (size_t)h * sizeof(int32_t));
        const uint8_t *planes[3] = {py, pu, pv};
        const char *pn[3] = {"Y", "U", "V"};
        for (int pl = 0; pl < 3; pl++) {
            size_t n = pl ? (size_t)cw * (size_t)ch : (size_t)w * (size_t)h;
            for (size_t i = 0; i < n; i++)
                tmp[i] = planes[pl][i];
            char wn[80];
            snprintf(wn, sizeof(wn), "%s %s", what, pn[pl]);
            compare_i32(wn, gfind(g, "c%d.out%s", ci, pn[pl]), tmp, n);
        }
        free(tmp);
        free(py);
        free(pu);
        free(pv);
        free(in0.data);
        return 1;
    }
    LvcTensor in1 = {0};
    if (r1)
        in1 = gtensor(r1);
    LvcTensor out = {0};
    switch (op) {
    case LVC_OP_CONV: {
        const GRec *rw = gfind(g, "c%d.w", ci), *rfw = gfind(g, "c%d.fw", ci),
                   *rb = gfind(g, "c%d.b", ci);
        LvcConvParams cp;
        memset(&cp, 0, sizeof(cp));
        cp.cin = in0.c;
        cp.h = in0.h;
        cp.w = in0.w;
        cp.cout = cout;
        cp.k = p[3];
        cp.stride = p[4];
        cp.pad = p[5];
        cp.groups = p[6];
        cp.ho = lvc_conv_out_size(in0.h, cp.k, cp.stride, cp.pad);
        cp.wo = lvc_conv_out_size(in0.w, cp.k, cp.stride, cp.pad);
        int8_t *w8 = NULL;
        int16_t *w16 = NULL;
        if (rw->dtype == GT_I8) {
            w8 = malloc(rw->count);
            for (size_t i = 0; i < rw->count; i++)
                w8[i] = (int8_t)gval(rw, i);
        } else {
            w16 = malloc(rw->count * 2);
            for (size_t i = 0; i < rw->count; i++)
                w16[i] = (int16_t)gval(rw, i);
        }
        cp.w8 = w8;
        cp.w16 = w16;
        int32_t *bias = NULL;
        if (rb) {
            bias = malloc((size_t)cout * sizeof(int32_t));
            for (int i = 0; i < cout; i++)
                bias[i] = gval(rb, (size_t)i);
        }
        cp.bias = bias;
        uint8_t *sh = malloc((size_t)cout);
        for (int i = 0; i < cout; i++)
            sh[i] = (uint8_t)(in0.exp + gval(rfw, (size_t)i) - fo);
        cp.shift = sh;
        cp.act = act;
        cp.act_shift = ak;
        CHECK(lvc_conv_check(&cp) == 0, "%s: %s", what, lvc_last_error());
        out = new_tensor(cout, cp.ho, cp.wo, fo);
        BANDS(out.h, lvc_conv_band(&dsp, &cp, &in0, &out, y0, y1));
        compare_tensor(what, ro, &out);
        /* the plain reference kernel as well */
        memset(out.data, 0, (size_t)cout * (size_t)cp.ho * (size_t)cp.wo * 2);
        lvc_conv_c(out.data, in0.data, &cp, 0, cp.ho);
        compare_tensor(what, ro, &out);
        free(w8);
        free(w16);
        free(bias);
        free(sh);
        break;
    }
    case LVC_OP_ADD:
        out = new_tensor(in0.c, in0.h, in0.w, fo);
        BANDS(out.h, lvc_add_band(&dsp, &out, &in0, &in1, act, ak, y0, y1));
        break;
    case LVC_OP_RESCALE:
        out = new_tensor(in0.c, in0.h, in0.w, fo);
        BANDS(out.h, lvc_rescale_band(&dsp, &out, &in0, act, ak, y0, y1));
        break;
    case LVC_OP_ACT:
        out = new_tensor(in0.c, in0.h, in0.w, fo);
        BANDS(out.h, lvc_act_band(&dsp, &out, &in0, act, ak, y0, y1));
        break;
    case LVC_OP_QMUL: {
        const GRec *rt = gfind(g, "c%d.table", ci);
        int16_t *trow = malloc((size_t)in0.c * 2);
        for (int c = 0; c < in0.c; c++)
            trow[c] = (int16_t)gval(rt, (size_t)p[10] * (size_t)in0.c + (size_t)c);
        out = new_tensor(in0.c, in0.h, in0.w, fo);
        BANDS(out.h, lvc_qmul_band(&dsp, &out, &in0, trow, rt->exp, act, ak, y0, y1));
        free(trow);
        break;
    }
    case LVC_OP_CONCAT: {
        out = new_tensor(cout, in0.h, in0.w, fo);
        int c0 = 0;
        for (int k = 0; k < 8; k++) {
            const GRec *rk = gfind(g, "c%d.in%d", ci, k);
            if (!rk)
                break;
            LvcTensor tk = gtensor(rk);
            BANDS(out.h, lvc_concat_band(&out, c0, &tk, y0, y1));
            c0 += tk.c;
            free(tk.data);
        }
        break;
    }
    case LVC_OP_SHUFFLE:
        out = new_tensor(in0.c / (p[7] * p[7]), in0.h * p[7], in0.w * p[7], fo);
        BANDS(out.h, lvc_shuffle_band(&out, &in0, p[7], y0, y1));
        break;
    case LVC_OP_UNSHUFFLE:
        out = new_tensor(in0.c * p[7] * p[7], in0.h / p[7], in0.w / p[7], fo);
        BANDS(out.h, lvc_unshuffle_band(&out, &in0, p[7], y0, y1));
        break;
    case LVC_OP_CBMASK:
        out = new_tensor(in0.c, in0.h, in0.w, fo);
        BANDS(out.h, lvc_cbmask_band(&out, &in0, p[7], y0, y1));
        break;
    case LVC_OP_CBMERGE:
        out = new_tensor(in0.c, in0.h, in0.w, fo);
        BANDS(out.h, lvc_cbmerge_band(&out, &in0, &in1, p[7], y0, y1));
        break;
    case LVC_OP_PAD:
        out = new_tensor(in0.c, (in0.h + p[7] - 1) / p[7] * p[7],
                         (in0.w + p[7] - 1) / p[7] * p[7], fo);
        BANDS(out.h, lvc_pad_band(&out, &in0, y0, y1));
        break;
    case LVC_OP_CROP:
        out = new_tensor(in0.c, lvc_level_height(p[12], p[7]), lvc_level_width(p[11], p[7]), fo);
        BANDS(out.h, lvc_crop_band(&out, &in0, y0, y1));
        break;
    default:
        CHECK(0, "%s: unknown op", what);
    }
    if (op != LVC_OP_CONV && out.data)
        compare_tensor(what, ro, &out);
    free(out.data);
    free(in0.data);
    free(in1.data);
    return 1;
}

static void test_ops(void)
{
    static const char *files[] = {"act", "add", "cbmask", "cbmerge", "concat", "conv", "crop",
                                  "helpers", "pack", "pad", "qmul", "rescale", "shuffle",
                                  "unpack", "unshuffle"};
    int total = 0;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char name[64];
        snprintf(name, sizeof(name), "ops/%s.lvgv", files[f]);
        GFile g;
        int r = gfile_load(&g, name);
        CHECK(r == 0, "cannot load %s", name);
        if (r < 0) {
            gfile_free(&g);
            continue;
        }
        int n = 0;
        for (int ci = 0; run_op_case(&g, ci); ci++)
            n++;
        CHECK(n > 0, "%s has no cases", name);
        total += n;
        gfile_free(&g);
    }
    printf("# %d op cases\n", total);
}

/* MD5 of one plane's bytes (the tool's MD5, tools/y4m.c), for the 528x512 golden planes. */
static void md5(const uint8_t *msg, size_t len, uint8_t out[16])
{
    Y4mMd5 m;
    y4m_md5_init(&m);
    y4m_md5_update(&m, msg, len);
    y4m_md5_final(&m, out);
}

/* ---- coded frames -------------------------------------------------------------------------- */

typedef struct TraceCtx {
    const GFile *g;
    int frame;
    int encoder;
    int matched, missing, bad;
} TraceCtx;

static void trace_cb(void *opaque, const char *name, const LvcTensor *t)
{
    TraceCtx *tc = opaque;
    if (strcmp(name, "refresh.x") == 0)
        return;
    const GRec *r = gfind(tc->g, "f%d.%s", tc->frame, name);
    char what[200];
    snprintf(what, sizeof(what), "frame %d %s (%s)", tc->frame, name,
             tc->encoder ? "encoder" : "decoder");
    if (!r) {
        tc->missing++;
        CHECK(0, "%s: no golden record", what);
        return;
    }
    tc->matched++;
    if (compare_tensor(what, r, t))
        tc->bad++;
}

static LvcModel *load_golden_model(void)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/model_random.lvcm", golden_dir);
    LvcModel *m = NULL;
    int r = lvc_model_load(path, &m);
    CHECK(r == 0, "cannot load %s: %s", path, lvc_last_error());
    return r == 0 ? m : NULL;
}

/* A picture from the golden planes f<i>.inY/U/V. */
static LvcPicture *golden_picture(const GFile *g, int fi, int w, int h)
{
    LvcPicture *p;
    if (lvc_picture_alloc(w, h, NULL, &p) < 0)
        return NULL;
    const char *pn[3] = {"Y", "U", "V"};
    for (int pl = 0; pl < 3; pl++) {
        const GRec *r = gfind(g, "f%d.in%s", fi, pn[pl]);
        int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            memcpy(p->data[pl] + y * p->stride[pl], r->data + (size_t)y * (size_t)pw, (size_t)pw);
    }
    return p;
}

static int compare_planes(const char *what, const GFile *g, int fi, const LvcPicture *p)
{
    const char *pn[3] = {"Y", "U", "V"};
    int bad = 0;
    for (int pl = 0; pl < 3; pl++) {
        const GRec *r = gfind(g, "f%d.out%s", fi, pn[pl]);
        int pw = pl ? (p->width + 1) / 2 : p->width, ph = pl ? (p->height + 1) / 2 : p->height;
        if (!r || r->count != (size_t)pw * (size_t)ph) {
            CHECK(0, "%s: plane %s missing or of another size", what, pn[pl]);
            bad++;
            continue;
        }
        for (int y = 0; y < ph; y++)
            if (memcmp(p->data[pl] + y * p->stride[pl], r->data + (size_t)y * (size_t)pw,
                       (size_t)pw)) {
                CHECK(0, "%s: plane %s row %d differs", what, pn[pl], y);
                bad++;
                break;
            }
    }
    return bad;
}

/* The symbols in coding order from the per-element arrays, compared with z_sym, y_sym1/2. */
static void compare_symbol_order(const char *what, const GFile *g, int fi, const LvcCodec *c,
                                 int w, int h)
{
    const int32_t *yq, *zq;
    const uint8_t *bins, *coded;
    int h1, w1, h3, w3;
    lvc_codec_last_symbols(c, &yq, &bins, &coded, &zq, &h1, &w1, &h3, &w3);
    size_t n1 = (size_t)128 * (size_t)h1 * (size_t)w1;
    char wn[200];
    snprintf(wn, sizeof(wn), "%s yq", what);
    compare_i32(wn, gfind(g, "f%d.yq", fi), yq, n1);
    snprintf(wn, sizeof(wn), "%s zq", what);
    compare_i32(wn, gfind(g, "f%d.zq", fi), zq, (size_t)64 * (size_t)h3 * (size_t)w3);
    snprintf(wn, sizeof(wn), "%s z_sym", what);
    compare_i32(wn, gfind(g, "f%d.z_sym", fi), zq, (size_t)64 * (size_t)h3 * (size_t)w3);
    int32_t *tmp = calloc(n1 + 1, sizeof(int32_t));
    for (size_t i = 0; i < n1; i++)
        tmp[i] = bins[i];
    snprintf(wn, sizeof(wn), "%s bins", what);
    compare_i32(wn, gfind(g, "f%d.bins", fi), tmp, n1);
    for (size_t i = 0; i < n1; i++)
        tmp[i] = coded[i];
    snprintf(wn, sizeof(wn), "%s coded", what);
    compare_i32(wn, gfind(g, "f%d.coded", fi), tmp, n1);
    int ns = lvc_slice_count(w, h);
    for (int step = 1; step <= 2; step++) {
        size_t n = 0;
        for (int s = 0; s < ns; s++) {
            int r0, r1;
            lvc_slice_rows(h1, ns, s, &r0, &r1);
            for (int ch = 0; ch < 128; ch++)
                for (int row = r0; row < r1; row++)
                    for (int col = 0; col < w1; col++) {
                        size_t i = ((size_t)ch * (size_t)h1 + (size_t)row) * (size_t)w1 +
                                   (size_t)col;
                        if (((row + col) & 1) == step - 1 && coded[i])
                            tmp[n++] = yq[i];
                    }
        }
        snprintf(wn, sizeof(wn), "%s y_sym%d", what, step);
        compare_i32(wn, gfind(g, "f%d.y_sym%d", fi, step), tmp, n);
    }
    free(tmp);
}

static void golden_stream(const char *file, int full)
{
    GFile g;
    int r = gfile_load(&g, file);
    CHECK(r == 0, "cannot load %s", file);
    LvcModel *m = load_golden_model();
    if (r < 0 || !m) {
        gfile_free(&g);
        lvc_model_unref(m);
        return;
    }
    int n_frames = 0;
    while (gfind(&g, "f%d.param", n_frames))
        n_frames++;
    CHECK(n_frames >= 2, "%s: %d frames", file, n_frames);
    const GRec *p0 = gfind(&g, "f0.param");
    const int w = gval(p0, 3), h = gval(p0, 4);
    /* the large stream (two slices) at 1 and 7 threads only, to keep the test fast */
    static const int thread_counts[3] = {1, 7, 2};
    int n_dec = 0, n_enc = 0, n_pkt = 0;
    for (int ti = 0; ti < (full ? 3 : 2); ti++) {
        LvcThreadPool *pool;
        CHECK(lvc_threadpool_create(&pool, thread_counts[ti]) == 0, "pool");
        /* decoder: the engine with traces */
        LvcCodec *dec = NULL, *enc = NULL;
        CHECK(lvc_codec_open(&dec, m, w, h, 0, pool) == 0, "%s", lvc_last_error());
        CHECK(lvc_codec_open(&enc, m, w, h, 1, pool) == 0, "%s", lvc_last_error());
        LvcPicture *out = NULL, *recon = NULL;
        lvc_picture_alloc(w, h, NULL, &out);
        lvc_picture_alloc(w, h, NULL, &recon);
        /* and the public decoder */
        LvcDecoderSettings ds;
        lvc_decoder_settings_default(&ds);
        ds.model = m;
        ds.threads = thread_counts[ti];
        LvcDecoder *api = NULL;
        CHECK(lvc_decoder_open(&api, &ds) == 0, "%s", lvc_last_error());
        uint8_t sh[LVC_SH_MAX_SIZE];
        LvcSeqHeader shf;
        lvc_sh_init(&shf, w, h);
        memcpy(shf.model_id, m->id, LVC_MODEL_ID_SIZE);
        int sh_size = lvc_sh_write(&shf, sh, sizeof(sh));
        CHECK(sh_size == LVC_SH_FIXED_SIZE, "sh");
        for (int fi = 0; fi < n_frames && dec && enc && api; fi++) {
            const GRec *pr = gfind(&g, "f%d.param", fi), *pk = gfind(&g, "f%d.packet", fi);
            const int is_p = gval(pr, 0), qp = gval(pr, 1), refresh = gval(pr, 2);
            char what[120];
            snprintf(what, sizeof(what), "%s frame %d threads %d", file, fi, thread_counts[ti]);
            /* decode */
            LvcPacketInfo info;
            r = lvc_packet_parse(pk->data, pk->count, lvc_slice_count(w, h), &info);
            CHECK(r == 0, "%s: parse: %s", what, lvc_last_error());
            TraceCtx tc = {&g, fi, 0, 0, 0, 0};
            if (full)
                lvc_codec_set_trace(dec, trace_cb, &tc);
            r = lvc_codec_decode(dec, &info, out);
            CHECK(r == 0, "%s: decode: %s", what, lvc_last_error());
            n_dec += tc.matched;
            if (full) {
                CHECK(tc.matched >= 10 && !tc.bad && !tc.missing,
                      "%s: decoder traces: %d matched, %d differ, %d missing", what, tc.matched,
                      tc.bad, tc.missing);
                compare_planes(what, &g, fi, out);
            } else {
                const char *pn[3] = {"Y", "U", "V"};
                for (int pl = 0; pl < 3; pl++) {
                    int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
                    uint8_t *buf = malloc((size_t)pw * (size_t)ph), dig[16];
                    for (int y = 0; y < ph; y++)
                        memcpy(buf + (size_t)y * (size_t)pw, out->data[pl] + y * out->stride[pl],
                               (size_t)pw);
                    md5(buf, (size_t)pw * (size_t)ph, dig);
                    free(buf);
                    const GRec *rm = gfind(&g, "f%d.md5%s", fi, pn[pl]);
                    CHECK(rm && rm->count == 16 && !memcmp(rm->data, dig, 16), "%s: md5 of %s",
                          what, pn[pl]);
                }
                const int32_t *yq, *zq;
                const uint8_t *bins, *coded;
                int h1, w1, h3, w3;
                lvc_codec_last_symbols(dec, &yq, &bins, &coded, &zq, &h1, &w1, &h3, &w3);
                compare_i32(what, gfind(&g, "f%d.zq", fi), zq, (size_t)64 * h3 * w3);
            }
            if (full)
                compare_symbol_order(what, &g, fi, dec, w, h);
            /* the public decoder gives the same picture */
            r = lvc_decoder_send_packet(api, pk->data, pk->count, fi);
            CHECK(r == 0, "%s: api send: %s", what, lvc_last_error());
            LvcPicture *ap = NULL;
            r = lvc_decoder_receive_picture(api, &ap);
            CHECK(r == 0 && ap, "%s: api receive", what);
            if (ap) {
                int same = 1;
                for (int pl = 0; pl < 3; pl++) {
                    int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
                    for (int y = 0; y < ph; y++)
                        if (memcmp(ap->data[pl] + y * ap->stride[pl],
                                   out->data[pl] + y * out->stride[pl], (size_t)pw))
                            same = 0;
                }
                CHECK(same, "%s: api picture differs", what);
                CHECK(ap->pts == fi, "%s: pts", what);
                lvc_picture_unref(ap);
            }
            /* encode the same frame with the same decisions */
            if (full) {
                LvcPicture *src = golden_picture(&g, fi, w, h);
                TraceCtx te = {&g, fi, 1, 0, 0, 0};
                lvc_codec_set_trace(enc, trace_cb, &te);
                const uint8_t *pkt;
                size_t size;
                r = lvc_codec_encode(enc, src, is_p ? LVC_FRAME_P : LVC_FRAME_I, qp, refresh, sh,
                                     (size_t)sh_size, &pkt, &size, recon);
                CHECK(r == 0, "%s: encode: %s", what, lvc_last_error());
                if (r == 0) {
                    CHECK(size == pk->count && !memcmp(pkt, pk->data, size),
                          "%s: packet differs (%zu bytes, golden %zu)", what, size, pk->count);
                    n_pkt++;
                    n_enc += te.matched;
                    CHECK(te.matched >= 13 && !te.bad && !te.missing,
                          "%s: encoder traces: %d matched, %d differ, %d missing", what,
                          te.matched, te.bad, te.missing);
                    compare_planes(what, &g, fi, recon);
                    compare_symbol_order(what, &g, fi, enc, w, h);
                }
                lvc_picture_unref(src);
            }
        }
        lvc_decoder_close(api);
        lvc_picture_unref(out);
        lvc_picture_unref(recon);
        lvc_codec_close(dec);
        lvc_codec_close(enc);
        lvc_threadpool_destroy(pool);
    }
    printf("# %s: %d frames, %d decoder and %d encoder tensors compared, %d packets encoded\n",
           file, n_frames, n_dec, n_enc, n_pkt);
    lvc_model_unref(m);
    gfile_free(&g);
}

static void test_frames_64x48(void) { golden_stream("frames_64x48.lvgv", 1); }
static void test_frames_50x38(void) { golden_stream("frames_50x38.lvgv", 1); }
static void test_frames_528x512(void) { golden_stream("frames_528x512.lvgv", 0); }

int main(int argc, char **argv)
{
    const char *root = getenv("LVC_SOURCE_ROOT");
    if (argc > 1)
        root = argv[1];
    if (!root)
        root = LVC_SOURCE_ROOT;
    snprintf(golden_dir, sizeof(golden_dir), "%s/tests/golden", root);
    /* the per-op cases with the C reference kernels, then with the best the CPU has */
    lvc_dsp_init(&dsp, LVC_DSP_C);
    RUN(test_ops);
    lvc_dsp_init(&dsp, LVC_DSP_MAX);
    RUN(test_ops);
    RUN(test_frames_64x48);
    RUN(test_frames_50x38);
    RUN(test_frames_528x512);
    return check_finish();
}
