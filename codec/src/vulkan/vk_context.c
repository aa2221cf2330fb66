/* Vulkan backend: device selection, pipelines, arenas and transfers.  See vk.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lvc_spirv.h"
#include "vulkan/vk_priv.h"

#define ARENA_ALIGN 256u
/* Shared memory of the 1×1 GEMM tile: Ws[16][64] int + Xs[16][32] ivec2. */
#define GEMM_SHARED_BYTES (16u * 64u * 4u + 16u * 32u * 8u)

static int vkfail(VkResult r, const char *what)
{
    if (r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY)
        return lvc_error(LVC_ENOMEM, "vulkan: %s: out of memory (%d)", what, (int)r);
    return lvc_error(LVC_EUNSUPPORTED, "vulkan: %s failed (VkResult %d)", what, (int)r);
}

/* ---- device choice ------------------------------------------------------------------------- */

static int type_rank(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
    }
}

static int compute_family(VkPhysicalDevice pd, uint32_t *qf)
{
    VkQueueFamilyProperties fam[32];
    uint32_t n = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fam);
    /* a compute queue family, preferring one without graphics (async compute) */
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(fam[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || fam[i].queueCount < 1)
            continue;
        if (best < 0 || (!(fam[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) &&
                         (fam[best].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
            best = (int)i;
    }
    if (best < 0)
        return 0;
    *qf = (uint32_t)best;
    return 1;
}

/* 0 when the device can run the backend, else LVC_EUNSUPPORTED with the reason. */
static int check_device(VkPhysicalDevice pd, const VkPhysicalDeviceProperties *pr)
{
    uint32_t qf;
    if (!compute_family(pd, &qf))
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: %s has no compute queue", pr->deviceName);
    if (pr->limits.maxComputeWorkGroupInvocations < LVC_VK_GEMM_LSIZE ||
        pr->limits.maxComputeWorkGroupSize[0] < LVC_VK_GEMM_LSIZE)
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: %s allows only %u invocations per workgroup "
                         "(need %u)", pr->deviceName, pr->limits.maxComputeWorkGroupInvocations,
                         LVC_VK_GEMM_LSIZE);
    if (pr->limits.maxComputeSharedMemorySize < GEMM_SHARED_BYTES)
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: %s has %u bytes of shared memory (need %u)",
                         pr->deviceName, pr->limits.maxComputeSharedMemorySize,
                         GEMM_SHARED_BYTES);
    if (pr->limits.maxPushConstantsSize < LVC_VK_PUSH_BYTES)
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: %s has %u bytes of push constants",
                         pr->deviceName, pr->limits.maxPushConstantsSize);
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static int pick_device(VkInstance inst, VkPhysicalDevice *out)
{
    VkPhysicalDevice pds[16];
    uint32_t n = 16;
    VkResult r = vkEnumeratePhysicalDevices(inst, &n, pds);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return vkfail(r, "vkEnumeratePhysicalDevices");
    if (n == 0)
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: no physical device");

    const char *env = getenv("LVC_VULKAN_DEVICE");
    if (env && *env) {
        for (uint32_t i = 0; i < n; i++) {
            VkPhysicalDeviceProperties pr;
            vkGetPhysicalDeviceProperties(pds[i], &pr);
            if (all_digits(env) ? (uint32_t)atoi(env) == i : contains_nocase(pr.deviceName, env)) {
                int err = check_device(pds[i], &pr);
                if (err < 0)
                    return err;
                *out = pds[i];
                return 0;
            }
        }
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: LVC_VULKAN_DEVICE=%s matches none of %u "
                         "devices", env, n);
    }

    int best = -1, best_rank = 99, last_err = 0;
    for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties pr;
        vkGetPhysicalDeviceProperties(pds[i], &pr);
        int err = check_device(pds[i], &pr);
        if (err < 0) {
            last_err = err;
            continue;
        }
        int rank = type_rank(pr.deviceType);
        if (rank < best_rank) {
            best = (int)i;
            best_rank = rank;
        }
    }
    if (best < 0)
        return last_err; /* the message of the last rejected device */
    *out = pds[best];
    return 0;
}

/* ---- context ------------------------------------------------------------------------------- */

static const uint32_t *const spirv_code[LVC_VK_NSHADERS] = {
    lvc_spirv_conv, lvc_spirv_conv1x1, lvc_spirv_ew, lvc_spirv_remap, lvc_spirv_pack,
    lvc_spirv_unpack,
};

