/* GstHarness tests of rtplvcpay and rtplvcdepay (the RTP payload format of gst/README.md):
 * fragmentation, header bits, marker, round trips, loss handling, key-frame requests and
 * their throttle, caps / SDP negotiation, and lvcenc ! rtplvcpay ! rtplvcdepay ! lvcdec.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <gst/sdp/gstsdpmessage.h>
#include <gst/video/video.h>

#include <lvc/lvc.h>

#include "gstlvc.h"
#include "lvc_check.h"
#include "gstrtplvcdepay.h"
#include "gstrtplvcpay.h"

#define W 64
#define H 48
#define FPS 30
#define TS(n) gst_util_uint64_scale ((guint64) (n), GST_SECOND, FPS)
#define RAW_CAPS "video/x-raw, format = (string) I420, width = (int) 64, height = (int) 48, " \
  "framerate = (fraction) 30/1"
#define MODEL_A "00112233445566778899aabbccddeeff"
#define MODEL_B "ffeeddccbbaa99887766554433221100"
#define LVC_CAPS(id) "video/x-lvc, stream-format = (string) elementary, alignment = (string) " \
  "frame, profile = (string) lvc-s, model-id = (string) " id
#define RTP_CAPS_BASE "application/x-rtp, media = (string) video, clock-rate = (int) 90000, " \
  "encoding-name = (string) LVC, payload = (int) 96"
#define RTP_CAPS(id) RTP_CAPS_BASE ", model-id = (string) " id ", profile = (string) lvc-s"
#define RTP_HDR 12

static const char *
model_path (void)
{
  return LVC_SOURCE_ROOT "/tests/golden/model_random.lvcm";
}

/* ---- synthetic packets (FORMAT.md §1): a key frame is a sequence header + an I-frame
 * unit, a P-frame a P-frame unit; the bytes after the unit's header byte are a pattern ---- */

static void
put16 (guint8 * p, guint v)
{
  p[0] = (guint8) v;
  p[1] = (guint8) (v >> 8);
}

static GstBuffer *
synth_frame (gboolean key, gsize size, guint seed, const char *model_hex)
{
  guint8 *d = g_malloc (size);
  gsize off = 0;

  if (key) {
    fail_unless (size > 45);
    memset (d, 0, 44);
    memcpy (d, "LVC", 3);
    d[3] = LVC_BITSTREAM_VERSION;
    d[4] = LVC_OPSET_VERSION;
    d[5] = 1;
    for (int i = 0; i < 16; i++)
      d[6 + i] = (guint8) g_ascii_strtoull ((gchar[3]) {
          model_hex[2 * i], model_hex[2 * i + 1], 0}, NULL, 16);
    put16 (d + 22, W);
    put16 (d + 24, H);
    d[27] = 1;
    d[28] = d[29] = d[30] = 2;
    d[36] = FPS;
    put16 (d + 40, 1);
    off = 44;
    d[off++] = 0x90;            /* I-frame unit, qp present */
  } else {
    d[off++] = 0xD0;            /* P-frame unit, qp present */
  }
  for (gsize i = off; i < size; i++)
    d[i] = (guint8) (i * 7 + seed * 13);
  return gst_buffer_new_wrapped (d, size);
}

/* ---- RTP packet helpers ---- */

typedef struct {
  guint16 seq;
  guint32 ts;
  gboolean marker;
  guint8 hdr;
  gsize size;                   /* the whole RTP packet */
  guint pt;
} PktInfo;

static PktInfo
pkt_info (GstBuffer * b)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  PktInfo p;

  fail_unless (gst_rtp_buffer_map (b, GST_MAP_READ, &rtp));
  p.seq = gst_rtp_buffer_get_seq (&rtp);
  p.ts = gst_rtp_buffer_get_timestamp (&rtp);
  p.marker = gst_rtp_buffer_get_marker (&rtp);
  p.pt = gst_rtp_buffer_get_payload_type (&rtp);
  fail_unless (gst_rtp_buffer_get_payload_len (&rtp) >= 1);
  p.hdr = ((const guint8 *) gst_rtp_buffer_get_payload (&rtp))[0];
  p.size = gst_buffer_get_size (b);
  gst_rtp_buffer_unmap (&rtp);
  return p;
}

/* Append the payload after the one-byte header to acc. */
static void
append_payload (GByteArray * acc, GstBuffer * b)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

  fail_unless (gst_rtp_buffer_map (b, GST_MAP_READ, &rtp));
  g_byte_array_append (acc, (const guint8 *) gst_rtp_buffer_get_payload (&rtp) + 1,
      gst_rtp_buffer_get_payload_len (&rtp) - 1);
  gst_rtp_buffer_unmap (&rtp);
}

static gboolean
buffer_equals (GstBuffer * b, const guint8 * data, gsize size)
{
  return gst_buffer_get_size (b) == size && gst_buffer_memcmp (b, 0, data, size) == 0;
}

static gboolean
buffers_equal (GstBuffer * a, GstBuffer * b)
{
  GstMapInfo m;
  gboolean eq;

  fail_unless (gst_buffer_map (b, &m, GST_MAP_READ));
  eq = buffer_equals (a, m.data, m.size);
  gst_buffer_unmap (b, &m);
  return eq;
}

static GstHarness *
new_pay (guint mtu, const char *caps)
{
  GstHarness *h = gst_harness_new ("rtplvcpay");

  g_object_set (h->element, "mtu", mtu, "pt", 96, NULL);
  gst_harness_set_src_caps_str (h, caps);
  return h;
}

