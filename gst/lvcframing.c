/* The framing decisions of lvcparse (see lvcframing.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lvcframing.h"

#include <string.h>

#include <lvc/lvc.h>

static uint32_t
rd16 (const uint8_t * p)
{
  return (uint32_t) p[0] | ((uint32_t) p[1] << 8);
}

static uint32_t
rd32 (const uint8_t * p)
{
  return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
      ((uint32_t) p[3] << 24);
}

/* The size of the valid sequence header at data (44 + extension), or 0 (FORMAT.md §1.1). */
static size_t
seq_size (const uint8_t * data, size_t size)
{
  uint32_t w, h;
  size_t total;

  if (!data || size < LVC_FRAMING_SH_FIXED_SIZE)
    return 0;
  if (memcmp (data, "LVC", 3) != 0 || data[3] != LVC_BITSTREAM_VERSION
      || data[4] != LVC_OPSET_VERSION || data[5] != 1)
    return 0;
  w = rd16 (data + 22);
  h = rd16 (data + 24);
  if (w < 1 || w > 8192 || h < 1 || h > 8192)
    return 0;
  /* 8-bit 4:2:0, range 0..2, flags 0 */
  if (data[26] != 0 || data[27] != 1 || data[31] > 2 || data[42] != 0)
    return 0;
  total = LVC_FRAMING_SH_FIXED_SIZE + (size_t) data[43];
  return total <= size ? total : 0;
}

int
lvc_framing_packet_is_key (const uint8_t * data, size_t size)
{
  size_t n = seq_size (data, size);

  /* an I-frame unit: bit 7 set, type 0, no refresh, qp present, reserved bits 0 */
  return n > 0 && n < size && data[n] == 0x90;
}

int
lvc_framing_packet_plausible (const uint8_t * data, size_t size)
{
  if (!data || size < 1)
    return 0;
  if (data[0] == 'L')
    return lvc_framing_packet_is_key (data, size);
  /* a P-frame unit: bit 7 set, type 1, reserved bits 3..0 clear */
  return (data[0] & 0xcf) == 0xc0;
}

int
lvc_framing_header_plausible (const uint8_t * d, size_t avail, uint64_t bound)
{
  uint32_t fsize;
  const uint8_t *pkt;
  size_t have, need;

  if (avail < LVC_FRAMING_FRAME_HEADER_SIZE + 1)
    return -1;
  fsize = rd32 (d);
  if (fsize < 1 || fsize > LVC_FRAMING_MAX_FRAME)
    return 0;
  if (bound && fsize > bound)
    return 0;
  pkt = d + LVC_FRAMING_FRAME_HEADER_SIZE;
  have = avail - LVC_FRAMING_FRAME_HEADER_SIZE;
  if (have > fsize)
    have = fsize;
  if (pkt[0] != 'L')
    return lvc_framing_packet_plausible (pkt, 1);
  if (have < LVC_FRAMING_SH_FIXED_SIZE)
    return have == fsize ? 0 : -1;
  need = LVC_FRAMING_SH_FIXED_SIZE + (size_t) pkt[43] + 1;      /* header, extension, FU byte */
  if (fsize < need)
    return 0;
  if (have < need)
    return -1;
  return lvc_framing_packet_is_key (pkt, need);
}

void
lvc_framing_step (LvcFramingState * st, const uint8_t * d, size_t avail, int draining,
    LvcFramingResult * res)
{
  const size_t hs = LVC_FRAMING_FRAME_HEADER_SIZE;
  uint32_t fsize;
  int ok;

  uint64_t bound = 4 * (uint64_t) st->max_frame;

  memset (res, 0, sizeof (*res));
  if (bound < LVC_FRAMING_RESYNC_MIN_BOUND)
    bound = LVC_FRAMING_RESYNC_MIN_BOUND;
  /* While resynchronising, a frame header must pass the same test as the candidates the scan
   * below looks for (with the size bound): the decisions must not depend on where the input
   * was split into buffers. */
  ok = lvc_framing_header_plausible (d, avail, st->resyncing ? bound : 0);
  if (ok == 1 && st->resyncing) {
    /* confirm with the next frame header, or the end of the data */
    size_t next = hs + (size_t) rd32 (d);
    if (avail < next + hs + 1) {
      if (!draining) {
        res->action = LVC_FRAMING_NEED_MORE;
        res->min_size = next + hs + 1;
        return;
      }
      ok = avail >= next ? 1 : 0;
    } else {
      int next_ok = lvc_framing_header_plausible (d + next, avail - next, 0);
      if (next_ok < 0 && !draining) {
        /* the next header cannot be told yet (a sequence header cut by the buffer end) */
        res->action = LVC_FRAMING_NEED_MORE;
        res->min_size = avail + 1;
        return;
      }
      ok = next_ok != 0 ? 1 : 0;
    }
  }
  if (ok < 0) {
    if (draining) {
      res->action = LVC_FRAMING_SKIP;
      res->size = avail;
    } else {
      res->action = LVC_FRAMING_NEED_MORE;
    }
    return;
  }
  if (ok == 0) {
    /* lost sync: look for the next plausible frame header */
    size_t i;
    res->scanned = 1;
    res->lost_sync = !st->resyncing;
    st->resyncing = 1;
    for (i = 1; i + hs < avail; i++)
      if (lvc_framing_header_plausible (d + i, avail - i, bound) != 0)
        break;
    res->action = LVC_FRAMING_SKIP;
    res->size = i;
    res->min_size = hs + 1;
    return;
  }

  fsize = rd32 (d);
  if (avail < hs + (size_t) fsize) {
    if (draining) {
      res->action = LVC_FRAMING_SKIP;
      res->size = avail;
      res->truncated = 1;
    } else {
      res->action = LVC_FRAMING_NEED_MORE;
      res->min_size = hs + (size_t) fsize;
    }
    return;
  }
  res->action = LVC_FRAMING_FRAME;
  res->size = hs + (size_t) fsize;
  res->min_size = hs + 1;
  res->frame_size = fsize;
  res->pts = (int64_t) ((uint64_t) rd32 (d + 4) | ((uint64_t) rd32 (d + 8) << 32));
  res->resynced = st->resyncing;
  st->resyncing = 0;
  if (fsize > st->max_frame)
    st->max_frame = fsize;
}
