/* Tests of the `.lvc` file reader and writer (codec/FORMAT.md §4). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "lvcfile.h"

#define N_FRAMES 6

static const size_t frame_sizes[N_FRAMES] = {1, 57, 300, 8, 1000, 13};
static const int64_t frame_pts[N_FRAMES] = {0, 3, 6, 9, 12, -5};

static uint8_t frame_byte(int f, size_t k) { return (uint8_t)(f * 17 + k * 3); }

/* Write the test file to f with the writer; returns 0 on success. */
static int write_frames(FILE *f, int n)
{
    LvcFileHeader h;
    lvc_file_header_init(&h, 416, 240, 1, 90000);
    LvcFileWriter *w;
    int r = lvc_file_writer_open(&w, f, &h);
    if (r < 0)
        return r;
    uint8_t buf[1000];
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < frame_sizes[i]; k++)
            buf[k] = frame_byte(i, k);
        r = lvc_file_writer_write(w, buf, frame_sizes[i], frame_pts[i]);
        if (r < 0) {
            lvc_file_writer_close(w);
            return r;
        }
    }
    return lvc_file_writer_close(w);
}

/* The whole test file as bytes (malloc'ed). */
static uint8_t *file_bytes(size_t *size)
{
    FILE *f = tmpfile();
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    if (write_frames(f, N_FRAMES) == 0) {
        long n = ftell(f);
        buf = malloc((size_t)n);
        rewind(f);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
            *size = (size_t)n;
        else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

static void test_header(void)
{
    LvcFileHeader h, g;
    uint8_t buf[LVC_FILE_HEADER_SIZE];
    lvc_file_header_init(&h, 1920, 1080, 1001, 30000);
    h.frame_count = 77;
    h.duration = 0x123456789abcull;
    CHECK(lvc_file_header_write(&h, buf) == 32, "write");
    CHECK(memcmp(buf, "LVCF", 4) == 0 && buf[4] == 1 && buf[6] == 32, "layout");
    CHECK(lvc_file_header_parse(&g, buf, sizeof(buf)) == 32, "parse: %s", lvc_last_error());
    CHECK(g.width == 1920 && g.height == 1080 && g.tb_num == 1001 && g.tb_den == 30000 &&
          g.frame_count == 77 && g.duration == h.duration && g.version == 1, "fields");
    uint8_t bad[LVC_FILE_HEADER_SIZE];
#define MUT(stmt, want, what)                                                                   \
    do {                                                                                        \
        memcpy(bad, buf, sizeof(buf));                                                          \
        stmt;                                                                                   \
        int r_ = lvc_file_header_parse(&g, bad, sizeof(bad));                                   \
        CHECK(r_ == (want), "%s: %d (%s)", what, r_, lvc_last_error());                         \
    } while (0)
    for (int i = 0; i < 4; i++)
        MUT(bad[i] ^= 1, LVC_EDATA, "magic");
    MUT(lvc_wr16(bad + 4, 0), LVC_EUNSUPPORTED, "version 0");
    MUT(lvc_wr16(bad + 4, 2), LVC_EUNSUPPORTED, "version 2");
    MUT(lvc_wr16(bad + 6, 31), LVC_EDATA, "header size 31");
    MUT(lvc_wr16(bad + 6, 0), LVC_EDATA, "header size 0");
    MUT(lvc_wr16(bad + 6, 40), 40, "header size 40");
    MUT(lvc_wr32(bad + 12, 0), LVC_EDATA, "time base numerator 0");
    MUT(lvc_wr32(bad + 16, 0), LVC_EDATA, "time base denominator 0");
#undef MUT
    for (size_t len = 0; len < sizeof(buf); len++)
        CHECK(lvc_file_header_parse(&g, buf, len) == LVC_EDATA, "truncated to %zu", len);
    h.tb_den = 0;
    CHECK(lvc_file_header_write(&h, buf) == LVC_EINVAL, "writer rejects a zero time base");
}

static void check_frames_file(FILE *f, int n_expected, uint32_t count, uint64_t duration)
{
    LvcFileReader *r;
    int ret = lvc_file_reader_open(&r, f);
    CHECK(ret == 0, "open: %s", lvc_last_error());
    if (ret)
        return;
    const LvcFileHeader *h = lvc_file_reader_header(r);
    CHECK(h->width == 416 && h->height == 240 && h->tb_num == 1 && h->tb_den == 90000, "header");
    CHECK(h->frame_count == count, "frame count %u, want %u", h->frame_count, count);
    CHECK(h->duration == duration, "duration %llu, want %llu", (unsigned long long)h->duration,
          (unsigned long long)duration);
    for (int i = 0; i < n_expected; i++) {
        const uint8_t *d;
        size_t s;
        int64_t pts;
        ret = lvc_file_reader_read(r, &d, &s, &pts);
        CHECK(ret == 0, "frame %d: %d %s", i, ret, lvc_last_error());
        if (ret)
            break;
        CHECK(s == frame_sizes[i] && pts == frame_pts[i], "frame %d size %zu pts %lld", i, s,
              (long long)pts);
        int same = 1;
        for (size_t k = 0; k < s && k < frame_sizes[i]; k++)
            same &= d[k] == frame_byte(i, k);
        CHECK(same, "frame %d data", i);
    }
    const uint8_t *d;
    size_t s;
    int64_t pts;
    CHECK(lvc_file_reader_read(r, &d, &s, &pts) == LVC_EOF, "clean EOF");
    CHECK(lvc_file_reader_read(r, &d, &s, &pts) == LVC_EOF, "EOF again");
    lvc_file_reader_close(r);
}

static void test_round_trip(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL, "tmpfile");
    if (!f)
        return;
    CHECK(write_frames(f, N_FRAMES) == 0, "write: %s", lvc_last_error());
    long end = ftell(f);
    size_t expect = 32;
    for (int i = 0; i < N_FRAMES; i++)
        expect += 12 + frame_sizes[i];
    CHECK(end == (long)expect, "file size %ld, want %zu (close must leave f at the end)", end, expect);
    rewind(f);
    /* pts span -5..12 plus the last interval (-5 after 12 goes backwards: 0). */
    check_frames_file(f, N_FRAMES, N_FRAMES, 17);
    fclose(f);

    /* Increasing pts: span + last interval. */
    f = tmpfile();
    if (!f)
        return;
    CHECK(write_frames(f, 5) == 0, "write 5");
    rewind(f);
    check_frames_file(f, 5, 5, 15);
    fclose(f);

    /* One frame: duration unknown. */
    f = tmpfile();
    if (!f)
        return;
    CHECK(write_frames(f, 1) == 0, "write 1");
    rewind(f);
    check_frames_file(f, 1, 1, 0);
    fclose(f);

    /* Explicit duration, empty file. */
    f = tmpfile();
    if (!f)
        return;
    LvcFileHeader h;
    lvc_file_header_init(&h, 416, 240, 1, 90000);
    LvcFileWriter *w;
    CHECK(lvc_file_writer_open(&w, f, &h) == 0, "open");
    lvc_file_writer_set_duration(w, 1234);
    CHECK(lvc_file_writer_close(w) == 0, "close");
    rewind(f);
    check_frames_file(f, 0, 0, 1234);
    fclose(f);

    /* The writer rejects frame sizes 0 and 2^26 + 1. */
    f = tmpfile();
    if (!f)
        return;
    CHECK(lvc_file_writer_open(&w, f, &h) == 0, "open");
    uint8_t b = 0;
    CHECK(lvc_file_writer_write(w, &b, 0, 0) == LVC_EINVAL, "size 0");
    CHECK(lvc_file_writer_write(w, &b, LVC_FILE_MAX_FRAME + 1, 0) == LVC_EINVAL, "size 2^26+1");
    CHECK(lvc_file_writer_close(w) == 0, "close");
    fclose(f);
}

static void test_not_seekable(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    FILE *wf = fdopen(fds[1], "wb");
    FILE *rf = fdopen(fds[0], "rb");
    CHECK(wf && rf, "fdopen");
    if (!wf || !rf)
        return;
    CHECK(write_frames(wf, N_FRAMES) == 0, "write into a pipe: %s", lvc_last_error());
    fclose(wf);
    check_frames_file(rf, N_FRAMES, 0, 0);
    fclose(rf);
}

static void test_truncated(void)
{
    size_t size = 0;
    uint8_t *data = file_bytes(&size);
    CHECK(data != NULL, "file bytes");
    if (!data)
        return;
    /* Frame boundaries: lengths at which the file ends cleanly. */
    size_t bounds[N_FRAMES + 1];
    bounds[0] = 32;
    for (int i = 0; i < N_FRAMES; i++)
        bounds[i + 1] = bounds[i] + 12 + frame_sizes[i];
    for (size_t len = 0; len <= size; len++) {
        int clean = -1;
        for (int i = 0; i <= N_FRAMES; i++)
            if (bounds[i] == len)
                clean = i;
        /* Memory reader. */
        LvcFileMemReader m;
        int r = lvc_file_mem_open(&m, len ? data : NULL, len);
        int frames = 0, last = r;
        if (r == 0) {
            const uint8_t *d;
            size_t s;
            int64_t pts;
            while ((last = lvc_file_mem_next(&m, &d, &s, &pts)) == 0) {
                CHECK(d >= data && d + s <= data + len, "frame inside the input");
                frames++;
            }
        }
        if (clean >= 0)
            CHECK(last == LVC_EOF && frames == clean, "len %zu: %d after %d frames", len, last, frames);
        else
            CHECK(last == LVC_EDATA && lvc_last_error()[0], "len %zu: %d after %d frames", len, last,
                  frames);

        /* FILE reader. */
        FILE *f = tmpfile();
        if (!f)
            continue;
        if (len)
            fwrite(data, 1, len, f);
        rewind(f);
        LvcFileReader *fr;
        r = lvc_file_reader_open(&fr, f);
        int frames2 = 0, last2 = r;
        if (r == 0) {
            const uint8_t *d;
            size_t s;
            int64_t pts;
            while ((last2 = lvc_file_reader_read(fr, &d, &s, &pts)) == 0)
                frames2++;
            lvc_file_reader_close(fr);
        }
        CHECK(last2 == last && frames2 == frames, "len %zu: FILE reader %d/%d, memory %d/%d", len,
              last2, frames2, last, frames);
        fclose(f);
    }
    free(data);
}

static void test_frame_sizes(void)
{
    uint8_t buf[32 + 12 + 16];
    LvcFileHeader h;
    lvc_file_header_init(&h, 16, 16, 1, 25);
    lvc_file_header_write(&h, buf);
    static const uint32_t sizes[] = {0, LVC_FILE_MAX_FRAME + 1, 0xffffffffu, LVC_FILE_MAX_FRAME};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        lvc_wr32(buf + 32, sizes[i]);
        lvc_wr64(buf + 36, 0);
        memset(buf + 44, 0xab, 16);
        LvcFileMemReader m;
        const uint8_t *d;
        size_t s;
        int64_t pts;
        CHECK(lvc_file_mem_open(&m, buf, sizeof(buf)) == 0, "open");
        CHECK(lvc_file_mem_next(&m, &d, &s, &pts) == LVC_EDATA, "size %u", sizes[i]);
        CHECK(strstr(lvc_last_error(), sizes[i] == LVC_FILE_MAX_FRAME ? "truncated" : "outside"),
              "message for %u: %s", sizes[i], lvc_last_error());
        FILE *f = tmpfile();
        if (!f)
            continue;
        fwrite(buf, 1, sizeof(buf), f);
        rewind(f);
        LvcFileReader *r;
        CHECK(lvc_file_reader_open(&r, f) == 0, "open");
        CHECK(lvc_file_reader_read(r, &d, &s, &pts) == LVC_EDATA, "FILE size %u", sizes[i]);
        lvc_file_reader_close(r);
        fclose(f);
    }
}

