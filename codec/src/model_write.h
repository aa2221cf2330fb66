/* Building and serialising .lvcm model files (codec/FORMAT.md §3), for tests and tools, and a
 * generator of complete random test models that follow the lvc-s interface (§3.7).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The writer checks only what it needs to serialise (counts and sizes that fit their fields);
 * it happily writes models the loader rejects, which is what tests of the loader need. */
#ifndef LVC_MODEL_WRITE_H
#define LVC_MODEL_WRITE_H

#include <stddef.h>
#include <stdint.h>

#define LVC_MW_NAME_MAX 255

typedef struct LvcMwTensor {
    char *name;
    int dtype;          /* LVC_DTYPE_* (1 int8, 2 int16, 3 int32) */
    int ndim;
    uint32_t dims[4];
    uint32_t n_exp;
    int8_t *exps;       /* n_exp */
    uint8_t *data;      /* size bytes, little-endian */
    size_t size;
} LvcMwTensor;

/* A node exactly as coded in GRPH (FORMAT.md §3.3). */
typedef struct LvcMwNode {
    uint8_t op, act, act_shift, n_in;
    uint16_t out_channels;
    int8_t fo;
    uint8_t kernel, stride, pad;
    uint16_t groups;
    int16_t arg;
    uint16_t reserved;
    uint32_t tensor, bias; /* 0xFFFFFFFF = none */
    uint16_t in[8];
} LvcMwNode;

typedef struct LvcMwPort {
    char name[LVC_MW_NAME_MAX + 1];
    uint16_t channels;     /* inputs */
    int8_t level, exp;     /* inputs */
    uint16_t value;        /* outputs */
} LvcMwPort;

typedef struct LvcMwGraph {
    char name[LVC_MW_NAME_MAX + 1];
    uint8_t flags;
    int n_inputs, n_outputs, n_nodes, cap_nodes;
    LvcMwPort inputs[8], outputs[8];
    LvcMwNode *nodes;
} LvcMwGraph;

typedef struct LvcModelWriter {
    /* Header fields, preset to the valid values; tests may change them. */
    int format_version, opset_version, profile, qp_count;
    char *meta;               /* META text */
    LvcMwTensor *tensors;
    int n_tensors, cap_tensors;
    LvcMwGraph *graphs;
    int n_graphs, cap_graphs;
    uint8_t *entr;            /* ENTR payload */
    size_t entr_size;
} LvcModelWriter;

/* A CDF table for lvc_mw_set_entropy: bound B and 2B + 2 frequencies (host order). */
typedef struct LvcMwCdf {
    int bound;
    const uint16_t *freq;
} LvcMwCdf;

LvcModelWriter *lvc_mw_new(void);
void lvc_mw_free(LvcModelWriter *w); /* NULL accepted */

int lvc_mw_set_meta(LvcModelWriter *w, const char *text);
/* Add a tensor (data and exps copied; data NULL = zeros).  Returns its index or < 0. */
int lvc_mw_add_tensor(LvcModelWriter *w, const char *name, int dtype, int ndim,
                      const uint32_t *dims, uint32_t n_exp, const int8_t *exps, const void *data);
/* Add a graph; returns its index or < 0. */
int lvc_mw_add_graph(LvcModelWriter *w, const char *name, unsigned flags);
/* Add an input to graph g; returns its value index or < 0. */
int lvc_mw_add_input(LvcModelWriter *w, int g, const char *name, int channels, int level,
                     int exp);
/* Add a node to graph g; returns the value index of its output or < 0. */
int lvc_mw_add_node(LvcModelWriter *w, int g, const LvcMwNode *node);
int lvc_mw_add_output(LvcModelWriter *w, int g, const char *name, int value);
/* The graph with this name, or NULL. */
LvcMwGraph *lvc_mw_graph(LvcModelWriter *w, const char *name);
/* Remove a graph; 0 or < 0 when absent. */
int lvc_mw_remove_graph(LvcModelWriter *w, const char *name);
/* Move tensor i to position new_index[i] (a permutation) and remap every reference. */
int lvc_mw_permute_tensors(LvcModelWriter *w, const uint32_t *new_index);

/* One set of z tables: n_buckets * channels tables, bucket-major. */
typedef struct LvcMwZSet {
    int n_buckets, channels, Rz;
    const LvcMwCdf *tables;
} LvcMwZSet;

/* ENTR from tables (FORMAT.md §3.6): the I-frame z set, and the P-frame set or NULL; or a raw
 * payload. */
int lvc_mw_set_entropy(LvcModelWriter *w, int nb, int skip_bins, int R, const int32_t *thresholds,
                       const LvcMwCdf *y_tables, const LvcMwZSet *z, const LvcMwZSet *z_p);
int lvc_mw_set_entropy_raw(LvcModelWriter *w, const void *data, size_t size);

/* Serialise to a malloc'd buffer (*out, *size; free with free()). */
int lvc_mw_serialize(const LvcModelWriter *w, uint8_t **out, size_t *size);

/* Recompute the footer SHA-256 of a serialised model of size >= 32 bytes in place. */
void lvc_mw_fix_footer(uint8_t *file, size_t size);

/* Random test models: complete lvc-s models following the §3.7 interface with convolutions,
 * residual blocks, q tables, (un)shuffles, pad, crop, checkerboard ops and entropy tables.
 * small: grouped convolutions, no biases, no q tables and tiny entropy tables (a few KiB, for
 * fuzzing seeds); otherwise dense layers with small random weights.  Deterministic in seed. */
typedef struct LvcTestModelOptions {
    int with_inter;
    uint32_t seed;
    int small;
    int p_z_tables; /* with_inter: also a P-frame z table set */
} LvcTestModelOptions;

int lvc_mw_build_test_model(const LvcTestModelOptions *opt, LvcModelWriter **out);
/* The serialised dense test model (*out malloc'd). */
int lvc_model_write_random_test_model(int with_inter, uint32_t seed, uint8_t **out,
                                      size_t *size);

#endif
