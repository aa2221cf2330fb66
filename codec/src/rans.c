/* rANS entropy coder and CDF tables: FORMAT.md §2.1 (two interleaved 32-bit states, L = 2^23,
 * byte-wise renormalisation, 16-bit probabilities) and §2.2 (tables, escapes).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rans.h"

/* ---- CDF tables ------------------------------------------------------------------------------ */

/* Lookup size 2^k with k = ceil(log2(entries)) + 1, clamped to 6..10: a few KiB at most per
 * table, and buckets of at most 64 slots where the tables have many entries. */
static int lookup_bits(unsigned entries)
{
    int k = 0;
    while ((1u << k) < entries)
        k++;
    k++;
    return k < 6 ? 6 : k > 10 ? 10 : k;
}

int lvc_cdf_init(LvcCdf *cdf, int bound, const uint16_t *freq)
{
    memset(cdf, 0, sizeof(*cdf));
    if (bound < 1 || bound > LVC_CDF_MAX_BOUND)
        return lvc_error(LVC_EMODEL, "CDF table bound %d outside 1..%d", bound, LVC_CDF_MAX_BOUND);
    if (!freq)
        return lvc_error(LVC_EMODEL, "CDF table without frequencies");
    const unsigned n = 2u * (unsigned)bound + 2u;
    uint32_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        if (freq[i] == 0)
            return lvc_error(LVC_EMODEL, "CDF table entry %u has frequency 0", i);
        sum += freq[i];
    }
    if (sum != LVC_RANS_PROB_SCALE)
        return lvc_error(LVC_EMODEL, "CDF table frequencies sum to %u, not 65536", (unsigned)sum);

    const int k = lookup_bits(n);
    const unsigned nb = 1u << k;
    /* one block: start[n + 1] then lookup[nb + 1] (uint32 first, so lookup stays aligned) */
    uint32_t *start = malloc((n + 1) * sizeof(uint32_t) + (nb + 1) * sizeof(uint16_t));
    if (!start)
        return lvc_error(LVC_ENOMEM, "out of memory for a CDF table");
    uint16_t *lookup = (uint16_t *)(start + n + 1);
    uint32_t acc = 0;
    for (unsigned i = 0; i < n; i++) {
        start[i] = acc;
        acc += freq[i];
    }
    start[n] = acc;
    const int shift = 16 - k;
    unsigned idx = 0;
    for (unsigned b = 0; b < nb; b++) {
        const uint32_t slot = (uint32_t)b << shift;
        while (start[idx + 1] <= slot)
            idx++;
        lookup[b] = (uint16_t)idx;
    }
    lookup[nb] = (uint16_t)(n - 1);
    cdf->bound = bound;
    cdf->start = start;
    cdf->lookup = lookup;
    cdf->shift = shift;
    return 0;
}

void lvc_cdf_free(LvcCdf *cdf)
{
    free(cdf->start); /* lookup lives in the same block */
    memset(cdf, 0, sizeof(*cdf));
}

/* ---- encoder --------------------------------------------------------------------------------- */

void lvc_rans_enc_init(LvcRansEnc *e) { memset(e, 0, sizeof(*e)); }

void lvc_rans_enc_reset(LvcRansEnc *e) { e->n_ops = 0; }

void lvc_rans_enc_free(LvcRansEnc *e)
{
    free(e->ops);
    free(e->buf);
    memset(e, 0, sizeof(*e));
}

/* Make room for `more` further operations. */
static int reserve_ops(LvcRansEnc *e, size_t more)
{
    if (LVC_RANS_LIKELY(e->cap_ops - e->n_ops >= more))
        return 0;
    if (more > SIZE_MAX / sizeof(uint32_t) - e->n_ops)
        return lvc_error(LVC_ENOMEM, "rANS encoder: too many operations");
    size_t need = e->n_ops + more;
    size_t cap = e->cap_ops ? e->cap_ops : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / sizeof(uint32_t) / 2 ? need : cap * 2;
    uint32_t *ops = realloc(e->ops, cap * sizeof(uint32_t));
    if (!ops)
        return lvc_error(LVC_ENOMEM, "rANS encoder: out of memory for %zu operations", cap);
    e->ops = ops;
    e->cap_ops = cap;
    return 0;
}

static inline void push_op(LvcRansEnc *e, uint32_t start, uint32_t freq)
{
    e->ops[e->n_ops++] = (start << 16) | (freq - 1);
}

