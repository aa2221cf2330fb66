/* lvcmux: writes elementary lvc frames (from lvcenc, lvcparse or rtplvcdepay) into an .lvc file
 * (codec/FORMAT.md §4): the 32-byte file header, then each packet behind its 12-byte frame
 * header.  It is the container step of encodebin / transcodebin profiles for .lvc files;
 * lvcenc writes the same format by itself when linked straight to a file sink.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstlvccommon.h"
#include "gstlvcmux.h"

GST_DEBUG_CATEGORY_STATIC (gst_lvc_mux_debug);
#define GST_CAT_DEFAULT gst_lvc_mux_debug

/* time base of a stream without a frame rate: 1/90000 s, as lvcenc */
#define VFR_TB_DEN 90000

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-lvc, stream-format = (string) elementary, "
        "alignment = (string) frame, profile = (string) lvc-s"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-lvc, stream-format = (string) lvc-file"));

#define gst_lvc_mux_parent_class parent_class
G_DEFINE_TYPE (GstLvcMux, gst_lvc_mux, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (lvcmux, "lvcmux", GST_RANK_PRIMARY, GST_TYPE_LVC_MUX);

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
reset (GstLvcMux * self)
{
  self->have_caps = FALSE;
  self->width = self->height = 0;
  self->tb_num = 1;
  self->tb_den = VFR_TB_DEN;
  self->header_sent = FALSE;
  self->offset = 0;
  self->frames = 0;
  self->first_ticks = self->end_ticks = -1;
}

static GstBuffer *
file_header (GstLvcMux * self, guint32 frames, guint64 duration)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_LVC_FILE_HEADER_SIZE, NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memcpy (map.data, "LVCF", 4);
  wr16 (map.data + 4, LVC_FILE_VERSION);
  wr16 (map.data + 6, GST_LVC_FILE_HEADER_SIZE);
  wr16 (map.data + 8, (guint) self->width);
  wr16 (map.data + 10, (guint) self->height);
  wr32 (map.data + 12, self->tb_num);
  wr32 (map.data + 16, self->tb_den);
  wr32 (map.data + 20, frames);
  wr64 (map.data + 24, duration);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_HEADER);
  GST_BUFFER_OFFSET (buf) = 0;
  GST_BUFFER_OFFSET_END (buf) = GST_LVC_FILE_HEADER_SIZE;
  return buf;
}

static gint64
to_ticks (GstLvcMux * self, GstClockTime t)
{
  return (gint64) gst_util_uint64_scale_round (t, self->tb_den,
      (guint64) self->tb_num * GST_SECOND);
}

static gboolean
set_caps (GstLvcMux * self, GstCaps * caps)
{
  GstStructure *s = gst_caps_get_structure (caps, 0);
  gint w = 0, h = 0, fps_n = 0, fps_d = 0;
  GstCaps *out;
  gboolean ok;

  if (self->have_caps) {
    /* a new sequence: its packets carry their own sequence header; the file keeps the first
     * size and time base */
    GST_INFO_OBJECT (self, "new caps %" GST_PTR_FORMAT, caps);
    return TRUE;
  }
  if (!gst_structure_get_int (s, "width", &w) || !gst_structure_get_int (s, "height", &h)
      || w < 1 || w > 65535 || h < 1 || h > 65535) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("lvcmux needs the picture size in the caps"),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  self->width = w;
  self->height = h;
  if (gst_structure_get_fraction (s, "framerate", &fps_n, &fps_d) && fps_n > 0 && fps_d > 0) {
    self->tb_num = (guint32) fps_d;
    self->tb_den = (guint32) fps_n;
  } else {
    self->tb_num = 1;
    self->tb_den = VFR_TB_DEN;
  }
  self->have_caps = TRUE;
  out = gst_caps_new_simple ("video/x-lvc", "stream-format", G_TYPE_STRING, "lvc-file",
      "width", G_TYPE_INT, w, "height", G_TYPE_INT, h, NULL);
  if (fps_n > 0 && fps_d > 0)
    gst_caps_set_simple (out, "framerate", GST_TYPE_FRACTION, fps_n, fps_d, NULL);
  GST_INFO_OBJECT (self, "%dx%d, time base %u/%u", w, h, self->tb_num, self->tb_den);
  ok = gst_pad_set_caps (self->srcpad, out);
  gst_caps_unref (out);
  return ok;
}

/* The file header and the byte segment ahead of the first frame. */
static GstFlowReturn
start_file (GstLvcMux * self)
{
  GstSegment seg;

  gst_segment_init (&seg, GST_FORMAT_BYTES);
  if (!gst_pad_push_event (self->srcpad, gst_event_new_segment (&seg)))
    GST_DEBUG_OBJECT (self, "segment not accepted downstream");
  self->header_sent = TRUE;
  self->offset = GST_LVC_FILE_HEADER_SIZE;
  return gst_pad_push (self->srcpad, file_header (self, 0, 0));
}

