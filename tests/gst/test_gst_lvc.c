/* GstHarness tests of lvcenc, lvcdec and lvcparse (gst-check).  The elements are registered
 * statically from the plugin's sources, so the tests can look at the model cache.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/base/gsttypefindhelper.h>
#include <gst/video/video.h>

#include <lvc/lvc.h>

#include "gstlvc.h"
#include "lvc_check.h"
#include "gstlvccommon.h"
#include "gstlvcdec.h"
#include "gstlvcenc.h"

#define W 64
#define H 48
#define FPS 30
#define FRAME_DUR (GST_SECOND / FPS)
/* the timestamp of frame n, as videotestsrc makes them */
#define TS(n) gst_util_uint64_scale ((guint64) (n), GST_SECOND, FPS)
#define RAW_CAPS "video/x-raw, format = (string) I420, width = (int) 64, height = (int) 48, " \
  "framerate = (fraction) 30/1"
#define ES_CAPS "video/x-lvc, stream-format = (string) elementary"
#define FILE_CAPS "video/x-lvc, stream-format = (string) lvc-file"

static const char *
model_path (void)
{
  return LVC_SOURCE_ROOT "/tests/golden/model_random.lvcm";
}

/* ---- raw frames ---- */

static guint8
pattern (int plane, int x, int y, int n)
{
  if (plane == 0)
    return (guint8) (x * 3 + y * 2 + n * 5 + ((x / 8 + y / 8 + n) % 2) * 40);
  return (guint8) (128 + (plane == 1 ? 1 : -1) * ((x + y + n) % 32 - 16));
}

static GstBuffer *
make_frame (GstVideoFormat fmt, int w, int h, int n)
{
  GstVideoInfo info;
  GstVideoFrame vf;
  GstBuffer *buf;

  gst_video_info_set_format (&info, fmt, (guint) w, (guint) h);
  buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  fail_unless (gst_video_frame_map (&vf, &info, buf, GST_MAP_WRITE));
  for (int y = 0; y < h; y++) {
    guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, 0) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 0);
    for (int x = 0; x < w; x++)
      row[x] = pattern (0, x, y, n);
  }
  for (int y = 0; y < (h + 1) / 2; y++) {
    if (fmt == GST_VIDEO_FORMAT_I420) {
      for (int p = 1; p <= 2; p++) {
        guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, p) +
            y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, p);
        for (int x = 0; x < (w + 1) / 2; x++)
          row[x] = pattern (p, x, y, n);
      }
    } else {
      guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, 1) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 1);
      for (int x = 0; x < (w + 1) / 2; x++) {
        row[2 * x] = pattern (1, x, y, n);
        row[2 * x + 1] = pattern (2, x, y, n);
      }
    }
  }
  gst_video_frame_unmap (&vf);
  GST_BUFFER_PTS (buf) = TS (n);
  GST_BUFFER_DURATION (buf) = FRAME_DUR;
  return buf;
}

/* ---- harness helpers ---- */

static GstHarness *
new_encoder_qp (const char *sink_caps, int key_int_max, int qp)
{
  GstElement *e = gst_element_factory_make ("lvcenc", NULL);
  GstHarness *h;
  /* properties before the harness starts the element */
  g_object_set (e, "model", model_path (), "key-int-max", key_int_max, "threads", 1, "qp", qp,
      NULL);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  /* downstream caps first: lvcenc picks its stream-format when it gets its input caps */
  if (sink_caps)
    gst_harness_set_sink_caps_str (h, sink_caps);
  gst_harness_set_src_caps_str (h, RAW_CAPS);
  return h;
}

static GstHarness *
new_encoder (const char *sink_caps, int key_int_max)
{
  return new_encoder_qp (sink_caps, key_int_max, 32);
}

/* Push frames start..start+n-1 and pull one packet for each. */
static GList *
encode_n (GstHarness * h, GstVideoFormat fmt, int w, int hh, int start, int n, GList * out)
{
  for (int i = start; i < start + n; i++) {
    fail_unless_equals_int (gst_harness_push (h, make_frame (fmt, w, hh, i)), GST_FLOW_OK);
    GstBuffer *b = gst_harness_pull (h);
    fail_unless (b != NULL);
    out = g_list_append (out, b);
  }
  return out;
}

static gboolean
is_key (GstBuffer * b)
{
  return !GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DELTA_UNIT);
}

static GstBus *
attach_bus (GstHarness * h)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  return bus;
}

/* Number of messages of this type on the bus; the text of the last one in *text. */
static int
count_messages (GstBus * bus, GstMessageType type, gchar ** text)
{
  GstMessage *m;
  int n = 0;

  while ((m = gst_bus_pop_filtered (bus, type))) {
    GError *err = NULL;
    gchar *dbg = NULL;
    if (type == GST_MESSAGE_ERROR)
      gst_message_parse_error (m, &err, &dbg);
    else if (type == GST_MESSAGE_WARNING)
      gst_message_parse_warning (m, &err, &dbg);
    if (text && err) {
      g_free (*text);
      *text = g_strdup_printf ("%s | %s", err->message, dbg ? dbg : "");
    }
    g_clear_error (&err);
    g_free (dbg);
    gst_message_unref (m);
    n++;
  }
  return n;
}

static GstCaps *
sink_caps_of (GstHarness * h)
{
  return gst_pad_get_current_caps (h->sinkpad);
}

/* The sequence header of the current output caps (codec_data). */
static GstBuffer *
codec_data_of (GstCaps * caps)
{
  const GValue *v = gst_structure_get_value (gst_caps_get_structure (caps, 0), "codec_data");
  fail_unless (v != NULL);
  return gst_value_get_buffer (v);
}

static void
free_list (GList * l)
{
  g_list_free_full (l, (GDestroyNotify) gst_buffer_unref);
}

/* Decode packets with liblvc directly and compare with the I420 buffers decoded by lvcdec;
 * a decoded buffer is matched to its packet by timestamp (lvcdec may drop some). */
