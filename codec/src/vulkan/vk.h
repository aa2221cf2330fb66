/* The Vulkan compute backend: runtime and op recording (internal API).
 *
 * Objects
 * - LvcVkContext: a VkDevice with one compute queue, the compiled pipelines (created once per
 *   shader and specialisation, cached) and a command pool.  Either the library creates its own
 *   instance and device (lvc_vk_context_create: a discrete GPU is preferred, then integrated,
 *   virtual, CPU; the environment variable LVC_VULKAN_DEVICE, an index into the list of
 *   physical devices or a substring of a device name, overrides) or it adopts an application's
 *   device and queue (lvc_vk_context_adopt), which it then never destroys.
 * - LvcVkArena: per coder, two device buffers bound once in one descriptor set — the
 *   activation arena (int16 tensors and byte planes) and the parameter arena (weights, biases,
 *   shifts, q tables; int32) — sized by the caller from the frame size and the model; a
 *   command buffer for recording; a host-visible staging buffer for transfers.  Tensors and
 *   parameters are bump-allocated; lvc_vk_arena_reset_act() frees all activations at once.
 *   The context must outlive its arenas.  An arena is used by one thread at a time; arenas of
 *   one context may be used from different threads (submissions to the queue are serialised
 *   by the context — an application that adopts its queue into lvc must not submit to it from
 *   another thread while an lvc call may run, Vulkan's external-synchronisation rule).
 *
 * Storage format (the same in every shader, shaders/common.glsl)
 *   Only 32-bit storage buffers are used, so no optional device feature (16/8-bit storage,
 *   shaderInt16, shaderInt8) is needed: int16 activations are packed two to a uint word.  A
 *   tensor C × H × W has rows of RS = ⌈W/2⌉ words (CHW, element (c, y, x) in half x & 1 of word
 *   (c·H + y)·RS + x/2).  With W odd, each row ends in a pad half whose value is unspecified.
 *   Every invocation writes whole words, so no two invocations write the same word.  Channel
 *   slices are contiguous, so CONCAT writes into a channel view of its output tensor
 *   (lvc_vk_tensor_channels).  Weights (int8 or int16) are widened to int32 on upload.
 *
 * Recording
 *   lvc_vk_begin() starts a command buffer; each lvc_vk_record_*() appends one dispatch, after
 *   a compute→compute memory barrier where it depends on a dispatch since the last barrier
 *   (lvc_vk_barrier_count); lvc_vk_submit_wait() submits once and waits.  Uploads and
 *   downloads are synchronous transfers outside recording.  All record functions check their
 *   shapes and parameters (LVC_EINVAL) but never the contents of device memory.
 *
 * Requirements: Vulkan 1.0, a queue with compute, maxComputeWorkGroupInvocations ≥ 256,
 * maxComputeSharedMemorySize ≥ 16 KiB (the 1×1 GEMM tile uses 12 KiB), maxPushConstantsSize
 * ≥ 128 (all of them are required minimums except the first, whose minimum is 128), and each
 * arena buffer no larger than maxStorageBufferRange (128 MiB on lavapipe).  Otherwise
 * LVC_EUNSUPPORTED with a message.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_VULKAN_VK_H
#define LVC_VULKAN_VK_H

#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "kernels.h"

typedef struct LvcVkContext LvcVkContext;
typedef struct LvcVkArena LvcVkArena;

/* ---- context ------------------------------------------------------------------------------- */

/* Create an instance and a device of our own.  LVC_EUNSUPPORTED when there is no Vulkan
 * loader, no device or no suitable one (message says which). */
int lvc_vk_context_create(LvcVkContext **out);

/* An application's device: the queue must support compute; the physical device is the one
 * the device was made from.  The objects stay the application's. */
typedef struct LvcVkExternal {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
} LvcVkExternal;
int lvc_vk_context_adopt(LvcVkContext **out, const LvcVkExternal *ext);

void lvc_vk_context_destroy(LvcVkContext *ctx);

/* The device's name and type (VkPhysicalDeviceType). */
const char *lvc_vk_device_name(const LvcVkContext *ctx);
int lvc_vk_device_type(const LvcVkContext *ctx);
/* The largest arena buffer the device can bind (maxStorageBufferRange, bytes). */
size_t lvc_vk_max_arena_bytes(const LvcVkContext *ctx);

