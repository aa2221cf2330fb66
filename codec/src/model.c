/* The .lvcm model loader (codec/FORMAT.md §3): strict parsing, graph validation against
 * ARITHMETIC.md §3 and the profile interface, the model id, lookup and reference counting.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lvc_config.h"
#include "sha256.h"

#define HEADER_SIZE 64
#define DIR_ENTRY_SIZE 24
#define FOOTER_SIZE 32
#define NODE_SIZE 24
#define MAX_TENSOR_ELEMENTS (1u << 26)

/* ---- errors ---------------------------------------------------------------------------------- */

static int model_err(const char *fmt, ...) LVC_PRINTF(1, 2);
static int model_err(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return lvc_error(LVC_EMODEL, "%s", msg);
}

static int node_err(const LvcGraph *g, int k, const char *fmt, ...) LVC_PRINTF(3, 4);
static int node_err(const LvcGraph *g, int k, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return lvc_error(LVC_EMODEL, "graph %s node %d: %s", g->name, k, msg);
}

static int s8(uint8_t v) { return v < 128 ? (int)v : (int)v - 256; }
static int s16(uint16_t v) { return v < 32768 ? (int)v : (int)v - 65536; }
static int32_t s32(uint32_t v) { return v < 0x80000000u ? (int32_t)v : -(int32_t)(~v) - 1; }

/* ---- graph roles and the profile interface (FORMAT.md §3.7) ----------------------------------- */

enum {
    EXP_ANY = 1000, /* not fixed here */
    EXP_FM,         /* the model's mu exponent fm (0..12) */
    EXP_FS,         /* a log-scale exponent, 0..15 */
    EXP_F,          /* the feature exponent, one for all f outputs */
    EXP_R,          /* a reconstruction: 0..22 (UNPACK) */
    EXP_Z,          /* a hyper-latent: >= 0 */
    EXP_Y,          /* an analysis latent: -15 <= fy - fm <= 30 */
};

typedef struct PortSpec {
    const char *name;
    int channels;   /* 0 = any */
    int level;
    int exp;        /* a fixed exponent or EXP_* */
    int src_role;   /* inputs fed by another graph's output: its role (-1 none) and port */
    const char *src_port;
} PortSpec;

typedef struct RoleSpec {
    const char *name;
    int encoder_only;
    int n_in, n_out;
    PortSpec in[2], out[3];
} RoleSpec;

#define P(n, c, l, e) {n, c, l, e, -1, NULL}
#define FROM(n, role, port) {n, 0, 0, EXP_ANY, role, port}

static const RoleSpec roles[LVC_G_COUNT] = {
    [LVC_G_INTRA_ANALYSIS] = {"intra.analysis", 1, 1, 1, {P("x", 96, 0, 7)}, {P("y", 128, -1, EXP_Y)}},
    [LVC_G_INTRA_HYPER_ANALYSIS] = {"intra.hyper_analysis", 1, 1, 1,
                                    {FROM("y", LVC_G_INTRA_ANALYSIS, "y")},
                                    {P("z", 64, -3, EXP_Z)}},
    [LVC_G_INTRA_HYPER_SYNTHESIS] = {"intra.hyper_synthesis", 0, 1, 1, {P("zhat", 64, -3, 0)},
                                     {P("h", 0, -1, EXP_ANY)}},
    [LVC_G_INTRA_PRIOR_FUSION] = {"intra.prior_fusion", 0, 1, 3,
                                  {FROM("h", LVC_G_INTRA_HYPER_SYNTHESIS, "h")},
                                  {P("prior", 0, -1, EXP_ANY), P("mu", 128, -1, EXP_FM),
                                   P("scale", 128, -1, EXP_FS)}},
    [LVC_G_INTRA_CONTEXT_STEP] = {"intra.context_step", 0, 2, 2,
                                  {FROM("prior", LVC_G_INTRA_PRIOR_FUSION, "prior"),
                                   P("yhat1", 128, -1, EXP_FM)},
                                  {P("mu", 128, -1, EXP_FM), P("scale", 128, -1, EXP_FS)}},
    [LVC_G_INTRA_SYNTHESIS] = {"intra.synthesis", 0, 1, 1, {P("yhat", 128, -1, EXP_FM)},
                               {P("f", 128, 0, EXP_F)}},
    [LVC_G_INTRA_RECON_HEAD] = {"intra.recon_head", 0, 1, 1,
                                {FROM("f", LVC_G_INTRA_SYNTHESIS, "f")}, {P("r", 96, 0, EXP_R)}},
    [LVC_G_INTER_CONTEXT] = {"inter.context", 0, 1, 1, {FROM("f", LVC_G_INTRA_SYNTHESIS, "f")},
                             {P("c", 128, 0, EXP_ANY)}},
    [LVC_G_INTER_ANALYSIS] = {"inter.analysis", 1, 2, 1,
                              {P("x", 96, 0, 7), FROM("c", LVC_G_INTER_CONTEXT, "c")},
                              {P("y", 128, -1, EXP_Y)}},
    [LVC_G_INTER_HYPER_ANALYSIS] = {"inter.hyper_analysis", 1, 1, 1,
                                    {FROM("y", LVC_G_INTER_ANALYSIS, "y")},
                                    {P("z", 64, -3, EXP_Z)}},
    [LVC_G_INTER_HYPER_SYNTHESIS] = {"inter.hyper_synthesis", 0, 1, 1, {P("zhat", 64, -3, 0)},
                                     {P("h", 0, -1, EXP_ANY)}},
    [LVC_G_INTER_TEMPORAL_PRIOR] = {"inter.temporal_prior", 0, 2, 1,
                                    {FROM("c", LVC_G_INTER_CONTEXT, "c"),
                                     P("yprev", 128, -1, EXP_FM)},
                                    {P("t", 0, -1, EXP_ANY)}},
    [LVC_G_INTER_PRIOR_FUSION] = {"inter.prior_fusion", 0, 2, 3,
                                  {FROM("h", LVC_G_INTER_HYPER_SYNTHESIS, "h"),
                                   FROM("t", LVC_G_INTER_TEMPORAL_PRIOR, "t")},
                                  {P("prior", 0, -1, EXP_ANY), P("mu", 128, -1, EXP_FM),
                                   P("scale", 128, -1, EXP_FS)}},
    [LVC_G_INTER_CONTEXT_STEP] = {"inter.context_step", 0, 2, 2,
                                  {FROM("prior", LVC_G_INTER_PRIOR_FUSION, "prior"),
                                   P("yhat1", 128, -1, EXP_FM)},
                                  {P("mu", 128, -1, EXP_FM), P("scale", 128, -1, EXP_FS)}},
    [LVC_G_INTER_SYNTHESIS] = {"inter.synthesis", 0, 2, 1,
                               {P("yhat", 128, -1, EXP_FM), FROM("c", LVC_G_INTER_CONTEXT, "c")},
                               {P("f", 128, 0, EXP_F)}},
    [LVC_G_INTER_RECON_HEAD] = {"inter.recon_head", 0, 1, 1,
                                {FROM("f", LVC_G_INTER_SYNTHESIS, "f")}, {P("r", 96, 0, EXP_R)}},
    [LVC_G_INTER_REFRESH] = {"inter.refresh", 0, 1, 1, {P("x", 96, 0, 7)},
                             {P("f", 128, 0, EXP_F)}},
};

#undef P
#undef FROM

const char *lvc_model_graph_role_name(int role)
{
    return role >= 0 && role < LVC_G_COUNT ? roles[role].name : "?";
}

/* ---- freeing ---------------------------------------------------------------------------------- */

static void free_model(LvcModel *m)
{
    if (!m)
        return;
    if (m->graphs) {
        for (int i = 0; i < m->n_graphs; i++) {
            LvcGraph *g = &m->graphs[i];
            if (g->nodes)
                for (int k = 0; k < g->n_nodes; k++)
                    free(g->nodes[k].shift);
            free(g->nodes);
            free(g->values);
        }
        free(m->graphs);
    }
    if (m->tensors) {
        for (int i = 0; i < m->n_tensors; i++)
            free(m->tensors[i].name);
        free(m->tensors);
    }
    if (m->ent.y) {
        for (int i = 0; i < m->ent.nb; i++)
            lvc_cdf_free(&m->ent.y[i]);
        free(m->ent.y);
    }
    for (int k = 0; k < 2; k++) {
        LvcZTables *zt = &m->ent.zt[k];
        if (zt->cdf) {
            for (int i = 0; i < zt->n_buckets * zt->channels; i++)
                lvc_cdf_free(&zt->cdf[i]);
            free(zt->cdf);
        }
    }
    free(m->ent.thresholds);
    free(m->name);
    free(m->meta);
    free(m->file);
    free(m);
}