/* Number of force-key-unit events that reached the harness's source (went upstream). */
static int
count_key_requests (GstHarness * h, gboolean * all_headers_seen)
{
  GstEvent *ev;
  int n = 0;

  while ((ev = gst_harness_try_pull_upstream_event (h))) {
    if (gst_video_event_is_force_key_unit (ev)) {
      gboolean all = FALSE;
      fail_unless (gst_video_event_parse_upstream_force_key_unit (ev, NULL, &all, NULL));
      if (all_headers_seen && all)
        *all_headers_seen = TRUE;
      n++;
    }
    gst_event_unref (ev);
  }
  return n;
}

static guint64
stat_u64 (GstElement * e, const char *field)
{
  GstStructure *s = NULL;
  guint64 v = 0;

  g_object_get (e, "stats", &s, NULL);
  fail_unless (s != NULL);
  fail_unless (gst_structure_get_uint64 (s, field, &v));
  gst_structure_free (s);
  return v;
}

/* ---- real frames from lvcenc ---- */

static GstBuffer *
make_raw (int n)
{
  GstVideoInfo info;
  GstVideoFrame vf;
  GstBuffer *buf;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, W, H);
  buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  fail_unless (gst_video_frame_map (&vf, &info, buf, GST_MAP_WRITE));
  for (int p = 0; p < 3; p++) {
    int pw = p ? W / 2 : W, ph = p ? H / 2 : H;
    for (int y = 0; y < ph; y++) {
      guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, p) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, p);
      for (int x = 0; x < pw; x++)
        row[x] = p ? (guint8) (128 + ((x + y + n) % 16) - 8) :
            (guint8) (x * 3 + y * 2 + n * 5 + ((x / 8 + y / 8 + n) % 2) * 40);
    }
  }
  gst_video_frame_unmap (&vf);
  GST_BUFFER_PTS (buf) = TS (n);
  GST_BUFFER_DURATION (buf) = TS (n + 1) - TS (n);
  return buf;
}

/* n packets from lvcenc (key frames every key_int frames); *caps gets its output caps. */
static GPtrArray *
encode_frames (int n, int key_int, GstCaps ** caps)
{
  GstElement *e = gst_element_factory_make ("lvcenc", NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  GstHarness *h;

  fail_unless (e != NULL);
  g_object_set (e, "model", model_path (), "key-int-max", key_int, "threads", 1, "qp", 20,
      NULL);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_sink_caps_str (h, "video/x-lvc, stream-format = (string) elementary");
  gst_harness_set_src_caps_str (h, RAW_CAPS);
  for (int i = 0; i < n; i++) {
    fail_unless_equals_int (gst_harness_push (h, make_raw (i)), GST_FLOW_OK);
    g_ptr_array_add (out, gst_harness_pull (h));
  }
  if (caps)
    *caps = gst_pad_get_current_caps (h->sinkpad);
  gst_harness_teardown (h);
  return out;
}

static const gchar *
caps_model_id (GstCaps * caps)
{
  return gst_structure_get_string (gst_caps_get_structure (caps, 0), "model-id");
}

/* Payload every frame with the given mtu; the packets of frame i are (*pk_start)[i] ..
 * (*pk_start)[i+1]-1. */
static GPtrArray *
payload_frames (GPtrArray * frames, GstCaps * caps, guint mtu, GArray ** pk_start)
{
  GstHarness *h = gst_harness_new ("rtplvcpay");
  GPtrArray *pkts = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);

  g_object_set (h->element, "mtu", mtu, "pt", 96, NULL);
  gst_harness_set_src_caps (h, gst_caps_ref (caps));
  *pk_start = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < frames->len; i++) {
    guint start = pkts->len;
    GstBuffer *b;
    g_array_append_val (*pk_start, start);
    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_ref (g_ptr_array_index (frames, i))), GST_FLOW_OK);
    while ((b = gst_harness_try_pull (h)))
      g_ptr_array_add (pkts, b);
  }
  g_array_append_val (*pk_start, pkts->len);
  gst_harness_teardown (h);
  return pkts;
}

/* ---- tests ---- */

