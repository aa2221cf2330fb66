/* The lvc GStreamer plugin's registration function (also used by the tests, which register
 * the elements statically).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef GST_LVC_H
#define GST_LVC_H

#include <gst/gst.h>

G_BEGIN_DECLS

gboolean gst_lvc_plugin_init (GstPlugin * plugin);

G_END_DECLS

#endif