static size_t spirv_words(int i)
{
    switch (i) {
    case LVC_VK_SH_CONV: return lvc_spirv_conv_words;
    case LVC_VK_SH_CONV1X1: return lvc_spirv_conv1x1_words;
    case LVC_VK_SH_EW: return lvc_spirv_ew_words;
    case LVC_VK_SH_REMAP: return lvc_spirv_remap_words;
    case LVC_VK_SH_PACK: return lvc_spirv_pack_words;
    default: return lvc_spirv_unpack_words;
    }
}

/* Layouts and shader modules on ctx->dev (ctx->pd, inst, queue set). */
static int context_init(LvcVkContext *ctx)
{
    VkResult r;
    vkGetPhysicalDeviceProperties(ctx->pd, &ctx->props);
    vkGetPhysicalDeviceMemoryProperties(ctx->pd, &ctx->mem);

    VkDescriptorSetLayoutBinding b[2];
    memset(b, 0, sizeof(b));
    for (int i = 0; i < 2; i++) {
        b[i].binding = (uint32_t)i;
        b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        b[i].descriptorCount = 1;
        b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = 2,
        .pBindings = b,
    };
    if ((r = vkCreateDescriptorSetLayout(ctx->dev, &dci, NULL, &ctx->dsl)) != VK_SUCCESS)
        return vkfail(r, "vkCreateDescriptorSetLayout");

    VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, LVC_VK_PUSH_BYTES};
    VkPipelineLayoutCreateInfo lci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &ctx->dsl,
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &pcr,
    };
    if ((r = vkCreatePipelineLayout(ctx->dev, &lci, NULL, &ctx->layout)) != VK_SUCCESS)
        return vkfail(r, "vkCreatePipelineLayout");

    for (int i = 0; i < LVC_VK_NSHADERS; i++) {
        VkShaderModuleCreateInfo sci = {
            .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
            .codeSize = spirv_words(i) * 4,
            .pCode = spirv_code[i],
        };
        if ((r = vkCreateShaderModule(ctx->dev, &sci, NULL, &ctx->mod[i])) != VK_SUCCESS)
            return vkfail(r, "vkCreateShaderModule");
    }
    if (pthread_mutex_init(&ctx->lock, NULL))
        return lvc_error(LVC_ENOMEM, "vulkan: mutex");
    return 0;
}

static void context_free(LvcVkContext *ctx)
{
    if (!ctx)
        return;
    if (ctx->dev) {
        for (int i = 0; i < ctx->npipes; i++)
            vkDestroyPipeline(ctx->dev, ctx->pipes[i].pipe, NULL);
        for (int i = 0; i < LVC_VK_NSHADERS; i++)
            if (ctx->mod[i])
                vkDestroyShaderModule(ctx->dev, ctx->mod[i], NULL);
        if (ctx->layout)
            vkDestroyPipelineLayout(ctx->dev, ctx->layout, NULL);
        if (ctx->dsl)
            vkDestroyDescriptorSetLayout(ctx->dev, ctx->dsl, NULL);
        if (ctx->own)
            vkDestroyDevice(ctx->dev, NULL);
    }
    if (ctx->own && ctx->inst)
        vkDestroyInstance(ctx->inst, NULL);
    free(ctx);
}

void lvc_vk_context_destroy(LvcVkContext *ctx)
{
    if (ctx && ctx->dev)
        pthread_mutex_destroy(&ctx->lock);
    context_free(ctx);
}

int lvc_vk_context_create(LvcVkContext **out)
{
    *out = NULL;
    LvcVkContext *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return lvc_error(LVC_ENOMEM, "vulkan: out of memory");
    ctx->own = 1;

    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "lvc",
        .pEngineName = "lvc",
        .apiVersion = VK_API_VERSION_1_0,
    };
    VkInstanceCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    VkResult r = vkCreateInstance(&ici, NULL, &ctx->inst);
    if (r != VK_SUCCESS) {
        context_free(ctx);
        if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
            return lvc_error(LVC_EUNSUPPORTED, "vulkan: no Vulkan driver (ICD) found");
        return vkfail(r, "vkCreateInstance");
    }
    int err = pick_device(ctx->inst, &ctx->pd);
    if (err < 0) {
        context_free(ctx);
        return err;
    }
    compute_family(ctx->pd, &ctx->qf);

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = ctx->qf,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    if ((r = vkCreateDevice(ctx->pd, &dci, NULL, &ctx->dev)) != VK_SUCCESS) {
        context_free(ctx);
        return vkfail(r, "vkCreateDevice");
    }
    vkGetDeviceQueue(ctx->dev, ctx->qf, 0, &ctx->queue);
    if ((err = context_init(ctx)) < 0) {
        context_free(ctx);
        return err;
    }
    *out = ctx;
    return 0;
}

