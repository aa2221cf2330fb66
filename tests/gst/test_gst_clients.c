/* The lvc elements with the stock GStreamer clients: typefinding, GstDiscoverer, playbin,
 * uridecodebin, decodebin and encodebin.  The elements are registered statically (as in
 * test_gst_lvc); the clients come from the installed gst-plugins-base.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/base/gsttypefindhelper.h>
#include <gst/pbutils/pbutils.h>

#include "gstlvc.h"
#include "lvc_check.h"

#define W 96
#define H 64
#define FPS 25
#define NFRAMES 20

static const char *
model_path (void)
{
  return LVC_SOURCE_ROOT "/tests/golden/model_random.lvcm";
}

static gboolean
have_element (const char *name)
{
  GstElementFactory *f = gst_element_factory_find (name);

  if (!f)
    return FALSE;
  gst_object_unref (f);
  return TRUE;
}

/* Run a pipeline to EOS; fails the test on an error or a timeout. */
static void
run_to_eos (GstElement * pipe)
{
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg;

  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "timeout");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &err, &dbg);
    fail ("error from %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message,
        GST_STR_NULL (dbg));
  }
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
}

/* An .lvc file of NFRAMES frames W×H at FPS, written by lvcenc into filesink; the caller frees
 * the returned path and unlinks the file. */
static gchar *
make_clip (const char *suffix)
{
  gchar *path = g_strdup_printf ("%s/lvc-clients-%d-%s", g_get_tmp_dir (), (int) getpid (),
      suffix);
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%d pattern=ball ! "
      "video/x-raw,width=%d,height=%d,framerate=%d/1 ! lvcenc model=%s threads=1 "
      "key-int-max=8 ! filesink location=%s", NFRAMES, W, H, FPS, model_path (), path);
  GstElement *pipe = gst_parse_launch (desc, NULL);

  fail_unless (pipe != NULL);
  run_to_eos (pipe);
  gst_object_unref (pipe);
  g_free (desc);
  return path;
}

static gchar *
file_uri (const gchar * path)
{
  gchar *uri = gst_filename_to_uri (path, NULL);
  fail_unless (uri != NULL);
  return uri;
}

/* ---- typefinding ---- */