static void test_long_header(void)
{
    /* A 40-byte header: readers skip the extra 8 bytes. */
    uint8_t buf[40 + 12 + 3];
    LvcFileHeader h;
    lvc_file_header_init(&h, 16, 16, 1, 25);
    lvc_file_header_write(&h, buf);
    lvc_wr16(buf + 6, 40);
    memset(buf + 32, 0xee, 8);
    lvc_wr32(buf + 40, 3);
    lvc_wr64(buf + 44, (uint64_t)(int64_t)-7);
    memcpy(buf + 52, "abc", 3);
    LvcFileMemReader m;
    const uint8_t *d;
    size_t s;
    int64_t pts;
    CHECK(lvc_file_mem_open(&m, buf, sizeof(buf)) == 0, "open");
    CHECK(lvc_file_mem_next(&m, &d, &s, &pts) == 0 && s == 3 && pts == -7 && !memcmp(d, "abc", 3),
          "frame after a long header");
    CHECK(lvc_file_mem_open(&m, buf, 36) == LVC_EDATA, "header size beyond the data");
    FILE *f = tmpfile();
    if (!f)
        return;
    fwrite(buf, 1, sizeof(buf), f);
    rewind(f);
    LvcFileReader *r;
    CHECK(lvc_file_reader_open(&r, f) == 0, "open");
    CHECK(lvc_file_reader_read(r, &d, &s, &pts) == 0 && s == 3 && pts == -7 && !memcmp(d, "abc", 3),
          "FILE frame after a long header");
    CHECK(lvc_file_reader_read(r, &d, &s, &pts) == LVC_EOF, "EOF");
    lvc_file_reader_close(r);
    fclose(f);
}

int main(void)
{
    RUN(test_header);
    RUN(test_round_trip);
    RUN(test_not_seekable);
    RUN(test_truncated);
    RUN(test_frame_sizes);
    RUN(test_long_header);
    return check_finish();
}
