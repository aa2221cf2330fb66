/* `.lvc` files (codec/FORMAT.md §4).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lvcfile.h"

#include <stdlib.h>

#include "internal.h"

/* Offset of the frame count in the file header; the duration follows it. */
#define COUNT_OFFSET 20

void lvc_file_header_init(LvcFileHeader *h, int width, int height, uint32_t tb_num,
                          uint32_t tb_den)
{
    memset(h, 0, sizeof(*h));
    h->version = LVC_FILE_VERSION;
    h->header_size = LVC_FILE_HEADER_SIZE;
    h->width = width;
    h->height = height;
    h->tb_num = tb_num;
    h->tb_den = tb_den;
}

int lvc_file_header_write(const LvcFileHeader *h, uint8_t out[LVC_FILE_HEADER_SIZE])
{
    if (!h || !out)
        return lvc_error(LVC_EINVAL, ".lvc header: NULL argument");
    if (h->version != LVC_FILE_VERSION)
        return lvc_error(LVC_EINVAL, ".lvc header: version %d not writable", h->version);
    if (h->width < 0 || h->width > 0xffff || h->height < 0 || h->height > 0xffff)
        return lvc_error(LVC_EINVAL, ".lvc header: size %dx%d does not fit", h->width, h->height);
    if (h->tb_num < 1 || h->tb_den < 1)
        return lvc_error(LVC_EINVAL, ".lvc header: time base %u/%u invalid", h->tb_num,
                         h->tb_den);
    memcpy(out, LVC_FILE_MAGIC, 4);
    lvc_wr16(out + 4, (uint16_t)h->version);
    lvc_wr16(out + 6, LVC_FILE_HEADER_SIZE);
    lvc_wr16(out + 8, (uint16_t)h->width);
    lvc_wr16(out + 10, (uint16_t)h->height);
    lvc_wr32(out + 12, h->tb_num);
    lvc_wr32(out + 16, h->tb_den);
    lvc_wr32(out + 20, h->frame_count);
    lvc_wr64(out + 24, h->duration);
    return LVC_FILE_HEADER_SIZE;
}

int lvc_file_header_parse(LvcFileHeader *h, const uint8_t *data, size_t size)
{
    if (!h || (!data && size))
        return lvc_error(LVC_EINVAL, ".lvc header: NULL argument");
    memset(h, 0, sizeof(*h));
    size_t m = size < 4 ? size : 4;
    if (m > 0 && memcmp(data, LVC_FILE_MAGIC, m) != 0)
        return lvc_error(LVC_EDATA, "not an .lvc file (bad magic)");
    if (size < LVC_FILE_HEADER_SIZE)
        return lvc_error(LVC_EDATA, ".lvc header truncated: %zu of %d bytes", size,
                         LVC_FILE_HEADER_SIZE);
    h->version = lvc_rd16(data + 4);
    h->header_size = lvc_rd16(data + 6);
    h->width = lvc_rd16(data + 8);
    h->height = lvc_rd16(data + 10);
    h->tb_num = lvc_rd32(data + 12);
    h->tb_den = lvc_rd32(data + 16);
    h->frame_count = lvc_rd32(data + 20);
    h->duration = lvc_rd64(data + 24);
    if (h->version != LVC_FILE_VERSION)
        return lvc_error(LVC_EUNSUPPORTED, ".lvc file version %d (this reader reads version %d)",
                         h->version, LVC_FILE_VERSION);
    if (h->header_size < LVC_FILE_HEADER_SIZE)
        return lvc_error(LVC_EDATA, ".lvc header size %d below %d", h->header_size,
                         LVC_FILE_HEADER_SIZE);
    if (h->tb_num < 1 || h->tb_den < 1)
        return lvc_error(LVC_EDATA, ".lvc time base %u/%u invalid (both must be at least 1)",
                         h->tb_num, h->tb_den);
    return h->header_size;
}

int lvc_file_frame_header_parse(const uint8_t p[LVC_FILE_FRAME_HEADER_SIZE], uint32_t *size,
                                int64_t *pts)
{
    uint32_t s = lvc_rd32(p);
    *size = s;
    *pts = (int64_t)lvc_rd64(p + 4);
    if (s < 1 || s > LVC_FILE_MAX_FRAME)
        return lvc_error(LVC_EDATA, ".lvc frame size %u outside 1..%u", s, LVC_FILE_MAX_FRAME);
    return 0;
}

/* ---- writer ---- */

struct LvcFileWriter {
    FILE *f;
    long start;      /* offset of the header, -1 when f cannot tell */
    uint32_t count;
    int64_t pts_min, pts_max, pts_last, pts_prev;
    uint64_t duration;
    int have_duration;
    int err;         /* an LVC_E* from an earlier write */
};

