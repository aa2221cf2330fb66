/* Helpers shared by the lvc elements: the sequence-header fields the elements need, packet
 * classification, colour mapping, the backend enum and the process-wide model cache.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef GST_LVC_COMMON_H
#define GST_LVC_COMMON_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include <lvc/lvc.h>

G_BEGIN_DECLS

#define GST_LVC_SH_FIXED_SIZE 44
#define GST_LVC_FILE_HEADER_SIZE 32
#define GST_LVC_FRAME_HEADER_SIZE 12
#define GST_LVC_MAX_FRAME (1u << 26)

/* The fields of a sequence header (codec/FORMAT.md §1.1) the elements use. */
typedef struct {
  guint8 model_id[LVC_MODEL_ID_SIZE];
  gchar model_id_hex[2 * LVC_MODEL_ID_SIZE + 1];
  gint width, height;
  LvcColor color;
  gint par_n, par_d;           /* 0/0 unknown */
  guint32 fps_n;               /* 0 unknown */
  gint fps_d;
  gsize size;                  /* 44 + extension */
} GstLvcSeqInfo;

/* Parse and check a sequence header at the start of data; FALSE when it is not a valid
 * version-1 lvc-s header. */
gboolean gst_lvc_seq_parse (const guint8 * data, gsize size, GstLvcSeqInfo * info);
/* TRUE when s is a model id as caps and SDP carry it: 32 hex digits. */
gboolean gst_lvc_model_id_valid (const gchar * s);

/* TRUE when the packet starts with a valid sequence header followed by an I-frame header
 * byte. */
gboolean gst_lvc_packet_is_key (const guint8 * data, gsize size);

/* TRUE when the packet plausibly starts a packet: a key frame, or a P-frame header byte. */
gboolean gst_lvc_packet_plausible (const guint8 * data, gsize size);

/* The fixed 44-byte part of two sequence headers is equal (the extension is ignored). */
gboolean gst_lvc_seq_equal (const guint8 * a, gsize a_size, const guint8 * b,
    gsize b_size);

void gst_lvc_color_from_gst (const GstVideoColorimetry * c, LvcColor * out);
void gst_lvc_color_to_gst (const LvcColor * c, GstVideoColorimetry * out);

/* Backends (auto / cpu / vulkan), values as LVC_BACKEND_*. */
#define GST_TYPE_LVC_BACKEND (gst_lvc_backend_get_type ())
GType gst_lvc_backend_get_type (void);

/* ---- model cache ----
 * One loaded model per file / id and process, shared by all element instances.  Every
 * successful get returns a reference that must be given back with gst_lvc_model_release. */

/* The model at path (property `model`).  NULL with *err set on failure. */
LvcModel *gst_lvc_model_get_path (const gchar * path, GError ** err);

/* The model an encoder uses when its `model` property is unset: $LVC_MODEL, the installed
 * default, or models/default.lvcm of the source tree the plugin was built from. */
LvcModel *gst_lvc_model_get_default (GError ** err);

/* The model with this id: one already loaded, lvc_model_find (LVC_MODEL_PATH and the install
 * directory), or a default model (as above) whose id matches. */
LvcModel *gst_lvc_model_get_id (const guint8 id[LVC_MODEL_ID_SIZE], GError ** err);

void gst_lvc_model_release (LvcModel * model);

/* Number of models the cache holds (for tests). */
guint gst_lvc_model_cache_size (void);

G_END_DECLS

#endif
