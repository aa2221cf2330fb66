/* The codec engine on the Vulkan backend against the CPU backend: a stream encoded with
 * backend=vulkan is byte-identical to the CPU's and decodes on the CPU to the encoder's
 * reconstructions, and the reverse; I- and P-frames, a feature refresh, odd sizes, rate control
 * (re-encodes from a checkpoint), damaged data, an adopted device, the fallback to the CPU.
 * Exits 77 (skipped, with a message) when no Vulkan device exists.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvc/lvc.h"

#ifndef LVC_HAVE_VULKAN
int main(void)
{
    printf("SKIP: liblvc built without the Vulkan backend\n");
    return 77;
}
#else

#include <vulkan/vulkan.h>

#include "check.h"
#include "vk_app_device.h"

static LvcModel *model;

#define MAX_FRAMES 6

static LvcPicture *make_picture(int w, int h, int t)
{
    LvcPicture *p;
    if (lvc_picture_alloc(w, h, NULL, &p) < 0)
        return NULL;
    uint32_t s = 777u + (uint32_t)t * 13u;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                s = s * 1664525u + 1013904223u;
                int v = 30 + ((x + 3 * t) * 7 + y * 5) % 170 + (int)((s >> 24) & 31) + pl * 10;
                p->data[pl][y * p->stride[pl] + x] = (uint8_t)(v > 255 ? 255 : v);
            }
    }
    p->pts = t;
    return p;
}

static int same_picture(const LvcPicture *a, const LvcPicture *b)
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

typedef struct Stream {
    int n, backend;
    LvcPacket pkt[MAX_FRAMES];
    LvcPicture *recon[MAX_FRAMES];
} Stream;

static void stream_free(Stream *s)
{
    for (int i = 0; i < s->n; i++) {
        lvc_packet_clear(&s->pkt[i]);
        lvc_picture_unref(s->recon[i]);
    }
    s->n = 0;
}

typedef struct Opts {
    int w, h, n, key_int, refresh, kbps;
    LvcVulkanDevice *dev;
} Opts;

static int encode(Stream *s, int backend, const Opts *o)
{
    memset(s, 0, sizeof(*s));
    LvcEncoderSettings es;
    lvc_encoder_settings_default(&es);
    es.width = o->w;
    es.height = o->h;
    es.qp = 30;
    es.bitrate_kbps = o->kbps;
    es.fps_num = 30;
    es.fps_den = 1;
    es.key_int_max = o->key_int;
    es.refresh_period = o->refresh;
    es.threads = 2;
    es.want_recon = 1;
    es.backend = backend;
    es.vulkan_device = o->dev;
    LvcEncoder *enc;
    int r = lvc_encoder_open(&enc, model, &es);
    CHECK(r == 0, "open %dx%d: %s", o->w, o->h, lvc_last_error());
    if (r < 0)
        return r;
    s->backend = lvc_encoder_get_backend(enc);
    for (int i = 0; i < o->n && i < MAX_FRAMES; i++) {
        LvcPicture *pic = make_picture(o->w, o->h, i);
        r = lvc_encoder_send_picture(enc, pic);
        lvc_picture_unref(pic);
        CHECK(r == 0, "send %d: %s", i, lvc_last_error());
        if (r < 0 || (r = lvc_encoder_receive_packet(enc, &s->pkt[i])) < 0)
            break;
        CHECK(lvc_encoder_receive_recon(enc, &s->recon[i]) == 0, "recon %d", i);
        s->n++;
    }
    LvcTimings t;
    CHECK(lvc_encoder_get_timings(enc, &t) == 0 && t.frames >= (uint64_t)s->n && t.macs > 0 &&
              t.total_s > 0 && t.network_s > 0 && t.entropy_s > 0,
          "timings: %llu frames, %g MAC", (unsigned long long)t.frames, t.macs);
    lvc_encoder_close(enc);
    return r < 0 ? r : 0;
}

/* Decode s on backend; each picture must equal the encoder's reconstruction.  Returns the
 * backend the decoder used. */
static int decode_check(const Stream *s, int backend, LvcVulkanDevice *dev, const char *what)
{
    LvcDecoderSettings ds;
    lvc_decoder_settings_default(&ds);
    ds.model = model;
    ds.threads = 2;
    ds.backend = backend;
    ds.vulkan_device = dev;
    LvcDecoder *d;
    int r = lvc_decoder_open(&d, &ds);
    CHECK(r == 0, "%s", lvc_last_error());
    if (r < 0)
        return r;
    CHECK(lvc_decoder_get_backend(d) == LVC_BACKEND_AUTO, "backend before the first frame");
    for (int i = 0; i < s->n; i++) {
        LvcPicture *pic = NULL;
        r = lvc_decoder_send_packet(d, s->pkt[i].data, s->pkt[i].size, s->pkt[i].pts);
        CHECK(r == 0, "%s: decode %d: %s", what, i, lvc_last_error());
        if (r == 0)
            CHECK(lvc_decoder_receive_picture(d, &pic) == 0, "receive");
        CHECK(same_picture(pic, s->recon[i]), "%s: frame %d (%s) differs from the encoder's "
              "reconstruction", what, i, s->pkt[i].frame_type ? "P" : "I");
        lvc_picture_unref(pic);
    }
    int used = lvc_decoder_get_backend(d);
    lvc_decoder_close(d);
    return used;
}