static void
compare_with_library (GList * packets, GList * decoded)
{
  LvcModel *model = NULL;
  LvcDecoder *dec = NULL;
  LvcDecoderSettings s;
  int i = 0, matched = 0;

  fail_unless_equals_int (lvc_model_load (model_path (), &model), 0);
  lvc_decoder_settings_default (&s);
  s.model = model;
  s.threads = 1;
  fail_unless_equals_int (lvc_decoder_open (&dec, &s), 0);
  for (GList * p = packets; p; p = p->next, i++) {
    GstMapInfo map;
    LvcPicture *pic = NULL;
    GstVideoInfo info;
    GstVideoFrame vf;
    GstBuffer *d = NULL;
    fail_unless (gst_buffer_map (p->data, &map, GST_MAP_READ));
    fail_unless_equals_int (lvc_decoder_send_packet (dec, map.data, map.size, i), 0);
    gst_buffer_unmap (p->data, &map);
    fail_unless_equals_int (lvc_decoder_receive_picture (dec, &pic), 0);
    for (GList * l = decoded; l; l = l->next)
      if (GST_BUFFER_PTS (l->data) == GST_BUFFER_PTS (p->data))
        d = l->data;
    if (!d) {
      lvc_picture_unref (pic);
      continue;
    }
    matched++;
    gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, (guint) pic->width,
        (guint) pic->height);
    fail_unless (gst_video_frame_map (&vf, &info, d, GST_MAP_READ));
    for (int pl = 0; pl < 3; pl++) {
      int w = pl ? (pic->width + 1) / 2 : pic->width, hh = pl ? (pic->height + 1) / 2 :
          pic->height;
      for (int y = 0; y < hh; y++)
        fail_unless (memcmp ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, pl) +
                y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, pl), pic->data[pl] + y * pic->stride[pl],
                (size_t) w) == 0, "frame %d plane %d row %d differs from liblvc", i, pl, y);
    }
    gst_video_frame_unmap (&vf);
    lvc_picture_unref (pic);
  }
  fail_unless_equals_int (matched, g_list_length (decoded));
  lvc_decoder_close (dec);
  lvc_model_unref (model);
}

static GstHarness *
new_decoder (GstCaps * caps, const char *model)
{
  GstElement *e = gst_element_factory_make ("lvcdec", NULL);
  GstHarness *h;
  if (model)
    g_object_set (e, "model", model, NULL);
  g_object_set (e, "threads", 1, NULL);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps (h, gst_caps_copy (caps));
  return h;
}

/* Push packets into lvcdec and pull what comes out (after EOS). */
static GList *
decode_all (GstHarness * h, GList * packets)
{
  GList *out = NULL;
  GstBuffer *b;

  for (GList * p = packets; p; p = p->next)
    gst_harness_push (h, gst_buffer_ref (p->data));
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((b = gst_harness_try_pull (h)))
    out = g_list_append (out, b);
  return out;
}

/* ---- tests ---- */

GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("lvcenc", NULL);
  GParamSpec *ps;
  GstStructure *st = NULL;
  gint qp, kim, rp, br, backend;

  fail_unless (e != NULL);
  fail_unless (gst_element_factory_find ("lvcdec") != NULL);
  fail_unless (gst_element_factory_find ("lvcparse") != NULL);
  g_object_get (e, "qp", &qp, "key-int-max", &kim, "refresh-period", &rp, "bitrate", &br,
      "backend", &backend, "stats", &st, NULL);
  fail_unless_equals_int (qp, 32);
  fail_unless_equals_int (kim, 256);
  fail_unless_equals_int (rp, 32);
  fail_unless_equals_int (br, 0);
  fail_unless_equals_int (backend, LVC_BACKEND_AUTO);
  fail_unless (st != NULL);
  fail_unless (gst_structure_has_field (st, "frames"));
  fail_unless (gst_structure_has_field (st, "key-frames"));
  fail_unless (gst_structure_has_field (st, "mean-qp"));
  fail_unless (gst_structure_has_field (st, "bitrate"));
  fail_unless (gst_structure_has_field (st, "last-frame-bytes"));
  fail_unless (gst_structure_has_field (st, "mean-encode-ms"));
  gst_structure_free (st);
  ps = g_object_class_find_property (G_OBJECT_GET_CLASS (e), "bitrate");
  fail_unless (ps->flags & GST_PARAM_MUTABLE_PLAYING);
  ps = g_object_class_find_property (G_OBJECT_GET_CLASS (e), "qp");
  fail_unless_equals_int (G_PARAM_SPEC_INT (ps)->maximum, 63);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_roundtrip)
{
  GstHarness *he = new_encoder (ES_CAPS, 256), *hd;
  GList *packets, *decoded;
  GstCaps *caps;
  GstBuffer *cd;
  GstMapInfo m1, m2;
  const GstStructure *s;
  GstStructure *st = NULL;
  guint64 frames = 0, keys = 0;
  int i;

  packets = encode_n (he, GST_VIDEO_FORMAT_I420, W, H, 0, 8, NULL);
  caps = sink_caps_of (he);
  s = gst_caps_get_structure (caps, 0);
  fail_unless_equals_string (gst_structure_get_string (s, "stream-format"), "elementary");
  fail_unless_equals_string (gst_structure_get_string (s, "alignment"), "frame");
  fail_unless_equals_string (gst_structure_get_string (s, "profile"), "lvc-s");
  fail_unless_equals_string (gst_structure_get_string (s, "model-id"),
      "429c76c53c1967a3d22c91338ac849ce");
  /* codec_data is the sequence header the key frame starts with */
  cd = codec_data_of (caps);
  fail_unless (gst_buffer_map (cd, &m1, GST_MAP_READ));
  fail_unless (gst_buffer_map (packets->data, &m2, GST_MAP_READ));
  fail_unless (m1.size >= 44 && m2.size > m1.size);
  fail_unless (memcmp (m1.data, m2.data, m1.size) == 0);
  fail_unless_equals_int (m2.data[m1.size], 0x90);
  gst_buffer_unmap (packets->data, &m2);
  gst_buffer_unmap (cd, &m1);
  i = 0;
  for (GList * l = packets; l; l = l->next, i++) {
    fail_unless_equals_uint64 (GST_BUFFER_PTS (l->data), TS (i));
    fail_unless_equals_int (is_key (l->data), i == 0);
  }
  g_object_get (he->element, "stats", &st, NULL);
  fail_unless (gst_structure_get_uint64 (st, "frames", &frames));
  fail_unless (gst_structure_get_uint64 (st, "key-frames", &keys));
  fail_unless_equals_uint64 (frames, 8);
  fail_unless_equals_uint64 (keys, 1);
  gst_structure_free (st);

  hd = new_decoder (caps, model_path ());
  decoded = decode_all (hd, packets);
  fail_unless_equals_int (g_list_length (decoded), 8);
  i = 0;
  for (GList * l = decoded; l; l = l->next, i++)
    fail_unless_equals_uint64 (GST_BUFFER_PTS (l->data), TS (i));
  {
    GstCaps *oc = sink_caps_of (hd);
    GstVideoInfo vi;
    fail_unless (gst_video_info_from_caps (&vi, oc));
    fail_unless_equals_int (GST_VIDEO_INFO_FORMAT (&vi), GST_VIDEO_FORMAT_I420);
    fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&vi), W);
    fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&vi), H);
    fail_unless_equals_int (vi.par_n, 1);
    fail_unless_equals_int (vi.par_d, 1);
    gst_caps_unref (oc);
  }
  compare_with_library (packets, decoded);

  free_list (packets);
  free_list (decoded);
  gst_caps_unref (caps);
  gst_harness_teardown (he);
  gst_harness_teardown (hd);
}