GST_START_TEST (test_fragmentation)
{
  const guint mtus[] = { 28, 100, 257, 1400 };
  const gsize sizes[] = { 1, 300, 1000, 1387, 1388, 4000 };

  for (guint m = 0; m < G_N_ELEMENTS (mtus); m++) {
    GstHarness *h = new_pay (mtus[m], LVC_CAPS (MODEL_A));
    gsize max = mtus[m] - RTP_HDR - 1;
    guint16 next_seq = 0;
    gboolean have_seq = FALSE;
    int frame = 0;

    for (guint k = 0; k < 2; k++) {
      for (guint si = 0; si < G_N_ELEMENTS (sizes); si++, frame++) {
        gboolean key = k == 0;
        gsize size = key ? sizes[si] + 45 : sizes[si];
        GstBuffer *in = synth_frame (key, size, (guint) frame, MODEL_A);
        GByteArray *acc = g_byte_array_new ();
        guint expect = (guint) ((size + max - 1) / max);
        guint32 ts0 = 0;

        GST_BUFFER_PTS (in) = TS (frame);
        fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (in)), GST_FLOW_OK);
        fail_unless_equals_int (gst_harness_buffers_in_queue (h), expect);
        for (guint i = 0; i < expect; i++) {
          GstBuffer *b = gst_harness_pull (h);
          PktInfo p = pkt_info (b);
          gboolean is_start = i == 0, last = i + 1 == expect;
          gsize want = last ? size - (gsize) i * max : max;
          fail_unless_equals_int ((int) p.size, (int) (RTP_HDR + 1 + want));
          fail_unless_equals_int (p.marker, last);
          fail_unless_equals_int (!!(p.hdr & GST_RTP_LVC_HDR_S), is_start);
          fail_unless_equals_int (!!(p.hdr & GST_RTP_LVC_HDR_E), last);
          fail_unless_equals_int (!!(p.hdr & GST_RTP_LVC_HDR_K), key);
          fail_unless_equals_int (p.hdr & 0x1F, 0);
          fail_unless_equals_int (p.pt, 96);
          fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DELTA_UNIT), !key);
          if (is_start)
            ts0 = p.ts;
          fail_unless_equals_int (p.ts, ts0);
          if (have_seq)
            fail_unless_equals_int (p.seq, next_seq);
          have_seq = TRUE;
          next_seq = (guint16) (p.seq + 1);
          append_payload (acc, b);
          gst_buffer_unref (b);
        }
        {
          GstMapInfo mi;
          fail_unless (gst_buffer_map (in, &mi, GST_MAP_READ));
          fail_unless_equals_int ((int) acc->len, (int) mi.size);
          fail_unless (memcmp (acc->data, mi.data, mi.size) == 0);
          gst_buffer_unmap (in, &mi);
        }
        g_byte_array_unref (acc);
        gst_buffer_unref (in);
      }
    }
    {
      GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
      GstStructure *s = gst_caps_get_structure (caps, 0);
      gint clock_rate = 0, pt = 0;
      fail_unless_equals_string (gst_structure_get_string (s, "encoding-name"), "LVC");
      fail_unless_equals_string (gst_structure_get_string (s, "media"), "video");
      fail_unless (gst_structure_get_int (s, "clock-rate", &clock_rate));
      fail_unless_equals_int (clock_rate, 90000);
      fail_unless (gst_structure_get_int (s, "payload", &pt));
      fail_unless_equals_int (pt, 96);
      fail_unless_equals_string (gst_structure_get_string (s, "model-id"), MODEL_A);
      fail_unless_equals_string (gst_structure_get_string (s, "profile"), "lvc-s");
      gst_caps_unref (caps);
    }
    fail_unless_equals_int ((int) stat_u64 (h->element, "frames"), frame);
    fail_unless_equals_int ((int) stat_u64 (h->element, "key-frames"), frame / 2);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* The RTP timestamp follows the 90 kHz clock: 9000 ticks between frames 100 ms apart. */
GST_START_TEST (test_timestamps)
{
  GstHarness *h = new_pay (1400, LVC_CAPS (MODEL_A));
  guint32 ts[4];

  g_object_set (h->element, "timestamp-offset", 1000u, NULL);
  for (int i = 0; i < 4; i++) {
    GstBuffer *in = synth_frame (i == 0, 100, (guint) i, MODEL_A);
    GstBuffer *b;
    GST_BUFFER_PTS (in) = i * 100 * GST_MSECOND;
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    b = gst_harness_pull (h);
    ts[i] = pkt_info (b).ts;
    gst_buffer_unref (b);
  }
  for (int i = 1; i < 4; i++)
    fail_unless_equals_int ((int) (ts[i] - ts[0]), 9000 * i);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A key frame that comes without its sequence header gets codec_data put in front. */
GST_START_TEST (test_sh_inserted)
{
  GstBuffer *key = synth_frame (TRUE, 200, 1, MODEL_A);
  GstBuffer *sh = gst_buffer_copy_region (key, GST_BUFFER_COPY_ALL, 0, 44);
  GstBuffer *bare = gst_buffer_copy_region (key, GST_BUFFER_COPY_ALL, 44, 156);
  GstCaps *caps = gst_caps_from_string (LVC_CAPS (MODEL_A));
  GstHarness *h = gst_harness_new ("rtplvcpay");
  GstBuffer *b;
  PktInfo p;

  gst_caps_set_simple (caps, "codec_data", GST_TYPE_BUFFER, sh, NULL);
  gst_harness_set_src_caps (h, caps);
  GST_BUFFER_PTS (bare) = 0;
  fail_unless_equals_int (gst_harness_push (h, bare), GST_FLOW_OK);
  b = gst_harness_pull (h);
  p = pkt_info (b);
  fail_unless_equals_int (p.hdr, GST_RTP_LVC_HDR_S | GST_RTP_LVC_HDR_E | GST_RTP_LVC_HDR_K);
  fail_unless_equals_int ((int) p.size, RTP_HDR + 1 + 200);
  {
    GByteArray *acc = g_byte_array_new ();
    GstMapInfo mi;
    append_payload (acc, b);
    fail_unless (gst_buffer_map (key, &mi, GST_MAP_READ));
    fail_unless (acc->len == mi.size && memcmp (acc->data, mi.data, mi.size) == 0);
    gst_buffer_unmap (key, &mi);
    g_byte_array_unref (acc);
  }
  gst_buffer_unref (b);
  fail_unless_equals_int ((int) stat_u64 (h->element, "sh-inserted"), 1);
  /* a complete key frame is sent as it is */
  GST_BUFFER_PTS (key) = TS (1);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (key)), GST_FLOW_OK);
  b = gst_harness_pull (h);
  fail_unless_equals_int ((int) gst_buffer_get_size (b), RTP_HDR + 1 + 200);
  gst_buffer_unref (b);
  fail_unless_equals_int ((int) stat_u64 (h->element, "sh-inserted"), 1);
  gst_harness_teardown (h);

  /* without codec_data a bare key frame is an error */
  h = new_pay (1400, LVC_CAPS (MODEL_A));
  bare = gst_buffer_copy_region (key, GST_BUFFER_COPY_ALL, 44, 156);
  fail_unless_equals_int (gst_harness_push (h, bare), GST_FLOW_ERROR);
  gst_harness_teardown (h);
  gst_buffer_unref (sh);
  gst_buffer_unref (key);
}

