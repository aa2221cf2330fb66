/* lvcdec: decodes lvc (video/x-lvc, elementary frames) into I420 with liblvc.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstlvcdec.h"

GST_DEBUG_CATEGORY_STATIC (gst_lvc_dec_debug);
#define GST_CAT_DEFAULT gst_lvc_dec_debug

enum {
  PROP_0,
  PROP_BACKEND,
  PROP_THREADS,
  PROP_MODEL,
  PROP_STATS,
};

#define DEFAULT_BACKEND LVC_BACKEND_AUTO
#define DEFAULT_THREADS 0
/* Upstream key-frame requests are at least this far apart. */
#define KEY_REQUEST_INTERVAL_US G_USEC_PER_SEC

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-lvc, stream-format = (string) elementary, "
        "alignment = (string) frame, profile = (string) lvc-s"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw, format = (string) I420, "
        "width = (int) [ 1, 8192 ], height = (int) [ 1, 8192 ], "
        "framerate = (fraction) [ 0/1, MAX ]"));

#define gst_lvc_dec_parent_class parent_class
G_DEFINE_TYPE (GstLvcDec, gst_lvc_dec, GST_TYPE_VIDEO_DECODER);
GST_ELEMENT_REGISTER_DEFINE (lvcdec, "lvcdec", GST_RANK_PRIMARY, GST_TYPE_LVC_DEC);

static void
gst_lvc_dec_init (GstLvcDec * self)
{
  self->backend = DEFAULT_BACKEND;
  self->threads = DEFAULT_THREADS;
  self->last_key_request = -1;
  gst_video_decoder_set_packetized (GST_VIDEO_DECODER (self), TRUE);
  gst_video_decoder_set_needs_format (GST_VIDEO_DECODER (self), TRUE);
  gst_video_decoder_set_use_default_pad_acceptcaps (GST_VIDEO_DECODER_CAST (self), TRUE);
  GST_PAD_SET_ACCEPT_INTERSECT (GST_VIDEO_DECODER_SINK_PAD (self));
  GST_PAD_SET_ACCEPT_TEMPLATE (GST_VIDEO_DECODER_SINK_PAD (self));
}

static void
gst_lvc_dec_finalize (GObject * object)
{
  GstLvcDec *self = GST_LVC_DEC (object);

  g_free (self->model_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_lvc_dec_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstLvcDec *self = GST_LVC_DEC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BACKEND:
      self->backend = g_value_get_enum (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      break;
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lvc_dec_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstLvcDec *self = GST_LVC_DEC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BACKEND:
      g_value_set_enum (value, self->backend);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, gst_structure_new ("lvcdec-stats",
              "frames", G_TYPE_UINT64, self->frames_out,
              "damaged", G_TYPE_UINT64, self->damaged,
              "key-requests", G_TYPE_UINT, self->key_requests,
              "late-dropped", G_TYPE_UINT64, self->qos_dropped, NULL));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
close_decoder (GstLvcDec * self)
{
  lvc_decoder_close (self->dec);
  self->dec = NULL;
  gst_lvc_model_release (self->model);
  self->model = NULL;
}

static gboolean
gst_lvc_dec_start (GstVideoDecoder * vdec)
{
  GstLvcDec *self = GST_LVC_DEC (vdec);

  self->have_seq = FALSE;
  self->need_key = TRUE;
  self->last_key_request = -1;
  GST_OBJECT_LOCK (self);
  self->damaged = 0;
  self->key_requests = 0;
  self->qos_dropped = 0;
  self->frames_out = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_lvc_dec_stop (GstVideoDecoder * vdec)
{
  GstLvcDec *self = GST_LVC_DEC (vdec);

  close_decoder (self);
  g_clear_pointer (&self->input_state, gst_video_codec_state_unref);
  self->have_seq = FALSE;
  return TRUE;
}

/* Make the model and the library decoder fit a sequence with this model id. */
static gboolean
ensure_decoder (GstLvcDec * self, const GstLvcSeqInfo * seq)
{
  LvcDecoderSettings s;
  LvcModelInfo mi;
  GError *err = NULL;
  gchar *path;
  int r;

  if (self->dec && memcmp (self->model_id, seq->model_id, LVC_MODEL_ID_SIZE) == 0)
    return TRUE;
  close_decoder (self);
  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  lvc_decoder_settings_default (&s);
  s.backend = self->backend;
  s.threads = self->threads;
  GST_OBJECT_UNLOCK (self);
  if (path && *path) {
    self->model = gst_lvc_model_get_path (path, &err);
    if (!self->model) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", err->message),
          ("the stream needs model %s", seq->model_id_hex));
      g_clear_error (&err);
      g_free (path);
      return FALSE;
    }
    lvc_model_get_info (self->model, &mi);
    if (memcmp (mi.id, seq->model_id, LVC_MODEL_ID_SIZE) != 0) {
      GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
          ("The stream needs model %s, but the model '%s' (%s) has id %s",
              seq->model_id_hex, mi.name ? mi.name : "", path, mi.id_hex),
          ("unset the 'model' property to look the model up by its id"));
      gst_lvc_model_release (self->model);
      self->model = NULL;
      g_free (path);
      return FALSE;
    }
  } else {
    self->model = gst_lvc_model_get_id (seq->model_id, &err);
    if (!self->model) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("The stream needs lvc model %s, which is not installed", seq->model_id_hex),
          ("%s", err->message));
      g_clear_error (&err);
      g_free (path);
      return FALSE;
    }
    lvc_model_get_info (self->model, &mi);
  }
  g_free (path);
  s.model = self->model;
  r = lvc_decoder_open (&self->dec, &s);
  if (r < 0) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("Cannot open the lvc decoder"),
        ("%s (%s)", lvc_last_error (), lvc_strerror (r)));
    self->dec = NULL;
    gst_lvc_model_release (self->model);
    self->model = NULL;
    return FALSE;
  }
  memcpy (self->model_id, seq->model_id, LVC_MODEL_ID_SIZE);
  GST_INFO_OBJECT (self, "decoding with model %s (%s)", mi.id_hex, mi.name ? mi.name : "");
  return TRUE;
}

