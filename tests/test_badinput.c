/* The decoder's bad-input contract (lvc.h, lvc_decoder_send_packet; codec/FORMAT.md): damaged,
 * truncated, bit-flipped, reordered, duplicated and oversized packets, absurd sizes, another
 * model's stream, P-frames without a reference, hostile escapes and a failing picture
 * allocator.  Each bad frame gets its error code with a message and no picture; the P-frames
 * after it are refused with LVC_ENOREF until the next key frame, and from that key frame on
 * the pictures are byte-identical to a clean decode.  Run under ASan/UBSan (CI) this also
 * checks that nothing is read out of bounds or leaked.
 *
 * The stream: tests/golden/model_random.lvcm (intra and inter graphs), 48 × 32, 12 frames, a
 * key frame every 4, a feature refresh every 2nd P-frame.  Multi-slice cases use the small
 * random model of model_write.h at 544 × 512 (two slices).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "codec.h"
#include "internal.h"
#include "lvc/lvc.h"
#include "model.h"
#include "model_write.h"
#include "rans.h"
#include "units.h"

#ifndef LVC_SOURCE_ROOT
#define LVC_SOURCE_ROOT "."
#endif

#define W 48
#define H 32
#define N 12
#define KEY_INT 4

static LvcModel *model;           /* model_random.lvcm */
static LvcModel *small_model;     /* for the two-slice stream */

typedef struct Stream {
    int n, w, h;
    uint8_t *data[N];
    size_t size[N];
    int type[N];            /* 0 = I, 1 = P */
    LvcPicture *clean[N];   /* a clean decode */
} Stream;

static Stream st;   /* 48 × 32, 12 frames */
static Stream big;  /* 544 × 512, 2 frames (I, P), two slices */

static LvcPicture *make_picture(int w, int h, int t)
{
    LvcPicture *p;
    if (lvc_picture_alloc(w, h, NULL, &p) < 0)
        return NULL;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                p->data[pl][y * p->stride[pl] + x] =
                    (uint8_t)(30 + ((x + 3 * t) * 7 + y * 5 + pl * 40) % 190);
    }
    p->pts = t;
    return p;
}

static int same_pixels(const LvcPicture *a, const LvcPicture *b)
{
    if (!a || !b || a->width != b->width || a->height != b->height)
        return 0;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (a->width + 1) / 2 : a->width, ph = pl ? (a->height + 1) / 2 : a->height;
        for (int y = 0; y < ph; y++)
            if (memcmp(a->data[pl] + y * a->stride[pl], b->data[pl] + y * b->stride[pl],
                       (size_t)pw))
                return 0;
    }
    return 1;
}

static LvcDecoder *open_decoder(LvcModel *m, const LvcAllocator *alloc)
{
    LvcDecoderSettings ds;
    lvc_decoder_settings_default(&ds);
    ds.model = m;
    ds.threads = 1;
    ds.backend = LVC_BACKEND_CPU;
    ds.allocator = alloc;
    LvcDecoder *d = NULL;
    CHECK(lvc_decoder_open(&d, &ds) == 0, "decoder: %s", lvc_last_error());
    return d;
}

static int encode(Stream *s, LvcModel *m, int w, int h, int n)
{
    memset(s, 0, sizeof(*s));
    s->w = w;
    s->h = h;
    LvcEncoderSettings es;
    lvc_encoder_settings_default(&es);
    es.width = w;
    es.height = h;
    es.qp = 30;
    es.key_int_max = KEY_INT;
    es.refresh_period = 2;
    es.threads = 1;
    es.backend = LVC_BACKEND_CPU;
    LvcEncoder *enc;
    if (lvc_encoder_open(&enc, m, &es) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        LvcPicture *pic = make_picture(w, h, i);
        LvcPacket pkt;
        if (!pic || lvc_encoder_send_picture(enc, pic) < 0 ||
            lvc_encoder_receive_packet(enc, &pkt) < 0) {
            lvc_picture_unref(pic);
            lvc_encoder_close(enc);
            return -1;
        }
        lvc_picture_unref(pic);
        s->data[i] = pkt.data; /* taken over from the packet */
        s->size[i] = pkt.size;
        s->type[i] = pkt.frame_type;
        s->n++;
    }
    lvc_encoder_close(enc);
    /* the clean decode */
    LvcDecoder *d = open_decoder(m, NULL);
    for (int i = 0; d && i < n; i++) {
        if (lvc_decoder_send_packet(d, s->data[i], s->size[i], i) < 0 ||
            lvc_decoder_receive_picture(d, &s->clean[i]) < 0) {
            lvc_decoder_close(d);
            return -1;
        }
    }
    lvc_decoder_close(d);
    return 0;
}

static void stream_free(Stream *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->data[i]);
        lvc_picture_unref(s->clean[i]);
    }
    memset(s, 0, sizeof(*s));
}

/* Send one packet.  want == 0: it decodes to the picture `same` when that is not NULL (and to
 * some picture otherwise).  want < 0: exactly that error, with a message and no picture. */
static char last_msg[512]; /* the message of the last expect()ed error */