int lvc_vk_context_adopt(LvcVkContext **out, const LvcVkExternal *ext)
{
    *out = NULL;
    if (!ext || !ext->physical_device || !ext->device || !ext->queue)
        return lvc_error(LVC_EINVAL, "vulkan: incomplete external device");
    VkPhysicalDeviceProperties pr;
    vkGetPhysicalDeviceProperties(ext->physical_device, &pr);
    int err = check_device(ext->physical_device, &pr);
    if (err < 0)
        return err;
    VkQueueFamilyProperties fam[32];
    uint32_t n = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(ext->physical_device, &n, fam);
    if (ext->queue_family >= n || !(fam[ext->queue_family].queueFlags & VK_QUEUE_COMPUTE_BIT))
        return lvc_error(LVC_EINVAL, "vulkan: queue family %u has no compute", ext->queue_family);

    LvcVkContext *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return lvc_error(LVC_ENOMEM, "vulkan: out of memory");
    ctx->inst = ext->instance;
    ctx->pd = ext->physical_device;
    ctx->dev = ext->device;
    ctx->queue = ext->queue;
    ctx->qf = ext->queue_family;
    ctx->own = 0;
    if ((err = context_init(ctx)) < 0) {
        context_free(ctx);
        return err;
    }
    *out = ctx;
    return 0;
}

const char *lvc_vk_device_name(const LvcVkContext *ctx) { return ctx->props.deviceName; }
int lvc_vk_device_type(const LvcVkContext *ctx) { return (int)ctx->props.deviceType; }
size_t lvc_vk_max_arena_bytes(const LvcVkContext *ctx)
{
    return ctx->props.limits.maxStorageBufferRange;
}

int lvc_vk_pipeline(LvcVkContext *ctx, int shader, int spec0, int spec1, VkPipeline *out)
{
    int err = 0;
    pthread_mutex_lock(&ctx->lock);
    for (int i = 0; i < ctx->npipes; i++) {
        const LvcVkPipe *p = &ctx->pipes[i];
        if (p->shader == shader && p->spec0 == spec0 && p->spec1 == spec1) {
            *out = p->pipe;
            goto done;
        }
    }
    if (ctx->npipes == LVC_VK_MAX_PIPES) {
        err = lvc_error(LVC_ENOMEM, "vulkan: too many pipeline variants");
        goto done;
    }
    int32_t spec[2] = {spec0, spec1};
    VkSpecializationMapEntry me[2] = {{0, 0, 4}, {1, 4, 4}};
    VkSpecializationInfo si = {2, me, sizeof(spec), spec};
    VkComputePipelineCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = ctx->mod[shader],
            .pName = "main",
            .pSpecializationInfo = shader == LVC_VK_SH_CONV ? &si : NULL,
        },
        .layout = ctx->layout,
    };
    VkPipeline pipe;
    VkResult r = vkCreateComputePipelines(ctx->dev, VK_NULL_HANDLE, 1, &pci, NULL, &pipe);
    if (r != VK_SUCCESS) {
        err = vkfail(r, "vkCreateComputePipelines");
        goto done;
    }
    ctx->pipes[ctx->npipes++] = (LvcVkPipe){shader, spec0, spec1, pipe};
    *out = pipe;
done:
    pthread_mutex_unlock(&ctx->lock);
    return err;
}

/* ---- buffers ------------------------------------------------------------------------------- */

static int find_memory(const LvcVkContext *ctx, uint32_t bits, VkMemoryPropertyFlags need,
                       VkMemoryPropertyFlags want)
{
    int fallback = -1;
    for (uint32_t i = 0; i < ctx->mem.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = ctx->mem.memoryTypes[i].propertyFlags;
        if (!(bits & (1u << i)) || (f & need) != need)
            continue;
        if ((f & want) == want)
            return (int)i;
        if (fallback < 0)
            fallback = (int)i;
    }
    return fallback;
}

static void buf_free(const LvcVkContext *ctx, LvcVkBuf *b)
{
    if (b->map)
        vkUnmapMemory(ctx->dev, b->mem);
    if (b->buf)
        vkDestroyBuffer(ctx->dev, b->buf, NULL);
    if (b->mem)
        vkFreeMemory(ctx->dev, b->mem, NULL);
    memset(b, 0, sizeof(*b));
}

