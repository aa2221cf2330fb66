/* Reference integer kernels of the op vocabulary (codec/ARITHMETIC.md).
 *
 * With ARITHMETIC.md these kernels are the definition of every computation on the decoder
 * path.  They favour plain, obviously-correct code; SIMD versions live in separate files and
 * are selected through the LvcDsp table, and must produce the same integers.
 *
 * Conventions
 * - Tensors are int16, channel-planar and contiguous (ARITHMETIC.md §1): element (c, h, w) is
 *   at data[(c·H + h)·W + w].  A channel range of a tensor is therefore a contiguous block, so
 *   a kernel writes into a slice of a larger tensor (CONCAT) by offsetting the pointer.
 * - Kernels that are worth threading compute a band of output rows [y0, y1) of every channel;
 *   the result never depends on how the rows are split into bands.
 * - Parameters are validated by the model loader and the engine before a kernel runs
 *   (lvc_conv_check helps with CONV); the kernels themselves trust them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_KERNELS_H
#define LVC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---- §2 helpers ------------------------------------------------------------------------------
 * These are the only places in C that right-shift a signed value or left-shift; everything
 * else goes through them.  They do not rely on implementation-defined behaviour: signed right
 * shifts are written as shifts of non-negative values, left shifts are done in uint32_t. */

/* Reinterpret the low 32 bits as two's-complement int32 (without implementation-defined
 * conversions; compilers turn this into nothing). */
static inline int32_t lvc_u2i(uint32_t u)
{
    return u <= 0x7fffffffu ? (int32_t)u : (int32_t)(u - 0x80000000u) - 0x7fffffff - 1;
}

/* min(max(x, −32768), 32767) */
static inline int32_t lvc_sat16(int32_t x)
{
    return x < -32768 ? -32768 : x > 32767 ? 32767 : x;
}

/* ⌊x / 2^s⌋, 0 ≤ s ≤ 31.  For x < 0, ⌊x / 2^s⌋ = −⌊(−x − 1) / 2^s⌋ − 1 and −x − 1 ≥ 0. */
static inline int32_t lvc_asr(int32_t x, int s)
{
    if (x >= 0)
        return (int32_t)((uint32_t)x >> s);
    uint32_t nx = (uint32_t)(-(x + 1)); /* = −x − 1, in 0..2^31 − 1 */
    return -(int32_t)(nx >> s) - 1;
}

/* (int32)((uint32)x << s), 0 ≤ s ≤ 31, modular. */
static inline int32_t lvc_shl(int32_t x, int s)
{
    return lvc_u2i((uint32_t)x << s);
}

/* Shift right with rounding half up (towards +∞ at ties); s = 0 is the identity. */
static inline int32_t lvc_rshr(int32_t x, int s)
{
    if (s == 0)
        return x;
    return lvc_asr(x, s) + (int32_t)((uint32_t)lvc_asr(x, s - 1) & 1u);
}

/* d ≥ 0: rshr(x, d); d < 0: shl(x, −d).  Used with −15 ≤ d ≤ 30. */
static inline int32_t lvc_align(int32_t x, int d)
{
    return d >= 0 ? lvc_rshr(x, d) : lvc_shl(x, -d);
}

/* sat16(rshr(acc, S)), 1 ≤ S ≤ 30. */
static inline int32_t lvc_requant(int32_t acc, int s)
{
    return lvc_sat16(lvc_rshr(acc, s));
}

/* Activation codes as stored in a model node (FORMAT.md §3.3). */
enum { LVC_ACT_NONE = 0, LVC_ACT_RELU = 1, LVC_ACT_LRELU = 2 };

/* act(v): none → v; relu → max(v, 0); lrelu k → v ≥ 0 ? v : asr(v, k), 1 ≤ k ≤ 15. */
static inline int32_t lvc_act(int32_t v, int act, int k)
{
    if (v >= 0 || act == LVC_ACT_NONE)
        return v;
    return act == LVC_ACT_RELU ? 0 : lvc_asr(v, k);
}

/* ---- §6 entropy-parameter helpers ---------------------------------------------------------- */

/* Scale bin of one log-scale λ (exponent fs, 0..15): the number of the nb − 1 ascending
 * thresholds t (exponent 16) that shl(λ, 16 − fs) reaches. */
