/* The .lvcm loader, writer and model id (codec/FORMAT.md §3). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "model.h"
#include "model_write.h"
#include "sha256.h"

static LvcModelWriter *build(int inter, uint32_t seed, int small)
{
    LvcTestModelOptions o = {.with_inter = inter, .seed = seed, .small = small};
    LvcModelWriter *w = NULL;
    int ret = lvc_mw_build_test_model(&o, &w);
    CHECK(ret == 0, "build test model: %s", lvc_last_error());
    return w;
}

/* Serialise and load; returns the load result, *m the model (or NULL). */
static int load_w(const LvcModelWriter *w, LvcModel **m)
{
    uint8_t *b;
    size_t n;
    *m = NULL;
    int ret = lvc_mw_serialize(w, &b, &n);
    CHECK(ret == 0, "serialize");
    if (ret < 0)
        return ret;
    ret = lvc_model_load_memory(b, n, m);
    free(b);
    return ret;
}

/* The id of a writer's model, or all zero when it does not load. */
static void id_of(const LvcModelWriter *w, uint8_t id[16])
{
    LvcModel *m;
    memset(id, 0, 16);
    int ret = load_w(w, &m);
    CHECK(ret == 0, "load: %s", lvc_last_error());
    if (m)
        memcpy(id, m->id, 16);
    lvc_model_unref(m);
}

/* Expect the writer's model to be rejected with LVC_EMODEL and a message containing want. */
static void expect_reject_w(const LvcModelWriter *w, const char *want, const char *what)
{
    LvcModel *m;
    int ret = load_w(w, &m);
    CHECK(ret == LVC_EMODEL && !m, "%s: expected LVC_EMODEL, got %d", what, ret);
    CHECK(strstr(lvc_last_error(), want) != NULL, "%s: message '%s' lacks '%s'", what,
          lvc_last_error(), want);
    lvc_model_unref(m);
}

static void expect_reject_bytes(const uint8_t *b, size_t n, const char *want, const char *what)
{
    LvcModel *m;
    int ret = lvc_model_load_memory(b, n, &m);
    CHECK(ret == LVC_EMODEL && !m, "%s: expected LVC_EMODEL, got %d", what, ret);
    CHECK(strstr(lvc_last_error(), want) != NULL, "%s: message '%s' lacks '%s'", what,
          lvc_last_error(), want);
    lvc_model_unref(m);
}

static LvcMwNode *wnode(LvcModelWriter *w, const char *graph, int k)
{
    LvcMwGraph *g = lvc_mw_graph(w, graph);
    return g && k < g->n_nodes ? &g->nodes[k] : NULL;
}

/* ---- round trips ------------------------------------------------------------------------------ */

static void check_model(LvcModel *m, const LvcModelWriter *w, int inter)
{
    LvcModelInfo info;
    lvc_model_get_info(m, &info);
    CHECK(info.n_graphs == (inter ? 17 : 7), "graphs %d", info.n_graphs);
    CHECK(info.has_inter == inter, "has_inter");
    CHECK(info.n_tensors == w->n_tensors, "tensors %d", info.n_tensors);
    CHECK(info.format_version == 1 && info.opset_version == 1 && info.profile == 1, "versions");
    CHECK(strncmp(info.name, "test-", 5) == 0, "name %s", info.name);
    CHECK(strlen(info.id_hex) == 32, "id hex");
    uint64_t params = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        const LvcMwTensor *t = &w->tensors[i];
        uint64_t c = 1;
        for (int d = 0; d < t->ndim; d++)
            c *= t->dims[d];
        params += c;
    }
    CHECK(info.n_parameters == params, "parameters %llu, expected %llu",
          (unsigned long long)info.n_parameters, (unsigned long long)params);
    for (int r = 0; r < LVC_G_COUNT; r++) {
        const LvcGraph *g = lvc_model_graph(m, lvc_model_graph_role_name(r));
        int want = r < LVC_G_FIRST_INTER || inter;
        CHECK((g != NULL) == want, "graph %s", lvc_model_graph_role_name(r));
        CHECK(m->role[r] == g, "role %d", r);
    }
    CHECK(lvc_model_graph(m, "intra.nothing") == NULL, "unknown graph found");
    const LvcGraph *syn = m->role[LVC_G_INTRA_SYNTHESIS];
    CHECK(syn->outputs[0].v.channels == 128 && syn->outputs[0].v.level == 0 &&
          syn->outputs[0].v.exp == 8, "f");
    CHECK(m->fm == 4 && m->ff == 8, "fm %d ff %d", m->fm, m->ff);
    CHECK(m->ent.nb >= 2 && m->ent.y && m->ent.zt[0].cdf && m->ent.zt[0].channels == 64 &&
              m->ent.n_zsets == 1, "entropy");
    CHECK(m->ent.thresholds[0] < m->ent.thresholds[m->ent.nb - 2], "thresholds");
    /* Derived node data: conv shifts and weight pointers, 64-byte aligned. */
    const LvcNode *n0 = &syn->nodes[0];
    CHECK(n0->op == LVC_OP_CONV && n0->weights && n0->shift, "conv node");
    CHECK(((uintptr_t)n0->weights & 63) == 0, "weights aligned");
    for (int co = 0; co < n0->out_channels; co++)
        CHECK(n0->shift[co] == 4 + n0->weight_exps[co] - n0->fo, "shift %d", co);
    CHECK(n0->out.level == -1 && n0->out.channels == 512, "conv out");
    CHECK(syn->nodes[1].out.level == 0 && syn->nodes[1].out.channels == 128, "shuffle out");
    char *d = lvc_model_describe(m);
    CHECK(d && strstr(d, info.id_hex) && strstr(d, info.name) && strstr(d, "intra.synthesis"),
          "describe");
    free(d);
}