GST_END_TEST;

static double
psnr_y (GstBuffer * a, GstBuffer * b, int w, int h)
{
  GstVideoInfo info;
  GstVideoFrame fa, fb;
  double se = 0;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, (guint) w, (guint) h);
  fail_unless (gst_video_frame_map (&fa, &info, a, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fb, &info, b, GST_MAP_READ));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int d = ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fa, 0))[y *
          GST_VIDEO_FRAME_PLANE_STRIDE (&fa, 0) + x] -
          ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fb, 0))[y *
          GST_VIDEO_FRAME_PLANE_STRIDE (&fb, 0) + x];
      se += d * d;
    }
  gst_video_frame_unmap (&fa);
  gst_video_frame_unmap (&fb);
  if (se == 0)
    return 99;
  return 10 * log10 (255.0 * 255.0 * w * h / se);
}

/* With a trained default model: the decoded pictures resemble the input. */
GST_START_TEST (test_roundtrip_quality)
{
  const char *trained = LVC_SOURCE_ROOT "/models/default.lvcm";
  GstHarness *he, *hd;
  GList *packets = NULL, *decoded;
  GstCaps *caps;
  int i = 0;

  if (!g_file_test (trained, G_FILE_TEST_IS_REGULAR)) {
    GST_INFO ("no trained model at %s: quality check skipped", trained);
    return;
  }
  {
    GstElement *e = gst_element_factory_make ("lvcenc", NULL);
    g_object_set (e, "model", trained, "qp", 24, "threads", 1, NULL);
    he = gst_harness_new_with_element (e, "sink", "src");
    gst_object_unref (e);
  }
  gst_harness_set_sink_caps_str (he, ES_CAPS);
  gst_harness_set_src_caps_str (he, RAW_CAPS);
  packets = encode_n (he, GST_VIDEO_FORMAT_I420, W, H, 0, 4, NULL);
  caps = sink_caps_of (he);
  hd = new_decoder (caps, trained);
  decoded = decode_all (hd, packets);
  fail_unless_equals_int (g_list_length (decoded), 4);
  for (GList * l = decoded; l; l = l->next, i++) {
    GstBuffer *src = make_frame (GST_VIDEO_FORMAT_I420, W, H, i);
    double p = psnr_y (src, l->data, W, H);
    fail_unless (p > 20.0, "frame %d: PSNR-Y %.2f dB below the 20 dB floor", i, p);
    gst_buffer_unref (src);
  }
  free_list (packets);
  free_list (decoded);
  gst_caps_unref (caps);
  gst_harness_teardown (he);
  gst_harness_teardown (hd);
}

GST_END_TEST;

