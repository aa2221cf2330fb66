/* The public encoder and decoder with a random test model: round trips at many sizes (the
 * encoder's reconstruction is the decoder's output), thread-count independence, key frames,
 * refresh flags, error recovery and the API life cycle.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "codec.h"
#include "internal.h"
#include "lvc/lvc.h"
#include "model_write.h"

static LvcModel *model, *model2, *small_model;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The small random model (grouped convolutions, tiny tables): cheap at large sizes. */
static LvcModel *make_small_model(uint32_t seed, int p_z_tables)
{
    LvcTestModelOptions opt = {.with_inter = 1, .seed = seed, .small = 1, .p_z_tables = p_z_tables};
    LvcModelWriter *w;
    uint8_t *buf;
    size_t size;
    LvcModel *m = NULL;
    if (lvc_mw_build_test_model(&opt, &w) < 0)
        return NULL;
    if (lvc_mw_serialize(w, &buf, &size) == 0) {
        if (lvc_model_load_memory(buf, size, &m) < 0)
            m = NULL;
        free(buf);
    }
    lvc_mw_free(w);
    return m;
}

static LvcModel *make_model(uint32_t seed)
{
    uint8_t *buf;
    size_t size;
    LvcModel *m = NULL;
    if (lvc_model_write_random_test_model(1, seed, &buf, &size) < 0)
        return NULL;
    if (lvc_model_load_memory(buf, size, &m) < 0)
        m = NULL;
    free(buf);
    return m;
}

/* A moving synthetic picture. */
static LvcPicture *make_picture(int w, int h, int t)
{
    LvcPicture *p;
    if (lvc_picture_alloc(w, h, NULL, &p) < 0)
        return NULL;
    uint32_t s = 12345u + (uint32_t)t * 7u;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                s = s * 1664525u + 1013904223u;
                int v = 40 + ((x + 2 * t) * 5 + y * 3) % 160 + (int)((s >> 24) & 15) + pl * 20;
                p->data[pl][y * p->stride[pl] + x] = (uint8_t)v;
            }
    }
    p->pts = t;
    return p;
}

