/* Shared internal helpers of liblvc: error reporting, little-endian access, LEB128, limits.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_INTERNAL_H
#define LVC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lvc/lvc.h"

#if defined(__GNUC__)
#define LVC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define LVC_UNUSED __attribute__((unused))
#else
#define LVC_PRINTF(a, b)
#define LVC_UNUSED
#endif

/* Record a message for lvc_last_error() on this thread and return err (a negative LVC_E*
 * code), so that failures read `return lvc_error(LVC_EDATA, "...", ...);`. */
int lvc_error(int err, const char *fmt, ...) LVC_PRINTF(2, 3);
/* Forget the last message (called at the start of public entry points that may fail). */
void lvc_error_clear(void);

/* Pictures may be 1..8192 luma samples in each dimension. */
#define LVC_MAX_DIM 8192

/* ---- little-endian access; every caller checks the remaining length first ------------------ */
static inline uint16_t lvc_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t lvc_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t lvc_rd64(const uint8_t *p)
{
    return (uint64_t)lvc_rd32(p) | ((uint64_t)lvc_rd32(p + 4) << 32);
}
static inline void lvc_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void lvc_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void lvc_wr64(uint8_t *p, uint64_t v)
{
    lvc_wr32(p, (uint32_t)v);
    lvc_wr32(p + 4, (uint32_t)(v >> 32));
}

/* A bounds-checked reader over a byte range.  Every read fails (returns < 0 and sets err)
 * once the input is exhausted; err stays set so a sequence of reads can be checked once. */
typedef struct LvcReader {
    const uint8_t *p, *end;
    int err;
} LvcReader;

static inline void lvc_reader_init(LvcReader *r, const uint8_t *data, size_t size)
{
    r->p = data;
    r->end = data + size;
    r->err = 0;
}
static inline size_t lvc_reader_left(const LvcReader *r) { return (size_t)(r->end - r->p); }
static inline const uint8_t *lvc_reader_take(LvcReader *r, size_t n)
{
    if (r->err || lvc_reader_left(r) < n) {
        r->err = 1;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}
static inline uint8_t lvc_reader_u8(LvcReader *r)
{
    const uint8_t *q = lvc_reader_take(r, 1);
    return q ? q[0] : 0;
}
static inline uint16_t lvc_reader_u16(LvcReader *r)
{
    const uint8_t *q = lvc_reader_take(r, 2);
    return q ? lvc_rd16(q) : 0;
}
static inline uint32_t lvc_reader_u32(LvcReader *r)
{
    const uint8_t *q = lvc_reader_take(r, 4);
    return q ? lvc_rd32(q) : 0;
}
static inline uint64_t lvc_reader_u64(LvcReader *r)
{
    const uint8_t *q = lvc_reader_take(r, 8);
    return q ? lvc_rd64(q) : 0;
}
/* LEB128 per FORMAT.md: at most 5 bytes, value < 2^32, no redundant trailing zero group. */
static inline uint32_t lvc_reader_leb128(LvcReader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t b = lvc_reader_u8(r);
        if (r->err)
            return 0;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if ((i > 0 && b == 0) || v > 0xffffffffu) {
                r->err = 1;
                return 0;
            }
            return (uint32_t)v;
        }
    }
    r->err = 1;
    return 0;
}
/* Write v as LEB128 into out (≥ 5 bytes); returns the byte count. */
static inline size_t lvc_leb128_put(uint8_t *out, uint32_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        out[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

#endif
