/* Private state of the Vulkan backend, shared by vk_context.c and vk_ops.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_VULKAN_VK_PRIV_H
#define LVC_VULKAN_VK_PRIV_H

#include <pthread.h>

#include "vulkan/vk.h"

enum {
    LVC_VK_SH_CONV = 0,
    LVC_VK_SH_CONV1X1,
    LVC_VK_SH_EW,
    LVC_VK_SH_REMAP,
    LVC_VK_SH_PACK,
    LVC_VK_SH_UNPACK,
    LVC_VK_NSHADERS
};

/* Local sizes (x) of the shaders, as written in shaders/\*.comp. */
#define LVC_VK_LSIZE 64u
#define LVC_VK_GEMM_LSIZE 256u
#define LVC_VK_PUSH_BYTES 128u
#define LVC_VK_MAX_PIPES 64

typedef struct LvcVkPipe {
    int shader, spec0, spec1;
    VkPipeline pipe;
} LvcVkPipe;

struct LvcVkContext {
    VkInstance inst;
    VkPhysicalDevice pd;
    VkDevice dev;
    VkQueue queue;
    uint32_t qf;
    int own; /* instance and device are ours */
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkShaderModule mod[LVC_VK_NSHADERS];
    pthread_mutex_t lock; /* the pipeline cache and the queue */
    LvcVkPipe pipes[LVC_VK_MAX_PIPES];
    int npipes;
};

typedef struct LvcVkBuf {
    VkBuffer buf;
    VkDeviceMemory mem;
    size_t size;
    void *map; /* host-visible buffers only */
} LvcVkBuf;

/* A half-open range of words of the activation arena. */
typedef struct LvcVkRange {
    uint32_t lo, hi;
} LvcVkRange;

#define LVC_VK_MAX_PENDING 32

struct LvcVkArena {
    LvcVkContext *ctx;
    LvcVkBuf act, par, staging;
    int par_borrowed;    /* par is another arena's (lvc_vk_arena_create_shared) */
    size_t act_used, par_used; /* bytes */
    VkDescriptorPool dpool;
    VkDescriptorSet set;
    VkCommandPool cpool;
    VkCommandBuffer cmd, xfer;
    VkFence fence;
    int recording, ndispatch;
    VkPipeline bound;
    VkQueryPool timer;   /* two timestamps around each recording, or none */
    uint64_t gpu_ns;     /* GPU time of the last submission (0 when unknown) */
    /* what the dispatches since the last barrier read and write: a dispatch that touches none
     * of it (no read-after-write, write-after-read or write-after-write) needs no barrier */
    LvcVkRange pend_rd[LVC_VK_MAX_PENDING], pend_wr[LVC_VK_MAX_PENDING];
    int npend_rd, npend_wr;
    int nbarrier; /* barriers recorded between dispatches since lvc_vk_begin */
    int ndownload; /* copies into the staging buffer recorded since lvc_vk_begin */
};

/* The pipeline of shader with specialisation constants (spec0, spec1) (ignored by shaders
 * without them), created on first use. */
int lvc_vk_pipeline(LvcVkContext *ctx, int shader, int spec0, int spec1, VkPipeline *out);

/* A memory barrier from all earlier compute and transfer writes to later compute and transfer
 * accesses. */
void lvc_vk_barrier(VkCommandBuffer cb);
/* Submit a->cmd and wait for it. */
int lvc_vk_submit_cmd(LvcVkArena *a);

#endif