static int same_picture(const LvcPicture *a, const LvcPicture *b)
{
    if (a->width != b->width || a->height != b->height)
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

typedef struct Stream {
    int n;
    LvcPacket pkt[16];
    LvcPicture *recon[16];
} Stream;

static void stream_free(Stream *s)
{
    for (int i = 0; i < s->n; i++) {
        lvc_packet_clear(&s->pkt[i]);
        lvc_picture_unref(s->recon[i]);
    }
    s->n = 0;
}

/* Encode n frames; force_at >= 0 forces a key frame there. */
static int encode_stream(Stream *s, LvcModel *m, int w, int h, int n, int threads, int key_int,
                         int refresh, int force_at)
{
    memset(s, 0, sizeof(*s));
    LvcEncoderSettings es;
    lvc_encoder_settings_default(&es);
    es.width = w;
    es.height = h;
    es.qp = 40;
    es.key_int_max = key_int;
    es.refresh_period = refresh;
    es.threads = threads;
    es.want_recon = 1;
    LvcEncoder *enc;
    int r = lvc_encoder_open(&enc, m, &es);
    CHECK(r == 0, "open %dx%d: %s", w, h, lvc_last_error());
    if (r < 0)
        return r;
    for (int i = 0; i < n && i < 16; i++) {
        LvcPicture *pic = make_picture(w, h, i);
        if (i == force_at)
            lvc_encoder_force_keyframe(enc);
        r = lvc_encoder_send_picture(enc, pic);
        CHECK(r == 0, "send %d: %s", i, lvc_last_error());
        CHECK(lvc_encoder_send_picture(enc, pic) == LVC_EAGAIN, "second send must wait");
        lvc_picture_unref(pic);
        r = lvc_encoder_receive_packet(enc, &s->pkt[i]);
        CHECK(r == 0, "receive %d: %s", i, lvc_last_error());
        if (r < 0)
            break;
        CHECK(s->pkt[i].pts == i, "pts");
        CHECK(lvc_encoder_receive_recon(enc, &s->recon[i]) == 0, "recon %d", i);
        s->n++;
        LvcPacket none;
        CHECK(lvc_encoder_receive_packet(enc, &none) == LVC_EAGAIN, "no second packet");
    }
    CHECK(lvc_encoder_send_picture(enc, NULL) == 0, "flush");
    LvcPacket none;
    CHECK(lvc_encoder_receive_packet(enc, &none) == LVC_EOF, "EOF after flush");
    CHECK(lvc_encoder_memory(enc) > 0, "memory");
    lvc_encoder_close(enc);
    return 0;
}

static LvcDecoder *open_decoder(LvcModel *m, int threads)
{
    LvcDecoderSettings ds;
    lvc_decoder_settings_default(&ds);
    ds.model = m;
    ds.threads = threads;
    LvcDecoder *d = NULL;
    CHECK(lvc_decoder_open(&d, &ds) == 0, "%s", lvc_last_error());
    return d;
}

/* Send one packet; returns the send result and the picture (or NULL). */
static int decode_one(LvcDecoder *d, const LvcPacket *p, LvcPicture **out)
{
    *out = NULL;
    int r = lvc_decoder_send_packet(d, p->data, p->size, p->pts);
    if (r < 0)
        return r;
    CHECK(lvc_decoder_receive_picture(d, out) == 0, "receive after send");
    LvcPicture *none;
    CHECK(lvc_decoder_receive_picture(d, &none) == LVC_EAGAIN, "one picture per packet");
    return 0;
}

static void round_trip(int w, int h, int n, int key_int, int refresh)
{
    Stream s;
    if (encode_stream(&s, model, w, h, n, 2, key_int, refresh, -1) < 0)
        return;
    LvcDecoder *d = open_decoder(model, 2);
    for (int i = 0; i < s.n && d; i++) {
        LvcPicture *pic;
        int r = decode_one(d, &s.pkt[i], &pic);
        CHECK(r == 0, "%dx%d frame %d: %s", w, h, i, lvc_last_error());
        if (pic) {
            CHECK(same_picture(pic, s.recon[i]), "%dx%d frame %d: recon != decoded", w, h, i);
            CHECK(pic->pts == i && pic->width == w && pic->height == h, "picture fields");
            lvc_picture_unref(pic);
        }
        /* frame types, sequence headers, refresh flags */
        int want_i = key_int ? i % key_int == 0 : i == 0;
        CHECK(s.pkt[i].frame_type == !want_i, "%dx%d frame %d type %d", w, h, i,
              s.pkt[i].frame_type);
        CHECK(!!(s.pkt[i].flags & LVC_PACKET_KEYFRAME) == want_i, "keyframe flag");
        CHECK(lvc_packet_is_keyframe(s.pkt[i].data, s.pkt[i].size) == want_i, "sh on I only");
        LvcPacketInfo info;
        CHECK(lvc_packet_parse(s.pkt[i].data, s.pkt[i].size, lvc_slice_count(w, h), &info) == 0,
              "parse");
        int since_i = key_int ? i % key_int : i;
        int want_refresh = !want_i && refresh && since_i % refresh == 0;
        CHECK(info.fh.refresh == want_refresh, "%dx%d frame %d refresh %d", w, h, i,
              info.fh.refresh);
        CHECK(info.fh.qp_present == want_i, "qp only on I (constant qp)");
    }
    LvcPicture *none;
    CHECK(lvc_decoder_send_packet(d, NULL, 0, 0) == 0, "flush");
    CHECK(lvc_decoder_receive_picture(d, &none) == LVC_EOF, "EOF");
    CHECK(lvc_decoder_memory(d) > 0, "memory");
    lvc_decoder_close(d);
    stream_free(&s);
}

static void test_round_trip_sizes(void)
{
    round_trip(1, 1, 4, 3, 2);
    round_trip(2, 2, 4, 0, 1);
    round_trip(17, 9, 5, 3, 2);
    round_trip(64, 48, 6, 4, 2);
    round_trip(50, 38, 3, 0, 0);
    round_trip(33, 80, 3, 2, 0);
}

static void test_threads(void)
{
    /* 544 × 512: 34 × 32 latent positions, two slices */
    const int w = 544, h = 512;
    CHECK(lvc_slice_count(w, h) == 2, "two slices");
    Stream s1, s2, s7;
    encode_stream(&s1, small_model, w, h, 3, 1, 0, 2, -1);
    encode_stream(&s2, small_model, w, h, 3, 2, 0, 2, -1);
    encode_stream(&s7, small_model, w, h, 3, 7, 0, 2, -1);
    for (int i = 0; i < s1.n && i < s2.n && i < s7.n; i++) {
        CHECK(s1.pkt[i].size == s2.pkt[i].size && s1.pkt[i].size == s7.pkt[i].size &&
                  !memcmp(s1.pkt[i].data, s2.pkt[i].data, s1.pkt[i].size) &&
                  !memcmp(s1.pkt[i].data, s7.pkt[i].data, s1.pkt[i].size),
              "frame %d differs between thread counts", i);
    }
    LvcDecoder *d = open_decoder(small_model, 7);
    for (int i = 0; i < s1.n && d; i++) {
        LvcPicture *pic;
        CHECK(decode_one(d, &s1.pkt[i], &pic) == 0, "%s", lvc_last_error());
        if (pic)
            CHECK(same_picture(pic, s1.recon[i]), "frame %d: 7-thread decode != recon", i);
        lvc_picture_unref(pic);
    }
    lvc_decoder_close(d);
    stream_free(&s1);
    stream_free(&s2);
    stream_free(&s7);
}

static void test_keyframes(void)
{
    Stream s;
    if (encode_stream(&s, model, 32, 32, 7, 2, 0, 0, 4) < 0)
        return;
    for (int i = 0; i < s.n; i++) {
        int want_i = i == 0 || i == 4;
        CHECK(s.pkt[i].frame_type == !want_i, "frame %d type %d", i, s.pkt[i].frame_type);
        CHECK(lvc_packet_is_keyframe(s.pkt[i].data, s.pkt[i].size) == want_i, "frame %d sh", i);
    }
    stream_free(&s);
    /* the sequence header of the encoder starts every key frame */
    LvcEncoderSettings es;
    lvc_encoder_settings_default(&es);
    CHECK(es.qp == 32 && es.key_int_max == 256 && es.refresh_period == 32 && es.vbv_ms == 1000,
          "defaults");
    es.width = 20;
    es.height = 12;
    es.fps_num = 30;
    es.fps_den = 1;
    es.par_num = es.par_den = 1;
    es.color.range = 1;
    LvcEncoder *enc;
    CHECK(lvc_encoder_open(&enc, model, &es) == 0, "%s", lvc_last_error());
    const uint8_t *sh;
    size_t shs;
    CHECK(lvc_encoder_get_sequence_header(enc, &sh, &shs) == 0 && shs == LVC_SH_FIXED_SIZE, "sh");
    LvcPicture *pic = make_picture(20, 12, 0);
    LvcPacket p;
    CHECK(lvc_encoder_send_picture(enc, pic) == 0 && lvc_encoder_receive_packet(enc, &p) == 0,
          "encode");
    CHECK(p.size > shs && !memcmp(p.data, sh, shs), "I-frame starts with the sequence header");
    LvcPicture *rc;
    CHECK(lvc_encoder_receive_recon(enc, &rc) == LVC_EINVAL, "no recon without want_recon");
    /* the decoded picture carries the header's colour and aspect ratio */
    LvcDecoder *d = open_decoder(model, 1);
    LvcPicture *out;
    CHECK(decode_one(d, &p, &out) == 0, "%s", lvc_last_error());
    if (out) {
        CHECK(out->color.range == 1 && out->color.primaries == 2 && out->par_num == 1 &&
                  out->par_den == 1,
              "colour / PAR");
        lvc_picture_unref(out);
    }
    lvc_decoder_close(d);
    lvc_packet_clear(&p);
    lvc_picture_unref(pic);
    /* rate control (tested in test_ratecontrol.c) */
    CHECK(lvc_encoder_set_bitrate(enc, 500) == 0, "set_bitrate");
    CHECK(lvc_encoder_set_bitrate(enc, 0) == 0, "bitrate 0");
    CHECK(lvc_encoder_set_bitrate(enc, -1) == LVC_EINVAL, "negative bitrate");
    lvc_encoder_close(enc);
    es.bitrate_kbps = 300;
    CHECK(lvc_encoder_open(&enc, model, &es) == 0, "bitrate setting");
    lvc_encoder_close(enc);
    es.bitrate_kbps = 0;
    es.qp = 64;
    CHECK(lvc_encoder_open(&enc, model, &es) == LVC_EINVAL, "qp 64");
}

static void test_damage(void)
{
    Stream s;
    const int w = 40, h = 24;
    if (encode_stream(&s, model, w, h, 9, 2, 5, 0, -1) < 0)
        return;
    CHECK(s.n == 9, "9 frames");
    /* damage the slice data of frame 2 (a P-frame) */
    LvcPacket *dp = &s.pkt[2];
    CHECK(dp->frame_type == 1 && dp->size > 24, "frame 2 is a P-frame of %zu bytes", dp->size);
    dp->data[dp->size / 2] ^= 0x5a;
    dp->data[dp->size / 2 + 1] ^= 0xa5;
    LvcDecoder *d = open_decoder(model, 2);
    for (int i = 0; i < s.n && d; i++) {
        LvcPicture *pic = NULL;
        int r = decode_one(d, &s.pkt[i], &pic);
        if (i < 2 || i >= 5) {
            CHECK(r == 0, "frame %d: %s", i, lvc_last_error());
            if (pic)
                CHECK(same_picture(pic, s.recon[i]), "frame %d differs from the recon", i);
        } else if (i == 2) {
            CHECK(r == LVC_EDATA, "damaged frame: %d (%s)", r, lvc_last_error());
        } else {
            CHECK(r == LVC_ENOREF, "frame %d after the damage: %d", i, r);
        }
        lvc_picture_unref(pic);
    }
    lvc_decoder_close(d);

    /* a P-frame first */
    d = open_decoder(model, 1);
    LvcPicture *pic;
    CHECK(decode_one(d, &s.pkt[1], &pic) == LVC_ENOREF, "P-frame first");
    CHECK(decode_one(d, &s.pkt[0], &pic) == 0, "then the I-frame");
    lvc_picture_unref(pic);
    /* truncated packets are damaged data */
    CHECK(lvc_decoder_send_packet(d, s.pkt[1].data, 3, 0) == LVC_EDATA, "truncated");
    CHECK(decode_one(d, &s.pkt[1], &pic) == LVC_ENOREF, "no reference after the error");
    lvc_decoder_close(d);

    /* the stream's model is not the decoder's */
    d = open_decoder(model2, 1);
    CHECK(decode_one(d, &s.pkt[0], &pic) == LVC_ENOMODEL, "model mismatch");
    CHECK(strstr(lvc_last_error(), model->id_hex) != NULL, "message names the id: %s",
          lvc_last_error());
    CHECK(strstr(lvc_last_error(), model2->name) != NULL, "message names the model: %s",
          lvc_last_error());
    lvc_decoder_close(d);

    /* no model given: found by id along LVC_MODEL_PATH */
    char dir[] = "/tmp/lvc_test_codec_XXXXXX";
    if (mkdtemp(dir)) {
        char path[200];
        snprintf(path, sizeof(path), "%s/%s.lvcm", dir, model->id_hex);
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(model->file, 1, model->file_size, f) == model->file_size, "write");
        if (f)
            fclose(f);
        setenv("LVC_MODEL_PATH", dir, 1);
        d = open_decoder(NULL, 1);
        CHECK(decode_one(d, &s.pkt[0], &pic) == 0, "found model: %s", lvc_last_error());
        if (pic)
            CHECK(same_picture(pic, s.recon[0]), "found model decodes");
        lvc_picture_unref(pic);
        lvc_decoder_close(d);
        unsetenv("LVC_MODEL_PATH");
        remove(path);
        rmdir(dir);
    }
    stream_free(&s);
}

