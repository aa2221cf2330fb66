/* lvcenc: encodes raw I420 / NV12 video into lvc (video/x-lvc) with liblvc.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstlvccommon.h"
#include "gstlvcenc.h"

GST_DEBUG_CATEGORY_STATIC (gst_lvc_enc_debug);
#define GST_CAT_DEFAULT gst_lvc_enc_debug

enum {
  PROP_0,
  PROP_QP,
  PROP_BITRATE,
  PROP_VBV_BUFFER,
  PROP_KEY_INT_MAX,
  PROP_REFRESH_PERIOD,
  PROP_BACKEND,
  PROP_THREADS,
  PROP_MODEL,
  PROP_STATS,
};

#define DEFAULT_QP 32
#define DEFAULT_BITRATE 0
#define DEFAULT_VBV 1000
#define DEFAULT_KEY_INT_MAX 256
#define DEFAULT_REFRESH 32
#define DEFAULT_BACKEND LVC_BACKEND_AUTO
#define DEFAULT_THREADS 0

/* Time base of .lvc output when the frame rate is unknown: 90 kHz. */
#define VFR_TB_DEN 90000

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw, format = (string) { I420, NV12 }, "
        "width = (int) [ 1, 8192 ], height = (int) [ 1, 8192 ], "
        "framerate = (fraction) [ 0/1, MAX ], "
        "interlace-mode = (string) progressive"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-lvc, stream-format = (string) { lvc-file, elementary }, "
        "alignment = (string) frame, profile = (string) lvc-s"));

#define gst_lvc_enc_parent_class parent_class
G_DEFINE_TYPE (GstLvcEnc, gst_lvc_enc, GST_TYPE_VIDEO_ENCODER);
GST_ELEMENT_REGISTER_DEFINE (lvcenc, "lvcenc", GST_RANK_SECONDARY, GST_TYPE_LVC_ENC);

static void
gst_lvc_enc_init (GstLvcEnc * self)
{
  self->qp = DEFAULT_QP;
  self->bitrate = DEFAULT_BITRATE;
  self->vbv_ms = DEFAULT_VBV;
  self->key_int_max = DEFAULT_KEY_INT_MAX;
  self->refresh_period = DEFAULT_REFRESH;
  self->backend = DEFAULT_BACKEND;
  self->threads = DEFAULT_THREADS;
  GST_PAD_SET_ACCEPT_INTERSECT (GST_VIDEO_ENCODER_SINK_PAD (self));
}