static int same_bytes(const Stream *a, const Stream *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (a->pkt[i].size != b->pkt[i].size || memcmp(a->pkt[i].data, b->pkt[i].data,
                                                       a->pkt[i].size) ||
            !same_picture(a->recon[i], b->recon[i]))
            return 0;
    return 1;
}

/* CPU and Vulkan encodes are identical; each decodes to the same pictures on the other. */
static void cross_check(const Opts *o)
{
    Stream cpu, vk;
    if (encode(&cpu, LVC_BACKEND_CPU, o) < 0)
        return;
    if (encode(&vk, LVC_BACKEND_VULKAN, o) == 0) {
        CHECK(cpu.backend == LVC_BACKEND_CPU && vk.backend == LVC_BACKEND_VULKAN, "backends %d %d",
              cpu.backend, vk.backend);
        int p = 0;
        for (int i = 0; i < vk.n; i++)
            p += vk.pkt[i].frame_type;
        CHECK(o->n < 3 || p > 0, "no P-frame was coded");
        CHECK(same_bytes(&cpu, &vk), "%dx%d: the Vulkan encode differs from the CPU's", o->w,
              o->h);
        CHECK(decode_check(&vk, LVC_BACKEND_CPU, NULL, "vulkan encode, cpu decode") ==
                  LVC_BACKEND_CPU, "cpu decoder");
        CHECK(decode_check(&cpu, LVC_BACKEND_VULKAN, o->dev, "cpu encode, vulkan decode") ==
                  LVC_BACKEND_VULKAN, "vulkan decoder");
        stream_free(&vk);
    }
    stream_free(&cpu);
}

static void test_cross_64x48(void)
{
    /* I, P, P with refresh, P, I (key_int 4), P */
    const Opts o = {64, 48, 6, 4, 2, 0, NULL};
    cross_check(&o);
}

static void test_cross_odd(void)
{
    const Opts o1 = {72, 40, 4, 0, 2, 0, NULL}; /* padding to 80x48 */
    cross_check(&o1);
    const Opts o2 = {37, 21, 3, 0, 0, 0, NULL}; /* odd sizes, odd chroma */
    cross_check(&o2);
}

static void test_rate_control(void)
{
    /* a low target: frames are coded again at higher qps from a checkpoint of F and ŷ */
    const Opts o = {64, 48, 4, 0, 0, 20, NULL};
    cross_check(&o);
}

/* A damaged P-frame fails on the device path as on the CPU and the next key frame decodes. */
static void test_damage(void)
{
    const Opts o = {64, 48, 5, 3, 0, 0, NULL};
    Stream s;
    if (encode(&s, LVC_BACKEND_CPU, &o) < 0)
        return;
    LvcDecoderSettings ds;
    lvc_decoder_settings_default(&ds);
    ds.model = model;
    ds.backend = LVC_BACKEND_VULKAN;
    LvcDecoder *d;
    CHECK(lvc_decoder_open(&d, &ds) == 0, "%s", lvc_last_error());
    for (int i = 0; i < s.n; i++) {
        LvcPicture *pic = NULL;
        uint8_t *copy = malloc(s.pkt[i].size);
        memcpy(copy, s.pkt[i].data, s.pkt[i].size);
        if (i == 1) /* the end of a P-frame's last slice */
            for (size_t k = s.pkt[i].size > 8 ? s.pkt[i].size - 8 : 0; k < s.pkt[i].size; k++)
                copy[k] ^= 0x5a;
        int r = lvc_decoder_send_packet(d, copy, s.pkt[i].size, s.pkt[i].pts);
        free(copy);
        if (i == 1 || i == 2) {
            CHECK(r < 0, "frame %d of a damaged chain decoded", i);
            continue;
        }
        CHECK(r == 0, "frame %d: %s", i, lvc_last_error());
        if (r == 0 && lvc_decoder_receive_picture(d, &pic) == 0)
            CHECK(same_picture(pic, s.recon[i]), "frame %d after damage differs", i);
        lvc_picture_unref(pic);
    }
    CHECK(lvc_decoder_get_backend(d) == LVC_BACKEND_VULKAN, "backend");
    lvc_decoder_close(d);
    stream_free(&s);
}

