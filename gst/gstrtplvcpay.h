/* rtplvcpay: packs lvc frames (video/x-lvc, elementary) into RTP packets (gst/README.md,
 * "RTP payload format for lvc").
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef GST_RTP_LVC_PAY_H
#define GST_RTP_LVC_PAY_H

#include <gst/gst.h>
#include <gst/rtp/gstrtpbasepayload.h>

G_BEGIN_DECLS

/* The one-byte payload header that starts every lvc RTP payload. */
#define GST_RTP_LVC_HDR_SIZE 1
#define GST_RTP_LVC_HDR_S 0x80  /* first fragment of a frame */
#define GST_RTP_LVC_HDR_E 0x40  /* last fragment of a frame */
#define GST_RTP_LVC_HDR_K 0x20  /* the frame is a key frame */
#define GST_RTP_LVC_CLOCK_RATE 90000

#define GST_TYPE_RTP_LVC_PAY (gst_rtp_lvc_pay_get_type ())
G_DECLARE_FINAL_TYPE (GstRtpLvcPay, gst_rtp_lvc_pay, GST, RTP_LVC_PAY, GstRTPBasePayload)

struct _GstRtpLvcPay {
  GstRTPBasePayload parent;

  GstBuffer *codec_data;        /* sequence header from the caps, NULL when none */
  /* counters (object lock) */
  guint64 frames;
  guint64 key_frames;
  guint64 packets;
  guint64 sh_inserted;          /* key frames that lacked the in-band header */
  guint64 key_requests;         /* force-key-unit events passed upstream */
};

GST_ELEMENT_REGISTER_DECLARE (rtplvcpay);

G_END_DECLS

#endif