GST_END_TEST;

/* lvcenc frames through pay and depay for several MTUs come out byte-identical, with their
 * key-frame flags and timestamps. */
GST_START_TEST (test_roundtrip)
{
  const guint mtus[] = { 40, 120, 1400 };
  GstCaps *caps = NULL;
  GPtrArray *frames = encode_frames (10, 4, &caps);

  for (guint m = 0; m < G_N_ELEMENTS (mtus); m++) {
    GArray *pk_start;
    GPtrArray *pkts = payload_frames (frames, caps, mtus[m], &pk_start);
    GstHarness *h = gst_harness_new ("rtplvcdepay");
    GstCaps *rtp_caps = gst_caps_from_string (RTP_CAPS_BASE);
    GstCaps *out_caps;

    if (mtus[m] == 40)
      fail_unless (pkts->len > 3 * frames->len);
    gst_caps_set_simple (rtp_caps, "model-id", G_TYPE_STRING, caps_model_id (caps),
        "profile", G_TYPE_STRING, "lvc-s", NULL);
    gst_harness_set_src_caps (h, rtp_caps);
    for (guint i = 0; i < pkts->len; i++)
      fail_unless_equals_int (gst_harness_push (h,
              gst_buffer_ref (g_ptr_array_index (pkts, i))), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_buffers_in_queue (h), frames->len);
    for (guint i = 0; i < frames->len; i++) {
      GstBuffer *in = g_ptr_array_index (frames, i);
      GstBuffer *out = gst_harness_pull (h);
      fail_unless (buffers_equal (out, in), "frame %u differs (mtu %u)", i, mtus[m]);
      fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DELTA_UNIT),
          GST_BUFFER_FLAG_IS_SET (in, GST_BUFFER_FLAG_DELTA_UNIT));
      fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DELTA_UNIT),
          i % 4 != 0);
      fail_unless_equals_uint64 (GST_BUFFER_PTS (out), GST_BUFFER_PTS (in));
      gst_buffer_unref (out);
    }
    out_caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless (gst_caps_is_fixed (out_caps));
    fail_unless_equals_string (caps_model_id (out_caps), caps_model_id (caps));
    fail_unless_equals_string (gst_structure_get_string (gst_caps_get_structure (out_caps, 0),
            "stream-format"), "elementary");
    gst_caps_unref (out_caps);
    fail_unless_equals_int (count_key_requests (h, NULL), 0);
    fail_unless_equals_int ((int) stat_u64 (h->element, "losses"), 0);
    fail_unless_equals_int ((int) stat_u64 (h->element, "key-frames"), 3);
    gst_harness_teardown (h);
    g_ptr_array_unref (pkts);
    g_array_unref (pk_start);
  }
  g_ptr_array_unref (frames);
  gst_caps_unref (caps);
}

GST_END_TEST;

/* Pushes the packets into a depayloader except those in skip; returns the frames out. */
static GPtrArray *
depay_with_loss (GstHarness * h, GPtrArray * pkts, const guint * skip, guint n_skip)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  GstBuffer *b;

  for (guint i = 0; i < pkts->len; i++) {
    gboolean drop = FALSE;
    for (guint k = 0; k < n_skip; k++)
      drop |= skip[k] == i;
    if (!drop)
      fail_unless_equals_int (gst_harness_push (h,
              gst_buffer_ref (g_ptr_array_index (pkts, i))), GST_FLOW_OK);
    while ((b = gst_harness_try_pull (h)))
      g_ptr_array_add (out, b);
  }
  return out;
}

static GstHarness *
new_depay (GstCaps * lvc_caps, gboolean wait_for_keyframe)
{
  GstHarness *h = gst_harness_new ("rtplvcdepay");
  GstCaps *rtp_caps = gst_caps_from_string (RTP_CAPS_BASE);

  gst_caps_set_simple (rtp_caps, "model-id", G_TYPE_STRING, caps_model_id (lvc_caps), NULL);
  g_object_set (h->element, "wait-for-keyframe", wait_for_keyframe, NULL);
  gst_harness_use_testclock (h);
  gst_harness_set_src_caps (h, rtp_caps);
  return h;
}

/* A lost middle fragment discards exactly its frame (wait-for-keyframe=false), or its frame
 * and the P-frames up to the next key frame (default), and asks once for a key frame. */
