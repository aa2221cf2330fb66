/* rtp-loopback: an lvc video call over RTP/UDP on 127.0.0.1 with artificial packet loss.
 *
 * sender:   videotestsrc (live) ! lvcenc bitrate=<cap> key-int-max=0 ! rtplvcpay ! rtpbin
 *             ! udpsink (RTP, lossy) + RTCP out / in
 * receiver: udpsrc ! rtpbin (jitter buffer, NACK when --rtx) ! rtplvcdepay ! lvcdec ! fakesink
 *             + RTCP out (receiver reports, PLI, NACK) / in
 *
 * RTP packets are dropped on the sender's way out with a seeded pseudo-random generator (the
 * retransmissions too); RTCP is not dropped.  With --rtx, rtpbin's aux sender / receiver add
 * rtprtxsend / rtprtxreceive (RFC 4588, payload type 97) and the receiver's jitter buffer asks
 * for lost packets.  Key frames after a loss come from the depayloader's PLI through rtpbin.
 *
 * It prints: frames sent and shown, loss events (frames with a dropped packet), freeze time
 * per loss event (the time beyond one frame interval during which no new decoded frame reached
 * the sink), key frames per minute, and the bitrate against the cap.  --check makes it a test:
 * it fails unless frames keep arriving after losses, freezes stay bounded and the overshoot
 * is under a limit.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>

#include <lvc/lvc.h>

#include "gstlvc.h"

#define RTX_PT 97
#define LVC_PT 96

typedef struct {
  /* options */
  gdouble duration, loss, max_freeze_ms, max_overshoot, min_shown;
  gint bitrate, width, height, fps, mtu, latency, vbv, key_interval, rtcp_interval;
  guint seed;
  gboolean rtx, check, verbose;
  gchar *model;

  gchar *model_id;
  GMainLoop *loop;
  GstElement *tx, *rx;
  GstElement *enc, *pay, *depay, *sink;   /* borrowed: the pipelines own them */
  GstElement *rx_chain;
  GstElement *jitterbuffer;     /* the receiver's, a reference; NULL until made */
  GstElement *rtxsend;          /* the sender's rtprtxsend, borrowed; NULL without --rtx */
  gboolean failed;

  /* loss (sender's RTP udpsink); streaming thread, lock */
  GMutex lock;
  guint64 rng;
  guint64 packets, rtx_packets, dropped, dropped_rtx;
  guint64 wire_bytes;
  GHashTable *hit_ts;           /* RTP timestamps of frames with a dropped packet */

  /* encoder output (payloader input) */
  guint64 enc_bytes, enc_frames, enc_keys;
  gint64 enc_t0;                /* monotonic µs of the first frame */
  GArray *sec_bytes;            /* bytes per second of media time */

  GstClockTime enc_last_pts;
  gdouble src_gap_ms;           /* media time missing already at the sender (slow encoder) */

  /* sink: freezes in media time (timestamps of the pictures shown) and wall-clock stalls */
  guint64 shown;
  GstClockTime last_shown_pts;
  gdouble freeze_ms, max_freeze;
  guint freezes;
  gint64 last_shown_us;
  gdouble stall_ms, max_stall;
} Call;

/* xorshift64*: reproducible losses for a seed */
static gdouble
rng_uniform (Call * c)
{
  c->rng ^= c->rng >> 12;
  c->rng ^= c->rng << 25;
  c->rng ^= c->rng >> 27;
  return (gdouble) ((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* One RTP packet on its way to the network: counted, maybe dropped. */
static gboolean
lossy_packet (Call * c, GstBuffer * b)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint pt = 0;
  guint32 ts = 0;
  gboolean drop;

  if (gst_rtp_buffer_map (b, GST_MAP_READ, &rtp)) {
    pt = gst_rtp_buffer_get_payload_type (&rtp);
    ts = gst_rtp_buffer_get_timestamp (&rtp);
    gst_rtp_buffer_unmap (&rtp);
  }
  g_mutex_lock (&c->lock);
  c->packets++;
  c->rtx_packets += pt == RTX_PT;
  c->wire_bytes += gst_buffer_get_size (b);
  drop = rng_uniform (c) < c->loss / 100.0;
  if (drop) {
    c->dropped++;
    c->dropped_rtx += pt == RTX_PT;
    g_hash_table_add (c->hit_ts, GUINT_TO_POINTER (ts));
  }
  g_mutex_unlock (&c->lock);
  return drop;
}

static GstPadProbeReturn
loss_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Call *c = user_data;

  (void) pad;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    return lossy_packet (c, GST_PAD_PROBE_INFO_BUFFER (info)) ? GST_PAD_PROBE_DROP :
        GST_PAD_PROBE_OK;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
    GST_PAD_PROBE_INFO_DATA (info) = list;
    for (guint i = 0; i < gst_buffer_list_length (list);) {
      if (lossy_packet (c, gst_buffer_list_get (list, i)))
        gst_buffer_list_remove (list, i, 1);
      else
        i++;
    }
  }
  return GST_PAD_PROBE_OK;
}