static int buf_create(const LvcVkContext *ctx, LvcVkBuf *b, size_t size, VkBufferUsageFlags usage,
                      int host)
{
    memset(b, 0, sizeof(*b));
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(ctx->dev, &bci, NULL, &b->buf);
    if (r != VK_SUCCESS)
        return vkfail(r, "vkCreateBuffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx->dev, b->buf, &req);
    int mt = host ? find_memory(ctx, req.memoryTypeBits,
                                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                    VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                VK_MEMORY_PROPERTY_HOST_CACHED_BIT)
                  : find_memory(ctx, req.memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (mt < 0) {
        buf_free(ctx, b);
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: no suitable memory type");
    }
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)mt,
    };
    if ((r = vkAllocateMemory(ctx->dev, &mai, NULL, &b->mem)) != VK_SUCCESS) {
        buf_free(ctx, b);
        return vkfail(r, "vkAllocateMemory");
    }
    if ((r = vkBindBufferMemory(ctx->dev, b->buf, b->mem, 0)) != VK_SUCCESS) {
        buf_free(ctx, b);
        return vkfail(r, "vkBindBufferMemory");
    }
    if (host && (r = vkMapMemory(ctx->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map)) != VK_SUCCESS) {
        buf_free(ctx, b);
        return vkfail(r, "vkMapMemory");
    }
    b->size = size;
    return 0;
}

/* ---- arenas -------------------------------------------------------------------------------- */

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }
static int staging_reserve(LvcVkArena *a, size_t bytes);

void lvc_vk_arena_destroy(LvcVkArena *a)
{
    if (!a)
        return;
    LvcVkContext *ctx = a->ctx;
    if (a->fence)
        vkDestroyFence(ctx->dev, a->fence, NULL);
    if (a->timer)
        vkDestroyQueryPool(ctx->dev, a->timer, NULL);
    if (a->cpool)
        vkDestroyCommandPool(ctx->dev, a->cpool, NULL);
    if (a->dpool)
        vkDestroyDescriptorPool(ctx->dev, a->dpool, NULL);
    buf_free(ctx, &a->act);
    if (!a->par_borrowed)
        buf_free(ctx, &a->par);
    buf_free(ctx, &a->staging);
    free(a);
}

/* An arena with its own activation buffer and either its own parameter buffer of param_bytes
 * or the one of params (borrowed). */
static int arena_create(LvcVkContext *ctx, LvcVkArena **out, size_t act_bytes,
                        size_t param_bytes, const LvcVkArena *params)
{
    *out = NULL;
    act_bytes = round_up(act_bytes ? act_bytes : 1, ARENA_ALIGN);
    param_bytes = round_up(param_bytes ? param_bytes : 1, ARENA_ALIGN);
    const size_t limit = lvc_vk_max_arena_bytes(ctx);
    if (act_bytes > limit || param_bytes > limit)
        return lvc_error(LVC_EUNSUPPORTED, "vulkan: arena of %zu bytes exceeds the device's "
                         "storage buffer range of %zu bytes", act_bytes > param_bytes ?
                         act_bytes : param_bytes, limit);
    LvcVkArena *a = calloc(1, sizeof(*a));
    if (!a)
        return lvc_error(LVC_ENOMEM, "vulkan: out of memory");
    a->ctx = ctx;
    const VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                     VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                     VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    int err;
    if (params) {
        a->par = params->par;
        a->par.map = NULL;
        a->par_borrowed = 1;
    }
    if ((err = buf_create(ctx, &a->act, act_bytes, usage, 0)) < 0 ||
        (!params && (err = buf_create(ctx, &a->par, param_bytes, usage, 0)) < 0))
        goto fail;

    VkResult r;
    VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2};
    VkDescriptorPoolCreateInfo dpci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = 1,
        .poolSizeCount = 1,
        .pPoolSizes = &ps,
    };
    if ((r = vkCreateDescriptorPool(ctx->dev, &dpci, NULL, &a->dpool)) != VK_SUCCESS) {
        err = vkfail(r, "vkCreateDescriptorPool");
        goto fail;
    }
    VkDescriptorSetAllocateInfo dsai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = a->dpool,
        .descriptorSetCount = 1,
        .pSetLayouts = &ctx->dsl,
    };
    if ((r = vkAllocateDescriptorSets(ctx->dev, &dsai, &a->set)) != VK_SUCCESS) {
        err = vkfail(r, "vkAllocateDescriptorSets");
        goto fail;
    }
    VkDescriptorBufferInfo bi[2] = {{a->act.buf, 0, VK_WHOLE_SIZE},
                                    {a->par.buf, 0, VK_WHOLE_SIZE}};
    VkWriteDescriptorSet wr[2];
    memset(wr, 0, sizeof(wr));
    for (int i = 0; i < 2; i++) {
        wr[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
        wr[i].dstSet = a->set;
        wr[i].dstBinding = (uint32_t)i;
        wr[i].descriptorCount = 1;
        wr[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        wr[i].pBufferInfo = &bi[i];
    }
    vkUpdateDescriptorSets(ctx->dev, 2, wr, 0, NULL);

    VkCommandPoolCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = ctx->qf,
    };
    if ((r = vkCreateCommandPool(ctx->dev, &cpci, NULL, &a->cpool)) != VK_SUCCESS) {
        err = vkfail(r, "vkCreateCommandPool");
        goto fail;
    }
    VkCommandBuffer cbs[2];
    VkCommandBufferAllocateInfo cbai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = a->cpool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 2,
    };
    if ((r = vkAllocateCommandBuffers(ctx->dev, &cbai, cbs)) != VK_SUCCESS) {
        err = vkfail(r, "vkAllocateCommandBuffers");
        goto fail;
    }
    a->cmd = cbs[0];
    a->xfer = cbs[1];
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((r = vkCreateFence(ctx->dev, &fci, NULL, &a->fence)) != VK_SUCCESS) {
        err = vkfail(r, "vkCreateFence");
        goto fail;
    }
    VkQueueFamilyProperties fam[32];
    uint32_t nf = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->pd, &nf, fam);
    if (ctx->qf < nf && fam[ctx->qf].timestampValidBits > 0 &&
        ctx->props.limits.timestampPeriod > 0) {
        VkQueryPoolCreateInfo qpci = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = 2,
        };
        if (vkCreateQueryPool(ctx->dev, &qpci, NULL, &a->timer) != VK_SUCCESS)
            a->timer = VK_NULL_HANDLE; /* profiling is optional */
    }
    *out = a;
    return 0;