GST_START_TEST (test_lost_fragment)
{
  GstCaps *caps = NULL;
  GPtrArray *frames = encode_frames (12, 6, &caps);
  GArray *pk_start;
  GPtrArray *pkts = payload_frames (frames, caps, 40, &pk_start);
  guint f0 = g_array_index (pk_start, guint, 2), f1 = g_array_index (pk_start, guint, 3);
  guint lost = f0 + (f1 - f0) / 2;
  gboolean all_headers = FALSE;

  fail_unless (f1 - f0 >= 3, "frame 2 has %u packets", f1 - f0);
  for (int wait = 0; wait < 2; wait++) {
    GstHarness *h = new_depay (caps, wait);
    GPtrArray *out = depay_with_loss (h, pkts, &lost, 1);
    guint j = 0;

    for (guint i = 0; i < frames->len; i++) {
      if (i == 2 || (wait && i > 2 && i < 6))
        continue;
      fail_unless (j < out->len);
      fail_unless (buffers_equal (g_ptr_array_index (out, j), g_ptr_array_index (frames, i)),
          "frame %u", i);
      j++;
    }
    fail_unless_equals_int (out->len, j);
    /* the frame after the loss is marked as a discontinuity */
    fail_unless (GST_BUFFER_FLAG_IS_SET (g_ptr_array_index (out, 2), GST_BUFFER_FLAG_DISCONT));
    fail_unless_equals_int ((int) stat_u64 (h->element, "incomplete"), 1);
    fail_unless_equals_int ((int) stat_u64 (h->element, "losses"), 1);
    fail_unless_equals_int ((int) stat_u64 (h->element, "skipped"), wait ? 3 : 0);
    fail_unless_equals_int (count_key_requests (h, &all_headers), 1);
    fail_unless_equals_int ((int) stat_u64 (h->element, "key-requests"), 1);
    fail_if (all_headers);      /* a PLI, not a FIR, in rtpsession */
    g_ptr_array_unref (out);
    gst_harness_teardown (h);
  }
  g_ptr_array_unref (pkts);
  g_array_unref (pk_start);
  g_ptr_array_unref (frames);
  gst_caps_unref (caps);
}

GST_END_TEST;

/* Other shapes of loss: a lost first fragment, a lost last fragment (start without end), a
 * whole lost frame, and a stream joined in the middle of a frame. */
GST_START_TEST (test_loss_shapes)
{
  GstCaps *caps = NULL;
  GPtrArray *frames = encode_frames (8, 100, &caps);
  GArray *pk_start;
  GPtrArray *pkts = payload_frames (frames, caps, 40, &pk_start);
#define FIRST(i) g_array_index (pk_start, guint, (i))
  struct {
    guint skip[256];
    guint n_skip;
    guint frames_out;           /* wait-for-keyframe=false */
  } cases[4];
  guint n;

  /* first fragment of frame 3 */
  cases[0].skip[0] = FIRST (3);
  cases[0].n_skip = 1;
  cases[0].frames_out = 7;
  /* last fragment of frame 3: frame 4's start comes before frame 3's end */
  cases[1].skip[0] = FIRST (4) - 1;
  cases[1].n_skip = 1;
  cases[1].frames_out = 7;
  /* all of frame 5 */
  n = 0;
  for (guint i = FIRST (5); i < FIRST (6) && n < G_N_ELEMENTS (cases[2].skip); i++)
    cases[2].skip[n++] = i;
  fail_unless_equals_int (n, FIRST (6) - FIRST (5));
  cases[2].n_skip = n;
  cases[2].frames_out = 7;
  /* the first packet of the stream lost: frame 0 without a start */
  cases[3].skip[0] = 0;
  cases[3].n_skip = 1;
  cases[3].frames_out = 7;

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    GstHarness *h = new_depay (caps, FALSE);
    GPtrArray *out = depay_with_loss (h, pkts, cases[c].skip, cases[c].n_skip);
    fail_unless_equals_int (out->len, cases[c].frames_out);
    fail_unless_equals_int (count_key_requests (h, NULL), c == 3 ? 0 : 1);
    g_ptr_array_unref (out);
    gst_harness_teardown (h);
    /* waiting for a key frame: nothing after the loss (the only key frame is frame 0) */
    h = new_depay (caps, TRUE);
    out = depay_with_loss (h, pkts, cases[c].skip, cases[c].n_skip);
    fail_unless_equals_int (out->len, c == 0 || c == 1 ? 3 : c == 2 ? 5 : 0);
    g_ptr_array_unref (out);
    gst_harness_teardown (h);
  }
#undef FIRST
  g_ptr_array_unref (pkts);
  g_array_unref (pk_start);
  g_ptr_array_unref (frames);
  gst_caps_unref (caps);
}

GST_END_TEST;

/* A packet-lost event from the jitter buffer discards the frame being assembled; the gap
 * that follows is the same loss event. */
GST_START_TEST (test_packet_lost_event)
{
  GstCaps *caps = NULL;
  GPtrArray *frames = encode_frames (5, 100, &caps);
  GArray *pk_start;
  GPtrArray *pkts = payload_frames (frames, caps, 40, &pk_start);
  guint f2 = g_array_index (pk_start, guint, 2), f3 = g_array_index (pk_start, guint, 3);
  GstHarness *h = new_depay (caps, FALSE);
  GstBuffer *b;
  guint n_out = 0;

  fail_unless (f3 - f2 >= 3);
  for (guint i = 0; i < pkts->len; i++) {
    if (i == f2 + 1) {
      PktInfo p = pkt_info (g_ptr_array_index (pkts, i));
      GstEvent *ev = gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
          gst_structure_new ("GstRTPPacketLost", "seqnum", G_TYPE_UINT, (guint) p.seq,
              "timestamp", G_TYPE_UINT64, GST_BUFFER_PTS (g_ptr_array_index (pkts, i)),
              "duration", G_TYPE_UINT64, (guint64) 0, "retry", G_TYPE_UINT, 0u, NULL));
      fail_unless (gst_harness_push_event (h, ev));
      /* the request goes out at the event, before the gap is seen */
      fail_unless_equals_int (count_key_requests (h, NULL), 1);
      fail_unless_equals_int ((int) stat_u64 (h->element, "incomplete"), 1);
      continue;
    }
    fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (g_ptr_array_index (pkts, i))),
        GST_FLOW_OK);
  }
  while ((b = gst_harness_try_pull (h))) {
    guint want = n_out < 2 ? n_out : n_out + 1;
    fail_unless (buffers_equal (b, g_ptr_array_index (frames, want)), "frame %u", want);
    gst_buffer_unref (b);
    n_out++;
  }
  fail_unless_equals_int (n_out, 4);
  fail_unless_equals_int ((int) stat_u64 (h->element, "losses"), 1);
  fail_unless_equals_int ((int) stat_u64 (h->element, "incomplete"), 1);
  fail_unless_equals_int (count_key_requests (h, NULL), 0);
  gst_harness_teardown (h);
  g_ptr_array_unref (pkts);
  g_array_unref (pk_start);
  g_ptr_array_unref (frames);
  gst_caps_unref (caps);
}