/* ---- arenas, tensors, parameters ----------------------------------------------------------- */

/* Activation and parameter arenas of act_bytes and param_bytes (rounded up to 256). */
int lvc_vk_arena_create(LvcVkContext *ctx, LvcVkArena **out, size_t act_bytes,
                        size_t param_bytes);
/* An arena with an activation buffer of its own and the parameter buffer of params (borrowed:
 * params must outlive it and its parameter blocks are valid here at the same offsets; this
 * arena does not upload parameters of its own).  Several coders share one model's weights so. */
int lvc_vk_arena_create_shared(LvcVkContext *ctx, LvcVkArena **out, size_t act_bytes,
                               const LvcVkArena *params);
void lvc_vk_arena_destroy(LvcVkArena *a);
/* Forget every tensor and picture allocated (parameters stay). */
void lvc_vk_arena_reset_act(LvcVkArena *a);
/* Forget every parameter block too. */
void lvc_vk_arena_reset_params(LvcVkArena *a);

/* A tensor in the activation arena (a value: copy freely). */
typedef struct LvcVkTensor {
    uint32_t off;  /* word offset of element (0, 0, 0) */
    int c, h, w;
    int exp;       /* exponent f */
} LvcVkTensor;

/* Words of a c × h × w tensor: c·h·⌈w/2⌉. */
size_t lvc_vk_tensor_words(int c, int h, int w);

/* Arena bytes that lvc_vk_tensor_alloc / lvc_vk_picture_alloc take (alignment included), for
 * sizing an arena from a frame plan. */
size_t lvc_vk_tensor_bytes(int c, int h, int w);
size_t lvc_vk_picture_bytes(int w, int h);

/* Allocate c × h × w (each ≥ 1) in the activation arena; LVC_ENOMEM when it is full. */
int lvc_vk_tensor_alloc(LvcVkArena *a, LvcVkTensor *t, int c, int h, int w, int exp);
/* Channels [c0, c0 + n) of t as a tensor of its own (shares t's memory). */
LvcVkTensor lvc_vk_tensor_channels(const LvcVkTensor *t, int c0, int n);

/* Synchronous transfers of a whole tensor from / to host CHW int16 (c·h·w elements). */
int lvc_vk_upload(LvcVkArena *a, const LvcVkTensor *t, const int16_t *src);
int lvc_vk_download(LvcVkArena *a, const LvcVkTensor *t, int16_t *dst);

/* A block of n int32 in the parameter arena; *off receives its word offset. */
int lvc_vk_param_upload(LvcVkArena *a, const int32_t *data, size_t n, uint32_t *off);

/* A convolution layer resident on the device (shape and fused activation from the
 * LvcConvParams it was made from; weights, bias and shifts in the parameter arena). */
typedef struct LvcVkConv {
    int cin, h, w, cout, ho, wo, k, stride, pad, groups, act, act_shift;
    int has_bias;
    uint32_t w_off, b_off, s_off;
} LvcVkConv;

/* Check p (lvc_conv_check) and upload its weights (widened), bias and shifts. */
int lvc_vk_conv_upload(LvcVkArena *a, const LvcConvParams *p, LvcVkConv *out);

/* A q table T[64][c] (int16, widened) uploaded once; row qp is at off + qp·c. */
typedef struct LvcVkQTable {
    uint32_t off;
    int c;
} LvcVkQTable;
int lvc_vk_qtable_upload(LvcVkArena *a, const int16_t *table, int c, LvcVkQTable *out);

/* An I420 picture w × h as byte planes in the activation arena: rows of ⌈w/4⌉ words (luma)
 * and ⌈⌈w/2⌉/4⌉ words (chroma). */
typedef struct LvcVkPicture {
    uint32_t y_off, u_off, v_off;
    int w, h;
} LvcVkPicture;
int lvc_vk_picture_alloc(LvcVkArena *a, LvcVkPicture *pic, int w, int h);
int lvc_vk_picture_upload(LvcVkArena *a, const LvcVkPicture *pic, const uint8_t *py,
                          ptrdiff_t sy, const uint8_t *pu, ptrdiff_t su, const uint8_t *pv,
                          ptrdiff_t sv);
