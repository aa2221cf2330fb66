/* GstHarness tests of lvcenc and lvcdec with backend=vulkan: the Vulkan encoder's packets are
 * byte-identical to the CPU encoder's, and each decodes with the other backend to the same
 * pictures.  Exits 77 (skipped, with a message) when no Vulkan device exists.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include <lvc/lvc.h>

#include "gstlvc.h"
#include "lvc_check.h"

/* odd sizes: the codec pads to 80x48 and crops */
#define W 72
#define H 42
#define N 5
#define RAW_CAPS "video/x-raw, format = (string) I420, width = (int) 72, height = (int) 42, " \
  "framerate = (fraction) 30/1"
#define ES_CAPS "video/x-lvc, stream-format = (string) elementary"

static const char *
model_path (void)
{
  return LVC_SOURCE_ROOT "/tests/golden/model_random.lvcm";
}

static GstBuffer *
make_frame (int n)
{
  GstVideoInfo info;
  GstVideoFrame vf;
  GstBuffer *buf;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, W, H);
  buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  fail_unless (gst_video_frame_map (&vf, &info, buf, GST_MAP_WRITE));
  for (int p = 0; p < 3; p++) {
    int pw = p ? (W + 1) / 2 : W, ph = p ? (H + 1) / 2 : H;
    for (int y = 0; y < ph; y++) {
      guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, p) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, p);
      for (int x = 0; x < pw; x++)
        row[x] = (guint8) (p ? 128 + ((x * 5 + y * 3 + n * 7) % 40) - 20 :
            x * 3 + y * 2 + n * 5 + ((x / 8 + y / 8 + n) % 2) * 40);
    }
  }
  gst_video_frame_unmap (&vf);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (n, GST_SECOND, 30);
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

/* Encode N frames with the backend (I, P, P with a refresh, I, P); the output caps in *caps. */
static GList *
encode (int backend, GstCaps ** caps)
{
  GstElement *e = gst_element_factory_make ("lvcenc", NULL);
  GstHarness *h;
  GList *out = NULL;
  gint got;

  g_object_set (e, "model", model_path (), "key-int-max", 3, "refresh-period", 2, "qp", 28,
      "threads", 1, "backend", backend, NULL);
  g_object_get (e, "backend", &got, NULL);
  fail_unless_equals_int (got, backend);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_sink_caps_str (h, ES_CAPS);
  gst_harness_set_src_caps_str (h, RAW_CAPS);
  for (int i = 0; i < N; i++) {
    fail_unless_equals_int (gst_harness_push (h, make_frame (i)), GST_FLOW_OK);
    GstBuffer *b = gst_harness_pull (h);
    fail_unless (b != NULL);
    out = g_list_append (out, b);
  }
  *caps = gst_pad_get_current_caps (h->sinkpad);
  gst_harness_teardown (h);
  return out;
}

static GList *
decode (int backend, GstCaps * caps, GList * packets)
{
  GstElement *e = gst_element_factory_make ("lvcdec", NULL);
  GstHarness *h;
  GList *out = NULL;
  GstBuffer *b;

  g_object_set (e, "model", model_path (), "threads", 1, "backend", backend, NULL);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps (h, gst_caps_copy (caps));
  for (GList * p = packets; p; p = p->next)
    fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (p->data)), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((b = gst_harness_try_pull (h)))
    out = g_list_append (out, b);
  gst_harness_teardown (h);
  return out;
}

static void
assert_same (GList * a, GList * b, const char *what)
{
  int i = 0;
  fail_unless_equals_int (g_list_length (a), g_list_length (b));
  for (; a && b; a = a->next, b = b->next, i++) {
    GstMapInfo ma, mb;
    fail_unless (gst_buffer_map (a->data, &ma, GST_MAP_READ));
    fail_unless (gst_buffer_map (b->data, &mb, GST_MAP_READ));
    fail_unless (ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0,
        "%s: buffer %d differs", what, i);
    gst_buffer_unmap (b->data, &mb);
    gst_buffer_unmap (a->data, &ma);
  }
}

static void
free_list (GList * l)
{
  g_list_free_full (l, (GDestroyNotify) gst_buffer_unref);
}

GST_START_TEST (test_vulkan_cpu_cross)
{
  GstCaps *caps_cpu, *caps_vk;
  GList *pk_cpu = encode (LVC_BACKEND_CPU, &caps_cpu);
  GList *pk_vk = encode (LVC_BACKEND_VULKAN, &caps_vk);
  int deltas = 0;

  for (GList * l = pk_vk; l; l = l->next)
    deltas += GST_BUFFER_FLAG_IS_SET (l->data, GST_BUFFER_FLAG_DELTA_UNIT);
  fail_unless_equals_int (deltas, 3);
  fail_unless (gst_caps_is_equal (caps_cpu, caps_vk));
  assert_same (pk_cpu, pk_vk, "vulkan encode vs cpu encode");

  GList *d_cpu = decode (LVC_BACKEND_CPU, caps_vk, pk_vk);  /* vulkan encode, cpu decode */
  GList *d_vk = decode (LVC_BACKEND_VULKAN, caps_cpu, pk_cpu);      /* and the reverse */
  fail_unless_equals_int (g_list_length (d_cpu), N);
  assert_same (d_cpu, d_vk, "cpu decode vs vulkan decode");

  free_list (d_cpu);
  free_list (d_vk);
  free_list (pk_cpu);
  free_list (pk_vk);
  gst_caps_unref (caps_cpu);
  gst_caps_unref (caps_vk);
}

GST_END_TEST;

static Suite *
vulkan_suite (void)
{
  Suite *s = suite_create ("lvc-vulkan");
  TCase *tc = tcase_create ("vulkan");

  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_vulkan_cpu_cross);
  return s;
}

static char probe_msg[512];

static void
on_log (void *opaque, int level, const char *msg)
{
  (void) opaque;
  if (level == LVC_LOG_WARNING)
    snprintf (probe_msg, sizeof (probe_msg), "%s", msg);
}

/* 1 when liblvc can run an encoder on Vulkan here; probe_msg says why not otherwise. */
static int
have_vulkan (void)
{
  LvcModel *m;
  LvcEncoder *enc;
  LvcEncoderSettings es;
  int backend = LVC_BACKEND_CPU;

  if (lvc_model_load (model_path (), &m) < 0)
    return 0;
  lvc_encoder_settings_default (&es);
  es.width = es.height = 16;
  es.backend = LVC_BACKEND_VULKAN;
  lvc_set_log_callback (on_log, NULL);
  if (lvc_encoder_open (&enc, m, &es) == 0) {
    backend = lvc_encoder_get_backend (enc);
    lvc_encoder_close (enc);
  }
  lvc_set_log_callback (NULL, NULL);
  lvc_model_unref (m);
  return backend == LVC_BACKEND_VULKAN;
}

int
main (int argc, char **argv)
{
  if (!have_vulkan ()) {
    if (strstr (probe_msg, "no Vulkan driver") || strstr (probe_msg, "no physical device") ||
        strstr (probe_msg, "built without")) {
      printf ("SKIP: no Vulkan device (%s)\n", probe_msg);
      return 77;
    }
    printf ("the Vulkan device is not usable: %s\n0 passed, 1 failed\n", probe_msg);
    return 1;
  }
  gst_check_init (&argc, &argv);
  if (!lvc_check_register ())
    return 1;
  return lvc_check_run (vulkan_suite ());
}
