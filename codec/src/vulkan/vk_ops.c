/* Vulkan backend: recording of op dispatches into one command buffer.  See vk.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "internal.h"
#include "vulkan/vk_priv.h"

/* Push-constant blocks, member for member as in shaders/\*.comp. */
typedef struct ConvPush {
    uint32_t in_off, out_off, w_off, b_off, s_off;
    int32_t cin, h, w, cout, ho, wo, pad, groups, act, act_k, has_bias;
} ConvPush;

enum { EW_ADD = 0, EW_RESCALE, EW_QMUL, EW_ACT, EW_CBMASK, EW_CBMERGE, EW_COPY };
typedef struct EwPush {
    uint32_t out_off, a_off, b_off, t_off;
    int32_t op, c, h, w, da, db, s, act, act_k, par;
} EwPush;

enum { RM_CROP = 0, RM_PAD, RM_SHUFFLE, RM_UNSHUFFLE };
typedef struct RemapPush {
    uint32_t out_off, in_off;
    int32_t mode, oc, oh, ow, ih, iw, r;
} RemapPush;

typedef struct PackPush {
    uint32_t out_off, y_off, u_off, v_off;
    int32_t sy, sc, w, h, h0, w0;
} PackPush;

typedef struct UnpackPush {
    uint32_t in_off, y_off, u_off, v_off;
    int32_t w, h, h0, w0, f, wy, wc;
} UnpackPush;

/* The word ranges a dispatch reads (up to two) and writes. */
typedef struct Access {
    LvcVkRange rd[2];
    int nrd;
    LvcVkRange wr;
} Access;

static LvcVkRange trange(const LvcVkTensor *t)
{
    return (LvcVkRange){t->off, t->off + (uint32_t)lvc_vk_tensor_words(t->c, t->h, t->w)};
}

static int overlap(LvcVkRange x, LvcVkRange y) { return x.lo < y.hi && y.lo < x.hi; }

/* Whether a dispatch with access acc must wait for those since the last barrier. */
static int hazard(const LvcVkArena *a, const Access *acc)
{
    if (a->npend_rd + acc->nrd > LVC_VK_MAX_PENDING || a->npend_wr + 1 > LVC_VK_MAX_PENDING)
        return 1;
    for (int i = 0; i < a->npend_wr; i++) {
        if (overlap(acc->wr, a->pend_wr[i]))
            return 1;
        for (int j = 0; j < acc->nrd; j++)
            if (overlap(acc->rd[j], a->pend_wr[i]))
                return 1;
    }
    for (int i = 0; i < a->npend_rd; i++)
        if (overlap(acc->wr, a->pend_rd[i]))
            return 1;
    return 0;
}

static void order(LvcVkArena *a, const Access *acc);

int lvc_vk_barrier_count(const LvcVkArena *a) { return a->nbarrier; }

int lvc_vk_begin(LvcVkArena *a)
{
    if (a->recording)
        return lvc_error(LVC_EINVAL, "vulkan: already recording");
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VkResult r = vkBeginCommandBuffer(a->cmd, &bi);
    if (r != VK_SUCCESS)
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: vkBeginCommandBuffer failed (%d)", (int)r);
    if (a->timer) {
        vkCmdResetQueryPool(a->cmd, a->timer, 0, 2);
        vkCmdWriteTimestamp(a->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, a->timer, 0);
    }
    /* order after earlier submissions (transfers) */
    lvc_vk_barrier(a->cmd);
    vkCmdBindDescriptorSets(a->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, a->ctx->layout, 0, 1, &a->set,
                            0, NULL);
    a->recording = 1;
    a->ndispatch = 0;
    a->npend_rd = a->npend_wr = 0;
    a->nbarrier = 0;
    a->ndownload = 0;
    a->bound = VK_NULL_HANDLE;
    return 0;
}

