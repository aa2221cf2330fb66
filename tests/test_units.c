/* Tests of the elementary stream units (codec/FORMAT.md §1, §2.4). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "units.h"

#include "rng.h"

static void random_sh(LvcSeqHeader *sh, uint8_t *ext_buf)
{
    lvc_sh_init(sh, rnd_in(1, LVC_MAX_DIM), rnd_in(1, LVC_MAX_DIM));
    for (int i = 0; i < LVC_MODEL_ID_SIZE; i++)
        sh->model_id[i] = (uint8_t)rnd();
    sh->color.primaries = (uint8_t)rnd();
    sh->color.transfer = (uint8_t)rnd();
    sh->color.matrix = (uint8_t)rnd();
    sh->color.range = (uint8_t)rnd_in(0, 2);
    sh->par_num = rnd_in(0, 0xffff);
    sh->par_den = rnd_in(0, 0xffff);
    sh->fps_num = rnd();
    sh->fps_den = rnd_in(0, 0xffff);
    sh->ext_size = (rnd() & 1) ? 0 : (size_t)rnd_in(0, 255);
    for (size_t i = 0; i < sh->ext_size; i++)
        ext_buf[i] = (uint8_t)rnd();
    sh->ext = sh->ext_size ? ext_buf : NULL;
}

static void test_sh_round_trip(void)
{
    for (int it = 0; it < 500; it++) {
        LvcSeqHeader a, b;
        uint8_t ext[255], buf[LVC_SH_MAX_SIZE + 8];
        random_sh(&a, ext);
        int n = lvc_sh_write(&a, buf, sizeof(buf));
        CHECK(n == (int)(44 + a.ext_size), "write returned %d", n);
        if (n < 0)
            continue;
        int m = lvc_sh_read(&b, buf, (size_t)n);
        CHECK(m == n, "read returned %d, wrote %d: %s", m, n, lvc_last_error());
        CHECK(lvc_sh_equal(&a, &b), "headers differ after a round trip");
        CHECK(b.ext_size == a.ext_size, "ext size %zu vs %zu", b.ext_size, a.ext_size);
        if (a.ext_size && b.ext_size == a.ext_size) {
            CHECK(b.ext == buf + 44, "extension must point into the input");
            CHECK(memcmp(b.ext, ext, a.ext_size) == 0, "extension bytes differ");
        }
        /* Trailing bytes are not consumed. */
        buf[n] = 0x80;
        CHECK(lvc_sh_read(&b, buf, (size_t)n + 1) == n, "trailing byte consumed");
        /* A write into a buffer one byte too small fails. */
        CHECK(lvc_sh_write(&a, buf, (size_t)n - 1) == LVC_EINVAL, "short buffer accepted");
    }
}