static void roundtrip(int inter, int small)
{
    LvcModelWriter *w = build(inter, 7, small);
    if (!w)
        return;
    LvcModel *m;
    int ret = load_w(w, &m);
    CHECK(ret == 0, "load (inter %d small %d): %s", inter, small, lvc_last_error());
    if (m)
        check_model(m, w, inter);
    /* Same seed, same bytes; another seed, another id. */
    LvcModelWriter *w2 = build(inter, 7, small), *w3 = build(inter, 8, small);
    uint8_t *a, *b;
    size_t na, nb;
    lvc_mw_serialize(w, &a, &na);
    lvc_mw_serialize(w2, &b, &nb);
    CHECK(na == nb && memcmp(a, b, na) == 0, "deterministic");
    free(a);
    free(b);
    uint8_t id3[16];
    id_of(w3, id3);
    CHECK(m && memcmp(id3, m->id, 16) != 0, "seeds give different ids");
    lvc_model_unref(m);
    lvc_mw_free(w);
    lvc_mw_free(w2);
    lvc_mw_free(w3);
}

static void test_roundtrip_intra(void) { roundtrip(0, 0); }
static void test_roundtrip_inter(void) { roundtrip(1, 0); }
static void test_roundtrip_small(void)
{
    roundtrip(0, 1);
    roundtrip(1, 1);
}

static void test_random_test_model_helper(void)
{
    uint8_t *b;
    size_t n;
    int ret = lvc_model_write_random_test_model(1, 3, &b, &n);
    CHECK(ret == 0, "helper");
    if (ret < 0)
        return;
    LvcModel *m;
    ret = lvc_model_load_memory(b, n, &m);
    CHECK(ret == 0, "load: %s", lvc_last_error());
    /* The same through a file. */
    char path[] = "/tmp/lvc-test-model-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        CHECK(write(fd, b, n) == (ssize_t)n, "write");
        close(fd);
        LvcModel *m2;
        ret = lvc_model_load(path, &m2);
        CHECK(ret == 0, "load file: %s", lvc_last_error());
        CHECK(m && m2 && memcmp(m->id, m2->id, 16) == 0, "same id from file");
        lvc_model_unref(m2);
        unlink(path);
    }
    LvcModel *none;
    ret = lvc_model_load("/nonexistent/dir/x.lvcm", &none);
    CHECK(ret == LVC_EIO && !none, "missing file: %d", ret);
    lvc_model_unref(m);
    free(b);
}

/* ---- the model id ----------------------------------------------------------------------------- */

/* The writer index of the weight tensor of node k of a graph. */
static uint32_t weight_of(LvcModelWriter *w, const char *graph, int k)
{
    LvcMwNode *n = wnode(w, graph, k);
    return n ? n->tensor : 0;
}

static void test_id_invariance(void)
{
    LvcModelWriter *w = build(1, 11, 0);
    if (!w)
        return;
    uint8_t ref[16], id[16];
    id_of(w, ref);

    /* Renaming tensors. */
    for (int i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        char name[32];
        snprintf(name, sizeof(name), "renamed%d", i);
        w->tensors[i].name = malloc(strlen(name) + 1);
        strcpy(w->tensors[i].name, name);
    }
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) == 0, "renaming tensors changed the id");

    /* Other metadata. */
    lvc_mw_set_meta(w, "name=another name\ndescription=other\ncreated=2026-01-01\n");
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) == 0, "META changed the id");

    /* Reordering tensors in the file (reversed, references remapped). */
    uint32_t *perm = malloc((size_t)w->n_tensors * sizeof(uint32_t));
    for (int i = 0; i < w->n_tensors; i++)
        perm[i] = (uint32_t)(w->n_tensors - 1 - i);
    lvc_mw_permute_tensors(w, perm);
    free(perm);
    CHECK(strcmp(w->tensors[0].name, "renamed0") != 0, "permutation applied");
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) == 0, "reordering tensors changed the id");

    /* Encoder-only graphs: their weights, exponents and structure. */
    uint32_t t = weight_of(w, "intra.analysis", 0);
    w->tensors[t].data[5] ^= 0x11;
    w->tensors[t].exps[0]++;
    t = weight_of(w, "inter.hyper_analysis", 1);
    w->tensors[t].data[0] ^= 1;
    wnode(w, "intra.hyper_analysis", 0)->arg = 8; /* PAD multiple */
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) == 0, "an encoder-only graph changed the id");

    /* Any weight byte of a decoder graph changes it: probe bytes across decoder tensors. */
    static const char *dec[] = {"intra.hyper_synthesis", "intra.synthesis", "intra.recon_head",
                                "inter.context", "inter.temporal_prior", "inter.refresh"};
    for (int i = 0; i < 6; i++) {
        t = weight_of(w, dec[i], i == 4 ? 1 : 0);
        size_t sz = w->tensors[t].size;
        size_t pos[3] = {0, sz / 2 + (size_t)i, sz - 1};
        for (int j = 0; j < 3; j++) {
            w->tensors[t].data[pos[j]] ^= 0x40;
            id_of(w, id);
            CHECK(memcmp(id, ref, 16) != 0, "weight byte %zu of %s unchanged id", pos[j], dec[i]);
            w->tensors[t].data[pos[j]] ^= 0x40;
        }
    }
    /* A bias byte. */
    LvcMwNode *n = wnode(w, "intra.synthesis", 0);
    w->tensors[n->bias].data[3] ^= 1;
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) != 0, "bias byte unchanged id");
    w->tensors[n->bias].data[3] ^= 1;
    /* A weight exponent (the shift stays in range). */
    w->tensors[n->tensor].exps[3]++;
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) != 0, "exponent unchanged id");
    w->tensors[n->tensor].exps[3]--;
    /* A node field of a decoder graph. */
    wnode(w, "intra.hyper_synthesis", 5)->arg = -1; /* unchanged value: same id */
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) == 0, "restored state differs");
    /* A table frequency: move one unit between the first two entries of y table 0. */
    uint8_t *e = w->entr;
    int nb = lvc_rd16(e);
    size_t f0 = 6 + 4 * (size_t)(nb - 1) + 2;
    uint16_t a0 = lvc_rd16(e + f0), a1 = lvc_rd16(e + f0 + 2);
    CHECK(a1 > 1, "frequency");
    lvc_wr16(e + f0, (uint16_t)(a0 + 1));
    lvc_wr16(e + f0 + 2, (uint16_t)(a1 - 1));
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) != 0, "table frequency unchanged id");
    lvc_wr16(e + f0, a0);
    lvc_wr16(e + f0 + 2, a1);
    id_of(w, id);
    CHECK(memcmp(id, ref, 16) == 0, "restored state differs");
    lvc_mw_free(w);
}

