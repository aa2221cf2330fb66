/* lvc — a learned video codec.  Public API of liblvc.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Conventions
 * - Every function that can fail returns 0 or a positive value on success and a negative
 *   LVC_E* code on failure; lvc_last_error() then describes the failure for the calling thread.
 * - Ownership is stated on every function taking or returning a pointer.  "Borrowed" means the
 *   callee keeps no reference after returning; "new reference" means the caller must release it.
 * - Objects are not thread-safe unless stated; a loaded LvcModel is immutable and may be shared
 *   by any number of coders on any threads.
 */
#ifndef LVC_LVC_H
#define LVC_LVC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(LVC_BUILDING_DLL)
#define LVC_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(LVC_BUILDING_LIBRARY)
#define LVC_API __attribute__((visibility("default")))
#else
#define LVC_API
#endif

/* ---- Versions ------------------------------------------------------------------------------ */

#define LVC_VERSION_MAJOR 0
#define LVC_VERSION_MINOR 1
#define LVC_VERSION_PATCH 0
#define LVC_VERSION_INT(a, b, c) (((a) << 16) | ((b) << 8) | (c))
#define LVC_VERSION LVC_VERSION_INT(LVC_VERSION_MAJOR, LVC_VERSION_MINOR, LVC_VERSION_PATCH)

#define LVC_BITSTREAM_VERSION 1 /* codec/FORMAT.md §1 */
#define LVC_OPSET_VERSION 1     /* codec/ARITHMETIC.md */
#define LVC_MODEL_FORMAT_VERSION 1
#define LVC_FILE_VERSION 1

/* Library version string, e.g. "0.1.0".  Static storage. */
LVC_API const char *lvc_version(void);

/* ---- Errors -------------------------------------------------------------------------------- */

enum {
    LVC_OK = 0,
    LVC_EAGAIN = -1,      /* output must be drained (send) or input is needed (receive) */
    LVC_EOF = -2,         /* flushed: no more output */
    LVC_EINVAL = -3,      /* invalid argument or call in the wrong state */
    LVC_ENOMEM = -4,      /* allocation failed or a size exceeds a limit */
    LVC_EDATA = -5,       /* damaged or invalid stream data */
    LVC_EMODEL = -6,      /* invalid or unusable model file */
    LVC_ENOMODEL = -7,    /* the stream's model is not installed */
    LVC_EUNSUPPORTED = -8,/* valid but unsupported (version, profile, format) */
    LVC_EIO = -9,         /* I/O error */
    LVC_ENOREF = -10,     /* P-frame without a valid reference */
};

/* A static English description of an error code. */
LVC_API const char *lvc_strerror(int err);

/* The message of the last failure on the calling thread ("" if none).  Valid until the next
 * liblvc call on this thread. */
LVC_API const char *lvc_last_error(void);

/* ---- Models -------------------------------------------------------------------------------- */

typedef struct LvcModel LvcModel;

#define LVC_MODEL_ID_SIZE 16

typedef struct LvcModelInfo {
    uint8_t id[LVC_MODEL_ID_SIZE];
    char id_hex[2 * LVC_MODEL_ID_SIZE + 1];
    const char *name;     /* borrowed from the model; valid while the model lives */
    int format_version;
    int opset_version;
    int profile;          /* 1 = lvc-s */
    int n_graphs;
    int n_tensors;
    uint64_t n_parameters; /* elements of all weight, bias and table tensors */
    int has_inter;        /* 1 if the model codes P-frames */
} LvcModelInfo;

/* Load a model file.  On success *out receives a new reference.  The file is read and
 * validated completely (FORMAT.md §3); the caller's path is borrowed. */
LVC_API int lvc_model_load(const char *path, LvcModel **out);

/* Load a model from memory.  The bytes are copied; data is borrowed. */
LVC_API int lvc_model_load_memory(const void *data, size_t size, LvcModel **out);

/* Find and load the installed model with this id along LVC_MODEL_PATH and the install
 * directory.  Returns LVC_ENOMODEL with a message naming the id when it is not installed. */
LVC_API int lvc_model_find(const uint8_t id[LVC_MODEL_ID_SIZE], LvcModel **out);

/* Reference counting; thread-safe.  lvc_model_ref returns its argument. */
LVC_API LvcModel *lvc_model_ref(LvcModel *model);
LVC_API void lvc_model_unref(LvcModel *model); /* NULL is accepted */

