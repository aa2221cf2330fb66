/* `.lvc` files (codec/FORMAT.md §4): a writer and a reader over stdio streams and a reader over
 * a byte array.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_LVCFILE_H
#define LVC_LVCFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lvc/lvc.h"

#define LVC_FILE_MAGIC "LVCF"
#define LVC_FILE_HEADER_SIZE 32
#define LVC_FILE_FRAME_HEADER_SIZE 12     /* u32 size, i64 pts */
#define LVC_FILE_MAX_FRAME (1u << 26)

/* The file header's fields. */
typedef struct LvcFileHeader {
    int version;          /* LVC_FILE_VERSION */
    int header_size;      /* ≥ 32; bytes beyond 32 are skipped by readers */
    int width, height;    /* informative */
    uint32_t tb_num, tb_den; /* seconds per tick = tb_num / tb_den; both ≥ 1 */
    uint32_t frame_count; /* 0 = unknown */
    uint64_t duration;    /* ticks; 0 = unknown */
} LvcFileHeader;

/* Fill *h with version 1, a 32-byte header, the given size and time base, unknown count and
 * duration. */
void lvc_file_header_init(LvcFileHeader *h, int width, int height, uint32_t tb_num,
                          uint32_t tb_den);

/* Serialise the 32-byte header (header_size is written as 32).  LVC_EINVAL when a field does
 * not fit or the time base is not ≥ 1 / ≥ 1. */
int lvc_file_header_write(const LvcFileHeader *h, uint8_t out[LVC_FILE_HEADER_SIZE]);

/* Parse and check the first 32 bytes of a file (size = bytes available).  Returns the header
 * size to skip (≥ 32), LVC_EDATA (magic, header size, time base, truncation) or
 * LVC_EUNSUPPORTED (version). */
int lvc_file_header_parse(LvcFileHeader *h, const uint8_t *data, size_t size);

/* Parse a 12-byte frame header.  Returns 0 or LVC_EDATA when the size is outside 1..2^26. */
int lvc_file_frame_header_parse(const uint8_t p[LVC_FILE_FRAME_HEADER_SIZE], uint32_t *size,
                                int64_t *pts);

/* ---- writer ---- */

typedef struct LvcFileWriter LvcFileWriter;

/* Start a file on f (borrowed; the caller closes it after lvc_file_writer_close) and write the
 * header.  LVC_EINVAL / LVC_ENOMEM / LVC_EIO. */
int lvc_file_writer_open(LvcFileWriter **out, FILE *f, const LvcFileHeader *h);

/* Append one frame (data borrowed, size 1..2^26). */
int lvc_file_writer_write(LvcFileWriter *w, const uint8_t *data, size_t size, int64_t pts);

/* Set the duration written on close (ticks).  Without it the duration is the span from the
 * lowest to the highest pts plus the last frame interval (the difference of the last two pts),
 * or 0 (unknown) for fewer than two frames. */
void lvc_file_writer_set_duration(LvcFileWriter *w, uint64_t duration);

/* Fill in frame count and duration when f is seekable, flush, and free the writer (the FILE is
 * not closed).  Returns 0 or LVC_EIO (any earlier write error is reported here too).  NULL is
 * accepted. */
int lvc_file_writer_close(LvcFileWriter *w);

/* ---- reader over a FILE ---- */

typedef struct LvcFileReader LvcFileReader;

/* Read and check the header from f (borrowed).  LVC_EDATA / LVC_EUNSUPPORTED / LVC_EIO /
 * LVC_ENOMEM. */
int lvc_file_reader_open(LvcFileReader **out, FILE *f);
const LvcFileHeader *lvc_file_reader_header(const LvcFileReader *r);

/* Read the next frame.  *data points into a buffer owned by the reader, valid until the next
 * call.  Returns 0, LVC_EOF at the clean end of the file, LVC_EDATA for a truncated frame or a
 * frame size outside 1..2^26 (checked before any allocation), LVC_EIO for a read error. */
int lvc_file_reader_read(LvcFileReader *r, const uint8_t **data, size_t *size, int64_t *pts);

/* Byte offset of the next frame header. */
uint64_t lvc_file_reader_offset(const LvcFileReader *r);

void lvc_file_reader_close(LvcFileReader *r); /* NULL accepted; does not close the FILE */

/* ---- reader over memory ---- */

typedef struct LvcFileMemReader {
    const uint8_t *data;
    size_t size, pos;
    LvcFileHeader header;
    uint32_t index; /* frames returned so far */
} LvcFileMemReader;

/* Check the header of a whole file held in memory (data borrowed). */
int lvc_file_mem_open(LvcFileMemReader *r, const uint8_t *data, size_t size);

/* The next frame: *frame points into the array.  0, LVC_EOF or LVC_EDATA as for
 * lvc_file_reader_read. */
int lvc_file_mem_next(LvcFileMemReader *r, const uint8_t **frame, size_t *size, int64_t *pts);

#endif
