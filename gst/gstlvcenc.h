/* lvcenc: the lvc video encoder element.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef GST_LVC_ENC_H
#define GST_LVC_ENC_H

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideoencoder.h>

#include <lvc/lvc.h>

G_BEGIN_DECLS

#define GST_TYPE_LVC_ENC (gst_lvc_enc_get_type ())
G_DECLARE_FINAL_TYPE (GstLvcEnc, gst_lvc_enc, GST, LVC_ENC, GstVideoEncoder)

struct _GstLvcEnc {
  GstVideoEncoder parent;

  /* properties (object lock) */
  gint qp;
  gint bitrate;                 /* kbit/s */
  gboolean bitrate_changed;
  gint vbv_ms;
  gint key_int_max;
  gint refresh_period;
  gint backend;
  gint threads;
  gchar *model_path;

  /* streaming state */
  LvcModel *model;              /* from the model cache */
  LvcEncoder *enc;
  GstVideoCodecState *input_state;
  gboolean rc_warned;           /* rate control unsupported: warned once */
  gint applied_bitrate;
  gboolean open_error_posted;

  /* .lvc file output (stream-format=lvc-file) */
  gboolean format_decided;
  gboolean file_mode;
  gboolean file_header_sent;
  guint32 tb_num, tb_den;
  guint32 file_frames;
  gint64 first_ticks, end_ticks;
  gint file_width, file_height;

  /* statistics (object lock) */
  guint64 st_frames, st_key_frames, st_qp_sum, st_bytes;
  GstClockTime st_duration;
  guint st_last_bytes;
  gdouble st_encode_ms;
  gint st_fps_n, st_fps_d;
};

GST_ELEMENT_REGISTER_DECLARE (lvcenc);

G_END_DECLS

#endif
