/* An application's own Vulkan device, for the tests of device adoption: an instance, the first
 * physical device, a logical device with one queue of the first compute-capable family.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_TESTS_VK_APP_DEVICE_H
#define LVC_TESTS_VK_APP_DEVICE_H

#include <vulkan/vulkan.h>

#include "check.h"

typedef struct AppDevice {
    VkInstance instance;
    VkPhysicalDevice physical;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
} AppDevice;

/* 0 when created (destroy with app_device_destroy), -1 after a failed CHECK. */
static inline int app_device_create(AppDevice *a)
{
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .apiVersion = VK_API_VERSION_1_0};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pApplicationInfo = &app};
    CHECK(vkCreateInstance(&ici, NULL, &a->instance) == VK_SUCCESS, "instance");
    VkPhysicalDevice pd[16];
    uint32_t n = 16;
    vkEnumeratePhysicalDevices(a->instance, &n, pd);
    CHECK(n > 0, "no device");
    if (n == 0) {
        vkDestroyInstance(a->instance, NULL);
        return -1;
    }
    a->physical = pd[0];
    VkQueueFamilyProperties fam[16];
    uint32_t nf = 16, qf = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(a->physical, &nf, fam);
    while (qf < nf && !(fam[qf].queueFlags & VK_QUEUE_COMPUTE_BIT))
        qf++;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = qf, .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
    CHECK(vkCreateDevice(a->physical, &dci, NULL, &a->device) == VK_SUCCESS, "device");
    vkGetDeviceQueue(a->device, qf, 0, &a->queue);
    a->queue_family = qf;
    return 0;
}

static inline void app_device_destroy(AppDevice *a)
{
    vkDestroyDevice(a->device, NULL);
    vkDestroyInstance(a->instance, NULL);
}

#endif
