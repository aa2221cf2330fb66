/* lvcparse: frames .lvc files (and elementary lvc frames) for lvcdec.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef GST_LVC_PARSE_H
#define GST_LVC_PARSE_H

#include <gst/gst.h>
#include <gst/base/gstbaseparse.h>

G_BEGIN_DECLS

#define GST_TYPE_LVC_PARSE (gst_lvc_parse_get_type ())
G_DECLARE_FINAL_TYPE (GstLvcParse, gst_lvc_parse, GST, LVC_PARSE, GstBaseParse)

struct _GstLvcParse {
  GstBaseParse parent;

  gboolean elementary;          /* input is elementary frames, not an .lvc file */
  gboolean have_file_header;
  guint header_size;
  gint width, height;
  guint32 tb_num, tb_den;
  guint32 frame_count;
  guint64 duration_ticks;
  gboolean indexed;             /* key frames of the whole file are in the index */
  GstClockTime scanned_duration;

  guint8 *sh;                   /* the sequence header the source caps describe */
  gsize sh_size;
  gboolean seen_key;            /* nothing goes out before the first key frame */
  gboolean resyncing;
  guint32 max_frame;            /* largest frame seen, bounds resync candidates */
  guint64 resyncs;              /* times sync was lost and found */
  guint64 skipped_bytes;
  guint bitrate;                /* bit/s of the whole file (pull mode), 0 unknown */
};

GST_ELEMENT_REGISTER_DECLARE (lvcparse);

G_END_DECLS

#endif
