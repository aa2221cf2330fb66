/* A WebRTC call with lvc video between two webrtcbin peers in one process (loopback).
 *
 *   videotestsrc (live) ! lvcenc ! tee ! rtplvcpay ! webrtcbin "offerer"
 *                                    `-> lvcdec (the sender's own decode, for comparison)
 *   webrtcbin "answerer" ! rtplvcdepay ! lvcdec ! fakesink
 *
 * The peers negotiate with SDP offer / answer and ICE candidates handed over in-process (the
 * signalling a real application does over a network).  While the call runs:
 *   - a small loss-based rate controller reads the offerer's RTCP statistics (get-stats,
 *     remote-inbound-rtp packets-lost) and applies its bitrate to lvcenc;
 *   - after a second of video, every RTP packet is dropped for LOSS_MS (a forced loss): the
 *     receiver's rtplvcdepay asks for a key frame, rtpsession sends it as a PLI, and lvcenc,
 *     asked by rtplvcpay, codes one;
 *   - the receiver's pictures are compared with the sender's own decode of the same packets.
 * Checks: the offer's a=rtpmap / a=fmtp / a=rtcp-fb lines for lvc, frames arrive, the loss is
 * answered by a key frame, the rate controller lowered lvcenc's bitrate, and after the key
 * frame the received pictures are again identical to the sender's (quality recovers).
 * Exits 0 when every check holds, 1 otherwise, 77 when webrtcbin or ICE (libnice) is missing.
 *
 * Usage: webrtc_loopback   (uninstalled: GST_PLUGIN_PATH=build/gst; the encoder's model is
 *                           $LVC_MODEL or the installed default)
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#define WIDTH 160
#define HEIGHT 96
#define FPS 30
#define PT 96
#define LOSS_AFTER 30           /* frames received before the loss */
#define LOSS_MS 300
#define RUN_AFTER_LOSS_MS 2500
#define MAX_AFTER_LOSS_MS 8000
#define START_KBPS 2000
#define MIN_KBPS 200
#define TIMEOUT_S 20

typedef struct {
  GMainLoop *loop;
  GstElement *pipe, *enc, *pay, *offerer, *answerer;
  int failures;
  gchar *offer_sdp;

  GMutex lock;                  /* the fields below are shared with streaming threads */
  gboolean dropping;
  guint dropped;                /* RTP packets dropped by the forced loss */
  guint encoded, keys_after_loss;
  gint first_key_after_loss;    /* index of that key frame, -1 none */
  gint loss_at;                 /* encoded frames when the loss started, -1 before */
  guint received_at_loss;
  GPtrArray *sent, *received;   /* checksums of the sender's own and the received pictures */

  gint kbps;                    /* the rate controller's target */
  gint64 last_lost;             /* packets-lost of the last RTCP report seen */
  gint lowest_kbps;
  guint ticks_without_loss;
  gboolean loss_done;
  gint64 loss_end_us;
} Call;

#define EXPECT(c, cond, ...) do {                                     \
    if (!(cond)) {                                                    \
      fprintf (stderr, "FAIL: " __VA_ARGS__);                         \
      fputc ('\n', stderr);                                           \
      (c)->failures++;                                                \
    }                                                                 \
  } while (0)

/* ---- signalling (in-process) ---- */