static void expect(LvcDecoder *d, const uint8_t *data, size_t size, int want,
                   const LvcPicture *same, const char *what)
{
    int r = lvc_decoder_send_packet(d, data, size, 0);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", r < 0 ? lvc_last_error() : "");
    LvcPicture *pic = NULL;
    int rr = lvc_decoder_receive_picture(d, &pic);
    if (want == 0) {
        CHECK(r == 0, "%s: %d (%s)", what, r, msg);
        CHECK(rr == 0 && pic, "%s: no picture", what);
        if (same && pic)
            CHECK(same_pixels(pic, same), "%s: picture differs from the clean decode", what);
    } else {
        CHECK(r == want, "%s: got %d (%s), want %d", what, r, msg, want);
        CHECK(r >= 0 || msg[0] != 0, "%s: error %d without a message", what, r);
        CHECK(rr == LVC_EAGAIN && !pic, "%s: a picture after an error", what);
    }
    lvc_picture_unref(pic);
    memcpy(last_msg, msg, sizeof(msg));
}

/* Decode the clean frames [from, to). */
static void clean_run(LvcDecoder *d, const Stream *s, int from, int to, const char *what)
{
    char buf[160];
    for (int i = from; i < to && i < s->n; i++) {
        snprintf(buf, sizeof(buf), "%s: clean frame %d", what, i);
        expect(d, s->data[i], s->size[i], 0, s->clean[i], buf);
    }
}

/* After a bad frame in place of frame k: the following P-frames are refused with LVC_ENOREF
 * up to the next key frame, and from there the pictures of that key frame's GOP equal the clean
 * decode. */
static void recovery(LvcDecoder *d, const Stream *s, int k, const char *what)
{
    char buf[160];
    int i = k + 1;
    for (; i < s->n && s->type[i] == 1; i++) {
        snprintf(buf, sizeof(buf), "%s: P-frame %d after the damage", what, i);
        expect(d, s->data[i], s->size[i], LVC_ENOREF, NULL, buf);
    }
    /* no key frame after k: the stream from its first key frame, sent again */
    if (i >= s->n)
        i = 0;
    int end = i + 1;
    while (end < s->n && s->type[end] == 1)
        end++;
    clean_run(d, s, i, end, what);
}

/* Decode frames 0..k-1 clean, send `bad` in place of frame k expecting `want`, then check the
 * recovery. */
static void bad_frame(const Stream *s, LvcModel *m, int k, const uint8_t *bad, size_t bad_size,
                      int want, const char *what)
{
    LvcDecoder *d = open_decoder(m, NULL);
    if (!d)
        return;
    clean_run(d, s, 0, k, what);
    expect(d, bad, bad_size, want, NULL, what);
    recovery(d, s, k, what);
    lvc_decoder_close(d);
}

/* A copy of frame k with byte `off` XORed with x (off may be negative: from the end). */
static uint8_t *flipped(const Stream *s, int k, long off, uint8_t x)
{
    uint8_t *b = malloc(s->size[k]);
    if (!b)
        return NULL;
    memcpy(b, s->data[k], s->size[k]);
    size_t o = off >= 0 ? (size_t)off : s->size[k] - (size_t)-off;
    b[o] ^= x;
    return b;
}

static void flip_case(int k, long off, uint8_t x, int want, const char *what)
{
    uint8_t *b = flipped(&st, k, off, x);
    if (!b)
        return;
    bad_frame(&st, model, k, b, st.size[k], want, what);
    free(b);
}

/* ---- the cases ----------------------------------------------------------------------------- */

static void test_stream_shape(void)
{
    CHECK(st.n == N, "%d frames", st.n);
    for (int i = 0; i < st.n; i++) {
        CHECK(st.type[i] == (i % KEY_INT != 0), "frame %d type %d", i, st.type[i]);
        CHECK(lvc_packet_is_keyframe(st.data[i], st.size[i]) == (i % KEY_INT == 0), "key %d", i);
    }
    CHECK(big.n == 2 && lvc_slice_count(big.w, big.h) == 2, "two-slice stream");
    /* the sequence header is 44 bytes without extension, then the I-frame header byte, qp */
    CHECK(st.size[0] > 46 && st.data[0][43] == 0 && st.data[0][44] == 0x90, "I-frame layout");
    CHECK(st.data[1][0] == 0xc0 || st.data[1][0] == 0xe0, "P-frame header byte 0x%02x",
          st.data[1][0]);
}

static void test_p_before_i(void)
{
    /* a fresh decoder: P-frames are refused until the first key frame */
    LvcDecoder *d = open_decoder(model, NULL);
    if (!d)
        return;
    for (int i = 1; i < KEY_INT; i++)
        expect(d, st.data[i], st.size[i], LVC_ENOREF, NULL, "P before any I");
    clean_run(d, &st, KEY_INT, st.n, "P before any I");
    lvc_decoder_close(d);
    /* P-frames of a stream joined in the middle of a GOP */
    d = open_decoder(model, NULL);
    if (!d)
        return;
    expect(d, st.data[6], st.size[6], LVC_ENOREF, NULL, "joined mid-GOP");
    expect(d, st.data[7], st.size[7], LVC_ENOREF, NULL, "joined mid-GOP");
    clean_run(d, &st, 8, st.n, "joined mid-GOP");
    lvc_decoder_close(d);
}