fail:
    lvc_vk_arena_destroy(a);
    return err;
}

int lvc_vk_arena_create(LvcVkContext *ctx, LvcVkArena **out, size_t act_bytes,
                        size_t param_bytes)
{
    return arena_create(ctx, out, act_bytes, param_bytes, NULL);
}

int lvc_vk_arena_create_shared(LvcVkContext *ctx, LvcVkArena **out, size_t act_bytes,
                               const LvcVkArena *params)
{
    if (!params || params->ctx != ctx)
        return lvc_error(LVC_EINVAL, "vulkan: parameters of another device");
    return arena_create(ctx, out, act_bytes, params->par.size, params);
}

void *lvc_vk_staging(LvcVkArena *a, size_t bytes)
{
    if (a->recording && (!a->staging.buf || a->staging.size < bytes)) {
        lvc_error(LVC_EINVAL, "vulkan: staging buffer grown while recording");
        return NULL;
    }
    return staging_reserve(a, bytes) < 0 ? NULL : a->staging.map;
}

size_t lvc_vk_staging_size(const LvcVkArena *a) { return a->staging.buf ? a->staging.size : 0; }

void lvc_vk_arena_reset_act(LvcVkArena *a) { a->act_used = 0; }
void lvc_vk_arena_reset_params(LvcVkArena *a) { a->par_used = 0; }

size_t lvc_vk_tensor_words(int c, int h, int w)
{
    return (size_t)c * (size_t)h * (size_t)((w + 1) / 2);
}

size_t lvc_vk_tensor_bytes(int c, int h, int w)
{
    return round_up(lvc_vk_tensor_words(c, h, w) * 4, ARENA_ALIGN);
}

/* Bytes of the three planes of a w × h picture, each rounded to ARENA_ALIGN. */
static size_t plane_bytes(int w, int h)
{
    return round_up((size_t)h * (size_t)((w + 3) / 4) * 4, ARENA_ALIGN);
}

size_t lvc_vk_picture_bytes(int w, int h)
{
    return plane_bytes(w, h) + 2 * plane_bytes((w + 1) / 2, (h + 1) / 2);
}

/* Bump-allocate bytes (rounded to ARENA_ALIGN) from an arena buffer; *off in words. */
static int bump(const LvcVkBuf *b, size_t *used, size_t bytes, uint32_t *off, const char *what)
{
    bytes = round_up(bytes ? bytes : 1, ARENA_ALIGN);
    if (bytes > b->size - *used)
        return lvc_error(LVC_ENOMEM, "vulkan: %s arena full (%zu of %zu bytes used, %zu more "
                         "needed)", what, *used, b->size, bytes);
    *off = (uint32_t)(*used / 4);
    *used += bytes;
    return 0;
}