/* The id computed independently from the writer's structures, per FORMAT.md §3.8. */
static void test_id_reference(void)
{
    LvcModelWriter *w = build(1, 5, 1);
    if (!w)
        return;
    uint8_t *b;
    size_t n;
    lvc_mw_serialize(w, &b, &n);
    LvcModel *m;
    int ret = lvc_model_load_memory(b, n, &m);
    CHECK(ret == 0, "load");
    /* Locate the GRPH and ENTR sections through the directory. */
    size_t grph = 0, entr = 0, entr_size = 0;
    for (int s = 0; s < 5; s++) {
        const uint8_t *d = b + 64 + 24 * s;
        if (!memcmp(d, "GRPH", 4))
            grph = (size_t)lvc_rd64(d + 8);
        if (!memcmp(d, "ENTR", 4)) {
            entr = (size_t)lvc_rd64(d + 8);
            entr_size = (size_t)lvc_rd64(d + 16);
        }
    }
    LvcSha256 s;
    lvc_sha256_init(&s);
    lvc_sha256_update(&s, "lvc-model-id-v1\0\x01\x00\x01\x40", 20);
    uint32_t *canon = malloc((size_t)w->n_tensors * 4), nc = 0;
    uint32_t *order = malloc((size_t)w->n_tensors * 4);
    memset(canon, 0xff, (size_t)w->n_tensors * 4);
    /* Walk the file's graph records, patching tensor indices. */
    size_t p = grph + 4;
    for (int gi = 0; gi < w->n_graphs; gi++) {
        const LvcMwGraph *g = &w->graphs[gi];
        size_t start = p;
        p += 1 + strlen(g->name) + 2;
        for (int i = 0; i < g->n_inputs; i++)
            p += 1 + strlen(g->inputs[i].name) + 4;
        p += 2;
        size_t node0 = p;
        uint8_t *rec = malloc(65536);
        for (int k = 0; k < g->n_nodes; k++)
            p += 24 + ((2 * (size_t)g->nodes[k].n_in + 3) & ~(size_t)3);
        p += 1;
        for (int i = 0; i < g->n_outputs; i++)
            p += 1 + strlen(g->outputs[i].name) + 2;
        memcpy(rec, b + start, p - start);
        if (!(g->flags & 1)) {
            size_t q = node0 - start;
            for (int k = 0; k < g->n_nodes; k++) {
                for (int j = 0; j < 2; j++) {
                    uint32_t t = lvc_rd32(rec + q + 16 + 4 * j);
                    if (t != 0xFFFFFFFFu) {
                        if (canon[t] == 0xFFFFFFFFu) {
                            canon[t] = nc;
                            order[nc++] = t;
                        }
                        lvc_wr32(rec + q + 16 + 4 * j, canon[t]);
                    }
                }
                q += 24 + ((2 * (size_t)g->nodes[k].n_in + 3) & ~(size_t)3);
            }
            lvc_sha256_update(&s, rec, p - start);
        }
        free(rec);
    }
    uint8_t u[4];
    lvc_wr32(u, nc);
    lvc_sha256_update(&s, u, 4);
    for (uint32_t i = 0; i < nc; i++) {
        const LvcMwTensor *t = &w->tensors[order[i]];
        uint8_t h[2] = {(uint8_t)t->dtype, (uint8_t)t->ndim};
        lvc_sha256_update(&s, h, 2);
        for (int d = 0; d < t->ndim; d++) {
            lvc_wr32(u, t->dims[d]);
            lvc_sha256_update(&s, u, 4);
        }
        lvc_wr32(u, t->n_exp);
        lvc_sha256_update(&s, u, 4);
        lvc_sha256_update(&s, t->exps, t->n_exp);
        lvc_sha256_update(&s, t->data, t->size);
    }
    lvc_sha256_update(&s, b + entr, entr_size);
    uint8_t dig[32];
    lvc_sha256_final(&s, dig);
    CHECK(m && memcmp(dig, m->id, 16) == 0, "id differs from the reference computation");
    CHECK(entr_size == w->entr_size, "entr size");
    free(canon);
    free(order);
    lvc_model_unref(m);
    free(b);
    lvc_mw_free(w);
}