/* Fill *info (borrowed strings stay valid while the model lives). */
LVC_API void lvc_model_get_info(const LvcModel *model, LvcModelInfo *info);

/* ---- Pictures ------------------------------------------------------------------------------ */

enum { LVC_PIX_I420 = 0 };

typedef struct LvcColor {
    uint8_t primaries; /* ISO/IEC 23091-2 code points; 2 = unspecified */
    uint8_t transfer;
    uint8_t matrix;
    uint8_t range;     /* 0 unspecified, 1 limited, 2 full */
} LvcColor;

enum {
    LVC_PICTURE_CORRUPTED = 1 << 0,   /* decoded from damaged data or a damaged reference */
    LVC_PICTURE_DECODE_ONLY = 1 << 1, /* decoded as a reference without its reconstruction */
};

typedef struct LvcPicture LvcPicture;

/* An allocator for picture buffers.  alloc must fill data[] and stride[] of pic for pic->width
 * × pic->height I420 (rows of stride bytes, 64-byte alignment recommended) and may set
 * pic->allocator_data; release gets the same picture back.  Called from the thread that calls
 * into the coder. */
typedef struct LvcAllocator {
    int (*alloc)(LvcPicture *pic, void *opaque);
    void (*release)(LvcPicture *pic, void *opaque);
    void *opaque;
} LvcAllocator;

struct LvcPicture {
    int width, height;    /* luma samples */
    int format;           /* LVC_PIX_I420 */
    uint8_t *data[3];     /* Y, U, V */
    ptrdiff_t stride[3];
    int64_t pts;
    unsigned flags;       /* LVC_PICTURE_* */
    LvcColor color;
    int par_num, par_den; /* pixel aspect ratio; 0/0 unknown */
    void *allocator_data;
    void *user_data;      /* free for the application; copied to coded packets */
    void *priv;           /* library-owned reference count and allocator; do not touch */
};

/* Allocate a reference-counted picture (*out gets a new reference) with the given allocator,
 * or the library's own when allocator is NULL (borrowed; must outlive the picture). */
LVC_API int lvc_picture_alloc(int width, int height, const LvcAllocator *allocator,
                              LvcPicture **out);
LVC_API LvcPicture *lvc_picture_ref(LvcPicture *pic); /* returns pic */
LVC_API void lvc_picture_unref(LvcPicture *pic);      /* NULL accepted */

/* ---- Packets ------------------------------------------------------------------------------- */

enum { LVC_PACKET_KEYFRAME = 1 << 0 };

/* One coded frame (FORMAT.md §1).  Owned by the caller after receive; free with
 * lvc_packet_clear(). */
typedef struct LvcPacket {
    uint8_t *data;
    size_t size;
    int64_t pts;
    unsigned flags;  /* LVC_PACKET_* */
    int qp;          /* the frame's qp */
    int frame_type;  /* 0 = I, 1 = P */
    void *user_data; /* from the picture it was coded from */
} LvcPacket;

LVC_API void lvc_packet_clear(LvcPacket *pkt);

/* ---- Backends ------------------------------------------------------------------------------ */

/* Where a coder runs its networks.  Every backend computes exactly the same integers, so a
 * stream encoded on one decodes to the same pictures on any other; entropy coding always runs
 * on the CPU.
 * - LVC_BACKEND_CPU: the integer kernels on the CPU (SIMD, the coder's threads).
 * - LVC_BACKEND_VULKAN: Vulkan compute shaders on a device: the application's (vulkan_device
 *   in the settings) or the library's own, which is chosen once per process: the device the
 *   environment variable LVC_VULKAN_DEVICE names (its index in the list of physical devices or
 *   a substring of its name, case-insensitive), else a discrete GPU, an integrated one, a
 *   virtual one, a CPU implementation (Mesa's lavapipe), in that order.
 * - LVC_BACKEND_AUTO: Vulkan when the device is a hardware GPU (an application's device is
 *   taken as it is), else the CPU; never a CPU implementation of Vulkan.
 * The backend is settled when the coder opens (a decoder: when a sequence starts, at its first
 * key frame) and stays for the sequence.  When the Vulkan device cannot be used (no driver, a
 * missing feature, not enough memory for the frame size) the coder runs on the CPU instead
 * and logs a warning (lvc_set_log_callback); lvc_encoder_get_backend and
 * lvc_decoder_get_backend tell the backend in use.  A device failing during a frame fails that
 * frame (the stream continues at the next key frame); it never switches backends mid-stream. */