/* At EOS, when downstream can seek in bytes (filesink): the frame count and duration. */
static void
finish_file (GstLvcMux * self)
{
  GstQuery *q;
  gboolean seekable = FALSE;
  GstSegment seg;
  guint64 duration = 0;

  if (!self->header_sent)
    return;
  q = gst_query_new_seeking (GST_FORMAT_BYTES);
  if (gst_pad_peer_query (self->srcpad, q))
    gst_query_parse_seeking (q, NULL, &seekable, NULL, NULL);
  gst_query_unref (q);
  if (!seekable) {
    GST_DEBUG_OBJECT (self, "downstream not seekable: the header keeps count 0");
    return;
  }
  if (self->first_ticks >= 0 && self->end_ticks > self->first_ticks)
    duration = (guint64) (self->end_ticks - self->first_ticks);
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  if (!gst_pad_push_event (self->srcpad, gst_event_new_segment (&seg)))
    return;
  GST_INFO_OBJECT (self, "rewriting the file header: %u frames, %" G_GUINT64_FORMAT " ticks",
      self->frames, duration);
  gst_pad_push (self->srcpad, file_header (self, self->frames, duration));
}

static GstFlowReturn
gst_lvc_mux_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstLvcMux *self = GST_LVC_MUX (parent);
  gsize size = gst_buffer_get_size (buf);
  GstClockTime pts = GST_BUFFER_PTS (buf), dur = GST_BUFFER_DURATION (buf);
  GstBuffer *hdr;
  GstMapInfo map;
  gint64 ticks, end;
  GstFlowReturn ret;

  (void) pad;
  if (!self->have_caps) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before the first frame"), (NULL));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (size < 1 || size > GST_LVC_MAX_FRAME) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("An lvc frame of %" G_GSIZE_FORMAT " bytes "
            "cannot be stored in an .lvc file (1 to %u bytes)", size, GST_LVC_MAX_FRAME),
        (NULL));
    return GST_FLOW_ERROR;
  }
  if (!self->header_sent && (ret = start_file (self)) != GST_FLOW_OK) {
    gst_buffer_unref (buf);
    return ret;
  }

  /* as lvcenc's own file output: a frame without a timestamp goes at the end so far; the
   * duration runs to the end of the last frame (one tick of the frame rate when the buffer
   * has no duration) */
  if (GST_CLOCK_TIME_IS_VALID (pts))
    ticks = to_ticks (self, pts);
  else
    ticks = self->frames > 0 ? MAX (self->end_ticks, 0) : 0;
  end = ticks;
  if (GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (dur))
    end = to_ticks (self, pts + dur);
  else if (self->tb_den != VFR_TB_DEN)
    end = ticks + 1;
  if (self->first_ticks < 0 || ticks < self->first_ticks)
    self->first_ticks = ticks;
  if (end > self->end_ticks)
    self->end_ticks = end;

  hdr = gst_buffer_new_allocate (NULL, GST_LVC_FRAME_HEADER_SIZE, NULL);
  gst_buffer_map (hdr, &map, GST_MAP_WRITE);
  wr32 (map.data, (guint32) size);
  wr64 (map.data + 4, (guint64) ticks);
  gst_buffer_unmap (hdr, &map);
  gst_buffer_copy_into (hdr, buf, GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS, 0, 0);
  GST_BUFFER_OFFSET (hdr) = self->offset;
  GST_BUFFER_OFFSET_END (hdr) = self->offset + GST_LVC_FRAME_HEADER_SIZE + size;
  self->offset += GST_LVC_FRAME_HEADER_SIZE + size;
  if (self->frames < G_MAXUINT32)
    self->frames++;
  /* the frame header, then the packet's own memory */
  return gst_pad_push (self->srcpad, gst_buffer_append (hdr, buf));
}

static gboolean
gst_lvc_mux_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstLvcMux *self = GST_LVC_MUX (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ok;
      gst_event_parse_caps (event, &caps);
      ok = set_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      /* the output is bytes: lvcmux sends its own segment ahead of the file header */
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_EOS:
      finish_file (self);
      break;
    default:
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_lvc_mux_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_SEEKING) {
    GstFormat fmt;
    gst_query_parse_seeking (query, &fmt, NULL, NULL, NULL);
    gst_query_set_seeking (query, fmt, FALSE, 0, -1);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

static GstStateChangeReturn
gst_lvc_mux_change_state (GstElement * element, GstStateChange transition)
{
  GstLvcMux *self = GST_LVC_MUX (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    reset (self);
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    reset (self);
  return ret;
}

static void
gst_lvc_mux_init (GstLvcMux * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_lvc_mux_chain));
  gst_pad_set_event_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_lvc_mux_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, GST_DEBUG_FUNCPTR (gst_lvc_mux_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  reset (self);
}

static void
gst_lvc_mux_class_init (GstLvcMuxClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_lvc_mux_debug, "lvcmux", 0, "lvc file writer");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "lvc file muxer",
      "Codec/Muxer/Video", "Writes lvc frames into an .lvc file (for encodebin, "
      "transcodebin and other profile-driven clients)", "The lvc authors");
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_lvc_mux_change_state);
}
