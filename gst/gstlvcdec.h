/* lvcdec: the lvc video decoder element.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef GST_LVC_DEC_H
#define GST_LVC_DEC_H

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideodecoder.h>

#include "gstlvccommon.h"

G_BEGIN_DECLS

#define GST_TYPE_LVC_DEC (gst_lvc_dec_get_type ())
G_DECLARE_FINAL_TYPE (GstLvcDec, gst_lvc_dec, GST, LVC_DEC, GstVideoDecoder)

struct _GstLvcDec {
  GstVideoDecoder parent;

  /* properties (object lock) */
  gint backend;
  gint threads;
  gchar *model_path;

  /* streaming state */
  LvcModel *model;              /* from the model cache */
  guint8 model_id[LVC_MODEL_ID_SIZE];
  LvcDecoder *dec;
  GstVideoCodecState *input_state;
  GstLvcSeqInfo seq;            /* the sequence the output state describes */
  gboolean have_seq;
  gboolean need_key;            /* dropping until the next key frame */
  gint64 last_key_request;      /* monotonic µs of the last upstream request, -1 none */
  guint64 damaged;              /* frames dropped as damaged */
  guint key_requests;           /* upstream force-key-unit events sent */
  guint64 qos_dropped;          /* late frames decoded as references only and dropped */
  guint64 frames_out;           /* pictures output */
};

GST_ELEMENT_REGISTER_DECLARE (lvcdec);

G_END_DECLS

#endif
