/* vkbench: times the Vulkan backend's two hot layer types — a 1×1 128→128 convolution (the
 * tiled GEMM shader) and a depthwise 3×3 over 128 channels (the generic conv shader) — at the
 * level-0 sizes of 1920×1080 and 3840×2160 (240×136 and 480×270), and prints GMAC/s and the
 * time per dispatch.  N dispatches ping-pong between two tensors inside one command buffer
 * (with the usual barrier between them) and are timed around one submit-and-wait.
 *
 * Usage: vkbench [-n N] [-v]   (-v: check one dispatch of each against the C kernel)
 * LVC_VULKAN_DEVICE selects the device as for the library.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "kernels.h"
#include "vulkan/vk.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

/* Time n dispatches of layer p (cin = cout) at h × w; 0 or a negative LVC_E*. */
static int bench(LvcVkContext *ctx, const char *name, int k, int groups, int h, int w, int n,
                 int verify)
{
    const int c = 128, pad = k / 2;
    const size_t nw = (size_t)c * (size_t)(c / groups) * (size_t)(k * k);
    const size_t words = lvc_vk_tensor_words(c, h, w);
    int8_t *w8 = malloc(nw);
    int32_t *bias = malloc(c * sizeof(int32_t));
    uint8_t *shift = malloc(c);
    int16_t *x = malloc((size_t)c * h * w * sizeof(int16_t));
    if (!w8 || !bias || !shift || !x)
        return lvc_error(LVC_ENOMEM, "out of memory");
    for (size_t i = 0; i < nw; i++)
        w8[i] = (int8_t)(rnd() & 0xff);
    for (int i = 0; i < c; i++) {
        bias[i] = (int32_t)(rnd() % 20001) - 10000;
        shift[i] = (uint8_t)(k == 1 ? 11 : 7);
    }
    for (size_t i = 0; i < (size_t)c * h * w; i++)
        x[i] = (int16_t)((int)(rnd() % 4001) - 2000);
    LvcConvParams p = {c, h, w, c, h, w, k, 1, pad, groups, w8, NULL, bias, shift,
                       LVC_ACT_LRELU, 3};

    LvcVkArena *a = NULL;
    LvcVkConv cv;
    LvcVkTensor t0, t1;
    int err = lvc_vk_arena_create(ctx, &a, 2 * words * 4 + 4096, nw * 4 + 8 * c + 4096);
    if (!err)
        err = lvc_vk_conv_upload(a, &p, &cv);
    if (!err)
        err = lvc_vk_tensor_alloc(a, &t0, c, h, w, 0);
    if (!err)
        err = lvc_vk_tensor_alloc(a, &t1, c, h, w, 0);
    if (!err)
        err = lvc_vk_upload(a, &t0, x);
    /* warm-up (pipeline creation, first touch of the memory) */
    if (!err)
        err = lvc_vk_begin(a);
    if (!err) {
        err = lvc_vk_record_conv(a, &cv, &t0, &t1);
        int e2 = lvc_vk_submit_wait(a);
        err = err ? err : e2;
    }
    if (!err && verify) {
        int16_t *want = malloc((size_t)c * h * w * sizeof(int16_t));
        int16_t *got = malloc((size_t)c * h * w * sizeof(int16_t));
        if (!want || !got)
            return lvc_error(LVC_ENOMEM, "out of memory");
        lvc_conv_c(want, x, &p, 0, h);
        err = lvc_vk_download(a, &t1, got);
        if (!err)
            printf("%-28s verify against C: %s\n", name,
                   memcmp(want, got, (size_t)c * h * w * sizeof(int16_t)) ? "DIFFERENT" : "equal");
        free(want);
        free(got);
    }
    double t = 0;
    if (!err)
        err = lvc_vk_begin(a);
    if (!err) {
        for (int i = 0; i < n && !err; i++)
            err = lvc_vk_record_conv(a, &cv, i % 2 ? &t1 : &t0, i % 2 ? &t0 : &t1);
        double t_start = now_s();
        int e2 = lvc_vk_submit_wait(a);
        t = now_s() - t_start;
        err = err ? err : e2;
    }
    if (!err) {
        const double macs = (double)c * (double)(c / groups) * k * k * (double)h * w;
        const double gpu = 1e-9 * (double)lvc_vk_last_gpu_ns(a);
        printf("%-24s %4dx%-4d wall %8.3f ms/dispatch %9.2f GMAC/s", name, w, h, 1e3 * t / n,
               macs * n / t * 1e-9);
        if (gpu > 0)
            printf(" | gpu %8.3f ms/dispatch %9.2f GMAC/s", 1e3 * gpu / n, macs * n / gpu * 1e-9);
        printf("  (%d dispatches)\n", n);
    }
    lvc_vk_arena_destroy(a);
    free(w8);
    free(bias);
    free(shift);
    free(x);
    return err;
}

int main(int argc, char **argv)
{
    int n = 20, verify = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-v"))
            verify = 1;
        else {
            fprintf(stderr, "usage: vkbench [-n N] [-v]\n");
            return 2;
        }
    }
    if (n < 1)
        n = 1;
    LvcVkContext *ctx;
    if (lvc_vk_context_create(&ctx) < 0) {
        fprintf(stderr, "vkbench: %s\n", lvc_last_error());
        return 1;
    }
    printf("device: %s\n", lvc_vk_device_name(ctx));
    static const struct { const char *name; int k, groups; } layers[] = {
        {"conv1x1 128->128 (gemm)", 1, 1},
        {"dw3x3 128", 3, 128},
    };
    static const int sizes[][2] = {{136, 240}, {270, 480}}; /* level 0 of 1080p and 2160p */
    int status = 0;
    for (int s = 0; s < 2; s++)
        for (int l = 0; l < 2; l++)
            if (bench(ctx, layers[l].name, layers[l].k, layers[l].groups, sizes[s][0],
                      sizes[s][1], n, verify) < 0) {
                fprintf(stderr, "vkbench: %s\n", lvc_last_error());
                status = 1;
            }
    lvc_vk_context_destroy(ctx);
    return status;
}
