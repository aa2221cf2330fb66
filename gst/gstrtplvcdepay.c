/* rtplvcdepay: lvc frames from RTP packets (gst/README.md, "RTP payload format for lvc").
 *
 * Fragments are collected from a start (S) to an end (E) fragment with consecutive sequence
 * numbers and one timestamp; a frame with a missing fragment is discarded whole.  After a
 * loss the element drops P-frames until the next key frame (property wait-for-keyframe) and
 * asks upstream for a key frame with a force-key-unit event, at most once per
 * key-request-interval; in rtpbin, rtpsession sends that request to the sender as a PLI.
 * Key-frame requests coming from downstream (lvcdec) go through the same throttle.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/rtp/gstrtpbuffer.h>
#include <gst/video/video.h>

#include "gstlvccommon.h"
#include "gstrtplvcdepay.h"
#include "gstrtplvcpay.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtp_lvc_depay_debug);
#define GST_CAT_DEFAULT gst_rtp_lvc_depay_debug

enum {
  PROP_0,
  PROP_KEY_REQUEST_INTERVAL,
  PROP_WAIT_FOR_KEYFRAME,
  PROP_STATS,
};

#define DEFAULT_KEY_REQUEST_INTERVAL_MS 300
#define DEFAULT_WAIT_FOR_KEYFRAME TRUE

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-rtp, media = (string) video, "
        "clock-rate = (int) 90000, encoding-name = (string) LVC"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-lvc, stream-format = (string) elementary, "
        "alignment = (string) frame, profile = (string) lvc-s"));

#define gst_rtp_lvc_depay_parent_class parent_class
G_DEFINE_TYPE (GstRtpLvcDepay, gst_rtp_lvc_depay, GST_TYPE_RTP_BASE_DEPAYLOAD);
GST_ELEMENT_REGISTER_DEFINE (rtplvcdepay, "rtplvcdepay", GST_RANK_SECONDARY,
    GST_TYPE_RTP_LVC_DEPAY);

static GstStructure *
make_stats (GstRtpLvcDepay * self)
{
  GstStructure *s;

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-rtplvcdepay-stats",
      "frames", G_TYPE_UINT64, self->frames,
      "key-frames", G_TYPE_UINT64, self->key_frames,
      "incomplete", G_TYPE_UINT64, self->incomplete,
      "skipped", G_TYPE_UINT64, self->skipped,
      "losses", G_TYPE_UINT64, self->losses,
      "key-requests", G_TYPE_UINT64, self->key_requests, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_rtp_lvc_depay_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_KEY_REQUEST_INTERVAL:
      self->key_request_interval = g_value_get_uint (value) * GST_MSECOND;
      break;
    case PROP_WAIT_FOR_KEYFRAME:
      self->wait_for_keyframe = g_value_get_boolean (value);
      if (!self->wait_for_keyframe)
        self->need_key = FALSE;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_rtp_lvc_depay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (object);

  switch (prop_id) {
    case PROP_KEY_REQUEST_INTERVAL:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, (guint) (self->key_request_interval / GST_MSECOND));
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_WAIT_FOR_KEYFRAME:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->wait_for_keyframe);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, make_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
reset (GstRtpLvcDepay * self)
{
  gst_adapter_clear (self->adapter);
  self->assembling = FALSE;
  self->have_seq = FALSE;
  self->lost_pending = FALSE;
  self->discont = TRUE;
  GST_OBJECT_LOCK (self);
  /* a receiver that joins a stream waits for its first key frame */
  self->need_key = self->wait_for_keyframe;
  self->last_request = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK (self);
}

static void
reset_counters (GstRtpLvcDepay * self)
{
  GST_OBJECT_LOCK (self);
  self->frames = self->key_frames = self->incomplete = self->skipped = 0;
  self->losses = self->key_requests = 0;
  GST_OBJECT_UNLOCK (self);
}

/* Running time of the element's clock; the monotonic clock when it has none. */
static GstClockTime
now_time (GstRtpLvcDepay * self)
{
  GstClockTime t = gst_element_get_current_running_time (GST_ELEMENT (self));

  if (GST_CLOCK_TIME_IS_VALID (t))
    return t;
  return (GstClockTime) g_get_monotonic_time () * GST_USECOND;
}

/* Ask upstream for a key frame, unless the last request is less than key-request-interval
 * ago.  reason is for the debug log. */
