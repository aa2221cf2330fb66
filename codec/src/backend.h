/* Backends of the codec engine: the choice between the CPU and a Vulkan device when a coder
 * opens (lvc.h, "Backends"), the log callback, and the Vulkan frame executor (LvcGpu) that
 * codec.c runs its graphs through when a coder uses a Vulkan device.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The executor keeps the frame's tensors on the device.  codec.c names every tensor by its host
 * buffer: its own buffers (the packed picture, the state F and ŷ, the latents the entropy coder
 * writes) are registered when the executor opens, and every graph output gets a host shadow
 * buffer here.  Each buffer knows whether its host copy, its device copy or both are current:
 *   - a graph run records its ops into the current command buffer (nothing is submitted) and
 *     uploads, in the same command buffer, the inputs whose device copy is stale;
 *   - lvc_gpu_to_host submits what was recorded, with the downloads of the tensors asked for,
 *     and waits: one submission per point where the host needs data (the entropy coder);
 *   - lvc_gpu_host_wrote marks a host buffer written by the host (its device copy is stale);
 *   - lvc_gpu_finish submits the rest of the frame (synthesis, reconstruction, UNPACK and the
 *     picture's download, the state copy) and waits.
 * The integers are those of the CPU interpreter (graph.c): the same plans, the same ops. */
#ifndef LVC_BACKEND_H
#define LVC_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "internal.h"
#include "lvc/lvc.h"

/* Monotonic time in seconds. */
static inline double lvc_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A message for the application's log callback (lvc_set_log_callback); nothing without one. */
void lvc_log(int level, const char *fmt, ...) LVC_PRINTF(2, 3);

typedef struct LvcCodec LvcCodec;

/* Choose the backend of a coder whose codec is open (who: "encoder" / "decoder", for the
 * messages): requested is LVC_BACKEND_*, app the application's device or NULL.  With Vulkan,
 * the codec's graphs move to the device (lvc_codec_use_gpu); when that fails the codec stays on
 * the CPU and a warning is logged.  Returns the backend used (LVC_BACKEND_CPU or
 * LVC_BACKEND_VULKAN), or LVC_EINVAL for an unknown request. */
int lvc_backend_attach(LvcCodec *c, int requested, LvcVulkanDevice *app, const char *who);

typedef struct LvcGpu LvcGpu;

/* A host tensor buffer of codec.c that graphs read or write (c × h × w int16, dense CHW). */
typedef struct LvcGpuSlot {
    int16_t *host;
    int c, h, w;
} LvcGpuSlot;

/* Time spent by the executor since it opened. */
typedef struct LvcGpuTimes {
    double wait_s;     /* host time from submission to completion (includes device time) */
    double device_s;   /* device time of the submissions (timestamps; 0 where unknown) */
    double transfer_s; /* host time converting between host buffers and the staging buffer */
    uint64_t submits;
} LvcGpuTimes;

#ifdef LVC_HAVE_VULKAN
/* Open an executor on dev for the plans (indexed by role, NULL where absent; borrowed, must
 * outlive it) of a width × height codec, with the codec's buffers.  The device's memory is
 * allocated here (one arena sized from the frame size); the model's weights are uploaded once
 * per device and shared.  LVC_EUNSUPPORTED (with a message) when the device cannot run them. */
int lvc_gpu_open(LvcGpu **out, LvcVulkanDevice *dev, const LvcModel *m,
                 LvcGraphPlan *const *plans, int width, int height, const LvcGpuSlot *slots,
                 int n_slots);
void lvc_gpu_close(LvcGpu *g); /* NULL accepted */
/* Forget what a failed frame left recorded: afterwards every registered buffer's host copy is
 * taken as current. */
void lvc_gpu_begin_frame(LvcGpu *g);
/* Record graph role like lvc_graph_run; out[i].data are host shadows, valid after
 * lvc_gpu_to_host. */
int lvc_gpu_run(LvcGpu *g, int role, int qp, const LvcTensor *const *in, LvcTensor *out);
/* Make the host copies of n tensors (registered buffers or graph outputs) current. */
int lvc_gpu_to_host(LvcGpu *g, const LvcTensor *const *t, int n);
/* The host wrote buffer host (a registered one). */
void lvc_gpu_host_wrote(LvcGpu *g, const int16_t *host);
/* dst (a registered buffer) = src, on the device. */
int lvc_gpu_copy(LvcGpu *g, int16_t *dst, const LvcTensor *src);
/* PACK pic into the registered buffer x (96 channels at level 0); UNPACK r into pic (its host
 * planes are written by lvc_gpu_finish). */
int lvc_gpu_pack(LvcGpu *g, const LvcPicture *pic, int16_t *x);
int lvc_gpu_unpack(LvcGpu *g, const LvcTensor *r, LvcPicture *pic);
/* Submit what is recorded, wait, and complete the downloads. */
int lvc_gpu_finish(LvcGpu *g);
void lvc_gpu_times(const LvcGpu *g, LvcGpuTimes *t);
const char *lvc_gpu_device_name(const LvcGpu *g);
size_t lvc_gpu_memory(const LvcGpu *g);

/* The library's own device (created on first use, shared, LVC_VULKAN_DEVICE honoured): a new
 * reference in *out.  hardware_only: LVC_EUNSUPPORTED when it is a CPU implementation. */
int lvc_vulkan_default_device(LvcVulkanDevice **out, int hardware_only);
LvcVulkanDevice *lvc_vulkan_device_ref(LvcVulkanDevice *dev);
#else
/* Built without Vulkan: no executor is ever opened, so codec.c's calls see g == NULL. */
static inline void lvc_gpu_close(LvcGpu *g) { (void)g; }
static inline void lvc_gpu_begin_frame(LvcGpu *g) { (void)g; }
static inline int lvc_gpu_run(LvcGpu *g, int role, int qp, const LvcTensor *const *in,
                              LvcTensor *out)
{
    (void)g, (void)role, (void)qp, (void)in, (void)out;
    return lvc_error(LVC_EUNSUPPORTED, "built without the Vulkan backend");
}
static inline int lvc_gpu_to_host(LvcGpu *g, const LvcTensor *const *t, int n)
{
    (void)g, (void)t, (void)n;
    return 0;
}
static inline void lvc_gpu_host_wrote(LvcGpu *g, const int16_t *host) { (void)g, (void)host; }
static inline int lvc_gpu_copy(LvcGpu *g, int16_t *dst, const LvcTensor *src)
{
    (void)g, (void)dst, (void)src;
    return lvc_error(LVC_EUNSUPPORTED, "built without the Vulkan backend");
}
static inline int lvc_gpu_pack(LvcGpu *g, const LvcPicture *pic, int16_t *x)
{
    (void)g, (void)pic, (void)x;
    return lvc_error(LVC_EUNSUPPORTED, "built without the Vulkan backend");
}
static inline int lvc_gpu_unpack(LvcGpu *g, const LvcTensor *r, LvcPicture *pic)
{
    (void)g, (void)r, (void)pic;
    return lvc_error(LVC_EUNSUPPORTED, "built without the Vulkan backend");
}
static inline int lvc_gpu_finish(LvcGpu *g)
{
    (void)g;
    return 0;
}
static inline void lvc_gpu_times(const LvcGpu *g, LvcGpuTimes *t)
{
    (void)g;
    memset(t, 0, sizeof(*t));
}
static inline size_t lvc_gpu_memory(const LvcGpu *g)
{
    (void)g;
    return 0;
}
#endif

#endif