/* The golden model written by the independent Python writer (models/train/lvcm.py) loads and
 * has the id recorded next to it.  Found relative to this source file (meson runs the tests from
 * the build directory, where __FILE__ is a path relative to it or absolute). */
static void test_golden_model(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof(dir), ".");
    char path[1200], idpath[1200];
    snprintf(path, sizeof(path), "%s/golden/model_random.lvcm", dir);
    snprintf(idpath, sizeof(idpath), "%s/golden/model_random.id", dir);
    FILE *f = fopen(idpath, "r");
    if (!f) {
        printf("# skipped: %s not found from this directory\n", idpath);
        return;
    }
    char want[64] = "";
    CHECK(fscanf(f, "%40s", want) == 1, "read id");
    fclose(f);
    LvcModel *m;
    int ret = lvc_model_load(path, &m);
    CHECK(ret == 0, "load %s: %s", path, lvc_last_error());
    CHECK(m && strcmp(m->id_hex, want) == 0, "id %s, expected %s", m ? m->id_hex : "-", want);
    lvc_model_unref(m);
}

/* ---- damaged files ---------------------------------------------------------------------------- */

static void test_checksum(void)
{
    LvcModelWriter *w = build(0, 2, 1);
    if (!w)
        return;
    uint8_t *b;
    size_t n;
    lvc_mw_serialize(w, &b, &n);
    b[n / 2] ^= 4;
    expect_reject_bytes(b, n, "checksum mismatch", "flipped byte");
    b[n / 2] ^= 4;
    b[n - 1] ^= 1;
    expect_reject_bytes(b, n, "checksum mismatch", "flipped footer");
    b[n - 1] ^= 1;
    LvcModel *m;
    CHECK(lvc_model_load_memory(b, n, &m) == 0, "restored");
    lvc_model_unref(m);
    free(b);
    lvc_mw_free(w);
}

static void test_truncation(void)
{
    LvcModelWriter *w = build(0, 3, 1);
    if (!w)
        return;
    uint8_t *b;
    size_t n;
    lvc_mw_serialize(w, &b, &n);
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        LvcModel *m = (LvcModel *)1;
        int ret = lvc_model_load_memory(b, k, &m);
        if (ret != LVC_EMODEL || m != NULL || !lvc_last_error()[0])
            bad++;
        if (ret == 0)
            lvc_model_unref(m);
    }
    CHECK(bad == 0, "%d of %zu prefixes not rejected", bad, n);
    /* One byte more. */
    uint8_t *b2 = malloc(n + 1);
    memcpy(b2, b, n);
    b2[n] = 0;
    expect_reject_bytes(b2, n + 1, "file size", "appended byte");
    free(b2);
    /* Truncated but with a consistent header and footer: each section cut short. */
    LvcModel *m;
    CHECK(lvc_model_load_memory(NULL, 0, &m) == LVC_EMODEL, "empty");
    free(b);
    lvc_mw_free(w);
}

/* Offset of tensor 0's `offset` field in a serialised model. */
static size_t tensor0_offset_field(const uint8_t *b)
{
    for (int s = 0; s < 5; s++) {
        const uint8_t *d = b + 64 + 24 * s;
        if (memcmp(d, "TENS", 4))
            continue;
        size_t p = (size_t)lvc_rd64(d + 8) + 4;
        p += 1 + b[p];     /* name */
        int ndim = b[p + 1];
        p += 2 + 4 * (size_t)ndim;
        uint32_t n_exp = lvc_rd32(b + p);
        return p + 4 + n_exp;
    }
    return 0;
}

static int dir_index(const uint8_t *b, const char *tag)
{
    for (int s = 0; s < 5; s++)
        if (!memcmp(b + 64 + 24 * s, tag, 4))
            return s;
    return 0;
}