enum { LVC_BACKEND_AUTO = 0, LVC_BACKEND_CPU = 1, LVC_BACKEND_VULKAN = 2 };

/* A Vulkan device for coders, reference-counted and thread-safe.  The model's weights are
 * uploaded once per device and shared by all coders of that model on it. */
typedef struct LvcVulkanDevice LvcVulkanDevice;

/* An application's Vulkan objects, as void pointers so that this header needs no Vulkan
 * headers: VkInstance, VkPhysicalDevice (the one the device was created from), VkDevice,
 * VkQueue and the queue's family, which must support compute.  The device needs no extension
 * or optional feature (Vulkan 1.0; limits in codec/src/vulkan/vk.h).  The objects stay the
 * application's: it destroys them after the last coder using them has closed and the device
 * was released.  lvc submits to the queue from the threads that call into its coders; the
 * application must not use the queue at the same time (Vulkan's external synchronisation). */
typedef struct LvcVulkanHandles {
    void *instance;
    void *physical_device;
    void *device;
    void *queue;
    uint32_t queue_family;
} LvcVulkanHandles;

/* Wrap an application's device (h borrowed); *out gets a new reference.  LVC_EUNSUPPORTED when
 * liblvc was built without Vulkan or the device lacks what the shaders need. */
LVC_API int lvc_vulkan_device_adopt(const LvcVulkanHandles *h, LvcVulkanDevice **out);
LVC_API void lvc_vulkan_device_unref(LvcVulkanDevice *dev); /* NULL accepted */
/* The device's name (static storage of the device). */
LVC_API const char *lvc_vulkan_device_name(const LvcVulkanDevice *dev);

/* ---- Log ------------------------------------------------------------------------------------
 * liblvc prints nothing.  Warnings that do not fail a call (a backend fallback) go to a
 * process-wide callback; without one they are dropped.  The callback may be called from any
 * thread that calls into liblvc, with a message valid for the duration of the call. */
enum { LVC_LOG_ERROR = 0, LVC_LOG_WARNING = 1, LVC_LOG_INFO = 2 };
typedef void (*LvcLogCallback)(void *opaque, int level, const char *message);
/* Set (or with NULL remove) the callback; thread-safe. */
LVC_API void lvc_set_log_callback(LvcLogCallback cb, void *opaque);

/* Time spent by a coder since it opened, by stage (lvc_encoder_get_timings,
 * lvc_decoder_get_timings). */
typedef struct LvcTimings {
    uint64_t frames;      /* frames coded (an encoder's re-encodes for rate control count) */
    double network_s;     /* running the networks: CPU kernels, or with Vulkan the wait for the
                           * device (includes its transfers) */
    double device_s;      /* Vulkan: device time of the submissions (0 when unknown or CPU) */
    double transfer_s;    /* Vulkan: host time copying tensors and pictures to and from the
                           * staging memory */
    double entropy_s;     /* rANS coding of z and the latent, choosing symbols */
    double total_s;       /* everything in lvc_*_send_* for those frames */
    double macs;          /* multiply-adds of the networks run (CONV and QMUL) */
} LvcTimings;

/* ---- Encoder ------------------------------------------------------------------------------- */

typedef struct LvcEncoder LvcEncoder;

typedef struct LvcEncoderSettings {
    int width, height;        /* 1..8192 */
    int fps_num, fps_den;     /* 0/0 unknown */
    LvcColor color;
    int par_num, par_den;
    int qp;                   /* 0..63, 0 = best; the constant qp when bitrate is 0 */
    int bitrate_kbps;         /* 0 = constant qp */
    int vbv_ms;               /* leaky-bucket size in ms, default 1000 (0 = 1000) */
    int key_int_max;          /* frames between I-frames; 0 = only on request */
    int refresh_period;       /* P-frames between feature refreshes; 0 = never */
    int threads;              /* 0 = automatic */
    int backend;              /* LVC_BACKEND_* */
    int want_recon;           /* 1: keep reconstructions for lvc_encoder_receive_recon */
    LvcVulkanDevice *vulkan_device; /* borrowed (the encoder takes a reference); NULL = the
                                     * library's own (see Backends) */
} LvcEncoderSettings;

/* Fill *s with the defaults (qp 32, key_int_max 256, refresh_period 32, vbv 1000 ms). */
LVC_API void lvc_encoder_settings_default(LvcEncoderSettings *s);

