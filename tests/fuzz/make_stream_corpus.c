/* Writes the seed corpora of fuzz_units and fuzz_lvcfile and the tool test's fixture:
 *
 *   make_stream_corpus SOURCE_ROOT
 *
 * writes the files of SOURCE_ROOT/tests/fuzz/corpus/fuzz_units/ and .../fuzz_lvcfile/ and
 * SOURCE_ROOT/tests/data/small.lvc.  Built (not installed) by tools/meson.build.  The slices
 * hold filler bytes, not real rANS streams: the units layer does not look inside them.
 * fuzz_units inputs are a packet after one byte selecting the caller's slice count (see
 * fuzz_units.c).
 *
 *   make_stream_corpus --model OUT.lvcm
 *
 * writes a small random test model with inter graphs (model_write.h), for tests/test_tool.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lvcfile.h"
#include "model_write.h"
#include "units.h"

static const char *root;

static int write_file(const char *dir, const char *name, const uint8_t *data, size_t size)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    return 0;
}

/* A packet: SH for I-frames, FU header, n slices of the given sizes (filler bytes). */
static size_t packet(uint8_t *out, int w, int h, const LvcFrameHeader *fh, const size_t *sizes,
                     int n, const uint8_t *ext, size_t ext_size)
{
    size_t pos = 0;
    if (fh->type == LVC_FRAME_I) {
        LvcSeqHeader sh;
        lvc_sh_init(&sh, w, h);
        for (int i = 0; i < LVC_MODEL_ID_SIZE; i++)
            sh.model_id[i] = (uint8_t)(0x10 * i + 7);
        sh.color.primaries = 1;
        sh.color.transfer = 1;
        sh.color.matrix = 1;
        sh.color.range = 1;
        sh.par_num = sh.par_den = 1;
        sh.fps_num = 30000;
        sh.fps_den = 1001;
        sh.ext = ext;
        sh.ext_size = ext_size;
        int r = lvc_sh_write(&sh, out, LVC_SH_MAX_SIZE);
        if (r < 0)
            exit(1);
        pos = (size_t)r;
    }
    int r = lvc_fu_write_header(fh, n, sizes, out + pos, LVC_FU_HEADER_MAX_SIZE);
    if (r < 0) {
        fprintf(stderr, "fu header: %s\n", lvc_last_error());
        exit(1);
    }
    pos += (size_t)r;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            out[pos++] = (uint8_t)(k * 13 + i);
    return pos;
}

/* fuzz_units input: selector byte (caller's n_slices) + packet. */
static void unit(const char *name, int n_sel, const uint8_t *p, size_t size)
{
    uint8_t buf[8192];
    buf[0] = (uint8_t)n_sel;
    memcpy(buf + 1, p, size);
    write_file("tests/fuzz/corpus/fuzz_units", name, buf, size + 1);
}

typedef struct Stream {
    uint8_t data[65536];
    size_t size;
} Stream;

static void stream_header(Stream *s, int w, int h, uint32_t count, uint64_t duration)
{
    LvcFileHeader fh;
    lvc_file_header_init(&fh, w, h, 1001, 30000);
    fh.frame_count = count;
    fh.duration = duration;
    lvc_file_header_write(&fh, s->data);
    s->size = LVC_FILE_HEADER_SIZE;
}

static void stream_frame(Stream *s, const uint8_t *p, size_t size, int64_t pts)
{
    lvc_wr32(s->data + s->size, (uint32_t)size);
    lvc_wr64(s->data + s->size + 4, (uint64_t)pts);
    memcpy(s->data + s->size + 12, p, size);
    s->size += 12 + size;
}

/* A small stream: I, P, P(refresh, no qp), I, P at the given size. */
static void small_stream(Stream *s, int w, int h)
{
    static uint8_t p[32768];
    int n = lvc_slice_count(w, h);
    size_t sizes[LVC_MAX_SLICES];
    stream_header(s, w, h, 5, 5);
    static const uint8_t ext[3] = {0xe1, 0xe2, 0xe3};
    LvcFrameHeader i_fh = {LVC_FRAME_I, 0, 1, 32}, p_fh = {LVC_FRAME_P, 0, 1, 34},
                   r_fh = {LVC_FRAME_P, 1, 0, 0}, p2 = {LVC_FRAME_P, 0, 0, 0};
    for (int i = 0; i < n; i++)
        sizes[i] = 20 + (size_t)i;
    stream_frame(s, p, packet(p, w, h, &i_fh, sizes, n, ext, sizeof(ext)), 0);
    for (int i = 0; i < n; i++)
        sizes[i] = 8 + (size_t)(i % 3);
    stream_frame(s, p, packet(p, w, h, &p_fh, sizes, n, NULL, 0), 1);
    stream_frame(s, p, packet(p, w, h, &r_fh, sizes, n, NULL, 0), 2);
    for (int i = 0; i < n; i++)
        sizes[i] = 150 + (size_t)i;
    i_fh.qp = 20;
    stream_frame(s, p, packet(p, w, h, &i_fh, sizes, n, NULL, 0), 3);
    stream_frame(s, p, packet(p, w, h, &p2, sizes, n, NULL, 0), 4);
}