GST_END_TEST;

/* Two losses within key-request-interval give one request; one after it gives another;
 * requests from downstream (lvcdec) share the throttle. */
GST_START_TEST (test_key_request_throttle)
{
  GstCaps *caps = NULL;
  GPtrArray *frames = encode_frames (12, 100, &caps);
  GArray *pk_start;
  GPtrArray *pkts = payload_frames (frames, caps, 60000, &pk_start);
  GstHarness *h = new_depay (caps, FALSE);
  gboolean all = FALSE;

  g_object_set (h->element, "key-request-interval", 1000u, NULL);
  gst_harness_set_time (h, 0);
  /* frames 0, 1, (2 lost), 3, (4 lost), 5: two losses at t = 0 */
  for (guint i = 0; i < 6; i++)
    if (i != 2 && i != 4)
      fail_unless_equals_int (gst_harness_push (h,
              gst_buffer_ref (g_ptr_array_index (pkts, i))), GST_FLOW_OK);
  fail_unless_equals_int ((int) stat_u64 (h->element, "losses"), 2);
  fail_unless_equals_int (count_key_requests (h, NULL), 1);
  /* 0.5 s later, another loss: still throttled */
  gst_harness_set_time (h, 500 * GST_MSECOND);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (g_ptr_array_index (pkts, 7))),
      GST_FLOW_OK);
  fail_unless_equals_int (count_key_requests (h, NULL), 0);
  /* and a request from downstream too */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0)));
  fail_unless_equals_int (count_key_requests (h, NULL), 0);
  /* 1.1 s: a loss asks again */
  gst_harness_set_time (h, 1100 * GST_MSECOND);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (g_ptr_array_index (pkts, 9))),
      GST_FLOW_OK);
  fail_unless_equals_int (count_key_requests (h, &all), 1);
  fail_if (all);
  /* 2.2 s: a request from downstream passes, as a PLI-type request */
  gst_harness_set_time (h, 2200 * GST_MSECOND);
  fail_unless (gst_harness_push_upstream_event (h,
          gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0)));
  fail_unless_equals_int (count_key_requests (h, &all), 1);
  fail_if (all);
  fail_unless_equals_int ((int) stat_u64 (h->element, "key-requests"), 3);
  /* interval 0: every loss asks */
  g_object_set (h->element, "key-request-interval", 0u, NULL);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (g_ptr_array_index (pkts, 11))),
      GST_FLOW_OK);
  fail_unless_equals_int (count_key_requests (h, NULL), 1);
  gst_harness_teardown (h);
  g_ptr_array_unref (pkts);
  g_array_unref (pk_start);
  g_ptr_array_unref (frames);
  gst_caps_unref (caps);
}

GST_END_TEST;

/* While waiting for a key frame the request is repeated once per interval, so a lost key
 * frame is asked for again. */
GST_START_TEST (test_key_request_repeat)
{
  GstCaps *caps = NULL;
  GPtrArray *frames = encode_frames (8, 100, &caps);
  GArray *pk_start;
  GPtrArray *pkts = payload_frames (frames, caps, 60000, &pk_start);
  GstHarness *h = new_depay (caps, TRUE);

  g_object_set (h->element, "key-request-interval", 100u, NULL);
  fail_unless_equals_int (pkts->len, 8);
  for (guint i = 0; i < 8; i++) {
    gst_harness_set_time (h, i * 60 * GST_MSECOND);
    if (i != 1)
      fail_unless_equals_int (gst_harness_push (h,
              gst_buffer_ref (g_ptr_array_index (pkts, i))), GST_FLOW_OK);
  }
  /* loss at t = 120 ms, P-frames at 180 .. 420 ms: requests at 120, 240, 360 ms */
  fail_unless_equals_int (count_key_requests (h, NULL), 3);
  fail_unless_equals_int ((int) stat_u64 (h->element, "skipped"), 6);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 1);
  gst_harness_teardown (h);
  g_ptr_array_unref (pkts);
  g_array_unref (pk_start);
  g_ptr_array_unref (frames);
  gst_caps_unref (caps);
}

GST_END_TEST;