static void
gst_lvc_enc_finalize (GObject * object)
{
  GstLvcEnc *self = GST_LVC_ENC (object);

  g_free (self->model_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static GstStructure *
make_stats (GstLvcEnc * self)
{
  gdouble secs = 0, kbps = 0, mean_qp = 0, mean_ms = 0;

  GST_OBJECT_LOCK (self);
  if (self->st_duration > 0)
    secs = (gdouble) self->st_duration / GST_SECOND;
  else if (self->st_fps_n > 0)
    secs = (gdouble) self->st_frames * self->st_fps_d / self->st_fps_n;
  if (secs > 0)
    kbps = (gdouble) self->st_bytes * 8.0 / secs / 1000.0;
  if (self->st_frames > 0) {
    mean_qp = (gdouble) self->st_qp_sum / (gdouble) self->st_frames;
    mean_ms = self->st_encode_ms / (gdouble) self->st_frames;
  }
  GstStructure *s = gst_structure_new ("lvcenc-stats",
      "frames", G_TYPE_UINT64, self->st_frames,
      "key-frames", G_TYPE_UINT64, self->st_key_frames,
      "mean-qp", G_TYPE_DOUBLE, mean_qp,
      "bitrate", G_TYPE_DOUBLE, kbps,
      "last-frame-bytes", G_TYPE_UINT, self->st_last_bytes,
      "mean-encode-ms", G_TYPE_DOUBLE, mean_ms, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_lvc_enc_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstLvcEnc *self = GST_LVC_ENC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_QP:
      self->qp = g_value_get_int (value);
      break;
    case PROP_BITRATE:
      self->bitrate = g_value_get_int (value);
      self->bitrate_changed = TRUE;
      break;
    case PROP_VBV_BUFFER:
      self->vbv_ms = g_value_get_int (value);
      break;
    case PROP_KEY_INT_MAX:
      self->key_int_max = g_value_get_int (value);
      break;
    case PROP_REFRESH_PERIOD:
      self->refresh_period = g_value_get_int (value);
      break;
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
gst_lvc_enc_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstLvcEnc *self = GST_LVC_ENC (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, make_stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_QP:
      g_value_set_int (value, self->qp);
      break;
    case PROP_BITRATE:
      g_value_set_int (value, self->bitrate);
      break;
    case PROP_VBV_BUFFER:
      g_value_set_int (value, self->vbv_ms);
      break;
    case PROP_KEY_INT_MAX:
      g_value_set_int (value, self->key_int_max);
      break;
    case PROP_REFRESH_PERIOD:
      g_value_set_int (value, self->refresh_period);
      break;
    case PROP_BACKEND:
      g_value_set_enum (value, self->backend);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
reset_stats (GstLvcEnc * self)
{
  GST_OBJECT_LOCK (self);
  self->st_frames = self->st_key_frames = self->st_qp_sum = self->st_bytes = 0;
  self->st_duration = 0;
  self->st_last_bytes = 0;
  self->st_encode_ms = 0;
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_lvc_enc_start (GstVideoEncoder * venc)
{
  GstLvcEnc *self = GST_LVC_ENC (venc);
  GError *err = NULL;
  gchar *path;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  GST_OBJECT_UNLOCK (self);
  if (path && *path)
    self->model = gst_lvc_model_get_path (path, &err);
  else
    self->model = gst_lvc_model_get_default (&err);
  g_free (path);
  if (!self->model) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", err->message),
        ("lvcenc needs a model (.lvcm) to encode"));
    g_clear_error (&err);
    return FALSE;
  }
  self->format_decided = FALSE;
  self->file_mode = FALSE;
  self->file_header_sent = FALSE;
  self->rc_warned = FALSE;
  self->open_error_posted = FALSE;
  self->file_frames = 0;
  self->first_ticks = -1;
  self->end_ticks = 0;
  reset_stats (self);
  return TRUE;
}

static gboolean
gst_lvc_enc_stop (GstVideoEncoder * venc)
{
  GstLvcEnc *self = GST_LVC_ENC (venc);

  lvc_encoder_close (self->enc);
  self->enc = NULL;
  g_clear_pointer (&self->input_state, gst_video_codec_state_unref);
  gst_lvc_model_release (self->model);
  self->model = NULL;
  return TRUE;
}

/* Bitrate change or open with a bitrate: an unsupported rate control is warned about once. */
static void
warn_rc_unsupported (GstLvcEnc * self, gint kbps, const gchar * why)
{
  if (self->rc_warned)
    return;
  self->rc_warned = TRUE;
  GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
      ("Rate control is not available in this liblvc: bitrate %d kbit/s ignored, "
          "encoding at constant qp", kbps), ("%s", why));
}

static gboolean
open_encoder (GstLvcEnc * self)
{
  GstVideoInfo *info = &self->input_state->info;
  LvcEncoderSettings s;
  int r;

  lvc_encoder_settings_default (&s);
  s.width = GST_VIDEO_INFO_WIDTH (info);
  s.height = GST_VIDEO_INFO_HEIGHT (info);
  if (info->fps_n > 0 && info->fps_d > 0 && info->fps_d <= 0xffff) {
    s.fps_num = info->fps_n;
    s.fps_den = info->fps_d;
  }
  if (info->par_n > 0 && info->par_d > 0 && info->par_n <= 0xffff && info->par_d <= 0xffff) {
    s.par_num = info->par_n;
    s.par_den = info->par_d;
  }
  gst_lvc_color_from_gst (&info->colorimetry, &s.color);
  GST_OBJECT_LOCK (self);
  s.qp = self->qp;
  s.bitrate_kbps = self->bitrate;
  s.vbv_ms = self->vbv_ms;
  s.key_int_max = self->key_int_max;
  s.refresh_period = self->refresh_period;
  s.threads = self->threads;
  s.backend = self->backend;
  self->bitrate_changed = FALSE;
  GST_OBJECT_UNLOCK (self);

  r = lvc_encoder_open (&self->enc, self->model, &s);
  if (r == LVC_EUNSUPPORTED && s.bitrate_kbps != 0) {
    warn_rc_unsupported (self, s.bitrate_kbps, lvc_last_error ());
    s.bitrate_kbps = 0;
    r = lvc_encoder_open (&self->enc, self->model, &s);
  }
  if (r < 0) {
    /* once: the base class retries the caps with every buffer */
    if (!self->open_error_posted)
      GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("Cannot open the lvc encoder for %dx%d",
              s.width, s.height), ("%s (%s)", lvc_last_error (), lvc_strerror (r)));
    self->open_error_posted = TRUE;
    self->enc = NULL;
    return FALSE;
  }
  self->applied_bitrate = s.bitrate_kbps;
  GST_INFO_OBJECT (self, "encoder open: %dx%d qp %d key-int-max %d refresh %d",
      s.width, s.height, s.qp, s.key_int_max, s.refresh_period);
  return TRUE;
}

/* lvc-file when downstream takes it first (filesink and other ANY-caps sinks), elementary when
 * downstream only takes that (lvcdec, payloaders). */
static gboolean
decide_stream_format (GstLvcEnc * self)
{
  GstCaps *allowed = gst_pad_get_allowed_caps (GST_VIDEO_ENCODER_SRC_PAD (self));
  const gchar *fmt = "lvc-file";

  if (allowed && gst_caps_is_empty (allowed)) {
    gst_caps_unref (allowed);
    return FALSE;
  }
  if (allowed) {
    GstStructure *st;
    allowed = gst_caps_truncate (allowed);
    allowed = gst_caps_make_writable (allowed);
    st = gst_caps_get_structure (allowed, 0);
    if (gst_structure_has_field (st, "stream-format")) {
      gst_structure_fixate_field_string (st, "stream-format", "lvc-file");
      fmt = gst_structure_get_string (st, "stream-format");
    }
    self->file_mode = (g_strcmp0 (fmt, "lvc-file") == 0);
    gst_caps_unref (allowed);
  } else {
    self->file_mode = FALSE;   /* not linked */
  }
  self->format_decided = TRUE;
  if (self->file_mode) {
    GstVideoInfo *info = &self->input_state->info;
    if (info->fps_n > 0 && info->fps_d > 0) {
      self->tb_num = (guint32) info->fps_d;
      self->tb_den = (guint32) info->fps_n;
    } else {
      self->tb_num = 1;
      self->tb_den = VFR_TB_DEN;
    }
    self->file_width = GST_VIDEO_INFO_WIDTH (info);
    self->file_height = GST_VIDEO_INFO_HEIGHT (info);
  }
  GST_INFO_OBJECT (self, "stream-format %s", self->file_mode ? "lvc-file" : "elementary");
  return TRUE;
}

static gboolean
set_output (GstLvcEnc * self)
{
  GstVideoCodecState *out;
  GstCaps *caps;
  LvcModelInfo mi;
  const uint8_t *sh;
  size_t sh_size;

  lvc_model_get_info (self->model, &mi);
  if (lvc_encoder_get_sequence_header (self->enc, &sh, &sh_size) < 0)
    return FALSE;
  caps = gst_caps_new_simple ("video/x-lvc",
      "stream-format", G_TYPE_STRING, self->file_mode ? "lvc-file" : "elementary",
      "alignment", G_TYPE_STRING, "frame",
      "profile", G_TYPE_STRING, "lvc-s", "model-id", G_TYPE_STRING, mi.id_hex, NULL);
  out = gst_video_encoder_set_output_state (GST_VIDEO_ENCODER (self), caps,
      self->input_state);
  out->codec_data = gst_buffer_new_memdup (sh, sh_size);
  gst_video_codec_state_unref (out);
  return gst_video_encoder_negotiate (GST_VIDEO_ENCODER (self));
}

static GstFlowReturn push_packet (GstLvcEnc * self, LvcPacket * pkt);

/* Flush the library encoder, push what it still holds and close it. */
static GstFlowReturn
drain_encoder (GstLvcEnc * self)
{
  GstFlowReturn ret = GST_FLOW_OK;
  LvcPacket pkt;
  int r;

  if (!self->enc)
    return GST_FLOW_OK;
  lvc_encoder_send_picture (self->enc, NULL);
  while ((r = lvc_encoder_receive_packet (self->enc, &pkt)) == 0) {
    GstFlowReturn fr = push_packet (self, &pkt);
    if (fr != GST_FLOW_OK)
      ret = fr;
  }
  lvc_encoder_close (self->enc);
  self->enc = NULL;
  return ret;
}

static gboolean
gst_lvc_enc_set_format (GstVideoEncoder * venc, GstVideoCodecState * state)
{
  GstLvcEnc *self = GST_LVC_ENC (venc);

  if (GST_VIDEO_INFO_IS_INTERLACED (&state->info)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("lvc codes progressive video only"), (NULL));
    return FALSE;
  }
  /* a caps change: what the old encoder holds goes out first, then a new sequence starts */
  drain_encoder (self);
  g_clear_pointer (&self->input_state, gst_video_codec_state_unref);
  self->input_state = gst_video_codec_state_ref (state);
  GST_OBJECT_LOCK (self);
  self->st_fps_n = state->info.fps_n;
  self->st_fps_d = state->info.fps_d;
  GST_OBJECT_UNLOCK (self);
  if (!self->format_decided && !decide_stream_format (self))
    return FALSE;
  if (!open_encoder (self))
    return FALSE;
  gst_video_encoder_set_latency (venc, 0, 0);
  return set_output (self);
}

/* ---- input pictures ---- */

typedef struct {
  GstVideoFrame vf;
  gboolean taken;
} WrapCtx;

static int
wrap_alloc (LvcPicture * pic, void *opaque)
{
  WrapCtx *c = opaque;

  for (int i = 0; i < 3; i++) {
    pic->data[i] = GST_VIDEO_FRAME_PLANE_DATA (&c->vf, i);
    pic->stride[i] = GST_VIDEO_FRAME_PLANE_STRIDE (&c->vf, i);
  }
  c->taken = TRUE;
  return 0;
}

static void
wrap_release (LvcPicture * pic, void *opaque)
{
  WrapCtx *c = opaque;

  (void) pic;
  gst_video_frame_unmap (&c->vf);
  g_free (c);
}

/* An LvcPicture for the input buffer: I420 is used in place, NV12 is converted. */
static LvcPicture *
make_picture (GstLvcEnc * self, GstBuffer * buf)
{
  GstVideoInfo *info = &self->input_state->info;
  gint w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);
  LvcPicture *pic = NULL;
  int r;

  if (GST_VIDEO_INFO_FORMAT (info) == GST_VIDEO_FORMAT_I420) {
    WrapCtx *c = g_new0 (WrapCtx, 1);
    LvcAllocator a = { wrap_alloc, wrap_release, c };
    if (!gst_video_frame_map (&c->vf, info, buf, GST_MAP_READ)) {
      g_free (c);
      GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("Cannot map the input frame"), (NULL));
      return NULL;
    }
    r = lvc_picture_alloc (w, h, &a, &pic);
    if (r < 0) {
      if (!c->taken) {
        gst_video_frame_unmap (&c->vf);
        g_free (c);
      }
      GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("Cannot wrap the input frame"),
          ("%s", lvc_last_error ()));
      return NULL;
    }
    return pic;
  } else {
    GstVideoFrame vf;
    const guint8 *src;
    gint cw = (w + 1) / 2, ch = (h + 1) / 2;
    if (!gst_video_frame_map (&vf, info, buf, GST_MAP_READ)) {
      GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("Cannot map the input frame"), (NULL));
      return NULL;
    }
    r = lvc_picture_alloc (w, h, NULL, &pic);
    if (r < 0) {
      gst_video_frame_unmap (&vf);
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, ("Cannot allocate a picture"),
          ("%s", lvc_last_error ()));
      return NULL;
    }
    for (gint y = 0; y < h; y++)
      memcpy (pic->data[0] + y * pic->stride[0],
          (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, 0) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 0), (size_t) w);
    for (gint y = 0; y < ch; y++) {
      guint8 *u = pic->data[1] + y * pic->stride[1];
      guint8 *v = pic->data[2] + y * pic->stride[2];
      src = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, 1) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 1);
      for (gint x = 0; x < cw; x++) {
        u[x] = src[2 * x];
        v[x] = src[2 * x + 1];
      }
    }
    gst_video_frame_unmap (&vf);
    return pic;
  }
}

