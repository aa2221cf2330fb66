/* The lvc GStreamer plugin: lvcenc, lvcdec, lvcparse and a typefinder for .lvc files.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/gst.h>

#include <lvc/lvc.h>

#include "gstlvc.h"
#include "gstlvcdec.h"
#include "gstlvcenc.h"
#include "gstlvcmux.h"
#include "gstlvcparse.h"
#include "gstrtplvcdepay.h"
#include "gstrtplvcpay.h"

static void
lvc_type_find (GstTypeFind * tf, gpointer user_data)
{
  const guint8 *d = gst_type_find_peek (tf, 0, 8);

  (void) user_data;
  /* "LVCF", version 1, header size >= 32 */
  if (d && memcmp (d, "LVCF", 4) == 0 && d[4] == 1 && d[5] == 0 && (d[6] | (d[7] << 8)) >= 32)
    gst_type_find_suggest_simple (tf, GST_TYPE_FIND_MAXIMUM, "video/x-lvc",
        "stream-format", G_TYPE_STRING, "lvc-file", NULL);
}

/* liblvc's warnings (a backend falling back to the CPU) into the GStreamer log */
GST_DEBUG_CATEGORY_STATIC (lvc_lib_debug);

static void
lvc_lib_log (void *opaque, int level, const char *msg)
{
  (void) opaque;
  if (level <= LVC_LOG_WARNING)
    GST_CAT_WARNING (lvc_lib_debug, "%s", msg);
  else
    GST_CAT_INFO (lvc_lib_debug, "%s", msg);
}

gboolean
gst_lvc_plugin_init (GstPlugin * plugin)
{
  gboolean ok = TRUE;
  GstCaps *caps = gst_caps_from_string ("video/x-lvc, stream-format = (string) lvc-file");

  GST_DEBUG_CATEGORY_INIT (lvc_lib_debug, "lvclib", 0, "liblvc messages");
  lvc_set_log_callback (lvc_lib_log, NULL);
  ok &= gst_type_find_register (plugin, "video/x-lvc", GST_RANK_PRIMARY, lvc_type_find,
      "lvc", caps, NULL, NULL);
  gst_caps_unref (caps);
  ok &= GST_ELEMENT_REGISTER (lvcenc, plugin);
  ok &= GST_ELEMENT_REGISTER (lvcdec, plugin);
  ok &= GST_ELEMENT_REGISTER (lvcparse, plugin);
  ok &= GST_ELEMENT_REGISTER (lvcmux, plugin);
  ok &= GST_ELEMENT_REGISTER (rtplvcpay, plugin);
  ok &= GST_ELEMENT_REGISTER (rtplvcdepay, plugin);
  return ok;
}

#ifndef GST_LVC_STATIC
GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, lvc,
    "lvc learned video codec: encoder, decoder and .lvc parser",
    gst_lvc_plugin_init, PACKAGE_VERSION, "LGPL", PACKAGE, PACKAGE_ORIGIN)
#endif