static void test_truncated(void)
{
    char what[96];
    /* the key frame 4: inside the sequence header, right after it, after the frame-unit header
     * byte, after the qp, inside the slice's initial states and inside the slice */
    const size_t cuts_i[] = {1, 2, 3, 20, 43, 44, 45, 46, 50, 54, 60};
    for (size_t c = 0; c < sizeof(cuts_i) / sizeof(cuts_i[0]); c++) {
        snprintf(what, sizeof(what), "I-frame cut to %zu bytes", cuts_i[c]);
        bad_frame(&st, model, 4, st.data[4], cuts_i[c], LVC_EDATA, what);
    }
    snprintf(what, sizeof(what), "I-frame without its last byte");
    bad_frame(&st, model, 4, st.data[4], st.size[4] - 1, LVC_EDATA, what);
    snprintf(what, sizeof(what), "I-frame cut in half");
    bad_frame(&st, model, 4, st.data[4], st.size[4] / 2, LVC_EDATA, what);
    /* the first key frame */
    bad_frame(&st, model, 0, st.data[0], st.size[0] - 3, LVC_EDATA, "first I-frame cut");
    /* a P-frame: header byte only, inside the states, half, all but the last byte */
    const size_t cuts_p[] = {1, 2, 8, st.size[5] / 2, st.size[5] - 1};
    for (size_t c = 0; c < sizeof(cuts_p) / sizeof(cuts_p[0]); c++) {
        snprintf(what, sizeof(what), "P-frame cut to %zu bytes", cuts_p[c]);
        bad_frame(&st, model, 5, st.data[5], cuts_p[c], LVC_EDATA, what);
    }
    /* an empty packet (not NULL: NULL flushes) */
    bad_frame(&st, model, 5, st.data[5], 0, LVC_EDATA, "empty packet");
}

static void test_bitflips_header(void)
{
    char what[96];
    /* the sequence header of key frame 4 */
    static const struct {
        int off;
        uint8_t x;
        int want;
    } sh[] = {
        {0, 0x01, LVC_EDATA},        /* magic */
        {2, 0x80, LVC_EDATA},        /* magic */
        {3, 0x01, LVC_EUNSUPPORTED}, /* bitstream version 0 */
        {3, 0x02, LVC_EUNSUPPORTED}, /* bitstream version 3 */
        {4, 0x01, LVC_EUNSUPPORTED}, /* op-set version */
        {5, 0x04, LVC_EUNSUPPORTED}, /* profile */
        {6, 0x01, LVC_ENOMODEL},     /* model id */
        {21, 0x80, LVC_ENOMODEL},    /* model id, last byte */
        {23, 0x80, LVC_EDATA},       /* width 32816 */
        {25, 0x40, LVC_EDATA},       /* height 16416 */
        {22, 0x30, LVC_EDATA},       /* width 0 */
        {22, 0x10, LVC_EDATA},       /* width 32: valid, but the slice does not fit it */
        {26, 0x01, LVC_EUNSUPPORTED},/* bit depth */
        {27, 0x02, LVC_EUNSUPPORTED},/* chroma format 3 */
        {31, 0x04, LVC_EDATA},       /* range 4 */
        {42, 0x01, LVC_EDATA},       /* flags */
        {43, 0x01, LVC_EDATA},       /* a 1-byte extension eats the frame-unit header byte */
        {44, 0x80, LVC_EDATA},       /* frame-unit marker: a second "sequence header" */
        {44, 0x40, LVC_EDATA},       /* an I-frame turned P: a P-frame with a header */
        {44, 0x20, LVC_EDATA},       /* refresh on an I-frame */
        {44, 0x10, LVC_EDATA},       /* an I-frame without qp */
        {44, 0x01, LVC_EDATA},       /* reserved bit */
        {45, 0x40, LVC_EDATA},       /* qp 30 → 94 */
    };
    for (size_t i = 0; i < sizeof(sh) / sizeof(sh[0]); i++) {
        snprintf(what, sizeof(what), "I-frame byte %d ^ 0x%02x", sh[i].off, sh[i].x);
        flip_case(4, sh[i].off, sh[i].x, sh[i].want, what);
    }
    /* fields that do not change decoding: colour, aspect ratio, frame rate.  The frame starts
     * a new sequence and decodes to the same pixels, and so do the following P-frames. */
    static const int harmless[] = {28, 29, 30, 32, 35, 36, 39, 41};
    for (size_t i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++) {
        uint8_t *b = flipped(&st, 4, harmless[i], 0x01);
        LvcDecoder *d = open_decoder(model, NULL);
        if (!b || !d) {
            free(b);
            lvc_decoder_close(d);
            continue;
        }
        snprintf(what, sizeof(what), "I-frame byte %d ^ 0x01 (informative)", harmless[i]);
        clean_run(d, &st, 0, 4, what);
        expect(d, b, st.size[4], 0, st.clean[4], what);
        clean_run(d, &st, 5, st.n, what);
        free(b);
        lvc_decoder_close(d);
    }
    /* the P-frame header byte of frame 5 */
    static const struct {
        uint8_t x;
        int want;
    } fu[] = {
        {0x80, LVC_EDATA}, /* no marker: read as a sequence header, bad magic */
        {0x40, LVC_EDATA}, /* a P-frame turned I: an I-frame without a sequence header */
        {0x08, LVC_EDATA}, /* reserved bits */
        {0x01, LVC_EDATA},
        {0x10, LVC_EDATA}, /* qp present: the first slice byte becomes the qp */
    };
    for (size_t i = 0; i < sizeof(fu) / sizeof(fu[0]); i++) {
        snprintf(what, sizeof(what), "P-frame header byte ^ 0x%02x", fu[i].x);
        flip_case(5, 0, fu[i].x, fu[i].want, what);
    }
}