GST_START_TEST (test_force_keyunit)
{
  GstHarness *h = new_encoder (ES_CAPS, 0);
  GList *out;
  GstEvent *ev;
  int i = 0, n_fku = 0;

  out = encode_n (h, GST_VIDEO_FORMAT_I420, W, H, 0, 3, NULL);
  /* from downstream (a decoder or payloader asking for a key frame) */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 1)));
  out = encode_n (h, GST_VIDEO_FORMAT_I420, W, H, 3, 3, out);
  /* from upstream, for the next frame */
  fail_unless (gst_harness_push_event (h,
          gst_video_event_new_downstream_force_key_unit (GST_CLOCK_TIME_NONE,
              GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, TRUE, 2)));
  out = encode_n (h, GST_VIDEO_FORMAT_I420, W, H, 6, 2, out);
  for (GList * l = out; l; l = l->next, i++)
    fail_unless_equals_int (is_key (l->data), i == 0 || i == 3 || i == 6);
  /* the key units are announced downstream */
  while ((ev = gst_harness_try_pull_event (h))) {
    if (gst_video_event_is_force_key_unit (ev))
      n_fku++;
    gst_event_unref (ev);
  }
  fail_unless (n_fku >= 2);
  free_list (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_bitrate_playing)
{
  GstHarness *h = new_encoder_qp (ES_CAPS, 256, 12);
  GstBus *bus = attach_bus (h);
  GList *out;
  GstStructure *st = NULL;
  gchar *text = NULL;
  gsize before = 0, after = 0;
  gdouble mean_qp = 0;
  int warnings, i = 0;

  out = encode_n (h, GST_VIDEO_FORMAT_I420, W, H, 0, 6, NULL);
  fail_unless_equals_int (GST_STATE (h->element), GST_STATE_PLAYING);
  g_object_set (h->element, "bitrate", 20, NULL);
  out = encode_n (h, GST_VIDEO_FORMAT_I420, W, H, 6, 12, out);
  g_object_set (h->element, "bitrate", 30, NULL);
  out = encode_n (h, GST_VIDEO_FORMAT_I420, W, H, 18, 2, out);
  fail_unless_equals_int (g_list_length (out), 20);
  for (GList * l = out; l; l = l->next, i++) {
    if (i >= 2 && i < 6)
      before += gst_buffer_get_size (l->data);
    else if (i >= 14 && i < 18)
      after += gst_buffer_get_size (l->data);
  }
  warnings = count_messages (bus, GST_MESSAGE_WARNING, &text);
  g_object_get (h->element, "stats", &st, NULL);
  fail_unless (gst_structure_get_double (st, "mean-qp", &mean_qp));
  gst_structure_free (st);
  if (warnings > 0) {
    /* liblvc without rate control: warned once, constant qp kept, nothing else changed */
    fail_unless_equals_int (warnings, 1);
    fail_unless (strstr (text, "Rate control") != NULL, "warning: %s", text);
    fail_unless (mean_qp == 12.0);
  } else {
    /* with rate control, 20 kbit/s at 30 fps is ~83 bytes a frame, far below qp 12: the qp
     * goes up and the frames get smaller (as far as the random model lets them) */
    fail_unless (mean_qp > 12.5, "mean qp %.2f", mean_qp);
    fail_unless (after < before, "bitrate change had no effect: %zu -> %zu bytes", before,
        after);
  }
  g_free (text);
  free_list (out);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_eos_drains)
{
  GstHarness *h = new_encoder (ES_CAPS, 256);
  GstEvent *ev;
  gboolean eos = FALSE;

  for (int i = 0; i < 5; i++)
    fail_unless_equals_int (gst_harness_push (h, make_frame (GST_VIDEO_FORMAT_I420, W, H,
                i)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (gst_harness_buffers_received (h), 5);
  while ((ev = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_EOS)
      eos = TRUE;
    gst_event_unref (ev);
  }
  fail_unless (eos);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_caps_change)
{
  GstHarness *he = new_encoder (ES_CAPS, 256), *hd;
  GList *out, *decoded;
  GstCaps *c1, *c2;
  GstMapInfo m;
  GstVideoInfo vi;
  int i = 0;

  out = encode_n (he, GST_VIDEO_FORMAT_I420, W, H, 0, 3, NULL);
  c1 = sink_caps_of (he);
  gst_harness_set_src_caps_str (he, "video/x-raw, format = (string) I420, width = (int) 80, "
      "height = (int) 64, framerate = (fraction) 30/1");
  out = encode_n (he, GST_VIDEO_FORMAT_I420, 80, 64, 3, 3, out);
  c2 = sink_caps_of (he);
  fail_if (gst_caps_is_equal (c1, c2));
  for (GList * l = out; l; l = l->next, i++)
    fail_unless_equals_int (is_key (l->data), i == 0 || i == 3);
  /* the new sequence header says 80x64, in the packet and in codec_data */
  fail_unless (gst_buffer_map (g_list_nth_data (out, 3), &m, GST_MAP_READ));
  fail_unless (m.size > 44 && m.data[0] == 'L');
  fail_unless_equals_int (m.data[22] | (m.data[23] << 8), 80);
  fail_unless_equals_int (m.data[24] | (m.data[25] << 8), 64);
  gst_buffer_unmap (g_list_nth_data (out, 3), &m);
  fail_unless (gst_buffer_map (codec_data_of (c2), &m, GST_MAP_READ));
  fail_unless_equals_int (m.data[22] | (m.data[23] << 8), 80);
  gst_buffer_unmap (codec_data_of (c2), &m);

  /* lvcdec follows the new sequence */
  hd = new_decoder (c1, model_path ());
  for (i = 0; i < 3; i++)
    gst_harness_push (hd, gst_buffer_ref (g_list_nth_data (out, (guint) i)));
  gst_harness_set_src_caps (hd, gst_caps_ref (c2));
  for (i = 3; i < 6; i++)
    gst_harness_push (hd, gst_buffer_ref (g_list_nth_data (out, (guint) i)));
  gst_harness_push_event (hd, gst_event_new_eos ());
  decoded = NULL;
  for (GstBuffer * b; (b = gst_harness_try_pull (hd));)
    decoded = g_list_append (decoded, b);
  fail_unless_equals_int (g_list_length (decoded), 6);
  {
    GstCaps *oc = sink_caps_of (hd);
    fail_unless (gst_video_info_from_caps (&vi, oc));
    fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&vi), 80);
    gst_caps_unref (oc);
  }
  compare_with_library (out, decoded);
  free_list (out);
  free_list (decoded);
  gst_caps_unref (c1);
  gst_caps_unref (c2);
  gst_harness_teardown (he);
  gst_harness_teardown (hd);
}

GST_END_TEST;

GST_START_TEST (test_nv12_input)
{
  GstHarness *h1 = new_encoder (ES_CAPS, 256), *h2 = new_encoder (ES_CAPS, 256);
  GList *a, *b;

  gst_harness_set_src_caps_str (h2, "video/x-raw, format = (string) NV12, width = (int) 64, "
      "height = (int) 48, framerate = (fraction) 30/1");
  a = encode_n (h1, GST_VIDEO_FORMAT_I420, W, H, 0, 3, NULL);
  b = encode_n (h2, GST_VIDEO_FORMAT_NV12, W, H, 0, 3, NULL);
  /* the same pictures in NV12 code to the same packets */
  for (GList * x = a, *y = b; x && y; x = x->next, y = y->next) {
    GstMapInfo ma, mb;
    fail_unless (gst_buffer_map (x->data, &ma, GST_MAP_READ));
    fail_unless (gst_buffer_map (y->data, &mb, GST_MAP_READ));
    fail_unless_equals_uint64 (ma.size, mb.size);
    fail_unless (memcmp (ma.data, mb.data, ma.size) == 0);
    gst_buffer_unmap (x->data, &ma);
    gst_buffer_unmap (y->data, &mb);
  }
  free_list (a);
  free_list (b);
  gst_harness_teardown (h1);
  gst_harness_teardown (h2);
}

