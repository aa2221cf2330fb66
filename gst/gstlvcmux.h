/* lvcmux: writes elementary lvc frames into an .lvc file (codec/FORMAT.md §4).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef GST_LVC_MUX_H
#define GST_LVC_MUX_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_LVC_MUX (gst_lvc_mux_get_type ())
G_DECLARE_FINAL_TYPE (GstLvcMux, gst_lvc_mux, GST, LVC_MUX, GstElement)

struct _GstLvcMux {
  GstElement parent;

  GstPad *sinkpad, *srcpad;

  /* from the caps of the first sequence */
  gint width, height;
  guint32 tb_num, tb_den;       /* seconds per tick = num / den */
  gboolean have_caps;

  gboolean header_sent;         /* the file header (and a byte segment) went out */
  guint64 offset;               /* bytes pushed so far */
  guint32 frames;
  gint64 first_ticks, end_ticks;  /* -1 before the first frame */
};

GST_ELEMENT_REGISTER_DECLARE (lvcmux);

G_END_DECLS

#endif
