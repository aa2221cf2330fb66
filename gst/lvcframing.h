/* The framing decisions of lvcparse for .lvc files (codec/FORMAT.md §4) as plain C functions
 * over a byte buffer: where the next frame ends, how many bytes to wait for, and how far to skip
 * to find sync again after damage.  They use neither GLib nor GStreamer, so that the fuzz target
 * tests/fuzz/fuzz_lvcparse.c runs exactly the code the element runs.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_FRAMING_H
#define LVC_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#define LVC_FRAMING_FRAME_HEADER_SIZE 12   /* u32 size, i64 pts */
#define LVC_FRAMING_SH_FIXED_SIZE 44       /* sequence header without its extension */
#define LVC_FRAMING_MAX_FRAME (1u << 26)
/* While resynchronising (after damage, or after a discontinuity such as a seek), a frame may be
 * at most this large, or 4 × the largest frame seen so far (LvcFramingState.max_frame, which
 * lvcparse sets to the file's largest frame when it indexes the file) when that is larger. */
#define LVC_FRAMING_RESYNC_MIN_BOUND (256u * 1024u)

/* 1 when data starts with a valid version-1 lvc-s 8-bit 4:2:0 sequence header followed by an
 * I-frame unit header byte (0x90), else 0. */
int lvc_framing_packet_is_key(const uint8_t *data, size_t size);

/* 1 when data plausibly starts a packet: a key frame, or a P-frame unit header byte. */
int lvc_framing_packet_plausible(const uint8_t *data, size_t size);

/* Is the frame header at d (avail bytes) plausible: a size in 1..2^26 (and ≤ bound when bound
 * is not 0) followed by a packet start?  1 yes, 0 no, -1 more bytes are needed to tell. */
int lvc_framing_header_plausible(const uint8_t *d, size_t avail, uint64_t bound);

/* What the parser keeps between calls. */
typedef struct LvcFramingState {
    int resyncing;      /* sync was lost: frame headers are bounded in size and confirmed by
                         * the next one */
    uint32_t max_frame; /* the largest frame seen: bounds the candidates while resyncing */
} LvcFramingState;

enum {
    LVC_FRAMING_NEED_MORE = 0, /* wait for more data (never returned when draining) */
    LVC_FRAMING_SKIP = 1,      /* drop `size` bytes (1..avail) */
    LVC_FRAMING_FRAME = 2,     /* a frame: `size` = 12 + frame_size bytes (≤ avail) */
};

typedef struct LvcFramingResult {
    int action;          /* LVC_FRAMING_* */
    size_t size;         /* SKIP: bytes to skip; FRAME: bytes of frame header and packet */
    size_t min_size;     /* the smallest buffer the next call needs; 0 = unchanged.  For
                          * NEED_MORE it is 0 (any more bytes) or larger than avail. */
    uint32_t frame_size; /* FRAME: the packet's size; the packet starts at d + 12 */
    int64_t pts;         /* FRAME: the frame's pts in ticks */
    int scanned;         /* SKIP: damaged bytes skipped looking for the next frame header */
    int lost_sync;       /* SKIP (scanned): sync was lost at this call (it was in sync before) */
    int truncated;       /* SKIP: a truncated last frame was dropped while draining */
    int resynced;        /* FRAME: the first frame after a resynchronisation */
} LvcFramingResult;

/* One framing decision for the bytes at d (avail ≥ 1, starting where the previous frame or skip
 * ended, after the file header).  draining: no more data will come.  Updates *st. */
void lvc_framing_step(LvcFramingState *st, const uint8_t *d, size_t avail, int draining,
                      LvcFramingResult *res);

#endif