/* The application's own device. */
static void test_adopt(void)
{
    AppDevice ad;
    if (app_device_create(&ad) < 0)
        return;
    LvcVulkanHandles h = {ad.instance, ad.physical, ad.device, ad.queue, ad.queue_family};
    LvcVulkanDevice *ld = NULL;
    LvcVulkanHandles bad = h;
    bad.queue_family = 99;
    CHECK(lvc_vulkan_device_adopt(&bad, &ld) == LVC_EINVAL && !ld, "bad queue family accepted");
    int r = lvc_vulkan_device_adopt(&h, &ld);
    CHECK(r == 0, "adopt: %s", lvc_last_error());
    if (r == 0) {
        CHECK(strlen(lvc_vulkan_device_name(ld)) > 0, "name");
        /* auto takes an application's device as it is, even a CPU implementation */
        Opts o = {48, 32, 3, 0, 0, 0, ld};
        Stream cpu, vk;
        if (encode(&cpu, LVC_BACKEND_CPU, &o) == 0 && encode(&vk, LVC_BACKEND_AUTO, &o) == 0) {
            CHECK(vk.backend == LVC_BACKEND_VULKAN, "auto with an adopted device: %d",
                  vk.backend);
            CHECK(same_bytes(&cpu, &vk), "adopted device: encodes differ");
            CHECK(decode_check(&cpu, LVC_BACKEND_VULKAN, ld, "adopted decode") ==
                      LVC_BACKEND_VULKAN, "adopted decoder");
        }
        stream_free(&cpu);
        stream_free(&vk);
        lvc_vulkan_device_unref(ld);
    }
    app_device_destroy(&ad);
}

static int warnings;
static char last_msg[512];
static void on_log(void *opaque, int level, const char *msg)
{
    (void)opaque;
    if (level == LVC_LOG_WARNING)
        warnings++;
    snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

/* auto never takes a CPU implementation of Vulkan; an unusable device falls back to the CPU
 * with a warning.  Last: the failure to find LVC_VULKAN_DEVICE is remembered by the process. */
static void test_selection(void)
{
    lvc_set_log_callback(on_log, NULL);
    const Opts o = {32, 32, 1, 0, 0, 0, NULL};
    Stream s;
    if (encode(&s, LVC_BACKEND_AUTO, &o) == 0) {
        /* lavapipe (this test's usual device) is never chosen by auto; a GPU is */
        const char *env = getenv("LVC_TEST_EXPECT_AUTO");
        if (env)
            CHECK(s.backend == atoi(env), "auto chose %d", s.backend);
        CHECK(s.backend == LVC_BACKEND_CPU || s.backend == LVC_BACKEND_VULKAN, "auto: %d",
              s.backend);
        CHECK(warnings == 0, "auto warned: %s", last_msg);
    }
    stream_free(&s);
    setenv("LVC_VULKAN_DEVICE", "no-such-device-xyz", 1);
    int before = warnings;
    if (encode(&s, LVC_BACKEND_VULKAN, &o) == 0) {
        /* the library's device is alive only while a coder uses it: created anew here */
        CHECK(s.backend == LVC_BACKEND_CPU, "a missing device was used");
        CHECK(warnings == before + 1 && strstr(last_msg, "no-such-device-xyz"),
              "no fallback warning: %s", last_msg);
    }
    stream_free(&s);
    lvc_set_log_callback(NULL, NULL);
}

int main(void)
{
    if (lvc_model_load(LVC_SOURCE_ROOT "/tests/golden/model_random.lvcm", &model) < 0) {
        printf("cannot load the random model: %s\n", lvc_last_error());
        return 1;
    }
    /* is there a device at all? */
    lvc_set_log_callback(on_log, NULL);
    LvcEncoderSettings es;
    lvc_encoder_settings_default(&es);
    es.width = es.height = 16;
    es.backend = LVC_BACKEND_VULKAN;
    LvcEncoder *enc;
    if (lvc_encoder_open(&enc, model, &es) < 0) {
        printf("cannot open an encoder: %s\n", lvc_last_error());
        return 1;
    }
    int backend = lvc_encoder_get_backend(enc);
    lvc_encoder_close(enc);
    lvc_set_log_callback(NULL, NULL);
    if (backend != LVC_BACKEND_VULKAN) {
        lvc_model_unref(model);
        if (strstr(last_msg, "no Vulkan driver") || strstr(last_msg, "no physical device")) {
            printf("SKIP: no Vulkan device (%s)\n", last_msg);
            return 77;
        }
        printf("FAIL: the Vulkan device is not usable: %s\n", last_msg);
        return 1;
    }
    warnings = 0;
    RUN(test_cross_64x48);
    RUN(test_cross_odd);
    RUN(test_rate_control);
    RUN(test_damage);
    RUN(test_adopt);
    RUN(test_selection);
    lvc_model_unref(model);
    return check_finish();
}

#endif /* LVC_HAVE_VULKAN */