static inline int lvc_scale_bin(int32_t lambda, int fs, const int32_t *t, int nb)
{
    int32_t v = lvc_shl(lambda, 16 - fs);
    int lo = 0, hi = nb - 1; /* the answer is in [lo, hi]: count of t[i] ≤ v */
    while (lo < hi) {
        int mid = (lo + hi) / 2; /* lo ≤ mid < hi ≤ nb − 1 */
        if (t[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Decoded latent ŷ = sat16(μ + shl(q, fm)). */
static inline int16_t lvc_yhat(int32_t mu, int32_t q, int fm)
{
    return (int16_t)lvc_sat16(mu + lvc_shl(q, fm));
}

static inline int32_t lvc_clamp_sym(int32_t v, int32_t bound)
{
    return v < -bound ? -bound : v > bound ? bound : v;
}

/* The reference encoder's symbol q = clamp(rshr(align(y, fy − fm) − μ, fm), −R, R). */
static inline int32_t lvc_symbol_y(int32_t y, int fy, int32_t mu, int fm, int32_t r)
{
    return lvc_clamp_sym(lvc_rshr(lvc_align(y, fy - fm) - mu, fm), r);
}

/* Hyper-latent symbol q = clamp(rshr(z, fz), −Rz, Rz), fz ≥ 0.  For an int16 z, rshr(z, s) is 0
 * for every s ≥ 17, so exponents above 31 (outside rshr's domain) give 0 as well. */
static inline int32_t lvc_symbol_z(int32_t z, int fz, int32_t rz)
{
    return lvc_clamp_sym(fz > 31 ? 0 : lvc_rshr(z, fz), rz);
}

/* ---- tensors ------------------------------------------------------------------------------- */

typedef struct LvcTensor {
    int16_t *data; /* c·h·w elements, CHW, contiguous */
    int c, h, w;
    int exp;       /* exponent f */
} LvcTensor;

/* ---- CONV (§3.1) --------------------------------------------------------------------------- */

#define LVC_CONV_MAX_K 7

/* A convolution layer as the kernels see it. */
typedef struct LvcConvParams {
    int cin, h, w;          /* input shape */
    int cout, ho, wo;       /* output shape (lvc_conv_out_size) */
    int k, stride, pad, groups;
    const int8_t *w8;       /* weights [cout][cin/groups][k][k]: exactly one of w8 and w16 */
    const int16_t *w16;
    const int32_t *bias;    /* [cout], or NULL for zero */
    const uint8_t *shift;   /* S[co] = f_in + fw[co] − fo, each 1..30 */
    int act, act_shift;     /* fused activation (LVC_ACT_*, lrelu k) */
} LvcConvParams;

/* Output size ⌊(n + 2p − k)/s⌋ + 1, or 0 when it would be < 1. */
int lvc_conv_out_size(int n, int k, int stride, int pad);

/* Check a layer against §3.1 (k, stride, padding, groups, output size, shifts, activation).
 * Returns 0 or LVC_EINVAL with a message. */
int lvc_conv_check(const LvcConvParams *p);

/* The n weights of a layer as int16, for SIMD kernels that multiply int16 pairs: the layer's
 * own int16 array (the engine widens int8 layers once when it plans them), else a conversion
 * of its int8 array into buf (nbuf entries) or into an allocation returned in *owned (to be
 * freed).  NULL when that allocation fails. */
const int16_t *lvc_conv_weights16(const LvcConvParams *p, size_t n, int16_t *buf, size_t nbuf,
                                  int16_t **owned);

/* Compute output rows [y0, y1) (0 ≤ y0 ≤ y1 ≤ ho) of all cout channels of dst
 * ([cout][ho][wo]) from src ([cin][h][w]).  dst and src must not overlap. */
typedef void (*LvcConvFn)(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1);

/* ---- the dispatch table -------------------------------------------------------------------- */

/* Element-wise kernels work on n contiguous elements (a band of rows of one channel, or of all
 * channels where the parameters do not depend on the channel); dst may equal a source. */
typedef struct LvcDsp {
    LvcConvFn conv;        /* any layer */
    LvcConvFn conv1x1;     /* k = 1, stride 1, pad 0 (any groups) */
    LvcConvFn dw3x3;       /* k = 3, stride 1, pad 1, groups = cin = cout */

    /* ADD: dst = act(sat16(align(a, da) + align(b, db))) */
    void (*add)(int16_t *dst, const int16_t *a, int da, const int16_t *b, int db, int n,
                int act, int act_shift);
    /* RESCALE: dst = act(sat16(align(src, d))) */
    void (*rescale)(int16_t *dst, const int16_t *src, int d, int n, int act, int act_shift);
    /* QMUL of one channel: dst = act(requant(src · mul, s)) */
    void (*qmul)(int16_t *dst, const int16_t *src, int32_t mul, int s, int n, int act,
                 int act_shift);
    /* ACT: dst = act(src) */
    void (*act)(int16_t *dst, const int16_t *src, int n, int act, int act_shift);

    /* PACK (§5) of level-0 rows [y0, y1) of dst (96 × ⌈h/16⌉·2 × ⌈w/16⌉·2) from a w × h
     * I420 picture (planes with their strides in bytes). */
    void (*pack)(int16_t *dst, const uint8_t *py, ptrdiff_t sy, const uint8_t *pu,
                 ptrdiff_t su, const uint8_t *pv, ptrdiff_t sv, int w, int h, int y0, int y1);
    /* UNPACK (§5) of level-0 rows [y0, y1) of src (exponent f, 0..22) into the w × h picture:
     * luma rows [8·y0, min(8·y1, h)), chroma rows [4·y0, min(4·y1, ⌈h/2⌉)). */
    void (*unpack)(uint8_t *py, ptrdiff_t sy, uint8_t *pu, ptrdiff_t su, uint8_t *pv,
                   ptrdiff_t sv, int w, int h, const int16_t *src, int f, int y0, int y1);
} LvcDsp;

/* Instruction-set levels a table may use, lowest first: LVC_DSP_C, the LVC_CPU_* levels of
 * lvc.h (cpu.h), LVC_DSP_MAX for the best available. */
enum { LVC_DSP_C = 0, LVC_DSP_MAX = 0x7fff };

/* Fill dsp with the best kernels up to max_level (LVC_DSP_C: the C reference only) that the
 * CPU supports and the cap (lvc_set_cpu_level_cap, LVC_CPU_LEVEL) allows. */
void lvc_dsp_init(LvcDsp *dsp, int max_level);

/* The C reference kernels (also used by the tests to check SIMD versions). */
void lvc_conv_c(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1);
void lvc_conv1x1_c(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1);
void lvc_dw3x3_c(int16_t *dst, const int16_t *src, const LvcConvParams *p, int y0, int y1);

/* The kernel of dsp suited to layer p (a specialised one where the shape allows). */
LvcConvFn lvc_conv_select(const LvcDsp *dsp, const LvcConvParams *p);

/* ---- band-level ops on tensors (§3.2–3.9) ---------------------------------------------------
 * Each computes output rows [y0, y1) of every channel of out.  Shapes and exponents are those
 * checked by the loader (equal shapes for ADD / CBMERGE, out shapes as the op defines). */

/* CONV: lvc_conv_select(dsp, p)(out->data, in->data, p, y0, y1) */
void lvc_conv_band(const LvcDsp *dsp, const LvcConvParams *p, const LvcTensor *in,
                   LvcTensor *out, int y0, int y1);
/* ADD of a and b into out (exponents from the tensors). */
void lvc_add_band(const LvcDsp *dsp, LvcTensor *out, const LvcTensor *a, const LvcTensor *b,
                  int act, int act_shift, int y0, int y1);
/* RESCALE of in into out (exponents from the tensors). */
void lvc_rescale_band(const LvcDsp *dsp, LvcTensor *out, const LvcTensor *in, int act,
                      int act_shift, int y0, int y1);
/* QMUL with the table row trow (in->c entries) at exponent fq. */
void lvc_qmul_band(const LvcDsp *dsp, LvcTensor *out, const LvcTensor *in, const int16_t *trow,
                   int fq, int act, int act_shift, int y0, int y1);
/* ACT */
void lvc_act_band(const LvcDsp *dsp, LvcTensor *out, const LvcTensor *in, int act,
                  int act_shift, int y0, int y1);
/* CONCAT: copy in's channels into out's channels [c0, c0 + in->c) (rows y0..y1). */
void lvc_concat_band(LvcTensor *out, int c0, const LvcTensor *in, int y0, int y1);
/* SHUFFLE (depth to space, out = C × rH × rW) and UNSHUFFLE (its inverse), r ∈ {2, 4, 8}. */
void lvc_shuffle_band(LvcTensor *out, const LvcTensor *in, int r, int y0, int y1);
void lvc_unshuffle_band(LvcTensor *out, const LvcTensor *in, int r, int y0, int y1);
/* CBMASK with parity par; CBMERGE of a and b (b where the parity does not match). */
void lvc_cbmask_band(LvcTensor *out, const LvcTensor *in, int par, int y0, int y1);
void lvc_cbmerge_band(LvcTensor *out, const LvcTensor *a, const LvcTensor *b, int par, int y0,
                      int y1);
/* PAD by edge replication to out's size (out->h ≥ in->h, out->w ≥ in->w); CROP to out's size
 * (the top-left out->h × out->w of in). */
void lvc_pad_band(LvcTensor *out, const LvcTensor *in, int y0, int y1);
void lvc_crop_band(LvcTensor *out, const LvcTensor *in, int y0, int y1);

/* Frame geometry (§4): the size of level L for a w × h picture, 0 when L is out of range
 * (−16..8). */
int lvc_level_height(int h, int level);
int lvc_level_width(int w, int level);

/* §6 on spans: scale bins of n log-scales, and decoded latents from symbols. */
void lvc_scale_bins(uint8_t *bin, const int16_t *lambda, int n, int fs, const int32_t *t,
                    int nb);
void lvc_yhat_span(int16_t *yhat, const int16_t *mu, const int32_t *q, int n, int fm);

#endif