static void test_file_structure(void)
{
    LvcModelWriter *w = build(0, 4, 1);
    if (!w)
        return;
    uint8_t *b, *c;
    size_t n;
    lvc_mw_serialize(w, &b, &n);
    c = malloc(n);
#define RESET() memcpy(c, b, n)
#define FIX() lvc_mw_fix_footer(c, n)
    RESET();
    c[0] = 'X';
    FIX();
    expect_reject_bytes(c, n, "bad magic", "magic");
    RESET();
    c[4] = 2;
    FIX();
    expect_reject_bytes(c, n, "format version 2", "format version");
    RESET();
    c[6] = 2;
    FIX();
    expect_reject_bytes(c, n, "op-set version 2", "op-set version");
    RESET();
    c[30] = 1;
    FIX();
    expect_reject_bytes(c, n, "reserved byte 30", "reserved");
    RESET();
    lvc_wr32(c + 12, 17);
    FIX();
    expect_reject_bytes(c, n, "17 sections", "section count");
    /* Misaligned tensor offset. */
    RESET();
    size_t of = tensor0_offset_field(c);
    lvc_wr64(c + of, lvc_rd64(c + of) + 8);
    FIX();
    expect_reject_bytes(c, n, "tensor 0", "misaligned tensor");
    CHECK(strstr(lvc_last_error(), "not a multiple of 64") != NULL, "%s", lvc_last_error());
    /* Tensor data outside DATA. */
    RESET();
    lvc_wr64(c + of, (uint64_t)1 << 40);
    FIX();
    expect_reject_bytes(c, n, "outside DATA", "tensor outside");
    /* Overlapping tensors: tensor 0 at tensor 1's offset. */
    RESET();
    lvc_wr64(c + of, 64 * 100);
    FIX();
    {
        LvcModel *m;
        CHECK(lvc_model_load_memory(c, n, &m) == LVC_EMODEL, "moved tensor");
        CHECK(strstr(lvc_last_error(), "overlap") || strstr(lvc_last_error(), "outside"),
              "%s", lvc_last_error());
    }
    /* Overlapping sections: GRPH moved onto META. */
    RESET();
    int gi = dir_index(c, "GRPH"), mi = dir_index(c, "META");
    memcpy(c + 64 + 24 * gi + 8, c + 64 + 24 * mi + 8, 8);
    FIX();
    expect_reject_bytes(c, n, "overlaps another section", "overlapping sections");
    /* Misaligned section. */
    RESET();
    lvc_wr64(c + 64 + 24 * gi + 8, lvc_rd64(c + 64 + 24 * gi + 8) + 4);
    FIX();
    expect_reject_bytes(c, n, "section GRPH: offset", "misaligned section");
    /* A section over the footer. */
    RESET();
    int di = dir_index(c, "DATA");
    lvc_wr64(c + 64 + 24 * di + 16, n);
    FIX();
    expect_reject_bytes(c, n, "runs past the end", "section past end");
    /* Unknown and duplicate tags. */
    RESET();
    memcpy(c + 64 + 24 * gi, "GRPX", 4);
    FIX();
    expect_reject_bytes(c, n, "unknown section tag 'GRPX'", "unknown tag");
    RESET();
    memcpy(c + 64 + 24 * gi, "META", 4);
    FIX();
    expect_reject_bytes(c, n, "section META appears twice", "duplicate tag");
    /* A missing section (4 sections listed). */
    RESET();
    lvc_wr32(c + 12, 4);
    FIX();
    expect_reject_bytes(c, n, "missing section DATA", "missing section");
    free(c);
    free(b);
    lvc_mw_free(w);
#undef RESET
#undef FIX
}

/* ---- invalid graphs, interface, tables -------------------------------------------------------- */

typedef struct Mutation {
    const char *graph;
    int node;
    int field;
    int value;
    const char *want;
} Mutation;

enum { F_OP, F_ACT, F_ACTK, F_OUTC, F_FO, F_KERNEL, F_KPAD, F_ARG, F_RES, F_TENSOR, F_IN0, F_IN1 };

static void apply(LvcMwNode *n, int field, int v)
{
    switch (field) {
    case F_OP: n->op = (uint8_t)v; break;
    case F_ACT: n->act = (uint8_t)v; break;
    case F_ACTK: n->act_shift = (uint8_t)v; break;
    case F_OUTC: n->out_channels = (uint16_t)v; break;
    case F_FO: n->fo = (int8_t)v; break;
    case F_KERNEL: n->kernel = (uint8_t)v; break;
    case F_KPAD: n->kernel = (uint8_t)v; n->pad = (uint8_t)(v / 2); break;
    case F_ARG: n->arg = (int16_t)v; break;
    case F_RES: n->reserved = (uint16_t)v; break;
    case F_TENSOR: n->tensor = (uint32_t)v; break;
    case F_IN0: n->in[0] = (uint16_t)v; break;
    case F_IN1: n->in[1] = (uint16_t)v; break;
    }
}

