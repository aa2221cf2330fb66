/* Helpers shared by the lvc elements and the process-wide model cache.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstlvccommon.h"

static guint
rd16 (const guint8 * p)
{
  return (guint) p[0] | ((guint) p[1] << 8);
}

static guint32
rd32 (const guint8 * p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) |
      ((guint32) p[3] << 24);
}

gboolean
gst_lvc_seq_parse (const guint8 * data, gsize size, GstLvcSeqInfo * info)
{
  static const char hexd[] = "0123456789abcdef";
  GstLvcSeqInfo s;

  if (!data || size < GST_LVC_SH_FIXED_SIZE)
    return FALSE;
  if (memcmp (data, "LVC", 3) != 0 || data[3] != LVC_BITSTREAM_VERSION
      || data[4] != LVC_OPSET_VERSION || data[5] != 1)
    return FALSE;
  memset (&s, 0, sizeof (s));
  memcpy (s.model_id, data + 6, LVC_MODEL_ID_SIZE);
  for (int i = 0; i < LVC_MODEL_ID_SIZE; i++) {
    s.model_id_hex[2 * i] = hexd[s.model_id[i] >> 4];
    s.model_id_hex[2 * i + 1] = hexd[s.model_id[i] & 15];
  }
  s.width = (gint) rd16 (data + 22);
  s.height = (gint) rd16 (data + 24);
  if (s.width < 1 || s.width > 8192 || s.height < 1 || s.height > 8192)
    return FALSE;
  if (data[26] != 0 || data[27] != 1 || data[31] > 2 || data[42] != 0)
    return FALSE;
  s.color.primaries = data[28];
  s.color.transfer = data[29];
  s.color.matrix = data[30];
  s.color.range = data[31];
  s.par_n = (gint) rd16 (data + 32);
  s.par_d = (gint) rd16 (data + 34);
  s.fps_n = rd32 (data + 36);
  s.fps_d = (gint) rd16 (data + 40);
  s.size = GST_LVC_SH_FIXED_SIZE + data[43];
  if (s.size > size)
    return FALSE;
  if (info)
    *info = s;
  return TRUE;
}

gboolean
gst_lvc_packet_is_key (const guint8 * data, gsize size)
{
  GstLvcSeqInfo s;

  if (!gst_lvc_seq_parse (data, size, &s) || s.size >= size)
    return FALSE;
  /* an I-frame unit: bit 7 set, type 0, no refresh, qp present, reserved bits 0 */
  return data[s.size] == 0x90;
}

gboolean
gst_lvc_packet_plausible (const guint8 * data, gsize size)
{
  if (!data || size < 1)
    return FALSE;
  if (data[0] == 'L')
    return gst_lvc_packet_is_key (data, size);
  /* a P-frame unit: bit 7 set, type 1, reserved bits 3..0 clear */
  return (data[0] & 0xcf) == 0xc0;
}

gboolean
gst_lvc_seq_equal (const guint8 * a, gsize a_size, const guint8 * b, gsize b_size)
{
  if (a_size < GST_LVC_SH_FIXED_SIZE || b_size < GST_LVC_SH_FIXED_SIZE)
    return FALSE;
  /* everything but the extension length (byte 43) and the extension */
  return memcmp (a, b, GST_LVC_SH_FIXED_SIZE - 1) == 0;
}

void
gst_lvc_color_from_gst (const GstVideoColorimetry * c, LvcColor * out)
{
  out->primaries = 2;
  out->transfer = 2;
  out->matrix = 2;
  out->range = 0;
  if (c->primaries != GST_VIDEO_COLOR_PRIMARIES_UNKNOWN) {
    guint v = gst_video_color_primaries_to_iso (c->primaries);
    out->primaries = (v > 0 && v < 256) ? (guint8) v : 2;
  }
  if (c->transfer != GST_VIDEO_TRANSFER_UNKNOWN) {
    guint v = gst_video_transfer_function_to_iso (c->transfer);
    out->transfer = (v > 0 && v < 256) ? (guint8) v : 2;
  }
  if (c->matrix != GST_VIDEO_COLOR_MATRIX_UNKNOWN) {
    guint v = gst_video_color_matrix_to_iso (c->matrix);
    out->matrix = (v < 256) ? (guint8) v : 2;
  }
  if (c->range == GST_VIDEO_COLOR_RANGE_16_235)
    out->range = 1;
  else if (c->range == GST_VIDEO_COLOR_RANGE_0_255)
    out->range = 2;
}