/* Open an encoder.  Takes its own reference to model (borrowed from the caller). */
LVC_API int lvc_encoder_open(LvcEncoder **out, LvcModel *model, const LvcEncoderSettings *s);

/* Submit a picture (borrowed: the encoder takes its own reference or copy).  NULL starts
 * flushing.  Returns LVC_EAGAIN when a packet must be received first. */
LVC_API int lvc_encoder_send_picture(LvcEncoder *enc, LvcPicture *pic);

/* Receive the next packet into *pkt (caller frees with lvc_packet_clear).  LVC_EAGAIN: more
 * input is needed; LVC_EOF: flushed and drained. */
LVC_API int lvc_encoder_receive_packet(LvcEncoder *enc, LvcPacket *pkt);

/* With want_recon: the reconstruction of the last received packet (new reference). */
LVC_API int lvc_encoder_receive_recon(LvcEncoder *enc, LvcPicture **out);

/* The next submitted picture becomes an I-frame. */
LVC_API int lvc_encoder_force_keyframe(LvcEncoder *enc);

/* Change the target bitrate (kbit/s, 0 = constant qp at the settings' qp); applied from the
 * next frame sent, at any time.  Rate control keeps every frame within a leaky-bucket buffer of
 * vbv_ms at the target rate (choosing each frame's qp, the I-frame qp offset included, and
 * coding a frame again at a higher qp when it would overflow; only a frame too large even at qp
 * 63 can exceed it) and the average rate at the target.  The packets' qp field tells the qp
 * chosen.  The first frame's rate comes from bitrate_kbps of the settings when it is not 0. */
LVC_API int lvc_encoder_set_bitrate(LvcEncoder *enc, int kbps);

/* The current sequence header (FORMAT.md §1.1): *size bytes at *data, borrowed from the
 * encoder until its next call. */
LVC_API int lvc_encoder_get_sequence_header(LvcEncoder *enc, const uint8_t **data, size_t *size);

/* The backend the encoder runs on: LVC_BACKEND_CPU or LVC_BACKEND_VULKAN. */
LVC_API int lvc_encoder_get_backend(const LvcEncoder *enc);
/* Fill *t with the encoder's times since it opened. */
LVC_API int lvc_encoder_get_timings(const LvcEncoder *enc, LvcTimings *t);

LVC_API void lvc_encoder_close(LvcEncoder *enc); /* NULL accepted */

/* ---- Decoder ------------------------------------------------------------------------------- */

typedef struct LvcDecoder LvcDecoder;

typedef struct LvcDecoderSettings {
    LvcModel *model;          /* borrowed; NULL = look up the stream's id (lvc_model_find) */
    int threads;              /* 0 = automatic */
    int backend;              /* LVC_BACKEND_* */
    const LvcAllocator *allocator; /* borrowed, must outlive the decoder; NULL = built-in */
    LvcVulkanDevice *vulkan_device; /* borrowed (the decoder takes a reference); NULL = the
                                     * library's own (see Backends) */
    int max_pixels;           /* largest width × height a sequence may have; 0 = no cap below
                               * the format's 8192 × 8192 (see Limits below) */
} LvcDecoderSettings;

LVC_API void lvc_decoder_settings_default(LvcDecoderSettings *s);
LVC_API int lvc_decoder_open(LvcDecoder **out, const LvcDecoderSettings *s);

/* Submit one packet (data borrowed).  data == NULL starts flushing.  Returns LVC_EAGAIN when a
 * picture must be received first, LVC_EDATA / LVC_ENOREF / LVC_ENOMODEL for a frame that cannot
 * be decoded (the decoder stays usable and resumes at the next key frame).
 *
 * Bad input.  Whatever the bytes, a packet never makes the decoder read outside them, and a
 * frame that cannot be decoded fails with a message (lvc_last_error) and gives no picture:
 * LVC_EDATA for damaged or invalid data (truncated, bit errors the syntax or the rANS end check
 * catches, trailing bytes, a sequence header with sizes outside 1..8192 or invalid fields),
 * LVC_EUNSUPPORTED for a version, profile, bit depth or chroma format this decoder does not
 * implement, LVC_ENOMODEL for a stream of another model, LVC_ENOREF for a P-frame with no
 * reference, LVC_ENOMEM when memory runs out or a sequence exceeds max_pixels, and the error
 * of a failing picture allocator.  After any failure P-frames are refused with LVC_ENOREF
 * until the next key frame, which decodes exactly as in an undamaged stream.  A P-frame sent
 * out of order or twice is valid syntax, but its entropy model depends on the reference, so it
 * fails the rANS end check (LVC_EDATA) except with negligible probability.
 *
 * Limits.  The decoder never copies a packet; its memory depends only on the sequence's picture
 * size and the model, and is allocated when a key frame starts a sequence of a new size, after
 * the sequence header was checked and before the frame's data is decoded (models/default.lvcm:
 * about 90 MB at 1920 × 1080, 2.8 GB at 8192 × 8192).  A decoder of untrusted streams should
 * set max_pixels: larger sequences are then refused with LVC_ENOMEM before anything is
 * allocated. */