static void test_invalid_nodes(void)
{
    /* Node numbers refer to the small intra test model (model_write.c):
     * intra.synthesis: 0 conv 1x1 128->512, 1 shuffle 2, 2-4 block convs, 5 add, 6 act;
     * intra.context_step: 0 cbmask, 1 rescale, 2 concat, 3 conv 3x3, 4-5 convs;
     * intra.hyper_synthesis: 0 conv, 1 shuffle, 2 conv, 3 conv, 4 shuffle, 5 crop;
     * intra.hyper_analysis: 0 pad, 1-2 convs. */
    static const Mutation muts[] = {
        {"intra.synthesis", 0, F_FO, -20, "graph intra.synthesis node 0: shift 3"},
        {"intra.synthesis", 0, F_FO, 20, "graph intra.synthesis node 0: shift"},
        {"intra.synthesis", 1, F_IN0, 2, "forward or cyclic"},
        {"intra.synthesis", 3, F_IN0, 9, "forward or cyclic"},
        {"intra.synthesis", 0, F_KPAD, 3, "shape mismatch"},
        {"intra.synthesis", 0, F_KERNEL, 8, "kernel 8"},
        {"intra.synthesis", 0, F_OP, 13, "graph intra.synthesis node 0: unknown op 13"},
        {"intra.synthesis", 0, F_OP, 0, "unknown op 0"},
        {"intra.synthesis", 0, F_TENSOR, 99999, "weight tensor 99999 does not exist"},
        {"intra.synthesis", 1, F_ARG, 3, "factor 3"},
        {"intra.synthesis", 1, F_ACT, 1, "takes no activation"},
        {"intra.synthesis", 1, F_FO, 9, "out exponent 9, but the op keeps exponent 8"},
        {"intra.synthesis", 1, F_OUTC, 127, "out_channels 127, but the op produces 128"},
        {"intra.synthesis", 1, F_TENSOR, 0, "tensor field must be 0xFFFFFFFF"},
        {"intra.synthesis", 1, F_RES, 1, "reserved field is not 0"},
        {"intra.synthesis", 5, F_ACTK, 0, "activation shift 0"},
        {"intra.synthesis", 5, F_ACTK, 16, "activation shift 16"},
        {"intra.synthesis", 5, F_ACT, 3, "unknown activation 3"},
        {"intra.synthesis", 5, F_FO, 24, "shift -16 out of range (-15..30)"},
        {"intra.synthesis", 5, F_KERNEL, 1, "kernel/stride/padding/groups must be 0"},
        {"intra.synthesis", 5, F_IN1, 0, "ADD of different shapes"},
        {"intra.synthesis", 6, F_ACT, 0, "activation shift 4 invalid for activation 0"},
        {"intra.synthesis", 6, F_ARG, 1, "arg 1 must be 0"},
        {"intra.context_step", 0, F_ARG, 2, "parity 2"},
        {"intra.context_step", 2, F_IN1, 1, "CONCAT input 1"},
        {"intra.context_step", 0, F_OP, 7, "factor 0 (2, 4 or 8)"},
        {"intra.hyper_synthesis", 5, F_ARG, -2, "CROP to level -2"},
        {"intra.hyper_analysis", 0, F_ARG, 65, "PAD multiple 65"},
        {"intra.hyper_analysis", 0, F_ARG, 0, "PAD multiple 0"},
    };
    for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
        LvcModelWriter *w = build(0, 9, 1);
        if (!w)
            return;
        LvcMwNode *n = wnode(w, muts[i].graph, muts[i].node);
        CHECK(n != NULL, "node");
        if (n) {
            apply(n, muts[i].field, muts[i].value);
            char what[64];
            snprintf(what, sizeof(what), "mutation %zu", i);
            expect_reject_w(w, muts[i].want, what);
        }
        lvc_mw_free(w);
    }
    /* Channel bound: UNSHUFFLE by 8 of 128 channels is 8192 channels. */
    LvcModelWriter *w = build(0, 9, 1);
    LvcMwNode *n = wnode(w, "intra.context_step", 0);
    n->op = 7;
    n->arg = 8;
    n->out_channels = 8192;
    expect_reject_w(w, "8192 channels (1..4096)", "channels");
    lvc_mw_free(w);
    /* ACT without an activation. */
    w = build(0, 9, 1);
    n = wnode(w, "intra.synthesis", 6);
    n->act = 0;
    n->act_shift = 0;
    expect_reject_w(w, "graph intra.synthesis node 6: ACT with activation none", "ACT none");
    lvc_mw_free(w);
    /* Level bounds, below and above (channels x 4^level <= 4096). */
    w = build(0, 9, 1);
    lvc_mw_graph(w, "intra.hyper_synthesis")->inputs[0].level = -13;
    expect_reject_w(w, "level -13 out of range (-12..6)", "low level");
    lvc_mw_graph(w, "intra.hyper_synthesis")->inputs[0].level = 5;
    expect_reject_w(w, "64 channels at level 5 exceed 4096", "high level");
    lvc_mw_free(w);
    /* Dense model: QMUL with a conv weight as its table, and a bias of the wrong shape. */
    w = build(0, 9, 0);
    LvcMwGraph *g = lvc_mw_graph(w, "intra.analysis");
    int q = -1;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == 5)
            q = k;
    CHECK(q >= 0, "qmul present");
    if (q >= 0) {
        uint32_t tab = g->nodes[q].tensor;
        g->nodes[q].tensor = g->nodes[0].tensor;
        expect_reject_w(w, "q table tensor", "qmul table");
        g->nodes[q].tensor = tab;
        w->tensors[tab].exps[0] = 31;
        expect_reject_w(w, "shift 31 out of range (1..30)", "qmul shift");
        CHECK(strstr(lvc_last_error(), "graph intra.analysis node") != NULL, "where");
        w->tensors[tab].exps[0] = 12;
    }
    uint32_t bias = g->nodes[0].bias;
    g->nodes[0].bias = g->nodes[0].tensor;
    expect_reject_w(w, "bias tensor", "weights as bias");
    g->nodes[0].bias = bias;
    g->nodes[0].tensor = bias;
    expect_reject_w(w, "must be int8 or int16", "bias as weights");
    lvc_mw_free(w);
}

