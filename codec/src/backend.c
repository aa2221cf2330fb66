/* Backend choice and the log callback.  See backend.h and lvc.h ("Backends", "Log").
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "backend.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "codec.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static LvcLogCallback log_cb;
static void *log_opaque;

void lvc_set_log_callback(LvcLogCallback cb, void *opaque)
{
    pthread_mutex_lock(&log_lock);
    log_cb = cb;
    log_opaque = opaque;
    pthread_mutex_unlock(&log_lock);
}

void lvc_log(int level, const char *fmt, ...)
{
    pthread_mutex_lock(&log_lock);
    LvcLogCallback cb = log_cb;
    void *opaque = log_opaque;
    pthread_mutex_unlock(&log_lock);
    if (!cb)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cb(opaque, level, msg);
}

#ifndef LVC_HAVE_VULKAN
int lvc_vulkan_device_adopt(const LvcVulkanHandles *h, LvcVulkanDevice **out)
{
    (void)h;
    if (out)
        *out = NULL;
    return lvc_error(LVC_EUNSUPPORTED, "liblvc was built without the Vulkan backend");
}

void lvc_vulkan_device_unref(LvcVulkanDevice *dev) { (void)dev; }

const char *lvc_vulkan_device_name(const LvcVulkanDevice *dev)
{
    (void)dev;
    return "";
}
#endif

int lvc_backend_attach(LvcCodec *c, int requested, LvcVulkanDevice *app, const char *who)
{
    if (requested != LVC_BACKEND_AUTO && requested != LVC_BACKEND_CPU &&
        requested != LVC_BACKEND_VULKAN)
        return lvc_error(LVC_EINVAL, "%s: unknown backend %d", who, requested);
    if (requested == LVC_BACKEND_CPU)
        return LVC_BACKEND_CPU;
#ifdef LVC_HAVE_VULKAN
    LvcVulkanDevice *dev = NULL;
    int r = 0;
    if (app)
        dev = lvc_vulkan_device_ref(app);
    else
        r = lvc_vulkan_default_device(&dev, requested == LVC_BACKEND_AUTO);
    if (r == 0) {
        r = lvc_codec_use_gpu(c, dev);
        if (r == 0)
            lvc_log(LVC_LOG_INFO, "%s: Vulkan backend on %s", who, lvc_vulkan_device_name(dev));
        lvc_vulkan_device_unref(dev);
    }
    if (r == 0)
        return LVC_BACKEND_VULKAN;
    if (requested == LVC_BACKEND_VULKAN)
        lvc_log(LVC_LOG_WARNING, "%s: the Vulkan backend is not usable, using the CPU: %s", who,
                lvc_last_error());
    else
        lvc_log(LVC_LOG_INFO, "%s: CPU backend (%s)", who, lvc_last_error());
#else
    (void)c;
    (void)app;
    if (requested == LVC_BACKEND_VULKAN)
        lvc_log(LVC_LOG_WARNING, "%s: liblvc was built without the Vulkan backend, using the CPU",
                who);
#endif
    lvc_error_clear();
    return LVC_BACKEND_CPU;
}