/* ---- sections --------------------------------------------------------------------------------- */

enum { SEC_META, SEC_GRPH, SEC_TENS, SEC_DATA, SEC_ENTR, SEC_COUNT };
static const char section_tags[SEC_COUNT][5] = {"META", "GRPH", "TENS", "DATA", "ENTR"};

typedef struct Section {
    uint64_t offset, size;
    int present;
} Section;

static void tag_text(const uint8_t *t, char out[20])
{
    int printable = 1;
    for (int i = 0; i < 4; i++)
        printable &= t[i] >= 0x20 && t[i] < 0x7f;
    if (printable)
        snprintf(out, 20, "'%c%c%c%c'", t[0], t[1], t[2], t[3]);
    else
        snprintf(out, 20, "0x%02x%02x%02x%02x", t[0], t[1], t[2], t[3]);
}

static int parse_header(LvcModel *m, Section sec[SEC_COUNT])
{
    const uint8_t *f = m->file;
    size_t size = m->file_size;
    if (size < HEADER_SIZE + FOOTER_SIZE)
        return model_err("file too small (%zu bytes)", size);
    if (memcmp(f, "LVCM", 4) != 0)
        return model_err("not a model file (bad magic)");
    m->format_version = lvc_rd16(f + 4);
    m->opset_version = lvc_rd16(f + 6);
    m->profile = f[8];
    m->qp_count = f[9];
    if (m->format_version != LVC_MODEL_FORMAT_VERSION)
        return model_err("unsupported model format version %d", m->format_version);
    if (m->opset_version != LVC_OPSET_VERSION)
        return model_err("unsupported op-set version %d", m->opset_version);
    if (m->profile != 1)
        return model_err("unsupported profile %d", m->profile);
    if (m->qp_count != 64)
        return model_err("qp count %d, must be 64", m->qp_count);
    if (lvc_rd16(f + 10) != 0)
        return model_err("header: reserved field at offset 10 is not 0");
    for (int i = 24; i < 64; i++)
        if (f[i])
            return model_err("header: reserved byte %d is not 0", i);
    uint32_t ns = lvc_rd32(f + 12);
    if (ns < 1 || ns > 16)
        return model_err("header: %u sections (1..16)", ns);
    uint64_t fsize = lvc_rd64(f + 16);
    if (fsize != size)
        return model_err("header: file size %llu, but the file has %zu bytes (truncated?)",
                         (unsigned long long)fsize, size);

    /* The footer: SHA-256 of everything before it. */
    uint8_t digest[LVC_SHA256_SIZE];
    lvc_sha256(f, size - FOOTER_SIZE, digest);
    if (memcmp(digest, f + size - FOOTER_SIZE, FOOTER_SIZE) != 0)
        return model_err("checksum mismatch (footer SHA-256 differs; the file is damaged)");

    uint64_t dir_end = HEADER_SIZE + (uint64_t)ns * DIR_ENTRY_SIZE;
    uint64_t body_end = size - FOOTER_SIZE;
    if (dir_end > body_end)
        return model_err("section directory (%u entries) runs past the end of the file", ns);
    uint64_t offs[16], sizes[16];
    for (uint32_t i = 0; i < ns; i++) {
        const uint8_t *e = f + HEADER_SIZE + (size_t)i * DIR_ENTRY_SIZE;
        char tag[20];
        tag_text(e, tag);
        int s = -1;
        for (int t = 0; t < SEC_COUNT; t++)
            if (memcmp(e, section_tags[t], 4) == 0)
                s = t;
        if (s < 0)
            return model_err("section directory entry %u: unknown section tag %s", i, tag);
        if (sec[s].present)
            return model_err("section %s appears twice", section_tags[s]);
        if (lvc_rd32(e + 4) != 0)
            return model_err("section %s: reserved field is not 0", section_tags[s]);
        uint64_t off = lvc_rd64(e + 8), sz = lvc_rd64(e + 16);
        if (off % 64)
            return model_err("section %s: offset %llu is not a multiple of 64", section_tags[s],
                             (unsigned long long)off);
        if (off < dir_end)
            return model_err("section %s: offset %llu overlaps the header or directory",
                             section_tags[s], (unsigned long long)off);
        if (off > body_end || sz > body_end - off)
            return model_err("section %s (offset %llu, size %llu) runs past the end of the "
                             "file or into the footer",
                             section_tags[s], (unsigned long long)off, (unsigned long long)sz);
        for (uint32_t j = 0; j < i; j++)
            if (sz && sizes[j] && off < offs[j] + sizes[j] && offs[j] < off + sz)
                return model_err("section %s overlaps another section", section_tags[s]);
        offs[i] = off;
        sizes[i] = sz;
        sec[s].present = 1;
        sec[s].offset = off;
        sec[s].size = sz;
    }
    for (int s = 0; s < SEC_COUNT; s++)
        if (!sec[s].present)
            return model_err("missing section %s", section_tags[s]);
    return 0;
}

/* ---- META ------------------------------------------------------------------------------------- */

static int parse_meta(LvcModel *m, const uint8_t *p, size_t n)
{
    if (n > (1u << 20))
        return model_err("META: %zu bytes is too large", n);
    if (memchr(p, 0, n))
        return model_err("META: contains a NUL byte");
    if (n && p[n - 1] != '\n')
        return model_err("META: the last line does not end with a newline");
    m->meta = malloc(n + 1);
    if (!m->meta)
        return lvc_error(LVC_ENOMEM, "out of memory");
    memcpy(m->meta, p, n);
    m->meta[n] = 0;
    size_t pos = 0;
    int line = 1;
    while (pos < n) {
        const uint8_t *nl = memchr(p + pos, '\n', n - pos);
        size_t end = (size_t)(nl - p); /* nl exists: the text ends with '\n' */
        const uint8_t *eq = memchr(p + pos, '=', end - pos);
        if (!eq || eq == p + pos)
            return model_err("META line %d: not key=value", line);
        size_t klen = (size_t)(eq - (p + pos));
        if (klen == 4 && memcmp(p + pos, "name", 4) == 0) {
            size_t vlen = end - (size_t)(eq + 1 - p);
            if (m->name)
                return model_err("META line %d: duplicate name", line);
            if (vlen < 1 || vlen > 255)
                return model_err("META line %d: name must have 1..255 bytes", line);
            m->name = malloc(vlen + 1);
            if (!m->name)
                return lvc_error(LVC_ENOMEM, "out of memory");
            memcpy(m->name, eq + 1, vlen);
            m->name[vlen] = 0;
        }
        pos = end + 1;
        line++;
    }
    if (!m->name)
        return model_err("META: the required key 'name' is missing");
    return 0;
}

/* ---- TENS ------------------------------------------------------------------------------------- */

typedef struct Extent {
    uint64_t offset, size;
    int index;
} Extent;

