/* Fuzz target: lvcparse's framing of .lvc files (gst/lvcframing.c, the code the element runs
 * in its handle_frame), without GStreamer.
 *
 * Input: an .lvc file.  The harness plays GstBaseParse: it feeds the bytes after the file
 * header in chunks (all at once, one byte at a time, and in pseudo-random chunks), calls
 * lvc_framing_step whenever the buffered data reaches the minimum size the last call asked for,
 * and drains at the end.  It checks that
 *   - every decision is well formed: a skip of 1..avail bytes, a frame that fits the data and
 *     starts with a plausible packet, "need more" only when not draining and only for more
 *     bytes than are there (else the element would spin);
 *   - the frames do not depend on how the input was chunked;
 *   - on an intact file (the library's reader reads it to the end and every packet is
 *     plausible) the frames are exactly the file's frames;
 *   - the key-frame test agrees with the library's sequence-header reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lvcfile.h"
#include "lvcframing.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 4096

typedef struct Frame {
    size_t offset, size;
    int64_t pts;
} Frame;

typedef struct Frames {
    Frame f[MAX_FRAMES];
    int n;
    int lost_sync; /* sync was lost at least once */
} Frames;

static Frames runs[3];

/* The key-frame test against the library's reader: a valid sequence header followed by the
 * I-frame header byte 0x90 (the only valid one: an I-frame always codes its qp). */
static void check_key(const uint8_t *p, size_t n)
{
    LvcSeqHeader sh;
    int r = n ? lvc_sh_read(&sh, p, n) : -1;
    int lib = r > 0 && (size_t)r < n && p[r] == 0x90;
    if (lib != lvc_framing_packet_is_key(p, n))
        abort();
    if (lib && !lvc_packet_is_keyframe(p, n))
        abort();
}

/* Make more of the input available: mode 0 all of it, 1 one byte, 2 a pseudo-random chunk. */
static void push(size_t *have, size_t n, int mode, uint32_t *rs)
{
    size_t chunk = mode == 0 ? n : mode == 1 ? 1 : 1 + ((*rs >> 16) % 97);
    *rs = *rs * 1103515245u + 12345u;
    *have = chunk > n - *have ? n : *have + chunk;
}

/* One decision at pos; returns 1 for "need more". */
static int step(LvcFramingState *st, const uint8_t *d, size_t *pos, size_t have, int draining,
                size_t *min_size, Frames *out)
{
    const size_t avail = have - *pos;
    LvcFramingResult res;
    lvc_framing_step(st, d + *pos, avail, draining, &res);
    if (res.min_size)
        *min_size = res.min_size;
    switch (res.action) {
    case LVC_FRAMING_NEED_MORE:
        /* the element would wait forever for data that never comes, or spin */
        if (draining || (res.min_size && res.min_size <= avail))
            abort();
        return 1;
    case LVC_FRAMING_SKIP:
        if (res.size < 1 || res.size > avail || (res.lost_sync && !res.scanned) ||
            (res.truncated && !draining))
            abort();
        if (res.lost_sync)
            out->lost_sync = 1;
        *pos += res.size;
        return 0;
    case LVC_FRAMING_FRAME: {
        if (res.size != LVC_FRAMING_FRAME_HEADER_SIZE + (size_t)res.frame_size ||
            res.size > avail || res.frame_size < 1 || res.frame_size > LVC_FRAMING_MAX_FRAME ||
            st->resyncing)
            abort();
        const uint8_t *pkt = d + *pos + LVC_FRAMING_FRAME_HEADER_SIZE;
        if (!lvc_framing_packet_plausible(pkt, res.frame_size))
            abort();
        check_key(pkt, res.frame_size);
        if (out->n < MAX_FRAMES) {
            out->f[out->n].offset = *pos;
            out->f[out->n].size = res.frame_size;
            out->f[out->n].pts = res.pts;
            out->n++;
        }
        *pos += res.size;
        return 0;
    }
    default:
        abort();
    }
}

/* One pass over d[0..n) as GstBaseParse would run it: decisions while at least min_size bytes
 * are buffered (and after each new chunk following "need more"), then draining. */
static void run(const uint8_t *d, size_t n, int mode, Frames *out)
{
    LvcFramingState st = {0, 0};
    size_t pos = 0, have = 0, min_size = LVC_FRAMING_FRAME_HEADER_SIZE + 1;
    uint32_t rs = (uint32_t)n * 2654435761u + 1;
    long calls = 0;
    int waiting = 0;
    out->n = 0;
    out->lost_sync = 0;
    for (;;) {
        if (waiting || have - pos < min_size) {
            if (have == n)
                break;
            push(&have, n, mode, &rs);
            waiting = 0;
            continue;
        }
        waiting = step(&st, d, &pos, have, 0, &min_size, out);
        if (++calls > 4 * (long)n + 16)
            abort(); /* no progress */
    }
    while (pos < have) {
        step(&st, d, &pos, have, 1, &min_size, out);
        if (++calls > 4 * (long)n + 16)
            abort();
    }
    if (pos != n)
        abort(); /* every byte is framed or skipped */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the file header as lvcparse checks it (the same rules as the library's reader) */
    LvcFileHeader fh;
    int hs = lvc_file_header_parse(&fh, data, size);
    size_t start = hs > 0 && (size_t)hs <= size ? (size_t)hs : 0;
    const uint8_t *d = data + start;
    size_t n = size - start;

    for (int mode = 0; mode < 3; mode++)
        run(d, n, mode, &runs[mode]);
    for (int mode = 1; mode < 3; mode++) {
        if (runs[mode].n != runs[0].n)
            abort();
        for (int i = 0; i < runs[0].n; i++)
            if (runs[mode].f[i].offset != runs[0].f[i].offset ||
                runs[mode].f[i].size != runs[0].f[i].size ||
                runs[mode].f[i].pts != runs[0].f[i].pts)
                abort();
    }

    /* an intact file: the frames of the library's reader, exactly */
    LvcFileMemReader m;
    if (hs > 0 && lvc_file_mem_open(&m, data, size) == 0) {
        int n_frames = 0, intact = 1, r;
        const uint8_t *frame;
        size_t fsize;
        int64_t pts;
        while ((r = lvc_file_mem_next(&m, &frame, &fsize, &pts)) == 0) {
            if (!lvc_framing_packet_plausible(frame, fsize) || n_frames >= MAX_FRAMES) {
                intact = 0;
                break;
            }
            const Frame *f = n_frames < runs[0].n ? &runs[0].f[n_frames] : NULL;
            if (f && (d + f->offset + LVC_FRAMING_FRAME_HEADER_SIZE != frame || f->size != fsize ||
                      f->pts != pts))
                intact = -1;
            n_frames++;
        }
        if (r != 0 && r != LVC_EOF)
            intact = 0;
        if (intact && (intact < 0 || runs[0].n != n_frames || runs[0].lost_sync))
            abort();
    }
    return 0;
}