static void
request_key_frame (GstRtpLvcDepay * self, const gchar * reason)
{
  GstClockTime now = now_time (self);
  gboolean send = FALSE;

  GST_OBJECT_LOCK (self);
  if (!GST_CLOCK_TIME_IS_VALID (self->last_request) || now < self->last_request ||
      now - self->last_request >= self->key_request_interval) {
    self->last_request = now;
    self->key_requests++;
    send = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  if (!send) {
    GST_LOG_OBJECT (self, "key frame request (%s) throttled", reason);
    return;
  }
  GST_DEBUG_OBJECT (self, "requesting a key frame upstream (%s)", reason);
  /* all-headers FALSE: rtpsession sends a PLI (key frames carry their header anyway) */
  gst_pad_push_event (GST_RTP_BASE_DEPAYLOAD_SINKPAD (self),
      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, FALSE, 0));
}

/* Drop the frame being assembled, if any; TRUE when there was one. */
static gboolean
discard_frame (GstRtpLvcDepay * self)
{
  if (!self->assembling)
    return FALSE;
  GST_DEBUG_OBJECT (self, "incomplete frame (ts %u, %" G_GSIZE_FORMAT " bytes) discarded",
      self->frame_ts, gst_adapter_available (self->adapter));
  gst_adapter_clear (self->adapter);
  self->assembling = FALSE;
  GST_OBJECT_LOCK (self);
  self->incomplete++;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* A loss: the frame being assembled is gone, later P-frames lack a reference. */
static void
on_loss (GstRtpLvcDepay * self, const gchar * why)
{
  gboolean wait;

  discard_frame (self);
  self->discont = TRUE;
  GST_OBJECT_LOCK (self);
  self->losses++;
  wait = self->wait_for_keyframe;
  if (wait)
    self->need_key = TRUE;
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "loss: %s", why);
  request_key_frame (self, why);
}

static gboolean
gst_rtp_lvc_depay_set_caps (GstRTPBaseDepayload * depay, GstCaps * caps)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (depay);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const gchar *id = gst_structure_get_string (s, "model-id");
  const gchar *profile = gst_structure_get_string (s, "profile");
  GstCaps *srccaps;
  gboolean ok;

  if (profile && strcmp (profile, "lvc-s") != 0) {
    GST_WARNING_OBJECT (self, "profile %s is not lvc-s", profile);
    return FALSE;
  }
  if (id && !gst_lvc_model_id_valid (id)) {
    GST_WARNING_OBJECT (self, "model-id %s is not 32 hex digits", id);
    return FALSE;
  }
  g_free (self->model_id);
  self->model_id = id ? g_ascii_strdown (id, -1) : NULL;
  srccaps = gst_caps_new_simple ("video/x-lvc",
      "stream-format", G_TYPE_STRING, "elementary",
      "alignment", G_TYPE_STRING, "frame", "profile", G_TYPE_STRING, "lvc-s", NULL);
  if (self->model_id)
    gst_caps_set_simple (srccaps, "model-id", G_TYPE_STRING, self->model_id, NULL);
  ok = gst_pad_set_caps (GST_RTP_BASE_DEPAYLOAD_SRCPAD (depay), srccaps);
  if (!ok)
    GST_WARNING_OBJECT (self, "downstream refuses %" GST_PTR_FORMAT, srccaps);
  gst_caps_unref (srccaps);
  return ok;
}

/* Checks a reassembled key frame against the negotiated model id. */
static gboolean
key_frame_matches_caps (GstRtpLvcDepay * self, GstBuffer * frame)
{
  GstLvcSeqInfo seq;
  GstMapInfo map;
  gboolean parsed;

  if (!self->model_id)
    return TRUE;
  if (!gst_buffer_map (frame, &map, GST_MAP_READ))
    return FALSE;
  parsed = gst_lvc_seq_parse (map.data, map.size, &seq);
  gst_buffer_unmap (frame, &map);
  /* a damaged header is left to the decoder */
  if (!parsed || strcmp (seq.model_id_hex, self->model_id) == 0)
    return TRUE;
  GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
      ("The lvc stream uses model %s, but model-id=%s was negotiated", seq.model_id_hex,
          self->model_id), (NULL));
  return FALSE;
}

/* The frame in the adapter is complete: hand it out, or drop it while waiting for a key
 * frame. */
