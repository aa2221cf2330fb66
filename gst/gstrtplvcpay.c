/* rtplvcpay: lvc frames (video/x-lvc, elementary, one frame per buffer) into RTP packets.
 *
 * The payload format is described in gst/README.md ("RTP payload format for lvc"): every
 * payload starts with a one-byte header (S start, E end, K key frame), a frame is split into
 * as many packets as the MTU needs, all of them with the frame's timestamp, and the marker bit
 * is set on a frame's last packet.  Key frames carry the sequence header in-band; a key frame
 * that comes without one gets the caps' codec_data put in front of it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/rtp/gstrtpbuffer.h>
#include <gst/video/video.h>

#include "gstlvccommon.h"
#include "gstrtplvcpay.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtp_lvc_pay_debug);
#define GST_CAT_DEFAULT gst_rtp_lvc_pay_debug

enum {
  PROP_0,
  PROP_STATS,
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-lvc, stream-format = (string) elementary, "
        "alignment = (string) frame, profile = (string) lvc-s"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-rtp, media = (string) video, "
        "payload = (int) [ 96, 127 ], clock-rate = (int) 90000, "
        "encoding-name = (string) LVC"));

#define gst_rtp_lvc_pay_parent_class parent_class
G_DEFINE_TYPE (GstRtpLvcPay, gst_rtp_lvc_pay, GST_TYPE_RTP_BASE_PAYLOAD);
GST_ELEMENT_REGISTER_DEFINE (rtplvcpay, "rtplvcpay", GST_RANK_SECONDARY, GST_TYPE_RTP_LVC_PAY);

/* TRUE when s is 32 hexadecimal digits (a model id as the caps and the fmtp write it). */
static GstStructure *
make_stats (GstRtpLvcPay * self)
{
  GstStructure *s;

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-rtplvcpay-stats",
      "frames", G_TYPE_UINT64, self->frames,
      "key-frames", G_TYPE_UINT64, self->key_frames,
      "packets", G_TYPE_UINT64, self->packets,
      "sh-inserted", G_TYPE_UINT64, self->sh_inserted,
      "key-requests", G_TYPE_UINT64, self->key_requests, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_rtp_lvc_pay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstRtpLvcPay *self = GST_RTP_LVC_PAY (object);

  switch (prop_id) {
    case PROP_STATS:
      g_value_take_boxed (value, make_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_rtp_lvc_pay_finalize (GObject * object)
{
  GstRtpLvcPay *self = GST_RTP_LVC_PAY (object);

  gst_clear_buffer (&self->codec_data);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* What upstream may send: the sink template narrowed to the model ids and profiles that
 * downstream's RTP caps allow (the fmtp of a remote description, say). */
static GstCaps *
gst_rtp_lvc_pay_get_caps (GstRTPBasePayload * pay, GstPad * pad, GstCaps * filter)
{
  GstCaps *templ = gst_pad_get_pad_template_caps (pad);
  GstCaps *peer = gst_pad_peer_query_caps (GST_RTP_BASE_PAYLOAD_SRCPAD (pay), NULL);
  GstCaps *res;

  if (peer && !gst_caps_is_any (peer)) {
    GstCaps *allowed = gst_caps_new_empty ();
    for (guint i = 0; i < gst_caps_get_size (peer); i++) {
      const GstStructure *ps = gst_caps_get_structure (peer, i);
      GstStructure *s = gst_structure_new_empty ("video/x-lvc");
      const GValue *v;
      if ((v = gst_structure_get_value (ps, "model-id")))
        gst_structure_set_value (s, "model-id", v);
      if ((v = gst_structure_get_value (ps, "profile")))
        gst_structure_set_value (s, "profile", v);
      allowed = gst_caps_merge_structure (allowed, s);
    }
    res = gst_caps_intersect (templ, allowed);
    gst_caps_unref (allowed);
    gst_caps_unref (templ);
  } else {
    res = templ;
  }
  if (peer)
    gst_caps_unref (peer);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, res, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (res);
    res = tmp;
  }
  return res;
}

static gboolean
gst_rtp_lvc_pay_set_caps (GstRTPBasePayload * pay, GstCaps * caps)
{
  GstRtpLvcPay *self = GST_RTP_LVC_PAY (pay);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const GValue *cd = gst_structure_get_value (s, "codec_data");
  const gchar *id = gst_structure_get_string (s, "model-id");
  const gchar *profile = gst_structure_get_string (s, "profile");
  GstLvcSeqInfo seq;
  gboolean have_seq = FALSE;
  gchar *model_id;
  gboolean ok;

  gst_clear_buffer (&self->codec_data);
  if (cd && G_VALUE_HOLDS (cd, GST_TYPE_BUFFER)) {
    GstBuffer *b = gst_value_get_buffer (cd);
    GstMapInfo map;
    if (b && gst_buffer_map (b, &map, GST_MAP_READ)) {
      have_seq = gst_lvc_seq_parse (map.data, map.size, &seq);
      gst_buffer_unmap (b, &map);
    }
    if (have_seq)
      self->codec_data = gst_buffer_ref (b);
    else
      GST_WARNING_OBJECT (self, "codec_data is not an lvc sequence header; ignored");
  }
  if (profile && strcmp (profile, "lvc-s") != 0) {
    GST_WARNING_OBJECT (self, "profile %s is not lvc-s", profile);
    return FALSE;
  }
  if (id && !gst_lvc_model_id_valid (id)) {
    GST_WARNING_OBJECT (self, "model-id %s is not 32 hex digits", id);
    return FALSE;
  }
  if (!id && !have_seq) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("No lvc model id in the caps"),
        ("the caps %" GST_PTR_FORMAT " have neither model-id nor codec_data", caps));
    return FALSE;
  }
  model_id = g_ascii_strdown (id ? id : seq.model_id_hex, -1);
  if (id && have_seq && strcmp (model_id, seq.model_id_hex) != 0) {
    GST_WARNING_OBJECT (self, "model-id %s and codec_data (%s) disagree", model_id,
        seq.model_id_hex);
    g_free (model_id);
    return FALSE;
  }
  gst_rtp_base_payload_set_options (pay, "video", TRUE, "LVC", GST_RTP_LVC_CLOCK_RATE);
  ok = gst_rtp_base_payload_set_outcaps (pay, "model-id", G_TYPE_STRING, model_id,
      "profile", G_TYPE_STRING, "lvc-s", NULL);
  if (!ok)
    GST_WARNING_OBJECT (self, "downstream refuses model-id %s, profile lvc-s", model_id);
  g_free (model_id);
  return ok;
}

static GstFlowReturn
gst_rtp_lvc_pay_handle_buffer (GstRTPBasePayload * pay, GstBuffer * buffer)
{
  GstRtpLvcPay *self = GST_RTP_LVC_PAY (pay);
  GstBuffer *frame = buffer;
  GstBufferList *list;
  GstMapInfo map;
  gboolean key, iframe_bare;
  gsize size, max, off;
  guint n = 0;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  size = map.size;
  key = gst_lvc_packet_is_key (map.data, map.size);
  /* an I-frame unit (bit 7 set, type bit 0) without its sequence header in front */
  iframe_bare = size > 0 && (map.data[0] & 0xC0) == 0x80;
  gst_buffer_unmap (buffer, &map);
  if (size == 0) {
    GST_WARNING_OBJECT (self, "empty buffer dropped");
    gst_buffer_unref (buffer);
    return GST_FLOW_OK;
  }
  if (iframe_bare) {
    if (!self->codec_data) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("lvc key frame without a sequence header"),
          ("an I-frame came without its sequence header and the caps have no codec_data"));
      gst_buffer_unref (buffer);
      return GST_FLOW_ERROR;
    }
    frame = gst_buffer_copy (self->codec_data);
    gst_buffer_copy_into (frame, buffer, GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS,
        0, (gsize) - 1);
    frame = gst_buffer_append (frame, buffer);
    size = gst_buffer_get_size (frame);
    key = TRUE;
    GST_OBJECT_LOCK (self);
    self->sh_inserted++;
    GST_OBJECT_UNLOCK (self);
  }

  max = gst_rtp_buffer_calc_payload_len (GST_RTP_BASE_PAYLOAD_MTU (pay), 0, 0);
  if (max <= GST_RTP_LVC_HDR_SIZE) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("MTU %u is too small",
            GST_RTP_BASE_PAYLOAD_MTU (pay)), (NULL));
    gst_buffer_unref (frame);
    return GST_FLOW_ERROR;
  }
  max -= GST_RTP_LVC_HDR_SIZE;

  list = gst_buffer_list_new_sized ((guint) ((size + max - 1) / max));
  for (off = 0; off < size; off += max) {
    gsize len = MIN (max, size - off);
    gboolean last = off + len == size;
    GstBuffer *out = gst_rtp_base_payload_allocate_output_buffer (pay, GST_RTP_LVC_HDR_SIZE,
        0, 0);
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    guint8 *hdr;

    if (!gst_rtp_buffer_map (out, GST_MAP_WRITE, &rtp)) {
      gst_buffer_unref (out);
      gst_buffer_list_unref (list);
      gst_buffer_unref (frame);
      return GST_FLOW_ERROR;
    }
    hdr = gst_rtp_buffer_get_payload (&rtp);
    hdr[0] = (guint8) ((off == 0 ? GST_RTP_LVC_HDR_S : 0) | (last ? GST_RTP_LVC_HDR_E : 0) |
        (key ? GST_RTP_LVC_HDR_K : 0));
    gst_rtp_buffer_set_marker (&rtp, last);
    gst_rtp_buffer_unmap (&rtp);
    /* the fragment's bytes are shared with the frame, not copied */
    gst_buffer_copy_into (out, frame, GST_BUFFER_COPY_MEMORY, off, len);
    GST_BUFFER_PTS (out) = GST_BUFFER_PTS (frame);
    GST_BUFFER_DTS (out) = GST_BUFFER_DTS (frame);
    if (!key)
      GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DELTA_UNIT);
    gst_buffer_list_add (list, out);
    n++;
  }
  GST_LOG_OBJECT (self, "%s frame of %" G_GSIZE_FORMAT " bytes in %u packets",
      key ? "key" : "delta", size, n);
  GST_OBJECT_LOCK (self);
  self->frames++;
  self->key_frames += key ? 1 : 0;
  self->packets += n;
  GST_OBJECT_UNLOCK (self);
  gst_buffer_unref (frame);
  return gst_rtp_base_payload_push_list (pay, list);
}

