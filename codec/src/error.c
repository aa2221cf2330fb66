/* Error codes, per-thread messages and the version string.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"
#include "lvc_config.h"

static _Thread_local char last_error[512];

int lvc_error(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return err;
}

void lvc_error_clear(void) { last_error[0] = 0; }

const char *lvc_last_error(void) { return last_error; }

const char *lvc_version(void) { return LVC_VERSION_STRING; }

const char *lvc_strerror(int err)
{
    switch (err) {
    case LVC_OK: return "success";
    case LVC_EAGAIN: return "resource temporarily unavailable (drain output or send input)";
    case LVC_EOF: return "end of stream";
    case LVC_EINVAL: return "invalid argument";
    case LVC_ENOMEM: return "out of memory or size limit exceeded";
    case LVC_EDATA: return "invalid or damaged data";
    case LVC_EMODEL: return "invalid model file";
    case LVC_ENOMODEL: return "model not installed";
    case LVC_EUNSUPPORTED: return "unsupported feature or version";
    case LVC_EIO: return "input/output error";
    case LVC_ENOREF: return "missing reference frame";
    default: return "unknown error";
    }
}