/* lvc frames into the payloader: size and key frames */
static GstPadProbeReturn
enc_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Call *c = user_data;
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  gint64 now = g_get_monotonic_time ();
  guint sec;

  (void) pad;
  g_mutex_lock (&c->lock);
  if (c->enc_frames == 0)
    c->enc_t0 = now;
  c->enc_frames++;
  c->enc_bytes += gst_buffer_get_size (b);
  c->enc_keys += !GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DELTA_UNIT);
  if (GST_BUFFER_PTS_IS_VALID (b)) {
    if (GST_CLOCK_TIME_IS_VALID (c->enc_last_pts) && GST_BUFFER_PTS (b) > c->enc_last_pts) {
      gdouble gap = (gdouble) (GST_BUFFER_PTS (b) - c->enc_last_pts) / GST_MSECOND;
      if (gap > 1.5 * 1000.0 / c->fps)
        c->src_gap_ms += gap - 1000.0 / c->fps;
    }
    c->enc_last_pts = GST_BUFFER_PTS (b);
  }
  sec = (guint) ((c->enc_frames - 1) / (guint64) c->fps);
  if (sec >= c->sec_bytes->len)
    g_array_set_size (c->sec_bytes, sec + 1);
  g_array_index (c->sec_bytes, guint64, sec) += gst_buffer_get_size (b);
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

/* Decoded pictures reaching the sink.  A freeze is a gap of more than 1.5 frame intervals
 * between the timestamps of consecutive pictures (pictures that never came: lost, or dropped
 * while waiting for a key frame); it lasts the gap less one interval.  Stalls are the same in
 * wall-clock time of arrival, which a busy CPU lengthens too. */
static GstPadProbeReturn
sink_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Call *c = user_data;
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  gint64 now = g_get_monotonic_time ();
  gdouble interval = 1000.0 / c->fps;

  (void) pad;
  g_mutex_lock (&c->lock);
  if (c->shown > 0) {
    gdouble stall = (gdouble) (now - c->last_shown_us) / 1000.0;
    if (stall > 1.5 * interval) {
      c->stall_ms += stall - interval;
      c->max_stall = MAX (c->max_stall, stall - interval);
    }
  }
  if (GST_BUFFER_PTS_IS_VALID (b)) {
    if (GST_CLOCK_TIME_IS_VALID (c->last_shown_pts) && GST_BUFFER_PTS (b) > c->last_shown_pts) {
      gdouble gap = (gdouble) (GST_BUFFER_PTS (b) - c->last_shown_pts) / GST_MSECOND;
      if (gap > 1.5 * interval) {
        c->freeze_ms += gap - interval;
        c->freezes++;
        c->max_freeze = MAX (c->max_freeze, gap - interval);
      }
    }
    c->last_shown_pts = GST_BUFFER_PTS (b);
  }
  c->last_shown_us = now;
  c->shown++;
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

/* ---- rtpbin plumbing ---- */

static GstElement *
make_rtx_bin (Call * c, const gchar * factory, guint session, gboolean sender)
{
  GstElement *bin = gst_bin_new (NULL);
  GstElement *e = gst_element_factory_make (factory, NULL);
  GstStructure *map = gst_structure_new ("application/x-rtp-pt-map", "96", G_TYPE_UINT,
      (guint) RTX_PT, NULL);
  gchar *name;
  GstPad *pad;

  if (!e) {
    g_printerr ("element %s is missing (gst-plugins-good)\n", factory);
    gst_structure_free (map);
    gst_object_unref (bin);
    return NULL;
  }
  g_object_set (e, "payload-type-map", map, NULL);
  if (sender) {
    g_object_set (e, "max-size-time", 2000u, "max-size-packets", 0u, NULL);
    c->rtxsend = e;
  }
  gst_structure_free (map);
  gst_bin_add (GST_BIN (bin), e);
  name = g_strdup_printf ("src_%u", session);
  pad = gst_element_get_static_pad (e, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new (name, pad));
  gst_object_unref (pad);
  g_free (name);
  name = g_strdup_printf ("sink_%u", session);
  pad = gst_element_get_static_pad (e, "sink");
  gst_element_add_pad (bin, gst_ghost_pad_new (name, pad));
  gst_object_unref (pad);
  g_free (name);
  return bin;
}