static void test_invalid_interface(void)
{
    LvcModelWriter *w = build(0, 10, 1);
    CHECK(lvc_mw_remove_graph(w, "intra.context_step") == 0, "remove");
    expect_reject_w(w, "missing graph intra.context_step", "missing graph");
    lvc_mw_free(w);

    w = build(1, 10, 1);
    lvc_mw_remove_graph(w, "inter.refresh");
    expect_reject_w(w, "missing graph inter.refresh (the inter graphs are all or none)",
                    "partial inter");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    strcpy(lvc_mw_graph(w, "intra.recon_head")->name, "intra.foo");
    expect_reject_w(w, "unknown graph name 'intra.foo'", "unknown graph");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    strcpy(lvc_mw_graph(w, "intra.recon_head")->name, "intra.synthesis");
    expect_reject_w(w, "graph intra.synthesis appears twice", "duplicate graph");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.analysis")->flags = 0;
    expect_reject_w(w, "graph intra.analysis: the encoder-only flag must be 1", "enc flag");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.synthesis")->flags = 1;
    expect_reject_w(w, "encoder-only flag must be 0", "enc flag on decoder graph");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.synthesis")->flags = 2;
    expect_reject_w(w, "unknown flags", "unknown flags");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    strcpy(lvc_mw_graph(w, "intra.recon_head")->outputs[0].name, "rgb");
    expect_reject_w(w, "graph intra.recon_head: output 'rgb' where the interface has 'r'",
                    "output name");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.hyper_synthesis")->inputs[0].exp = 1;
    expect_reject_w(w, "input zhat has exponent 1, the interface needs 0", "zhat exponent");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.analysis")->inputs[0].exp = 6;
    expect_reject_w(w, "input x has exponent 6, the interface needs 7", "x exponent");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.recon_head")->inputs[0].exp = 9;
    expect_reject_w(w, "does not match output f of graph intra.synthesis", "f exponent");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    wnode(w, "intra.context_step", 4)->fo = 5; /* mu */
    expect_reject_w(w, "graph intra.context_step: output mu has exponent 5, the model's mu "
                    "exponent fm is 4", "fm");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.synthesis")->inputs[0].exp = 5;
    expect_reject_w(w, "input yhat has exponent 5", "yhat exponent");
    lvc_mw_free(w);

    w = build(1, 10, 1);
    wnode(w, "inter.refresh", 1)->fo = 9;
    expect_reject_w(w, "graph inter.refresh: output f has exponent 9", "refresh f");
    lvc_mw_free(w);

    w = build(1, 10, 1);
    lvc_mw_graph(w, "inter.temporal_prior")->inputs[0].exp = 7;
    wnode(w, "inter.temporal_prior", 0)->fo = 7; /* the unshuffle keeps it */
    expect_reject_w(w, "input c (128 channels, level 0, exponent 7) does not match output c",
                    "c exponent");
    lvc_mw_free(w);

    w = build(1, 10, 1);
    lvc_mw_graph(w, "inter.analysis")->inputs[1].exp = 7;
    wnode(w, "inter.analysis", 0)->fo = 7; /* rescale of x */
    wnode(w, "inter.analysis", 1)->fo = 7; /* concat */
    expect_reject_w(w, "graph inter.analysis: input c", "c exponent (encoder)");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.synthesis")->n_outputs = 2;
    lvc_mw_graph(w, "intra.synthesis")->outputs[1] = lvc_mw_graph(w, "intra.synthesis")->outputs[0];
    expect_reject_w(w, "graph intra.synthesis: 2 outputs, the interface has 1", "output count");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.synthesis")->outputs[0].value = 200;
    expect_reject_w(w, "refers to value 200", "output value");
    lvc_mw_free(w);

    w = build(0, 10, 1);
    lvc_mw_graph(w, "intra.hyper_analysis")->inputs[0].channels = 5000;
    expect_reject_w(w, "5000 channels", "input channels");
    lvc_mw_free(w);
}

static void test_invalid_entropy_meta(void)
{
    LvcModelWriter *w = build(0, 12, 1);
    uint8_t *e = w->entr;
    int nb = lvc_rd16(e);
    size_t f0 = 6 + 4 * (size_t)(nb - 1) + 2;
    uint16_t a0 = lvc_rd16(e + f0);
    lvc_wr16(e + f0, (uint16_t)(a0 + 1));
    expect_reject_w(w, "ENTR: y table 0", "frequency sum");
    lvc_wr16(e + f0, a0);

    lvc_wr16(e + 4, 4096); /* R: 4096 * 2^4 > 32767 */
    expect_reject_w(w, "R * 2^fm exceeds 32767", "R bound");
    lvc_wr16(e + 4, 0);
    expect_reject_w(w, "R = 0", "R zero");
    lvc_wr16(e + 4, 256);

    int32_t t0 = (int32_t)lvc_rd32(e + 6);
    lvc_wr32(e + 6, (uint32_t)lvc_rd32(e + 10));
    expect_reject_w(w, "threshold 1", "thresholds");
    lvc_wr32(e + 6, (uint32_t)t0);

    lvc_wr16(e + 2, (uint16_t)(nb + 1));
    expect_reject_w(w, "skip_bins", "skip_bins");
    lvc_wr16(e + 2, 1);

    lvc_wr16(e + f0 - 2, 0);
    expect_reject_w(w, "bound 0", "bound");
    lvc_wr16(e + f0 - 2, 2);

    /* Trailing byte and a truncated section. */
    uint8_t *copy = malloc(w->entr_size + 1);
    memcpy(copy, w->entr, w->entr_size);
    copy[w->entr_size] = 0;
    size_t sz = w->entr_size;
    lvc_mw_set_entropy_raw(w, copy, sz + 1);
    expect_reject_w(w, "ENTR: P-frame z header truncated", "trailing");
    /* A second (P-frame) z set: allowed only in a model with inter graphs. */
    size_t zoff = 6 + 4 * (size_t)(nb - 1);
    for (int i = 0; i < nb; i++)
        zoff += 2 + 2 * (2 * (size_t)lvc_rd16(copy + zoff) + 2);
    uint8_t *two = malloc(2 * sz - zoff + 1); /* + 1: the trailing-byte case below */
    memcpy(two, copy, sz);
    memcpy(two + sz, copy + zoff, sz - zoff);
    two[2 * sz - zoff] = 0;
    lvc_mw_set_entropy_raw(w, two, 2 * sz - zoff);
    expect_reject_w(w, "P-frame z tables in an intra-only model", "P set in an intra model");
    lvc_mw_set_entropy_raw(w, two, 2 * sz - zoff + 1);
    expect_reject_w(w, "ENTR: 1 unused bytes", "trailing after the P set");
    free(two);
    lvc_mw_set_entropy_raw(w, copy, sz - 1);
    expect_reject_w(w, "truncated", "truncated ENTR");
    lvc_mw_set_entropy_raw(w, copy, sz);
    free(copy);
    LvcModel *m;
    CHECK(load_w(w, &m) == 0, "restored: %s", lvc_last_error());
    lvc_model_unref(m);

    lvc_mw_set_meta(w, "description=no name\n");
    expect_reject_w(w, "'name' is missing", "no name");
    lvc_mw_set_meta(w, "name=x");
    expect_reject_w(w, "newline", "no final newline");
    lvc_mw_set_meta(w, "name=x\ngarbage\n");
    expect_reject_w(w, "META line 2", "not key=value");
    lvc_mw_set_meta(w, "name=\n");
    expect_reject_w(w, "1..255", "empty name");
    lvc_mw_set_meta(w, "name=ok\n");
    CHECK(load_w(w, &m) == 0, "meta ok");
    CHECK(m && strcmp(m->name, "ok") == 0, "name");
    lvc_model_unref(m);
    lvc_mw_free(w);
}

