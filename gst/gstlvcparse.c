/* lvcparse: frames .lvc files (codec/FORMAT.md §4) into packets with timestamps, key-frame
 * flags and caps carrying the sequence header; also accepts elementary frames.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstlvccommon.h"
#include "gstlvcparse.h"
#include "lvcframing.h"

GST_DEBUG_CATEGORY_STATIC (gst_lvc_parse_debug);
#define GST_CAT_DEFAULT gst_lvc_parse_debug

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-lvc, stream-format = (string) elementary, "
        "alignment = (string) frame; video/x-lvc, stream-format = (string) lvc-file"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-lvc, stream-format = (string) elementary, "
        "alignment = (string) frame, profile = (string) lvc-s, parsed = (boolean) true"));

#define gst_lvc_parse_parent_class parent_class
G_DEFINE_TYPE (GstLvcParse, gst_lvc_parse, GST_TYPE_BASE_PARSE);
GST_ELEMENT_REGISTER_DEFINE (lvcparse, "lvcparse", GST_RANK_PRIMARY + 1, GST_TYPE_LVC_PARSE);

static guint32
rd32 (const guint8 * p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) |
      ((guint32) p[3] << 24);
}

static guint64
rd64 (const guint8 * p)
{
  return (guint64) rd32 (p) | ((guint64) rd32 (p + 4) << 32);
}

static void
gst_lvc_parse_init (GstLvcParse * self)
{
  GST_PAD_SET_ACCEPT_INTERSECT (GST_BASE_PARSE_SINK_PAD (self));
  GST_PAD_SET_ACCEPT_TEMPLATE (GST_BASE_PARSE_SINK_PAD (self));
}

static void
reset (GstLvcParse * self)
{
  self->have_file_header = FALSE;
  self->header_size = 0;
  self->width = self->height = 0;
  self->tb_num = self->tb_den = 1;
  self->frame_count = 0;
  self->duration_ticks = 0;
  self->indexed = FALSE;
  self->scanned_duration = GST_CLOCK_TIME_NONE;
  g_clear_pointer (&self->sh, g_free);
  self->sh_size = 0;
  self->seen_key = FALSE;
  self->resyncing = FALSE;
  self->max_frame = 0;
  self->resyncs = 0;
  self->skipped_bytes = 0;
  self->bitrate = 0;
}

static gboolean
gst_lvc_parse_start (GstBaseParse * parse)
{
  GstLvcParse *self = GST_LVC_PARSE (parse);

  reset (self);
  self->elementary = FALSE;
  gst_base_parse_set_min_frame_size (parse, GST_LVC_FILE_HEADER_SIZE);
  gst_base_parse_set_has_timing_info (parse, TRUE);
  gst_base_parse_set_syncable (parse, TRUE);
  gst_base_parse_set_pts_interpolation (parse, FALSE);
  return TRUE;
}

static gboolean
gst_lvc_parse_stop (GstBaseParse * parse)
{
  reset (GST_LVC_PARSE (parse));
  return TRUE;
}

static gboolean
gst_lvc_parse_set_sink_caps (GstBaseParse * parse, GstCaps * caps)
{
  GstLvcParse *self = GST_LVC_PARSE (parse);
  GstStructure *s = gst_caps_get_structure (caps, 0);
  const gchar *fmt = gst_structure_get_string (s, "stream-format");

  self->elementary = (g_strcmp0 (fmt, "elementary") == 0);
  if (self->elementary) {
    gst_base_parse_set_min_frame_size (parse, 1);
    gst_base_parse_set_pts_interpolation (parse, FALSE);
  }
  GST_INFO_OBJECT (self, "input %s", self->elementary ? "elementary frames" : ".lvc file");
  return TRUE;
}

static GstClockTime
ticks_to_time (GstLvcParse * self, gint64 ticks)
{
  if (ticks < 0)
    ticks = 0;
  return gst_util_uint64_scale ((guint64) ticks, (guint64) self->tb_num * GST_SECOND,
      self->tb_den);
}

/* Tags for players and gst-discoverer (pbutils has no description of video/x-lvc): the codec
 * name with the stream's model id and, once the file has been indexed, its mean bitrate. */