static void test_bitflips_payload(void)
{
    char what[96];
    /* slice bytes of the key frame 4 (slice at offset 46) and of P-frames 5 and 6: in the
     * initial states, just after them, in the middle, the last byte.  The end check catches
     * every one. */
    const long offs_i[] = {46, 49, 53, 54, 55, (long)st.size[4] / 2, -1};
    for (size_t i = 0; i < sizeof(offs_i) / sizeof(offs_i[0]); i++)
        for (int bit = 0; bit < 8; bit += 3) {
            snprintf(what, sizeof(what), "I-frame slice byte %ld bit %d", offs_i[i], bit);
            flip_case(4, offs_i[i], (uint8_t)(1u << bit), LVC_EDATA, what);
        }
    for (int k = 5; k <= 6; k++) {
        const long offs_p[] = {1, 4, 9, (long)st.size[k] / 2, -1};
        for (size_t i = 0; i < sizeof(offs_p) / sizeof(offs_p[0]); i++) {
            snprintf(what, sizeof(what), "P-frame %d slice byte %ld", k, offs_p[i]);
            flip_case(k, offs_p[i], 0x10, LVC_EDATA, what);
        }
    }
}

/* A P-frame decoded against another reference than its own (reordered, repeated) is
 * syntactically valid, but its entropy model depends on the reference: the rANS decoding goes
 * astray and the end check (two 31-bit states and the exact byte count, FORMAT.md §2.1) fails,
 * except with negligible probability.  So these are LVC_EDATA like damage. */
static void test_reordered(void)
{
    /* two P-frames swapped */
    bad_frame(&st, model, 5, st.data[6], st.size[6], LVC_EDATA, "P-frame 6 before 5");
    /* the P-frames of a GOP after the key frame of the next one: the key frame decodes as in
     * the clean stream (it needs no earlier frame), the late P-frames are refused */
    LvcDecoder *d = open_decoder(model, NULL);
    if (!d)
        return;
    clean_run(d, &st, 0, 2, "early I");
    expect(d, st.data[4], st.size[4], 0, st.clean[4], "early I");
    expect(d, st.data[2], st.size[2], LVC_EDATA, NULL, "late P 2");
    expect(d, st.data[3], st.size[3], LVC_ENOREF, NULL, "late P 3");
    clean_run(d, &st, 4, st.n, "early I sent again");
    lvc_decoder_close(d);
    /* a P-frame of another GOP */
    bad_frame(&st, model, 9, st.data[5], st.size[5], LVC_EDATA, "P-frame 5 in place of 9");
    /* a P-frame of a two-slice sequence in a one-slice sequence and the reverse: the slice
     * layout does not fit */
    bad_frame(&st, model, 5, big.data[1], big.size[1], LVC_EDATA, "P-frame of another size");
    bad_frame(&big, small_model, 1, st.data[5], st.size[5], LVC_EDATA,
              "one-slice P-frame in a two-slice sequence");
}

static void test_duplicated(void)
{
    /* a key frame twice: both decode identically and the following P-frames are unaffected */
    LvcDecoder *d = open_decoder(model, NULL);
    if (!d)
        return;
    clean_run(d, &st, 0, 5, "duplicated I");
    expect(d, st.data[4], st.size[4], 0, st.clean[4], "duplicated I (again)");
    clean_run(d, &st, 5, st.n, "duplicated I");
    lvc_decoder_close(d);
    /* a P-frame twice: the repeat has the wrong reference (see test_reordered) */
    d = open_decoder(model, NULL);
    if (!d)
        return;
    clean_run(d, &st, 0, 6, "duplicated P");
    expect(d, st.data[5], st.size[5], LVC_EDATA, NULL, "duplicated P (again)");
    recovery(d, &st, 5, "duplicated P");
    lvc_decoder_close(d);
    /* a sequence header twice in one packet: the second is not a frame unit */
    size_t n = st.size[4] + LVC_SH_FIXED_SIZE;
    uint8_t *b = malloc(n);
    if (b) {
        memcpy(b, st.data[4], LVC_SH_FIXED_SIZE);
        memcpy(b + LVC_SH_FIXED_SIZE, st.data[4], st.size[4]);
        bad_frame(&st, model, 4, b, n, LVC_EDATA, "two sequence headers");
        free(b);
    }
    /* two frames in one packet: the last slice takes the rest, the end check fails */
    n = st.size[5] + st.size[6];
    b = malloc(n);
    if (b) {
        memcpy(b, st.data[5], st.size[5]);
        memcpy(b + st.size[5], st.data[6], st.size[6]);
        bad_frame(&st, model, 5, b, n, LVC_EDATA, "two P-frames in one packet");
        free(b);
    }
}

