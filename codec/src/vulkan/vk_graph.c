/* The Vulkan frame executor (backend.h) and the devices of the public API (lvc.h,
 * LvcVulkanDevice): graphs of a loaded model recorded as dispatches of vk_ops.c, the model's
 * parameters uploaded once per device, tensors kept on the device between graph runs.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "model.h"
#include "vulkan/vk_priv.h"

#define NO_STAGE ((size_t)-1)

#define now_s lvc_now_s

/* ---- devices and the per-model parameters --------------------------------------------------- */

/* Where one node's parameters are in the parameter arena. */
typedef struct NodeParams {
    uint32_t w, b, s, t;
} NodeParams;

/* A model's parameters on one device, shared by every coder of that model there. */
typedef struct ModelParams {
    struct ModelParams *next;
    LvcModel *m;            /* own reference while users > 0 */
    int users;
    LvcVkArena *a;          /* holds the parameter buffer */
    NodeParams *np[LVC_G_COUNT];
} ModelParams;

struct LvcVulkanDevice {
    int refs;               /* under g_lock */
    LvcVkContext *ctx;
    ModelParams *params;    /* under g_lock */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static LvcVulkanDevice *g_default;  /* the library's own device while it has users */
static int g_default_failed;        /* 1: creating it failed once (not retried) */
static int g_default_cpu;           /* 1: it is a CPU implementation (known without creating it) */
static char g_default_err[200];

static void device_free(LvcVulkanDevice *dev)
{
    lvc_vk_context_destroy(dev->ctx);
    free(dev);
}

LvcVulkanDevice *lvc_vulkan_device_ref(LvcVulkanDevice *dev)
{
    pthread_mutex_lock(&g_lock);
    dev->refs++;
    pthread_mutex_unlock(&g_lock);
    return dev;
}

void lvc_vulkan_device_unref(LvcVulkanDevice *dev)
{
    if (!dev)
        return;
    pthread_mutex_lock(&g_lock);
    int last = --dev->refs == 0;
    if (last && dev == g_default)
        g_default = NULL;
    pthread_mutex_unlock(&g_lock);
    if (last)
        device_free(dev); /* its model parameters went with their last users */
}

int lvc_vulkan_default_device(LvcVulkanDevice **out, int hardware_only)
{
    *out = NULL;
    int err = 0;
    pthread_mutex_lock(&g_lock);
    if (!g_default && g_default_failed) {
        err = lvc_error(LVC_EUNSUPPORTED, "%s", g_default_err);
    } else if (!g_default && hardware_only && g_default_cpu) {
        err = lvc_error(LVC_EUNSUPPORTED, "%s", g_default_err);
    } else if (!g_default) {
        LvcVulkanDevice *dev = calloc(1, sizeof(*dev));
        if (!dev)
            err = lvc_error(LVC_ENOMEM, "out of memory");
        else if ((err = lvc_vk_context_create(&dev->ctx)) < 0) {
            free(dev);
            if (err == LVC_EUNSUPPORTED) { /* no driver or device: the same next time */
                g_default_failed = 1;
                snprintf(g_default_err, sizeof(g_default_err), "%s", lvc_last_error());
            }
        } else {
            g_default = dev;
        }
    }
    if (!err) {
        if (hardware_only &&
            lvc_vk_device_type(g_default->ctx) == VK_PHYSICAL_DEVICE_TYPE_CPU) {
            err = lvc_error(LVC_EUNSUPPORTED, "vulkan: %s is a CPU implementation",
                            lvc_vk_device_name(g_default->ctx));
            g_default_cpu = 1;
            snprintf(g_default_err, sizeof(g_default_err), "%s", lvc_last_error());
            if (g_default->refs == 0) {
                device_free(g_default);
                g_default = NULL;
            }
        } else {
            g_default->refs++;
            *out = g_default;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return err;
}

int lvc_vulkan_device_adopt(const LvcVulkanHandles *h, LvcVulkanDevice **out)
{
    lvc_error_clear();
    if (!h || !out)
        return lvc_error(LVC_EINVAL, "vulkan: NULL argument");
    *out = NULL;
    LvcVulkanDevice *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return lvc_error(LVC_ENOMEM, "out of memory");
    LvcVkExternal ext = {(VkInstance)h->instance, (VkPhysicalDevice)h->physical_device,
                         (VkDevice)h->device, (VkQueue)h->queue, h->queue_family};
    int err = lvc_vk_context_adopt(&dev->ctx, &ext);
    if (err < 0) {
        free(dev);
        return err;
    }
    dev->refs = 1;
    *out = dev;
    return 0;
}

const char *lvc_vulkan_device_name(const LvcVulkanDevice *dev)
{
    return dev ? lvc_vk_device_name(dev->ctx) : "";
}

static size_t r256(size_t n) { return (n + 255) / 256 * 256; }

static int upload_i32(LvcVkArena *a, const void *src, int dtype, size_t n, uint32_t *off)
{
    int32_t *tmp = malloc(n * sizeof(int32_t));
    if (!tmp)
        return lvc_error(LVC_ENOMEM, "vulkan: out of memory");
    for (size_t i = 0; i < n; i++)
        tmp[i] = dtype == LVC_DTYPE_INT8    ? ((const int8_t *)src)[i]
                 : dtype == LVC_DTYPE_INT16 ? ((const int16_t *)src)[i]
                                            : ((const int32_t *)src)[i];
    int err = lvc_vk_param_upload(a, tmp, n, off);
    free(tmp);
    return err;
}

static size_t conv_weights(const LvcGraph *g, const LvcNode *nd)
{
    const int cin = g->values[nd->in[0]].channels;
    return (size_t)nd->out_channels * (size_t)(cin / nd->groups) * (size_t)nd->kernel *
           (size_t)nd->kernel;
}

static void params_free(LvcVulkanDevice *dev, ModelParams *mp)
{
    (void)dev;
    lvc_vk_arena_destroy(mp->a);
    for (int r = 0; r < LVC_G_COUNT; r++)
        free(mp->np[r]);
    lvc_model_unref(mp->m);
    free(mp);
}

/* Upload every graph's parameters of model m. */
static int params_create(LvcVulkanDevice *dev, const LvcModel *m, ModelParams **out)
{
    size_t bytes = 256;
    for (int r = 0; r < LVC_G_COUNT; r++) {
        const LvcGraph *g = m->role[r];
        for (int k = 0; g && k < g->n_nodes; k++) {
            const LvcNode *nd = &g->nodes[k];
            if (nd->op == LVC_OP_CONV)
                bytes += r256(conv_weights(g, nd) * 4) + 2 * r256((size_t)nd->out_channels * 4);
            else if (nd->op == LVC_OP_QMUL)
                bytes += r256((size_t)64 * (size_t)g->values[nd->in[0]].channels * 4);
        }
    }
    ModelParams *mp = calloc(1, sizeof(*mp));
    if (!mp)
        return lvc_error(LVC_ENOMEM, "out of memory");
    mp->m = lvc_model_ref((LvcModel *)m);
    int err = lvc_vk_arena_create(dev->ctx, &mp->a, 256, bytes);
    for (int r = 0; !err && r < LVC_G_COUNT; r++) {
        const LvcGraph *g = m->role[r];
        if (!g)
            continue;
        if (!(mp->np[r] = calloc((size_t)g->n_nodes, sizeof(NodeParams)))) {
            err = lvc_error(LVC_ENOMEM, "out of memory");
            break;
        }
        for (int k = 0; !err && k < g->n_nodes; k++) {
            const LvcNode *nd = &g->nodes[k];
            NodeParams *p = &mp->np[r][k];
            if (nd->op == LVC_OP_CONV) {
                err = upload_i32(mp->a, nd->weights, nd->weight_dtype, conv_weights(g, nd), &p->w);
                if (!err && nd->bias)
                    err = upload_i32(mp->a, nd->bias, LVC_DTYPE_INT32, (size_t)nd->out_channels,
                                     &p->b);
                if (!err) {
                    int32_t *s = malloc((size_t)nd->out_channels * sizeof(int32_t));
                    if (!s) {
                        err = lvc_error(LVC_ENOMEM, "out of memory");
                        break;
                    }
                    for (int co = 0; co < nd->out_channels; co++)
                        s[co] = nd->shift[co];
                    err = lvc_vk_param_upload(mp->a, s, (size_t)nd->out_channels, &p->s);
                    free(s);
                }
            } else if (nd->op == LVC_OP_QMUL) {
                err = upload_i32(mp->a, nd->table, LVC_DTYPE_INT16,
                                 (size_t)64 * (size_t)g->values[nd->in[0]].channels, &p->t);
            }
        }
    }
    if (err < 0) {
        params_free(dev, mp);
        return err;
    }
    *out = mp;
    return 0;
}

/* The parameters of m on dev, uploaded on first use; one more user. */
static int params_get(LvcVulkanDevice *dev, const LvcModel *m, ModelParams **out)
{
    int err = 0;
    pthread_mutex_lock(&g_lock);
    ModelParams *mp = dev->params;
    while (mp && mp->m != m)
        mp = mp->next;
    if (!mp && (err = params_create(dev, m, &mp)) == 0) {
        mp->next = dev->params;
        dev->params = mp;
    }
    if (!err) {
        mp->users++;
        *out = mp;
    }
    pthread_mutex_unlock(&g_lock);
    return err;
}

static void params_put(LvcVulkanDevice *dev, ModelParams *mp)
{
    pthread_mutex_lock(&g_lock);
    if (--mp->users == 0) {
        ModelParams **pp = &dev->params;
        while (*pp != mp)
            pp = &(*pp)->next;
        *pp = mp->next;
        params_free(dev, mp);
    }
    pthread_mutex_unlock(&g_lock);
}

/* ---- the executor --------------------------------------------------------------------------- */

/* A tensor known by its host buffer, with a device twin. */
typedef struct Buf {
    int16_t *host;
    int owned;             /* a graph output's shadow, allocated here */
    LvcVkTensor dev;
    int host_valid, dev_valid;
    size_t st_off;         /* a download recorded into the staging buffer, or NO_STAGE */
} Buf;

typedef struct GpuPlan {
    LvcGraphPlan *plan;    /* borrowed */
    const LvcGraph *g;
    LvcVkTensor *val;      /* per value (inputs set at each run) */
    int *val_buf;          /* per value: the buffer of a graph output, else -1 */
    LvcVkConv *conv;       /* per node */
} GpuPlan;

struct LvcGpu {
    LvcVulkanDevice *dev;
    ModelParams *mp;
    LvcVkArena *a;
    int width, height;
    GpuPlan gp[LVC_G_COUNT];
    Buf *buf;
    int n_buf;
    LvcVkPicture pic;
    const LvcPicture *pic_holds;  /* the picture whose samples the device picture holds */
    LvcPicture *pic_dst;          /* a picture download pending into this host picture */
    size_t pic_st_off, pic_bytes;
    uint8_t *staging;
    size_t st_used, st_cap;
    int recording;
    size_t act_bytes;
    LvcGpuTimes times;
};

static size_t buf_bytes(const LvcVkTensor *t) { return lvc_vk_tensor_words(t->c, t->h, t->w) * 4; }

static Buf *find_buf(LvcGpu *g, const int16_t *host)
{
    for (int i = 0; i < g->n_buf; i++)
        if (g->buf[i].host == host)
            return &g->buf[i];
    return NULL;
}

/* After a failure: nothing recorded is kept; host copies of registered buffers count as
 * current, graph outputs as lost. */
static void reset(LvcGpu *g)
{
    lvc_vk_abort(g->a);
    g->recording = 0;
    g->st_used = 0;
    g->pic_dst = NULL;
    g->pic_holds = NULL;
    for (int i = 0; i < g->n_buf; i++) {
        Buf *b = &g->buf[i];
        b->st_off = NO_STAGE;
        b->dev_valid = 0;
        b->host_valid = !b->owned;
    }
}

static int fail(LvcGpu *g, int err)
{
    reset(g);
    return err;
}

static int ensure_rec(LvcGpu *g)
{
    if (g->recording)
        return 0;
    int err = lvc_vk_begin(g->a);
    if (err < 0)
        return err;
    g->recording = 1;
    g->st_used = 0;
    return 0;
}

/* Submit, wait and complete the downloads. */
static int flush(LvcGpu *g)
{
    if (!g->recording)
        return 0;
    double t0 = now_s();
    g->recording = 0;
    int err = lvc_vk_submit_wait(g->a);
    double t1 = now_s();
    g->times.wait_s += t1 - t0;
    g->times.device_s += 1e-9 * (double)lvc_vk_last_gpu_ns(g->a);
    g->times.submits++;
    if (err < 0)
        return fail(g, err);
    for (int i = 0; i < g->n_buf; i++) {
        Buf *b = &g->buf[i];
        if (b->st_off == NO_STAGE)
            continue;
        const int16_t *st = (const int16_t *)(g->staging + b->st_off);
        const size_t rs = 2 * (size_t)((b->dev.w + 1) / 2), rows = (size_t)b->dev.c * (size_t)b->dev.h;
        for (size_t r = 0; r < rows; r++)
            memcpy(b->host + r * (size_t)b->dev.w, st + r * rs, (size_t)b->dev.w * sizeof(int16_t));
        b->st_off = NO_STAGE;
        b->host_valid = 1;
    }
    if (g->pic_dst) {
        LvcPicture *p = g->pic_dst;
        const uint8_t *st = g->staging + g->pic_st_off;
        const int cw = (p->width + 1) / 2, ch = (p->height + 1) / 2;
        const size_t ry = 4 * (size_t)((p->width + 3) / 4), rc = 4 * (size_t)((cw + 3) / 4);
        for (int y = 0; y < p->height; y++)
            memcpy(p->data[0] + y * p->stride[0], st + (size_t)y * ry, (size_t)p->width);
        const uint8_t *su = st + ((size_t)g->pic.u_off - g->pic.y_off) * 4;
        const uint8_t *sv = st + ((size_t)g->pic.v_off - g->pic.y_off) * 4;
        for (int y = 0; y < ch; y++) {
            memcpy(p->data[1] + y * p->stride[1], su + (size_t)y * rc, (size_t)cw);
            memcpy(p->data[2] + y * p->stride[2], sv + (size_t)y * rc, (size_t)cw);
        }
        g->pic_dst = NULL;
    }
    g->st_used = 0;
    g->times.transfer_s += now_s() - t1;
    return 0;
}

/* A region of bytes of the staging buffer for the recording (submitting what is recorded when
 * the buffer is full); *off its offset. */
static int stage(LvcGpu *g, size_t bytes, size_t *off)
{
    bytes = r256(bytes);
    if (bytes > g->st_cap)
        return lvc_error(LVC_EINVAL, "vulkan: transfer of %zu bytes exceeds the staging buffer",
                         bytes);
    int err;
    if (g->st_cap - g->st_used < bytes && (err = flush(g)) < 0)
        return err;
    if ((err = ensure_rec(g)) < 0)
        return err;
    *off = g->st_used;
    g->st_used += bytes;
    return 0;
}

static int upload(LvcGpu *g, Buf *b)
{
    if (!b->host_valid)
        return lvc_error(LVC_EINVAL, "vulkan: a tensor is current neither on the host nor on "
                         "the device");
    const size_t bytes = buf_bytes(&b->dev);
    size_t off;
    int err = stage(g, bytes, &off);
    if (err < 0)
        return err;
    double t0 = now_s();
    int16_t *st = (int16_t *)(g->staging + off);
    const size_t rs = 2 * (size_t)((b->dev.w + 1) / 2), rows = (size_t)b->dev.c * (size_t)b->dev.h;
    for (size_t r = 0; r < rows; r++) {
        memcpy(st + r * rs, b->host + r * (size_t)b->dev.w, (size_t)b->dev.w * sizeof(int16_t));
        if (rs != (size_t)b->dev.w)
            st[r * rs + rs - 1] = 0;
    }
    g->times.transfer_s += now_s() - t0;
    if ((err = lvc_vk_record_copy(g->a, 1, b->dev.off, off, bytes)) < 0)
        return err;
    b->dev_valid = 1;
    return 0;
}

/* The buffer of tensor t with a current device copy (uploaded when needed). */
static int device_buf(LvcGpu *g, const LvcTensor *t, Buf **out)
{
    Buf *b = find_buf(g, t->data);
    if (!b || b->dev.c != t->c || b->dev.h != t->h || b->dev.w != t->w)
        return lvc_error(LVC_EINVAL, "vulkan: a %dx%dx%d tensor unknown to the executor", t->c,
                         t->h, t->w);
    int err = ensure_rec(g);
    if (!err && !b->dev_valid)
        err = upload(g, b);
    *out = b;
    return err;
}

static int add_buf(LvcGpu *g, int16_t *host, int owned, int c, int h, int w)
{
    Buf *b = &g->buf[g->n_buf];
    int err = lvc_vk_tensor_alloc(g->a, &b->dev, c, h, w, 0);
    if (err < 0)
        return err;
    b->host = host;
    b->owned = owned;
    b->host_valid = !owned;
    b->dev_valid = 0;
    b->st_off = NO_STAGE;
    g->n_buf++;
    return 0;
}

/* First-fit placement of the values of plan that are not graph outputs in a scratch region
 * (word offsets into gp->val[].off); returns the region's size in words. */
static size_t layout(GpuPlan *gp, int *live)
{
    const LvcGraph *gr = gp->g;
    const int nv = gr->n_inputs + gr->n_nodes;
    int *last = live + nv;
    for (int v = 0; v < nv; v++)
        last[v] = -1;
    for (int k = 0; k < gr->n_nodes; k++)
        for (int i = 0; i < gr->nodes[k].n_in; i++)
            last[gr->nodes[k].in[i]] = k;
    int n_live = 0;
    size_t top = 0;
    for (int k = 0; k < gr->n_nodes; k++) {
        const int vi = gr->n_inputs + k;
        if (gp->val_buf[vi] == -1) {
            LvcVkTensor *t = &gp->val[vi];
            const size_t size = lvc_vk_tensor_bytes(t->c, t->h, t->w) / 4;
            size_t prev_end = 0;
            int at = n_live;
            for (int i = 0; i < n_live; i++) {
                const LvcVkTensor *u = &gp->val[live[i]];
                if (u->off - prev_end >= size) {
                    at = i;
                    break;
                }
                prev_end = u->off + lvc_vk_tensor_bytes(u->c, u->h, u->w) / 4;
            }
            t->off = (uint32_t)prev_end;
            memmove(live + at + 1, live + at, (size_t)(n_live - at) * sizeof(int));
            live[at] = vi;
            n_live++;
            if (prev_end + size > top)
                top = prev_end + size;
        }
        for (int i = 0; i < n_live;) {
            if (last[live[i]] <= k) {
                memmove(live + i, live + i + 1, (size_t)(n_live - i - 1) * sizeof(int));
                n_live--;
            } else {
                i++;
            }
        }
    }
    return top;
}

void lvc_gpu_close(LvcGpu *g)
{
    if (!g)
        return;
    if (g->a) {
        lvc_vk_abort(g->a);
        lvc_vk_arena_destroy(g->a);
    }
    for (int r = 0; r < LVC_G_COUNT; r++) {
        free(g->gp[r].val);
        free(g->gp[r].val_buf);
        free(g->gp[r].conv);
    }
    for (int i = 0; i < g->n_buf; i++)
        if (g->buf[i].owned)
            free(g->buf[i].host);
    free(g->buf);
    if (g->mp)
        params_put(g->dev, g->mp);
    lvc_vulkan_device_unref(g->dev);
    free(g);
}

int lvc_gpu_open(LvcGpu **out, LvcVulkanDevice *dev, const LvcModel *m,
                 LvcGraphPlan *const *plans, int width, int height, const LvcGpuSlot *slots,
                 int n_slots)
{
    *out = NULL;
    LvcGpu *g = calloc(1, sizeof(*g));
    if (!g)
        return lvc_error(LVC_ENOMEM, "out of memory");
    g->dev = lvc_vulkan_device_ref(dev);
    g->width = width;
    g->height = height;
    int err = params_get(dev, m, &g->mp);
    int n_buf = n_slots, max_values = 0;
    for (int r = 0; r < LVC_G_COUNT; r++)
        if (plans[r]) {
            const LvcGraph *gr = lvc_graph_plan_graph(plans[r]);
            n_buf += gr->n_outputs;
            if (gr->n_inputs + gr->n_nodes > max_values)
                max_values = gr->n_inputs + gr->n_nodes;
        }
    int *live = malloc(2 * (size_t)(max_values + 1) * sizeof(int));
    g->buf = calloc((size_t)n_buf + 1, sizeof(Buf));
    if (!err && (!live || !g->buf))
        err = lvc_error(LVC_ENOMEM, "out of memory");

    /* shapes, output buffers and the scratch layout of every plan; the arena's size */
    size_t bytes = 4096, scratch_words = 0, max_small = 0, max_big = 0;
    const size_t big = (size_t)lvc_level_height(height, 0) * (size_t)lvc_level_width(width, 0);
    for (int i = 0; !err && i < n_slots; i++) {
        const size_t tb = lvc_vk_tensor_bytes(slots[i].c, slots[i].h, slots[i].w);
        bytes += tb;
        if ((size_t)slots[i].h * (size_t)slots[i].w < big)
            max_small = tb > max_small ? tb : max_small;
        else
            max_big = tb > max_big ? tb : max_big;
    }
    for (int r = 0; !err && r < LVC_G_COUNT; r++) {
        if (!plans[r])
            continue;
        GpuPlan *gp = &g->gp[r];
        gp->plan = plans[r];
        gp->g = lvc_graph_plan_graph(plans[r]);
        const int nv = gp->g->n_inputs + gp->g->n_nodes;
        gp->val = calloc((size_t)nv, sizeof(*gp->val));
        gp->val_buf = malloc((size_t)nv * sizeof(int));
        gp->conv = calloc((size_t)gp->g->n_nodes, sizeof(*gp->conv));
        if (!gp->val || !gp->val_buf || !gp->conv) {
            err = lvc_error(LVC_ENOMEM, "out of memory");
            break;
        }
        for (int v = 0; v < nv; v++) {
            LvcTensor s = lvc_graph_value_shape(plans[r], v);
            gp->val[v] = (LvcVkTensor){0, s.c, s.h, s.w, s.exp};
            gp->val_buf[v] = -1;
        }
        for (int o = 0; o < gp->g->n_outputs; o++) {
            const int v = gp->g->outputs[o].value;
            if (v < gp->g->n_inputs || gp->val_buf[v] != -1)
                continue;
            gp->val_buf[v] = -2; /* a buffer of its own, made below */
            const size_t tb = lvc_vk_tensor_bytes(gp->val[v].c, gp->val[v].h, gp->val[v].w);
            bytes += tb;
            if ((size_t)gp->val[v].h * (size_t)gp->val[v].w < big)
                max_small = tb > max_small ? tb : max_small;
            else
                max_big = tb > max_big ? tb : max_big;
        }
        size_t s = layout(gp, live);
        scratch_words = s > scratch_words ? s : scratch_words;
        for (int k = 0; k < gp->g->n_nodes; k++) {
            const LvcConvParams *cp = lvc_graph_conv_params(plans[r], k);
            if (!cp)
                continue;
            const NodeParams *np = &g->mp->np[r][k];
            gp->conv[k] = (LvcVkConv){cp->cin, cp->h, cp->w, cp->cout, cp->ho, cp->wo, cp->k,
                                      cp->stride, cp->pad, cp->groups, cp->act, cp->act_shift,
                                      cp->bias != NULL, np->w, np->b, np->s};
        }
    }
    g->pic_bytes = lvc_vk_picture_bytes(width, height);
    /* the scratch region is allocated as rows of 32768 words (a 1 × rows × 65536 tensor) */
    const int scratch_rows = (int)((scratch_words + 32767) / 32768);
    bytes += lvc_vk_tensor_bytes(1, scratch_rows, 65536) + g->pic_bytes + 1024;
    g->act_bytes = bytes;
    if (!err)
        err = lvc_vk_arena_create_shared(dev->ctx, &g->a, bytes, g->mp->a);
    /* the staging buffer: a picture each way and a few latents per submission; a tensor as
     * large as the feature when the host asks for one (trace, rate-control checkpoints) */
    g->st_cap = 2 * r256(g->pic_bytes) + 6 * max_small;
    if (g->st_cap < max_big)
        g->st_cap = max_big;
    if (!err && !(g->staging = lvc_vk_staging(g->a, g->st_cap)))
        err = lvc_error(LVC_ENOMEM, "vulkan: no staging buffer of %zu bytes", g->st_cap);

    /* device memory: registered buffers, graph outputs, scratch, the picture */
    for (int i = 0; !err && i < n_slots; i++)
        err = add_buf(g, slots[i].host, 0, slots[i].c, slots[i].h, slots[i].w);
    for (int r = 0; !err && r < LVC_G_COUNT; r++) {
        GpuPlan *gp = &g->gp[r];
        if (!gp->plan)
            continue;
        for (int o = 0; !err && o < gp->g->n_outputs; o++) {
            const int v = gp->g->outputs[o].value;
            if (v < gp->g->n_inputs || gp->val_buf[v] != -2)
                continue;
            const LvcVkTensor *t = &gp->val[v];
            int16_t *shadow = aligned_alloc(64, r256((size_t)t->c * (size_t)t->h * (size_t)t->w *
                                                     sizeof(int16_t)));
            if (!shadow) {
                err = lvc_error(LVC_ENOMEM, "out of memory");
                break;
            }
            gp->val_buf[v] = g->n_buf;
            if ((err = add_buf(g, shadow, 1, t->c, t->h, t->w)) < 0)
                free(shadow);
            else
                gp->val[v].off = g->buf[gp->val_buf[v]].dev.off;
        }
    }
    LvcVkTensor scratch = {0, 0, 0, 0, 0};
    if (!err && scratch_words)
        err = lvc_vk_tensor_alloc(g->a, &scratch, 1, scratch_rows, 65536, 0);
    for (int r = 0; !err && r < LVC_G_COUNT; r++) {
        GpuPlan *gp = &g->gp[r];
        for (int v = 0; gp->plan && v < gp->g->n_inputs + gp->g->n_nodes; v++)
            if (v >= gp->g->n_inputs && gp->val_buf[v] == -1)
                gp->val[v].off += scratch.off;
    }
    if (!err)
        err = lvc_vk_picture_alloc(g->a, &g->pic, width, height);
    free(live);
    if (err < 0) {
        lvc_gpu_close(g);
        return err;
    }
    *out = g;
    return 0;
}

void lvc_gpu_begin_frame(LvcGpu *g)
{
    if (g->recording || g->pic_dst)
        reset(g);
    g->pic_holds = NULL;
}

static int record_node(LvcGpu *g, GpuPlan *gp, int role, int k, int qp)
{
    const LvcNode *nd = &gp->g->nodes[k];
    LvcVkArena *a = g->a;
    const LvcVkTensor *o = &gp->val[gp->g->n_inputs + k];
    const LvcVkTensor *x = &gp->val[nd->in[0]];
    const LvcVkTensor *y = nd->n_in > 1 ? &gp->val[nd->in[1]] : NULL;
    switch (nd->op) {
    case LVC_OP_CONV:
        return lvc_vk_record_conv(a, &gp->conv[k], x, o);
    case LVC_OP_ADD:
        return lvc_vk_record_add(a, o, x, y, nd->act, nd->act_shift);
    case LVC_OP_RESCALE:
        return lvc_vk_record_rescale(a, o, x, nd->act, nd->act_shift);
    case LVC_OP_CONCAT: {
        int c0 = 0, err = 0;
        for (int i = 0; !err && i < nd->n_in; i++) {
            err = lvc_vk_record_concat(a, o, c0, &gp->val[nd->in[i]]);
            c0 += gp->val[nd->in[i]].c;
        }
        return err;
    }
    case LVC_OP_QMUL: {
        const LvcVkQTable qt = {g->mp->np[role][k].t, x->c};
        return lvc_vk_record_qmul(a, o, x, &qt, qp, nd->table_exp, nd->act, nd->act_shift);
    }
    case LVC_OP_SHUFFLE:
        return lvc_vk_record_shuffle(a, o, x, nd->arg);
    case LVC_OP_UNSHUFFLE:
        return lvc_vk_record_unshuffle(a, o, x, nd->arg);
    case LVC_OP_CBMASK:
        return lvc_vk_record_cbmask(a, o, x, nd->arg);
    case LVC_OP_CBMERGE:
        return lvc_vk_record_cbmerge(a, o, x, y, nd->arg);
    case LVC_OP_PAD:
        return lvc_vk_record_pad(a, o, x);
    case LVC_OP_CROP:
        return lvc_vk_record_crop(a, o, x);
    case LVC_OP_ACT:
        return lvc_vk_record_act(a, o, x, nd->act, nd->act_shift);
    default:
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: op %d", nd->op);
    }
}

int lvc_gpu_run(LvcGpu *g, int role, int qp, const LvcTensor *const *in, LvcTensor *out)
{
    GpuPlan *gp = &g->gp[role];
    if (!gp->plan)
        return lvc_error(LVC_EINVAL, "graph %s is not available", lvc_model_graph_role_name(role));
    if (qp < 0 || qp > 63)
        return lvc_error(LVC_EINVAL, "graph %s: qp %d outside 0..63", gp->g->name, qp);
    const LvcGraph *gr = gp->g;
    int err = 0;
    for (int i = 0; !err && i < gr->n_inputs; i++) {
        const LvcVkTensor *v = &gp->val[i];
        if (!in[i] || in[i]->exp != v->exp)
            return lvc_error(LVC_EINVAL, "graph %s: input %s is not at exponent %d", gr->name,
                             gr->inputs[i].name, v->exp);
        Buf *b;
        if ((err = device_buf(g, in[i], &b)) < 0)
            break;
        gp->val[i].off = b->dev.off;
    }
    for (int k = 0; !err && k < gr->n_nodes; k++)
        err = record_node(g, gp, role, k, qp);
    if (err < 0)
        return fail(g, err);
    for (int o = 0; o < gr->n_outputs; o++) {
        const int v = gr->outputs[o].value;
        if (v < gr->n_inputs) {
            out[o] = *in[v];
            continue;
        }
        Buf *b = &g->buf[gp->val_buf[v]];
        b->dev_valid = 1;
        b->host_valid = 0;
        out[o] = (LvcTensor){b->host, b->dev.c, b->dev.h, b->dev.w, gp->val[v].exp};
    }
    return 0;
}

int lvc_gpu_to_host(LvcGpu *g, const LvcTensor *const *t, int n)
{
    int want = 0, err = 0;
    for (int i = 0; !err && i < n; i++) {
        Buf *b = find_buf(g, t[i]->data);
        if (!b)
            return lvc_error(LVC_EINVAL, "vulkan: a tensor unknown to the executor");
        if (b->st_off != NO_STAGE)
            want = 1;
        if (b->host_valid || b->st_off != NO_STAGE)
            continue;
        if (!b->dev_valid)
            return lvc_error(LVC_EINVAL, "vulkan: a tensor that was never computed");
        size_t off;
        const size_t bytes = buf_bytes(&b->dev);
        if ((err = stage(g, bytes, &off)) < 0 ||
            (err = lvc_vk_record_copy(g->a, 0, b->dev.off, off, bytes)) < 0)
            break;
        b->st_off = off;
        want = 1;
    }
    if (!err && want)
        err = flush(g);
    return err < 0 ? fail(g, err) : 0;
}

void lvc_gpu_host_wrote(LvcGpu *g, const int16_t *host)
{
    Buf *b = find_buf(g, host);
    if (b) {
        b->host_valid = 1;
        b->dev_valid = 0;
    }
}

int lvc_gpu_copy(LvcGpu *g, int16_t *dst, const LvcTensor *src)
{
    Buf *d = find_buf(g, dst), *s;
    if (!d || d->dev.c != src->c || d->dev.h != src->h || d->dev.w != src->w)
        return lvc_error(LVC_EINVAL, "vulkan: copy into an unknown tensor");
    int err = device_buf(g, src, &s);
    if (!err && s != d)
        err = lvc_vk_record_concat(g->a, &d->dev, 0, &s->dev);
    if (err < 0)
        return fail(g, err);
    d->dev_valid = 1;
    d->host_valid = s == d ? d->host_valid : 0;
    return 0;
}

int lvc_gpu_pack(LvcGpu *g, const LvcPicture *pic, int16_t *x)
{
    Buf *b = find_buf(g, x);
    if (!b || pic->width != g->width || pic->height != g->height)
        return lvc_error(LVC_EINVAL, "vulkan: pack into an unknown tensor");
    int err = ensure_rec(g);
    if (!err && g->pic_holds != pic) {
        size_t off;
        const LvcVkPicture *dp = &g->pic;
        const int cw = (dp->w + 1) / 2, ch = (dp->h + 1) / 2;
        const size_t ry = 4 * (size_t)((dp->w + 3) / 4), rc = 4 * (size_t)((cw + 3) / 4);
        const size_t bytes = ((size_t)dp->v_off - dp->y_off) * 4 + (size_t)ch * rc;
        if ((err = stage(g, bytes, &off)) < 0)
            return fail(g, err);
        double t0 = now_s();
        uint8_t *st = g->staging + off;
        uint8_t *su = st + ((size_t)dp->u_off - dp->y_off) * 4;
        uint8_t *sv = st + ((size_t)dp->v_off - dp->y_off) * 4;
        for (int yy = 0; yy < dp->h; yy++)
            memcpy(st + (size_t)yy * ry, pic->data[0] + yy * pic->stride[0], (size_t)dp->w);
        for (int yy = 0; yy < ch; yy++) {
            memcpy(su + (size_t)yy * rc, pic->data[1] + yy * pic->stride[1], (size_t)cw);
            memcpy(sv + (size_t)yy * rc, pic->data[2] + yy * pic->stride[2], (size_t)cw);
        }
        g->times.transfer_s += now_s() - t0;
        err = lvc_vk_record_copy(g->a, 1, dp->y_off, off, bytes);
        g->pic_holds = pic;
    }
    if (!err)
        err = lvc_vk_record_pack(g->a, &b->dev, &g->pic);
    if (err < 0)
        return fail(g, err);
    b->dev_valid = 1;
    b->host_valid = 0;
    return 0;
}

int lvc_gpu_unpack(LvcGpu *g, const LvcTensor *r, LvcPicture *pic)
{
    Buf *b;
    if (pic->width != g->width || pic->height != g->height)
        return lvc_error(LVC_EINVAL, "vulkan: unpack into a %dx%d picture", pic->width,
                         pic->height);
    int err = device_buf(g, r, &b);
    if (!err) {
        LvcVkTensor t = b->dev;
        t.exp = r->exp;
        err = lvc_vk_record_unpack(g->a, &g->pic, &t);
    }
    const LvcVkPicture *dp = &g->pic;
    const size_t bytes = ((size_t)dp->v_off - dp->y_off) * 4 +
                         (size_t)((dp->h + 1) / 2) * 4 * (size_t)((((dp->w + 1) / 2) + 3) / 4);
    size_t off = 0;
    if (!err)
        err = stage(g, bytes, &off);
    if (!err)
        err = lvc_vk_record_copy(g->a, 0, dp->y_off, off, bytes);
    if (err < 0)
        return fail(g, err);
    g->pic_dst = pic;
    g->pic_st_off = off;
    g->pic_holds = pic;
    return 0;
}

int lvc_gpu_finish(LvcGpu *g)
{
    int err = flush(g);
    g->pic_holds = NULL;
    return err;
}

void lvc_gpu_times(const LvcGpu *g, LvcGpuTimes *t) { *t = g->times; }

const char *lvc_gpu_device_name(const LvcGpu *g) { return lvc_vk_device_name(g->dev->ctx); }

size_t lvc_gpu_memory(const LvcGpu *g)
{
    size_t n = sizeof(*g) + g->act_bytes + g->st_cap;
    for (int i = 0; i < g->n_buf; i++)
        if (g->buf[i].owned)
            n += buf_bytes(&g->buf[i].dev);
    return n;
}