int lvc_rans_enc_put(LvcRansEnc *e, uint32_t start, uint32_t freq)
{
    if (freq < 1 || freq > LVC_RANS_PROB_SCALE || start > LVC_RANS_PROB_SCALE - freq)
        return lvc_error(LVC_EINVAL, "rANS operation start %u freq %u out of range",
                         (unsigned)start, (unsigned)freq);
    int r = reserve_ops(e, 1);
    if (r < 0)
        return r;
    push_op(e, start, freq);
    return 0;
}

int lvc_rans_enc_uniform(LvcRansEnc *e, uint32_t value, int nbits)
{
    if (nbits < 1 || nbits > 15 || value >= (1u << nbits))
        return lvc_error(LVC_EINVAL, "rANS uniform value %u of %d bits out of range",
                         (unsigned)value, nbits);
    int r = reserve_ops(e, 1);
    if (r < 0)
        return r;
    push_op(e, value << (16 - nbits), 1u << (16 - nbits));
    return 0;
}

int lvc_rans_enc_symbol(LvcRansEnc *e, const LvcCdf *cdf, int q, int limit)
{
    const int bound = cdf->bound;
    if (LVC_RANS_LIKELY(q >= -bound && q <= bound && q <= limit && q >= -limit)) {
        int r = reserve_ops(e, 1);
        if (r < 0)
            return r;
        const uint32_t *st = cdf->start + (q + bound);
        push_op(e, st[0], st[1] - st[0]);
        return 0;
    }
    if (limit < 0 || q > limit || q < -limit)
        return lvc_error(LVC_EINVAL, "rANS symbol %d beyond the limit %d", q, limit);
    /* escape (FORMAT.md §2.2): |q| > bound here */
    const uint32_t mag = (uint32_t)(q < 0 ? -(int64_t)q : q);
    const uint32_t v1 = mag - (uint32_t)bound; /* v + 1 = |q| - B */
    int n = 0;
    while (n < 32 && (v1 >> n))
        n++;
    if (n > 15)
        return lvc_error(LVC_EINVAL, "rANS symbol %d too far beyond the table bound %d", q, bound);
    int r = reserve_ops(e, 4);
    if (r < 0)
        return r;
    const uint32_t *st = cdf->start + (2 * bound + 1);
    push_op(e, st[0], st[1] - st[0]);
    push_op(e, (uint32_t)n << 12, 1u << 12);
    if (n > 1)
        push_op(e, (v1 & ((1u << (n - 1)) - 1)) << (17 - n), 1u << (17 - n));
    push_op(e, (q < 0 ? 1u : 0u) << 15, 1u << 15);
    return 0;
}

int lvc_rans_enc_finish(LvcRansEnc *e, const uint8_t **out, size_t *size)
{
    const size_t n = e->n_ops;
    /* each operation emits at most 2 bytes (x < 2^31 and x_max >= 2^15), plus the 8-byte flush */
    if (n > (SIZE_MAX - 8) / 2)
        return lvc_error(LVC_ENOMEM, "rANS encoder: stream too large");
    const size_t need = 2 * n + 8;
    if (e->cap_buf < need) {
        size_t cap = e->cap_buf ? e->cap_buf : 4096;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        uint8_t *buf = malloc(cap);
        if (!buf)
            return lvc_error(LVC_ENOMEM, "rANS encoder: out of memory for %zu bytes", cap);
        free(e->buf);
        e->buf = buf;
        e->cap_buf = cap;
    }
    uint8_t *const end = e->buf + e->cap_buf;
    uint8_t *p = end;
    uint32_t x[2] = {LVC_RANS_L, LVC_RANS_L};
    for (size_t i = n; i-- > 0;) {
        const uint32_t op = e->ops[i];
        const uint32_t freq = (op & 0xFFFFu) + 1, start = op >> 16;
        uint32_t s = x[i & 1];
        const uint32_t x_max = freq << 15;
        while (s >= x_max) {
            *--p = (uint8_t)s;
            s >>= 8;
        }
        s = ((s / freq) << 16) + (s % freq) + start;
        x[i & 1] = s;
    }
    p -= 4;
    lvc_wr32(p, x[1]);
    p -= 4;
    lvc_wr32(p, x[0]);
    *out = p;
    *size = (size_t)(end - p);
    return 0;
}

/* ---- decoder --------------------------------------------------------------------------------- */