/* Set the output format from a sequence header when it changes what downstream sees. */
static void
update_output (GstLvcDec * self, const GstLvcSeqInfo * seq)
{
  GstVideoCodecState *st;

  if (self->have_seq && self->seq.width == seq->width && self->seq.height == seq->height
      && memcmp (&self->seq.color, &seq->color, sizeof (LvcColor)) == 0
      && self->seq.par_n == seq->par_n && self->seq.par_d == seq->par_d
      && self->seq.fps_n == seq->fps_n && self->seq.fps_d == seq->fps_d)
    return;
  self->seq = *seq;
  self->have_seq = TRUE;
  st = gst_video_decoder_set_output_state (GST_VIDEO_DECODER (self), GST_VIDEO_FORMAT_I420,
      (guint) seq->width, (guint) seq->height, self->input_state);
  if (seq->color.primaries != 2 || seq->color.transfer != 2 || seq->color.matrix != 2
      || seq->color.range != 0) {
    GstVideoColorimetry c;
    gst_lvc_color_to_gst (&seq->color, &c);
    if (c.primaries != GST_VIDEO_COLOR_PRIMARIES_UNKNOWN)
      st->info.colorimetry.primaries = c.primaries;
    if (c.transfer != GST_VIDEO_TRANSFER_UNKNOWN)
      st->info.colorimetry.transfer = c.transfer;
    if (c.matrix != GST_VIDEO_COLOR_MATRIX_UNKNOWN)
      st->info.colorimetry.matrix = c.matrix;
    if (c.range != GST_VIDEO_COLOR_RANGE_UNKNOWN)
      st->info.colorimetry.range = c.range;
  }
  if (seq->par_n > 0 && seq->par_d > 0) {
    st->info.par_n = seq->par_n;
    st->info.par_d = seq->par_d;
  }
  if (st->info.fps_n == 0 && seq->fps_n > 0 && seq->fps_n <= G_MAXINT && seq->fps_d > 0) {
    st->info.fps_n = (gint) seq->fps_n;
    st->info.fps_d = seq->fps_d;
  }
  GST_INFO_OBJECT (self, "output %dx%d", seq->width, seq->height);
  gst_video_codec_state_unref (st);
}

static gboolean
gst_lvc_dec_set_format (GstVideoDecoder * vdec, GstVideoCodecState * state)
{
  GstLvcDec *self = GST_LVC_DEC (vdec);

  g_clear_pointer (&self->input_state, gst_video_codec_state_unref);
  self->input_state = gst_video_codec_state_ref (state);
  self->have_seq = FALSE;
  if (state->codec_data) {
    GstMapInfo map;
    GstLvcSeqInfo seq;
    gboolean ok = FALSE;
    if (gst_buffer_map (state->codec_data, &map, GST_MAP_READ)) {
      ok = gst_lvc_seq_parse (map.data, map.size, &seq);
      gst_buffer_unmap (state->codec_data, &map);
    }
    if (!ok) {
      GST_WARNING_OBJECT (self, "codec_data is not a sequence header; ignored");
    } else {
      if (!ensure_decoder (self, &seq))
        return FALSE;
      update_output (self, &seq);
    }
  }
  return TRUE;
}

