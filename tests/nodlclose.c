/* Preloaded by test_leaks.sh into the tool and by .ci/run into the sanitizer tests: dlclose
 * does nothing.  Vulkan drivers the loader opens while liblvc probes for a device (Mesa's
 * lavapipe among them) keep process-wide state in their globals and do not free it before they
 * are unloaded; unloaded, that state looks leaked to LeakSanitizer and cannot even be named.
 * Kept mapped until exit it is reachable, and anything else a driver allocated on liblvc's
 * behalf and that nobody references is still reported.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
