/* The loaded .lvcm model (codec/FORMAT.md §3): the structure the engine runs.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A model is loaded and validated completely by lvc_model_load / lvc_model_load_memory and is
 * immutable afterwards: every field below is read-only for the engine, and a model may be shared
 * between threads (lvc_model_ref / lvc_model_unref are atomic).  Tensor data points into the
 * model's copy of the file; each tensor's data is 64-byte aligned in memory, little-endian (the
 * loader refuses big-endian hosts), so kernels may use weights in place. */
#ifndef LVC_MODEL_H
#define LVC_MODEL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lvc/lvc.h"
#include "rans.h"

/* ARITHMETIC.md §3 op codes. */
enum {
    LVC_OP_CONV = 1,
    LVC_OP_ADD = 2,
    LVC_OP_RESCALE = 3,
    LVC_OP_CONCAT = 4,
    LVC_OP_QMUL = 5,
    LVC_OP_SHUFFLE = 6,
    LVC_OP_UNSHUFFLE = 7,
    LVC_OP_CBMASK = 8,
    LVC_OP_CBMERGE = 9,
    LVC_OP_PAD = 10,
    LVC_OP_CROP = 11,
    LVC_OP_ACT = 12,
};

/* Activations as coded in a node (the same values as kernels.h's LVC_ACT_*; the names differ so
 * that both headers can be included together, as can LvcModelTensor and kernels.h's LvcTensor). */
enum { LVC_MODEL_ACT_NONE = 0, LVC_MODEL_ACT_RELU = 1, LVC_MODEL_ACT_LRELU = 2 };
enum { LVC_DTYPE_INT8 = 1, LVC_DTYPE_INT16 = 2, LVC_DTYPE_INT32 = 3 };

#define LVC_NO_TENSOR 0xFFFFFFFFu
#define LVC_MODEL_MAX_NODE_INPUTS 8
#define LVC_MODEL_MAX_GRAPH_IO 8
#define LVC_MODEL_MAX_CHANNELS 4096
#define LVC_MODEL_MIN_LEVEL (-12) /* FORMAT.md §3.3 */
#define LVC_MODEL_MAX_NAME 63     /* graph and port names (all known names are shorter) */
#define LVC_GRAPH_ENCODER_ONLY 1u

/* The graphs of profile lvc-s (FORMAT.md §3.7), in the order of that table. */
enum {
    LVC_G_INTRA_ANALYSIS,
    LVC_G_INTRA_HYPER_ANALYSIS,
    LVC_G_INTRA_HYPER_SYNTHESIS,
    LVC_G_INTRA_PRIOR_FUSION,
    LVC_G_INTRA_CONTEXT_STEP,
    LVC_G_INTRA_SYNTHESIS,
    LVC_G_INTRA_RECON_HEAD,
    LVC_G_INTER_CONTEXT,
    LVC_G_INTER_ANALYSIS,
    LVC_G_INTER_HYPER_ANALYSIS,
    LVC_G_INTER_HYPER_SYNTHESIS,
    LVC_G_INTER_TEMPORAL_PRIOR,
    LVC_G_INTER_PRIOR_FUSION,
    LVC_G_INTER_CONTEXT_STEP,
    LVC_G_INTER_SYNTHESIS,
    LVC_G_INTER_RECON_HEAD,
    LVC_G_INTER_REFRESH,
    LVC_G_COUNT
};
#define LVC_G_FIRST_INTER LVC_G_INTER_CONTEXT

/* The name of a graph role ("intra.analysis", ...). */
const char *lvc_model_graph_role_name(int role);

/* A value of a graph: channels, level (ARITHMETIC.md §3) and exponent. */
typedef struct LvcValueInfo {
    int channels, level, exp;
} LvcValueInfo;

typedef struct LvcModelTensor {
    char *name;          /* NUL-terminated copy (informative) */
    int dtype;           /* LVC_DTYPE_* */
    int ndim;            /* 1..4 */
    uint32_t dims[4];
    uint64_t count;      /* product of dims, <= 2^26 */
    uint64_t offset;     /* from the start of DATA */
    uint64_t size;       /* count * element size */
    uint32_t n_exp;
    const int8_t *exps;  /* n_exp exponents (into the file) */
    const void *data;    /* 64-byte aligned, little-endian */
} LvcModelTensor;