/* Random damage anywhere in a stream: every frame either decodes or fails with a data /
 * reference error, never anything else (run under the sanitizers this finds memory errors). */
static void test_mutations(void)
{
    Stream s;
    const int w = 24, h = 40;
    if (encode_stream(&s, model, w, h, 6, 2, 3, 2, -1) < 0)
        return;
    uint32_t rs = 99;
    int decoded = 0, failed = 0;
    for (int it = 0; it < 20; it++) {
        double t0 = now_s();
        LvcDecoder *d = open_decoder(model, 1 + it % 3);
        for (int i = 0; i < s.n && d; i++) {
            size_t n = s.pkt[i].size;
            uint8_t *buf = malloc(n);
            memcpy(buf, s.pkt[i].data, n);
            rs = rs * 1103515245u + 12345u;
            if ((rs >> 16) % 3 == 0) {
                int flips = 1 + (int)((rs >> 8) % 3);
                for (int k = 0; k < flips; k++) {
                    rs = rs * 1103515245u + 12345u;
                    buf[(rs >> 8) % n] ^= (uint8_t)(1u << ((rs >> 4) % 8));
                }
            }
            rs = rs * 1103515245u + 12345u;
            size_t len = (rs >> 16) % 16 == 0 ? (rs >> 4) % n : n; /* truncation now and then */
            int r = lvc_decoder_send_packet(d, buf, len, i);
            if (r == 0) {
                LvcPicture *pic;
                CHECK(lvc_decoder_receive_picture(d, &pic) == 0, "receive");
                lvc_picture_unref(pic);
                decoded++;
            } else {
                CHECK(r == LVC_EDATA || r == LVC_ENOREF || r == LVC_EUNSUPPORTED ||
                          r == LVC_ENOMODEL || r == LVC_ENOMEM,
                      "iteration %d frame %d: unexpected %d (%s)", it, i, r, lvc_last_error());
                failed++;
            }
            free(buf);
        }
        if (getenv("LVC_TEST_VERBOSE"))
            printf("# iteration %d: %.2f s\n", it, now_s() - t0);
        lvc_decoder_close(d);
    }
    CHECK(decoded > 0 && failed > 0, "%d decoded, %d failed", decoded, failed);
    stream_free(&s);
}