void lvc_vk_abort(LvcVkArena *a)
{
    if (!a->recording)
        return;
    a->recording = 0;
    vkEndCommandBuffer(a->cmd); /* discarded: the next lvc_vk_begin resets it */
}

int lvc_vk_submit_wait(LvcVkArena *a)
{
    if (!a->recording)
        return lvc_error(LVC_EINVAL, "vulkan: not recording");
    a->recording = 0;
    if (a->ndownload) {
        /* the copies into the staging buffer before the host reads it */
        VkMemoryBarrier mb = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
        };
        vkCmdPipelineBarrier(a->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                             0, 1, &mb, 0, NULL, 0, NULL);
    }
    if (a->timer)
        vkCmdWriteTimestamp(a->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, a->timer, 1);
    VkResult r = vkEndCommandBuffer(a->cmd);
    if (r != VK_SUCCESS)
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: vkEndCommandBuffer failed (%d)", (int)r);
    return lvc_vk_submit_cmd(a);
}

/* Append one dispatch of gx × gy × gz workgroups, after a barrier when it depends on (or
 * overwrites what is used by) a dispatch since the last one. */
static int dispatch(LvcVkArena *a, int shader, int spec0, int spec1, const void *push,
                    uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz, const Access *acc)
{
    if (!a->recording)
        return lvc_error(LVC_EINVAL, "vulkan: record outside lvc_vk_begin/lvc_vk_submit_wait");
    const uint32_t *maxg = a->ctx->props.limits.maxComputeWorkGroupCount;
    if (gx > maxg[0] || gy > maxg[1] || gz > maxg[2])
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: dispatch of %ux%ux%u workgroups exceeds the "
                         "device's limits", gx, gy, gz);
    if (gx == 0 || gy == 0 || gz == 0)
        return 0;
    VkPipeline pipe;
    int err = lvc_vk_pipeline(a->ctx, shader, spec0, spec1, &pipe);
    if (err < 0)
        return err;
    order(a, acc);
    if (pipe != a->bound) {
        vkCmdBindPipeline(a->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
        a->bound = pipe;
    }
    vkCmdPushConstants(a->cmd, a->ctx->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
    vkCmdDispatch(a->cmd, gx, gy, gz);
    return 0;
}

/* Order a command with access acc after the commands since the last barrier when it depends on
 * them (the hazard rule of dispatch), and add its ranges to the pending ones. */
static void order(LvcVkArena *a, const Access *acc)
{
    if (hazard(a, acc)) {
        if (a->ndispatch) {
            lvc_vk_barrier(a->cmd);
            a->nbarrier++;
        }
        a->npend_rd = a->npend_wr = 0;
    }
    for (int i = 0; i < acc->nrd; i++)
        a->pend_rd[a->npend_rd++] = acc->rd[i];
    if (acc->wr.hi > acc->wr.lo)
        a->pend_wr[a->npend_wr++] = acc->wr;
    a->ndispatch++;
}

int lvc_vk_record_copy(LvcVkArena *a, int to_device, uint32_t word_off, size_t staging_off,
                       size_t bytes)
{
    if (!a->recording)
        return lvc_error(LVC_EINVAL, "vulkan: record outside lvc_vk_begin/lvc_vk_submit_wait");
    if (bytes == 0 || bytes % 4 || staging_off % 4 || !a->staging.buf ||
        staging_off > a->staging.size || bytes > a->staging.size - staging_off ||
        ((size_t)word_off * 4 > a->act.size) || bytes > a->act.size - (size_t)word_off * 4)
        return lvc_error(LVC_EINVAL, "vulkan: copy of %zu bytes outside the buffers", bytes);
    const LvcVkRange r = {word_off, word_off + (uint32_t)(bytes / 4)};
    Access acc = {{r, {0, 0}}, to_device ? 0 : 1, to_device ? r : (LvcVkRange){0, 0}};
    order(a, &acc);
    VkBufferCopy reg = {to_device ? staging_off : (size_t)word_off * 4,
                        to_device ? (size_t)word_off * 4 : staging_off, bytes};
    if (to_device) {
        vkCmdCopyBuffer(a->cmd, a->staging.buf, a->act.buf, 1, &reg);
    } else {
        vkCmdCopyBuffer(a->cmd, a->act.buf, a->staging.buf, 1, &reg);
        a->ndownload++;
    }
    return 0;
}

/* A flat dispatch of n invocations of lsize-wide workgroups over (x, y) (flat_index). */
static int dispatch_flat(LvcVkArena *a, int shader, const void *push, uint32_t push_size,
                         size_t n, uint32_t gz, const Access *acc)
{
    const size_t groups = (n + LVC_VK_LSIZE - 1) / LVC_VK_LSIZE;
    const size_t gx = groups < 65535 ? groups : 65535;
    const size_t gy = gx ? (groups + gx - 1) / gx : 0;
    if (gy > 65535)
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: dispatch of %zu invocations too large", n);
    return dispatch(a, shader, 0, 0, push, push_size, (uint32_t)gx, (uint32_t)gy, gz, acc);
}

static int check_t(const LvcVkArena *a, const LvcVkTensor *t, const char *what)
{
    if (t->c < 1 || t->h < 1 || t->w < 1 ||
        ((size_t)t->off + lvc_vk_tensor_words(t->c, t->h, t->w)) * 4 > a->act.size)
        return lvc_error(LVC_EINVAL, "vulkan: %s tensor %dx%dx%d at %u outside the arena", what,
                         t->c, t->h, t->w, t->off);
    return 0;
}

static int same_shape(const LvcVkTensor *x, const LvcVkTensor *y)
{
    return x->c == y->c && x->h == y->h && x->w == y->w;
}

static int check_act(int act, int k)
{
    if (act < LVC_ACT_NONE || act > LVC_ACT_LRELU || (act == LVC_ACT_LRELU && (k < 1 || k > 15)))
        return lvc_error(LVC_EINVAL, "vulkan: invalid activation %d/%d", act, k);
    return 0;
}

/* Disjoint word ranges of two tensors. */
static int disjoint(const LvcVkTensor *x, const LvcVkTensor *y)
{
    const size_t x0 = x->off, x1 = x0 + lvc_vk_tensor_words(x->c, x->h, x->w);
    const size_t y0 = y->off, y1 = y0 + lvc_vk_tensor_words(y->c, y->h, y->w);
    return x1 <= y0 || y1 <= x0;
}

int lvc_vk_record_conv(LvcVkArena *a, const LvcVkConv *cv, const LvcVkTensor *in,
                       const LvcVkTensor *out)
{
    int err;
    if ((err = check_t(a, in, "input")) < 0 || (err = check_t(a, out, "output")) < 0)
        return err;
    if (in->c != cv->cin || in->h != cv->h || in->w != cv->w || out->c != cv->cout ||
        out->h != cv->ho || out->w != cv->wo)
        return lvc_error(LVC_EINVAL, "vulkan: conv shapes do not match the layer");
    if (!disjoint(in, out))
        return lvc_error(LVC_EINVAL, "vulkan: conv output overlaps its input");
    ConvPush pc = {in->off, out->off, cv->w_off, cv->b_off, cv->s_off, cv->cin, cv->h, cv->w,
                   cv->cout, cv->ho, cv->wo, cv->pad, cv->groups, cv->act, cv->act_shift,
                   cv->has_bias};
    const Access acc = {{trange(in)}, 1, trange(out)};
    const int cog = cv->cout / cv->groups, cig = cv->cin / cv->groups;
    /* the GEMM tile (64 channels × 16 inputs) only pays when the groups are not tiny */
    if (cv->k == 1 && cv->stride == 1 && cv->pad == 0 && cog >= 8 && cig >= 4) {
        const size_t n = (size_t)cv->h * (size_t)((cv->w + 1) / 2);
        return dispatch(a, LVC_VK_SH_CONV1X1, 0, 0, &pc, sizeof(pc), (uint32_t)((n + 31) / 32),
                        (uint32_t)((cog + 63) / 64), (uint32_t)cv->groups, &acc);
    }
    const size_t n = (size_t)cv->ho * (size_t)((cv->wo + 1) / 2);
    const size_t groups = (n + LVC_VK_LSIZE - 1) / LVC_VK_LSIZE;
    const size_t gx = groups < 65535 ? groups : 65535, gy = (groups + gx - 1) / gx;
    return dispatch(a, LVC_VK_SH_CONV, cv->k, cv->stride, &pc, sizeof(pc), (uint32_t)gx,
                    (uint32_t)gy, (uint32_t)cv->cout, &acc);
}

static int record_ew(LvcVkArena *a, int op, const LvcVkTensor *out, const LvcVkTensor *x,
                     const LvcVkTensor *y, uint32_t t_off, int da, int db, int s, int act,
                     int act_shift, int par)
{
    int err;
    if ((err = check_t(a, out, "output")) < 0 || (err = check_t(a, x, "input")) < 0 ||
        (y && (err = check_t(a, y, "input")) < 0) || (err = check_act(act, act_shift)) < 0)
        return err;
    if (!same_shape(out, x) || (y && !same_shape(out, y)))
        return lvc_error(LVC_EINVAL, "vulkan: element-wise op on different shapes");
    EwPush pc = {out->off, x->off, y ? y->off : 0, t_off, op, out->c, out->h, out->w, da, db, s,
                 act, act_shift, par};
    Access acc = {{trange(x), {0, 0}}, 1, trange(out)};
    if (y)
        acc.rd[acc.nrd++] = trange(y);
    return dispatch_flat(a, LVC_VK_SH_EW, &pc, sizeof(pc),
                         lvc_vk_tensor_words(out->c, out->h, out->w), 1, &acc);
}

static int check_align(int d)
{
    if (d < -15 || d > 30)
        return lvc_error(LVC_EINVAL, "vulkan: exponent difference %d outside -15..30", d);
    return 0;
}

int lvc_vk_record_add(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *x,
                      const LvcVkTensor *y, int act, int act_shift)
{
    const int da = x->exp - out->exp, db = y->exp - out->exp;
    int err;
    if ((err = check_align(da)) < 0 || (err = check_align(db)) < 0)
        return err;
    return record_ew(a, EW_ADD, out, x, y, 0, da, db, 0, act, act_shift, 0);
}

int lvc_vk_record_rescale(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int act,
                          int act_shift)
{
    const int d = in->exp - out->exp;
    int err = check_align(d);
    if (err < 0)
        return err;
    return record_ew(a, EW_RESCALE, out, in, NULL, 0, d, 0, 0, act, act_shift, 0);
}

int lvc_vk_record_qmul(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in,
                       const LvcVkQTable *qt, int qp, int fq, int act, int act_shift)
{
    const int s = in->exp + fq - out->exp;
    if (qp < 0 || qp > 63 || qt->c != in->c || s < 1 || s > 30)
        return lvc_error(LVC_EINVAL, "vulkan: qmul with qp %d, %d of %d channels, shift %d", qp,
                         qt->c, in->c, s);
    if ((size_t)qt->off + (size_t)64 * (size_t)qt->c > a->par.size / 4)
        return lvc_error(LVC_EINVAL, "vulkan: q table outside the parameter arena");
    return record_ew(a, EW_QMUL, out, in, NULL, qt->off + (uint32_t)(qp * qt->c), 0, 0, s, act,
                     act_shift, 0);
}

int lvc_vk_record_act(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int act,
                      int act_shift)
{
    return record_ew(a, EW_ACT, out, in, NULL, 0, 0, 0, 0, act, act_shift, 0);
}

int lvc_vk_record_cbmask(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int par)
{
    if (par != 0 && par != 1)
        return lvc_error(LVC_EINVAL, "vulkan: parity %d", par);
    return record_ew(a, EW_CBMASK, out, in, NULL, 0, 0, 0, 0, 0, 0, par);
}

int lvc_vk_record_cbmerge(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *x,
                          const LvcVkTensor *y, int par)
{
    if (par != 0 && par != 1)
        return lvc_error(LVC_EINVAL, "vulkan: parity %d", par);
    return record_ew(a, EW_CBMERGE, out, x, y, 0, 0, 0, 0, 0, 0, par);
}

int lvc_vk_record_concat(LvcVkArena *a, const LvcVkTensor *out, int c0, const LvcVkTensor *in)
{
    if (c0 < 0 || c0 + in->c > out->c || in->h != out->h || in->w != out->w)
        return lvc_error(LVC_EINVAL, "vulkan: concat of %dx%dx%d at channel %d into %dx%dx%d",
                         in->c, in->h, in->w, c0, out->c, out->h, out->w);
    const LvcVkTensor slice = lvc_vk_tensor_channels(out, c0, in->c);
    if (!disjoint(&slice, in))
        return lvc_error(LVC_EINVAL, "vulkan: concat output overlaps its input");
    return record_ew(a, EW_COPY, &slice, in, NULL, 0, 0, 0, 0, 0, 0, 0);
}

static int record_remap(LvcVkArena *a, int mode, const LvcVkTensor *out, const LvcVkTensor *in,
                        int r)
{
    int err;
    if ((err = check_t(a, out, "output")) < 0 || (err = check_t(a, in, "input")) < 0)
        return err;
    if (!disjoint(out, in))
        return lvc_error(LVC_EINVAL, "vulkan: output overlaps its input");
    RemapPush pc = {out->off, in->off, mode, out->c, out->h, out->w, in->h, in->w, r};
    const Access acc = {{trange(in)}, 1, trange(out)};
    return dispatch_flat(a, LVC_VK_SH_REMAP, &pc, sizeof(pc),
                         lvc_vk_tensor_words(out->c, out->h, out->w), 1, &acc);
}

int lvc_vk_record_shuffle(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int r)
{
    if ((r != 2 && r != 4 && r != 8) || in->c != out->c * r * r || out->h != in->h * r ||
        out->w != in->w * r)
        return lvc_error(LVC_EINVAL, "vulkan: shuffle by %d of %dx%dx%d into %dx%dx%d", r, in->c,
                         in->h, in->w, out->c, out->h, out->w);
    return record_remap(a, RM_SHUFFLE, out, in, r);
}

int lvc_vk_record_unshuffle(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int r)
{
    if ((r != 2 && r != 4 && r != 8) || out->c != in->c * r * r || in->h != out->h * r ||
        in->w != out->w * r)
        return lvc_error(LVC_EINVAL, "vulkan: unshuffle by %d of %dx%dx%d into %dx%dx%d", r,
                         in->c, in->h, in->w, out->c, out->h, out->w);
    return record_remap(a, RM_UNSHUFFLE, out, in, r);
}

int lvc_vk_record_pad(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in)
{
    if (out->c != in->c || out->h < in->h || out->w < in->w)
        return lvc_error(LVC_EINVAL, "vulkan: pad of %dx%d to %dx%d", in->w, in->h, out->w,
                         out->h);
    return record_remap(a, RM_PAD, out, in, 1);
}

int lvc_vk_record_crop(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in)
{
    if (out->c != in->c || out->h > in->h || out->w > in->w)
        return lvc_error(LVC_EINVAL, "vulkan: crop of %dx%d to %dx%d", in->w, in->h, out->w,
                         out->h);
    return record_remap(a, RM_CROP, out, in, 1);
}

static int packed_size(int n) { return 2 * ((n + 15) / 16); }

/* The words of a picture's three planes (and anything between them). */
static LvcVkRange prange(const LvcVkPicture *pic)
{
    const uint32_t lo = pic->y_off < pic->v_off ? pic->y_off : pic->v_off;
    const uint32_t cwords = (uint32_t)(((pic->h + 1) / 2) * ((((pic->w + 1) / 2) + 3) / 4));
    const uint32_t ye = pic->y_off + (uint32_t)(pic->h * ((pic->w + 3) / 4));
    uint32_t hi = ye;
    if (pic->u_off + cwords > hi)
        hi = pic->u_off + cwords;
    if (pic->v_off + cwords > hi)
        hi = pic->v_off + cwords;
    if (pic->u_off < lo)
        return (LvcVkRange){pic->u_off, hi};
    return (LvcVkRange){lo, hi};
}

static int check_pic(const LvcVkArena *a, const LvcVkPicture *pic, const LvcVkTensor *t)
{
    const int cw = (pic->w + 1) / 2, ch = (pic->h + 1) / 2;
    int err = check_t(a, t, "packed");
    if (err < 0)
        return err;
    if (pic->w < 1 || pic->h < 1 || pic->w > LVC_MAX_DIM || pic->h > LVC_MAX_DIM ||
        t->c != 96 || t->h != packed_size(pic->h) || t->w != packed_size(pic->w))
        return lvc_error(LVC_EINVAL, "vulkan: %dx%dx%d is not the packed shape of %dx%d", t->c,
                         t->h, t->w, pic->w, pic->h);
    const size_t ye = (size_t)pic->y_off + (size_t)pic->h * (size_t)((pic->w + 3) / 4);
    const size_t cwords = (size_t)ch * (size_t)((cw + 3) / 4);
    if (ye * 4 > a->act.size || ((size_t)pic->u_off + cwords) * 4 > a->act.size ||
        ((size_t)pic->v_off + cwords) * 4 > a->act.size)
        return lvc_error(LVC_EINVAL, "vulkan: picture outside the arena");
    return 0;
}

int lvc_vk_record_pack(LvcVkArena *a, const LvcVkTensor *out, const LvcVkPicture *pic)
{
    int err = check_pic(a, pic, out);
    if (err < 0)
        return err;
    const int cw = (pic->w + 1) / 2;
    PackPush pc = {out->off, pic->y_off, pic->u_off, pic->v_off, 4 * ((pic->w + 3) / 4),
                   4 * ((cw + 3) / 4), pic->w, pic->h, out->h, out->w};
    const Access acc = {{prange(pic)}, 1, trange(out)};
    return dispatch_flat(a, LVC_VK_SH_PACK, &pc, sizeof(pc),
                         lvc_vk_tensor_words(96, out->h, out->w), 1, &acc);
}

int lvc_vk_record_unpack(LvcVkArena *a, const LvcVkPicture *pic, const LvcVkTensor *in)
{
    int err = check_pic(a, pic, in);
    if (err < 0)
        return err;
    if (in->exp < 0 || in->exp > 22)
        return lvc_error(LVC_EINVAL, "vulkan: unpack of exponent %d", in->exp);
    const int cw = (pic->w + 1) / 2, ch = (pic->h + 1) / 2;
    const int wy = (pic->w + 3) / 4, wc = (cw + 3) / 4;
    UnpackPush pc = {in->off, pic->y_off, pic->u_off, pic->v_off, pic->w, pic->h, in->h, in->w,
                     in->exp, wy, wc};
    const size_t n = (size_t)pic->h * (size_t)wy + 2 * (size_t)ch * (size_t)wc;
    const Access acc = {{trange(in)}, 1, prange(pic)};
    return dispatch_flat(a, LVC_VK_SH_UNPACK, &pc, sizeof(pc), n, 1, &acc);
}