/* ---- output ---- */

static void
wr16 (guint8 * p, guint v)
{
  p[0] = (guint8) v;
  p[1] = (guint8) (v >> 8);
}

static void
wr32 (guint8 * p, guint32 v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (guint8) (v >> (8 * i));
}

static void
wr64 (guint8 * p, guint64 v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (guint8) (v >> (8 * i));
}

static void
write_file_header (GstLvcEnc * self, guint8 * p, guint32 frames, guint64 dur)
{
  memcpy (p, "LVCF", 4);
  wr16 (p + 4, LVC_FILE_VERSION);
  wr16 (p + 6, GST_LVC_FILE_HEADER_SIZE);
  wr16 (p + 8, (guint) self->file_width);
  wr16 (p + 10, (guint) self->file_height);
  wr32 (p + 12, self->tb_num);
  wr32 (p + 16, self->tb_den);
  wr32 (p + 20, frames);
  wr64 (p + 24, dur);
}

static gint64
to_ticks (GstLvcEnc * self, GstClockTime t)
{
  return (gint64) gst_util_uint64_scale_round (t, self->tb_den,
      (guint64) self->tb_num * GST_SECOND);
}

static GstFlowReturn
push_packet (GstLvcEnc * self, LvcPacket * pkt)
{
  GstVideoCodecFrame *frame;
  GstBuffer *buf;
  gboolean key = (pkt->flags & LVC_PACKET_KEYFRAME) != 0;
  int qp = pkt->qp;

  frame = gst_video_encoder_get_frame (GST_VIDEO_ENCODER (self), (int) pkt->pts);
  if (!frame) {
    GST_WARNING_OBJECT (self, "no frame for packet %" G_GINT64_FORMAT, pkt->pts);
    lvc_packet_clear (pkt);
    return GST_FLOW_OK;
  }
  if (self->file_mode) {
    gsize hdr = self->file_header_sent ? 0 : GST_LVC_FILE_HEADER_SIZE;
    GstMapInfo map;
    gint64 ticks = 0, end;
    if (GST_CLOCK_TIME_IS_VALID (frame->pts))
      ticks = to_ticks (self, frame->pts);
    else if (self->file_frames > 0)
      ticks = self->end_ticks;
    end = ticks;
    if (GST_CLOCK_TIME_IS_VALID (frame->pts) && GST_CLOCK_TIME_IS_VALID (frame->duration))
      end = to_ticks (self, frame->pts + frame->duration);
    else if (self->tb_den != VFR_TB_DEN)
      end = ticks + 1;
    if (self->first_ticks < 0 || ticks < self->first_ticks)
      self->first_ticks = ticks;
    if (end > self->end_ticks)
      self->end_ticks = end;
    self->file_frames++;
    buf = gst_buffer_new_allocate (NULL, hdr + GST_LVC_FRAME_HEADER_SIZE + pkt->size, NULL);
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    if (hdr) {
      /* count and duration unknown (0) until they are rewritten at EOS */
      write_file_header (self, map.data, 0, 0);
      self->file_header_sent = TRUE;
    }
    wr32 (map.data + hdr, (guint32) pkt->size);
    wr64 (map.data + hdr + 4, (guint64) ticks);
    memcpy (map.data + hdr + GST_LVC_FRAME_HEADER_SIZE, pkt->data, pkt->size);
    gst_buffer_unmap (buf, &map);
    lvc_packet_clear (pkt);
  } else {
    guint8 *data = pkt->data;
    buf = gst_buffer_new_wrapped_full (0, data, pkt->size, 0, pkt->size, data, free);
    pkt->data = NULL;
    lvc_packet_clear (pkt);
  }
  GST_OBJECT_LOCK (self);
  self->st_frames++;
  if (key)
    self->st_key_frames++;
  self->st_qp_sum += (guint64) qp;
  self->st_bytes += gst_buffer_get_size (buf);
  self->st_last_bytes = (guint) gst_buffer_get_size (buf);
  if (GST_CLOCK_TIME_IS_VALID (frame->duration))
    self->st_duration += frame->duration;
  GST_OBJECT_UNLOCK (self);
  if (key)
    GST_VIDEO_CODEC_FRAME_SET_SYNC_POINT (frame);
  else
    GST_VIDEO_CODEC_FRAME_UNSET_SYNC_POINT (frame);
  frame->output_buffer = buf;
  return gst_video_encoder_finish_frame (GST_VIDEO_ENCODER (self), frame);
}