static void
on_answer_created (GstPromise * promise, gpointer user_data)
{
  Call *c = user_data;
  GstWebRTCSessionDescription *answer = NULL;

  gst_structure_get (gst_promise_get_reply (promise), "answer",
      GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
  gst_promise_unref (promise);
  if (!answer) {
    fprintf (stderr, "FAIL: no answer\n");
    c->failures++;
    g_main_loop_quit (c->loop);
    return;
  }
  g_signal_emit_by_name (c->answerer, "set-local-description", answer, NULL);
  g_signal_emit_by_name (c->offerer, "set-remote-description", answer, NULL);
  gst_webrtc_session_description_free (answer);
}

static void
on_offer_set (GstPromise * promise, gpointer user_data)
{
  Call *c = user_data;

  gst_promise_unref (promise);
  g_signal_emit_by_name (c->answerer, "create-answer", NULL,
      gst_promise_new_with_change_func (on_answer_created, c, NULL));
}

static void
on_offer_created (GstPromise * promise, gpointer user_data)
{
  Call *c = user_data;
  GstWebRTCSessionDescription *offer = NULL;

  gst_structure_get (gst_promise_get_reply (promise), "offer",
      GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (promise);
  if (!offer) {
    fprintf (stderr, "FAIL: no offer\n");
    c->failures++;
    g_main_loop_quit (c->loop);
    return;
  }
  g_mutex_lock (&c->lock);
  c->offer_sdp = gst_sdp_message_as_text (offer->sdp);
  g_mutex_unlock (&c->lock);
  g_signal_emit_by_name (c->offerer, "set-local-description", offer, NULL);
  g_signal_emit_by_name (c->answerer, "set-remote-description", offer,
      gst_promise_new_with_change_func (on_offer_set, c, NULL));
  gst_webrtc_session_description_free (offer);
}

static void
on_negotiation_needed (GstElement * offerer, gpointer user_data)
{
  Call *c = user_data;

  g_signal_emit_by_name (offerer, "create-offer", NULL,
      gst_promise_new_with_change_func (on_offer_created, c, NULL));
}

static void
offerer_candidate (GstElement * webrtc, guint mline, gchar * candidate, gpointer user_data)
{
  Call *c = user_data;

  (void) webrtc;
  g_signal_emit_by_name (c->answerer, "add-ice-candidate", mline, candidate);
}

static void
answerer_candidate (GstElement * webrtc, guint mline, gchar * candidate, gpointer user_data)
{
  Call *c = user_data;

  (void) webrtc;
  g_signal_emit_by_name (c->offerer, "add-ice-candidate", mline, candidate);
}

/* ---- media ---- */

static void
remember_picture (GPtrArray * list, GMutex * lock, GstBuffer * buf)
{
  GstMapInfo map;
  gchar *sum;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return;
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA1, map.data, map.size);
  gst_buffer_unmap (buf, &map);
  g_mutex_lock (lock);
  g_ptr_array_add (list, sum);
  g_mutex_unlock (lock);
}

static void
on_sent_picture (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer user_data)
{
  Call *c = user_data;

  (void) sink;
  (void) pad;
  remember_picture (c->sent, &c->lock, buf);
}

static void
on_received_picture (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer user_data)
{
  Call *c = user_data;

  (void) sink;
  (void) pad;
  remember_picture (c->received, &c->lock, buf);
}

/* lvcenc's output: count frames and the key frames that follow the loss */
static GstPadProbeReturn
on_packet (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Call *c = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  (void) pad;
  g_mutex_lock (&c->lock);
  if (c->loss_at >= 0 && !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT)) {
    if (c->keys_after_loss++ == 0)
      c->first_key_after_loss = (gint) c->encoded;
  }
  c->encoded++;
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

/* rtplvcpay's output (single packets or the packets of a frame in a list): the forced loss */
static GstPadProbeReturn
on_rtp (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Call *c = user_data;
  GstPadProbeReturn ret = GST_PAD_PROBE_OK;

  (void) pad;
  g_mutex_lock (&c->lock);
  if (c->dropping) {
    if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER_LIST)
      c->dropped += gst_buffer_list_length (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
    else
      c->dropped++;
    ret = GST_PAD_PROBE_DROP;
  }
  g_mutex_unlock (&c->lock);
  return ret;
}

static void
on_incoming_stream (GstElement * webrtc, GstPad * pad, gpointer user_data)
{
  Call *c = user_data;
  GError *err = NULL;
  GstElement *bin, *sink;
  GstPad *sinkpad;

  (void) webrtc;
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  bin = gst_parse_bin_from_description ("rtplvcdepay ! lvcdec ! "
      "fakesink name=recvsink sync=false signal-handoffs=true", TRUE, &err);
  if (!bin) {
    fprintf (stderr, "FAIL: receiver: %s\n", err ? err->message : "?");
    g_clear_error (&err);
    c->failures++;
    return;
  }
  sink = gst_bin_get_by_name (GST_BIN (bin), "recvsink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_received_picture), c);
  gst_object_unref (sink);
  gst_bin_add (GST_BIN (c->pipe), bin);
  gst_element_sync_state_with_parent (bin);
  sinkpad = gst_element_get_static_pad (bin, "sink");
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK) {
    fprintf (stderr, "FAIL: cannot link the incoming stream\n");
    c->failures++;
  }
  gst_object_unref (sinkpad);
}

/* ---- the rate controller: loss-based, from the offerer's RTCP receiver reports ---- */

static gboolean
find_remote_inbound (GQuark field, const GValue * value, gpointer user_data)
{
  gint64 *lost = user_data;
  const GstStructure *s;
  GstWebRTCStatsType type;
  gint64 n = 0;

  (void) field;
  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  s = gst_value_get_structure (value);
  if (gst_structure_get (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL)
      && type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP
      && gst_structure_get_int64 (s, "packets-lost", &n))
    *lost = MAX (*lost, n);
  return TRUE;
}

static gboolean
control_rate (gpointer user_data)
{
  Call *c = user_data;
  GstPromise *p = gst_promise_new ();
  gint64 lost = -1;
  gint kbps = c->kbps;

  g_signal_emit_by_name (c->offerer, "get-stats", NULL, p);
  if (gst_promise_wait (p) == GST_PROMISE_RESULT_REPLIED && gst_promise_get_reply (p))
    gst_structure_foreach (gst_promise_get_reply (p), find_remote_inbound, &lost);
  gst_promise_unref (p);
  if (lost < 0)
    return G_SOURCE_CONTINUE;   /* no receiver report yet */
  if (lost > c->last_lost) {
    /* losses reported: back off */
    kbps = MAX (MIN_KBPS, kbps * 7 / 10);
    c->ticks_without_loss = 0;
  } else if (++c->ticks_without_loss >= 4) {
    /* a second without loss: probe upwards */
    kbps = MIN (START_KBPS, kbps * 21 / 20);
  }
  c->last_lost = lost;
  if (kbps != c->kbps) {
    printf ("rtcp: %" G_GINT64_FORMAT " packets lost in all; lvcenc bitrate %d -> %d kbit/s\n",
        lost, c->kbps, kbps);
    c->kbps = kbps;
    c->lowest_kbps = MIN (c->lowest_kbps, kbps);
    g_object_set (c->enc, "bitrate", kbps, NULL);
  }
  return G_SOURCE_CONTINUE;
}

/* ---- the timeline ---- */

/* Run on for RUN_AFTER_LOSS_MS after the loss, and on until a receiver report with the loss
 * reached the rate controller (RTCP comes every second or so), at most MAX_AFTER_LOSS_MS. */
static gboolean
maybe_stop (gpointer user_data)
{
  Call *c = user_data;
  gint64 ms = (g_get_monotonic_time () - c->loss_end_us) / 1000;

  if (ms >= MAX_AFTER_LOSS_MS || (ms >= RUN_AFTER_LOSS_MS && c->lowest_kbps < START_KBPS)) {
    g_main_loop_quit (c->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
end_loss (gpointer user_data)
{
  Call *c = user_data;

  g_mutex_lock (&c->lock);
  c->dropping = FALSE;
  printf ("loss over: %u RTP packets dropped\n", c->dropped);
  g_mutex_unlock (&c->lock);
  c->loss_end_us = g_get_monotonic_time ();
  g_timeout_add (100, maybe_stop, c);
  return G_SOURCE_REMOVE;
}

static gboolean
watch_start (gpointer user_data)
{
  Call *c = user_data;
  guint received;

  g_mutex_lock (&c->lock);
  received = c->received->len;
  if (received >= LOSS_AFTER) {
    c->dropping = TRUE;
    c->loss_at = (gint) c->encoded;
    c->received_at_loss = received;
    printf ("%u pictures received; dropping every RTP packet for %d ms\n", received, LOSS_MS);
  }
  g_mutex_unlock (&c->lock);
  if (received < LOSS_AFTER)
    return G_SOURCE_CONTINUE;
  c->loss_done = TRUE;
  g_timeout_add (LOSS_MS, end_loss, c);
  return G_SOURCE_REMOVE;
}

static gboolean
timeout (gpointer user_data)
{
  Call *c = user_data;

  fprintf (stderr, "FAIL: the call did not get through in %d s\n", TIMEOUT_S);
  c->failures++;
  g_main_loop_quit (c->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Call *c = user_data;

  (void) bus;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &err, &dbg);
    fprintf (stderr, "FAIL: error from %s: %s\n%s\n", GST_OBJECT_NAME (msg->src), err->message,
        dbg ? dbg : "");
    c->failures++;
    g_clear_error (&err);
    g_free (dbg);
    g_main_loop_quit (c->loop);
  }
  return TRUE;
}

/* For each received picture, the index of the equal picture of the sender's own decode (the
 * frame number), or -1 when there is none (a damaged picture). */
static gint *
match_pictures (Call * c)
{
  gint *m = g_new (gint, MAX (c->received->len, 1));
  guint from = 0;

  for (guint i = 0; i < c->received->len; i++) {
    m[i] = -1;
    for (guint n = 0; n < c->sent->len; n++) {
      guint k = (from + n) % c->sent->len;      /* the next frame first */
      if (strcmp (g_ptr_array_index (c->received, i), g_ptr_array_index (c->sent, k)) == 0) {
        m[i] = (gint) k;
        from = k + 1;
        break;
      }
    }
  }
  return m;
}

static gboolean
have_elements (void)
{
  const char *need[] = { "webrtcbin", "nicesrc", "dtlssrtpenc", "rtplvcpay", "lvcenc", NULL };

  for (int i = 0; need[i]; i++) {
    GstElementFactory *f = gst_element_factory_find (need[i]);
    if (!f) {
      printf ("SKIP: element %s missing (webrtcbin: gstreamer1.0-plugins-bad, ICE: "
          "gstreamer1.0-nice; rtplvcpay, lvcenc: the lvc plugin on GST_PLUGIN_PATH)\n",
          need[i]);
      return FALSE;
    }
    gst_object_unref (f);
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  Call c;
  GError *err = NULL;
  GstBus *bus;
  GstPad *pad;
  GstElement *e;
  GstStructure *st = NULL;
  guint64 pay_key_requests = 0;
  guint received, damaged = 0, tail;
  gint tail_start, *match;
  gchar *desc;

  gst_init (&argc, &argv);
  if (!have_elements ())
    return 77;
  memset (&c, 0, sizeof (c));
  g_mutex_init (&c.lock);
  c.sent = g_ptr_array_new_with_free_func (g_free);
  c.received = g_ptr_array_new_with_free_func (g_free);
  c.loss_at = -1;
  c.first_key_after_loss = -1;
  c.kbps = c.lowest_kbps = START_KBPS;
  c.last_lost = 0;

  /* key-int-max=0: key frames only at the start and on request (live); the RTP caps ask
   * for PLI feedback (a=rtcp-fb nack pli) */
  desc = g_strdup_printf ("videotestsrc is-live=true pattern=ball ! "
      "video/x-raw,width=%d,height=%d,framerate=%d/1 ! "
      "lvcenc name=enc key-int-max=0 bitrate=%d ! tee name=t ! queue ! "
      "rtplvcpay name=pay pt=%d mtu=1200 ! "
      "application/x-rtp,media=video,encoding-name=LVC,payload=%d,clock-rate=90000,"
      "rtcp-fb-nack-pli=(boolean)true ! webrtcbin name=offerer bundle-policy=max-bundle "
      "t. ! queue ! lvcdec ! fakesink name=sentsink sync=false signal-handoffs=true "
      "webrtcbin name=answerer bundle-policy=max-bundle", WIDTH, HEIGHT, FPS, START_KBPS, PT,
      PT);
  c.pipe = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  g_free (desc);
  if (!c.pipe) {
    fprintf (stderr, "FAIL: cannot build the pipeline: %s\n", err ? err->message : "?");
    g_clear_error (&err);
    return 1;
  }
  c.enc = gst_bin_get_by_name (GST_BIN (c.pipe), "enc");
  c.pay = gst_bin_get_by_name (GST_BIN (c.pipe), "pay");
  c.offerer = gst_bin_get_by_name (GST_BIN (c.pipe), "offerer");
  c.answerer = gst_bin_get_by_name (GST_BIN (c.pipe), "answerer");

  g_signal_connect (c.offerer, "on-negotiation-needed", G_CALLBACK (on_negotiation_needed), &c);
  g_signal_connect (c.offerer, "on-ice-candidate", G_CALLBACK (offerer_candidate), &c);
  g_signal_connect (c.answerer, "on-ice-candidate", G_CALLBACK (answerer_candidate), &c);
  g_signal_connect (c.answerer, "pad-added", G_CALLBACK (on_incoming_stream), &c);
  e = gst_bin_get_by_name (GST_BIN (c.pipe), "sentsink");
  g_signal_connect (e, "handoff", G_CALLBACK (on_sent_picture), &c);
  gst_object_unref (e);
  pad = gst_element_get_static_pad (c.enc, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_packet, &c, NULL);
  gst_object_unref (pad);
  pad = gst_element_get_static_pad (c.pay, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_rtp,
      &c, NULL);
  gst_object_unref (pad);

  c.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (c.pipe);
  gst_bus_add_watch (bus, on_message, &c);
  g_timeout_add (50, watch_start, &c);
  g_timeout_add (250, control_rate, &c);
  g_timeout_add_seconds (TIMEOUT_S, timeout, &c);
  if (gst_element_set_state (c.pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    fprintf (stderr, "FAIL: the pipeline does not start\n");
    c.failures++;
  } else {
    g_main_loop_run (c.loop);
  }
  g_object_get (c.pay, "stats", &st, NULL);
  if (st) {
    gst_structure_get_uint64 (st, "key-requests", &pay_key_requests);
    gst_structure_free (st);
  }
  gst_element_set_state (c.pipe, GST_STATE_NULL);

  /* ---- checks ---- */
  printf ("offer:\n%s", c.offer_sdp ? c.offer_sdp : "(none)\n");
  EXPECT (&c, c.offer_sdp && strstr (c.offer_sdp, "a=rtpmap:96 LVC/90000"),
      "no a=rtpmap:96 LVC/90000 in the offer");
  EXPECT (&c, c.offer_sdp && strstr (c.offer_sdp, "a=fmtp:96 ") &&
      strstr (c.offer_sdp, "model-id="), "no a=fmtp:96 with the model-id in the offer");
  EXPECT (&c, c.offer_sdp && strstr (c.offer_sdp, "a=rtcp-fb:96 nack pli"),
      "no a=rtcp-fb:96 nack pli in the offer");

  received = c.received->len;
  printf ("frames: %u coded, %u decoded by the sender, %u received (%u before the loss); "
      "%u RTP packets dropped\n", c.encoded, c.sent->len, received, c.received_at_loss,
      c.dropped);
  EXPECT (&c, c.loss_done, "the call never reached %d received pictures", LOSS_AFTER);
  EXPECT (&c, c.dropped > 0, "no packet was dropped");

  printf ("key frames after the loss: %u (first at frame %d, the loss began at frame %d); "
      "rtplvcpay passed %" G_GUINT64_FORMAT " key-frame requests to lvcenc\n",
      c.keys_after_loss, c.first_key_after_loss, c.loss_at, pay_key_requests);
  EXPECT (&c, c.keys_after_loss >= 1, "the loss was not answered with a key frame");
  EXPECT (&c, pay_key_requests >= 1, "no key-frame request reached the sender");

  printf ("lvcenc bitrate: %d kbit/s at the start, %d at the lowest, %d at the end\n",
      START_KBPS, c.lowest_kbps, c.kbps);
  EXPECT (&c, c.lowest_kbps < START_KBPS, "the rate controller never lowered the bitrate");

  /* every received picture is one the sender decoded too (none damaged), and from the key
   * frame that answered the loss on, every frame arrives: quality recovers fully */
  match = match_pictures (&c);
  for (guint i = 0; i < received; i++)
    if (match[i] < 0)
      damaged++;
  tail = received > 0 ? 1 : 0;
  while (tail < received && match[received - tail - 1] >= 0 &&
      match[received - tail - 1] + 1 == match[received - tail])
    tail++;
  tail_start = received > 0 ? match[received - tail] : -1;
  printf ("received pictures unlike the sender's: %u; the last %u received pictures are "
      "frames %d.. in a row\n", damaged, tail, tail_start);
  EXPECT (&c, damaged == 0, "%u damaged pictures were received", damaged);
  EXPECT (&c, c.first_key_after_loss >= 0 && tail_start >= c.first_key_after_loss,
      "pictures were missing after the key frame that answered the loss (frame %d)",
      c.first_key_after_loss);
  EXPECT (&c, tail >= FPS, "quality did not recover: only the last %u pictures are complete",
      tail);
  g_free (match);

  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (c.enc);
  gst_object_unref (c.pay);
  gst_object_unref (c.offerer);
  gst_object_unref (c.answerer);
  gst_object_unref (c.pipe);
  g_main_loop_unref (c.loop);
  g_ptr_array_unref (c.sent);
  g_ptr_array_unref (c.received);
  g_free (c.offer_sdp);
  g_mutex_clear (&c.lock);
  printf ("%s\n", c.failures ? "webrtc_loopback: FAILED" : "webrtc_loopback: all checks "
      "passed");
  return c.failures ? 1 : 0;
}