static int write_model(const char *path)
{
    LvcTestModelOptions opt = {.with_inter = 1, .seed = 1234, .small = 1};
    LvcModelWriter *w = NULL;
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (lvc_mw_build_test_model(&opt, &w) < 0 || lvc_mw_serialize(w, &bytes, &size) < 0) {
        fprintf(stderr, "cannot build the test model: %s\n", lvc_last_error());
        lvc_mw_free(w);
        return 1;
    }
    lvc_mw_free(w);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(bytes, 1, size, f) == size;
    if (f && fclose(f) != 0)
        ok = 0;
    free(bytes);
    if (!ok) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--model") == 0)
        return write_model(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: make_stream_corpus SOURCE_ROOT | --model OUT.lvcm\n");
        return 2;
    }
    root = argv[1];
    uint8_t p[8192];
    size_t sizes[LVC_MAX_SLICES];
    static const uint8_t ext[4] = {1, 2, 3, 4};

    /* ---- fuzz_units ---- */
    LvcFrameHeader i_fh = {LVC_FRAME_I, 0, 1, 30};
    for (int i = 0; i < LVC_MAX_SLICES; i++)
        sizes[i] = 8 + (size_t)i;
    size_t n;
    n = packet(p, 416, 240, &i_fh, sizes, 1, ext, sizeof(ext));
    unit("i_416x240", 0, p, n);
    n = packet(p, 1920, 1080, &i_fh, sizes, 8, NULL, 0);
    unit("i_1920x1080", 0, p, n);
    n = packet(p, 8192, 8192, &i_fh, sizes, 64, NULL, 0);
    unit("i_8192x8192", 0, p, n);
    n = packet(p, 2, 2, &i_fh, sizes, 1, NULL, 0);
    unit("i_2x2", 0, p, n);
    LvcFrameHeader p_fh = {LVC_FRAME_P, 0, 1, 40}, r_fh = {LVC_FRAME_P, 1, 0, 0};
    n = packet(p, 0, 0, &p_fh, sizes, 1, NULL, 0);
    unit("p_1slice", 1, p, n);
    n = packet(p, 0, 0, &r_fh, sizes, 2, NULL, 0);
    unit("p_refresh_2slices", 2, p, n);
    n = packet(p, 0, 0, &p_fh, sizes, 8, NULL, 0);
    unit("p_8slices", 8, p, n);
    sizes[0] = 300; /* a two-byte LEB128 */
    n = packet(p, 0, 0, &r_fh, sizes, 64, NULL, 0);
    unit("p_64slices", 64, p, n);
    sizes[0] = 8;
    n = packet(p, 0, 0, &p_fh, sizes, 2, NULL, 0);
    unit("p_unknown_size", 0, p, n);
    /* Invalid packets. */
    n = packet(p, 416, 240, &i_fh, sizes, 1, NULL, 0);
    uint8_t q[8192];
    memcpy(q, p, n);
    q[3] = 2;
    unit("bad_sh_version", 0, q, n);
    memcpy(q, p, n);
    q[26] = 1;
    unit("bad_sh_bitdepth", 0, q, n);
    memcpy(q, p, n);
    q[42] = 1;
    unit("bad_sh_flags", 0, q, n);
    memcpy(q, p, n);
    q[43] = 200;
    unit("bad_sh_ext", 0, q, n);
    memcpy(q, p, n);
    q[44] = 0xb0;
    unit("bad_fu_refresh_on_i", 0, q, n);
    memcpy(q, p, n);
    q[44] |= 1;
    unit("bad_fu_reserved", 0, q, n);
    memcpy(q, p, n);
    q[45] = 64;
    unit("bad_fu_qp", 0, q, n);
    unit("bad_truncated_sh", 0, p, 30);
    unit("bad_sh_only", 0, p, 44);
    static const uint8_t redundant[] = {0xc0, 0x88, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5,
                                        6, 7, 8};
    unit("bad_leb_redundant", 2, redundant, sizeof(redundant));
    static const uint8_t overlong[] = {0xc0, 0xff, 0xff, 0xff, 0xff, 0x1f, 1, 2, 3, 4, 5, 6, 7, 8};
    unit("bad_leb_large", 2, overlong, sizeof(overlong));
    static const uint8_t small[] = {0xc0, 7, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, 8};
    unit("bad_slice_small", 2, small, sizeof(small));
    static const uint8_t over[] = {0xc0, 100, 1, 2, 3, 4, 5, 6, 7, 8};
    unit("bad_slice_overflow", 2, over, sizeof(over));

    /* ---- fuzz_lvcfile and the fixture ---- */
    static Stream s;
    small_stream(&s, 416, 240);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "small_416x240.lvc", s.data, s.size);
    write_file("tests/data", "small.lvc", s.data, s.size);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "truncated.lvc", s.data, s.size - 5);
    small_stream(&s, 1920, 1080);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "small_1920x1080.lvc", s.data, s.size);
    small_stream(&s, 8192, 8192);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "small_8192x8192.lvc", s.data, s.size);
    /* A 40-byte header. */
    small_stream(&s, 64, 64);
    memmove(s.data + 40, s.data + 32, s.size - 32);
    memset(s.data + 32, 0xee, 8);
    lvc_wr16(s.data + 6, 40);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "long_header.lvc", s.data, s.size + 8);
    /* P-frame first, and a frame size beyond the limit. */
    stream_header(&s, 416, 240, 0, 0);
    LvcFrameHeader pf = {LVC_FRAME_P, 0, 1, 3};
    sizes[0] = 8;
    n = packet(p, 0, 0, &pf, sizes, 1, NULL, 0);
    stream_frame(&s, p, n, 7);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "p_first.lvc", s.data, s.size);
    lvc_wr32(s.data + s.size, LVC_FILE_MAX_FRAME + 1);
    memset(s.data + s.size + 4, 0, 8);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "bad_frame_size.lvc", s.data, s.size + 12);
    stream_header(&s, 416, 240, 0, 0);
    lvc_wr32(s.data + 12, 0);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "bad_timebase.lvc", s.data, s.size);
    write_file("tests/fuzz/corpus/fuzz_lvcfile", "header_only_truncated.lvc", s.data, 20);
    return 0;
}
