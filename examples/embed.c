/* Embedding lvc in a GStreamer application (C).
 *
 * Builds   videotestsrc (live) ! lvcenc ! lvcdec ! fakesink   and, while it plays:
 *   - reads lvcenc's `stats` structure,
 *   - after a third of the frames sets a target `bitrate` 40 % below what constant-qp coding
 *     made so far and, a third later, checks that the bitrate measured over the frames since
 *     the change went down,
 *   - asks for a key frame from the sink side (an upstream force-key-unit event, as a
 *     receiver would) and watches for it on lvcenc's output,
 *   - at the end checks the frame counts of the encoder and of the decoder's output.
 * Exits 0 when every check holds, 1 otherwise (it doubles as a test in `meson test`).
 *
 * Usage: embed [MODEL.lvcm]
 *   With no model the encoder takes $LVC_MODEL or the installed default; lvcdec finds the
 *   model of the stream by its id.  Uninstalled: GST_PLUGIN_PATH=build/gst build/examples/embed
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/video/video.h>

#define WIDTH 160
#define HEIGHT 96
#define FPS 30
#define FRAMES 90
#define CHANGE_AT (FRAMES / 3)          /* frame after which the bitrate is changed */
#define KEY_AT (2 * FRAMES / 3)         /* frame after which a key frame is requested */

typedef struct {
  guint64 frames;
  guint64 key_frames;
  gdouble kbps;                 /* mean since the start */
  gdouble mean_qp;
} Stats;

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline, *enc, *sink;
  int failures;

  GMutex lock;                  /* the fields below are written by the streaming thread */
  guint encoded;                /* packets out of lvcenc */
  guint decoded;                /* pictures into the sink */
  GArray *key_frames;           /* indices of the key frames lvcenc put out */

  Stats at_change, at_key;      /* snapshots of the stats */
  guint key_requested_after;    /* packets out of lvcenc when the request was sent */
  gint target_kbps;
} App;

#define EXPECT(app, cond, ...) do {                                   \
    if (!(cond)) {                                                    \
      fprintf (stderr, "FAIL: " __VA_ARGS__);                         \
      fputc ('\n', stderr);                                           \
      (app)->failures++;                                              \
    }                                                                 \
  } while (0)

static Stats
read_stats (GstElement * enc)
{
  GstStructure *s = NULL;
  Stats st = { 0 };

  /* `stats` is a read-only boxed property: a copy of the encoder's counters */
  g_object_get (enc, "stats", &s, NULL);
  if (s) {
    gst_structure_get_uint64 (s, "frames", &st.frames);
    gst_structure_get_uint64 (s, "key-frames", &st.key_frames);
    gst_structure_get_double (s, "bitrate", &st.kbps);
    gst_structure_get_double (s, "mean-qp", &st.mean_qp);
    gst_structure_free (s);
  }
  return st;
}

/* kbit/s over the frames between two snapshots (stats hold the mean since the start) */
static gdouble
interval_kbps (const Stats * a, const Stats * b)
{
  gdouble bits_a = a->kbps * (gdouble) a->frames / FPS;
  gdouble bits_b = b->kbps * (gdouble) b->frames / FPS;

  if (b->frames <= a->frames)
    return 0;
  return (bits_b - bits_a) / ((gdouble) (b->frames - a->frames) / FPS);
}

/* On lvcenc's source pad: count packets, note key frames and tell the main loop when the
 * time for the next step has come (the streaming thread must not wait for the application). */