static void test_sh_equal(void)
{
    LvcSeqHeader a, b;
    uint8_t ext[255], e2[3] = {1, 2, 3};
    random_sh(&a, ext);
    b = a;
    b.ext = e2;
    b.ext_size = 3;
    CHECK(lvc_sh_equal(&a, &b), "equality must ignore the extension");
#define DIFFER(stmt)                                                                            \
    do {                                                                                        \
        b = a;                                                                                  \
        stmt;                                                                                   \
        CHECK(!lvc_sh_equal(&a, &b), "change not seen: %s", #stmt);                             \
    } while (0)
    DIFFER(b.model_id[15] ^= 1);
    DIFFER(b.width ^= 1);
    DIFFER(b.height ^= 1);
    DIFFER(b.color.primaries ^= 1);
    DIFFER(b.color.transfer ^= 1);
    DIFFER(b.color.matrix ^= 1);
    DIFFER(b.color.range ^= 1);
    DIFFER(b.par_num ^= 1);
    DIFFER(b.par_den ^= 1);
    DIFFER(b.fps_num ^= 1);
    DIFFER(b.fps_den ^= 1);
    DIFFER(b.profile ^= 1);
#undef DIFFER
}

/* A valid header with a 5-byte extension, serialised. */
static int valid_sh(uint8_t *buf)
{
    static const uint8_t ext[5] = {9, 8, 7, 6, 5};
    LvcSeqHeader sh;
    lvc_sh_init(&sh, 416, 240);
    sh.ext = ext;
    sh.ext_size = sizeof(ext);
    return lvc_sh_write(&sh, buf, LVC_SH_MAX_SIZE);
}

static void expect_sh(const uint8_t *buf, size_t n, int want, const char *what)
{
    LvcSeqHeader sh;
    int r = lvc_sh_read(&sh, buf, n);
    CHECK(r == want, "%s: got %d, want %d (%s)", what, r, want, lvc_last_error());
    CHECK(r >= 0 || lvc_last_error()[0], "%s: no message", what);
}

static void test_sh_reject(void)
{
    uint8_t good[LVC_SH_MAX_SIZE], buf[LVC_SH_MAX_SIZE];
    int n = valid_sh(good);
    CHECK(n == 49, "valid header size %d", n);
    expect_sh(good, (size_t)n, n, "valid");
#define MUT(off, val, want, what)                                                               \
    do {                                                                                        \
        memcpy(buf, good, (size_t)n);                                                           \
        buf[off] = (uint8_t)(val);                                                              \
        expect_sh(buf, (size_t)n, want, what);                                                  \
    } while (0)
    for (int i = 0; i < 3; i++)
        MUT(i, good[i] ^ 0x20, LVC_EDATA, "magic");
    MUT(3, 0, LVC_EUNSUPPORTED, "bitstream version 0");
    MUT(3, 2, LVC_EUNSUPPORTED, "bitstream version 2");
    MUT(4, 0, LVC_EUNSUPPORTED, "op-set version 0");
    MUT(4, 2, LVC_EUNSUPPORTED, "op-set version 2");
    MUT(5, 0, LVC_EUNSUPPORTED, "profile 0");
    MUT(5, 2, LVC_EUNSUPPORTED, "profile 2");
    for (int v = 1; v < 256; v++)
        MUT(26, v, LVC_EUNSUPPORTED, "bit depth code");
    MUT(27, 0, LVC_EUNSUPPORTED, "monochrome");
    MUT(27, 2, LVC_EUNSUPPORTED, "4:2:2");
    MUT(27, 3, LVC_EUNSUPPORTED, "4:4:4");
    MUT(27, 4, LVC_EUNSUPPORTED, "chroma 4");
    MUT(27, 255, LVC_EUNSUPPORTED, "chroma 255");
    MUT(31, 3, LVC_EDATA, "range 3");
    MUT(31, 255, LVC_EDATA, "range 255");
    for (int bit = 0; bit < 8; bit++)
        MUT(42, 1 << bit, LVC_EDATA, "flags");
    MUT(43, 6, LVC_EDATA, "extension longer than the input");
    MUT(43, 255, LVC_EDATA, "extension 255");
    MUT(43, 4, 48, "shorter extension");
    /* Sizes: 0 and 8193 rejected, 1 and 8192 accepted. */
    static const struct { int off, v, want; } sizes[] = {
        {22, 0, LVC_EDATA}, {22, 8193, LVC_EDATA}, {22, 65535, LVC_EDATA}, {22, 1, 49},
        {22, 8192, 49}, {24, 0, LVC_EDATA}, {24, 8193, LVC_EDATA}, {24, 1, 49}, {24, 8192, 49},
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        memcpy(buf, good, (size_t)n);
        lvc_wr16(buf + sizes[i].off, (uint16_t)sizes[i].v);
        expect_sh(buf, (size_t)n, sizes[i].want, "size");
    }
#undef MUT
    /* Truncated at every length. */
    for (int len = 0; len < n; len++)
        expect_sh(good, (size_t)len, LVC_EDATA, "truncated");
    /* Colour code points and aspect / frame rate fields are free. */
    memcpy(buf, good, (size_t)n);
    memset(buf + 28, 0xff, 3);
    memset(buf + 32, 0xff, 10);
    expect_sh(buf, (size_t)n, n, "free fields");
}

static void test_sh_write_invalid(void)
{
    uint8_t buf[LVC_SH_MAX_SIZE];
    LvcSeqHeader sh;
#define BAD(stmt)                                                                               \
    do {                                                                                        \
        lvc_sh_init(&sh, 64, 64);                                                               \
        stmt;                                                                                   \
        CHECK(lvc_sh_write(&sh, buf, sizeof(buf)) == LVC_EINVAL, "accepted: %s", #stmt);        \
    } while (0)
    BAD(sh.width = 0);
    BAD(sh.height = 8193);
    BAD(sh.bit_depth_code = 1);
    BAD(sh.chroma_format = 0);
    BAD(sh.color.range = 3);
    BAD(sh.flags = 1);
    BAD(sh.par_num = 65536);
    BAD(sh.fps_den = -1);
    BAD(sh.ext_size = 256; sh.ext = buf);
    BAD(sh.ext_size = 3; sh.ext = NULL);
    BAD(sh.bitstream_version = 2);
    BAD(sh.profile = 0);
#undef BAD
    lvc_sh_init(&sh, 64, 64);
    CHECK(lvc_sh_write(&sh, buf, sizeof(buf)) == 44, "default header");
}

/* Build a packet: SH (for I) + FU header + slices of the given sizes filled with a pattern. */
static size_t build_packet(uint8_t *out, const LvcSeqHeader *sh, const LvcFrameHeader *fh,
                           int n, const size_t *sizes)
{
    size_t pos = 0;
    if (sh) {
        int r = lvc_sh_write(sh, out, LVC_SH_MAX_SIZE);
        if (r < 0)
            return 0;
        pos = (size_t)r;
    }
    int r = lvc_fu_write_header(fh, n, sizes, out + pos, LVC_FU_HEADER_MAX_SIZE);
    if (r < 0)
        return 0;
    pos += (size_t)r;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            out[pos++] = (uint8_t)(i * 31 + k);
    return pos;
}

static void test_packet_round_trip(void)
{
    size_t cap = LVC_SH_MAX_SIZE + LVC_FU_HEADER_MAX_SIZE + 64 * 20000;
    uint8_t *pkt = malloc(cap);
    CHECK(pkt != NULL, "malloc");
    if (!pkt)
        return;
    for (int it = 0; it < 400; it++) {
        LvcSeqHeader sh;
        uint8_t ext[255];
        random_sh(&sh, ext);
        LvcFrameHeader fh = {0};
        fh.type = (rnd() & 1) ? LVC_FRAME_P : LVC_FRAME_I;
        fh.refresh = fh.type == LVC_FRAME_P ? (int)(rnd() & 1) : 0;
        fh.qp_present = fh.type == LVC_FRAME_I ? 1 : (int)(rnd() & 1);
        fh.qp = fh.qp_present ? rnd_in(0, 63) : 0;
        int n = fh.type == LVC_FRAME_I ? lvc_slice_count(sh.width, sh.height) : rnd_in(1, 64);
        size_t sizes[LVC_MAX_SLICES];
        for (int i = 0; i < n; i++) {
            uint32_t c = rnd() % 8;
            sizes[i] = c == 0 ? 8 : c == 1 ? (size_t)rnd_in(8, 20000) : (size_t)rnd_in(8, 300);
        }
        size_t size = build_packet(pkt, fh.type == LVC_FRAME_I ? &sh : NULL, &fh, n, sizes);
        CHECK(size > 0, "build failed: %s", lvc_last_error());
        if (!size)
            continue;
        LvcPacketInfo info;
        int r = lvc_packet_parse(pkt, size, fh.type == LVC_FRAME_I ? 0 : n, &info);
        CHECK(r == 0, "parse: %d %s", r, lvc_last_error());
        if (r)
            continue;
        CHECK(info.has_sh == (fh.type == LVC_FRAME_I), "has_sh");
        if (info.has_sh) {
            CHECK(lvc_sh_equal(&info.sh, &sh), "SH differs");
            CHECK(info.sh.ext_size == sh.ext_size, "ext size");
            CHECK(info.fu_offset == 44 + sh.ext_size, "fu offset %zu", info.fu_offset);
        }
        CHECK(info.fh.type == fh.type && info.fh.refresh == fh.refresh &&
              info.fh.qp_present == fh.qp_present && info.fh.qp == fh.qp, "frame header");
        CHECK(info.n_slices == n, "n_slices %d vs %d", info.n_slices, n);
        size_t total = 0;
        for (int i = 0; i < info.n_slices && i < n; i++) {
            CHECK(info.slice_size[i] == sizes[i], "slice %d size %zu vs %zu", i,
                  info.slice_size[i], sizes[i]);
            CHECK(info.slice[i][0] == (uint8_t)(i * 31) &&
                  info.slice[i][sizes[i] - 1] == (uint8_t)(i * 31 + sizes[i] - 1), "slice %d data", i);
            total += sizes[i];
        }
        CHECK(info.slice[n - 1] + info.slice_size[n - 1] == pkt + size, "slices end the packet");
        CHECK(total <= size, "sum");
        CHECK(lvc_packet_is_keyframe(pkt, size) == (fh.type == LVC_FRAME_I), "keyframe flag");
        /* An I-frame packet parses the same whatever n_slices the caller passes. */
        if (fh.type == LVC_FRAME_I)
            CHECK(lvc_packet_parse(pkt, size, 7, &info) == 0 && info.n_slices == n, "SH decides");
    }
    free(pkt);
}

/* P-frame packet bytes: header byte, then raw bytes. */
static int parse_raw(const uint8_t *p, size_t n, int n_slices)
{
    LvcPacketInfo info;
    return lvc_packet_parse(p, n, n_slices, &info);
}

static void test_packet_reject(void)
{
    uint8_t buf[1024];
    uint8_t sh[LVC_SH_MAX_SIZE];
    int shn = valid_sh(sh); /* 416x240: one slice */
    CHECK(lvc_slice_count(416, 240) == 1, "416x240 has one slice");

    CHECK(parse_raw(buf, 0, 1) == LVC_EDATA, "empty packet");
    /* SH only. */
    CHECK(parse_raw(sh, (size_t)shn, 0) == LVC_EDATA, "SH without a frame unit");
    /* SH then a byte without bit 7. */
    memcpy(buf, sh, (size_t)shn);
    buf[shn] = 0x10;
    buf[shn + 1] = 20;
    memset(buf + shn + 2, 0, 8);
    CHECK(parse_raw(buf, (size_t)shn + 10, 0) == LVC_EDATA, "FU byte without bit 7");
    buf[shn] = 0x90;
    CHECK(parse_raw(buf, (size_t)shn + 10, 0) == 0, "valid I packet: %s", lvc_last_error());
    CHECK(lvc_packet_is_keyframe(buf, (size_t)shn + 10) == 1, "is key frame");
    for (int bit = 0; bit < 4; bit++) {
        buf[shn] = (uint8_t)(0x90 | (1 << bit));
        CHECK(parse_raw(buf, (size_t)shn + 10, 0) == LVC_EDATA, "reserved bit %d", bit);
    }
    buf[shn] = 0xb0;
    CHECK(parse_raw(buf, (size_t)shn + 10, 0) == LVC_EDATA, "refresh on I");
    buf[shn] = 0x80;
    CHECK(parse_raw(buf, (size_t)shn + 10, 0) == LVC_EDATA, "I without qp");
    buf[shn] = 0xd0;
    CHECK(parse_raw(buf, (size_t)shn + 10, 0) == LVC_EDATA, "P after an SH");
    CHECK(lvc_packet_is_keyframe(buf, (size_t)shn + 10) == 0, "P is not a key frame");
    buf[shn] = 0x90;
    buf[shn + 1] = 64;
    CHECK(parse_raw(buf, (size_t)shn + 10, 0) == LVC_EDATA, "qp 64");
    buf[shn + 1] = 255;
    CHECK(parse_raw(buf, (size_t)shn + 10, 0) == LVC_EDATA, "qp 255");
    buf[shn + 1] = 63;
    CHECK(parse_raw(buf, (size_t)shn + 10, 0) == 0, "qp 63");
    CHECK(parse_raw(buf, (size_t)shn + 1, 0) == LVC_EDATA, "truncated before qp");
    CHECK(parse_raw(buf, (size_t)shn + 9, 0) == LVC_EDATA, "last slice of 7 bytes");
    /* An I-frame without a sequence header. */
    CHECK(parse_raw(buf + shn, 10, 1) == LVC_EDATA, "I without SH");
    CHECK(lvc_packet_is_keyframe(buf + shn, 10) == 0, "bare I is not a key frame");

    /* P-frames with two slices: 0xc0 | sizes | payload. */
    static const struct { uint8_t bytes[8]; size_t n; const char *what; } leb[] = {
        {{0x88, 0x00}, 2, "redundant zero group"},
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x08}, 6, "six bytes"},
        {{0x88, 0x80, 0x80, 0x80, 0x00}, 5, "redundant in five bytes"},
        {{0xff, 0xff, 0xff, 0xff, 0x1f}, 5, "above 2^32 - 1"},
        {{0x80, 0x80, 0x80, 0x80, 0x10}, 5, "2^32"},
        {{0xff, 0xff, 0xff, 0xff, 0x0f}, 5, "2^32 - 1 exceeds the packet"},
        {{0x88}, 1, "truncated LEB128 (continuation at the end)"},
    };
    for (size_t i = 0; i < sizeof(leb) / sizeof(leb[0]); i++) {
        size_t n = 0;
        buf[n++] = 0xc0;
        memcpy(buf + n, leb[i].bytes, leb[i].n);
        n += leb[i].n;
        if (i < sizeof(leb) / sizeof(leb[0]) - 1) {
            memset(buf + n, 0x55, 40);
            n += 40;
        } else {
            buf[n - 1] = 0x88; /* the packet ends inside the LEB128 */
        }
        CHECK(parse_raw(buf, n, 2) == LVC_EDATA, "LEB128 %s", leb[i].what);
    }
    /* Slice sizes: first 7 bytes, first too large, exact fit, last too small. */
    memset(buf, 0x55, sizeof(buf));
    buf[0] = 0xe0; /* P, refresh */
    buf[1] = 7;
    CHECK(parse_raw(buf, 2 + 7 + 8, 2) == LVC_EDATA, "slice 0 below 8 bytes");
    buf[1] = 8;
    CHECK(parse_raw(buf, 2 + 8 + 8, 2) == 0, "8 + 8: %s", lvc_last_error());
    CHECK(parse_raw(buf, 2 + 8 + 7, 2) == LVC_EDATA, "last slice 7 bytes");
    CHECK(parse_raw(buf, 2 + 8, 2) == LVC_EDATA, "last slice empty");
    buf[1] = 100;
    CHECK(parse_raw(buf, 2 + 50, 2) == LVC_EDATA, "slice 0 exceeds the packet");
    CHECK(strstr(lvc_last_error(), "slice 0 size 100 exceeds the 50 remaining bytes") != NULL,
          "message: %s", lvc_last_error());
    /* Three slices whose sizes together overflow. */
    buf[0] = 0xd0;
    buf[1] = 5;
    buf[2] = 40;
    buf[3] = 40;
    CHECK(parse_raw(buf, 4 + 60, 3) == LVC_EDATA, "sum of slices exceeds the packet");
    CHECK(parse_raw(buf, 4 + 88, 3) == 0, "40 + 40 + 8: %s", lvc_last_error());
    /* A P-frame with an unknown slice count. */
    CHECK(parse_raw(buf, 4 + 88, 0) == LVC_ENOREF, "P without active sequence");
    CHECK(parse_raw(buf, 4 + 88, 65) == LVC_EINVAL, "65 slices");

    /* A valid multi-slice packet whose last slice is 8 bytes fails at every truncation. */
    LvcSeqHeader s;
    lvc_sh_init(&s, 1920, 1080);
    LvcFrameHeader fh = {LVC_FRAME_I, 0, 1, 30};
    size_t sizes[LVC_MAX_SLICES];
    int n = lvc_slice_count(1920, 1080);
    for (int i = 0; i < n; i++)
        sizes[i] = i == n - 1 ? 8 : (size_t)(8 + 37 * i);
    uint8_t big[4096];
    size_t total = build_packet(big, &s, &fh, n, sizes);
    CHECK(total > 0 && parse_raw(big, total, 0) == 0, "valid 1080p packet");
    for (size_t len = 0; len < total; len++) {
        int r = parse_raw(big, len, 0);
        CHECK(r == LVC_EDATA, "truncated to %zu: %d", len, r);
    }
}

