/* Elementary stream units (codec/FORMAT.md §1): the sequence header, the frame unit and
 * the slice layout (§2.4).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_UNITS_H
#define LVC_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "lvc/lvc.h"

#define LVC_SH_MAGIC "LVC"
#define LVC_SH_FIXED_SIZE 44                          /* without the extension */
#define LVC_SH_MAX_EXT 255
#define LVC_SH_MAX_SIZE (LVC_SH_FIXED_SIZE + LVC_SH_MAX_EXT)
#define LVC_PROFILE_S 1                               /* lvc-s */

#define LVC_MAX_SLICES 64
#define LVC_SLICE_MIN_SIZE 8                          /* the two rANS states */
#define LVC_QP_MAX 63
/* The frame-unit header: header byte, qp, and n_slices - 1 LEB128 sizes of ≤ 5 bytes. */
#define LVC_FU_HEADER_MAX_SIZE (2 + 5 * (LVC_MAX_SLICES - 1))

enum { LVC_FRAME_I = 0, LVC_FRAME_P = 1 };

/* The fields of a sequence header (FORMAT.md §1.1). */
typedef struct LvcSeqHeader {
    int bitstream_version; /* LVC_BITSTREAM_VERSION */
    int opset_version;     /* LVC_OPSET_VERSION */
    int profile;           /* LVC_PROFILE_S */
    uint8_t model_id[LVC_MODEL_ID_SIZE];
    int width, height;     /* 1..8192 */
    int bit_depth_code;    /* 0 = 8 bit */
    int chroma_format;     /* 1 = 4:2:0 */
    LvcColor color;        /* range 0..2 */
    int par_num, par_den;  /* u16 each; 0 = unknown */
    uint32_t fps_num;      /* 0 = unknown */
    int fps_den;           /* u16 */
    int flags;             /* 0 */
    /* Extension bytes: on read, borrowed from the parsed input; on write, borrowed from the
     * caller.  Ignored by lvc_sh_equal(). */
    const uint8_t *ext;
    size_t ext_size;       /* 0..255 */
} LvcSeqHeader;

/* Fill *sh with a version-1 lvc-s 8-bit 4:2:0 header of the given size, unspecified colour,
 * unknown aspect ratio and frame rate, zero model id and no extension. */
void lvc_sh_init(LvcSeqHeader *sh, int width, int height);

/* Serialise *sh into out (capacity cap).  Returns the size written (44 + ext_size), or
 * LVC_EINVAL when a field does not fit its coding or would not be read back by
 * lvc_sh_read(), or when cap is too small. */
int lvc_sh_write(const LvcSeqHeader *sh, uint8_t *out, size_t cap);

/* Parse a sequence header at the start of data.  Returns the bytes consumed (44 + extension)
 * or LVC_EDATA (bad magic, truncation, size out of range, flags, reserved range value) or
 * LVC_EUNSUPPORTED (bitstream or op-set version, profile, bit depth, chroma format).
 * sh->ext points into data. */
int lvc_sh_read(LvcSeqHeader *sh, const uint8_t *data, size_t size);

/* 1 when the two headers are equal in every field except the extension, else 0. */
int lvc_sh_equal(const LvcSeqHeader *a, const LvcSeqHeader *b);

/* The header of a frame unit (FORMAT.md §1.2). */
typedef struct LvcFrameHeader {
    int type;       /* LVC_FRAME_I or LVC_FRAME_P */
    int refresh;    /* P only */
    int qp_present; /* always 1 for I */
    int qp;         /* 0..63; meaningful when qp_present */
} LvcFrameHeader;

/* Write the frame-unit header (header byte, qp when present and the n_slices - 1 leading slice
 * sizes) into out (capacity cap; LVC_FU_HEADER_MAX_SIZE always suffices).  The slice payloads
 * follow it, written by the caller.  Returns the header size, or LVC_EINVAL for an invalid
 * header (refresh on I, I without qp, qp > 63), n_slices outside 1..64, a slice size below 8
 * or above 2^32 - 1, or a small cap.  Only slice_sizes[0 .. n_slices - 2] are read. */
int lvc_fu_write_header(const LvcFrameHeader *fh, int n_slices, const size_t *slice_sizes,
                        uint8_t *out, size_t cap);

/* A parsed packet: everything points into the parsed bytes. */
typedef struct LvcPacketInfo {
    int has_sh;             /* 1 when the packet starts with a sequence header */
    LvcSeqHeader sh;        /* valid when has_sh */
    size_t fu_offset;       /* offset of the frame unit in the packet */
    LvcFrameHeader fh;
    int n_slices;
    const uint8_t *slice[LVC_MAX_SLICES];
    size_t slice_size[LVC_MAX_SLICES];
} LvcPacketInfo;

/* Parse and check a whole packet (FORMAT.md §1): an optional sequence header, then a frame unit
 * that extends to the end.  The slice count comes from the packet's sequence header when it has
 * one, else from n_slices (the active sequence's lvc_slice_count(); 0 = unknown, which is
 * LVC_ENOREF for a packet without a sequence header).  A packet carries a sequence header if and
 * only if it is an I-frame.  Returns 0, or LVC_EDATA / LVC_EUNSUPPORTED / LVC_ENOREF with a
 * message. */
int lvc_packet_parse(const uint8_t *data, size_t size, int n_slices, LvcPacketInfo *info);

/* 1 when the packet is a key frame (a valid sequence header followed by an I-frame unit
 * header byte), else 0.  Cheap: the slices are not examined. */
int lvc_packet_is_keyframe(const uint8_t *data, size_t size);

/* The number of slices of a width × height picture (FORMAT.md §2.4), 1..64; LVC_EINVAL when a
 * dimension is outside 1..8192. */
int lvc_slice_count(int width, int height);

/* The latent rows [*r0, *r1) of slice i of n over h1 latent rows (FORMAT.md §2.4). */
void lvc_slice_rows(int h1, int n, int i, int *r0, int *r1);

/* Latent rows / columns of a picture dimension: ⌈d / 16⌉. */
static inline int lvc_latent_dim(int d) { return (d + 15) / 16; }

#endif