GST_START_TEST (test_negotiation)
{
  GstHarness *h;
  GstCaps *caps, *q;
  GstBuffer *key = synth_frame (TRUE, 100, 0, MODEL_A);
  GstBuffer *pkt;

  /* depayloader: downstream wants another model */
  h = gst_harness_new ("rtplvcdepay");
  gst_harness_set_sink_caps_str (h, LVC_CAPS (MODEL_B));
  gst_harness_set_src_caps_str (h, RTP_CAPS (MODEL_A));
  pkt = gst_rtp_buffer_new_allocate (1, 0, 0);
  fail_unless_equals_int (gst_harness_push (h, pkt), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);

  /* depayloader: a profile other than lvc-s */
  h = gst_harness_new ("rtplvcdepay");
  gst_harness_set_src_caps_str (h, RTP_CAPS_BASE ", model-id = (string) " MODEL_A
      ", profile = (string) lvc-x");
  fail_unless_equals_int (gst_harness_push (h, gst_rtp_buffer_new_allocate (1, 0, 0)),
      GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);

  /* depayloader: its sink caps follow downstream's model id */
  h = gst_harness_new ("rtplvcdepay");
  gst_harness_set_sink_caps_str (h, LVC_CAPS (MODEL_B));
  q = gst_pad_peer_query_caps (h->srcpad, NULL);
  caps = gst_caps_from_string (RTP_CAPS (MODEL_B));
  fail_unless (gst_caps_can_intersect (q, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string (RTP_CAPS (MODEL_A));
  fail_if (gst_caps_can_intersect (q, caps));
  gst_caps_unref (caps);
  gst_caps_unref (q);
  gst_harness_teardown (h);

  /* depayloader: a key frame of another model than the caps' is an error */
  h = gst_harness_new ("rtplvcdepay");
  gst_harness_set_src_caps_str (h, RTP_CAPS (MODEL_B));
  {
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    GstMapInfo mi;
    pkt = gst_rtp_buffer_new_allocate (101, 0, 0);
    fail_unless (gst_rtp_buffer_map (pkt, GST_MAP_WRITE, &rtp));
    fail_unless (gst_buffer_map (key, &mi, GST_MAP_READ));
    ((guint8 *) gst_rtp_buffer_get_payload (&rtp))[0] = 0xE0;
    memcpy ((guint8 *) gst_rtp_buffer_get_payload (&rtp) + 1, mi.data, 100);
    gst_buffer_unmap (key, &mi);
    gst_rtp_buffer_set_marker (&rtp, TRUE);
    gst_rtp_buffer_unmap (&rtp);
    gst_harness_push (h, pkt);
    fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  }
  gst_harness_teardown (h);

  /* payloader: downstream (the remote's fmtp) wants another model */
  h = gst_harness_new ("rtplvcpay");
  gst_harness_set_sink_caps_str (h, RTP_CAPS (MODEL_B));
  gst_harness_set_src_caps_str (h, LVC_CAPS (MODEL_A));
  GST_BUFFER_PTS (key) = 0;
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (key)), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);

  /* payloader: its sink caps follow downstream's model id */
  h = gst_harness_new ("rtplvcpay");
  gst_harness_set_sink_caps_str (h, RTP_CAPS (MODEL_B));
  q = gst_pad_peer_query_caps (h->srcpad, NULL);
  caps = gst_caps_from_string (LVC_CAPS (MODEL_B));
  fail_unless (gst_caps_can_intersect (q, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string (LVC_CAPS (MODEL_A));
  fail_if (gst_caps_can_intersect (q, caps));
  gst_caps_unref (caps);
  gst_caps_unref (q);
  gst_harness_teardown (h);

  /* payloader: same model downstream is fine */
  h = gst_harness_new ("rtplvcpay");
  gst_harness_set_sink_caps_str (h, RTP_CAPS (MODEL_A));
  gst_harness_set_src_caps_str (h, LVC_CAPS (MODEL_A));
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (key)), GST_FLOW_OK);
  gst_harness_teardown (h);
  gst_buffer_unref (key);
}

GST_END_TEST;

/* The payloader's caps map to SDP (rtpmap LVC/90000, fmtp model-id, profile) and back to caps
 * the depayloader takes. */
GST_START_TEST (test_sdp_mapping)
{
  GstHarness *h = new_pay (1400, LVC_CAPS (MODEL_A));
  GstBuffer *key = synth_frame (TRUE, 100, 0, MODEL_A);
  GstSDPMedia *media = NULL;
  GstCaps *caps, *back;
  const gchar *fmtp, *rtpmap;

  GST_BUFFER_PTS (key) = 0;
  fail_unless_equals_int (gst_harness_push (h, key), GST_FLOW_OK);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless_equals_int (gst_sdp_media_new (&media), GST_SDP_OK);
  fail_unless_equals_int (gst_sdp_media_set_media_from_caps (caps, media), GST_SDP_OK);
  rtpmap = gst_sdp_media_get_attribute_val (media, "rtpmap");
  fmtp = gst_sdp_media_get_attribute_val (media, "fmtp");
  fail_unless_equals_string (gst_sdp_media_get_media (media), "video");
  fail_unless_equals_string (rtpmap, "96 LVC/90000");
  fail_unless (fmtp != NULL);
  fail_unless (strstr (fmtp, "model-id=" MODEL_A) != NULL, "fmtp: %s", fmtp);
  fail_unless (strstr (fmtp, "profile=lvc-s") != NULL, "fmtp: %s", fmtp);
  back = gst_sdp_media_get_caps_from_media (media, 96);
  fail_unless (back != NULL);
  gst_structure_set_name (gst_caps_get_structure (back, 0), "application/x-rtp");
  gst_sdp_media_free (media);
  gst_caps_unref (caps);
  gst_harness_teardown (h);

  /* an SDP-made caps negotiates the depayloader, whose output names the model */
  h = gst_harness_new ("rtplvcdepay");
  gst_harness_set_src_caps (h, back);
  {
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    GstBuffer *pkt = gst_rtp_buffer_new_allocate (101, 0, 0);
    GstBuffer *k2 = synth_frame (TRUE, 100, 0, MODEL_A);
    GstMapInfo mi;
    GstCaps *out;
    fail_unless (gst_rtp_buffer_map (pkt, GST_MAP_WRITE, &rtp));
    fail_unless (gst_buffer_map (k2, &mi, GST_MAP_READ));
    ((guint8 *) gst_rtp_buffer_get_payload (&rtp))[0] = 0xE0;
    memcpy ((guint8 *) gst_rtp_buffer_get_payload (&rtp) + 1, mi.data, 100);
    gst_buffer_unmap (k2, &mi);
    gst_rtp_buffer_unmap (&rtp);
    fail_unless_equals_int (gst_harness_push (h, pkt), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_buffers_in_queue (h), 1);
    out = gst_pad_get_current_caps (h->sinkpad);
    fail_unless_equals_string (caps_model_id (out), MODEL_A);
    gst_caps_unref (out);
    gst_buffer_unref (k2);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Drops the first packet of frame `frame` (counted by end fragments) on its way to the
 * depayloader. */
typedef struct {
  guint frame;
  guint ends;
  guint dropped;
} DropCtx;

/* TRUE when this packet is to be dropped. */
static gboolean
drop_check (DropCtx * c, GstBuffer * b)
{
  PktInfo p = pkt_info (b);
  gboolean drop = c->ends == c->frame && (p.hdr & GST_RTP_LVC_HDR_S) && c->dropped == 0;

  if (p.hdr & GST_RTP_LVC_HDR_E)
    c->ends++;
  c->dropped += drop;
  return drop;
}

static GstPadProbeReturn
drop_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  DropCtx *c = user_data;

  (void) pad;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    return drop_check (c, GST_PAD_PROBE_INFO_BUFFER (info)) ? GST_PAD_PROBE_DROP :
        GST_PAD_PROBE_OK;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
    GST_PAD_PROBE_INFO_DATA (info) = list;
    for (guint i = 0; i < gst_buffer_list_length (list); i++) {
      if (drop_check (c, gst_buffer_list_get (list, i))) {
        gst_buffer_list_remove (list, i, 1);
        i--;
      }
    }
  }
  return GST_PAD_PROBE_OK;
}