static GstFlowReturn
gst_lvc_enc_handle_frame (GstVideoEncoder * venc, GstVideoCodecFrame * frame)
{
  GstLvcEnc *self = GST_LVC_ENC (venc);
  GstFlowReturn ret = GST_FLOW_OK;
  LvcPicture *pic;
  LvcPacket pkt;
  gint64 t0;
  gboolean rate_change;
  gint kbps;
  int r;

  if (!self->input_state) {
    gst_video_codec_frame_unref (frame);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!self->enc && !open_encoder (self)) {
    gst_video_codec_frame_unref (frame);
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK (self);
  rate_change = self->bitrate_changed;
  kbps = self->bitrate;
  self->bitrate_changed = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (rate_change && kbps != self->applied_bitrate) {
    r = lvc_encoder_set_bitrate (self->enc, kbps);
    if (r == LVC_EUNSUPPORTED)
      warn_rc_unsupported (self, kbps, lvc_last_error ());
    else if (r < 0)
      GST_WARNING_OBJECT (self, "bitrate %d: %s", kbps, lvc_last_error ());
    else
      self->applied_bitrate = kbps;
  }
  if (GST_VIDEO_CODEC_FRAME_IS_FORCE_KEYFRAME (frame)) {
    GST_DEBUG_OBJECT (self, "forcing a key frame at frame %u", frame->system_frame_number);
    lvc_encoder_force_keyframe (self->enc);
  }
  pic = make_picture (self, frame->input_buffer);
  if (!pic) {
    gst_video_codec_frame_unref (frame);
    return GST_FLOW_ERROR;
  }
  pic->pts = frame->system_frame_number;
  t0 = g_get_monotonic_time ();
  r = lvc_encoder_send_picture (self->enc, pic);
  lvc_picture_unref (pic);
  GST_OBJECT_LOCK (self);
  self->st_encode_ms += (gdouble) (g_get_monotonic_time () - t0) / 1000.0;
  GST_OBJECT_UNLOCK (self);
  gst_video_codec_frame_unref (frame);
  if (r < 0) {
    GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("Encoding failed"), ("%s (%s)",
            lvc_last_error (), lvc_strerror (r)));
    return GST_FLOW_ERROR;
  }
  while ((r = lvc_encoder_receive_packet (self->enc, &pkt)) == 0) {
    ret = push_packet (self, &pkt);
    if (ret != GST_FLOW_OK)
      break;
  }
  return ret;
}