static int cmp_extent(const void *a, const void *b)
{
    const Extent *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int parse_tensors(LvcModel *m, const uint8_t *p, size_t n)
{
    LvcReader r;
    lvc_reader_init(&r, p, n);
    uint32_t nt = lvc_reader_u32(&r);
    if (r.err)
        return model_err("TENS: truncated");
    if (nt < 1 || nt > 65535)
        return model_err("TENS: %u tensors (1..65535)", nt);
    /* Each entry takes at least 27 bytes: bound the count before allocating. */
    if (nt > lvc_reader_left(&r) / 27)
        return model_err("TENS: %u tensors do not fit in %zu bytes", nt, n);
    m->tensors = calloc(nt, sizeof(*m->tensors));
    if (!m->tensors)
        return lvc_error(LVC_ENOMEM, "out of memory");
    m->n_tensors = (int)nt;
    for (uint32_t i = 0; i < nt; i++) {
        LvcModelTensor *t = &m->tensors[i];
        uint8_t len = lvc_reader_u8(&r);
        const uint8_t *name = lvc_reader_take(&r, len);
        if (r.err)
            return model_err("TENS: tensor %u truncated", i);
        t->name = malloc((size_t)len + 1);
        if (!t->name)
            return lvc_error(LVC_ENOMEM, "out of memory");
        memcpy(t->name, name, len);
        t->name[len] = 0;
        t->dtype = lvc_reader_u8(&r);
        t->ndim = lvc_reader_u8(&r);
        if (r.err)
            return model_err("TENS: tensor %u truncated", i);
        if (t->dtype < LVC_DTYPE_INT8 || t->dtype > LVC_DTYPE_INT32)
            return model_err("TENS: tensor %u (%s): unknown dtype %d", i, t->name, t->dtype);
        if (t->ndim < 1 || t->ndim > 4)
            return model_err("TENS: tensor %u (%s): ndim %d (1..4)", i, t->name, t->ndim);
        uint64_t count = 1;
        for (int d = 0; d < t->ndim; d++) {
            t->dims[d] = lvc_reader_u32(&r);
            if (r.err)
                return model_err("TENS: tensor %u truncated", i);
            if (t->dims[d] < 1)
                return model_err("TENS: tensor %u (%s): dimension %d is 0", i, t->name, d);
            count *= t->dims[d];
            if (count > MAX_TENSOR_ELEMENTS)
                return model_err("TENS: tensor %u (%s): more than 2^26 elements", i, t->name);
        }
        t->count = count;
        t->n_exp = lvc_reader_u32(&r);
        if (r.err)
            return model_err("TENS: tensor %u truncated", i);
        if (t->n_exp != 0 && t->n_exp != 1 && t->n_exp != t->dims[0])
            return model_err("TENS: tensor %u (%s): %u exponents (0, 1 or dims[0] = %u)", i,
                             t->name, t->n_exp, t->dims[0]);
        t->exps = (const int8_t *)lvc_reader_take(&r, t->n_exp);
        t->offset = lvc_reader_u64(&r);
        t->size = lvc_reader_u64(&r);
        if (r.err)
            return model_err("TENS: tensor %u truncated", i);
        uint64_t elsize = t->dtype == LVC_DTYPE_INT8 ? 1 : t->dtype == LVC_DTYPE_INT16 ? 2 : 4;
        if (t->size != count * elsize)
            return model_err("TENS: tensor %u (%s): size %llu, expected %llu", i, t->name,
                             (unsigned long long)t->size, (unsigned long long)(count * elsize));
        if (t->offset % 64)
            return model_err("TENS: tensor %u (%s): offset %llu is not a multiple of 64", i,
                             t->name, (unsigned long long)t->offset);
        if (t->offset > m->data_size || t->size > m->data_size - t->offset)
            return model_err("TENS: tensor %u (%s): data (offset %llu, size %llu) outside DATA "
                             "(%llu bytes)",
                             i, t->name, (unsigned long long)t->offset,
                             (unsigned long long)t->size, (unsigned long long)m->data_size);
        t->data = m->data + t->offset;
    }
    if (lvc_reader_left(&r))
        return model_err("TENS: %zu unused bytes at the end", lvc_reader_left(&r));
    /* Tensors must not overlap (this also bounds their total size by the DATA size). */
    Extent *ext = malloc(nt * sizeof(*ext));
    if (!ext)
        return lvc_error(LVC_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < nt; i++) {
        ext[i].offset = m->tensors[i].offset;
        ext[i].size = m->tensors[i].size;
        ext[i].index = (int)i;
    }
    qsort(ext, nt, sizeof(*ext), cmp_extent);
    for (uint32_t i = 1; i < nt; i++) {
        if (ext[i - 1].offset + ext[i - 1].size > ext[i].offset) {
            int a = ext[i - 1].index, b = ext[i].index;
            free(ext);
            return model_err("TENS: the data of tensors %d and %d overlap", a, b);
        }
    }
    free(ext);
    return 0;
}

/* ---- ENTR ------------------------------------------------------------------------------------- */

static int read_cdf(LvcReader *r, LvcCdf *cdf, const char *what, int idx)
{
    uint16_t freq[2 * LVC_CDF_MAX_BOUND + 2];
    int bound = lvc_reader_u16(r);
    if (r->err)
        return model_err("ENTR: %s table %d truncated", what, idx);
    if (bound < 1 || bound > LVC_CDF_MAX_BOUND)
        return model_err("ENTR: %s table %d: bound %d (1..%d)", what, idx, bound,
                         LVC_CDF_MAX_BOUND);
    size_t nf = 2 * (size_t)bound + 2;
    const uint8_t *q = lvc_reader_take(r, 2 * nf);
    if (!q)
        return model_err("ENTR: %s table %d truncated", what, idx);
    for (size_t i = 0; i < nf; i++)
        freq[i] = lvc_rd16(q + 2 * i);
    int ret = lvc_cdf_init(cdf, bound, freq);
    if (ret == LVC_ENOMEM)
        return ret;
    if (ret < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", lvc_last_error());
        memset(cdf, 0, sizeof(*cdf));
        return model_err("ENTR: %s table %d: %s", what, idx, msg);
    }
    return 0;
}

/* One set of z tables (FORMAT.md §3.6): n_buckets, channels, Rz, then the tables. */
static int read_ztables(LvcReader *r, LvcZTables *zt, const char *what)
{
    int nbk = lvc_reader_u8(r), zc = lvc_reader_u16(r), Rz = lvc_reader_u16(r);
    if (r->err)
        return model_err("ENTR: %s header truncated", what);
    if (nbk < 1 || nbk > 64)
        return model_err("ENTR: %d %s buckets (1..64)", nbk, what);
    if (zc != 64)
        return model_err("ENTR: %s channels %d, must be 64", what, zc);
    if (Rz < 1 || Rz > 32767)
        return model_err("ENTR: %s symbol bound Rz = %d (1..32767)", what, Rz);
    zt->Rz = Rz;
    zt->cdf = calloc((size_t)nbk * (size_t)zc, sizeof(LvcCdf));
    if (!zt->cdf)
        return lvc_error(LVC_ENOMEM, "out of memory");
    zt->n_buckets = 1;
    zt->channels = 0;
    for (int i = 0; i < nbk * zc; i++) {
        int ret = read_cdf(r, &zt->cdf[i], what, i);
        if (ret < 0)
            return ret;
        zt->channels = i + 1; /* n_buckets 1 × this many initialised while loading */
    }
    zt->n_buckets = nbk;
    zt->channels = zc;
    return 0;
}

static int parse_entropy(LvcModel *m, const uint8_t *p, size_t n)
{
    LvcEntropy *e = &m->ent;
    LvcReader r;
    lvc_reader_init(&r, p, n);
    int nb = lvc_reader_u16(&r), skip = lvc_reader_u16(&r), R = lvc_reader_u16(&r);
    if (r.err)
        return model_err("ENTR: truncated");
    if (nb < 2 || nb > 256)
        return model_err("ENTR: %d scale bins (2..256)", nb);
    if (skip > nb)
        return model_err("ENTR: skip_bins %d > %d bins", skip, nb);
    if (R < 1 || R > 32767)
        return model_err("ENTR: symbol bound R = %d (1..32767)", R);
    e->skip_bins = skip;
    e->R = R;
    e->thresholds = malloc((size_t)(nb - 1) * sizeof(int32_t));
    e->y = calloc((size_t)nb, sizeof(LvcCdf));
    if (!e->thresholds || !e->y)
        return lvc_error(LVC_ENOMEM, "out of memory");
    for (int i = 0; i < nb - 1; i++) {
        e->thresholds[i] = s32(lvc_reader_u32(&r));
        if (r.err)
            return model_err("ENTR: thresholds truncated");
        if (i > 0 && e->thresholds[i] <= e->thresholds[i - 1])
            return model_err("ENTR: threshold %d (%d) is not above threshold %d (%d)", i,
                             (int)e->thresholds[i], i - 1, (int)e->thresholds[i - 1]);
    }
    for (int i = 0; i < nb; i++) {
        int ret = read_cdf(&r, &e->y[i], "y", i);
        if (ret < 0)
            return ret;
        e->nb = i + 1; /* tables initialised so far (freed on failure) */
    }
    int ret = read_ztables(&r, &e->zt[0], "z");
    if (ret < 0)
        return ret;
    e->n_zsets = 1;
    if (lvc_reader_left(&r)) { /* the optional P-frame set */
        if ((ret = read_ztables(&r, &e->zt[1], "P-frame z")) < 0)
            return ret;
        e->n_zsets = 2;
    }
    if (lvc_reader_left(&r))
        return model_err("ENTR: %zu unused bytes at the end", lvc_reader_left(&r));
    return 0;
}

/* ---- GRPH ------------------------------------------------------------------------------------- */

static int read_name(LvcReader *r, char out[LVC_MODEL_MAX_NAME + 1], int *too_long)
{
    uint8_t len = lvc_reader_u8(r);
    const uint8_t *q = lvc_reader_take(r, len);
    if (!q)
        return -1;
    *too_long = len > LVC_MODEL_MAX_NAME;
    size_t n = len > LVC_MODEL_MAX_NAME ? LVC_MODEL_MAX_NAME : len;
    memcpy(out, q, n);
    out[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (out[i] < 0x20 || out[i] > 0x7e)
            out[i] = '?';
    return 0;
}

static int check_value(const LvcGraph *g, int k, const LvcValueInfo *v)
{
    if (v->channels < 1 || v->channels > LVC_MODEL_MAX_CHANNELS)
        return node_err(g, k, "%d channels (1..%d)", v->channels, LVC_MODEL_MAX_CHANNELS);
    if (v->level < LVC_MODEL_MIN_LEVEL || v->level > 6)
        return node_err(g, k, "level %d out of range (%d..6)", v->level, LVC_MODEL_MIN_LEVEL);
    if (v->level > 0 && ((uint32_t)v->channels << (2 * v->level)) > LVC_MODEL_MAX_CHANNELS)
        return node_err(g, k, "%d channels at level %d exceed 4096 per level-0 position",
                        v->channels, v->level);
    if (v->exp < -32 || v->exp > 32)
        return node_err(g, k, "exponent %d out of range (-32..32)", v->exp);
    return 0;
}

static double level_scale(int level)
{
    double s = 1;
    for (int i = 0; i < level; i++)
        s *= 4;
    for (int i = 0; i > level; i--)
        s /= 4;
    return s;
}

static int validate_conv(LvcModel *m, LvcGraph *g, int k, LvcNode *nd, const LvcValueInfo *in)
{
    if (nd->kernel < 1 || nd->kernel > 7)
        return node_err(g, k, "kernel %d (1..7)", nd->kernel);
    if (nd->stride != 1 && nd->stride != 2)
        return node_err(g, k, "stride %d (1 or 2)", nd->stride);
    if (nd->pad >= nd->kernel)
        return node_err(g, k, "padding %d not below kernel %d", nd->pad, nd->kernel);
    if (nd->groups < 1 || in->channels % nd->groups || nd->out_channels % nd->groups)
        return node_err(g, k, "groups %d do not divide %d input and %d output channels",
                        nd->groups, in->channels, nd->out_channels);
    if (nd->weight_index >= (uint32_t)m->n_tensors)
        return node_err(g, k, "weight tensor %u does not exist", nd->weight_index);
    const LvcModelTensor *w = &m->tensors[nd->weight_index];
    uint32_t cout = (uint32_t)nd->out_channels, cin_g = (uint32_t)(in->channels / nd->groups);
    uint32_t kk = (uint32_t)nd->kernel;
    if (w->dtype != LVC_DTYPE_INT8 && w->dtype != LVC_DTYPE_INT16)
        return node_err(g, k, "weight tensor %u (%s) must be int8 or int16", nd->weight_index,
                        w->name);
    if (w->ndim != 4 || w->dims[0] != cout || w->dims[1] != cin_g || w->dims[2] != kk ||
        w->dims[3] != kk)
        return node_err(g, k, "weight tensor %u (%s) shape mismatch: expected [%u][%u][%u][%u]",
                        nd->weight_index, w->name, cout, cin_g, kk, kk);
    if (w->n_exp != cout)
        return node_err(g, k, "weight tensor %u (%s) has %u exponents, expected %u",
                        nd->weight_index, w->name, w->n_exp, cout);
    if (nd->bias_index != LVC_NO_TENSOR) {
        if (nd->bias_index >= (uint32_t)m->n_tensors)
            return node_err(g, k, "bias tensor %u does not exist", nd->bias_index);
        const LvcModelTensor *b = &m->tensors[nd->bias_index];
        if (b->dtype != LVC_DTYPE_INT32 || b->ndim != 1 || b->dims[0] != cout || b->n_exp != 0)
            return node_err(g, k, "bias tensor %u (%s) must be int32 [%u] without exponents",
                            nd->bias_index, b->name, cout);
        nd->bias = b->data;
    }
    nd->weights = w->data;
    nd->weight_dtype = w->dtype;
    nd->weight_exps = w->exps;
    nd->shift = malloc(cout);
    if (!nd->shift)
        return lvc_error(LVC_ENOMEM, "out of memory");
    for (uint32_t co = 0; co < cout; co++) {
        int S = in->exp + w->exps[co] - nd->fo;
        if (S < 1 || S > 30)
            return node_err(g, k, "shift %d out of range (1..30) for output channel %u", S, co);
        nd->shift[co] = (int8_t)S;
    }
    nd->out.channels = nd->out_channels;
    nd->out.level = in->level - (nd->stride == 2);
    nd->out.exp = nd->fo;
    nd->macs = (double)cout * cin_g * kk * kk * level_scale(nd->out.level);
    return 0;
}

/* Validate node k of g and derive its output (ARITHMETIC.md §3, FORMAT.md §3.3). */
static int validate_node(LvcModel *m, LvcGraph *g, int k)
{
    LvcNode *nd = &g->nodes[k];
    const LvcValueInfo *in[LVC_MODEL_MAX_NODE_INPUTS];
    for (int i = 0; i < nd->n_in; i++)
        in[i] = &g->values[nd->in[i]];
    int op = nd->op;
    int uses_act = op == LVC_OP_CONV || op == LVC_OP_ADD || op == LVC_OP_RESCALE ||
                   op == LVC_OP_QMUL || op == LVC_OP_ACT;
    int uses_arg = op == LVC_OP_SHUFFLE || op == LVC_OP_UNSHUFFLE || op == LVC_OP_CBMASK ||
                   op == LVC_OP_CBMERGE || op == LVC_OP_PAD || op == LVC_OP_CROP;
    if (!uses_act && nd->act != LVC_MODEL_ACT_NONE)
        return node_err(g, k, "op %d takes no activation", op);
    if (op == LVC_OP_ACT && nd->act == LVC_MODEL_ACT_NONE)
        return node_err(g, k, "ACT with activation none");
    if (!uses_arg && nd->arg != 0)
        return node_err(g, k, "arg %d must be 0 for op %d", nd->arg, op);
    if (op != LVC_OP_CONV && (nd->kernel || nd->stride || nd->pad || nd->groups))
        return node_err(g, k, "kernel/stride/padding/groups must be 0 for op %d", op);
    if (op != LVC_OP_CONV && op != LVC_OP_QMUL && nd->weight_index != LVC_NO_TENSOR)
        return node_err(g, k, "tensor field must be 0xFFFFFFFF for op %d", op);
    if (op != LVC_OP_CONV && nd->bias_index != LVC_NO_TENSOR)
        return node_err(g, k, "bias field must be 0xFFFFFFFF for op %d", op);
    if (nd->fo < -32 || nd->fo > 32)
        return node_err(g, k, "out exponent %d out of range (-32..32)", nd->fo);

    LvcValueInfo *o = &nd->out;
    switch (op) {
    case LVC_OP_CONV: {
        int ret = validate_conv(m, g, k, nd, in[0]);
        if (ret < 0)
            return ret;
        break;
    }
    case LVC_OP_ADD:
    case LVC_OP_RESCALE: {
        if (op == LVC_OP_ADD && (in[0]->channels != in[1]->channels ||
                                 in[0]->level != in[1]->level))
            return node_err(g, k, "ADD of different shapes (%d channels level %d, %d channels "
                            "level %d)", in[0]->channels, in[0]->level, in[1]->channels,
                            in[1]->level);
        nd->shift = malloc(2);
        if (!nd->shift)
            return lvc_error(LVC_ENOMEM, "out of memory");
        for (int i = 0; i < nd->n_in; i++) {
            int d = in[i]->exp - nd->fo;
            if (d < -15 || d > 30)
                return node_err(g, k, "shift %d out of range (-15..30) for input %d", d, i);
            nd->shift[i] = (int8_t)d;
        }
        *o = *in[0];
        o->exp = nd->fo;
        break;
    }
    case LVC_OP_CONCAT: {
        int c = 0;
        for (int i = 0; i < nd->n_in; i++) {
            if (in[i]->level != in[0]->level || in[i]->exp != in[0]->exp)
                return node_err(g, k, "CONCAT input %d (level %d, exponent %d) differs from "
                                "input 0 (level %d, exponent %d)", i, in[i]->level,
                                in[i]->exp, in[0]->level, in[0]->exp);
            c += in[i]->channels;
        }
        *o = *in[0];
        o->channels = c;
        break;
    }
    case LVC_OP_QMUL: {
        if (nd->weight_index >= (uint32_t)m->n_tensors)
            return node_err(g, k, "q table tensor %u does not exist", nd->weight_index);
        const LvcModelTensor *t = &m->tensors[nd->weight_index];
        if (t->dtype != LVC_DTYPE_INT16 || t->ndim != 2 || t->dims[0] != 64 ||
            t->dims[1] != (uint32_t)in[0]->channels || t->n_exp != 1)
            return node_err(g, k, "q table tensor %u (%s) must be int16 [64][%d] with one "
                            "exponent", nd->weight_index, t->name, in[0]->channels);
        int S = in[0]->exp + t->exps[0] - nd->fo;
        if (S < 1 || S > 30)
            return node_err(g, k, "shift %d out of range (1..30)", S);
        nd->shift = malloc(1);
        if (!nd->shift)
            return lvc_error(LVC_ENOMEM, "out of memory");
        nd->shift[0] = (int8_t)S;
        nd->table = t->data;
        nd->table_exp = t->exps[0];
        *o = *in[0];
        o->exp = nd->fo;
        nd->macs = (double)o->channels * level_scale(o->level);
        break;
    }
    case LVC_OP_SHUFFLE:
    case LVC_OP_UNSHUFFLE: {
        int r = nd->arg, lg = r == 2 ? 1 : r == 4 ? 2 : r == 8 ? 3 : 0;
        if (!lg)
            return node_err(g, k, "factor %d (2, 4 or 8)", r);
        *o = *in[0];
        if (op == LVC_OP_SHUFFLE) {
            if (in[0]->channels % (r * r))
                return node_err(g, k, "SHUFFLE of %d channels by %d: not divisible by %d",
                                in[0]->channels, r, r * r);
            o->channels = in[0]->channels / (r * r);
            o->level = in[0]->level + lg;
        } else {
            o->channels = in[0]->channels * r * r;
            o->level = in[0]->level - lg;
        }
        break;
    }
    case LVC_OP_CBMASK:
    case LVC_OP_CBMERGE:
        if (nd->arg != 0 && nd->arg != 1)
            return node_err(g, k, "parity %d (0 or 1)", nd->arg);
        if (op == LVC_OP_CBMERGE &&
            (in[0]->channels != in[1]->channels || in[0]->level != in[1]->level ||
             in[0]->exp != in[1]->exp))
            return node_err(g, k, "CBMERGE inputs differ in channels, level or exponent");
        *o = *in[0];
        break;
    case LVC_OP_PAD:
        if (nd->arg < 1 || nd->arg > 64)
            return node_err(g, k, "PAD multiple %d (1..64)", nd->arg);
        *o = *in[0];
        break;
    case LVC_OP_CROP:
        if (nd->arg != in[0]->level)
            return node_err(g, k, "CROP to level %d of an input at level %d", nd->arg,
                            in[0]->level);
        *o = *in[0];
        break;
    case LVC_OP_ACT:
        *o = *in[0];
        break;
    default:
        return node_err(g, k, "unknown op %d", op);
    }
    if (o->channels != nd->out_channels)
        return node_err(g, k, "out_channels %d, but the op produces %d", nd->out_channels,
                        o->channels);
    if (o->exp != nd->fo)
        return node_err(g, k, "out exponent %d, but the op keeps exponent %d", nd->fo, o->exp);
    return check_value(g, k, o);
}

static int n_in_ok(int op, int n)
{
    switch (op) {
    case LVC_OP_ADD:
    case LVC_OP_CBMERGE: return n == 2;
    case LVC_OP_CONCAT: return n >= 2 && n <= 8;
    default: return n == 1;
    }
}

static int parse_graph(LvcModel *m, LvcReader *r, LvcGraph *g, int gi)
{
    int too_long;
    if (read_name(r, g->name, &too_long) < 0)
        return model_err("GRPH: graph %d truncated", gi);
    if (too_long)
        return model_err("GRPH: graph %d (%s...): unknown graph name", gi, g->name);
    g->role = -1;
    for (int i = 0; i < LVC_G_COUNT; i++)
        if (strcmp(g->name, roles[i].name) == 0)
            g->role = i;
    if (g->role < 0)
        return model_err("GRPH: graph %d: unknown graph name '%s'", gi, g->name);
    g->flags = lvc_reader_u8(r);
    g->n_inputs = lvc_reader_u8(r);
    if (r->err)
        return model_err("graph %s: truncated", g->name);
    if (g->flags & ~LVC_GRAPH_ENCODER_ONLY)
        return model_err("graph %s: unknown flags 0x%02x", g->name, g->flags);
    if (g->n_inputs < 1 || g->n_inputs > LVC_MODEL_MAX_GRAPH_IO)
        return model_err("graph %s: %d inputs (1..8)", g->name, g->n_inputs);
    for (int i = 0; i < g->n_inputs; i++) {
        LvcGraphPort *pt = &g->inputs[i];
        if (read_name(r, pt->name, &too_long) < 0)
            return model_err("graph %s: input %d truncated", g->name, i);
        if (too_long)
            return model_err("graph %s: input %d: name too long", g->name, i);
        pt->value = i;
        pt->v.channels = lvc_reader_u16(r);
        pt->v.level = s8(lvc_reader_u8(r));
        pt->v.exp = s8(lvc_reader_u8(r));
        if (r->err)
            return model_err("graph %s: input %d truncated", g->name, i);
    }
    int nn = lvc_reader_u16(r);
    if (r->err)
        return model_err("graph %s: truncated", g->name);
    if (nn < 1 || nn > 4096)
        return model_err("graph %s: %d nodes (1..4096)", g->name, nn);
    if ((size_t)nn * NODE_SIZE > lvc_reader_left(r))
        return model_err("graph %s: %d nodes do not fit in the section", g->name, nn);
    g->nodes = calloc((size_t)nn, sizeof(*g->nodes));
    g->values = calloc((size_t)(g->n_inputs + nn), sizeof(*g->values));
    if (!g->nodes || !g->values)
        return lvc_error(LVC_ENOMEM, "out of memory");
    g->n_nodes = nn;
    for (int i = 0; i < g->n_inputs; i++) {
        g->values[i] = g->inputs[i].v;
        int ret = check_value(g, -1, &g->values[i]);
        if (ret < 0)
            return model_err("graph %s input %d (%s): %s", g->name, i, g->inputs[i].name,
                             strstr(lvc_last_error(), ": ") + 2);
    }
    for (int k = 0; k < nn; k++) {
        LvcNode *nd = &g->nodes[k];
        nd->record_pos = (size_t)(r->p - m->file);
        const uint8_t *q = lvc_reader_take(r, NODE_SIZE);
        if (!q)
            return model_err("graph %s node %d: truncated", g->name, k);
        nd->op = q[0];
        nd->act = q[1];
        nd->act_shift = q[2];
        nd->n_in = q[3];
        nd->out_channels = lvc_rd16(q + 4);
        nd->fo = s8(q[6]);
        nd->kernel = q[7];
        nd->stride = q[8];
        nd->pad = q[9];
        nd->groups = lvc_rd16(q + 10);
        nd->arg = s16(lvc_rd16(q + 12));
        nd->weight_index = lvc_rd32(q + 16);
        nd->bias_index = lvc_rd32(q + 20);
        if (nd->op < LVC_OP_CONV || nd->op > LVC_OP_ACT)
            return node_err(g, k, "unknown op %d", nd->op);
        if (!n_in_ok(nd->op, nd->n_in))
            return node_err(g, k, "op %d with %d inputs", nd->op, nd->n_in);
        if (lvc_rd16(q + 14))
            return node_err(g, k, "reserved field is not 0");
        if (nd->act > LVC_MODEL_ACT_LRELU)
            return node_err(g, k, "unknown activation %d", nd->act);
        if (nd->act == LVC_MODEL_ACT_LRELU ? nd->act_shift < 1 || nd->act_shift > 15
                                     : nd->act_shift != 0)
            return node_err(g, k, "activation shift %d invalid for activation %d",
                            nd->act_shift, nd->act);
        size_t in_bytes = ((size_t)nd->n_in * 2 + 3) & ~(size_t)3;
        const uint8_t *iq = lvc_reader_take(r, in_bytes);
        if (!iq)
            return node_err(g, k, "truncated");
        int own = g->n_inputs + k;
        for (int i = 0; i < nd->n_in; i++) {
            nd->in[i] = lvc_rd16(iq + 2 * i);
            if (nd->in[i] >= own)
                return node_err(g, k, "input %d reads value %d, not before the node's own "
                                "value %d (forward or cyclic reference)", i, nd->in[i], own);
        }
        for (size_t i = (size_t)nd->n_in * 2; i < in_bytes; i++)
            if (iq[i])
                return node_err(g, k, "input padding is not 0");
        int ret = validate_node(m, g, k);
        if (ret < 0)
            return ret;
        g->values[own] = nd->out;
        g->macs += nd->macs;
    }
    g->n_outputs = lvc_reader_u8(r);
    if (r->err)
        return model_err("graph %s: outputs truncated", g->name);
    if (g->n_outputs < 1 || g->n_outputs > LVC_MODEL_MAX_GRAPH_IO)
        return model_err("graph %s: %d outputs (1..8)", g->name, g->n_outputs);
    for (int i = 0; i < g->n_outputs; i++) {
        LvcGraphPort *pt = &g->outputs[i];
        if (read_name(r, pt->name, &too_long) < 0)
            return model_err("graph %s: output %d truncated", g->name, i);
        if (too_long)
            return model_err("graph %s: output %d: name too long", g->name, i);
        pt->value = lvc_reader_u16(r);
        if (r->err)
            return model_err("graph %s: output %d truncated", g->name, i);
        if (pt->value >= g->n_inputs + nn)
            return model_err("graph %s: output %d (%s) refers to value %d of %d", g->name, i,
                             pt->name, pt->value, g->n_inputs + nn);
        pt->v = g->values[pt->value];
    }
    return 0;
}

static const LvcGraphPort *find_port(const LvcGraph *g, const char *name, int output)
{
    int n = output ? g->n_outputs : g->n_inputs;
    const LvcGraphPort *p = output ? g->outputs : g->inputs;
    for (int i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return &p[i];
    return NULL;
}

static int check_port(const LvcModel *m, const LvcGraph *g, const PortSpec *s,
                      const LvcGraphPort *p, int output)
{
    const char *dir = output ? "output" : "input";
    if (strcmp(p->name, s->name) != 0)
        return model_err("graph %s: %s '%s' where the interface has '%s'", g->name, dir, p->name,
                         s->name);
    if (s->src_role >= 0) {
        const LvcGraphPort *src = find_port(m->role[s->src_role], s->src_port, 1);
        if (p->v.channels != src->v.channels || p->v.level != src->v.level ||
            p->v.exp != src->v.exp)
            return model_err("graph %s: input %s (%d channels, level %d, exponent %d) does not "
                             "match output %s of graph %s (%d channels, level %d, exponent %d)",
                             g->name, p->name, p->v.channels, p->v.level, p->v.exp, src->name,
                             roles[s->src_role].name, src->v.channels, src->v.level,
                             src->v.exp);
        return 0;
    }
    if (s->channels && p->v.channels != s->channels)
        return model_err("graph %s: %s %s has %d channels, the interface needs %d", g->name, dir,
                         p->name, p->v.channels, s->channels);
    if (p->v.level != s->level)
        return model_err("graph %s: %s %s is at level %d, the interface needs %d", g->name, dir,
                         p->name, p->v.level, s->level);
    int e = p->v.exp;
    switch (s->exp) {
    case EXP_ANY: break;
    case EXP_FM:
        if (e != m->fm)
            return model_err("graph %s: %s %s has exponent %d, the model's mu exponent fm is %d",
                             g->name, dir, p->name, e, m->fm);
        break;
    case EXP_FS:
        if (e < 0 || e > 15)
            return model_err("graph %s: %s %s has exponent %d (0..15)", g->name, dir, p->name, e);
        break;
    case EXP_F:
        if (e != m->ff)
            return model_err("graph %s: %s %s has exponent %d, but f of intra.synthesis has %d",
                             g->name, dir, p->name, e, m->ff);
        break;
    case EXP_R:
        if (e < 0 || e > 22)
            return model_err("graph %s: %s %s has exponent %d (0..22)", g->name, dir, p->name, e);
        break;
    case EXP_Z:
        if (e < 0)
            return model_err("graph %s: %s %s has exponent %d (must be >= 0)", g->name, dir,
                             p->name, e);
        break;
    case EXP_Y:
        if (e - m->fm < -15 || e - m->fm > 30)
            return model_err("graph %s: %s %s has exponent %d, fy - fm must be in -15..30",
                             g->name, dir, p->name, e);
        break;
    default:
        if (e != s->exp)
            return model_err("graph %s: %s %s has exponent %d, the interface needs %d", g->name,
                             dir, p->name, e, s->exp);
    }
    return 0;
}

static int validate_interface(LvcModel *m)
{
    for (int i = 0; i < m->n_graphs; i++) {
        LvcGraph *g = &m->graphs[i];
        if (m->role[g->role])
            return model_err("graph %s appears twice", g->name);
        m->role[g->role] = g;
    }
    int n_inter = 0;
    for (int r = 0; r < LVC_G_COUNT; r++) {
        if (r < LVC_G_FIRST_INTER && !m->role[r])
            return model_err("missing graph %s", roles[r].name);
        n_inter += r >= LVC_G_FIRST_INTER && m->role[r];
    }
    if (n_inter && n_inter != LVC_G_COUNT - LVC_G_FIRST_INTER) {
        for (int r = LVC_G_FIRST_INTER; r < LVC_G_COUNT; r++)
            if (!m->role[r])
                return model_err("missing graph %s (the inter graphs are all or none)",
                                 roles[r].name);
    }
    m->has_inter = n_inter > 0;
    if (m->ent.n_zsets > 1 && !m->has_inter)
        return model_err("ENTR: P-frame z tables in an intra-only model");
    /* Counts and flags first, so that the exponent anchors below exist. */
    for (int r = 0; r < LVC_G_COUNT; r++) {
        const LvcGraph *g = m->role[r];
        if (!g)
            continue;
        if ((int)(g->flags & LVC_GRAPH_ENCODER_ONLY) != roles[r].encoder_only)
            return model_err("graph %s: the encoder-only flag must be %d", g->name,
                             roles[r].encoder_only);
        if (g->n_inputs != roles[r].n_in)
            return model_err("graph %s: %d inputs, the interface has %d", g->name, g->n_inputs,
                             roles[r].n_in);
        if (g->n_outputs != roles[r].n_out)
            return model_err("graph %s: %d outputs, the interface has %d", g->name,
                             g->n_outputs, roles[r].n_out);
    }
    /* fm and the feature exponent come from intra.prior_fusion's mu and intra.synthesis's f. */
    m->fm = m->role[LVC_G_INTRA_PRIOR_FUSION]->outputs[1].v.exp;
    if (m->fm < 0 || m->fm > 12)
        return model_err("graph intra.prior_fusion: mu exponent fm = %d (0..12)", m->fm);
    if ((int32_t)m->ent.R << m->fm > 32767)
        return model_err("ENTR: R = %d with fm = %d: R * 2^fm exceeds 32767", m->ent.R, m->fm);
    m->ff = m->role[LVC_G_INTRA_SYNTHESIS]->outputs[0].v.exp;
    for (int r = 0; r < LVC_G_COUNT; r++) {
        const LvcGraph *g = m->role[r];
        if (!g)
            continue;
        for (int i = 0; i < g->n_outputs; i++) {
            int ret = check_port(m, g, &roles[r].out[i], &g->outputs[i], 1);
            if (ret < 0)
                return ret;
        }
    }
    for (int r = 0; r < LVC_G_COUNT; r++) {
        const LvcGraph *g = m->role[r];
        if (!g)
            continue;
        for (int i = 0; i < g->n_inputs; i++) {
            int ret = check_port(m, g, &roles[r].in[i], &g->inputs[i], 0);
            if (ret < 0)
                return ret;
        }
    }
    m->fy_intra = m->role[LVC_G_INTRA_ANALYSIS]->outputs[0].v.exp;
    m->fz_intra = m->role[LVC_G_INTRA_HYPER_ANALYSIS]->outputs[0].v.exp;
    if (m->has_inter) {
        m->fc = m->role[LVC_G_INTER_CONTEXT]->outputs[0].v.exp;
        m->fy_inter = m->role[LVC_G_INTER_ANALYSIS]->outputs[0].v.exp;
        m->fz_inter = m->role[LVC_G_INTER_HYPER_ANALYSIS]->outputs[0].v.exp;
    }
    return 0;
}

static int parse_graphs(LvcModel *m, const uint8_t *p, size_t n)
{
    LvcReader r;
    lvc_reader_init(&r, p, n);
    uint32_t ng = lvc_reader_u32(&r);
    if (r.err)
        return model_err("GRPH: truncated");
    if (ng < 1 || ng > 64)
        return model_err("GRPH: %u graphs (1..64)", ng);
    m->graphs = calloc(ng, sizeof(*m->graphs));
    if (!m->graphs)
        return lvc_error(LVC_ENOMEM, "out of memory");
    m->n_graphs = (int)ng;
    for (uint32_t i = 0; i < ng; i++) {
        LvcGraph *g = &m->graphs[i];
        g->record_offset = (size_t)(r.p - m->file);
        int ret = parse_graph(m, &r, g, (int)i);
        if (ret < 0)
            return ret;
        g->record_size = (size_t)(r.p - m->file) - g->record_offset;
    }
    if (lvc_reader_left(&r))
        return model_err("GRPH: %zu unused bytes at the end", lvc_reader_left(&r));
    return validate_interface(m);
}

/* ---- the model id (FORMAT.md §3.8) and parameter counts --------------------------------------- */

static int compute_id(LvcModel *m, const Section *entr)
{
    uint32_t *canon = malloc((size_t)m->n_tensors * sizeof(uint32_t));
    uint32_t *order = malloc((size_t)m->n_tensors * sizeof(uint32_t));
    uint8_t *used = calloc((size_t)m->n_tensors, 1);
    if (!canon || !order || !used) {
        free(canon);
        free(order);
        free(used);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    memset(canon, 0xff, (size_t)m->n_tensors * sizeof(uint32_t));
    uint32_t n_canon = 0;
    LvcSha256 s;
    lvc_sha256_init(&s);
    uint8_t head[20];
    memcpy(head, "lvc-model-id-v1", 16); /* 15 characters and the terminating zero */
    lvc_wr16(head + 16, (uint16_t)m->opset_version);
    head[18] = (uint8_t)m->profile;
    head[19] = (uint8_t)m->qp_count;
    lvc_sha256_update(&s, head, sizeof(head));
    for (int gi = 0; gi < m->n_graphs; gi++) {
        LvcGraph *g = &m->graphs[gi];
        for (int k = 0; k < g->n_nodes; k++) {
            const LvcNode *nd = &g->nodes[k];
            uint32_t t[2] = {nd->weight_index, nd->bias_index};
            for (int j = 0; j < 2; j++) {
                if (t[j] == LVC_NO_TENSOR)
                    continue;
                if (!used[t[j]])
                    g->n_parameters += m->tensors[t[j]].count;
                used[t[j]] = 1;
            }
        }
        memset(used, 0, (size_t)m->n_tensors); /* per-graph counts; the model's below */
        if (g->flags & LVC_GRAPH_ENCODER_ONLY)
            continue;
        size_t pos = g->record_offset;
        for (int k = 0; k < g->n_nodes; k++) {
            const LvcNode *nd = &g->nodes[k];
            lvc_sha256_update(&s, m->file + pos, nd->record_pos + 16 - pos);
            uint32_t t[2] = {nd->weight_index, nd->bias_index};
            uint8_t patched[8];
            for (int j = 0; j < 2; j++) {
                uint32_t c = LVC_NO_TENSOR;
                if (t[j] != LVC_NO_TENSOR) {
                    if (canon[t[j]] == LVC_NO_TENSOR) {
                        canon[t[j]] = n_canon;
                        order[n_canon++] = t[j];
                    }
                    c = canon[t[j]];
                }
                lvc_wr32(patched + 4 * j, c);
            }
            lvc_sha256_update(&s, patched, 8);
            pos = nd->record_pos + 24;
        }
        lvc_sha256_update(&s, m->file + pos, g->record_offset + g->record_size - pos);
    }
    uint8_t b[16];
    lvc_wr32(b, n_canon);
    lvc_sha256_update(&s, b, 4);
    for (uint32_t i = 0; i < n_canon; i++) {
        const LvcModelTensor *t = &m->tensors[order[i]];
        b[0] = (uint8_t)t->dtype;
        b[1] = (uint8_t)t->ndim;
        lvc_sha256_update(&s, b, 2);
        for (int d = 0; d < t->ndim; d++) {
            lvc_wr32(b, t->dims[d]);
            lvc_sha256_update(&s, b, 4);
        }
        lvc_wr32(b, t->n_exp);
        lvc_sha256_update(&s, b, 4);
        lvc_sha256_update(&s, t->exps, t->n_exp);
        lvc_sha256_update(&s, t->data, (size_t)t->size);
    }
    lvc_sha256_update(&s, m->file + entr->offset, (size_t)entr->size);
    uint8_t digest[LVC_SHA256_SIZE];
    lvc_sha256_final(&s, digest);
    memcpy(m->id, digest, LVC_MODEL_ID_SIZE);
    lvc_model_id_hex(m->id, m->id_hex);

    /* Parameters of the whole model: every tensor referenced by any graph, once. */
    for (int gi = 0; gi < m->n_graphs; gi++)
        for (int k = 0; k < m->graphs[gi].n_nodes; k++) {
            const LvcNode *nd = &m->graphs[gi].nodes[k];
            uint32_t t[2] = {nd->weight_index, nd->bias_index};
            for (int j = 0; j < 2; j++)
                if (t[j] != LVC_NO_TENSOR && !used[t[j]]) {
                    used[t[j]] = 1;
                    m->n_parameters += m->tensors[t[j]].count;
                }
        }
    free(canon);
    free(order);
    free(used);
    return 0;
}

void lvc_model_id_hex(const uint8_t id[LVC_MODEL_ID_SIZE], char out[2 * LVC_MODEL_ID_SIZE + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < LVC_MODEL_ID_SIZE; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[2 * LVC_MODEL_ID_SIZE] = 0;
}

/* ---- loading ---------------------------------------------------------------------------------- */

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Parse and validate file (a 64-byte aligned allocation of size bytes, owned from here on). */
static int load_owned(uint8_t *file, size_t size, LvcModel **out)
{
    if (!host_is_little_endian()) {
        free(file);
        return lvc_error(LVC_EUNSUPPORTED, "models need a little-endian host");
    }
    LvcModel *m = calloc(1, sizeof(*m));
    if (!m) {
        free(file);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    m->file = file;
    m->file_size = size;
    Section sec[SEC_COUNT];
    memset(sec, 0, sizeof(sec));
    int ret = parse_header(m, sec);
    if (ret >= 0) {
        m->data = file + sec[SEC_DATA].offset;
        m->data_size = sec[SEC_DATA].size;
        ret = parse_meta(m, file + sec[SEC_META].offset, (size_t)sec[SEC_META].size);
    }
    if (ret >= 0)
        ret = parse_tensors(m, file + sec[SEC_TENS].offset, (size_t)sec[SEC_TENS].size);
    if (ret >= 0)
        ret = parse_entropy(m, file + sec[SEC_ENTR].offset, (size_t)sec[SEC_ENTR].size);
    if (ret >= 0)
        ret = parse_graphs(m, file + sec[SEC_GRPH].offset, (size_t)sec[SEC_GRPH].size);
    if (ret >= 0)
        ret = compute_id(m, &sec[SEC_ENTR]);
    if (ret < 0) {
        free_model(m);
        return ret;
    }
    atomic_init(&m->refs, 1);
    *out = m;
    return 0;
}

static uint8_t *alloc_file(size_t size)
{
    if (size > SIZE_MAX - 64)
        return NULL;
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

int lvc_model_load_memory(const void *data, size_t size, LvcModel **out)
{
    lvc_error_clear();
    if (!out || (!data && size))
        return lvc_error(LVC_EINVAL, "invalid argument");
    *out = NULL;
    uint8_t *file = alloc_file(size);
    if (!file)
        return lvc_error(LVC_ENOMEM, "cannot allocate %zu bytes for the model", size);
    if (size)
        memcpy(file, data, size);
    return load_owned(file, size, out);
}

int lvc_model_load(const char *path, LvcModel **out)
{
    lvc_error_clear();
    if (!out || !path)
        return lvc_error(LVC_EINVAL, "invalid argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lvc_error(LVC_EIO, "cannot open model file %s", path);
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return lvc_error(LVC_EIO, "cannot determine the size of %s", path);
    }
    uint8_t *file = alloc_file((size_t)n);
    if (!file) {
        fclose(f);
        return lvc_error(LVC_ENOMEM, "cannot allocate %ld bytes for %s", n, path);
    }
    size_t got = n ? fread(file, 1, (size_t)n, f) : 0;
    fclose(f);
    if (got != (size_t)n) {
        free(file);
        return lvc_error(LVC_EIO, "cannot read %s", path);
    }
    int ret = load_owned(file, (size_t)n, out);
    if (ret < 0 && ret != LVC_ENOMEM) {
        char msg[400];
        snprintf(msg, sizeof(msg), "%s", lvc_last_error());
        return lvc_error(ret, "%s: %s", path, msg);
    }
    return ret;
}

/* Append "dir" to the searched list and try <dir>/<hex>.lvcm; returns 1 when found (result in
 * *ret), 0 when absent. */
static int try_dir(const char *dir, size_t dlen, const char *hex, char *searched, size_t cap,
                   LvcModel **out, int *ret)
{
    if (!dlen)
        return 0;
    size_t used = strlen(searched);
    if (used + dlen + 3 < cap)
        snprintf(searched + used, cap - used, "%s%.*s", used ? ", " : "", (int)dlen, dir);
    char path[4096];
    if (dlen + 40 > sizeof(path))
        return 0;
    snprintf(path, sizeof(path), "%.*s/%s.lvcm", (int)dlen, dir, hex);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    *ret = lvc_model_load(path, out);
    return 1;
}

int lvc_model_find(const uint8_t id[LVC_MODEL_ID_SIZE], LvcModel **out)
{
    lvc_error_clear();
    if (!id || !out)
        return lvc_error(LVC_EINVAL, "invalid argument");
    *out = NULL;
    char hex[2 * LVC_MODEL_ID_SIZE + 1];
    lvc_model_id_hex(id, hex);
    char searched[1024] = "";
    int ret = 0, found = 0;
    const char *env = getenv("LVC_MODEL_PATH");
    if (env) {
        const char *p = env;
        while (!found) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            found = try_dir(p, len, hex, searched, sizeof(searched), out, &ret);
            if (!colon)
                break;
            p = colon + 1;
        }
    }
    if (!found)
        found = try_dir(LVC_MODEL_DIR, strlen(LVC_MODEL_DIR), hex, searched, sizeof(searched),
                        out, &ret);
    if (!found)
        return lvc_error(LVC_ENOMODEL, "model %s is not installed (searched %s)", hex, searched);
    if (ret < 0)
        return ret;
    if (memcmp((*out)->id, id, LVC_MODEL_ID_SIZE) != 0) {
        char got[2 * LVC_MODEL_ID_SIZE + 1];
        memcpy(got, (*out)->id_hex, sizeof(got));
        lvc_model_unref(*out);
        *out = NULL;
        return lvc_error(LVC_EMODEL, "the file installed as model %s has id %s", hex, got);
    }
    return 0;
}

LvcModel *lvc_model_ref(LvcModel *model)
{
    if (model)
        atomic_fetch_add_explicit(&model->refs, 1, memory_order_relaxed);
    return model;
}

void lvc_model_unref(LvcModel *model)
{
    if (model && atomic_fetch_sub_explicit(&model->refs, 1, memory_order_acq_rel) == 1)
        free_model(model);
}

void lvc_model_get_info(const LvcModel *m, LvcModelInfo *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof(*info));
    if (!m)
        return;
    memcpy(info->id, m->id, LVC_MODEL_ID_SIZE);
    memcpy(info->id_hex, m->id_hex, sizeof(info->id_hex));
    info->name = m->name;
    info->format_version = m->format_version;
    info->opset_version = m->opset_version;
    info->profile = m->profile;
    info->n_graphs = m->n_graphs;
    info->n_tensors = m->n_tensors;
    info->n_parameters = m->n_parameters;
    info->has_inter = m->has_inter;
}

const LvcGraph *lvc_model_graph(const LvcModel *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (int i = 0; i < m->n_graphs; i++)
        if (strcmp(m->graphs[i].name, name) == 0)
            return &m->graphs[i];
    return NULL;
}

/* ---- describe --------------------------------------------------------------------------------- */

typedef struct StrBuf {
    char *s;
    size_t len, cap;
    int oom;
} StrBuf;

static void sb_printf(StrBuf *b, const char *fmt, ...) LVC_PRINTF(2, 3);
static void sb_printf(StrBuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void sb_port(StrBuf *b, const LvcGraphPort *p)
{
    sb_printf(b, " %s(%d ch, level %d, exp %d)", p->name, p->v.channels, p->v.level, p->v.exp);
}

char *lvc_model_describe(const LvcModel *m)
{
    if (!m)
        return NULL;
    StrBuf b = {NULL, 0, 0, 0};
    sb_printf(&b, "model       %s\n", m->name);
    sb_printf(&b, "id          %s\n", m->id_hex);
    sb_printf(&b, "format      %d, op-set %d, profile %s, %d qps\n", m->format_version,
              m->opset_version, m->profile == 1 ? "lvc-s" : "?", m->qp_count);
    sb_printf(&b, "frames      %s\n", m->has_inter ? "I and P (intra + inter)" : "I only (intra)");
    sb_printf(&b, "exponents   fm %d, f %d", m->fm, m->ff);
    if (m->has_inter)
        sb_printf(&b, ", c %d", m->fc);
    sb_printf(&b, "\nparameters  %llu in %d tensors (%llu bytes of data)\n",
              (unsigned long long)m->n_parameters, m->n_tensors,
              (unsigned long long)m->data_size);
    double dec_macs[2] = {0, 0};
    for (int i = 0; i < m->n_graphs; i++) {
        const LvcGraph *g = &m->graphs[i];
        sb_printf(&b, "graph %s%s: %d nodes, %llu parameters, %.0f MAC per level-0 position "
                  "(%.1f per luma pixel)\n", g->name,
                  (g->flags & LVC_GRAPH_ENCODER_ONLY) ? " (encoder only)" : "", g->n_nodes,
                  (unsigned long long)g->n_parameters, g->macs, g->macs / 64.0);
        sb_printf(&b, "  in: ");
        for (int k = 0; k < g->n_inputs; k++)
            sb_port(&b, &g->inputs[k]);
        sb_printf(&b, "\n  out:");
        for (int k = 0; k < g->n_outputs; k++)
            sb_port(&b, &g->outputs[k]);
        sb_printf(&b, "\n");
        if (!(g->flags & LVC_GRAPH_ENCODER_ONLY) && g->role != LVC_G_INTER_REFRESH)
            dec_macs[g->role >= LVC_G_FIRST_INTER] += g->macs;
    }
    sb_printf(&b, "decode      %.0f MAC per luma pixel for I-frames", dec_macs[0] / 64.0);
    if (m->has_inter)
        sb_printf(&b, ", %.0f for P-frames", dec_macs[1] / 64.0);
    sb_printf(&b, "\nentropy     y: %d scale bins, skip_bins %d, R %d; z: %d buckets x %d "
              "channels, Rz %d", m->ent.nb, m->ent.skip_bins, m->ent.R, m->ent.zt[0].n_buckets,
              m->ent.zt[0].channels, m->ent.zt[0].Rz);
    if (m->ent.n_zsets > 1)
        sb_printf(&b, "; P-frame z: %d buckets x %d channels, Rz %d", m->ent.zt[1].n_buckets,
                  m->ent.zt[1].channels, m->ent.zt[1].Rz);
    else if (m->has_inter)
        sb_printf(&b, "; P-frames code z with the I-frame tables");
    sb_printf(&b, "\n");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