int lvc_rans_dec_init(LvcRansDec *d, const uint8_t *data, size_t size)
{
    memset(d, 0, sizeof(*d));
    if (!data || size < 8) {
        d->err = 2;
        return lvc_error(LVC_EDATA, "rANS stream of %zu bytes is shorter than its 8-byte flush",
                         data ? size : 0);
    }
    d->x[0] = lvc_rd32(data);
    d->x[1] = lvc_rd32(data + 4);
    d->p = data + 8;
    d->end = data + size;
    for (int i = 0; i < 2; i++) {
        if (d->x[i] < LVC_RANS_L || d->x[i] >= 0x80000000u) {
            d->err = 2;
            return lvc_error(LVC_EDATA, "rANS initial state %d (0x%08x) outside [2^23, 2^31)", i,
                             (unsigned)d->x[i]);
        }
    }
    return 0;
}

/* One operation with a power-of-two frequency 2^(16 - nbits): returns the value. */
static uint32_t dec_uniform_op(LvcRansDec *d, int nbits)
{
    const unsigned j = d->parity;
    uint32_t x = d->x[j];
    const int sh = 16 - nbits;
    const uint32_t slot = x & 0xFFFFu;
    const uint32_t value = slot >> sh;
    x = ((x >> 16) << sh) + (slot & ((1u << sh) - 1));
    while (x < LVC_RANS_L) {
        if (d->p < d->end) {
            x = (x << 8) | *d->p++;
        } else {
            d->err = 1;
            x <<= 8;
        }
    }
    d->x[j] = x;
    d->parity = j ^ 1u;
    return value;
}

/* d->err: 1 = ran out of bytes, 2 = an invalid symbol was decoded. */
static int damaged(LvcRansDec *d, int why)
{
    if (!d->err)
        d->err = why;
    return d->err == 1 ? lvc_error(LVC_EDATA, "rANS stream ran out of bytes")
                       : lvc_error(LVC_EDATA, "rANS stream damaged");
}

int lvc_rans_dec_uniform(LvcRansDec *d, int nbits, uint32_t *value)
{
    if (nbits < 1 || nbits > 15)
        return lvc_error(LVC_EINVAL, "rANS uniform value of %d bits", nbits);
    *value = dec_uniform_op(d, nbits);
    return d->err ? damaged(d, 1) : 0;
}

int lvc_rans_dec_symbol_slow(LvcRansDec *d, const LvcCdf *cdf, int limit, int sym, int *q)
{
    *q = 0;
    if (d->err)
        return damaged(d, 1);
    if (limit < 0)
        return lvc_error(LVC_EINVAL, "rANS symbol limit %d", limit);
    if (sym <= cdf->bound) { /* an ordinary entry beyond the limit */
        d->err = 2;
        return lvc_error(LVC_EDATA, "rANS symbol %d beyond the limit %d", sym, limit);
    }
    /* escape */
    const int n = (int)dec_uniform_op(d, 4);
    if (n == 0) {
        d->err = d->err ? d->err : 2;
        return lvc_error(LVC_EDATA, "rANS escape with length 0");
    }
    uint32_t v1 = 1u << (n - 1);
    if (n > 1)
        v1 |= dec_uniform_op(d, n - 1);
    const uint32_t neg = dec_uniform_op(d, 1);
    if (d->err)
        return damaged(d, 1);
    const uint32_t mag = v1 + (uint32_t)cdf->bound;
    if (mag > (uint32_t)limit) {
        d->err = 2;
        return lvc_error(LVC_EDATA, "rANS escaped symbol magnitude %u beyond the limit %d",
                         (unsigned)mag, limit);
    }
    *q = neg ? -(int)mag : (int)mag;
    return 0;
}

int lvc_rans_dec_finish(const LvcRansDec *d)
{
    if (d->err)
        return lvc_error(LVC_EDATA, d->err == 1 ? "rANS stream ran out of bytes"
                                                : "rANS stream damaged");
    if (d->x[0] != LVC_RANS_L || d->x[1] != LVC_RANS_L)
        return lvc_error(LVC_EDATA, "rANS end check failed: final states 0x%08x 0x%08x",
                         (unsigned)d->x[0], (unsigned)d->x[1]);
    if (d->p != d->end)
        return lvc_error(LVC_EDATA, "rANS end check failed: %zu bytes left over",
                         (size_t)(d->end - d->p));
    return 0;
}