static GstBuffer *
finish_frame (GstRtpLvcDepay * self)
{
  gsize size = gst_adapter_available (self->adapter);
  gboolean key = self->frame_key;
  gboolean waiting;
  GstBuffer *out;

  self->assembling = FALSE;
  if (size == 0) {
    GST_WARNING_OBJECT (self, "empty frame dropped");
    return NULL;
  }
  out = gst_adapter_take_buffer (self->adapter, size);
  if (key && !key_frame_matches_caps (self, out)) {
    gst_buffer_unref (out);
    return NULL;
  }
  GST_OBJECT_LOCK (self);
  if (key)
    self->need_key = FALSE;
  waiting = self->need_key;
  if (waiting)
    self->skipped++;
  GST_OBJECT_UNLOCK (self);
  if (waiting) {
    GST_DEBUG_OBJECT (self, "waiting for a key frame: P-frame (ts %u) dropped",
        self->frame_ts);
    gst_buffer_unref (out);
    /* repeated while waiting, so a lost key frame is asked for again */
    request_key_frame (self, "waiting for a key frame");
    return NULL;
  }
  if (key)
    GST_BUFFER_FLAG_UNSET (out, GST_BUFFER_FLAG_DELTA_UNIT);
  else
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DELTA_UNIT);
  if (self->discont) {
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->frames++;
  self->key_frames += key ? 1 : 0;
  GST_OBJECT_UNLOCK (self);
  return out;
}

static GstBuffer *
gst_rtp_lvc_depay_process_rtp_packet (GstRTPBaseDepayload * depay, GstRTPBuffer * rtp)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (depay);
  guint16 seq = gst_rtp_buffer_get_seq (rtp);
  guint32 ts = gst_rtp_buffer_get_timestamp (rtp);
  guint len = gst_rtp_buffer_get_payload_len (rtp);
  const guint8 *payload = gst_rtp_buffer_get_payload (rtp);
  gboolean gap;
  guint8 hdr;

  gap = self->have_seq && seq != (guint16) (self->last_seq + 1);
  if (self->have_seq && seq == self->last_seq) {
    /* a duplicate (the base class drops older packets; one far older is a restart, a gap) */
    GST_DEBUG_OBJECT (self, "duplicate packet %u ignored", seq);
    return NULL;
  }
  self->have_seq = TRUE;
  self->last_seq = seq;
  if (gap) {
    if (self->lost_pending) {
      /* already handled as a packet-lost event */
      discard_frame (self);
    } else {
      on_loss (self, "sequence number gap");
    }
  }
  self->lost_pending = FALSE;
  if (len < GST_RTP_LVC_HDR_SIZE) {
    GST_WARNING_OBJECT (self, "packet %u without a payload header", seq);
    on_loss (self, "packet without a payload header");
    return NULL;
  }
  hdr = payload[0];

  if (hdr & GST_RTP_LVC_HDR_S) {
    if (self->assembling)
      on_loss (self, "start fragment before the previous frame's end");
    gst_adapter_clear (self->adapter);
    self->assembling = TRUE;
    self->frame_ts = ts;
    self->frame_key = (hdr & GST_RTP_LVC_HDR_K) != 0;
  } else if (!self->assembling) {
    /* the rest of a frame whose start was lost: already counted as a loss */
    GST_LOG_OBJECT (self, "fragment %u without a start dropped", seq);
    return NULL;
  } else if (ts != self->frame_ts) {
    on_loss (self, "fragment of another frame before the end");
    return NULL;
  }

  if (len > GST_RTP_LVC_HDR_SIZE)
    gst_adapter_push (self->adapter,
        gst_rtp_buffer_get_payload_subbuffer (rtp, GST_RTP_LVC_HDR_SIZE, -1));
  if (!(hdr & GST_RTP_LVC_HDR_E))
    return NULL;
  return finish_frame (self);
}

/* The jitter buffer gave up on a packet: the frame it belongs to cannot be completed. */
static gboolean
gst_rtp_lvc_depay_packet_lost (GstRTPBaseDepayload * depay, GstEvent * event)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (depay);

  /* consecutive lost packets are one loss event */
  if (self->lost_pending)
    discard_frame (self);
  else
    on_loss (self, "packet lost (jitter buffer)");
  self->lost_pending = TRUE;
  return GST_RTP_BASE_DEPAYLOAD_CLASS (parent_class)->packet_lost (depay, event);
}

static gboolean
gst_rtp_lvc_depay_handle_event (GstRTPBaseDepayload * depay, GstEvent * event)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (depay);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    reset (self);
  return GST_RTP_BASE_DEPAYLOAD_CLASS (parent_class)->handle_event (depay, event);
}

/* Key-frame requests from downstream share the throttle of our own. */
static gboolean
gst_rtp_lvc_depay_src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (parent);

  if (gst_video_event_is_force_key_unit (event)) {
    gst_event_unref (event);
    request_key_frame (self, "asked downstream");
    return TRUE;
  }
  if (self->base_src_event)
    return self->base_src_event (pad, parent, event);
  return gst_pad_event_default (pad, parent, event);
}

/* What upstream may send: the sink template narrowed to the model ids and profiles downstream
 * accepts. */