static void test_fu_write_invalid(void)
{
    uint8_t buf[LVC_FU_HEADER_MAX_SIZE];
    size_t sizes[LVC_MAX_SLICES];
    for (int i = 0; i < LVC_MAX_SLICES; i++)
        sizes[i] = 0xffffffffu;
    LvcFrameHeader fh = {LVC_FRAME_P, 1, 1, 63};
    int r = lvc_fu_write_header(&fh, 64, sizes, buf, sizeof(buf));
    CHECK(r == LVC_FU_HEADER_MAX_SIZE, "largest header %d", r);
    CHECK(lvc_fu_write_header(&fh, 64, sizes, buf, sizeof(buf) - 1) == LVC_EINVAL, "small cap");
    CHECK(lvc_fu_write_header(&fh, 0, sizes, buf, sizeof(buf)) == LVC_EINVAL, "0 slices");
    CHECK(lvc_fu_write_header(&fh, 65, sizes, buf, sizeof(buf)) == LVC_EINVAL, "65 slices");
    sizes[3] = 7;
    CHECK(lvc_fu_write_header(&fh, 64, sizes, buf, sizeof(buf)) == LVC_EINVAL, "slice of 7");
    sizes[3] = 8;
    fh.qp = 64;
    CHECK(lvc_fu_write_header(&fh, 64, sizes, buf, sizeof(buf)) == LVC_EINVAL, "qp 64");
    LvcFrameHeader i1 = {LVC_FRAME_I, 1, 1, 0}, i2 = {LVC_FRAME_I, 0, 0, 0}, p = {LVC_FRAME_P, 0, 0, 0};
    CHECK(lvc_fu_write_header(&i1, 1, NULL, buf, sizeof(buf)) == LVC_EINVAL, "refresh on I");
    CHECK(lvc_fu_write_header(&i2, 1, NULL, buf, sizeof(buf)) == LVC_EINVAL, "I without qp");
    CHECK(lvc_fu_write_header(&p, 1, NULL, buf, sizeof(buf)) == 1 && buf[0] == 0xc0, "bare P");
}