static void
post_codec_tags (GstLvcParse * self, const GstLvcSeqInfo * seq)
{
  GstTagList *tags;
  gchar *codec = g_strdup_printf ("lvc (learned video codec, profile lvc-s, model %s)",
      seq->model_id_hex);

  tags = gst_tag_list_new (GST_TAG_VIDEO_CODEC, codec, NULL);
  if (self->bitrate > 0)
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, GST_TAG_BITRATE, self->bitrate, NULL);
  gst_base_parse_merge_tags (GST_BASE_PARSE (self), tags, GST_TAG_MERGE_REPLACE);
  gst_tag_list_unref (tags);
  g_free (codec);
}

/* New source caps when a key frame's sequence header differs from the current one. */
static void
update_caps (GstLvcParse * self, const guint8 * sh, const GstLvcSeqInfo * seq)
{
  GstCaps *caps;
  GstBuffer *cd;

  if (self->sh && gst_lvc_seq_equal (self->sh, self->sh_size, sh, seq->size))
    return;
  g_free (self->sh);
  self->sh = g_memdup2 (sh, seq->size);
  self->sh_size = seq->size;
  cd = gst_buffer_new_memdup (sh, seq->size);
  caps = gst_caps_new_simple ("video/x-lvc",
      "stream-format", G_TYPE_STRING, "elementary",
      "alignment", G_TYPE_STRING, "frame",
      "profile", G_TYPE_STRING, "lvc-s",
      "parsed", G_TYPE_BOOLEAN, TRUE,
      "model-id", G_TYPE_STRING, seq->model_id_hex,
      "width", G_TYPE_INT, seq->width, "height", G_TYPE_INT, seq->height,
      "codec_data", GST_TYPE_BUFFER, cd, NULL);
  gst_buffer_unref (cd);
  if (seq->fps_n > 0 && seq->fps_n <= G_MAXINT && seq->fps_d > 0) {
    gst_caps_set_simple (caps, "framerate", GST_TYPE_FRACTION, (gint) seq->fps_n,
        seq->fps_d, NULL);
    gst_base_parse_set_frame_rate (GST_BASE_PARSE (self), seq->fps_n, (guint) seq->fps_d,
        0, 0);
  }
  if (seq->par_n > 0 && seq->par_d > 0)
    gst_caps_set_simple (caps, "pixel-aspect-ratio", GST_TYPE_FRACTION, seq->par_n,
        seq->par_d, NULL);
  GST_INFO_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  gst_pad_set_caps (GST_BASE_PARSE_SRC_PAD (self), caps);
  gst_caps_unref (caps);
  post_codec_tags (self, seq);
}

/* Flags for one packet; FALSE when it must be dropped (before the first key frame). */
static gboolean
classify_packet (GstLvcParse * self, GstBuffer * out, const guint8 * data, gsize size)
{
  GstLvcSeqInfo seq;

  if (gst_lvc_packet_is_key (data, size) && gst_lvc_seq_parse (data, size, &seq)) {
    update_caps (self, data, &seq);
    self->seen_key = TRUE;
    GST_BUFFER_FLAG_UNSET (out, GST_BUFFER_FLAG_DELTA_UNIT);
    return TRUE;
  }
  GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DELTA_UNIT);
  return self->seen_key;
}