typedef struct LvcNode {
    int op, act, act_shift, n_in;
    int in[LVC_MODEL_MAX_NODE_INPUTS]; /* value indices, all smaller than this node's value */
    int out_channels, fo;
    int kernel, stride, pad, groups;   /* CONV */
    int arg;                           /* r, parity, multiple or level */
    uint32_t weight_index, bias_index; /* file tensor indices or LVC_NO_TENSOR */
    LvcValueInfo out;                  /* derived; out.channels == out_channels, out.exp == fo */

    /* CONV: weights [Cout][Cin/g][k][k] of weight_dtype, one exponent per output channel,
     * optional bias (NULL = zero), and the requantisation shift per output channel. */
    const void *weights;
    int weight_dtype;
    const int8_t *weight_exps;
    const int32_t *bias;
    /* QMUL: table [64][C] int16 with exponent table_exp. */
    const int16_t *table;
    int table_exp;
    /* CONV: shift[co] = f_in + fw[co] - fo (1..30), out_channels entries; QMUL: shift[0] = S.
     * ADD: shift[0] = fa - fo, shift[1] = fb - fo; RESCALE: shift[0] = fx - fo (-15..30).
     * NULL for the other ops. */
    int8_t *shift;
    double macs;       /* multiply-adds per level-0 position (CONV and QMUL; informative) */
    size_t record_pos; /* offset of the node in the file (for the model id) */
} LvcNode;

typedef struct LvcGraphPort {
    char name[LVC_MODEL_MAX_NAME + 1];
    int value;       /* value index (inputs: their own index) */
    LvcValueInfo v;
} LvcGraphPort;

typedef struct LvcGraph {
    char name[LVC_MODEL_MAX_NAME + 1];
    int role;        /* LVC_G_* */
    unsigned flags;  /* LVC_GRAPH_ENCODER_ONLY */
    int n_inputs, n_nodes, n_outputs;
    LvcGraphPort inputs[LVC_MODEL_MAX_GRAPH_IO];
    LvcNode *nodes;
    LvcGraphPort outputs[LVC_MODEL_MAX_GRAPH_IO];
    LvcValueInfo *values; /* n_inputs + n_nodes */
    double macs;          /* multiply-adds per level-0 position (informative) */
    uint64_t n_parameters;/* elements of the tensors this graph references (each once) */
    size_t record_offset, record_size; /* the GRPH record in the file (for the model id) */
} LvcGraph;

typedef struct LvcZTables {
    int n_buckets, channels, Rz;
    LvcCdf *cdf;          /* n_buckets * channels, bucket-major: cdf[bucket * channels + c] */
} LvcZTables;

typedef struct LvcEntropy {
    int nb, skip_bins, R;
    int32_t *thresholds;  /* nb - 1, exponent 16, strictly ascending */
    LvcCdf *y;            /* nb tables, one per scale bin */
    LvcZTables zt[2];     /* z tables of I-frames [0] and of P-frames [1] */
    int n_zsets;          /* 1, or 2 when the model carries P-frame z tables */
} LvcEntropy;

/* The z tables a frame codes with: P-frames use the P set when the model has one. */
static inline const LvcZTables *lvc_entropy_z(const LvcEntropy *e, int inter)
{
    return &e->zt[inter && e->n_zsets > 1];
}

struct LvcModel {
    atomic_int refs;
    uint8_t *file;        /* the whole file, 64-byte aligned allocation */
    size_t file_size;
    int format_version, opset_version, profile, qp_count;
    uint8_t id[LVC_MODEL_ID_SIZE];
    char id_hex[2 * LVC_MODEL_ID_SIZE + 1];
    char *name;           /* META name */
    char *meta;           /* the whole META text, NUL-terminated */
    int n_graphs;
    LvcGraph *graphs;     /* file order */
    const LvcGraph *role[LVC_G_COUNT]; /* by role; inter roles NULL in an intra-only model */
    int has_inter;
    int n_tensors;
    LvcModelTensor *tensors;
    const uint8_t *data;  /* DATA section */
    uint64_t data_size;
    LvcEntropy ent;
    /* Exponents fixed by the interface (FORMAT.md §3.7, ARITHMETIC.md §6). */
    int fm;               /* mu and yhat */
    int ff;               /* the feature f */
    int fc;               /* the context c (inter models; 0 otherwise) */
    int fy_intra, fy_inter, fz_intra, fz_inter; /* encoder latents (fy/fz_inter 0 if intra-only) */
    uint64_t n_parameters;
};

/* The graph with this name, or NULL. */
const LvcGraph *lvc_model_graph(const LvcModel *m, const char *name);

/* A malloc'd multi-line human-readable summary (the caller frees it), or NULL when out of
 * memory. */
char *lvc_model_describe(const LvcModel *m);

/* Lowercase hex of an id into out (33 bytes). */
void lvc_model_id_hex(const uint8_t id[LVC_MODEL_ID_SIZE], char out[2 * LVC_MODEL_ID_SIZE + 1]);

#endif