/* Raw frames -> decoded frames through the four elements; then a lost packet: the
 * depayloader's key-frame request travels up through rtplvcpay to lvcenc, whose next frame
 * is a key frame, and decoding resumes there. */
GST_START_TEST (test_end_to_end)
{
  gchar *desc = g_strdup_printf ("lvcenc name=enc model=%s key-int-max=0 threads=1 qp=24 ! "
      "rtplvcpay name=pay mtu=100 ! rtplvcdepay name=depay ! lvcdec threads=1", model_path ());
  GstHarness *h = gst_harness_new_parse (desc);
  GstElement *enc, *pay, *depay;
  DropCtx ctx = { 6, 0, 0 };
  GstPad *pad;
  int resumed;

  g_free (desc);
  enc = gst_bin_get_by_name (GST_BIN (h->element), "enc");
  pay = gst_bin_get_by_name (GST_BIN (h->element), "pay");
  depay = gst_bin_get_by_name (GST_BIN (h->element), "depay");
  fail_unless (enc && pay && depay);
  pad = gst_element_get_static_pad (depay, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      drop_probe, &ctx, NULL);
  gst_object_unref (pad);

  gst_harness_set_src_caps_str (h, RAW_CAPS);
  for (int n = 0; n < 6; n++)
    fail_unless_equals_int (gst_harness_push (h, make_raw (n)), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 6);
  for (int i = 0; i < 6; i++) {
    GstBuffer *b = gst_harness_pull (h);
    fail_unless_equals_int ((int) gst_buffer_get_size (b), W * H * 3 / 2);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), TS (i));
    gst_buffer_unref (b);
  }
  fail_unless_equals_int ((int) stat_u64 (pay, "frames"), 6);

  for (int n = 6; n < 14; n++)
    fail_unless_equals_int (gst_harness_push (h, make_raw (n)), GST_FLOW_OK);
  fail_unless_equals_int (ctx.dropped, 1);
  /* frame 6 is lost; the request is made at frame 6's next packet or frame 7's first, so
   * lvcenc codes frame 7 or 8 as a key frame and every frame from there on is shown */
  resumed = 14 - (int) gst_harness_buffers_in_queue (h);
  fail_unless (resumed == 7 || resumed == 8, "decoding resumed at frame %d", resumed);
  for (int i = resumed; i < 14; i++) {
    GstBuffer *b = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), TS (i));
    gst_buffer_unref (b);
  }
  fail_unless_equals_int ((int) stat_u64 (enc, "key-frames"), 2);
  fail_unless_equals_int ((int) stat_u64 (pay, "key-requests"), 1);
  fail_unless_equals_int ((int) stat_u64 (pay, "key-frames"), 2);
  fail_unless_equals_int ((int) stat_u64 (depay, "key-requests"), 1);
  fail_unless_equals_int ((int) stat_u64 (depay, "losses"), 1);
  gst_object_unref (enc);
  gst_object_unref (pay);
  gst_object_unref (depay);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
rtp_suite (void)
{
  Suite *s = suite_create ("rtplvc");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_fragmentation);
  tcase_add_test (tc, test_timestamps);
  tcase_add_test (tc, test_sh_inserted);
  tcase_add_test (tc, test_roundtrip);
  tcase_add_test (tc, test_lost_fragment);
  tcase_add_test (tc, test_loss_shapes);
  tcase_add_test (tc, test_packet_lost_event);
  tcase_add_test (tc, test_key_request_throttle);
  tcase_add_test (tc, test_key_request_repeat);
  tcase_add_test (tc, test_negotiation);
  tcase_add_test (tc, test_sdp_mapping);
  tcase_add_test (tc, test_end_to_end);
  return s;
}

int
main (int argc, char **argv)
{
  gst_check_init (&argc, &argv);
  if (!lvc_check_register ())
    return 1;
  return lvc_check_run (rtp_suite ());
}