/* Parse the file header; returns FALSE for a file that is not .lvc. */
static gboolean
parse_file_header (GstLvcParse * self, const guint8 * d, gsize size)
{
  guint version, hsize;

  if (size < GST_LVC_FILE_HEADER_SIZE || memcmp (d, "LVCF", 4) != 0)
    return FALSE;
  version = (guint) d[4] | ((guint) d[5] << 8);
  hsize = (guint) d[6] | ((guint) d[7] << 8);
  if (version != LVC_FILE_VERSION) {
    GST_ELEMENT_ERROR (self, STREAM, CODEC_NOT_FOUND, (".lvc file version %u is not "
            "supported", version), (NULL));
    return FALSE;
  }
  self->tb_num = rd32 (d + 12);
  self->tb_den = rd32 (d + 16);
  if (hsize < GST_LVC_FILE_HEADER_SIZE || self->tb_num == 0 || self->tb_den == 0) {
    GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Invalid .lvc file header"),
        ("header size %u, time base %u/%u", hsize, self->tb_num, self->tb_den));
    return FALSE;
  }
  self->header_size = hsize;
  self->width = (gint) (d[8] | (d[9] << 8));
  self->height = (gint) (d[10] | (d[11] << 8));
  self->frame_count = rd32 (d + 20);
  self->duration_ticks = rd64 (d + 24);
  self->have_file_header = TRUE;
  GST_INFO_OBJECT (self, ".lvc file %dx%d, time base %u/%u, %u frames, duration %"
      G_GUINT64_FORMAT " ticks", self->width, self->height, self->tb_num, self->tb_den,
      self->frame_count, self->duration_ticks);
  if (self->duration_ticks > 0 && self->duration_ticks <= G_MAXINT64)
    gst_base_parse_set_duration (GST_BASE_PARSE (self), GST_FORMAT_TIME,
        (gint64) ticks_to_time (self, (gint64) self->duration_ticks), 0);
  return TRUE;
}

/* In pull mode: walk the frame headers of the whole file once, index every key frame and
 * take the duration from the last frame when the header has none. */
static void
build_index (GstLvcParse * self)
{
  GstBaseParse *parse = GST_BASE_PARSE (self);
  GstPad *sink = GST_BASE_PARSE_SINK_PAD (self);
  guint64 off = self->header_size;
  gint64 last_pts = -1, prev_pts = -1;
  guint n = 0, keys = 0;
  GstClockTime duration = GST_CLOCK_TIME_NONE;

  self->indexed = TRUE;
  if (GST_PAD_MODE (sink) != GST_PAD_MODE_PULL)
    return;
  for (;;) {
    GstBuffer *buf = NULL;
    GstMapInfo map;
    guint32 fsize;
    gint64 pts;
    gboolean key;
    if (gst_pad_pull_range (sink, off, GST_LVC_FRAME_HEADER_SIZE + 4, &buf) != GST_FLOW_OK)
      break;
    if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
      gst_buffer_unref (buf);
      break;
    }
    if (map.size < GST_LVC_FRAME_HEADER_SIZE + 1) {
      gst_buffer_unmap (buf, &map);
      gst_buffer_unref (buf);
      break;
    }
    fsize = rd32 (map.data);
    pts = (gint64) rd64 (map.data + 4);
    key = map.size >= GST_LVC_FRAME_HEADER_SIZE + 4 &&
        memcmp (map.data + GST_LVC_FRAME_HEADER_SIZE, "LVC", 3) == 0;
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    if (fsize < 1 || fsize > GST_LVC_MAX_FRAME)
      break;
    /* the resync size bound (lvcframing.h) then admits every frame of the file after a seek */
    if (fsize > self->max_frame)
      self->max_frame = fsize;
    if (key) {
      gst_base_parse_add_index_entry (parse, off, ticks_to_time (self, pts), TRUE, TRUE);
      keys++;
    }
    prev_pts = last_pts;
    last_pts = pts;
    n++;
    off += GST_LVC_FRAME_HEADER_SIZE + (guint64) fsize;
  }
  GST_INFO_OBJECT (self, "indexed %u key frames of %u frames", keys, n);
  if (self->duration_ticks > 0 && self->duration_ticks <= G_MAXINT64)
    duration = ticks_to_time (self, (gint64) self->duration_ticks);
  if (self->duration_ticks == 0 && n >= 2 && last_pts > prev_pts) {
    duration = ticks_to_time (self, last_pts + (last_pts - prev_pts));
    gst_base_parse_set_duration (parse, GST_FORMAT_TIME, (gint64) duration, 0);
  }
  /* mean bitrate of the whole file, frame headers included (posted with the codec tag) */
  if (GST_CLOCK_TIME_IS_VALID (duration) && duration > 0 && off > self->header_size) {
    guint64 bps = gst_util_uint64_scale (off - self->header_size, 8 * GST_SECOND, duration);
    self->bitrate = (guint) MIN (bps, (guint64) G_MAXUINT);
  }
}