static void
request_key_frame (GstLvcDec * self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->last_key_request >= 0 && now - self->last_key_request < KEY_REQUEST_INTERVAL_US)
    return;
  self->last_key_request = now;
  GST_OBJECT_LOCK (self);
  self->key_requests++;
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "requesting a key frame upstream");
  gst_pad_push_event (GST_VIDEO_DECODER_SINK_PAD (self),
      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

static GstFlowReturn
damaged (GstLvcDec * self, GstVideoCodecFrame * frame, const gchar * why)
{
  GST_OBJECT_LOCK (self);
  self->damaged++;
  GST_OBJECT_UNLOCK (self);
  self->need_key = TRUE;
  GST_ELEMENT_WARNING (self, STREAM, DECODE,
      ("Damaged lvc frame dropped; waiting for the next key frame"), ("%s", why));
  request_key_frame (self);
  return gst_video_decoder_drop_frame (GST_VIDEO_DECODER (self), frame);
}

static GstFlowReturn
output_picture (GstLvcDec * self, GstVideoCodecFrame * frame, LvcPicture * pic)
{
  GstVideoDecoder *vdec = GST_VIDEO_DECODER (self);
  GstVideoCodecState *st;
  GstVideoFrame vf;
  GstFlowReturn ret;

  if (gst_video_decoder_get_max_decode_time (vdec, frame) < 0) {
    /* late under QoS: it was decoded (every frame is a reference) but is not shown */
    GST_DEBUG_OBJECT (self, "late frame %u dropped after decoding",
        frame->system_frame_number);
    return gst_video_decoder_drop_frame (vdec, frame);
  }
  ret = gst_video_decoder_allocate_output_frame (vdec, frame);
  if (ret != GST_FLOW_OK) {
    gst_video_decoder_release_frame (vdec, frame);
    return ret;
  }
  st = gst_video_decoder_get_output_state (vdec);
  if (!st || GST_VIDEO_INFO_WIDTH (&st->info) != pic->width
      || GST_VIDEO_INFO_HEIGHT (&st->info) != pic->height
      || !gst_video_frame_map (&vf, &st->info, frame->output_buffer, GST_MAP_WRITE)) {
    if (st)
      gst_video_codec_state_unref (st);
    GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Cannot write the decoded picture"),
        ("%dx%d picture, output state does not fit", pic->width, pic->height));
    gst_video_decoder_release_frame (vdec, frame);
    return GST_FLOW_ERROR;
  }
  for (int p = 0; p < 3; p++) {
    gint w = p ? (pic->width + 1) / 2 : pic->width;
    gint h = p ? (pic->height + 1) / 2 : pic->height;
    guint8 *dst = GST_VIDEO_FRAME_PLANE_DATA (&vf, p);
    gint ds = GST_VIDEO_FRAME_PLANE_STRIDE (&vf, p);
    for (gint y = 0; y < h; y++)
      memcpy (dst + (gsize) y * ds, pic->data[p] + y * pic->stride[p], (gsize) w);
  }
  gst_video_frame_unmap (&vf);
  gst_video_codec_state_unref (st);
  GST_OBJECT_LOCK (self);
  self->frames_out++;
  GST_OBJECT_UNLOCK (self);
  return gst_video_decoder_finish_frame (vdec, frame);
}