static void test_oversized(void)
{
    /* junk after the last slice: bytes left over at the end check */
    const size_t extra[] = {1, 100, 4u << 20};
    for (int k = 4; k <= 5; k++)
        for (size_t e = 0; e < sizeof(extra) / sizeof(extra[0]); e++) {
            size_t n = st.size[k] + extra[e];
            uint8_t *b = malloc(n);
            if (!b)
                continue;
            memcpy(b, st.data[k], st.size[k]);
            for (size_t i = st.size[k]; i < n; i++)
                b[i] = (uint8_t)(i * 131u);
            char what[96];
            snprintf(what, sizeof(what), "frame %d with %zu bytes appended", k, extra[e]);
            LvcDecoder *d = open_decoder(model, NULL);
            if (d) {
                clean_run(d, &st, 0, k, what);
                size_t mem = lvc_decoder_memory(d);
                expect(d, b, n, LVC_EDATA, NULL, what);
                /* the decoder does not copy or grow with the packet */
                CHECK(lvc_decoder_memory(d) == mem, "%s: memory %zu -> %zu", what, mem,
                      lvc_decoder_memory(d));
                recovery(d, &st, k, what);
                lvc_decoder_close(d);
            }
            free(b);
        }
    /* the slice size of the two-slice stream (a LEB128 after the qp of the I-frame, after the
     * header byte of the P-frame): larger than the packet, below 8, 2^32 - 1, too long, with a
     * redundant zero group */
    for (int k = 0; k < 2; k++) {
        size_t pos = k == 0 ? LVC_SH_FIXED_SIZE + 2 : 1;
        size_t n0 = big.size[k];
        LvcReader rd;
        lvc_reader_init(&rd, big.data[k] + pos, n0 - pos);
        uint32_t s0 = lvc_reader_leb128(&rd);
        size_t leb_len = (size_t)(rd.p - (big.data[k] + pos));
        CHECK(!rd.err && s0 >= 8 && leb_len >= 1, "frame %d: slice size %u", k, s0);
        if (rd.err)
            continue;
        static const uint8_t lebs[][6] = {
            {5, 0xff, 0xff, 0xff, 0xff, 0x0f}, /* 2^32 - 1 */
            {5, 0x80, 0x80, 0x80, 0x80, 0x10}, /* 2^32: too large */
            {6, 0x81, 0x80, 0x80, 0x80, 0x80}, /* six bytes (cut by the end of this entry) */
            {1, 0x07, 0, 0, 0, 0},             /* 7 < 8 */
            {1, 0x00, 0, 0, 0, 0},             /* 0 */
            {2, 0x88, 0x00, 0, 0, 0},          /* redundant zero group */
            {3, 0xff, 0xff, 0x7f, 0, 0},       /* 2^21 - 1: beyond the packet */
        };
        for (size_t c = 0; c < sizeof(lebs) / sizeof(lebs[0]); c++) {
            size_t ln = lebs[c][0];
            size_t n = n0 - leb_len + ln;
            uint8_t *b = malloc(n);
            if (!b)
                continue;
            memcpy(b, big.data[k], pos);
            if (ln == 6) { /* six bytes: five continuation bytes, then one more */
                memcpy(b + pos, lebs[c] + 1, 5);
                b[pos + 5] = 0x01;
            } else {
                memcpy(b + pos, lebs[c] + 1, ln);
            }
            memcpy(b + pos + ln, big.data[k] + pos + leb_len, n0 - pos - leb_len);
            char what[96];
            snprintf(what, sizeof(what), "%s slice size case %zu", k ? "P" : "I", c);
            bad_frame(&big, small_model, k, b, n, LVC_EDATA, what);
            free(b);
        }
    }
}

/* A key frame packet with this sequence header size and the payload of frame 4. */
static uint8_t *with_size(int w, int h, size_t *n)
{
    uint8_t *b = malloc(st.size[4]);
    if (!b)
        return NULL;
    memcpy(b, st.data[4], st.size[4]);
    lvc_wr16(b + 22, (uint16_t)w);
    lvc_wr16(b + 24, (uint16_t)h);
    *n = st.size[4];
    return b;
}

/* A syntactically valid key frame of any size: the sequence header of frame 4 with that size,
 * the I-frame header and qp, and slices of 8 bytes (two rANS states at L).  Its data fails the
 * end check once decoded. */