GST_END_TEST;

GST_START_TEST (test_shared_model)
{
  GstHarness *h1 = new_encoder (ES_CAPS, 256), *h2 = new_encoder (ES_CAPS, 256), *hd;
  GList *a, *b, *d;
  GstCaps *caps;

  a = encode_n (h1, GST_VIDEO_FORMAT_I420, W, H, 0, 2, NULL);
  b = encode_n (h2, GST_VIDEO_FORMAT_I420, W, H, 0, 2, NULL);
  fail_unless (GST_LVC_ENC (h1->element)->model != NULL);
  fail_unless (GST_LVC_ENC (h1->element)->model == GST_LVC_ENC (h2->element)->model);
  fail_unless_equals_int (gst_lvc_model_cache_size (), 1);
  /* a decoder finding the model by the stream's id gets the same one */
  g_setenv ("LVC_MODEL_PATH", "/nonexistent", TRUE);
  g_unsetenv ("LVC_MODEL");
  caps = sink_caps_of (h1);
  hd = new_decoder (caps, NULL);
  d = decode_all (hd, a);
  fail_unless_equals_int (g_list_length (d), 2);
  fail_unless (GST_LVC_DEC (hd->element)->model == GST_LVC_ENC (h1->element)->model);
  fail_unless_equals_int (gst_lvc_model_cache_size (), 1);
  free_list (a);
  free_list (b);
  free_list (d);
  gst_caps_unref (caps);
  gst_harness_teardown (h1);
  gst_harness_teardown (h2);
  gst_harness_teardown (hd);
  /* the last user gone, the model is freed */
  fail_unless_equals_int (gst_lvc_model_cache_size (), 0);
}

GST_END_TEST;

/* Replace the model id in a key frame's sequence header. */
static GstBuffer *
with_model_id (GstBuffer * b, guint8 byte)
{
  GstBuffer *c = gst_buffer_copy_deep (b);
  GstMapInfo m;

  fail_unless (gst_buffer_map (c, &m, GST_MAP_WRITE));
  fail_unless (m.size > 44 && m.data[0] == 'L');
  memset (m.data + 6, byte, LVC_MODEL_ID_SIZE);
  gst_buffer_unmap (c, &m);
  return c;
}