static void test_slices(void)
{
    static const struct { int w, h, n; } table[] = {
        {2, 2, 1},        {1, 1, 1},         {16, 16, 1},       {416, 240, 1},
        {640, 360, 1},    {1280, 720, 4},    {1920, 1080, 8},   {3840, 2160, 32},
        {4096, 2160, 34}, {8192, 8192, 64},  {8192, 16, 1},     {16, 8192, 1},
        {8192, 32, 1},     {8192, 48, 2},    {512, 512, 1},     {528, 512, 2},     {7680, 4320, 64},
    };
    for (size_t t = 0; t < sizeof(table) / sizeof(table[0]); t++) {
        int n = lvc_slice_count(table[t].w, table[t].h);
        CHECK(n == table[t].n, "%dx%d: %d slices, want %d", table[t].w, table[t].h, n, table[t].n);
    }
    CHECK(lvc_slice_count(0, 16) == LVC_EINVAL, "width 0");
    CHECK(lvc_slice_count(16, 8193) == LVC_EINVAL, "height 8193");
    /* Rows cover the latent exactly once, in order, each slice non-empty. */
    for (int h = 1; h <= LVC_MAX_DIM; h += (h < 200 ? 1 : 97)) {
        for (int w = 1; w <= LVC_MAX_DIM; w += 1021) {
            int n = lvc_slice_count(w, h), h1 = lvc_latent_dim(h);
            CHECK(n >= 1 && n <= 64 && n <= h1, "%dx%d: %d slices", w, h, n);
            int next = 0;
            for (int i = 0; i < n; i++) {
                int r0, r1;
                lvc_slice_rows(h1, n, i, &r0, &r1);
                CHECK(r0 == next && r1 > r0, "%dx%d slice %d rows %d..%d", w, h, i, r0, r1);
                next = r1;
            }
            CHECK(next == h1, "%dx%d: rows end at %d of %d", w, h, next, h1);
        }
    }
    int r0, r1;
    lvc_slice_rows(512, 64, 63, &r0, &r1);
    CHECK(r0 == 504 && r1 == 512, "8192 last slice %d..%d", r0, r1);
    lvc_slice_rows(68, 8, 1, &r0, &r1);
    CHECK(r0 == 8 && r1 == 17, "1080p slice 1 %d..%d", r0, r1);
}

int main(void)
{
    RUN(test_sh_round_trip);
    RUN(test_sh_equal);
    RUN(test_sh_reject);
    RUN(test_sh_write_invalid);
    RUN(test_packet_round_trip);
    RUN(test_packet_reject);
    RUN(test_fu_write_invalid);
    RUN(test_slices);
    return check_finish();
}