/* ---- lookup and sharing ----------------------------------------------------------------------- */

static void test_find(void)
{
    LvcModelWriter *w = build(0, 13, 1);
    uint8_t *b;
    size_t n;
    lvc_mw_serialize(w, &b, &n);
    LvcModel *m;
    CHECK(lvc_model_load_memory(b, n, &m) == 0, "load");
    if (!m)
        return;
    char dir[] = "/tmp/lvc-models-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof(path), "%s/%s.lvcm", dir, m->id_hex);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n, "write");
    if (f)
        fclose(f);
    char env[512];
    snprintf(env, sizeof(env), "/nonexistent-lvc::%s", dir);
    setenv("LVC_MODEL_PATH", env, 1);
    LvcModel *found = NULL;
    int ret = lvc_model_find(m->id, &found);
    CHECK(ret == 0 && found, "find: %s", lvc_last_error());
    CHECK(found && memcmp(found->id, m->id, 16) == 0, "found id");
    lvc_model_unref(found);

    uint8_t other[16];
    memcpy(other, m->id, 16);
    other[0] ^= 0xff;
    char hex[33];
    lvc_model_id_hex(other, hex);
    ret = lvc_model_find(other, &found);
    CHECK(ret == LVC_ENOMODEL && !found, "not installed: %d", ret);
    char want[80];
    snprintf(want, sizeof(want), "model %s is not installed", hex);
    CHECK(strstr(lvc_last_error(), want) && strstr(lvc_last_error(), dir) &&
          strstr(lvc_last_error(), "/nonexistent-lvc"), "message: %s", lvc_last_error());

    /* A file installed under the wrong id. */
    char wrong[256];
    snprintf(wrong, sizeof(wrong), "%s/%s.lvcm", dir, hex);
    CHECK(rename(path, wrong) == 0, "rename");
    ret = lvc_model_find(other, &found);
    CHECK(ret == LVC_EMODEL && !found, "wrong id: %d", ret);
    CHECK(strstr(lvc_last_error(), m->id_hex) != NULL, "message: %s", lvc_last_error());
    unlink(wrong);
    rmdir(dir);
    unsetenv("LVC_MODEL_PATH");
    lvc_model_unref(m);
    free(b);
    lvc_mw_free(w);
}

static void *ref_worker(void *arg)
{
    LvcModel *m = arg;
    for (int i = 0; i < 20000; i++) {
        LvcModel *r = lvc_model_ref(m);
        if (r->n_graphs != 7)
            return (void *)1;
        lvc_model_unref(r);
    }
    lvc_model_unref(m); /* the reference the creator took for this thread */
    return NULL;
}

static void test_threads(void)
{
    LvcModelWriter *w = build(0, 14, 1);
    LvcModel *m;
    CHECK(load_w(w, &m) == 0, "load");
    lvc_mw_free(w);
    if (!m)
        return;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, ref_worker, lvc_model_ref(m));
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += r != NULL;
    }
    CHECK(bad == 0, "workers");
    CHECK(atomic_load(&m->refs) == 1, "refs %d", atomic_load(&m->refs));
    lvc_model_unref(m);
    lvc_model_unref(NULL);
    CHECK(lvc_model_ref(NULL) == NULL, "ref NULL");
}

int main(void)
{
    RUN(test_roundtrip_intra);
    RUN(test_roundtrip_inter);
    RUN(test_roundtrip_small);
    RUN(test_random_test_model_helper);
    RUN(test_id_invariance);
    RUN(test_id_reference);
    RUN(test_golden_model);
    RUN(test_checksum);
    RUN(test_truncation);
    RUN(test_file_structure);
    RUN(test_invalid_nodes);
    RUN(test_invalid_interface);
    RUN(test_invalid_entropy_meta);
    RUN(test_find);
    RUN(test_threads);
    return check_finish();
}