/* A model with its own z tables for P-frames (FORMAT.md §3.6): I-frames are coded as without
 * them, P-frames with the P set, and both decode to the encoder's reconstruction. */
static void test_p_z_tables(void)
{
    LvcModel *mp = make_small_model(5, 1), *m1 = make_small_model(5, 0);
    CHECK(mp && m1, "models: %s", lvc_last_error());
    if (!mp || !m1)
        goto out;
    CHECK(mp->ent.n_zsets == 2 && m1->ent.n_zsets == 1, "z sets %d %d", mp->ent.n_zsets,
          m1->ent.n_zsets);
    CHECK(lvc_entropy_z(&mp->ent, 1) == &mp->ent.zt[1] && lvc_entropy_z(&mp->ent, 0) ==
          &mp->ent.zt[0] && lvc_entropy_z(&m1->ent, 1) == &m1->ent.zt[0], "set selection");
    Stream a, b;
    if (encode_stream(&a, mp, 48, 40, 3, 1, 0, 0, -1) < 0)
        goto out;
    if (encode_stream(&b, m1, 48, 40, 3, 1, 0, 0, -1) < 0) {
        stream_free(&a);
        goto out;
    }
    CHECK(a.n == 3 && b.n == 3, "frames");
    /* the sequence headers name different model ids; the I-frames are otherwise the same */
    CHECK(a.pkt[0].size == b.pkt[0].size && same_picture(a.recon[0], b.recon[0]),
          "I-frames must not depend on the P-frame z tables");
    for (int i = 1; i < a.n && i < b.n; i++)
        CHECK(a.pkt[i].size != b.pkt[i].size ||
                  memcmp(a.pkt[i].data, b.pkt[i].data, a.pkt[i].size),
              "P-frame %d: the P-frame z tables must change the stream", i);
    LvcDecoder *d = open_decoder(mp, 1);
    for (int i = 0; i < a.n && d; i++) {
        LvcPicture *pic;
        CHECK(decode_one(d, &a.pkt[i], &pic) == 0, "frame %d: %s", i, lvc_last_error());
        if (pic)
            CHECK(same_picture(pic, a.recon[i]), "frame %d: decoded != recon", i);
        lvc_picture_unref(pic);
    }
    lvc_decoder_close(d);
    stream_free(&a);
    stream_free(&b);
out:
    lvc_model_unref(mp);
    lvc_model_unref(m1);
}