static gboolean
gst_rtp_lvc_depay_sink_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (parent);

  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS) {
    GstCaps *filter, *templ, *peer, *res;

    gst_query_parse_caps (query, &filter);
    templ = gst_pad_get_pad_template_caps (pad);
    peer = gst_pad_peer_query_caps (GST_RTP_BASE_DEPAYLOAD_SRCPAD (self), NULL);
    if (peer && !gst_caps_is_any (peer)) {
      GstCaps *allowed = gst_caps_new_empty ();
      for (guint i = 0; i < gst_caps_get_size (peer); i++) {
        const GstStructure *ps = gst_caps_get_structure (peer, i);
        GstStructure *s = gst_structure_new_empty ("application/x-rtp");
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
    gst_query_set_caps_result (query, res);
    gst_caps_unref (res);
    return TRUE;
  }
  if (self->base_sink_query)
    return self->base_sink_query (pad, parent, query);
  return gst_pad_query_default (pad, parent, query);
}

static GstStateChangeReturn
gst_rtp_lvc_depay_change_state (GstElement * element, GstStateChange transition)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (element);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    reset (self);
    reset_counters (self);
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static void
gst_rtp_lvc_depay_finalize (GObject * object)
{
  GstRtpLvcDepay *self = GST_RTP_LVC_DEPAY (object);

  g_object_unref (self->adapter);
  g_free (self->model_id);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_rtp_lvc_depay_class_init (GstRtpLvcDepayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstRTPBaseDepayloadClass *depay_class = GST_RTP_BASE_DEPAYLOAD_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT (gst_rtp_lvc_depay_debug, "rtplvcdepay", 0, "lvc RTP depayloader");

  gobject_class->set_property = gst_rtp_lvc_depay_set_property;
  gobject_class->get_property = gst_rtp_lvc_depay_get_property;
  gobject_class->finalize = gst_rtp_lvc_depay_finalize;

  g_object_class_install_property (gobject_class, PROP_KEY_REQUEST_INTERVAL,
      g_param_spec_uint ("key-request-interval", "Key-frame request interval",
          "Minimum time between two upstream key-frame requests (force-key-unit, a PLI in "
          "rtpbin), in milliseconds; 0 = no limit", 0, G_MAXUINT / 1000000,
          DEFAULT_KEY_REQUEST_INTERVAL_MS, rw));
  g_object_class_install_property (gobject_class, PROP_WAIT_FOR_KEYFRAME,
      g_param_spec_boolean ("wait-for-keyframe", "Wait for key frame",
          "After a loss (and at the start), drop P-frames until the next key frame",
          DEFAULT_WAIT_FOR_KEYFRAME, rw));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "frames, key-frames (pushed downstream), incomplete (frames discarded for a missing "
          "fragment), skipped (complete P-frames dropped while waiting for a key frame), "
          "losses (loss events), key-requests (upstream force-key-unit events sent)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTP lvc depayloader",
      "Codec/Depayloader/Network/RTP",
      "Reassembles lvc video frames from RTP packets", "The lvc authors");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_rtp_lvc_depay_change_state);
  depay_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtp_lvc_depay_set_caps);
  depay_class->process_rtp_packet = GST_DEBUG_FUNCPTR (gst_rtp_lvc_depay_process_rtp_packet);
  depay_class->packet_lost = GST_DEBUG_FUNCPTR (gst_rtp_lvc_depay_packet_lost);
  depay_class->handle_event = GST_DEBUG_FUNCPTR (gst_rtp_lvc_depay_handle_event);
}

static void
gst_rtp_lvc_depay_init (GstRtpLvcDepay * self)
{
  GstPad *sink = GST_RTP_BASE_DEPAYLOAD_SINKPAD (self);
  GstPad *src = GST_RTP_BASE_DEPAYLOAD_SRCPAD (self);

  self->adapter = gst_adapter_new ();
  self->key_request_interval = DEFAULT_KEY_REQUEST_INTERVAL_MS * GST_MSECOND;
  self->wait_for_keyframe = DEFAULT_WAIT_FOR_KEYFRAME;
  self->last_request = GST_CLOCK_TIME_NONE;
  self->need_key = DEFAULT_WAIT_FOR_KEYFRAME;
  self->discont = TRUE;
  /* ours wrap the base class's pad functions */
  self->base_sink_query = GST_PAD_QUERYFUNC (sink);
  self->base_src_event = GST_PAD_EVENTFUNC (src);
  gst_pad_set_query_function (sink, GST_DEBUG_FUNCPTR (gst_rtp_lvc_depay_sink_query));
  gst_pad_set_event_function (src, GST_DEBUG_FUNCPTR (gst_rtp_lvc_depay_src_event));
}