/* Flags an elementary frame (mapped at d); the caller unmaps it and then finishes it (finishing
 * may free the frame's buffer). */
static void
handle_elementary (GstLvcParse * self, GstBaseParseFrame * frame, const guint8 * d, gsize size)
{
  if (!gst_lvc_packet_plausible (d, size)) {
    GST_ELEMENT_WARNING (self, STREAM, DECODE, ("Invalid lvc frame dropped"),
        ("%" G_GSIZE_FORMAT " bytes", size));
    frame->flags |= GST_BASE_PARSE_FRAME_FLAG_DROP;
  } else if (!classify_packet (self, frame->buffer, d, size)) {
    frame->flags |= GST_BASE_PARSE_FRAME_FLAG_DROP;
  }
}

static GstFlowReturn
gst_lvc_parse_handle_frame (GstBaseParse * parse, GstBaseParseFrame * frame, gint * skipsize)
{
  GstLvcParse *self = GST_LVC_PARSE (parse);
  GstFlowReturn ret = GST_FLOW_OK;
  gboolean draining = GST_BASE_PARSE_DRAINING (parse);
  GstMapInfo map;
  const guint8 *d;
  gsize avail;
  guint32 fsize;
  gint64 pts;
  LvcFramingState fst;
  LvcFramingResult fr;

  if (!gst_buffer_map (frame->buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  d = map.data;
  avail = map.size;
  *skipsize = 0;

  if (self->elementary) {
    handle_elementary (self, frame, d, avail);
    gst_buffer_unmap (frame->buffer, &map);
    return gst_base_parse_finish_frame (parse, frame, (gint) avail);
  }

  if (!self->have_file_header) {
    if (avail < GST_LVC_FILE_HEADER_SIZE) {
      if (draining)
        *skipsize = (gint) avail;
      goto done;
    }
    if (!parse_file_header (self, d, avail)) {
      gst_buffer_unmap (frame->buffer, &map);
      if (!self->header_size)
        GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE, ("Not an .lvc file"),
            ("no LVCF file header"));
      return GST_FLOW_ERROR;
    }
    if (avail < self->header_size) {
      self->have_file_header = FALSE;
      gst_base_parse_set_min_frame_size (parse, self->header_size);
      goto done;
    }
    gst_buffer_unmap (frame->buffer, &map);
    gst_base_parse_set_min_frame_size (parse, GST_LVC_FRAME_HEADER_SIZE + 1);
    frame->flags |= GST_BASE_PARSE_FRAME_FLAG_DROP;
    return gst_base_parse_finish_frame (parse, frame, (gint) self->header_size);
  }

  if (!self->indexed)
    build_index (self);

  if (GST_BASE_PARSE_LOST_SYNC (parse) && !self->resyncing && self->seen_key) {
    GST_DEBUG_OBJECT (self, "lost sync (discont): checking frame headers strictly");
    self->resyncing = TRUE;
  }

  /* the framing decision (lvcframing.c, fuzzed by tests/fuzz/fuzz_lvcparse.c) */
  fst.resyncing = self->resyncing;
  fst.max_frame = self->max_frame;
  lvc_framing_step (&fst, d, avail, draining, &fr);
  self->resyncing = fst.resyncing;
  self->max_frame = fst.max_frame;
  if (fr.min_size)
    gst_base_parse_set_min_frame_size (parse, (guint) fr.min_size);
  if (fr.action == LVC_FRAMING_SKIP) {
    if (fr.lost_sync) {
      self->resyncs++;
      GST_WARNING_OBJECT (self, "invalid frame header at offset %" G_GUINT64_FORMAT
          ": resynchronising", frame->offset);
    }
    if (fr.truncated)
      GST_WARNING_OBJECT (self, "truncated last frame (%u bytes, %" G_GSIZE_FORMAT
          " present) skipped", rd32 (d), avail - GST_LVC_FRAME_HEADER_SIZE);
    if (fr.scanned)
      self->skipped_bytes += fr.size;
    *skipsize = (gint) fr.size;
  }
  if (fr.action != LVC_FRAMING_FRAME)
    goto done;
  fsize = fr.frame_size;
  pts = fr.pts;
  if (fr.resynced)
    GST_INFO_OBJECT (self, "in sync again at offset %" G_GUINT64_FORMAT, frame->offset);

  frame->out_buffer = gst_buffer_copy_region (frame->buffer, GST_BUFFER_COPY_ALL,
      GST_LVC_FRAME_HEADER_SIZE, fsize);
  GST_BUFFER_PTS (frame->out_buffer) = ticks_to_time (self, pts);
  GST_BUFFER_DTS (frame->out_buffer) = GST_BUFFER_PTS (frame->out_buffer);
  GST_BUFFER_DURATION (frame->out_buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_OFFSET (frame->out_buffer) = GST_BUFFER_OFFSET_NONE;
  if (!classify_packet (self, frame->out_buffer, d + GST_LVC_FRAME_HEADER_SIZE, fsize)) {
    GST_DEBUG_OBJECT (self, "delta frame before the first key frame dropped");
    frame->flags |= GST_BASE_PARSE_FRAME_FLAG_DROP;
  }
  gst_buffer_unmap (frame->buffer, &map);
  return gst_base_parse_finish_frame (parse, frame, (gint) (GST_LVC_FRAME_HEADER_SIZE + fsize));

done:
  gst_buffer_unmap (frame->buffer, &map);
  return ret;
}

/* An .lvc writer upstream (lvcenc) must not try to rewrite its file header through the parser:
 * the parser's output is not a file. */
static gboolean
gst_lvc_parse_sink_query (GstBaseParse * parse, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_SEEKING) {
    GstFormat fmt;
    gst_query_parse_seeking (query, &fmt, NULL, NULL, NULL);
    if (fmt == GST_FORMAT_BYTES) {
      gst_query_set_seeking (query, fmt, FALSE, 0, -1);
      return TRUE;
    }
  }
  return GST_BASE_PARSE_CLASS (parent_class)->sink_query (parse, query);
}

static void
gst_lvc_parse_class_init (GstLvcParseClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseParseClass *parse_class = GST_BASE_PARSE_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_lvc_parse_debug, "lvcparse", 0, "lvc parser");

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "lvc parser",
      "Codec/Parser/Video", "Frames .lvc files and lvc streams: timestamps, key frames, "
      "duration, seeking and resynchronisation after damage", "The lvc authors");

  parse_class->start = GST_DEBUG_FUNCPTR (gst_lvc_parse_start);
  parse_class->stop = GST_DEBUG_FUNCPTR (gst_lvc_parse_stop);
  parse_class->set_sink_caps = GST_DEBUG_FUNCPTR (gst_lvc_parse_set_sink_caps);
  parse_class->handle_frame = GST_DEBUG_FUNCPTR (gst_lvc_parse_handle_frame);
  parse_class->sink_query = GST_DEBUG_FUNCPTR (gst_lvc_parse_sink_query);
}