/* LVC_DECODE_NO_PICTURE: frames decoded as references only give no picture (refresh frames
 * still do), and every later picture equals the encoder's reconstruction. */
static void test_no_picture(void)
{
    Stream s;
    if (encode_stream(&s, model, 48, 40, 7, 1, 0, 2, -1) < 0)
        return;
    LvcDecoder *d = open_decoder(model, 1);
    CHECK(lvc_decoder_send_packet_flags(d, s.pkt[0].data, s.pkt[0].size, 0, 2u) == LVC_EINVAL,
          "unknown flag");
    int pictures = 0;
    for (int i = 0; i < s.n && d; i++) {
        /* skip the picture of frames 0 (I), 1, 2 (refresh), 3 and 5 */
        unsigned fl = (i == 4 || i == 6) ? 0 : LVC_DECODE_NO_PICTURE;
        int r = lvc_decoder_send_packet_flags(d, s.pkt[i].data, s.pkt[i].size, i, fl);
        CHECK(r == 0, "frame %d: %s", i, lvc_last_error());
        LvcPicture *pic = NULL;
        r = lvc_decoder_receive_picture(d, &pic);
        int want = !fl || (i % 2 == 0 && i > 0); /* refresh frames: 2, 4, 6 */
        CHECK((r == 0) == want, "frame %d: picture %s", i, r == 0 ? "returned" : "missing");
        if (pic) {
            pictures++;
            CHECK(same_picture(pic, s.recon[i]), "frame %d: decoded != recon", i);
            CHECK(pic->pts == i, "pts");
        }
        lvc_picture_unref(pic);
    }
    CHECK(pictures == 3, "%d pictures", pictures);
    lvc_decoder_close(d);
    stream_free(&s);
}

int main(void)
{
    model = make_model(1);
    model2 = make_model(2);
    small_model = make_small_model(3, 0);
    if (!model || !model2 || !small_model) {
        fprintf(stderr, "cannot build the test models: %s\n", lvc_last_error());
        return 1;
    }
    double t = now_s();
#define TIMED(fn)                                                                               \
    do {                                                                                        \
        RUN(fn);                                                                                \
        printf("# %.2f s\n", now_s() - t);                                                     \
        t = now_s();                                                                            \
    } while (0)
    TIMED(test_round_trip_sizes);
    TIMED(test_keyframes);
    TIMED(test_damage);
    TIMED(test_threads);
    TIMED(test_mutations);
    TIMED(test_p_z_tables);
    TIMED(test_no_picture);
    lvc_model_unref(model);
    lvc_model_unref(model2);
    lvc_model_unref(small_model);
    return check_finish();
}