static GstFlowReturn
gst_lvc_enc_finish (GstVideoEncoder * venc)
{
  return drain_encoder (GST_LVC_ENC (venc));
}

static gboolean
gst_lvc_enc_flush (GstVideoEncoder * venc)
{
  GstLvcEnc *self = GST_LVC_ENC (venc);

  /* the stream after a flush starts with a key frame */
  if (self->enc)
    lvc_encoder_force_keyframe (self->enc);
  return TRUE;
}

/* At EOS of .lvc output into a seekable sink (filesink), write the frame count and duration
 * into the file header. */
static void
rewrite_file_header (GstLvcEnc * self)
{
  GstPad *src = GST_VIDEO_ENCODER_SRC_PAD (self);
  GstQuery *q;
  gboolean seekable = FALSE;
  GstSegment seg;
  GstBuffer *buf;
  GstMapInfo map;

  if (!self->file_mode || !self->file_header_sent)
    return;
  q = gst_query_new_seeking (GST_FORMAT_BYTES);
  if (gst_pad_peer_query (src, q))
    gst_query_parse_seeking (q, NULL, &seekable, NULL, NULL);
  gst_query_unref (q);
  if (!seekable) {
    GST_DEBUG_OBJECT (self, "downstream not seekable: file header keeps count 0");
    return;
  }
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  if (!gst_pad_push_event (src, gst_event_new_segment (&seg)))
    return;
  buf = gst_buffer_new_allocate (NULL, GST_LVC_FILE_HEADER_SIZE, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  write_file_header (self, map.data, self->file_frames,
      self->end_ticks > self->first_ticks ? (guint64) (self->end_ticks - self->first_ticks) : 0);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_HEADER);
  GST_INFO_OBJECT (self, "rewriting the file header: %u frames", self->file_frames);
  gst_pad_push (src, buf);
}