static uint8_t *key_packet(int w, int h, size_t *n)
{
    int ns = lvc_slice_count(w, h);
    if (ns < 1)
        return NULL;
    *n = LVC_SH_FIXED_SIZE + 2 + (size_t)(ns - 1) + 8 * (size_t)ns;
    uint8_t *b = malloc(*n);
    if (!b)
        return NULL;
    memcpy(b, st.data[4], LVC_SH_FIXED_SIZE + 2);
    lvc_wr16(b + 22, (uint16_t)w);
    lvc_wr16(b + 24, (uint16_t)h);
    uint8_t *p = b + LVC_SH_FIXED_SIZE + 2;
    for (int i = 0; i < ns - 1; i++)
        *p++ = 8;
    for (int i = 0; i < 2 * ns; i++, p += 4)
        lvc_wr32(p, LVC_RANS_L);
    return b;
}

static void test_absurd_sizes(void)
{
    /* sizes outside 1..8192 are refused by the header check, before anything is allocated:
     * the decoder keeps its memory and its sequence */
    static const int sizes[][2] = {{65535, 65535}, {65535, 32}, {48, 65535}, {8193, 32},
                                   {48, 8193},     {0, 32},     {48, 0}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n;
        uint8_t *b = with_size(sizes[i][0], sizes[i][1], &n);
        LvcDecoder *d = open_decoder(model, NULL);
        if (b && d) {
            char what[96];
            snprintf(what, sizeof(what), "sequence header %dx%d", sizes[i][0], sizes[i][1]);
            clean_run(d, &st, 0, 4, what);
            size_t mem = lvc_decoder_memory(d);
            expect(d, b, n, LVC_EDATA, NULL, what);
            CHECK(strstr(last_msg, "8192") != NULL, "%s: message '%s'", what, last_msg);
            CHECK(lvc_decoder_memory(d) == mem, "%s: memory %zu -> %zu", what, mem,
                  lvc_decoder_memory(d));
            recovery(d, &st, 4, what);
        }
        lvc_decoder_close(d);
        free(b);
    }
    /* within the format's limit, a decoder's max_pixels caps what it allocates: a sequence
     * larger than the cap is refused with LVC_ENOMEM before the allocation */
    LvcDecoderSettings ds;
    lvc_decoder_settings_default(&ds);
    CHECK(ds.max_pixels == 0, "default: no cap below the format's 8192 × 8192");
    ds.model = model;
    ds.threads = 1;
    ds.backend = LVC_BACKEND_CPU;
    ds.max_pixels = -1;
    LvcDecoder *d = NULL;
    CHECK(lvc_decoder_open(&d, &ds) == LVC_EINVAL && !d, "negative max_pixels");
    ds.max_pixels = W * H;
    CHECK(lvc_decoder_open(&d, &ds) == 0, "%s", lvc_last_error());
    if (!d)
        return;
    size_t mem0 = lvc_decoder_memory(d);
    static const int over[][2] = {{8192, 8192}, {4096, 2160}, {W + 1, H}, {W, H + 1}};
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        size_t n;
        uint8_t *b = key_packet(over[i][0], over[i][1], &n);
        char what[96];
        snprintf(what, sizeof(what), "%dx%d over max_pixels %d", over[i][0], over[i][1], W * H);
        if (b)
            expect(d, b, n, LVC_ENOMEM, NULL, what);
        CHECK(lvc_decoder_memory(d) == mem0, "%s: nothing allocated (%zu -> %zu)", what, mem0,
              lvc_decoder_memory(d));
        free(b);
    }
    expect(d, st.data[1], st.size[1], LVC_ENOREF, NULL, "P after the refused sequences");
    clean_run(d, &st, 0, st.n, "at max_pixels");
    /* and again after a sequence was running */
    size_t n;
    uint8_t *b = with_size(W * 2, H, &n);
    if (b)
        expect(d, b, n, LVC_ENOMEM, NULL, "larger sequence mid-stream");
    expect(d, st.data[5], st.size[5], LVC_ENOREF, NULL, "P after the refused sequence");
    clean_run(d, &st, 8, st.n, "back at max_pixels");
    free(b);
    lvc_decoder_close(d);
}