static GstPadProbeReturn
on_packet (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  App *app = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint n;

  (void) pad;
  g_mutex_lock (&app->lock);
  n = app->encoded++;
  if (!GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
    g_array_append_val (app->key_frames, n);
  g_mutex_unlock (&app->lock);
  if (n + 1 == CHANGE_AT || n + 1 == KEY_AT)
    gst_element_post_message (app->enc, gst_message_new_application (GST_OBJECT (app->enc),
            gst_structure_new ("embed-step", "frame", G_TYPE_UINT, n + 1, NULL)));
  return GST_PAD_PROBE_OK;
}

static void
on_picture (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer user_data)
{
  App *app = user_data;

  (void) sink;
  (void) buf;
  (void) pad;
  g_mutex_lock (&app->lock);
  app->decoded++;
  g_mutex_unlock (&app->lock);
}

static void
change_bitrate (App * app)
{
  app->at_change = read_stats (app->enc);
  /* 60 % of what the constant-qp start produced; applied at the next frame */
  app->target_kbps = MAX (1, (gint) (app->at_change.kbps * 0.6));
  printf ("after %" G_GUINT64_FORMAT " frames: %.0f kbit/s at qp %.1f; bitrate -> %d kbit/s\n",
      app->at_change.frames, app->at_change.kbps, app->at_change.mean_qp, app->target_kbps);
  g_object_set (app->enc, "bitrate", app->target_kbps, NULL);
}

static void
request_key_frame (App * app)
{
  gdouble kbps;

  app->at_key = read_stats (app->enc);
  kbps = interval_kbps (&app->at_change, &app->at_key);
  printf ("frames %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT ": %.0f kbit/s, mean qp %.1f "
      "since the start\n", app->at_change.frames, app->at_key.frames, kbps,
      app->at_key.mean_qp);
  EXPECT (app, kbps < 0.97 * app->at_change.kbps, "the bitrate did not go down: %.0f -> %.0f "
      "kbit/s", app->at_change.kbps, kbps);
  EXPECT (app, app->at_key.mean_qp > app->at_change.mean_qp, "the qp did not go up");

  g_mutex_lock (&app->lock);
  app->key_requested_after = app->encoded;
  g_mutex_unlock (&app->lock);
  printf ("requesting a key frame after %u frames\n", app->key_requested_after);
  /* from the sink, as a receiver would; lvcdec passes it upstream to lvcenc */
  gst_element_send_event (app->sink,
      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 1));
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  App *app = user_data;

  (void) bus;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_APPLICATION:{
      const GstStructure *s = gst_message_get_structure (msg);
      guint frame = 0;
      if (gst_structure_has_name (s, "embed-step")
          && gst_structure_get_uint (s, "frame", &frame)) {
        if (frame == CHANGE_AT)
          change_bitrate (app);
        else if (frame == KEY_AT)
          request_key_frame (app);
      }
      break;
    }
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (msg, &err, &dbg);
      fprintf (stderr, "FAIL: error from %s: %s\n%s\n", GST_OBJECT_NAME (msg->src),
          err->message, dbg ? dbg : "");
      app->failures++;
      g_clear_error (&err);
      g_free (dbg);
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_WARNING:{
      GError *err = NULL;
      gst_message_parse_warning (msg, &err, NULL);
      printf ("warning from %s: %s\n", GST_OBJECT_NAME (msg->src), err->message);
      g_clear_error (&err);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (app->loop);
      break;
    default:
      break;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  App app;
  GstBus *bus;
  GstPad *pad;
  GError *err = NULL;
  gchar *desc;
  Stats end;
  gboolean forced = FALSE;
  guint keys_before = 0;

  gst_init (&argc, &argv);
  memset (&app, 0, sizeof (app));
  g_mutex_init (&app.lock);
  app.key_frames = g_array_new (FALSE, FALSE, sizeof (guint));

  /* key-int-max=0: key frames only at the start and on request; qp 20 for the start */
  desc = g_strdup_printf ("videotestsrc is-live=true num-buffers=%d pattern=ball ! "
      "video/x-raw,width=%d,height=%d,framerate=%d/1 ! lvcenc name=enc qp=20 key-int-max=0 ! "
      "lvcdec ! fakesink name=sink sync=false signal-handoffs=true", FRAMES, WIDTH, HEIGHT,
      FPS);
  app.pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  g_free (desc);
  if (!app.pipeline) {
    fprintf (stderr, "cannot build the pipeline: %s (is the lvc plugin on GST_PLUGIN_PATH?)\n",
        err ? err->message : "?");
    g_clear_error (&err);
    return 1;
  }
  app.enc = gst_bin_get_by_name (GST_BIN (app.pipeline), "enc");
  app.sink = gst_bin_get_by_name (GST_BIN (app.pipeline), "sink");
  if (argc > 1)
    g_object_set (app.enc, "model", argv[1], NULL);
  pad = gst_element_get_static_pad (app.enc, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_packet, &app, NULL);
  gst_object_unref (pad);
  g_signal_connect (app.sink, "handoff", G_CALLBACK (on_picture), &app);

  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (app.pipeline);
  gst_bus_add_watch (bus, on_message, &app);
  if (gst_element_set_state (app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    fprintf (stderr, "FAIL: the pipeline does not start\n");
    app.failures++;
  } else {
    g_main_loop_run (app.loop);
  }

  end = read_stats (app.enc);
  gst_element_set_state (app.pipeline, GST_STATE_NULL);
  printf ("encoded %" G_GUINT64_FORMAT " frames (%" G_GUINT64_FORMAT " key frames, %.0f kbit/s "
      "mean, qp %.1f), decoded %u\n", end.frames, end.key_frames, end.kbps, end.mean_qp,
      app.decoded);
  printf ("key frames at:");
  for (guint i = 0; i < app.key_frames->len; i++)
    printf (" %u", g_array_index (app.key_frames, guint, i));
  printf ("\n");

  EXPECT (&app, end.frames == FRAMES, "lvcenc coded %" G_GUINT64_FORMAT " frames, not %d",
      end.frames, FRAMES);
  EXPECT (&app, app.encoded == FRAMES, "%u packets, not %d", app.encoded, FRAMES);
  EXPECT (&app, app.decoded == FRAMES, "%u pictures decoded, not %d", app.decoded, FRAMES);
  EXPECT (&app, app.key_frames->len >= 1 && g_array_index (app.key_frames, guint, 0) == 0,
      "the stream does not start with a key frame");
  /* the requested key frame: within a few frames of the request (the live source runs on) */
  EXPECT (&app, app.key_requested_after > 0, "the key frame was never requested");
  for (guint i = 0; i < app.key_frames->len; i++) {
    guint k = g_array_index (app.key_frames, guint, i);
    if (k < app.key_requested_after)
      keys_before++;
    else if (k <= app.key_requested_after + 10)
      forced = TRUE;
  }
  if (app.key_requested_after > 0 && keys_before == app.key_requested_after) {
    /* an intra-only model codes every frame as a key frame */
    printf ("every frame is a key frame (intra-only model): the requested one is not told "
        "apart\n");
  } else {
    EXPECT (&app, forced, "no key frame followed the request after frame %u",
        app.key_requested_after);
    EXPECT (&app, end.key_frames > app.at_key.key_frames, "the key-frame count did not grow "
        "after the request");
  }
  EXPECT (&app, end.key_frames == app.key_frames->len, "stats count %" G_GUINT64_FORMAT
      " key frames, the output has %u", end.key_frames, app.key_frames->len);
  EXPECT (&app, app.target_kbps > 0, "the bitrate was never changed");

  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (app.enc);
  gst_object_unref (app.sink);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (app.loop);
  g_array_unref (app.key_frames);
  g_mutex_clear (&app.lock);
  printf ("%s\n", app.failures ? "embed: FAILED" : "embed: all checks passed");
  return app.failures ? 1 : 0;
}
