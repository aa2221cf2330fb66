/* Public API basics: version, error strings, last-error messages, pictures and packets. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "lvc/lvc.h"

static void test_version(void)
{
    char expect[32];
    snprintf(expect, sizeof(expect), "%d.%d.%d", LVC_VERSION_MAJOR, LVC_VERSION_MINOR,
             LVC_VERSION_PATCH);
    CHECK(strcmp(lvc_version(), expect) == 0, "version %s, header says %s", lvc_version(), expect);
    CHECK(LVC_VERSION == ((LVC_VERSION_MAJOR << 16) | (LVC_VERSION_MINOR << 8) | LVC_VERSION_PATCH),
          "version macro");
}

static void test_errors(void)
{
    const int codes[] = {LVC_OK, LVC_EAGAIN, LVC_EOF, LVC_EINVAL, LVC_ENOMEM, LVC_EDATA,
                         LVC_EMODEL, LVC_ENOMODEL, LVC_EUNSUPPORTED, LVC_EIO, LVC_ENOREF};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *s = lvc_strerror(codes[i]);
        CHECK(s && *s && strcmp(s, "unknown error") != 0, "code %d has no description", codes[i]);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s, lvc_strerror(codes[j])) != 0, "codes %d and %d share a text", codes[i],
                  codes[j]);
    }
    CHECK(strcmp(lvc_strerror(-12345), "unknown error") == 0, "unknown code");
    int r = lvc_error(LVC_EDATA, "slice %d damaged", 3);
    CHECK(r == LVC_EDATA, "lvc_error returns its code");
    CHECK(strcmp(lvc_last_error(), "slice 3 damaged") == 0, "message '%s'", lvc_last_error());
    LvcPicture *pic = NULL;
    CHECK(lvc_picture_alloc(0, 10, NULL, &pic) == LVC_EINVAL && pic == NULL, "0 width refused");
    CHECK(strstr(lvc_last_error(), "0x10") != NULL, "message names the size: '%s'", lvc_last_error());
}

static void test_picture_builtin(void)
{
    const int sizes[][2] = {{1, 1}, {2, 2}, {3, 5}, {416, 240}, {8192, 2}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        LvcPicture *pic = NULL;
        int w = sizes[i][0], h = sizes[i][1];
        CHECK(lvc_picture_alloc(w, h, NULL, &pic) == 0 && pic, "alloc %dx%d", w, h);
        if (!pic)
            continue;
        CHECK(pic->stride[0] >= w && pic->stride[1] >= (w + 1) / 2, "strides");
        CHECK(((uintptr_t)pic->data[0] & 63) == 0, "aligned");
        /* write every sample: ASan catches a short allocation */
        for (int y = 0; y < h; y++)
            memset(pic->data[0] + y * pic->stride[0], 1, (size_t)w);
        for (int p = 1; p < 3; p++)
            for (int y = 0; y < (h + 1) / 2; y++)
                memset(pic->data[p] + y * pic->stride[p], 2, (size_t)(w + 1) / 2);
        LvcPicture *r = lvc_picture_ref(pic);
        CHECK(r == pic, "ref returns the picture");
        lvc_picture_unref(pic);
        lvc_picture_unref(r);
    }
    lvc_picture_unref(NULL);
    LvcPicture *pic = NULL;
    CHECK(lvc_picture_alloc(8193, 1, NULL, &pic) == LVC_EINVAL, "8193 refused");
}

typedef struct Counter {
    int allocs, releases;
    uint8_t *mem;
    int fail;
} Counter;

static int counting_alloc(LvcPicture *pic, void *opaque)
{
    Counter *c = opaque;
    if (c->fail)
        return LVC_ENOMEM;
    c->allocs++;
    int cw = (pic->width + 1) / 2, ch = (pic->height + 1) / 2;
    c->mem = malloc((size_t)pic->width * pic->height + 2 * (size_t)cw * ch);
    pic->data[0] = c->mem;
    pic->data[1] = c->mem + pic->width * pic->height;
    pic->data[2] = pic->data[1] + cw * ch;
    pic->stride[0] = pic->width;
    pic->stride[1] = pic->stride[2] = cw;
    pic->allocator_data = c;
    return 0;
}

static void counting_release(LvcPicture *pic, void *opaque)
{
    Counter *c = opaque;
    CHECK(pic->allocator_data == c, "allocator data kept");
    c->releases++;
    free(c->mem);
}

static void test_picture_allocator(void)
{
    Counter c = {0};
    LvcAllocator a = {counting_alloc, counting_release, &c};
    LvcPicture *pic = NULL;
    CHECK(lvc_picture_alloc(33, 17, &a, &pic) == 0, "custom alloc");
    lvc_picture_ref(pic);
    lvc_picture_unref(pic);
    CHECK(c.releases == 0, "released too early");
    lvc_picture_unref(pic);
    CHECK(c.allocs == 1 && c.releases == 1, "allocs %d releases %d", c.allocs, c.releases);
    c.fail = 1;
    pic = NULL;
    CHECK(lvc_picture_alloc(33, 17, &a, &pic) == LVC_ENOMEM && !pic, "allocator failure passed on");
}

static void test_packet(void)
{
    LvcPacket pkt = {0};
    pkt.data = malloc(10);
    pkt.size = 10;
    lvc_packet_clear(&pkt);
    CHECK(pkt.data == NULL && pkt.size == 0, "cleared");
    lvc_packet_clear(NULL);
}

int main(void)
{
    RUN(test_version);
    RUN(test_errors);
    RUN(test_picture_builtin);
    RUN(test_picture_allocator);
    RUN(test_packet);
    return check_finish();
}