static gboolean
gst_lvc_enc_sink_event (GstVideoEncoder * venc, GstEvent * event)
{
  GstLvcEnc *self = GST_LVC_ENC (venc);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    GST_VIDEO_ENCODER_STREAM_LOCK (venc);
    drain_encoder (self);
    rewrite_file_header (self);
    GST_VIDEO_ENCODER_STREAM_UNLOCK (venc);
  }
  return GST_VIDEO_ENCODER_CLASS (parent_class)->sink_event (venc, event);
}

static gboolean
gst_lvc_enc_propose_allocation (GstVideoEncoder * venc, GstQuery * query)
{
  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  return GST_VIDEO_ENCODER_CLASS (parent_class)->propose_allocation (venc, query);
}

static void
gst_lvc_enc_class_init (GstLvcEncClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstVideoEncoderClass *venc_class = GST_VIDEO_ENCODER_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  GST_DEBUG_CATEGORY_INIT (gst_lvc_enc_debug, "lvcenc", 0, "lvc video encoder");

  gobject_class->set_property = gst_lvc_enc_set_property;
  gobject_class->get_property = gst_lvc_enc_get_property;
  gobject_class->finalize = gst_lvc_enc_finalize;

  g_object_class_install_property (gobject_class, PROP_QP,
      g_param_spec_int ("qp", "Quantizer",
          "Quantizer of constant-qp coding (bitrate 0), 0 = best quality", 0, 63, DEFAULT_QP, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_BITRATE,
      g_param_spec_int ("bitrate", "Bitrate",
          "Target bitrate in kbit/s, 0 = constant qp; can be changed while playing and is "
          "applied from the next frame (each frame's qp then comes from rate control, within "
          "vbv-buffer). With a liblvc built without rate control a warning is posted once "
          "and the qp stays constant",
          0, 2000000, DEFAULT_BITRATE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_VBV_BUFFER,
      g_param_spec_int ("vbv-buffer", "VBV buffer",
          "Rate-control leaky-bucket size in milliseconds (used when bitrate > 0)",
          1, 600000, DEFAULT_VBV, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_KEY_INT_MAX,
      g_param_spec_int ("key-int-max", "Maximum key frame interval",
          "Maximum number of frames between key frames; 0 = only the first frame and on "
          "request (force-keyunit), for live streams", 0, G_MAXINT, DEFAULT_KEY_INT_MAX,
          rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_REFRESH_PERIOD,
      g_param_spec_int ("refresh-period", "Refresh period",
          "P-frames between feature refreshes (limits drift); 0 = never", 0, G_MAXINT,
          DEFAULT_REFRESH, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend", "Compute backend", GST_TYPE_LVC_BACKEND,
          DEFAULT_BACKEND, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads", "Worker threads, 0 = automatic", 0, 64,
          DEFAULT_THREADS, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Model file (.lvcm); unset: $LVC_MODEL, else the installed default model "
          LVC_GST_DEFAULT_MODEL, NULL, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Encoding statistics: frames, key-frames, mean-qp, bitrate (kbit/s), "
          "last-frame-bytes, mean-encode-ms", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "lvc video encoder",
      "Codec/Encoder/Video", "Encodes video with the lvc learned video codec",
      "The lvc authors");

  venc_class->start = GST_DEBUG_FUNCPTR (gst_lvc_enc_start);
  venc_class->stop = GST_DEBUG_FUNCPTR (gst_lvc_enc_stop);
  venc_class->set_format = GST_DEBUG_FUNCPTR (gst_lvc_enc_set_format);
  venc_class->handle_frame = GST_DEBUG_FUNCPTR (gst_lvc_enc_handle_frame);
  venc_class->finish = GST_DEBUG_FUNCPTR (gst_lvc_enc_finish);
  venc_class->flush = GST_DEBUG_FUNCPTR (gst_lvc_enc_flush);
  venc_class->sink_event = GST_DEBUG_FUNCPTR (gst_lvc_enc_sink_event);
  venc_class->propose_allocation = GST_DEBUG_FUNCPTR (gst_lvc_enc_propose_allocation);

  gst_type_mark_as_plugin_api (GST_TYPE_LVC_BACKEND, 0);
}