int lvc_vk_picture_download(LvcVkArena *a, const LvcVkPicture *pic, uint8_t *py, ptrdiff_t sy,
                            uint8_t *pu, ptrdiff_t su, uint8_t *pv, ptrdiff_t sv);

/* ---- recording ----------------------------------------------------------------------------- *
 * Between lvc_vk_begin and lvc_vk_submit_wait.  Outputs must not overlap inputs except for the
 * element-wise ops (ADD, RESCALE, QMUL, ACT, CBMASK, CBMERGE), which may run in place.
 * Exponents are taken from the tensors as in kernels.h. */
int lvc_vk_begin(LvcVkArena *a);
/* Submit what was recorded and wait for it (also ends the recording on failure). */
int lvc_vk_submit_wait(LvcVkArena *a);

/* End a recording without submitting it (after a failure while recording). */
void lvc_vk_abort(LvcVkArena *a);

/* The host-visible staging buffer, at least bytes large (mapped, host-coherent), or NULL
 * (LVC_ENOMEM, or LVC_EINVAL when it would have to grow while recording).  Its contents are
 * the caller's between lvc_vk_upload/download calls, which use it too. */
void *lvc_vk_staging(LvcVkArena *a, size_t bytes);
size_t lvc_vk_staging_size(const LvcVkArena *a);

/* Record a copy of bytes (a multiple of 4) between the staging buffer at byte staging_off and
 * the activation arena at word word_off, to_device = 1: staging → arena.  Ordered against the
 * dispatches like them (by word ranges); the host may read what was copied into the staging
 * buffer once lvc_vk_submit_wait returns, and must have written what is copied from it before
 * lvc_vk_submit_wait. */
int lvc_vk_record_copy(LvcVkArena *a, int to_device, uint32_t word_off, size_t staging_off,
                       size_t bytes);

/* GPU time of the last lvc_vk_submit_wait in nanoseconds, from timestamps written at the start
 * and end of the command buffer (0 where the queue has no timestamps). */
uint64_t lvc_vk_last_gpu_ns(const LvcVkArena *a);

/* Barriers recorded between dispatches since lvc_vk_begin: a dispatch waits for the earlier
 * ones only when it reads what they write or writes what they read or write (by word ranges);
 * independent dispatches (CONCAT parts, parallel branches) run without one. */
int lvc_vk_barrier_count(const LvcVkArena *a);

int lvc_vk_record_conv(LvcVkArena *a, const LvcVkConv *cv, const LvcVkTensor *in,
                       const LvcVkTensor *out);
int lvc_vk_record_add(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *x,
                      const LvcVkTensor *y, int act, int act_shift);
int lvc_vk_record_rescale(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int act,
                          int act_shift);
/* QMUL with row qp of table qt at exponent fq. */
int lvc_vk_record_qmul(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in,
                       const LvcVkQTable *qt, int qp, int fq, int act, int act_shift);
int lvc_vk_record_act(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int act,
                      int act_shift);
/* CONCAT part: in's channels into out's channels [c0, c0 + in->c). */
int lvc_vk_record_concat(LvcVkArena *a, const LvcVkTensor *out, int c0, const LvcVkTensor *in);
int lvc_vk_record_shuffle(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int r);
int lvc_vk_record_unshuffle(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in,
                            int r);
int lvc_vk_record_cbmask(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in, int par);
int lvc_vk_record_cbmerge(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *x,
                          const LvcVkTensor *y, int par);
/* PAD to out's size by edge replication; CROP to out's size. */
int lvc_vk_record_pad(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in);
int lvc_vk_record_crop(LvcVkArena *a, const LvcVkTensor *out, const LvcVkTensor *in);
/* PACK pic into out (96 × Hp/8 × Wp/8, exponent 7); UNPACK in (exponent 0..22) into pic. */
int lvc_vk_record_pack(LvcVkArena *a, const LvcVkTensor *out, const LvcVkPicture *pic);
int lvc_vk_record_unpack(LvcVkArena *a, const LvcVkPicture *pic, const LvcVkTensor *in);

#endif