void
gst_lvc_color_to_gst (const LvcColor * c, GstVideoColorimetry * out)
{
  out->primaries = c->primaries == 2 ? GST_VIDEO_COLOR_PRIMARIES_UNKNOWN :
      gst_video_color_primaries_from_iso (c->primaries);
  out->transfer = c->transfer == 2 ? GST_VIDEO_TRANSFER_UNKNOWN :
      gst_video_transfer_function_from_iso (c->transfer);
  out->matrix = c->matrix == 2 ? GST_VIDEO_COLOR_MATRIX_UNKNOWN :
      gst_video_color_matrix_from_iso (c->matrix);
  out->range = c->range == 1 ? GST_VIDEO_COLOR_RANGE_16_235 :
      c->range == 2 ? GST_VIDEO_COLOR_RANGE_0_255 : GST_VIDEO_COLOR_RANGE_UNKNOWN;
}

GType
gst_lvc_backend_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {LVC_BACKEND_AUTO, "Automatic: Vulkan when available, else CPU", "auto"},
    {LVC_BACKEND_CPU, "CPU (threaded integer kernels)", "cpu"},
    {LVC_BACKEND_VULKAN, "Vulkan compute", "vulkan"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLvcBackend", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

/* ---- model cache ---- */

typedef struct {
  LvcModel *model;
  guint8 id[LVC_MODEL_ID_SIZE];
  gchar *path;                  /* canonical file name, or NULL when found by id */
  guint refs;
} CacheEntry;

static GMutex cache_lock;
static GList *cache;            /* of CacheEntry */

static CacheEntry *
cache_lookup_model (LvcModel * model)
{
  for (GList * l = cache; l; l = l->next) {
    CacheEntry *e = l->data;
    if (e->model == model)
      return e;
  }
  return NULL;
}

static CacheEntry *
cache_lookup_id (const guint8 id[LVC_MODEL_ID_SIZE])
{
  for (GList * l = cache; l; l = l->next) {
    CacheEntry *e = l->data;
    if (memcmp (e->id, id, LVC_MODEL_ID_SIZE) == 0)
      return e;
  }
  return NULL;
}

/* Add a freshly loaded model (reference taken over) or, when a model with its id is cached
 * already, drop it and use that one.  Called with the lock held. */
static LvcModel *
cache_insert (LvcModel * model, const gchar * canon)
{
  LvcModelInfo info;
  CacheEntry *e;

  lvc_model_get_info (model, &info);
  e = cache_lookup_id (info.id);
  if (e) {
    lvc_model_unref (model);
    if (!e->path && canon)
      e->path = g_strdup (canon);
    e->refs++;
    return e->model;
  }
  e = g_new0 (CacheEntry, 1);
  e->model = model;
  memcpy (e->id, info.id, LVC_MODEL_ID_SIZE);
  e->path = canon ? g_strdup (canon) : NULL;
  e->refs = 1;
  cache = g_list_prepend (cache, e);
  return model;
}

static LvcModel *
get_path_locked (const gchar * path, GError ** err)
{
  gchar *canon;
  LvcModel *m = NULL;
  int r;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "Cannot open model file %s", path);
    return NULL;
  }
  canon = g_canonicalize_filename (path, NULL);
  for (GList * l = cache; l; l = l->next) {
    CacheEntry *e = l->data;
    if (e->path && strcmp (e->path, canon) == 0) {
      e->refs++;
      g_free (canon);
      return e->model;
    }
  }
  r = lvc_model_load (canon, &m);
  if (r < 0) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
        "Cannot load model %s: %s", path, lvc_last_error ());
    g_free (canon);
    return NULL;
  }
  m = cache_insert (m, canon);
  g_free (canon);
  return m;
}