LVC_API int lvc_decoder_send_packet(LvcDecoder *dec, const uint8_t *data, size_t size,
                                    int64_t pts);

/* lvc_decoder_send_packet with flags.  LVC_DECODE_NO_PICTURE: the caller does not want this
 * frame's picture (e.g. it is late and will be dropped).  The frame is still decoded as the
 * reference of the next frames, but without the reconstruction head, and no picture is returned
 * for it (lvc_decoder_receive_picture gives LVC_EAGAIN).  Frames whose picture the decoding
 * itself needs (P-frames with the refresh flag) are decoded fully and their picture is
 * returned as usual.  Later pictures are identical to those of a decode without the flag. */
#define LVC_DECODE_NO_PICTURE 1u
LVC_API int lvc_decoder_send_packet_flags(LvcDecoder *dec, const uint8_t *data, size_t size,
                                          int64_t pts, unsigned flags);

/* Receive the next picture (*out gets a new reference).  LVC_EAGAIN / LVC_EOF as above. */
LVC_API int lvc_decoder_receive_picture(LvcDecoder *dec, LvcPicture **out);

/* The backend of the current sequence (LVC_BACKEND_CPU or LVC_BACKEND_VULKAN), or
 * LVC_BACKEND_AUTO before the first key frame settled it. */
LVC_API int lvc_decoder_get_backend(const LvcDecoder *dec);
/* Fill *t with the decoder's times since its current sequence's picture size or model was
 * set up (the first key frame of that size). */
LVC_API int lvc_decoder_get_timings(const LvcDecoder *dec, LvcTimings *t);

LVC_API void lvc_decoder_close(LvcDecoder *dec); /* NULL accepted */

/* ---- CPU instruction sets ------------------------------------------------------------------
 * The CPU backend picks SIMD kernels for the best instruction set the CPU (and the operating
 * system) supports, up to a cap.  Every level computes exactly the same integers; a cap only
 * changes speed (for testing and benchmarking).  The cap is the smaller of the LVC_CPU_LEVEL
 * environment variable (a name: c, sse41, avx2, avxvnni, avx512, avx512vnni, neon, or a
 * number; read once) and the value set here.  It applies to encoders and decoders opened
 * afterwards.  LVC_CPU_SSE41 is detected but has no kernels of its own (it runs the C ones).
 * Levels are not nested: a CPU may support LVC_CPU_AVX512VNNI but not LVC_CPU_AVXVNNI, and a
 * level of another architecture is never supported. */
enum {
    LVC_CPU_C = 0,          /* portable C */
    LVC_CPU_SSE41 = 1,      /* x86 SSE4.1 */
    LVC_CPU_AVX2 = 2,       /* x86 AVX2 */
    LVC_CPU_AVXVNNI = 3,    /* x86 AVX2 + AVX-VNNI */
    LVC_CPU_AVX512 = 4,     /* x86 AVX-512 F, BW, VL */
    LVC_CPU_AVX512VNNI = 5, /* x86 AVX-512 F, BW, VL, VNNI */
    LVC_CPU_NEON = 6,       /* AArch64 Advanced SIMD */
    LVC_CPU_MAX_LEVEL = 6
};

/* Set the cap (level < 0: no cap other than LVC_CPU_LEVEL).  Thread-safe.  Returns
 * lvc_get_cpu_level(). */
LVC_API int lvc_set_cpu_level_cap(int level);

/* The highest level that is supported and within the cap. */
LVC_API int lvc_get_cpu_level(void);

#ifdef __cplusplus
}
#endif
#endif /* LVC_LVC_H */