int lvc_vk_tensor_alloc(LvcVkArena *a, LvcVkTensor *t, int c, int h, int w, int exp)
{
    if (c < 1 || h < 1 || w < 1 || c > 65535 || h > 8 * LVC_MAX_DIM || w > 8 * LVC_MAX_DIM)
        return lvc_error(LVC_EINVAL, "vulkan: invalid tensor shape %dx%dx%d", c, h, w);
    uint32_t off = 0;
    int err = bump(&a->act, &a->act_used, lvc_vk_tensor_words(c, h, w) * 4, &off, "activation");
    if (err < 0)
        return err;
    *t = (LvcVkTensor){off, c, h, w, exp};
    return 0;
}

LvcVkTensor lvc_vk_tensor_channels(const LvcVkTensor *t, int c0, int n)
{
    LvcVkTensor v = *t;
    v.off = t->off + (uint32_t)lvc_vk_tensor_words(c0, t->h, t->w);
    v.c = n;
    return v;
}

int lvc_vk_picture_alloc(LvcVkArena *a, LvcVkPicture *pic, int w, int h)
{
    if (w < 1 || h < 1 || w > LVC_MAX_DIM || h > LVC_MAX_DIM)
        return lvc_error(LVC_EINVAL, "vulkan: invalid picture size %dx%d", w, h);
    const int cw = (w + 1) / 2, ch = (h + 1) / 2;
    int err;
    if ((err = bump(&a->act, &a->act_used, (size_t)h * (size_t)((w + 3) / 4) * 4, &pic->y_off,
                    "activation")) < 0 ||
        (err = bump(&a->act, &a->act_used, (size_t)ch * (size_t)((cw + 3) / 4) * 4, &pic->u_off,
                    "activation")) < 0 ||
        (err = bump(&a->act, &a->act_used, (size_t)ch * (size_t)((cw + 3) / 4) * 4, &pic->v_off,
                    "activation")) < 0)
        return err;
    pic->w = w;
    pic->h = h;
    return 0;
}

/* ---- transfers ----------------------------------------------------------------------------- */

static int staging_reserve(LvcVkArena *a, size_t bytes)
{
    if (a->staging.buf && a->staging.size >= bytes)
        return 0;
    buf_free(a->ctx, &a->staging);
    return buf_create(a->ctx, &a->staging, round_up(bytes, 1u << 16),
                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, 1);
}

/* Everything earlier on the queue (compute and transfer writes) before the accesses that
 * follow (compute and transfer reads and writes). */
void lvc_vk_barrier(VkCommandBuffer cb)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         0, 1, &mb, 0, NULL, 0, NULL);
}

static int submit_wait(LvcVkArena *a, VkCommandBuffer cb)
{
    LvcVkContext *ctx = a->ctx;
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cb,
    };
    pthread_mutex_lock(&ctx->lock);
    VkResult r = vkQueueSubmit(ctx->queue, 1, &si, a->fence);
    pthread_mutex_unlock(&ctx->lock);
    if (r != VK_SUCCESS)
        return vkfail(r, "vkQueueSubmit");
    r = vkWaitForFences(ctx->dev, 1, &a->fence, VK_TRUE, UINT64_MAX);
    vkResetFences(ctx->dev, 1, &a->fence);
    if (r != VK_SUCCESS)
        return vkfail(r, "vkWaitForFences");
    return 0;
}

int lvc_vk_submit_cmd(LvcVkArena *a)
{
    int err = submit_wait(a, a->cmd);
    a->gpu_ns = 0;
    uint64_t ts[2];
    if (!err && a->timer &&
        vkGetQueryPoolResults(a->ctx->dev, a->timer, 0, 2, sizeof(ts), ts, sizeof(ts[0]),
                              VK_QUERY_RESULT_64_BIT) == VK_SUCCESS && ts[1] >= ts[0])
        a->gpu_ns = (uint64_t)((double)(ts[1] - ts[0]) * a->ctx->props.limits.timestampPeriod);
    return err;
}

uint64_t lvc_vk_last_gpu_ns(const LvcVkArena *a) { return a->gpu_ns; }

