/* Writes the seed corpus of fuzz_model into the directory given as argument: small valid
 * models (intra-only and intra+inter, made by the test-model generator) and truncated and
 * corrupted variants.  Not built by meson; build it against the internal library, e.g.
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -Icodec/include -Icodec/src -I<build>/codec \
 *      tests/fuzz/make_model_corpus.c <build>/codec/liblvc_internal.a -lpthread -lm
 *   ./a.out tests/fuzz/corpus/fuzz_model */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model_write.h"

static int save(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    return 0;
}

/* A small test model; variant 1 renames an output (interface error), variant 2 drops a graph. */
static int model(int inter, uint32_t seed, int variant, uint8_t **b, size_t *n)
{
    LvcTestModelOptions o = {.with_inter = inter, .seed = seed, .small = 1};
    LvcModelWriter *w;
    if (lvc_mw_build_test_model(&o, &w) < 0)
        return 1;
    if (variant == 1)
        strcpy(lvc_mw_graph(w, "intra.recon_head")->outputs[0].name, "rgb");
    if (variant == 2)
        lvc_mw_remove_graph(w, "inter.temporal_prior");
    int ret = lvc_mw_serialize(w, b, n);
    lvc_mw_free(w);
    return ret < 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    uint8_t *a, *b;
    size_t na, nb;
    if (model(0, 1, 0, &a, &na) || model(1, 2, 0, &b, &nb))
        return 1;
    int err = 0;
    for (int v = 1; v <= 2; v++) {
        uint8_t *x;
        size_t nx;
        if (model(v - 1, 3, v, &x, &nx))
            return 1;
        err |= save(dir, v == 1 ? "bad-interface" : "partial-inter", x, nx);
        free(x);
    }
    err |= save(dir, "valid-intra", a, na);
    err |= save(dir, "valid-inter", b, nb);
    err |= save(dir, "truncated-header", a, 40);
    err |= save(dir, "truncated-half", a, na / 2);
    /* Corruptions (the fuzz target re-patches size and footer, so these reach the parser). */
    uint8_t *c = malloc(na);
    memcpy(c, a, na);
    c[64 + 24 + 8] ^= 0x40; /* a section offset */
    err |= save(dir, "bad-section-offset", c, na);
    memcpy(c, a, na);
    size_t grph = (size_t)lvc_rd64(a + 64 + 24 + 8);
    c[grph + 4 + 1 + 14 + 2 + 1 + 1 + 4 + 2] = 13; /* first node of intra.analysis: op */
    err |= save(dir, "bad-op", c, na);
    memcpy(c, a, na);
    c[na / 3] ^= 0xff;
    err |= save(dir, "bad-checksum", c, na);
    free(c);
    free(a);
    free(b);
    return err;
}