static void test_other_model(void)
{
    /* a stream for another model id: refused naming both ids, the decoder's sequence goes on
     * at the next key frame of its own model */
    uint8_t *b = flipped(&st, 4, 10, 0xff);
    LvcDecoder *d = open_decoder(model, NULL);
    if (b && d) {
        clean_run(d, &st, 0, 4, "other model");
        expect(d, b, st.size[4], LVC_ENOMODEL, NULL, "other model");
        char hex[2 * LVC_MODEL_ID_SIZE + 1];
        lvc_model_id_hex(b + 6, hex);
        CHECK(strstr(last_msg, hex) != NULL, "message names the stream's id: %s", last_msg);
        CHECK(strstr(last_msg, model->id_hex) != NULL, "and the decoder's: %s", last_msg);
        recovery(d, &st, 4, "other model");
    }
    lvc_decoder_close(d);
    /* the other model's whole stream, then our own */
    d = open_decoder(model, NULL);
    if (d) {
        for (int i = 0; i < big.n; i++)
            expect(d, big.data[i], big.size[i], i == 0 ? LVC_ENOMODEL : LVC_ENOREF, NULL,
                   "small model's stream");
        clean_run(d, &st, 0, st.n, "after the other model's stream");
    }
    lvc_decoder_close(d);
    /* no model given and none installed with that id */
    char dir[] = "/tmp/lvc_test_badinput_XXXXXX";
    if (b && mkdtemp(dir)) {
        setenv("LVC_MODEL_PATH", dir, 1);
        LvcDecoderSettings ds;
        lvc_decoder_settings_default(&ds);
        ds.threads = 1;
        d = NULL;
        CHECK(lvc_decoder_open(&d, &ds) == 0, "%s", lvc_last_error());
        if (d) {
            expect(d, b, st.size[4], LVC_ENOMODEL, NULL, "model not installed");
            expect(d, st.data[5], st.size[5], LVC_ENOREF, NULL, "P without a model");
        }
        lvc_decoder_close(d);
        unsetenv("LVC_MODEL_PATH");
        rmdir(dir);
    }
    free(b);
}

/* A key frame whose slice codes `ops` (start, freq) raw rANS operations: the first z symbol of
 * the frame, with the table cdf.  The slice is checked first with the rANS decoder itself: the
 * symbol decodes to q_want under a limit of 2^20 (q_want == 0: it is malformed under any
 * limit) and is refused under the model's bound Rz.  The decoder must refuse the frame. */
static void hostile(const uint32_t (*ops)[2], int n_ops, const LvcCdf *cdf, int rz, int q_want,
                    int want, const char *what)
{
    LvcRansEnc e;
    lvc_rans_enc_init(&e);
    int ok = 1;
    for (int i = 0; i < n_ops; i++)
        ok &= lvc_rans_enc_put(&e, ops[i][0], ops[i][1]) == 0;
    const uint8_t *slice;
    size_t slice_size;
    ok &= lvc_rans_enc_finish(&e, &slice, &slice_size) == 0;
    CHECK(ok, "%s: rANS encoder", what);
    LvcRansDec rd;
    int q = 0;
    if (ok && lvc_rans_dec_init(&rd, slice, slice_size) == 0) {
        int r = lvc_rans_dec_symbol(&rd, cdf, 1 << 20, &q);
        CHECK(q_want ? r == 0 && q == q_want : r == LVC_EDATA, "%s: decodes to %d (%d)", what, q,
              r);
        lvc_rans_dec_init(&rd, slice, slice_size);
        CHECK(lvc_rans_dec_symbol(&rd, cdf, rz, &q) == LVC_EDATA, "%s: accepted under Rz", what);
    } else {
        CHECK(0, "%s: invalid slice", what);
    }
    size_t n = LVC_SH_FIXED_SIZE + 2 + slice_size;
    uint8_t *b = malloc(n);
    if (ok && b) {
        memcpy(b, st.data[4], LVC_SH_FIXED_SIZE + 2); /* header, I byte, qp */
        memcpy(b + LVC_SH_FIXED_SIZE + 2, slice, slice_size);
        bad_frame(&st, model, 4, b, n, want, what);
    }
    free(b);
    lvc_rans_enc_free(&e);
}

static void test_hostile_escapes(void)
{
    const LvcZTables *zt = lvc_entropy_z(&model->ent, 0);
    const int qp = st.data[4][LVC_SH_FIXED_SIZE + 1];
    const int bucket = qp * zt->n_buckets / 64;
    const LvcCdf *cdf = &zt->cdf[bucket * zt->channels + 0]; /* the first z symbol's table */
    const int B = cdf->bound;
    const uint32_t esc_start = cdf->start[2 * B + 1], esc_freq = 65536u - esc_start;
    CHECK(esc_freq >= 1, "escape entry");
    printf("# first z table: B %d, Rz %d\n", B, zt->Rz);
#define U(v, bits) {(uint32_t)(v) << (16 - (bits)), 1u << (16 - (bits))}
    /* escape length n = 0 */
    const uint32_t len0[][2] = {{esc_start, esc_freq}, U(0, 4), U(0, 1)};
    hostile(len0, 3, cdf, zt->Rz, 0, LVC_EDATA, "escape with length 0");
    /* the largest escape, n = 15: |q| = 2^15 - 1 + B, beyond Rz */
    const uint32_t len15[][2] = {{esc_start, esc_freq}, U(15, 4), U(0x3fff, 14), U(1, 1)};
    CHECK((1 << 15) - 1 + B > zt->Rz, "Rz %d", zt->Rz);
    hostile(len15, 4, cdf, zt->Rz, -((1 << 15) - 1 + B), LVC_EDATA,
            "escape of 2^15 - 1 + B");
    /* an escape just beyond Rz: v + 1 = Rz + 1 - B */
    const int v1 = zt->Rz + 1 - B;
    CHECK(v1 >= 1 && v1 < (1 << 15), "B %d, Rz %d: no escape reaches Rz + 1", B, zt->Rz);
    if (v1 >= 1 && v1 < (1 << 15)) {
        int nb = 0;
        while ((v1 >> nb) > 1)
            nb++;
        nb++; /* bit length */
        uint32_t ops[4][2] = {{esc_start, esc_freq}, U(nb, 4), {0, 0}, {0, 0}};
        int k = 2;
        if (nb > 1) {
            ops[k][0] = (uint32_t)(v1 & ((1 << (nb - 1)) - 1)) << (16 - (nb - 1));
            ops[k][1] = 1u << (16 - (nb - 1));
            k++;
        }
        ops[k][0] = 0;
        ops[k][1] = 1u << 15; /* sign + */
        k++;
        hostile((const uint32_t(*)[2])ops, k, cdf, zt->Rz, zt->Rz + 1, LVC_EDATA,
                "escape of Rz + 1");
    }
    /* (a table entry beyond the bound, possible when a table's B exceeds it, is refused by
     * the same check; test_rans covers it with such a table) */
    /* an escape with its sign missing: the stream runs out */
    const uint32_t cut[][2] = {{esc_start, esc_freq}, U(1, 4)};
    hostile(cut, 2, cdf, zt->Rz, 0, LVC_EDATA, "escape without its sign");
    /* the initial states outside [L, 2^31) */
    size_t n = LVC_SH_FIXED_SIZE + 2 + 16;
    uint8_t *b = calloc(1, n);
    if (b) {
        memcpy(b, st.data[4], LVC_SH_FIXED_SIZE + 2);
        bad_frame(&st, model, 4, b, n, LVC_EDATA, "zero rANS states");
        memset(b + LVC_SH_FIXED_SIZE + 2, 0xff, 16);
        bad_frame(&st, model, 4, b, n, LVC_EDATA, "rANS states >= 2^31");
        free(b);
    }
#undef U
}