static GstElement *
on_aux_sender (GstElement * rtpbin, guint session, gpointer user_data)
{
  (void) rtpbin;
  return make_rtx_bin (user_data, "rtprtxsend", session, TRUE);
}

static GstElement *
on_aux_receiver (GstElement * rtpbin, guint session, gpointer user_data)
{
  (void) rtpbin;
  return make_rtx_bin (user_data, "rtprtxreceive", session, FALSE);
}

static GstCaps *
lvc_rtp_caps (Call * c)
{
  return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "video",
      "clock-rate", G_TYPE_INT, 90000, "encoding-name", G_TYPE_STRING, "LVC",
      "payload", G_TYPE_INT, LVC_PT, "model-id", G_TYPE_STRING, c->model_id,
      "profile", G_TYPE_STRING, "lvc-s", "rtcp-fb-nack-pli", G_TYPE_BOOLEAN, TRUE,
      "rtcp-fb-nack", G_TYPE_BOOLEAN, TRUE, NULL);
}

static GstCaps *
on_request_pt_map (GstElement * rtpbin, guint session, guint pt, gpointer user_data)
{
  Call *c = user_data;

  (void) rtpbin;
  (void) session;
  if (pt == LVC_PT)
    return lvc_rtp_caps (c);
  if (pt == RTX_PT)
    return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "video",
        "clock-rate", G_TYPE_INT, 90000, "encoding-name", G_TYPE_STRING, "RTX",
        "apt", G_TYPE_INT, LVC_PT, "payload", G_TYPE_INT, RTX_PT, NULL);
  return NULL;
}

static void
on_new_jitterbuffer (GstElement * rtpbin, GstElement * jb, guint session, guint ssrc,
    gpointer user_data)
{
  Call *c = user_data;

  (void) rtpbin;
  (void) session;
  (void) ssrc;
  /* video comes in bursts (a frame's packets back to back): no retransmission requests for
   * packets merely expected from the packet spacing, only for gaps seen */
  g_object_set (jb, "rtx-next-seqnum", FALSE, NULL);
  g_mutex_lock (&c->lock);
  if (!c->jitterbuffer)
    c->jitterbuffer = gst_object_ref (jb);
  g_mutex_unlock (&c->lock);
}

static void
on_rx_pad_added (GstElement * rtpbin, GstPad * pad, gpointer user_data)
{
  Call *c = user_data;
  GstPad *sink;

  (void) rtpbin;
  if (!g_str_has_prefix (GST_PAD_NAME (pad), "recv_rtp_src_"))
    return;
  sink = gst_element_get_static_pad (c->rx_chain, "sink");
  if (!gst_pad_is_linked (sink) && gst_pad_link (pad, sink) != GST_PAD_LINK_OK) {
    g_printerr ("cannot link %s to the depayloader\n", GST_PAD_NAME (pad));
    c->failed = TRUE;
  }
  gst_object_unref (sink);
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Call *c = user_data;

  (void) bus;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &err, &dbg);
    g_printerr ("error from %s: %s (%s)\n", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
        err->message, dbg ? dbg : "");
    g_clear_error (&err);
    g_free (dbg);
    c->failed = TRUE;
    g_main_loop_quit (c->loop);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING && c->verbose) {
    GError *err = NULL;
    gst_message_parse_warning (msg, &err, NULL);
    g_printerr ("warning from %s: %s\n", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
        err->message);
    g_clear_error (&err);
  }
  return TRUE;
}

static gboolean
on_timeout (gpointer user_data)
{
  g_main_loop_quit (((Call *) user_data)->loop);
  return G_SOURCE_REMOVE;
}

/* A child of bin (recursively), borrowed: the bin keeps it alive. */
static GstElement *
get (GstElement * bin, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  if (!e) {
    g_printerr ("no element %s\n", name);
    exit (2);
  }
  gst_object_unref (e);
  return e;
}

