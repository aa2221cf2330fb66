/* rANS entropy coder and CDF tables (codec/FORMAT.md §2).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_RANS_H
#define LVC_RANS_H

#include <stddef.h>
#include <stdint.h>

#define LVC_RANS_PROB_BITS 16
#define LVC_RANS_PROB_SCALE (1u << LVC_RANS_PROB_BITS)
#define LVC_RANS_L (1u << 23)
#define LVC_CDF_MAX_BOUND 1024

#if defined(__GNUC__)
#define LVC_RANS_LIKELY(c) __builtin_expect(!!(c), 1)
#else
#define LVC_RANS_LIKELY(c) (c)
#endif

/* A CDF table over the symbols -bound..bound plus the escape (FORMAT.md §2.2). */
typedef struct LvcCdf {
    int bound;        /* B, 1..LVC_CDF_MAX_BOUND */
    uint32_t *start;  /* 2B + 3 entries: start[i] of entry i, start[2B + 2] = 65536 */
    uint16_t *lookup; /* search accelerator owned by the table: (1 << (16 - shift)) + 1 entries,
                       * lookup[b] = the entry containing slot b << shift (the last entry for
                       * b = 1 << (16 - shift)); shares start's allocation */
    int shift;        /* slot >> shift indexes lookup */
} LvcCdf;

/* Build a table from 2B + 2 frequencies (borrowed).  Returns LVC_EMODEL with a message when a
 * frequency is 0, the sum is not 2^16 or the bound is out of range (then *cdf holds nothing and
 * lvc_cdf_free is a no-op).  Free with lvc_cdf_free. */
int lvc_cdf_init(LvcCdf *cdf, int bound, const uint16_t *freq);
void lvc_cdf_free(LvcCdf *cdf);

/* Encoder.  Operations are recorded in decoding order and coded in reverse by finish. */
typedef struct LvcRansEnc {
    uint32_t *ops; /* packed (start << 16 | (freq - 1)) */
    size_t n_ops, cap_ops;
    uint8_t *buf;  /* output, written from the end */
    size_t cap_buf;
} LvcRansEnc;

void lvc_rans_enc_init(LvcRansEnc *e);
void lvc_rans_enc_reset(LvcRansEnc *e); /* forget recorded operations, keep memory */
void lvc_rans_enc_free(LvcRansEnc *e);
/* One raw operation (1 <= freq, start + freq <= 2^16).  LVC_EINVAL otherwise, LVC_ENOMEM. */
int lvc_rans_enc_put(LvcRansEnc *e, uint32_t start, uint32_t freq);
/* A uniform value of nbits (1..15) bits. */
int lvc_rans_enc_uniform(LvcRansEnc *e, uint32_t value, int nbits);
/* A symbol q with its table; |q| beyond the table's bound uses the escape.  |q| must not
 * exceed limit (the model's symbol bound): LVC_EINVAL otherwise, and nothing is recorded. */
int lvc_rans_enc_symbol(LvcRansEnc *e, const LvcCdf *cdf, int q, int limit);
/* Code every recorded operation.  *out points into the encoder's buffer (valid until the next
 * call on e), *size bytes including the 8-byte state flush.  The operations stay recorded until
 * lvc_rans_enc_reset. */
int lvc_rans_enc_finish(LvcRansEnc *e, const uint8_t **out, size_t *size);

/* Decoder over one slice (data borrowed). */
typedef struct LvcRansDec {
    uint32_t x[2];
    const uint8_t *p, *end;
    unsigned parity; /* state of the next operation */
    int err;         /* set once the stream is found damaged: 1 = ran out of bytes, 2 = other */
} LvcRansDec;

/* LVC_EDATA when size < 8 or an initial state lies outside [L, 2^31). */
int lvc_rans_dec_init(LvcRansDec *d, const uint8_t *data, size_t size);
/* A uniform value; LVC_EDATA when the stream ran out of bytes. */
int lvc_rans_dec_uniform(LvcRansDec *d, int nbits, uint32_t *value);
/* The end check: both states back at L and every byte consumed (and never ran out). */
int lvc_rans_dec_finish(const LvcRansDec *d);

/* Out-of-line part of lvc_rans_dec_symbol: the escape, a symbol beyond limit, a stream that ran
 * out of bytes.  sym is the decoded table entry minus the bound. */
int lvc_rans_dec_symbol_slow(LvcRansDec *d, const LvcCdf *cdf, int limit, int sym, int *q);

/* Decode a symbol; LVC_EDATA for a malformed escape, |q| > limit or a stream that ran out of
 * bytes (the decoder then stays usable but lvc_rans_dec_finish fails).  Inline: this runs once
 * per coded latent element. */
static inline int lvc_rans_dec_symbol(LvcRansDec *d, const LvcCdf *cdf, int limit, int *q)
{
    const unsigned j = d->parity;
    uint32_t x = d->x[j];
    const uint32_t slot = x & 0xFFFFu;
    const uint32_t *st = cdf->start;
    const unsigned b = slot >> cdf->shift;
    unsigned lo = cdf->lookup[b], hi = cdf->lookup[b + 1];
    /* largest entry in [lo, hi] whose start is <= slot (lo's start is, by construction) */
    while (lo < hi) {
        const unsigned mid = (lo + hi + 1) >> 1;
        if (st[mid] <= slot)
            lo = mid;
        else
            hi = mid - 1;
    }
    const uint32_t s = st[lo];
    x = (st[lo + 1] - s) * (x >> 16) + slot - s;
    /* x >= 2^7 here (x >> 16 >= 2^7 since x >= L), so at most two bytes are read: k of them,
     * without a branch while two bytes remain */
    if (LVC_RANS_LIKELY(d->end - d->p >= 2)) {
        const unsigned k = (unsigned)(x < LVC_RANS_L) + (unsigned)(x < (LVC_RANS_L >> 8));
        const uint32_t next2 = ((uint32_t)d->p[0] << 8) | d->p[1];
        x = (x << (8 * k)) | (next2 >> (16 - 8 * k));
        d->p += k;
    } else {
        while (x < LVC_RANS_L) {
            if (d->p < d->end) {
                x = (x << 8) | *d->p++;
            } else {
                d->err = 1; /* ran out: shift in zeros to keep the state valid, report below */
                x <<= 8;
            }
        }
    }
    d->x[j] = x;
    d->parity = j ^ 1u;
    const int sym = (int)lo - cdf->bound;
    if (LVC_RANS_LIKELY(!d->err && sym <= cdf->bound && sym <= limit && sym >= -limit)) {
        *q = sym;
        return 0;
    }
    return lvc_rans_dec_symbol_slow(d, cdf, limit, sym, q);
}

#endif