LvcModel *
gst_lvc_model_get_path (const gchar * path, GError ** err)
{
  LvcModel *m;

  g_mutex_lock (&cache_lock);
  m = get_path_locked (path, err);
  g_mutex_unlock (&cache_lock);
  return m;
}

/* The default model files in the order they are tried; returns how many were filled. */
static int
default_paths (const gchar * out[3])
{
  int n = 0;
  const gchar *env = g_getenv ("LVC_MODEL");

  if (env && *env)
    out[n++] = env;
  if (g_file_test (LVC_GST_DEFAULT_MODEL, G_FILE_TEST_IS_REGULAR))
    out[n++] = LVC_GST_DEFAULT_MODEL;
  if (g_file_test (LVC_GST_SOURCE_MODEL, G_FILE_TEST_IS_REGULAR))
    out[n++] = LVC_GST_SOURCE_MODEL;
  return n;
}

LvcModel *
gst_lvc_model_get_default (GError ** err)
{
  const gchar *paths[3];
  int n = default_paths (paths);

  if (n == 0) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "No model: set the 'model' property or LVC_MODEL, or install %s",
        LVC_GST_DEFAULT_MODEL);
    return NULL;
  }
  return gst_lvc_model_get_path (paths[0], err);
}

LvcModel *
gst_lvc_model_get_id (const guint8 id[LVC_MODEL_ID_SIZE], GError ** err)
{
  CacheEntry *e;
  LvcModel *m = NULL;
  gchar *find_msg;
  const gchar *paths[3];
  int r, n;

  g_mutex_lock (&cache_lock);
  e = cache_lookup_id (id);
  if (e) {
    e->refs++;
    g_mutex_unlock (&cache_lock);
    return e->model;
  }
  r = lvc_model_find (id, &m);
  if (r >= 0) {
    m = cache_insert (m, NULL);
    g_mutex_unlock (&cache_lock);
    return m;
  }
  find_msg = g_strdup (lvc_last_error ());
  /* a default model with the right id */
  n = default_paths (paths);
  for (int i = 0; i < n; i++) {
    LvcModel *d = get_path_locked (paths[i], NULL);
    LvcModelInfo info;
    if (!d)
      continue;
    lvc_model_get_info (d, &info);
    if (memcmp (info.id, id, LVC_MODEL_ID_SIZE) == 0) {
      g_mutex_unlock (&cache_lock);
      g_free (find_msg);
      return d;
    }
    /* not this one: give the reference back */
    e = cache_lookup_model (d);
    if (e && --e->refs == 0) {
      cache = g_list_remove (cache, e);
      lvc_model_unref (e->model);
      g_free (e->path);
      g_free (e);
    }
  }
  g_mutex_unlock (&cache_lock);
  g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
      "%s; set the 'model' property, LVC_MODEL_PATH (a directory holding <id>.lvcm) or "
      "LVC_MODEL", find_msg);
  g_free (find_msg);
  return NULL;
}

void
gst_lvc_model_release (LvcModel * model)
{
  CacheEntry *e;

  if (!model)
    return;
  g_mutex_lock (&cache_lock);
  e = cache_lookup_model (model);
  if (e && --e->refs == 0) {
    cache = g_list_remove (cache, e);
    lvc_model_unref (e->model);
    g_free (e->path);
    g_free (e);
  } else if (!e) {
    g_warning ("lvc: released a model that is not in the cache");
  }
  g_mutex_unlock (&cache_lock);
}

guint
gst_lvc_model_cache_size (void)
{
  guint n;

  g_mutex_lock (&cache_lock);
  n = g_list_length (cache);
  g_mutex_unlock (&cache_lock);
  return n;
}

gboolean
gst_lvc_model_id_valid (const gchar * s)
{
  if (!s || strlen (s) != 2 * LVC_MODEL_ID_SIZE)
    return FALSE;
  for (const gchar * p = s; *p; p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;
  return TRUE;
}