GST_START_TEST (test_missing_model)
{
  GstHarness *he = new_encoder (ES_CAPS, 256), *hd;
  GList *out;
  GstCaps *caps;
  GstBus *bus;
  gchar *text = NULL;
  GstFlowReturn fr;

  g_unsetenv ("LVC_MODEL");
  g_setenv ("LVC_MODEL_PATH", "/nonexistent", TRUE);
  out = encode_n (he, GST_VIDEO_FORMAT_I420, W, H, 0, 1, NULL);
  caps = gst_caps_from_string (ES_CAPS ", alignment = (string) frame, profile = (string) lvc-s");

  /* an id no installed model has */
  hd = new_decoder (caps, NULL);
  bus = attach_bus (hd);
  fr = gst_harness_push (hd, with_model_id (out->data, 0xab));
  fail_unless (fr != GST_FLOW_OK);
  fail_unless_equals_int (count_messages (bus, GST_MESSAGE_ERROR, &text), 1);
  fail_unless (strstr (text, "abababababababababababababababab") != NULL, "error: %s", text);
  g_clear_pointer (&text, g_free);
  gst_element_set_bus (hd->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (hd);

  /* the model property names a model with another id */
  hd = new_decoder (caps, model_path ());
  bus = attach_bus (hd);
  fr = gst_harness_push (hd, with_model_id (out->data, 0xcd));
  fail_unless (fr != GST_FLOW_OK);
  fail_unless_equals_int (count_messages (bus, GST_MESSAGE_ERROR, &text), 1);
  fail_unless (strstr (text, "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd") != NULL, "error: %s", text);
  fail_unless (strstr (text, "429c76c53c1967a3d22c91338ac849ce") != NULL, "error: %s", text);
  g_clear_pointer (&text, g_free);
  gst_element_set_bus (hd->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (hd);

  /* a newer bitstream version is an error, not damage */
  hd = new_decoder (caps, model_path ());
  bus = attach_bus (hd);
  {
    GstBuffer *v2 = gst_buffer_copy_deep (out->data);
    GstMapInfo m;
    fail_unless (gst_buffer_map (v2, &m, GST_MAP_WRITE));
    m.data[3] = 2;
    gst_buffer_unmap (v2, &m);
    fail_unless (gst_harness_push (hd, v2) != GST_FLOW_OK);
  }
  fail_unless_equals_int (count_messages (bus, GST_MESSAGE_ERROR, &text), 1);
  fail_unless (strstr (text, "bitstream version 2") != NULL, "error: %s", text);
  g_free (text);
  gst_element_set_bus (hd->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (hd);

  free_list (out);
  gst_caps_unref (caps);
  gst_harness_teardown (he);
}

GST_END_TEST;

GST_START_TEST (test_corrupt_frame)
{
  GstHarness *he = new_encoder (ES_CAPS, 6), *hd;
  GList *out, *decoded = NULL;
  GstCaps *caps;
  GstBus *bus;
  GstEvent *ev;
  GstBuffer *b;
  int n_fku = 0, i = 0;

  out = encode_n (he, GST_VIDEO_FORMAT_I420, W, H, 0, 12, NULL);
  caps = sink_caps_of (he);
  fail_unless (is_key (g_list_nth_data (out, 6)));
  hd = new_decoder (caps, model_path ());
  bus = attach_bus (hd);
  for (GList * l = out; l; l = l->next, i++) {
    GstBuffer *in = gst_buffer_ref (l->data);
    if (i == 2) {
      /* reserved bits of the frame-unit header byte set: the frame is invalid */
      GstMapInfo m;
      gst_buffer_unref (in);
      in = gst_buffer_copy_deep (l->data);
      fail_unless (gst_buffer_map (in, &m, GST_MAP_WRITE));
      m.data[0] |= 0x0f;
      gst_buffer_unmap (in, &m);
    }
    fail_unless_equals_int (gst_harness_push (hd, in), GST_FLOW_OK);
  }
  gst_harness_push_event (hd, gst_event_new_eos ());
  while ((b = gst_harness_try_pull (hd)))
    decoded = g_list_append (decoded, b);
  /* frames 0, 1 and from the key frame 6 on; 2 is damaged, 3..5 wait for the key frame */
  fail_unless_equals_int (g_list_length (decoded), 8);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (g_list_nth_data (decoded, 1)), TS (1));
  fail_unless_equals_uint64 (GST_BUFFER_PTS (g_list_nth_data (decoded, 2)), TS (6));
  fail_unless (count_messages (bus, GST_MESSAGE_WARNING, NULL) >= 1);
  fail_unless_equals_int (count_messages (bus, GST_MESSAGE_ERROR, NULL), 0);
  while ((ev = gst_harness_try_pull_upstream_event (hd))) {
    if (gst_video_event_is_force_key_unit (ev))
      n_fku++;
    gst_event_unref (ev);
  }
  /* throttled: one request for the whole gap */
  fail_unless_equals_int (n_fku, 1);
  fail_unless_equals_int (GST_LVC_DEC (hd->element)->key_requests, 1);
  free_list (out);
  free_list (decoded);
  gst_caps_unref (caps);
  gst_element_set_bus (hd->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (he);
  gst_harness_teardown (hd);
}

GST_END_TEST;

/* Encode n frames into the bytes of an .lvc file (lvcenc's lvc-file output). */
static GByteArray *
encode_file (int n, int key_int_max)
{
  GstHarness *h = new_encoder (FILE_CAPS, key_int_max);
  GByteArray *file = g_byte_array_new ();
  GstBuffer *b;

  for (int i = 0; i < n; i++)
    fail_unless_equals_int (gst_harness_push (h, make_frame (GST_VIDEO_FORMAT_I420, W, H,
                i)), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((b = gst_harness_try_pull (h))) {
    GstMapInfo m;
    fail_unless (gst_buffer_map (b, &m, GST_MAP_READ));
    g_byte_array_append (file, m.data, (guint) m.size);
    gst_buffer_unmap (b, &m);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
  return file;
}

/* Push bytes into lvcparse in chunks; return the packets. */
static GList *
parse_bytes (const guint8 * data, gsize size, gsize chunk, GstCaps ** caps_out)
{
  GstHarness *h = gst_harness_new ("lvcparse");
  GList *out = NULL;
  GstBuffer *b;

  gst_harness_set_src_caps_str (h, FILE_CAPS);
  {
    /* bytes from a file, as filesrc sends them (a TIME segment would make lvcparse keep
     * upstream timestamps) */
    GstSegment seg;
    gst_segment_init (&seg, GST_FORMAT_BYTES);
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  }
  for (gsize off = 0; off < size; off += chunk) {
    gsize n = MIN (chunk, size - off);
    fail_unless_equals_int (gst_harness_push (h, gst_buffer_new_memdup (data + off, n)),
        GST_FLOW_OK);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((b = gst_harness_try_pull (h)))
    out = g_list_append (out, b);
  if (caps_out)
    *caps_out = sink_caps_of (h);
  gst_harness_teardown (h);
  return out;
}

static guint32
rd32 (const guint8 * p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

GST_START_TEST (test_file_output_and_parse)
{
  GByteArray *file = encode_file (10, 4);
  GList *pk;
  GstCaps *caps = NULL;
  const GstStructure *s;
  int i = 0;
  gsize off;

  /* file header, then frames of u32 size, i64 pts (ticks of 1/30 s) */
  fail_unless (file->len > 32 && memcmp (file->data, "LVCF", 4) == 0);
  fail_unless_equals_int (file->data[4], 1);
  fail_unless_equals_int (file->data[6], 32);
  fail_unless_equals_int (rd32 (file->data + 12), 1);
  fail_unless_equals_int (rd32 (file->data + 16), 30);
  off = 32;
  for (i = 0; off < file->len; i++) {
    fail_unless_equals_int (rd32 (file->data + off + 4), i);
    off += 12 + rd32 (file->data + off);
  }
  fail_unless_equals_int (i, 10);
  fail_unless_equals_uint64 (off, file->len);

  /* the typefinder knows the file */
  {
    GstTypeFindProbability prob = GST_TYPE_FIND_NONE;
    GstCaps *tc = gst_type_find_helper_for_data (NULL, file->data, file->len, &prob);
    fail_unless (tc != NULL);
    fail_unless_equals_string (gst_structure_get_name (gst_caps_get_structure (tc, 0)),
        "video/x-lvc");
    fail_unless_equals_int (prob, GST_TYPE_FIND_MAXIMUM);
    gst_caps_unref (tc);
  }
  pk = parse_bytes (file->data, file->len, 100, &caps);
  fail_unless_equals_int (g_list_length (pk), 10);
  i = 0;
  for (GList * l = pk; l; l = l->next, i++) {
    fail_unless_equals_uint64 (GST_BUFFER_PTS (l->data), TS (i));
    fail_unless_equals_int (is_key (l->data), i % 4 == 0);
  }
  s = gst_caps_get_structure (caps, 0);
  fail_unless_equals_string (gst_structure_get_string (s, "stream-format"), "elementary");
  fail_unless_equals_string (gst_structure_get_string (s, "model-id"),
      "429c76c53c1967a3d22c91338ac849ce");
  fail_unless (gst_structure_get_value (s, "codec_data") != NULL);
  free_list (pk);
  gst_caps_unref (caps);
  g_byte_array_unref (file);
}

GST_END_TEST;

GST_START_TEST (test_parse_small_lvc)
{
  gchar *data = NULL;
  gsize size = 0;
  GList *pk;
  GstCaps *caps = NULL;

  fail_unless (g_file_get_contents (LVC_SOURCE_ROOT "/tests/data/small.lvc", &data, &size,
          NULL));
  pk = parse_bytes ((const guint8 *) data, size, 7, &caps);
  fail_unless (g_list_length (pk) >= 1);
  fail_unless (is_key (pk->data));
  /* time base 1001/30000 */
  if (g_list_length (pk) > 1)
    fail_unless_equals_uint64 (GST_BUFFER_PTS (g_list_nth_data (pk, 1)),
        gst_util_uint64_scale (1001, GST_SECOND, 30000));
  fail_unless (caps != NULL);
  free_list (pk);
  gst_caps_unref (caps);
  g_free (data);
}

GST_END_TEST;

GST_START_TEST (test_parse_garbage)
{
  GByteArray *file = encode_file (8, 4), *bad = g_byte_array_new ();
  static const char junk1[] = "this is not an lvc frame header, just garbage \xff\xff\xff\xff";
  guint8 junk2[300];
  GList *pk;
  gsize off = 32;
  int i;

  for (i = 0; i < (int) sizeof (junk2); i++)
    junk2[i] = (guint8) (i * 37 + 11);
  g_byte_array_append (bad, file->data, 32);
  for (i = 0; off < file->len; i++) {
    guint32 n = 12 + rd32 (file->data + off);
    if (i == 3)
      g_byte_array_append (bad, (const guint8 *) junk1, sizeof (junk1));
    if (i == 6)
      g_byte_array_append (bad, junk2, sizeof (junk2));
    g_byte_array_append (bad, file->data + off, n);
    off += n;
  }
  pk = parse_bytes (bad->data, bad->len, 64, NULL);
  /* every frame is found again */
  fail_unless_equals_int (g_list_length (pk), 8);
  i = 0;
  for (GList * l = pk; l; l = l->next, i++)
    fail_unless_equals_uint64 (GST_BUFFER_PTS (l->data), TS (i));
  free_list (pk);
  g_byte_array_unref (file);
  g_byte_array_unref (bad);
}

GST_END_TEST;

static GMutex seen_lock;

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer user_data)
{
  GArray *a = user_data;
  GstClockTime ts = GST_BUFFER_PTS (buf);
  gboolean key = is_key (buf);

  (void) sink;
  (void) pad;
  g_mutex_lock (&seen_lock);
  g_array_append_val (a, ts);
  if (!key) {
    ts = GST_CLOCK_TIME_NONE - 1;      /* marks a delta unit */
    g_array_append_val (a, ts);
  }
  g_mutex_unlock (&seen_lock);
}

static GstPadProbeReturn
record_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  on_handoff (NULL, GST_PAD_PROBE_INFO_BUFFER (info), pad, user_data);
  return GST_PAD_PROBE_OK;
}

GST_START_TEST (test_parse_duration_and_seek)
{
  GByteArray *file = encode_file (30, 10);
  gchar *path = g_build_filename (g_get_tmp_dir (), "lvc-gst-seek-XXXXXX.lvc", NULL);
  GstElement *pipe, *sink;
  GArray *seen = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  gint64 dur = 0;
  gchar *desc;
  int fd;

  fd = g_mkstemp (path);
  fail_unless (fd >= 0);
  fail_unless (write (fd, file->data, file->len) == (gssize) file->len);
  close (fd);
  desc = g_strdup_printf ("filesrc location=%s ! lvcparse name=parse ! fakesink name=sink "
      "sync=false", path);
  pipe = gst_parse_launch (desc, NULL);
  fail_unless (pipe != NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  /* what lvcparse pushes (the sink clips what lies before the seek position) */
  {
    GstElement *parse = gst_bin_get_by_name (GST_BIN (pipe), "parse");
    GstPad *src = gst_element_get_static_pad (parse, "src");
    gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, record_probe, seen, NULL);
    gst_object_unref (src);
    gst_object_unref (parse);
  }
  fail_unless (gst_element_set_state (pipe, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (gst_element_get_state (pipe, NULL, NULL, 10 * GST_SECOND),
      GST_STATE_CHANGE_SUCCESS);
  /* 30 frames at 30 fps */
  fail_unless (gst_element_query_duration (pipe, GST_FORMAT_TIME, &dur));
  fail_unless_equals_uint64 ((guint64) dur, GST_SECOND);
  /* a seek to 0.9 s starts at the key frame before it: frame 20 (0.667 s) */
  g_mutex_lock (&seen_lock);
  g_array_set_size (seen, 0);
  g_mutex_unlock (&seen_lock);
  fail_unless (gst_element_seek_simple (pipe, GST_FORMAT_TIME,
          GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT, 9 * GST_SECOND / 10));
  fail_unless_equals_int (gst_element_get_state (pipe, NULL, NULL, 10 * GST_SECOND),
      GST_STATE_CHANGE_SUCCESS);
  g_mutex_lock (&seen_lock);
  fail_unless (seen->len >= 1);
  fail_unless_equals_uint64 (g_array_index (seen, GstClockTime, 0), TS (20));
  fail_unless (seen->len == 1 || g_array_index (seen, GstClockTime, 1) != GST_CLOCK_TIME_NONE
      - 1, "the first buffer after the seek is not a key frame");
  g_mutex_unlock (&seen_lock);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  g_unlink (path);
  g_free (path);
  g_free (desc);
  g_array_unref (seen);
  g_byte_array_unref (file);
}

GST_END_TEST;

/* lvcenc ! lvcparse ! lvcdec in one pipeline, lvc-file negotiated between encoder and
 * parser. */
GST_START_TEST (test_pipeline)
{
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=5 ! video/x-raw,width=64,height=48 ! "
      "lvcenc model=%s threads=1 ! lvcparse ! lvcdec model=%s ! fakesink name=sink sync=false "
      "signal-handoffs=true", model_path (), model_path ());
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstElement *sink;
  GArray *seen = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  GstBus *bus;
  GstMessage *msg;
  int frames = 0;

  fail_unless (pipe != NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), seen);
  bus = gst_element_get_bus (pipe);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  for (guint i = 0; i < seen->len; i++)
    if (g_array_index (seen, GstClockTime, i) != GST_CLOCK_TIME_NONE - 1)
      frames++;
  fail_unless_equals_int (frames, 5);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  g_array_unref (seen);
  g_free (desc);
}

GST_END_TEST;

/* The acceptance pair in small: lvcenc's default output into filesink is a complete .lvc file
 * (header rewritten at EOS with the frame count and duration) that lvcparse ! lvcdec play. */
GST_START_TEST (test_filesink_file)
{
  gchar *path = g_build_filename (g_get_tmp_dir (), "lvc-gst-XXXXXX.lvc", NULL);
  gchar *desc, *data = NULL;
  GstElement *pipe, *sink;
  GstBus *bus;
  GstMessage *msg;
  GArray *seen = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  gsize size = 0;
  GList *pk;
  int fd, frames = 0;

  fd = g_mkstemp (path);
  fail_unless (fd >= 0);
  close (fd);
  desc = g_strdup_printf ("videotestsrc num-buffers=7 ! video/x-raw,width=64,height=48,"
      "framerate=30/1 ! lvcenc model=%s threads=1 ! filesink location=%s", model_path (), path);
  pipe = gst_parse_launch (desc, NULL);
  fail_unless (pipe != NULL);
  bus = gst_element_get_bus (pipe);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  g_free (desc);

  fail_unless (g_file_get_contents (path, &data, &size, NULL));
  fail_unless (size > 32 && memcmp (data, "LVCF", 4) == 0);
  fail_unless_equals_int (rd32 ((const guint8 *) data + 20), 7);      /* frame count */
  fail_unless_equals_int (rd32 ((const guint8 *) data + 24), 7);      /* duration, ticks */
  pk = parse_bytes ((const guint8 *) data, size, 4096, NULL);
  fail_unless_equals_int (g_list_length (pk), 7);
  free_list (pk);
  /* a truncated last frame is dropped, the others come out */
  pk = parse_bytes ((const guint8 *) data, size - 5, 333, NULL);
  fail_unless_equals_int (g_list_length (pk), 6);
  free_list (pk);
  g_free (data);

  desc = g_strdup_printf ("filesrc location=%s ! lvcparse ! lvcdec ! videoconvert ! "
      "fakesink name=sink sync=false signal-handoffs=true", path);
  pipe = gst_parse_launch (desc, NULL);
  fail_unless (pipe != NULL);
  g_setenv ("LVC_MODEL", model_path (), TRUE);
  g_setenv ("LVC_MODEL_PATH", "/nonexistent", TRUE);
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), seen);
  bus = gst_element_get_bus (pipe);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  for (guint i = 0; i < seen->len; i++)
    if (g_array_index (seen, GstClockTime, i) != GST_CLOCK_TIME_NONE - 1)
      frames++;
  fail_unless_equals_int (frames, 7);
  gst_object_unref (sink);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  g_unlink (path);
  g_free (path);
  g_free (desc);
  g_array_unref (seen);
}

GST_END_TEST;

/* Late frames under QoS are decoded (they are references) but not output; the frames after
 * them still decode exactly. */
GST_START_TEST (test_qos_late_frames)
{
  GstHarness *he = new_encoder (ES_CAPS, 256), *hd;
  GList *out, *decoded;
  GstCaps *caps;
  guint n;

  out = encode_n (he, GST_VIDEO_FORMAT_I420, W, H, 0, 10, NULL);
  caps = sink_caps_of (he);
  hd = new_decoder (caps, model_path ());
  /* make the decoder see its first frames, then tell it that everything before frame 6 is late */
  gst_harness_push (hd, gst_buffer_ref (out->data));
  gst_buffer_unref (gst_harness_pull (hd));
  fail_unless (gst_harness_push_upstream_event (hd, gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW,
              0.5, 0, TS (6))));
  for (GList * l = out->next; l; l = l->next)
    fail_unless_equals_int (gst_harness_push (hd, gst_buffer_ref (l->data)), GST_FLOW_OK);
  gst_harness_push_event (hd, gst_event_new_eos ());
  decoded = NULL;
  for (GstBuffer * b; (b = gst_harness_try_pull (hd));)
    decoded = g_list_append (decoded, b);
  n = g_list_length (decoded);
  fail_unless (n >= 3 && n < 9, "%u frames came out", n);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (g_list_last (decoded)->data), TS (9));
  compare_with_library (out, decoded);
  {
    GstStructure *st = NULL;
    guint64 frames = 0, late = 0;
    g_object_get (hd->element, "stats", &st, NULL);
    fail_unless (st != NULL);
    fail_unless (gst_structure_get_uint64 (st, "frames", &frames));
    fail_unless (gst_structure_get_uint64 (st, "late-dropped", &late));
    /* every late frame was decoded as a reference only, none fully and then thrown away */
    fail_unless_equals_uint64 (frames, n + 1);
    fail_unless_equals_uint64 (late, 10 - n - 1);
    gst_structure_free (st);
  }
  free_list (out);
  free_list (decoded);
  gst_caps_unref (caps);
  gst_harness_teardown (he);
  gst_harness_teardown (hd);
}

GST_END_TEST;

static Suite *
lvc_suite (void)
{
  Suite *s = suite_create ("lvc");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_roundtrip);
  tcase_add_test (tc, test_roundtrip_quality);
  tcase_add_test (tc, test_force_keyunit);
  tcase_add_test (tc, test_bitrate_playing);
  tcase_add_test (tc, test_eos_drains);
  tcase_add_test (tc, test_caps_change);
  tcase_add_test (tc, test_nv12_input);
  tcase_add_test (tc, test_shared_model);
  tcase_add_test (tc, test_missing_model);
  tcase_add_test (tc, test_corrupt_frame);
  tcase_add_test (tc, test_qos_late_frames);
  tcase_add_test (tc, test_file_output_and_parse);
  tcase_add_test (tc, test_parse_small_lvc);
  tcase_add_test (tc, test_parse_garbage);
  tcase_add_test (tc, test_parse_duration_and_seek);
  tcase_add_test (tc, test_pipeline);
  tcase_add_test (tc, test_filesink_file);
  return s;
}

int
main (int argc, char **argv)
{
  gst_check_init (&argc, &argv);
  if (!lvc_check_register ())
    return 1;
  return lvc_check_run (lvc_suite ());
}