/* A picture allocator that fails on demand. */
static int alloc_fail;
static int test_alloc(LvcPicture *pic, void *opaque)
{
    (void)opaque;
    if (alloc_fail)
        return LVC_ENOMEM;
    size_t ys = (size_t)pic->width * (size_t)pic->height;
    size_t cw = (size_t)(pic->width + 1) / 2, cs = cw * (size_t)((pic->height + 1) / 2);
    uint8_t *p = malloc(ys + 2 * cs);
    if (!p)
        return LVC_ENOMEM;
    pic->data[0] = p;
    pic->data[1] = p + ys;
    pic->data[2] = p + ys + cs;
    pic->stride[0] = pic->width;
    pic->stride[1] = pic->stride[2] = (ptrdiff_t)cw;
    pic->allocator_data = p;
    return 0;
}
static void test_release(LvcPicture *pic, void *opaque)
{
    (void)opaque;
    free(pic->allocator_data);
}

static void test_alloc_failure(void)
{
    /* a frame that cannot get its picture is lost like a damaged one: the following P-frames
     * must not decode against the frame before it */
    static const LvcAllocator alloc = {test_alloc, test_release, NULL};
    for (int k = 4; k <= 6; k++) {
        LvcDecoder *d = open_decoder(model, &alloc);
        if (!d)
            continue;
        char what[64];
        snprintf(what, sizeof(what), "allocator failing at frame %d", k);
        clean_run(d, &st, 0, k, what);
        alloc_fail = 1;
        expect(d, st.data[k], st.size[k], LVC_ENOMEM, NULL, what);
        alloc_fail = 0;
        recovery(d, &st, k, what);
        lvc_decoder_close(d);
    }
}

int main(void)
{
    const char *path = LVC_SOURCE_ROOT "/tests/golden/model_random.lvcm";
    if (lvc_model_load(path, &model) < 0) {
        fprintf(stderr, "cannot load %s: %s\n", path, lvc_last_error());
        return 1;
    }
    LvcTestModelOptions opt = {.with_inter = 1, .seed = 3, .small = 1};
    LvcModelWriter *mw = NULL;
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (lvc_mw_build_test_model(&opt, &mw) < 0 || lvc_mw_serialize(mw, &bytes, &n) < 0 ||
        lvc_model_load_memory(bytes, n, &small_model) < 0) {
        fprintf(stderr, "cannot build the small model: %s\n", lvc_last_error());
        return 1;
    }
    lvc_mw_free(mw);
    free(bytes);
    if (encode(&st, model, W, H, N) < 0 || encode(&big, small_model, 544, 512, 2) < 0) {
        fprintf(stderr, "cannot encode the test streams: %s\n", lvc_last_error());
        return 1;
    }
    RUN(test_stream_shape);
    RUN(test_p_before_i);
    RUN(test_truncated);
    RUN(test_bitflips_header);
    RUN(test_bitflips_payload);
    RUN(test_reordered);
    RUN(test_duplicated);
    RUN(test_oversized);
    RUN(test_absurd_sizes);
    RUN(test_other_model);
    RUN(test_hostile_escapes);
    RUN(test_alloc_failure);
    stream_free(&st);
    stream_free(&big);
    lvc_model_unref(model);
    lvc_model_unref(small_model);
    return check_finish();
}