static GstFlowReturn
gst_lvc_dec_handle_frame (GstVideoDecoder * vdec, GstVideoCodecFrame * frame)
{
  GstLvcDec *self = GST_LVC_DEC (vdec);
  GstFlowReturn ret = GST_FLOW_OK;
  GstLvcSeqInfo seq;
  gboolean key = FALSE;
  GstMapInfo map;
  LvcPicture *pic = NULL;
  gboolean late;
  int r;

  if (!gst_buffer_map (frame->input_buffer, &map, GST_MAP_READ)) {
    gst_video_decoder_drop_frame (vdec, frame);
    return GST_FLOW_OK;
  }
  if (map.size > 0 && map.data[0] == 'L') {
    if (map.size >= 6 && memcmp (map.data, "LVC", 3) == 0 && (map.data[3] !=
            LVC_BITSTREAM_VERSION || map.data[4] != LVC_OPSET_VERSION || map.data[5] != 1)) {
      GST_ELEMENT_ERROR (self, STREAM, CODEC_NOT_FOUND,
          ("Unsupported lvc stream: bitstream version %u, op-set %u, profile %u",
              map.data[3], map.data[4], map.data[5]),
          ("this lvcdec decodes bitstream version %d, op-set %d, profile 1 (lvc-s)",
              LVC_BITSTREAM_VERSION, LVC_OPSET_VERSION));
      gst_buffer_unmap (frame->input_buffer, &map);
      gst_video_decoder_drop_frame (vdec, frame);
      return GST_FLOW_ERROR;
    }
    if (!gst_lvc_seq_parse (map.data, map.size, &seq) || seq.size >= map.size) {
      gst_buffer_unmap (frame->input_buffer, &map);
      return damaged (self, frame, "invalid sequence header");
    }
    key = TRUE;
    if (!ensure_decoder (self, &seq)) {
      gst_buffer_unmap (frame->input_buffer, &map);
      gst_video_decoder_drop_frame (vdec, frame);
      return GST_FLOW_ERROR;
    }
  }
  if (!key && (self->need_key || !self->dec)) {
    gst_buffer_unmap (frame->input_buffer, &map);
    GST_DEBUG_OBJECT (self, "waiting for a key frame: frame %u dropped",
        frame->system_frame_number);
    request_key_frame (self);
    return gst_video_decoder_drop_frame (vdec, frame);
  }
  /* QoS: a frame already too late to be shown is decoded as a reference only (without the
   * reconstruction head) and dropped; the next frames decode exactly as without QoS. */
  late = gst_video_decoder_get_max_decode_time (vdec, frame) < 0;
  r = lvc_decoder_send_packet_flags (self->dec, map.data, map.size,
      frame->system_frame_number, late ? LVC_DECODE_NO_PICTURE : 0);
  gst_buffer_unmap (frame->input_buffer, &map);
  if (r == LVC_ENOMODEL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", lvc_last_error ()), (NULL));
    gst_video_decoder_drop_frame (vdec, frame);
    return GST_FLOW_ERROR;
  }
  if (r < 0) {
    gchar *why = g_strdup_printf ("%s (%s)", lvc_last_error (), lvc_strerror (r));
    ret = damaged (self, frame, why);
    g_free (why);
    return ret;
  }
  if (key) {
    self->need_key = FALSE;
    update_output (self, &seq);
  }
  r = lvc_decoder_receive_picture (self->dec, &pic);
  if (late && r == LVC_EAGAIN) {
    GST_DEBUG_OBJECT (self, "frame %u late: decoded as a reference only and dropped",
        frame->system_frame_number);
    GST_OBJECT_LOCK (self);
    self->qos_dropped++;
    GST_OBJECT_UNLOCK (self);
    return gst_video_decoder_drop_frame (vdec, frame);
  }
  for (; r == 0; r = lvc_decoder_receive_picture (self->dec, &pic)) {
    GstVideoCodecFrame *f = gst_video_decoder_get_frame (vdec, (int) pic->pts);
    if (!f) {
      lvc_picture_unref (pic);
      continue;
    }
    if (pic->flags & LVC_PICTURE_CORRUPTED) {
      ret = damaged (self, f, "the decoder marked the picture as corrupted");
    } else {
      ret = output_picture (self, f, pic);
    }
    lvc_picture_unref (pic);
    if (ret != GST_FLOW_OK)
      break;
  }
  gst_video_codec_frame_unref (frame);
  return ret;
}

static gboolean
gst_lvc_dec_flush (GstVideoDecoder * vdec)
{
  GstLvcDec *self = GST_LVC_DEC (vdec);

  /* after a seek the references are stale: start again at a key frame */
  self->need_key = TRUE;
  return TRUE;
}

static void
gst_lvc_dec_class_init (GstLvcDecClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstVideoDecoderClass *vdec_class = GST_VIDEO_DECODER_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_lvc_dec_debug, "lvcdec", 0, "lvc video decoder");

  gobject_class->set_property = gst_lvc_dec_set_property;
  gobject_class->get_property = gst_lvc_dec_get_property;
  gobject_class->finalize = gst_lvc_dec_finalize;

  g_object_class_install_property (gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend", "Compute backend", GST_TYPE_LVC_BACKEND,
          DEFAULT_BACKEND, rw));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads", "Worker threads, 0 = automatic", 0, 64,
          DEFAULT_THREADS, rw));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Model file (.lvcm); it must have the stream's model id. Unset: the model is "
          "found by the stream's id (LVC_MODEL_PATH directories holding <id>.lvcm, the "
          "installed models, $LVC_MODEL)", NULL, rw));

  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Decoder statistics: frames (pictures output), damaged (frames dropped as damaged "
          "or while waiting for a key frame after damage), key-requests (upstream key-frame "
          "requests sent), late-dropped (frames late under QoS, decoded as references "
          "without the reconstruction head and dropped)", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "lvc video decoder",
      "Codec/Decoder/Video", "Decodes video coded with the lvc learned video codec",
      "The lvc authors");

  vdec_class->start = GST_DEBUG_FUNCPTR (gst_lvc_dec_start);
  vdec_class->stop = GST_DEBUG_FUNCPTR (gst_lvc_dec_stop);
  vdec_class->set_format = GST_DEBUG_FUNCPTR (gst_lvc_dec_set_format);
  vdec_class->handle_frame = GST_DEBUG_FUNCPTR (gst_lvc_dec_handle_frame);
  vdec_class->flush = GST_DEBUG_FUNCPTR (gst_lvc_dec_flush);
}