/* One element, or a bin of several with ghost pads for the unlinked ends; named name. */
static GstElement *
parse (const gchar * desc, const gchar * name)
{
  GError *err = NULL;
  GstElement *e = strstr (desc, "!") ?
      GST_ELEMENT (gst_parse_bin_from_description (desc, TRUE, &err)) :
      gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);

  if (!e || err) {
    g_printerr ("cannot build \"%s\": %s\n", desc, err ? err->message : "?");
    exit (2);
  }
  gst_object_set_name (GST_OBJECT (e), name);
  return e;
}

static void
link_or_die (GstElement * a, const gchar * pa, GstElement * b, const gchar * pb)
{
  if (!gst_element_link_pads (a, pa, b, pb)) {
    g_printerr ("cannot link %s:%s to %s:%s\n", GST_OBJECT_NAME (a), pa, GST_OBJECT_NAME (b),
        pb);
    exit (2);
  }
}

static gint
bound_port (GstElement * pipe, const gchar * name)
{
  GstElement *e = get (pipe, name);
  gint port = 0;
  g_object_get (e, "port", &port, NULL);
  return port;
}

static GstElement *
make_rtpbin (Call * c, const gchar * name, gboolean sender)
{
  GstElement *rtpbin = gst_element_factory_make ("rtpbin", name);

  if (!rtpbin) {
    g_printerr ("rtpbin is missing (gst-plugins-good)\n");
    exit (2);
  }
  /* AVPF: feedback (PLI, NACK) goes out at once instead of with the next regular report */
  gst_util_set_object_arg (G_OBJECT (rtpbin), "rtp-profile", "avpf");
  g_object_set (rtpbin, "latency", (guint) c->latency, NULL);
  if (c->rtx) {
    if (sender)
      g_signal_connect (rtpbin, "request-aux-sender", G_CALLBACK (on_aux_sender), c);
    else
      g_signal_connect (rtpbin, "request-aux-receiver", G_CALLBACK (on_aux_receiver), c);
  }
  if (!sender) {
    g_object_set (rtpbin, "do-retransmission", c->rtx, "do-lost", TRUE, NULL);
    g_signal_connect (rtpbin, "request-pt-map", G_CALLBACK (on_request_pt_map), c);
    g_signal_connect (rtpbin, "pad-added", G_CALLBACK (on_rx_pad_added), c);
    g_signal_connect (rtpbin, "new-jitterbuffer", G_CALLBACK (on_new_jitterbuffer), c);
  }
  return rtpbin;
}

/* Feedback (NACK, PLI) goes out early in AVPF only once per regular RTCP interval; the rest
 * waits for the next regular report.  With the default 5 s minimum interval, and the interval
 * rtpsession derives from a small assumed bandwidth, a second NACK would miss the jitter
 * buffer's deadline: give the session the call's bandwidth and a short minimum interval
 * (--rtcp-interval, 20 ms: RTCP then takes well under 1 % of the call). */
static void
tune_session (Call * c, GstElement * rtpbin)
{
  GstElement *session = NULL;

  g_signal_emit_by_name (rtpbin, "get-session", 0u, &session);
  if (!session) {
    g_printerr ("rtpbin has no session 0\n");
    exit (2);
  }
  g_object_set (session, "rtcp-min-interval", (guint64) c->rtcp_interval * GST_MSECOND,
      "bandwidth", (gdouble) c->bitrate * 1000.0 / 8.0, NULL);
  gst_object_unref (session);
}

static void
set_caps_str (GstElement * e, const gchar * str)
{
  GstCaps *caps = gst_caps_from_string (str);
  g_object_set (e, "caps", caps, NULL);
  gst_caps_unref (caps);
}