/* One copy between the staging buffer (offset 0) and buffer dst/src at byte offset off. */
static int transfer(LvcVkArena *a, VkBuffer dev_buf, size_t off, size_t bytes, int to_device)
{
    if (a->recording)
        return lvc_error(LVC_EINVAL, "vulkan: transfer while recording");
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VkResult r = vkBeginCommandBuffer(a->xfer, &bi);
    if (r != VK_SUCCESS)
        return vkfail(r, "vkBeginCommandBuffer");
    lvc_vk_barrier(a->xfer);
    VkBufferCopy reg = {to_device ? 0 : off, to_device ? off : 0, bytes};
    if (to_device)
        vkCmdCopyBuffer(a->xfer, a->staging.buf, dev_buf, 1, &reg);
    else
        vkCmdCopyBuffer(a->xfer, dev_buf, a->staging.buf, 1, &reg);
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT |
                         VK_ACCESS_SHADER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(a->xfer, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    if ((r = vkEndCommandBuffer(a->xfer)) != VK_SUCCESS)
        return vkfail(r, "vkEndCommandBuffer");
    return submit_wait(a, a->xfer);
}

static int check_tensor(const LvcVkArena *a, const LvcVkTensor *t)
{
    if (t->c < 1 || t->h < 1 || t->w < 1 ||
        ((size_t)t->off + lvc_vk_tensor_words(t->c, t->h, t->w)) * 4 > a->act.size)
        return lvc_error(LVC_EINVAL, "vulkan: tensor outside the arena");
    return 0;
}

int lvc_vk_upload(LvcVkArena *a, const LvcVkTensor *t, const int16_t *src)
{
    int err = check_tensor(a, t);
    const size_t rs = (size_t)(t->w + 1) / 2, words = lvc_vk_tensor_words(t->c, t->h, t->w);
    if (err < 0 || (err = staging_reserve(a, words * 4)) < 0)
        return err;
    int16_t *st = a->staging.map;
    const size_t rows = (size_t)t->c * (size_t)t->h;
    if (t->w % 2 == 0) {
        memcpy(st, src, rows * (size_t)t->w * sizeof(int16_t));
    } else {
        for (size_t r = 0; r < rows; r++) {
            memcpy(st + r * 2 * rs, src + r * (size_t)t->w, (size_t)t->w * sizeof(int16_t));
            st[r * 2 * rs + (size_t)t->w] = 0;
        }
    }
    return transfer(a, a->act.buf, (size_t)t->off * 4, words * 4, 1);
}

int lvc_vk_download(LvcVkArena *a, const LvcVkTensor *t, int16_t *dst)
{
    int err = check_tensor(a, t);
    const size_t rs = (size_t)(t->w + 1) / 2, words = lvc_vk_tensor_words(t->c, t->h, t->w);
    if (err < 0 || (err = staging_reserve(a, words * 4)) < 0 ||
        (err = transfer(a, a->act.buf, (size_t)t->off * 4, words * 4, 0)) < 0)
        return err;
    const int16_t *st = a->staging.map;
    const size_t rows = (size_t)t->c * (size_t)t->h;
    if (t->w % 2 == 0) {
        memcpy(dst, st, rows * (size_t)t->w * sizeof(int16_t));
    } else {
        for (size_t r = 0; r < rows; r++)
            memcpy(dst + r * (size_t)t->w, st + r * 2 * rs, (size_t)t->w * sizeof(int16_t));
    }
    return 0;
}

int lvc_vk_param_upload(LvcVkArena *a, const int32_t *data, size_t n, uint32_t *off)
{
    int err;
    if (n == 0 || n > a->par.size / 4)
        return lvc_error(LVC_EINVAL, "vulkan: parameter block of %zu words", n);
    if ((err = bump(&a->par, &a->par_used, n * 4, off, "parameter")) < 0 ||
        (err = staging_reserve(a, n * 4)) < 0)
        return err;
    memcpy(a->staging.map, data, n * 4);
    return transfer(a, a->par.buf, (size_t)*off * 4, n * 4, 1);
}

/* Widen weights (or any int8/int16 source) to an int32 parameter block. */
static int upload_widened(LvcVkArena *a, const int8_t *w8, const int16_t *w16, size_t n,
                          uint32_t *off)
{
    int32_t *tmp = malloc(n * sizeof(int32_t));
    if (!tmp)
        return lvc_error(LVC_ENOMEM, "vulkan: out of memory");
    for (size_t i = 0; i < n; i++)
        tmp[i] = w8 ? w8[i] : w16[i];
    int err = lvc_vk_param_upload(a, tmp, n, off);
    free(tmp);
    return err;
}

int lvc_vk_conv_upload(LvcVkArena *a, const LvcConvParams *p, LvcVkConv *out)
{
    int err = lvc_conv_check(p);
    if (err < 0)
        return err;
    LvcVkConv cv = {p->cin, p->h, p->w, p->cout, p->ho, p->wo, p->k, p->stride, p->pad,
                    p->groups, p->act, p->act_shift, p->bias != NULL, 0, 0, 0};
    const size_t nw = (size_t)p->cout * (size_t)(p->cin / p->groups) * (size_t)p->k * (size_t)p->k;
    if ((err = upload_widened(a, p->w8, p->w16, nw, &cv.w_off)) < 0)
        return err;
    if (p->bias && (err = lvc_vk_param_upload(a, p->bias, (size_t)p->cout, &cv.b_off)) < 0)
        return err;
    int32_t *s = malloc((size_t)p->cout * sizeof(int32_t));
    if (!s)
        return lvc_error(LVC_ENOMEM, "vulkan: out of memory");
    for (int i = 0; i < p->cout; i++)
        s[i] = p->shift[i];
    err = lvc_vk_param_upload(a, s, (size_t)p->cout, &cv.s_off);
    free(s);
    if (err < 0)
        return err;
    *out = cv;
    return 0;
}

int lvc_vk_qtable_upload(LvcVkArena *a, const int16_t *table, int c, LvcVkQTable *out)
{
    if (c < 1 || c > 65535)
        return lvc_error(LVC_EINVAL, "vulkan: q table of %d channels", c);
    out->c = c;
    return upload_widened(a, NULL, table, (size_t)64 * (size_t)c, &out->off);
}

/* The planes must be consecutive, as lvc_vk_picture_alloc makes them. */
static int check_picture(const LvcVkArena *a, const LvcVkPicture *pic, size_t bytes)
{
    if (pic->w < 1 || pic->h < 1 || pic->u_off < pic->y_off || pic->v_off < pic->u_off ||
        (size_t)pic->y_off * 4 + bytes > a->act.size)
        return lvc_error(LVC_EINVAL, "vulkan: picture outside the arena");
    return 0;
}

/* Copy plane rows between host (stride s) and staging (rows of `row` bytes). */
static void plane_copy(uint8_t *dst, ptrdiff_t ds, const uint8_t *src, ptrdiff_t ss, int w, int h)
{
    for (int y = 0; y < h; y++)
        memcpy(dst + (ptrdiff_t)y * ds, src + (ptrdiff_t)y * ss, (size_t)w);
}

int lvc_vk_picture_upload(LvcVkArena *a, const LvcVkPicture *pic, const uint8_t *py,
                          ptrdiff_t sy, const uint8_t *pu, ptrdiff_t su, const uint8_t *pv,
                          ptrdiff_t sv)
{
    const int cw = (pic->w + 1) / 2, ch = (pic->h + 1) / 2;
    const ptrdiff_t ry = 4 * ((pic->w + 3) / 4), rc = 4 * ((cw + 3) / 4);
    /* the three planes are consecutive allocations: one copy from y_off to the end of v */
    const size_t bytes = ((size_t)pic->v_off - pic->y_off) * 4 + (size_t)ch * (size_t)rc;
    int err = check_picture(a, pic, bytes);
    if (err < 0 || (err = staging_reserve(a, bytes)) < 0)
        return err;
    uint8_t *st = a->staging.map;
    memset(st, 0, bytes);
    plane_copy(st, ry, py, sy, pic->w, pic->h);
    plane_copy(st + ((size_t)pic->u_off - pic->y_off) * 4, rc, pu, su, cw, ch);
    plane_copy(st + ((size_t)pic->v_off - pic->y_off) * 4, rc, pv, sv, cw, ch);
    return transfer(a, a->act.buf, (size_t)pic->y_off * 4, bytes, 1);
}

int lvc_vk_picture_download(LvcVkArena *a, const LvcVkPicture *pic, uint8_t *py, ptrdiff_t sy,
                            uint8_t *pu, ptrdiff_t su, uint8_t *pv, ptrdiff_t sv)
{
    const int cw = (pic->w + 1) / 2, ch = (pic->h + 1) / 2;
    const ptrdiff_t ry = 4 * ((pic->w + 3) / 4), rc = 4 * ((cw + 3) / 4);
    const size_t bytes = ((size_t)pic->v_off - pic->y_off) * 4 + (size_t)ch * (size_t)rc;
    int err = check_picture(a, pic, bytes);
    if (err < 0 || (err = staging_reserve(a, bytes)) < 0 || (err = transfer(a, a->act.buf, (size_t)pic->y_off * 4, bytes, 0)) < 0)
        return err;
    const uint8_t *st = a->staging.map;
    plane_copy(py, sy, st, ry, pic->w, pic->h);
    plane_copy(pu, su, st + ((size_t)pic->u_off - pic->y_off) * 4, rc, cw, ch);
    plane_copy(pv, sv, st + ((size_t)pic->v_off - pic->y_off) * 4, rc, cw, ch);
    return 0;
}