int lvc_file_writer_open(LvcFileWriter **out, FILE *f, const LvcFileHeader *h)
{
    if (!out || !f || !h)
        return lvc_error(LVC_EINVAL, ".lvc writer: NULL argument");
    *out = NULL;
    uint8_t buf[LVC_FILE_HEADER_SIZE];
    int r = lvc_file_header_write(h, buf);
    if (r < 0)
        return r;
    LvcFileWriter *w = calloc(1, sizeof(*w));
    if (!w)
        return lvc_error(LVC_ENOMEM, ".lvc writer: out of memory");
    w->f = f;
    w->start = ftell(f);
    if (fwrite(buf, 1, sizeof(buf), f) != sizeof(buf)) {
        free(w);
        return lvc_error(LVC_EIO, ".lvc writer: cannot write the header");
    }
    *out = w;
    return 0;
}

int lvc_file_writer_write(LvcFileWriter *w, const uint8_t *data, size_t size, int64_t pts)
{
    if (!w || !data)
        return lvc_error(LVC_EINVAL, ".lvc writer: NULL argument");
    if (w->err)
        return lvc_error(w->err, ".lvc writer: an earlier write failed");
    if (size < 1 || size > LVC_FILE_MAX_FRAME)
        return lvc_error(LVC_EINVAL, ".lvc writer: frame size %zu outside 1..%u", size,
                         LVC_FILE_MAX_FRAME);
    if (w->count == UINT32_MAX)
        return lvc_error(LVC_EINVAL, ".lvc writer: too many frames");
    uint8_t hdr[LVC_FILE_FRAME_HEADER_SIZE];
    lvc_wr32(hdr, (uint32_t)size);
    lvc_wr64(hdr + 4, (uint64_t)pts);
    if (fwrite(hdr, 1, sizeof(hdr), w->f) != sizeof(hdr) || fwrite(data, 1, size, w->f) != size) {
        w->err = LVC_EIO;
        return lvc_error(LVC_EIO, ".lvc writer: write of frame %u failed", w->count);
    }
    if (w->count == 0) {
        w->pts_min = w->pts_max = pts;
    } else {
        if (pts < w->pts_min)
            w->pts_min = pts;
        if (pts > w->pts_max)
            w->pts_max = pts;
    }
    w->pts_prev = w->pts_last;
    w->pts_last = pts;
    w->count++;
    return 0;
}

void lvc_file_writer_set_duration(LvcFileWriter *w, uint64_t duration)
{
    if (!w)
        return;
    w->duration = duration;
    w->have_duration = 1;
}

int lvc_file_writer_close(LvcFileWriter *w)
{
    if (!w)
        return 0;
    int err = w->err;
    uint64_t duration = w->duration;
    if (!w->have_duration) {
        duration = 0;
        if (w->count >= 2) {
            /* Differences of int64 values computed in uint64 wrap instead of overflowing. */
            uint64_t span = (uint64_t)w->pts_max - (uint64_t)w->pts_min;
            uint64_t last = w->pts_last > w->pts_prev ? (uint64_t)w->pts_last - (uint64_t)w->pts_prev : 0;
            duration = span + last;
        }
    }
    if (!err && w->start >= 0) {
        long end = ftell(w->f);
        if (end >= 0 && fseek(w->f, w->start + COUNT_OFFSET, SEEK_SET) == 0) {
            uint8_t buf[12];
            lvc_wr32(buf, w->count);
            lvc_wr64(buf + 4, duration);
            if (fwrite(buf, 1, sizeof(buf), w->f) != sizeof(buf) ||
                fseek(w->f, end, SEEK_SET) != 0)
                err = LVC_EIO;
        }
        /* A stream that cannot seek keeps count and duration 0 (unknown). */
    }
    if (fflush(w->f) != 0 && !err)
        err = LVC_EIO;
    free(w);
    if (err)
        return lvc_error(err, ".lvc writer: write failed");
    return 0;
}

/* ---- reader over a FILE ---- */

struct LvcFileReader {
    FILE *f;
    LvcFileHeader header;
    uint64_t offset;  /* bytes consumed */
    uint32_t index;   /* frames returned */
    uint8_t *buf;
    size_t cap;
};

/* Read up to n bytes; returns the count read (short only at end of file or on error). */
static size_t read_full(FILE *f, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t k = fread(p + got, 1, n - got, f);
        if (k == 0)
            break;
        got += k;
    }
    return got;
}

int lvc_file_reader_open(LvcFileReader **out, FILE *f)
{
    if (!out || !f)
        return lvc_error(LVC_EINVAL, ".lvc reader: NULL argument");
    *out = NULL;
    uint8_t buf[LVC_FILE_HEADER_SIZE];
    size_t got = read_full(f, buf, sizeof(buf));
    if (got < sizeof(buf) && ferror(f))
        return lvc_error(LVC_EIO, ".lvc reader: read error");
    LvcFileHeader h;
    int r = lvc_file_header_parse(&h, buf, got);
    if (r < 0)
        return r;
    /* Skip header bytes beyond the ones this version knows. */
    for (int skip = r - LVC_FILE_HEADER_SIZE; skip > 0;) {
        size_t k = read_full(f, buf, skip < (int)sizeof(buf) ? (size_t)skip : sizeof(buf));
        if (k == 0) {
            if (ferror(f))
                return lvc_error(LVC_EIO, ".lvc reader: read error");
            return lvc_error(LVC_EDATA, ".lvc header truncated: header size %d, file ends "
                             "within it", r);
        }
        skip -= (int)k;
    }
    LvcFileReader *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return lvc_error(LVC_ENOMEM, ".lvc reader: out of memory");
    rd->f = f;
    rd->header = h;
    rd->offset = (uint64_t)r;
    *out = rd;
    return 0;
}