static GstCaps *
typefind_file (const gchar * path)
{
  GStatBuf st;
  guint64 size;
  GstElement *src = gst_element_factory_make ("filesrc", NULL);
  GstPad *pad;
  GstCaps *caps;

  fail_unless (src != NULL);
  fail_unless (g_stat (path, &st) == 0);
  size = (guint64) st.st_size;
  g_object_set (src, "location", path, NULL);
  fail_unless (gst_element_set_state (src, GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS);
  pad = gst_element_get_static_pad (src, "src");
  fail_unless (gst_pad_activate_mode (pad, GST_PAD_MODE_PULL, TRUE));
  caps = gst_type_find_helper (pad, size);
  fail_unless (gst_pad_activate_mode (pad, GST_PAD_MODE_PULL, FALSE));
  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (pad);
  gst_object_unref (src);
  return caps;
}

GST_START_TEST (test_typefind)
{
  gchar *path = make_clip ("tf.dat");   /* by magic: the extension does not help */
  GstTypeFindProbability prob = GST_TYPE_FIND_NONE;
  GstCaps *caps = typefind_file (path);
  GstStructure *s;
  gchar *data = NULL;
  gsize len = 0;

  fail_unless (caps != NULL);
  s = gst_caps_get_structure (caps, 0);
  fail_unless_equals_string (gst_structure_get_name (s), "video/x-lvc");
  fail_unless_equals_string (gst_structure_get_string (s, "stream-format"), "lvc-file");
  gst_caps_unref (caps);

  /* with the maximum probability, from the first bytes alone */
  fail_unless (g_file_get_contents (path, &data, &len, NULL));
  fail_unless (len > 64);
  caps = gst_type_find_helper_for_data (NULL, (const guint8 *) data, 64, &prob);
  fail_unless (caps != NULL);
  fail_unless (gst_structure_has_name (gst_caps_get_structure (caps, 0), "video/x-lvc"));
  fail_unless_equals_int (prob, GST_TYPE_FIND_MAXIMUM);
  gst_caps_unref (caps);

  /* the typefinder is tried first for files named .lvc */
  {
    GstTypeFindFactory *f = GST_TYPE_FIND_FACTORY (gst_registry_find_feature
        (gst_registry_get (), "video/x-lvc", GST_TYPE_TYPE_FIND_FACTORY));
    const gchar *const *ext;
    fail_unless (f != NULL);
    ext = gst_type_find_factory_get_extensions (f);
    fail_unless (ext != NULL && ext[0] != NULL);
    fail_unless_equals_string (ext[0], "lvc");
    fail_unless (gst_plugin_feature_get_rank (GST_PLUGIN_FEATURE (f)) >= GST_RANK_PRIMARY);
    gst_object_unref (f);
  }

  /* a header of another file version, or of something else, is not lvc */
  data[4] = 2;
  caps = gst_type_find_helper_for_data (NULL, (const guint8 *) data, len, NULL);
  fail_unless (caps == NULL || !gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-lvc"));
  gst_clear_caps (&caps);
  memcpy (data, "LVCX", 4);
  data[4] = 1;
  caps = gst_type_find_helper_for_data (NULL, (const guint8 *) data, len, NULL);
  fail_unless (caps == NULL || !gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-lvc"));
  gst_clear_caps (&caps);

  g_free (data);
  g_unlink (path);
  g_free (path);
}

GST_END_TEST;

/* ---- GstDiscoverer ---- */

GST_START_TEST (test_discoverer)
{
  gchar *path = make_clip ("disc.lvc");
  gchar *uri = file_uri (path);
  GError *err = NULL;
  GstDiscoverer *dc = gst_discoverer_new (10 * GST_SECOND, &err);
  GstDiscovererInfo *info;
  GList *streams;
  GstDiscovererVideoInfo *vi;
  GstCaps *caps;
  const GstTagList *tags;
  gchar *codec = NULL;
  guint bitrate = 0;
  GStatBuf st;
  guint64 expect_bps;

  fail_unless (dc != NULL, "%s", err ? err->message : "");
  info = gst_discoverer_discover_uri (dc, uri, &err);
  fail_unless (info != NULL, "%s", err ? err->message : "");
  fail_unless_equals_int (gst_discoverer_info_get_result (info), GST_DISCOVERER_OK);
  fail_unless_equals_uint64 (gst_discoverer_info_get_duration (info),
      gst_util_uint64_scale (NFRAMES, GST_SECOND, FPS));
  fail_unless (gst_discoverer_info_get_seekable (info));

  streams = gst_discoverer_info_get_video_streams (info);
  fail_unless_equals_int (g_list_length (streams), 1);
  fail_unless_equals_int (g_list_length (gst_discoverer_info_get_audio_streams (info)) , 0);
  vi = streams->data;
  fail_unless_equals_int (gst_discoverer_video_info_get_width (vi), W);
  fail_unless_equals_int (gst_discoverer_video_info_get_height (vi), H);
  fail_unless_equals_int (gst_discoverer_video_info_get_framerate_num (vi), FPS);
  fail_unless_equals_int (gst_discoverer_video_info_get_framerate_denom (vi), 1);
  fail_unless_equals_int (gst_discoverer_video_info_get_par_num (vi), 1);
  fail_unless (!gst_discoverer_video_info_is_interlaced (vi));
  caps = gst_discoverer_stream_info_get_caps (GST_DISCOVERER_STREAM_INFO (vi));
  fail_unless (caps != NULL);
  fail_unless_equals_string (gst_structure_get_name (gst_caps_get_structure (caps, 0)),
      "video/x-lvc");
  gst_caps_unref (caps);

  /* the codec name and the file's mean bitrate, from lvcparse's tags */
  tags = gst_discoverer_stream_info_get_tags (GST_DISCOVERER_STREAM_INFO (vi));
  fail_unless (tags != NULL);
  fail_unless (gst_tag_list_get_string (tags, GST_TAG_VIDEO_CODEC, &codec));
  fail_unless (g_str_has_prefix (codec, "lvc "), "codec tag '%s'", codec);
  fail_unless (strstr (codec, "429c76c53c1967a3d22c91338ac849ce") != NULL, "%s", codec);
  fail_unless (g_stat (path, &st) == 0);
  expect_bps = gst_util_uint64_scale ((guint64) st.st_size - 32, 8 * FPS, NFRAMES);
  fail_unless (gst_tag_list_get_uint (tags, GST_TAG_BITRATE, &bitrate));
  fail_unless_equals_uint64 (bitrate, expect_bps);
  fail_unless_equals_int (gst_discoverer_video_info_get_bitrate (vi), bitrate);

  g_free (codec);
  gst_discoverer_stream_info_list_free (streams);
  gst_discoverer_info_unref (info);
  g_object_unref (dc);
  g_unlink (path);
  g_free (uri);
  g_free (path);
}

GST_END_TEST;

/* ---- playback bins ---- */

typedef struct {
  GMutex lock;
  guint frames;
  GstClockTime last_pts;
  gboolean monotonic;
} FrameCount;

static void
count_frame (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer user_data)
{
  FrameCount *c = user_data;

  (void) sink;
  (void) pad;
  g_mutex_lock (&c->lock);
  if (c->frames > 0 && GST_BUFFER_PTS (buf) <= c->last_pts)
    c->monotonic = FALSE;
  c->last_pts = GST_BUFFER_PTS (buf);
  c->frames++;
  g_mutex_unlock (&c->lock);
}

static GstElement *
counting_sink (FrameCount * c)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);

  fail_unless (sink != NULL);
  g_mutex_init (&c->lock);
  c->frames = 0;
  c->last_pts = GST_CLOCK_TIME_NONE;
  c->monotonic = TRUE;
  g_object_set (sink, "signal-handoffs", TRUE, "sync", FALSE, NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (count_frame), c);
  return sink;
}

static void
check_all_frames (FrameCount * c)
{
  fail_unless_equals_int (c->frames, NFRAMES);
  fail_unless (c->monotonic);
  fail_unless_equals_uint64 (c->last_pts, gst_util_uint64_scale (NFRAMES - 1, GST_SECOND,
          FPS));
  g_mutex_clear (&c->lock);
}

/* The element names (factories) inside a bin, recursively, separated by spaces. */
static GString *
factories_in (GstBin * bin)
{
  GString *names = g_string_new (" ");
  GstIterator *it = gst_bin_iterate_recurse (bin);
  GValue v = G_VALUE_INIT;

  while (gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
    GstElementFactory *f = gst_element_get_factory (g_value_get_object (&v));
    if (f)
      g_string_append_printf (names, "%s ", GST_OBJECT_NAME (f));
    g_value_reset (&v);
  }
  g_value_unset (&v);
  gst_iterator_free (it);
  return names;
}

static void
check_plugged (GstBin * bin, const char *factory)
{
  GString *names = factories_in (bin);
  gchar *want = g_strdup_printf (" %s ", factory);

  fail_unless (strstr (names->str, want) != NULL, "%s not in [%s]", factory, names->str);
  g_free (want);
  g_string_free (names, TRUE);
}

/* Keep the autoplugged children of decodebin / uridecodebin / playbin for check_plugged. */
static void
deep_added (GstBin * bin, GstBin * sub, GstElement * element, gpointer user_data)
{
  GString *names = user_data;
  GstElementFactory *f = gst_element_get_factory (element);

  (void) bin;
  (void) sub;
  if (f)
    g_string_append_printf (names, "%s ", GST_OBJECT_NAME (f));
}

static void
check_names (GString * names, const char *factory)
{
  gchar *want = g_strdup_printf (" %s ", factory);

  fail_unless (strstr (names->str, want) != NULL, "%s not in [%s]", factory, names->str);
  g_free (want);
}

GST_START_TEST (test_playbin)
{
  gchar *path = make_clip ("play.lvc");
  gchar *uri = file_uri (path);
  GstElement *playbin = gst_element_factory_make ("playbin", NULL);
  FrameCount c;
  GString *names = g_string_new (" ");

  fail_unless (playbin != NULL);
  g_object_set (playbin, "uri", uri, "video-sink", counting_sink (&c),
      "audio-sink", gst_element_factory_make ("fakesink", NULL), NULL);
  g_signal_connect (playbin, "deep-element-added", G_CALLBACK (deep_added), names);
  run_to_eos (playbin);
  check_all_frames (&c);
  check_names (names, "lvcparse");
  check_names (names, "lvcdec");

  g_string_free (names, TRUE);
  gst_object_unref (playbin);
  g_unlink (path);
  g_free (uri);
  g_free (path);
}

GST_END_TEST;

static void
link_to_sink (GstElement * src, GstPad * pad, gpointer user_data)
{
  GstElement *sink = user_data;
  GstPad *sinkpad = gst_element_get_static_pad (sink, "sink");

  (void) src;
  if (!gst_pad_is_linked (sinkpad))
    fail_unless_equals_int (gst_pad_link (pad, sinkpad), GST_PAD_LINK_OK);
  gst_object_unref (sinkpad);
}

/* filesrc ! decodebin ! sink, or uridecodebin ! sink */
static void
decode_with (gboolean uri_bin)
{
  gchar *path = make_clip (uri_bin ? "uridec.lvc" : "dec.lvc");
  gchar *uri = file_uri (path);
  GstElement *pipe = gst_pipeline_new (NULL);
  GstElement *dec, *sink;
  FrameCount c;
  GString *names = g_string_new (" ");

  sink = counting_sink (&c);
  if (uri_bin) {
    dec = gst_element_factory_make ("uridecodebin", NULL);
    fail_unless (dec != NULL);
    g_object_set (dec, "uri", uri, NULL);
    gst_bin_add_many (GST_BIN (pipe), dec, sink, NULL);
  } else {
    GstElement *src = gst_element_factory_make ("filesrc", NULL);
    dec = gst_element_factory_make ("decodebin", NULL);
    fail_unless (src != NULL && dec != NULL);
    g_object_set (src, "location", path, NULL);
    gst_bin_add_many (GST_BIN (pipe), src, dec, sink, NULL);
    fail_unless (gst_element_link (src, dec));
  }
  g_signal_connect (dec, "pad-added", G_CALLBACK (link_to_sink), sink);
  g_signal_connect (pipe, "deep-element-added", G_CALLBACK (deep_added), names);
  run_to_eos (pipe);
  check_all_frames (&c);
  check_names (names, "lvcparse");
  check_names (names, "lvcdec");

  g_string_free (names, TRUE);
  gst_object_unref (pipe);
  g_unlink (path);
  g_free (uri);
  g_free (path);
}

GST_START_TEST (test_decodebin)
{
  decode_with (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_uridecodebin)
{
  decode_with (TRUE);
}

GST_END_TEST;

/* ---- encodebin ---- */

/* encodebin with a video profile of format video/x-lvc and no container picks lvcenc; its
 * output (elementary frames through lvcparse) decodes to every frame. */
GST_START_TEST (test_encodebin_elementary)
{
  GstElement *pipe = gst_pipeline_new (NULL);
  GstElement *src = gst_element_factory_make ("videotestsrc", NULL);
  GstElement *filter = gst_element_factory_make ("capsfilter", NULL);
  GstElement *ebin = gst_element_factory_make ("encodebin", NULL);
  GstElement *dec = gst_element_factory_make ("lvcdec", NULL);
  GstCaps *format = gst_caps_from_string ("video/x-lvc");
  GstCaps *raw = gst_caps_new_simple ("video/x-raw", "width", G_TYPE_INT, W,
      "height", G_TYPE_INT, H, "framerate", GST_TYPE_FRACTION, FPS, 1, NULL);
  GstEncodingVideoProfile *vp = gst_encoding_video_profile_new (format, NULL, NULL, 0);
  GstElement *sink;
  FrameCount c;

  fail_unless (src && filter && ebin && dec);
  sink = counting_sink (&c);
  g_object_set (src, "num-buffers", NFRAMES, NULL);
  g_object_set (filter, "caps", raw, NULL);
  g_object_set (ebin, "profile", vp, NULL);
  gst_bin_add_many (GST_BIN (pipe), src, filter, ebin, dec, sink, NULL);
  fail_unless (gst_element_link_many (src, filter, ebin, dec, sink, NULL));
  check_plugged (GST_BIN (ebin), "lvcenc");
  run_to_eos (pipe);
  check_all_frames (&c);

  gst_object_unref (vp);
  gst_caps_unref (format);
  gst_caps_unref (raw);
  gst_object_unref (pipe);
}

GST_END_TEST;

static guint32
rd32 (const guint8 * p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) |
      ((guint32) p[3] << 24);
}

/* encodebin with a container profile video/x-lvc,stream-format=lvc-file around a video/x-lvc
 * stream profile: lvcenc and lvcmux, and a complete .lvc file that playbin plays. */
GST_START_TEST (test_encodebin_file)
{
  gchar *path = g_strdup_printf ("%s/lvc-clients-%d-eb.lvc", g_get_tmp_dir (), (int) getpid ());
  gchar *uri;
  GstElement *pipe = gst_pipeline_new (NULL);
  GstElement *src = gst_element_factory_make ("videotestsrc", NULL);
  GstElement *filter = gst_element_factory_make ("capsfilter", NULL);
  GstElement *ebin = gst_element_factory_make ("encodebin", NULL);
  GstElement *fsink = gst_element_factory_make ("filesink", NULL);
  GstElement *playbin;
  GstCaps *cformat = gst_caps_from_string ("video/x-lvc, stream-format = (string) lvc-file");
  GstCaps *vformat = gst_caps_from_string ("video/x-lvc");
  GstCaps *raw = gst_caps_new_simple ("video/x-raw", "width", G_TYPE_INT, W,
      "height", G_TYPE_INT, H, "framerate", GST_TYPE_FRACTION, FPS, 1, NULL);
  GstEncodingContainerProfile *cp = gst_encoding_container_profile_new ("lvc", NULL, cformat,
      NULL);
  FrameCount c;
  gchar *data = NULL;
  gsize len = 0;

  fail_unless (src && filter && ebin && fsink);
  fail_unless (gst_encoding_container_profile_add_profile (cp,
          GST_ENCODING_PROFILE (gst_encoding_video_profile_new (vformat, NULL, NULL, 0))));
  g_object_set (src, "num-buffers", NFRAMES, "pattern", 18, NULL);
  g_object_set (filter, "caps", raw, NULL);
  g_object_set (ebin, "profile", cp, NULL);
  g_object_set (fsink, "location", path, NULL);
  gst_bin_add_many (GST_BIN (pipe), src, filter, ebin, fsink, NULL);
  fail_unless (gst_element_link_many (src, filter, ebin, fsink, NULL));
  check_plugged (GST_BIN (ebin), "lvcenc");
  check_plugged (GST_BIN (ebin), "lvcmux");
  run_to_eos (pipe);

  /* the header was completed at EOS: frame count and duration */
  fail_unless (g_file_get_contents (path, &data, &len, NULL));
  fail_unless (len > 32 && memcmp (data, "LVCF", 4) == 0);
  fail_unless_equals_int (rd32 ((const guint8 *) data + 8), W | (H << 16));
  fail_unless_equals_int (rd32 ((const guint8 *) data + 12), 1);
  fail_unless_equals_int (rd32 ((const guint8 *) data + 16), FPS);
  fail_unless_equals_int (rd32 ((const guint8 *) data + 20), NFRAMES);
  fail_unless_equals_int (rd32 ((const guint8 *) data + 24), NFRAMES);

  uri = file_uri (path);
  playbin = gst_element_factory_make ("playbin", NULL);
  g_object_set (playbin, "uri", uri, "video-sink", counting_sink (&c), NULL);
  run_to_eos (playbin);
  check_all_frames (&c);

  g_free (data);
  gst_object_unref (playbin);
  gst_object_unref (cp);
  gst_caps_unref (cformat);
  gst_caps_unref (vformat);
  gst_caps_unref (raw);
  gst_object_unref (pipe);
  g_unlink (path);
  g_free (uri);
  g_free (path);
}

GST_END_TEST;

/* lvcenc ! lvcmux ! filesink writes the same bytes as lvcenc ! filesink. */
GST_START_TEST (test_lvcmux_same_file)
{
  gchar *direct = make_clip ("direct.lvc");
  gchar *muxed = g_strdup_printf ("%s/lvc-clients-%d-muxed.lvc", g_get_tmp_dir (),
      (int) getpid ());
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%d pattern=ball ! "
      "video/x-raw,width=%d,height=%d,framerate=%d/1 ! lvcenc model=%s threads=1 "
      "key-int-max=8 ! lvcmux ! filesink location=%s", NFRAMES, W, H, FPS, model_path (),
      muxed);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  gchar *a = NULL, *b = NULL;
  gsize alen = 0, blen = 0;

  fail_unless (pipe != NULL);
  run_to_eos (pipe);
  fail_unless (g_file_get_contents (direct, &a, &alen, NULL));
  fail_unless (g_file_get_contents (muxed, &b, &blen, NULL));
  fail_unless (alen > 32);
  fail_unless_equals_uint64 (alen, blen);
  fail_unless (memcmp (a, b, alen) == 0, "lvcmux wrote other bytes than lvcenc");

  g_free (a);
  g_free (b);
  gst_object_unref (pipe);
  g_unlink (direct);
  g_unlink (muxed);
  g_free (desc);
  g_free (direct);
  g_free (muxed);
}

GST_END_TEST;

static Suite *
clients_suite (void)
{
  Suite *s = suite_create ("lvc-clients");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_typefind);
  tcase_add_test (tc, test_discoverer);
  tcase_add_test (tc, test_playbin);
  tcase_add_test (tc, test_decodebin);
  tcase_add_test (tc, test_uridecodebin);
  tcase_add_test (tc, test_encodebin_elementary);
  tcase_add_test (tc, test_encodebin_file);
  tcase_add_test (tc, test_lvcmux_same_file);
  return s;
}

int
main (int argc, char **argv)
{
  /* lvcdec finds the test model of the clips by its id among the defaults */
  g_setenv ("LVC_MODEL", model_path (), TRUE);
  gst_check_init (&argc, &argv);
  if (!lvc_check_register ())
    return 1;
  if (!have_element ("playbin") || !have_element ("encodebin") ||
      !have_element ("videotestsrc") || !have_element ("filesrc")) {
    printf ("SKIP: gst-plugins-base (playback, encoding, videotestsrc) or coreelements "
        "missing\n");
    return 77;
  }
  return lvc_check_run (clients_suite ());
}
