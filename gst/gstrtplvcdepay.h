/* rtplvcdepay: reassembles lvc frames from RTP packets (gst/README.md, "RTP payload format
 * for lvc"), discards incomplete ones and asks upstream for a key frame on loss.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef GST_RTP_LVC_DEPAY_H
#define GST_RTP_LVC_DEPAY_H

#include <gst/gst.h>
#include <gst/base/gstadapter.h>
#include <gst/rtp/gstrtpbasedepayload.h>

G_BEGIN_DECLS

#define GST_TYPE_RTP_LVC_DEPAY (gst_rtp_lvc_depay_get_type ())
G_DECLARE_FINAL_TYPE (GstRtpLvcDepay, gst_rtp_lvc_depay, GST, RTP_LVC_DEPAY,
    GstRTPBaseDepayload)

struct _GstRtpLvcDepay {
  GstRTPBaseDepayload parent;

  /* properties (object lock) */
  GstClockTime key_request_interval;
  gboolean wait_for_keyframe;

  /* from the caps */
  gchar *model_id;              /* lowercase hex, NULL when the caps have none */

  /* reassembly (streaming thread) */
  GstAdapter *adapter;          /* fragments of the frame being assembled */
  gboolean assembling;          /* a start fragment was taken, the end not yet */
  gboolean frame_key;
  guint32 frame_ts;
  gboolean have_seq;
  guint16 last_seq;
  gboolean need_key;            /* P-frames are dropped until the next key frame */
  gboolean discont;             /* the next frame out follows a loss */
  gboolean lost_pending;        /* a packet-lost event came since the last packet */
  GstPadQueryFunction base_sink_query;  /* the base class's pad functions ours wrap */
  GstPadEventFunction base_src_event;

  /* key-frame requests (object lock) */
  GstClockTime last_request;    /* running time of the last request, NONE when none */

  /* counters (object lock) */
  guint64 frames;               /* frames pushed downstream */
  guint64 key_frames;
  guint64 incomplete;           /* frames discarded because a fragment was missing */
  guint64 skipped;              /* complete P-frames dropped while waiting for a key frame */
  guint64 losses;               /* loss events detected (gaps, incomplete frames) */
  guint64 key_requests;         /* upstream force-key-unit events sent */
};

GST_ELEMENT_REGISTER_DECLARE (rtplvcdepay);

G_END_DECLS

#endif
