/* Reference-counted pictures and packets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

typedef struct PicturePriv {
    atomic_int refs;
    LvcAllocator allocator; /* copy; .alloc == NULL for the built-in one */
    void *block;            /* built-in allocation */
} PicturePriv;

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

static int builtin_alloc(LvcPicture *pic, PicturePriv *pp)
{
    size_t cw = (size_t)(pic->width + 1) / 2, ch = (size_t)(pic->height + 1) / 2;
    size_t ys = align64((size_t)pic->width), cs = align64(cw);
    size_t ysize = align64(ys * (size_t)pic->height), csize = align64(cs * ch);
    uint8_t *block = aligned_alloc(64, ysize + 2 * csize);
    if (!block)
        return lvc_error(LVC_ENOMEM, "cannot allocate a %dx%d picture", pic->width, pic->height);
    pp->block = block;
    pic->data[0] = block;
    pic->data[1] = block + ysize;
    pic->data[2] = block + ysize + csize;
    pic->stride[0] = (ptrdiff_t)ys;
    pic->stride[1] = pic->stride[2] = (ptrdiff_t)cs;
    return 0;
}

int lvc_picture_alloc(int width, int height, const LvcAllocator *allocator, LvcPicture **out)
{
    lvc_error_clear();
    if (!out || width < 1 || height < 1 || width > LVC_MAX_DIM || height > LVC_MAX_DIM)
        return lvc_error(LVC_EINVAL, "invalid picture size %dx%d", width, height);
    *out = NULL;
    LvcPicture *pic = calloc(1, sizeof(*pic));
    PicturePriv *pp = calloc(1, sizeof(*pp));
    if (!pic || !pp) {
        free(pic);
        free(pp);
        return lvc_error(LVC_ENOMEM, "out of memory");
    }
    pic->width = width;
    pic->height = height;
    pic->format = LVC_PIX_I420;
    pic->color.primaries = pic->color.transfer = pic->color.matrix = 2;
    pic->priv = pp;
    atomic_init(&pp->refs, 1);
    int ret;
    if (allocator && allocator->alloc) {
        pp->allocator = *allocator;
        ret = allocator->alloc(pic, allocator->opaque);
        if (ret >= 0 && (!pic->data[0] || !pic->data[1] || !pic->data[2] ||
                         pic->stride[0] < width || pic->stride[1] < (width + 1) / 2 ||
                         pic->stride[2] < (width + 1) / 2)) {
            if (allocator->release)
                allocator->release(pic, allocator->opaque);
            ret = lvc_error(LVC_EINVAL, "picture allocator returned invalid planes");
        } else if (ret < 0) {
            ret = lvc_error(ret, "picture allocator failed (%d)", ret);
        }
    } else {
        ret = builtin_alloc(pic, pp);
    }
    if (ret < 0) {
        free(pp);
        free(pic);
        return ret;
    }
    *out = pic;
    return 0;
}

LvcPicture *lvc_picture_ref(LvcPicture *pic)
{
    if (pic)
        atomic_fetch_add_explicit(&((PicturePriv *)pic->priv)->refs, 1, memory_order_relaxed);
    return pic;
}

void lvc_picture_unref(LvcPicture *pic)
{
    if (!pic)
        return;
    PicturePriv *pp = pic->priv;
    if (atomic_fetch_sub_explicit(&pp->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (pp->allocator.alloc) {
        if (pp->allocator.release)
            pp->allocator.release(pic, pp->allocator.opaque);
    } else {
        free(pp->block);
    }
    free(pp);
    free(pic);
}

void lvc_packet_clear(LvcPacket *pkt)
{
    if (!pkt)
        return;
    free(pkt->data);
    memset(pkt, 0, sizeof(*pkt));
}
