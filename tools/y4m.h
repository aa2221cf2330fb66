/* A strict YUV4MPEG2 (y4m) reader and writer for 8-bit 4:2:0, and an incremental MD5 for the
 * tool's --md5 output.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Accepted stream header tags: W and H (required, 1..8192), F (frame rate n:d, both ≥ 1),
 * I (only p, progressive), A (pixel aspect ratio n:d, 0:0 unknown), C (420, 420jpeg, 420mpeg2,
 * 420paldv; absent means 4:2:0), X (extensions; X COLORRANGE=FULL / LIMITED is understood, other
 * X tags are ignored).  Any other tag, another chroma format or interlacing is refused.  Frame
 * headers are "FRAME" with optional X parameters. */
#ifndef LVC_TOOLS_Y4M_H
#define LVC_TOOLS_Y4M_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lvc/lvc.h"

typedef struct Y4mInfo {
    int width, height;
    int fps_num, fps_den;   /* 0:0 when the header has no F tag */
    int par_num, par_den;   /* 0:0 unknown */
    int range;              /* 0 unspecified, 1 limited, 2 full (LvcColor.range) */
    char chroma[16];        /* the C tag's value ("" when absent) */
} Y4mInfo;

/* Read and check the stream header.  Returns 0, or -1 with a message in err. */
int y4m_read_header(FILE *f, Y4mInfo *info, char *err, size_t err_size);

/* Read the next frame into pic (width × height I420).  Returns 1 for a frame, 0 at the clean
 * end of the stream, -1 with a message for a malformed or truncated frame.  pic may be NULL to
 * skip the frame. */
int y4m_read_frame(FILE *f, const Y4mInfo *info, LvcPicture *pic, char *err, size_t err_size);

/* Write the stream header (C420jpeg unless info->chroma names another 4:2:0 siting; F, A and
 * COLORRANGE when known).  Returns 0 or -1. */
int y4m_write_header(FILE *f, const Y4mInfo *info);
/* Write one frame of the header's size.  Returns 0 or -1. */
int y4m_write_frame(FILE *f, const LvcPicture *pic);

/* ---- MD5 (RFC 1321) ---- */
typedef struct Y4mMd5 {
    uint32_t h[4];
    uint64_t len;
    uint8_t buf[64];
} Y4mMd5;

void y4m_md5_init(Y4mMd5 *m);
void y4m_md5_update(Y4mMd5 *m, const uint8_t *data, size_t n);
void y4m_md5_final(Y4mMd5 *m, uint8_t out[16]);
/* Feed the visible samples of pic's planes (rows without padding, Y then U then V). */
void y4m_md5_picture(Y4mMd5 *m, const LvcPicture *pic);

#endif