const LvcFileHeader *lvc_file_reader_header(const LvcFileReader *r) { return &r->header; }

uint64_t lvc_file_reader_offset(const LvcFileReader *r) { return r->offset; }

int lvc_file_reader_read(LvcFileReader *r, const uint8_t **data, size_t *size, int64_t *pts)
{
    if (!r || !data || !size || !pts)
        return lvc_error(LVC_EINVAL, ".lvc reader: NULL argument");
    uint8_t hdr[LVC_FILE_FRAME_HEADER_SIZE];
    size_t got = read_full(r->f, hdr, sizeof(hdr));
    if (got < sizeof(hdr)) {
        if (ferror(r->f))
            return lvc_error(LVC_EIO, ".lvc reader: read error at offset %llu",
                             (unsigned long long)(r->offset + got));
        if (got == 0)
            return LVC_EOF;
        return lvc_error(LVC_EDATA, ".lvc frame %u truncated: header of %zu of %d bytes at offset "
                         "%llu", r->index, got, LVC_FILE_FRAME_HEADER_SIZE,
                         (unsigned long long)r->offset);
    }
    uint32_t n;
    int64_t t;
    if (lvc_file_frame_header_parse(hdr, &n, &t) < 0)
        return lvc_error(LVC_EDATA, ".lvc frame %u at offset %llu: size %u outside 1..%u",
                         r->index, (unsigned long long)r->offset, n, LVC_FILE_MAX_FRAME);
    /* Grow the buffer with the data actually present, so a truncated file that claims a large
     * frame does not allocate the claimed size at once. */
    size_t have = 0;
    while (have < n) {
        if (have == r->cap) {
            size_t want = r->cap ? r->cap * 2 : 65536;
            if (want > n)
                want = n;
            uint8_t *nb = realloc(r->buf, want);
            if (!nb)
                return lvc_error(LVC_ENOMEM, ".lvc reader: out of memory for a %u-byte frame", n);
            r->buf = nb;
            r->cap = want;
        }
        size_t want = (r->cap < n ? r->cap : n) - have;
        size_t k = read_full(r->f, r->buf + have, want);
        have += k;
        if (k < want) {
            if (ferror(r->f))
                return lvc_error(LVC_EIO, ".lvc reader: read error in frame %u", r->index);
            return lvc_error(LVC_EDATA, ".lvc frame %u truncated: %zu of %u bytes at offset %llu",
                             r->index, have, n, (unsigned long long)r->offset);
        }
    }
    r->offset += LVC_FILE_FRAME_HEADER_SIZE + (uint64_t)n;
    r->index++;
    *data = r->buf;
    *size = n;
    *pts = t;
    return 0;
}

void lvc_file_reader_close(LvcFileReader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

/* ---- reader over memory ---- */

int lvc_file_mem_open(LvcFileMemReader *r, const uint8_t *data, size_t size)
{
    if (!r || (!data && size))
        return lvc_error(LVC_EINVAL, ".lvc reader: NULL argument");
    memset(r, 0, sizeof(*r));
    int h = lvc_file_header_parse(&r->header, data, size);
    if (h < 0)
        return h;
    if ((size_t)h > size)
        return lvc_error(LVC_EDATA, ".lvc header truncated: header size %d, file has %zu bytes",
                         h, size);
    r->data = data;
    r->size = size;
    r->pos = (size_t)h;
    return 0;
}

int lvc_file_mem_next(LvcFileMemReader *r, const uint8_t **frame, size_t *size, int64_t *pts)
{
    if (!r || !frame || !size || !pts)
        return lvc_error(LVC_EINVAL, ".lvc reader: NULL argument");
    size_t left = r->size - r->pos;
    if (left == 0)
        return LVC_EOF;
    if (left < LVC_FILE_FRAME_HEADER_SIZE)
        return lvc_error(LVC_EDATA, ".lvc frame %u truncated: header of %zu of %d bytes at offset "
                         "%zu", r->index, left, LVC_FILE_FRAME_HEADER_SIZE, r->pos);
    uint32_t n;
    int64_t t;
    if (lvc_file_frame_header_parse(r->data + r->pos, &n, &t) < 0)
        return lvc_error(LVC_EDATA, ".lvc frame %u at offset %zu: size %u outside 1..%u",
                         r->index, r->pos, n, LVC_FILE_MAX_FRAME);
    left -= LVC_FILE_FRAME_HEADER_SIZE;
    if (n > left)
        return lvc_error(LVC_EDATA, ".lvc frame %u truncated: %zu of %u bytes at offset %zu",
                         r->index, left, n, r->pos);
    *frame = r->data + r->pos + LVC_FILE_FRAME_HEADER_SIZE;
    *size = n;
    *pts = t;
    r->pos += LVC_FILE_FRAME_HEADER_SIZE + (size_t)n;
    r->index++;
    return 0;
}
