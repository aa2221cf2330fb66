/* The lvc-s frame data flow (codec/ARITHMETIC.md §5–§7, codec/FORMAT.md §1.2, §2): packing,
 * the intra and inter graphs, the entropy coding of z and of the two checkerboard steps in
 * slices, the state F and ŷ kept between frames, the feature refresh and unpacking.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One LvcCodec serves one picture size.  The encoder runs exactly the decoder's computation
 * after choosing its symbols, so its reconstruction is the decoder's output by construction.
 * All buffers are allocated when the codec is opened; coding a frame allocates nothing except
 * when an entropy coder's buffers grow. */
#ifndef LVC_CODEC_H
#define LVC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "units.h"

typedef struct LvcCodec LvcCodec;

/* Called after every graph run with "<graph>.<output>" (e.g. "intra.prior_fusion.mu") and the
 * output, and with "x" (the packed picture, encoder and refresh), "yhat1", "yhat" and "F" (the
 * feature state after the frame, after a refresh when there is one).  The tensor is borrowed for
 * the duration of the call. */
typedef void (*LvcTraceFn)(void *opaque, const char *name, const LvcTensor *t);

/* Open a codec for width × height pictures (1..8192).  encoder = 1 also plans the
 * encoder-only graphs.  model and pool are borrowed and must outlive the codec (pool may be
 * NULL: single-threaded).  Returns 0, LVC_EINVAL, LVC_ENOMEM, or LVC_EUNSUPPORTED when the
 * model's graphs cannot run at this size. */
int lvc_codec_open(LvcCodec **out, const LvcModel *model, int width, int height, int encoder,
                   LvcThreadPool *pool);
void lvc_codec_close(LvcCodec *c); /* NULL accepted */

void lvc_codec_set_trace(LvcCodec *c, LvcTraceFn fn, void *opaque);

/* Encode one picture (borrowed, width × height I420) as a frame of the given type
 * (LVC_FRAME_I / LVC_FRAME_P), qp and refresh flag (P only).  sh (sh_size bytes, borrowed) is
 * written before an I-frame's frame unit.  *pkt receives the packet, owned by the codec until
 * its next call.  The reconstruction is written into recon (a width × height picture) when it
 * is not NULL.  The qp is written when the frame is an I-frame or the qp differs from the
 * previous frame's.  Returns 0, LVC_EINVAL (a P-frame without a reference or with an
 * intra-only model, a wrong size) or LVC_ENOMEM. */
int lvc_codec_encode(LvcCodec *c, const LvcPicture *src, int type, int qp, int refresh,
                     const uint8_t *sh, size_t sh_size, const uint8_t **pkt, size_t *pkt_size,
                     LvcPicture *recon);

/* Decode the frame unit of a parsed packet (lvc_packet_parse) into out (a width × height
 * picture).  out NULL decodes the frame as a reference only, without the reconstruction head
 * (not for a frame with the refresh flag, which needs its picture: LVC_EINVAL).  Returns 0, LVC_ENOREF (a P-frame without a reference), or LVC_EDATA (damaged
 * data: an invalid symbol, a failed end check, an unchanged qp coded in a P-frame, a P-frame
 * for an intra-only model).  After any failure the reference is dropped (lvc_codec_has_ref is
 * 0) until the next I-frame. */
int lvc_codec_decode(LvcCodec *c, const LvcPacketInfo *info, LvcPicture *out);

/* 1 when the codec holds a reference (a P-frame can be coded). */
int lvc_codec_has_ref(const LvcCodec *c);
/* Drop the reference: P-frames are refused until the next I-frame. */
void lvc_codec_drop_ref(LvcCodec *c);
/* The qp of the last frame (-1 before the first). */
int lvc_codec_last_qp(const LvcCodec *c);

/* Save the state between frames (F, ŷ, the reference flag and the last qp) so that the frame
 * coded next can be coded again: lvc_codec_rollback restores the saved state (rate control
 * re-encodes a frame that came out too large).  The copy is allocated on the first call.
 * Returns 0 or LVC_ENOMEM. */
int lvc_codec_checkpoint(LvcCodec *c);
/* Restore the state saved by the last lvc_codec_checkpoint (nothing when there is none). */
void lvc_codec_rollback(LvcCodec *c);

/* Run the graphs on Vulkan device dev from the next frame on (backend.h, lvc_gpu_open): the
 * codec keeps its plans and buffers and moves the work to the device.  Returns 0 or the
 * device's error (the codec then stays on the CPU). */
int lvc_codec_use_gpu(LvcCodec *c, LvcVulkanDevice *dev);
/* Add the codec's times (networks, transfers, entropy coding) and multiply-adds to *t. */
void lvc_codec_timings(const LvcCodec *c, LvcTimings *t);

/* Bytes of memory the codec holds (plans, arenas, state, entropy coders). */
size_t lvc_codec_memory(const LvcCodec *c);

/* The last frame's entropy data, for tests: per latent element (128 × H1 × W1, CHW) the symbol
 * (0 where not coded), the scale bin and whether it was coded; the z symbols (64 × H3 × W3).
 * Shapes through *h1, *w1, *h3, *w3. */
void lvc_codec_last_symbols(const LvcCodec *c, const int32_t **yq, const uint8_t **bins,
                            const uint8_t **coded, const int32_t **zq, int *h1, int *w1, int *h3,
                            int *w3);

/* Bytes of memory held by an encoder or decoder (its codec, pictures and buffers). */
size_t lvc_encoder_memory(const LvcEncoder *enc);
size_t lvc_decoder_memory(const LvcDecoder *dec);

#endif