/* Key-frame requests from downstream (rtpsession turns a PLI or FIR into one) go up to the
 * encoder. */
static gboolean
gst_rtp_lvc_pay_src_event (GstRTPBasePayload * pay, GstEvent * event)
{
  GstRtpLvcPay *self = GST_RTP_LVC_PAY (pay);

  if (gst_video_event_is_force_key_unit (event)) {
    GST_DEBUG_OBJECT (self, "key frame requested downstream: %" GST_PTR_FORMAT, event);
    GST_OBJECT_LOCK (self);
    self->key_requests++;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_RTP_BASE_PAYLOAD_CLASS (parent_class)->src_event (pay, event);
}

static void
gst_rtp_lvc_pay_class_init (GstRtpLvcPayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstRTPBasePayloadClass *pay_class = GST_RTP_BASE_PAYLOAD_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_rtp_lvc_pay_debug, "rtplvcpay", 0, "lvc RTP payloader");

  gobject_class->get_property = gst_rtp_lvc_pay_get_property;
  gobject_class->finalize = gst_rtp_lvc_pay_finalize;

  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "frames, key-frames, packets, sh-inserted (key frames that got the caps' sequence "
          "header put in front), key-requests (force-key-unit events passed upstream)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTP lvc payloader",
      "Codec/Payloader/Network/RTP",
      "Packs lvc video frames into RTP packets (fragmented to the MTU)", "The lvc authors");

  pay_class->get_caps = GST_DEBUG_FUNCPTR (gst_rtp_lvc_pay_get_caps);
  pay_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtp_lvc_pay_set_caps);
  pay_class->handle_buffer = GST_DEBUG_FUNCPTR (gst_rtp_lvc_pay_handle_buffer);
  pay_class->src_event = GST_DEBUG_FUNCPTR (gst_rtp_lvc_pay_src_event);
}

static void
gst_rtp_lvc_pay_init (GstRtpLvcPay * self)
{
  self->codec_data = NULL;
}
