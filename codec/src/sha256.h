/* SHA-256 (FIPS 180-4), incremental.  Used for the model file checksum and the model id.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_SHA256_H
#define LVC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LVC_SHA256_SIZE 32

typedef struct LvcSha256 {
    uint32_t h[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t used;     /* bytes waiting in block */
} LvcSha256;

void lvc_sha256_init(LvcSha256 *s);
void lvc_sha256_update(LvcSha256 *s, const void *data, size_t size);
void lvc_sha256_final(LvcSha256 *s, uint8_t out[LVC_SHA256_SIZE]);
/* One-shot digest of size bytes at data. */
void lvc_sha256(const void *data, size_t size, uint8_t out[LVC_SHA256_SIZE]);

#endif