static void
build (Call * c)
{
  gchar *desc;
  GstElement *rtpbin, *e;
  GstCaps *caps;
  GstPad *pad;

  /* receiver first: its udpsrc ports are allocated by the system */
  c->rx = gst_pipeline_new ("receiver");
  e = parse ("udpsrc address=127.0.0.1 port=0 buffer-size=4194304", "rx_rtp_in");
  caps = lvc_rtp_caps (c);
  g_object_set (e, "caps", caps, NULL);
  gst_caps_unref (caps);
  gst_bin_add (GST_BIN (c->rx), e);
  e = parse ("udpsrc address=127.0.0.1 port=0", "rx_rtcp_in");
  set_caps_str (e, "application/x-rtcp");
  gst_bin_add (GST_BIN (c->rx), e);
  gst_bin_add (GST_BIN (c->rx), parse ("udpsink host=127.0.0.1 port=9 sync=false "
          "async=false", "rx_rtcp_out"));
  desc = g_strdup_printf ("rtplvcdepay name=depay key-request-interval=%d ! "
      "lvcdec threads=1 ! fakesink name=sink sync=false async=false", c->key_interval);
  c->rx_chain = parse (desc, "rx_chain");
  g_free (desc);
  gst_bin_add (GST_BIN (c->rx), c->rx_chain);
  c->depay = get (c->rx, "depay");
  c->sink = get (c->rx, "sink");
  rtpbin = make_rtpbin (c, "rx_rtpbin", FALSE);
  gst_bin_add (GST_BIN (c->rx), rtpbin);
  link_or_die (get (c->rx, "rx_rtp_in"), "src", rtpbin, "recv_rtp_sink_0");
  link_or_die (get (c->rx, "rx_rtcp_in"), "src", rtpbin, "recv_rtcp_sink_0");
  link_or_die (rtpbin, "send_rtcp_src_0", get (c->rx, "rx_rtcp_out"), "sink");
  tune_session (c, rtpbin);
  pad = gst_element_get_static_pad (c->sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, sink_probe, c, NULL);
  gst_object_unref (pad);
  if (gst_element_set_state (c->rx, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
    g_printerr ("the receiver does not start\n");
    exit (2);
  }

  /* sender */
  c->tx = gst_pipeline_new ("sender");
  desc = g_strdup_printf ("videotestsrc is-live=true pattern=ball ! "
      "video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1 ! "
      "lvcenc name=enc model=\"%s\" bitrate=%d vbv-buffer=%d key-int-max=0 threads=1 ! "
      "rtplvcpay name=pay mtu=%d pt=%d", c->width, c->height, c->fps, c->model, c->bitrate,
      c->vbv, c->mtu, LVC_PT);
  e = parse (desc, "tx_chain");
  g_free (desc);
  gst_bin_add (GST_BIN (c->tx), e);
  c->enc = get (c->tx, "enc");
  c->pay = get (c->tx, "pay");
  pad = gst_element_get_static_pad (c->pay, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, enc_probe, c, NULL);
  gst_object_unref (pad);
  desc = g_strdup_printf ("udpsink host=127.0.0.1 port=%d sync=false async=false",
      bound_port (c->rx, "rx_rtp_in"));
  e = parse (desc, "tx_rtp_out");
  g_free (desc);
  gst_bin_add (GST_BIN (c->tx), e);
  pad = gst_element_get_static_pad (e, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      loss_probe, c, NULL);
  gst_object_unref (pad);
  desc = g_strdup_printf ("udpsink host=127.0.0.1 port=%d sync=false async=false",
      bound_port (c->rx, "rx_rtcp_in"));
  gst_bin_add (GST_BIN (c->tx), parse (desc, "tx_rtcp_out"));
  g_free (desc);
  e = parse ("udpsrc address=127.0.0.1 port=0", "tx_rtcp_in");
  set_caps_str (e, "application/x-rtcp");
  gst_bin_add (GST_BIN (c->tx), e);
  rtpbin = make_rtpbin (c, "tx_rtpbin", TRUE);
  gst_bin_add (GST_BIN (c->tx), rtpbin);
  link_or_die (get (c->tx, "tx_chain"), "src", rtpbin, "send_rtp_sink_0");
  link_or_die (rtpbin, "send_rtp_src_0", get (c->tx, "tx_rtp_out"), "sink");
  link_or_die (rtpbin, "send_rtcp_src_0", get (c->tx, "tx_rtcp_out"), "sink");
  link_or_die (get (c->tx, "tx_rtcp_in"), "src", rtpbin, "recv_rtcp_sink_0");
  tune_session (c, rtpbin);
  if (gst_element_set_state (c->tx, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
    g_printerr ("the sender does not start\n");
    exit (2);
  }
  /* the receiver's RTCP goes to the sender's RTCP port */
  g_object_set (get (c->rx, "rx_rtcp_out"), "port", bound_port (c->tx, "tx_rtcp_in"), NULL);
}

static gint64
stat_of (GstElement * e, const gchar * field)
{
  GstStructure *s = NULL;
  guint64 v = 0;

  g_object_get (e, "stats", &s, NULL);
  if (s) {
    gst_structure_get_uint64 (s, field, &v);
    gst_structure_free (s);
  }
  return (gint64) v;
}

static gchar *
find_model (const gchar * opt)
{
  const gchar *env = g_getenv ("LVC_MODEL");

  if (opt)
    return g_strdup (opt);
  if (env && *env)
    return g_strdup (env);
  return g_strdup (LVC_SOURCE_ROOT "/tests/golden/model_random.lvcm");
}

int
main (int argc, char **argv)
{
  Call c;
  GError *err = NULL;
  GOptionContext *ctx;
  LvcModel *model = NULL;
  LvcModelInfo mi;
  GstBus *bus;
  gdouble loss_freeze, secs, minutes, kbps, peak_kbps = 0, overshoot, peak_overshoot;
  guint64 loss_events, sent;
  gint64 tail_ms;
  guint rtx_req = 0, rtx_sent = 0;
  int r;
  gboolean ok = TRUE;

  memset (&c, 0, sizeof (c));
  c.duration = 10;
  c.loss = 1;
  c.bitrate = 5000;
  c.width = 320;
  c.height = 240;
  c.fps = 30;
  c.mtu = 1200;
  c.latency = 200;
  c.vbv = 500;
  c.key_interval = 300;
  c.rtcp_interval = 20;
  c.seed = 1;
  c.max_freeze_ms = 1500;
  c.max_overshoot = 50;
  c.min_shown = 0.5;
  {
    gchar *model_opt = NULL;
    GOptionEntry entries[] = {
      {"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &c.duration, "seconds of call (10)", "S"},
      {"loss", 'l', 0, G_OPTION_ARG_DOUBLE, &c.loss, "RTP packet loss in percent (1)", "P"},
      {"rtx", 'r', 0, G_OPTION_ARG_NONE, &c.rtx, "retransmission (RTX, NACK) on", NULL},
      {"bitrate", 'b', 0, G_OPTION_ARG_INT, &c.bitrate, "encoder bitrate cap, kbit/s (5000)",
          "K"},
      {"vbv", 0, 0, G_OPTION_ARG_INT, &c.vbv, "encoder rate-control buffer, ms (500)", "MS"},
      {"width", 0, 0, G_OPTION_ARG_INT, &c.width, "picture width (320)", "W"},
      {"height", 0, 0, G_OPTION_ARG_INT, &c.height, "picture height (240)", "H"},
      {"fps", 0, 0, G_OPTION_ARG_INT, &c.fps, "frame rate (30)", "N"},
      {"mtu", 0, 0, G_OPTION_ARG_INT, &c.mtu, "RTP packet size limit (1200)", "B"},
      {"latency", 0, 0, G_OPTION_ARG_INT, &c.latency, "jitter buffer latency, ms (200)", "MS"},
      {"key-request-interval", 0, 0, G_OPTION_ARG_INT, &c.key_interval,
          "rtplvcdepay key-frame request interval, ms (300)", "MS"},
      {"rtcp-interval", 0, 0, G_OPTION_ARG_INT, &c.rtcp_interval,
          "least time between regular RTCP reports, ms (20)", "MS"},
      {"seed", 0, 0, G_OPTION_ARG_INT, &c.seed, "loss pattern seed (1)", "N"},
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_opt,
          "model (.lvcm); default $LVC_MODEL, else the source tree's random test model", "F"},
      {"check", 0, 0, G_OPTION_ARG_NONE, &c.check, "exit 1 unless the call recovers", NULL},
      {"max-freeze", 0, 0, G_OPTION_ARG_DOUBLE, &c.max_freeze_ms,
          "--check: longest allowed freeze, ms (1500)", "MS"},
      {"max-overshoot", 0, 0, G_OPTION_ARG_DOUBLE, &c.max_overshoot,
          "--check: allowed mean bitrate overshoot, percent (50)", "P"},
      {"min-shown", 0, 0, G_OPTION_ARG_DOUBLE, &c.min_shown,
          "--check: least fraction of frames shown (0.5)", "F"},
      {"verbose", 'v', 0, G_OPTION_ARG_NONE, &c.verbose, "print warnings", NULL},
      {NULL, 0, 0, 0, NULL, NULL, NULL}
    };
    ctx = g_option_context_new ("- an lvc video call over RTP on 127.0.0.1 with packet loss");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_option_context_add_group (ctx, gst_init_get_option_group ());
    if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
      g_printerr ("%s\n", err->message);
      return 2;
    }
    g_option_context_free (ctx);
    c.model = find_model (model_opt);
    g_free (model_opt);
  }
  if (c.fps < 1 || c.duration <= 0 || c.loss < 0 || c.loss > 100 || c.mtu < 64) {
    g_printerr ("invalid options\n");
    return 2;
  }
  gst_init (NULL, NULL);
  /* the lvc elements from the plugin path, else the ones built into this program */
  if (!gst_registry_check_feature_version (gst_registry_get (), "rtplvcpay", 1, 0, 0) &&
      !gst_plugin_register_static (GST_VERSION_MAJOR, GST_VERSION_MINOR, "lvc",
          "lvc elements", gst_lvc_plugin_init, "0.1.0", "LGPL", "lvc", "lvc",
          "https://example.invalid/lvc")) {
    g_printerr ("cannot register the lvc elements\n");
    return 2;
  }
  if ((r = lvc_model_load (c.model, &model)) < 0) {
    g_printerr ("model %s: %s\n", c.model, lvc_last_error ());
    return 2;
  }
  lvc_model_get_info (model, &mi);
  c.model_id = g_strdup (mi.id_hex);
  lvc_model_unref (model);

  g_mutex_init (&c.lock);
  c.rng = 0x9E3779B97F4A7C15ULL ^ ((guint64) c.seed * 0xD1B54A32D192ED03ULL);
  if (!c.rng)
    c.rng = 1;
  c.enc_last_pts = c.last_shown_pts = GST_CLOCK_TIME_NONE;
  c.hit_ts = g_hash_table_new (g_direct_hash, g_direct_equal);
  c.sec_bytes = g_array_new (FALSE, TRUE, sizeof (guint64));
  c.loop = g_main_loop_new (NULL, FALSE);
  build (&c);
  bus = gst_element_get_bus (c.rx);
  gst_bus_add_watch (bus, on_bus, &c);
  gst_object_unref (bus);
  bus = gst_element_get_bus (c.tx);
  gst_bus_add_watch (bus, on_bus, &c);
  gst_object_unref (bus);

  gst_element_set_state (c.rx, GST_STATE_PLAYING);
  gst_element_set_state (c.tx, GST_STATE_PLAYING);
  g_timeout_add ((guint) (c.duration * 1000), on_timeout, &c);
  g_main_loop_run (c.loop);
  tail_ms = (g_get_monotonic_time () - c.last_shown_us) / 1000;
  /* rtprtxsend clears its counters when it stops */
  if (c.rtxsend)
    g_object_get (c.rtxsend, "num-rtx-requests", &rtx_req, "num-rtx-packets", &rtx_sent, NULL);
  gst_element_set_state (c.tx, GST_STATE_NULL);
  gst_element_set_state (c.rx, GST_STATE_NULL);

  /* ---- figures ---- */

  sent = c.enc_frames;
  secs = sent / (gdouble) c.fps;
  minutes = secs / 60.0;
  kbps = secs > 0 ? c.enc_bytes * 8.0 / 1000.0 / secs : 0;
  /* whole seconds only (the last one is partial) */
  for (guint i = 0; i + 1 < c.sec_bytes->len; i++)
    peak_kbps = MAX (peak_kbps, g_array_index (c.sec_bytes, guint64, i) * 8.0 / 1000.0);
  overshoot = (kbps / c.bitrate - 1.0) * 100.0;
  peak_overshoot = (peak_kbps / c.bitrate - 1.0) * 100.0;
  loss_events = g_hash_table_size (c.hit_ts);
  /* media time lost to the network: what the sink missed less what the sender never sent */
  loss_freeze = MAX (0.0, c.freeze_ms - c.src_gap_ms);

  printf ("lvc RTP loopback: %dx%d@%d, %.1f s, cap %d kbit/s, loss %.1f%%, RTX %s, "
      "mtu %d, latency %d ms, key-request-interval %d ms, seed %u\n", c.width, c.height,
      c.fps, secs, c.bitrate, c.loss, c.rtx ? "on" : "off", c.mtu, c.latency, c.key_interval,
      c.seed);
  printf ("  packets sent %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " retransmissions), "
      "dropped %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " retransmissions)\n",
      c.packets, c.rtx_packets, c.dropped, c.dropped_rtx);
  printf ("  frames sent %" G_GUINT64_FORMAT ", shown %" G_GUINT64_FORMAT " (%.1f%%), "
      "loss events (frames hit) %" G_GUINT64_FORMAT "\n", sent, c.shown,
      sent ? 100.0 * c.shown / sent : 0.0, loss_events);
  printf ("  freeze (media time): %.0f ms in %u freezes (mean %.0f ms), longest %.0f ms; "
      "%.0f ms already missing at the sender; per loss event %.0f ms\n", c.freeze_ms,
      c.freezes, c.freezes ? c.freeze_ms / c.freezes : 0.0, c.max_freeze, c.src_gap_ms,
      loss_events ? loss_freeze / loss_events : 0.0);
  printf ("  stalls (wall clock at the sink): %.0f ms, longest %.0f ms, none for the last "
      "%" G_GINT64_FORMAT " ms\n", c.stall_ms, c.max_stall, tail_ms);
  printf ("  key frames %" G_GUINT64_FORMAT " (%.1f per minute), key requests: "
      "depayloader %" G_GINT64_FORMAT ", at the payloader %" G_GINT64_FORMAT "\n", c.enc_keys,
      minutes > 0 ? c.enc_keys / minutes : 0.0, stat_of (c.depay, "key-requests"),
      stat_of (c.pay, "key-requests"));
  printf ("  depayloader: frames %" G_GINT64_FORMAT ", incomplete %" G_GINT64_FORMAT
      ", skipped %" G_GINT64_FORMAT ", losses %" G_GINT64_FORMAT "\n",
      stat_of (c.depay, "frames"), stat_of (c.depay, "incomplete"),
      stat_of (c.depay, "skipped"), stat_of (c.depay, "losses"));
  printf ("  bitrate: encoder %.0f kbit/s (overshoot %+.1f%%), peak 1-s window %.0f kbit/s "
      "(%+.1f%%), on the wire %.0f kbit/s\n", kbps, overshoot, peak_kbps, peak_overshoot,
      secs > 0 ? c.wire_bytes * 8.0 / 1000.0 / secs : 0.0);

  if (c.jitterbuffer) {
    GstStructure *st = NULL;
    guint64 lost = 0, late = 0, rtx = 0, rtx_ok = 0;
    g_object_get (c.jitterbuffer, "stats", &st, NULL);
    if (st) {
      gst_structure_get_uint64 (st, "num-lost", &lost);
      gst_structure_get_uint64 (st, "num-late", &late);
      gst_structure_get_uint64 (st, "rtx-count", &rtx);
      gst_structure_get_uint64 (st, "rtx-success-count", &rtx_ok);
      if (c.verbose) {
        gchar *str = gst_structure_to_string (st);
        printf ("  %s\n", str);
        g_free (str);
      }
      gst_structure_free (st);
    }
    printf ("  jitter buffer: lost %" G_GUINT64_FORMAT ", late %" G_GUINT64_FORMAT
        ", retransmission requests %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " answered)\n",
        lost, late, rtx, rtx_ok);
    gst_object_unref (c.jitterbuffer);
  }
  if (c.rtxsend)
    printf ("  rtprtxsend: %u requests received, %u packets retransmitted\n", rtx_req,
        rtx_sent);
  if (c.check) {
    if (c.failed) {
      printf ("  check: the pipelines failed\n");
      ok = FALSE;
    }
    if (sent == 0 || c.shown == 0) {
      printf ("  check: no frame went through\n");
      ok = FALSE;
    } else if (!c.failed && sent < (guint64) (c.fps * c.duration / 2)) {
      /* the figures mean nothing when the encoder cannot keep up: not a failure of ours */
      printf ("  check: only %" G_GUINT64_FORMAT " frames sent in %.1f s: the machine is too "
          "busy\nSKIP\n", sent, c.duration);
      return 77;
    }
    if (c.shown < c.min_shown * sent) {
      printf ("  check: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " frames shown\n",
          c.shown, sent);
      ok = FALSE;
    }
    if (c.max_freeze > c.max_freeze_ms) {
      printf ("  check: a freeze of %.0f ms (limit %.0f)\n", c.max_freeze, c.max_freeze_ms);
      ok = FALSE;
    }
    if (tail_ms > c.max_freeze_ms) {
      printf ("  check: no frame in the last %" G_GINT64_FORMAT " ms\n", tail_ms);
      ok = FALSE;
    }
    if (overshoot > c.max_overshoot) {
      printf ("  check: bitrate overshoot %.1f%% (limit %.0f%%)\n", overshoot,
          c.max_overshoot);
      ok = FALSE;
    }
    if (c.loss > 0 && c.dropped == 0) {
      printf ("  check: no packet was dropped\n");
      ok = FALSE;
    }
    printf ("%s\n", ok ? "PASS" : "FAIL");
  }
  gst_object_unref (c.tx);
  gst_object_unref (c.rx);
  g_main_loop_unref (c.loop);
  g_hash_table_destroy (c.hit_ts);
  g_array_free (c.sec_bytes, TRUE);
  g_mutex_clear (&c.lock);
  g_free (c.model_id);
  g_free (c.model);
  return c.check && !ok ? 1 : 0;
}
