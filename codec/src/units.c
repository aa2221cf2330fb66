/* Elementary stream units (codec/FORMAT.md §1, §2.4).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "units.h"

#include "internal.h"

/* Frame-unit header byte. */
#define FU_MARK 0x80
#define FU_TYPE_P 0x40
#define FU_REFRESH 0x20
#define FU_QP 0x10
#define FU_RESERVED 0x0f

void lvc_sh_init(LvcSeqHeader *sh, int width, int height)
{
    memset(sh, 0, sizeof(*sh));
    sh->bitstream_version = LVC_BITSTREAM_VERSION;
    sh->opset_version = LVC_OPSET_VERSION;
    sh->profile = LVC_PROFILE_S;
    sh->width = width;
    sh->height = height;
    sh->bit_depth_code = 0;
    sh->chroma_format = 1;
    sh->color.primaries = 2;
    sh->color.transfer = 2;
    sh->color.matrix = 2;
    sh->color.range = 0;
}

static int in_range(int v, int lo, int hi) { return v >= lo && v <= hi; }

int lvc_sh_write(const LvcSeqHeader *sh, uint8_t *out, size_t cap)
{
    if (!sh || !out)
        return lvc_error(LVC_EINVAL, "sequence header: NULL argument");
    if (sh->bitstream_version != LVC_BITSTREAM_VERSION || sh->opset_version != LVC_OPSET_VERSION ||
        sh->profile != LVC_PROFILE_S)
        return lvc_error(LVC_EINVAL, "sequence header: version %d, op-set %d, profile %d not writable",
                         sh->bitstream_version, sh->opset_version, sh->profile);
    if (!in_range(sh->width, 1, LVC_MAX_DIM) || !in_range(sh->height, 1, LVC_MAX_DIM))
        return lvc_error(LVC_EINVAL, "sequence header: size %dx%d outside 1..%d", sh->width,
                         sh->height, LVC_MAX_DIM);
    if (sh->bit_depth_code != 0 || sh->chroma_format != 1)
        return lvc_error(LVC_EINVAL, "sequence header: only 8-bit 4:2:0 is writable");
    if (sh->color.range > 2)
        return lvc_error(LVC_EINVAL, "sequence header: range %d invalid", sh->color.range);
    if (!in_range(sh->par_num, 0, 0xffff) || !in_range(sh->par_den, 0, 0xffff) ||
        !in_range(sh->fps_den, 0, 0xffff))
        return lvc_error(LVC_EINVAL, "sequence header: aspect ratio or frame rate out of range");
    if (sh->flags != 0)
        return lvc_error(LVC_EINVAL, "sequence header: flags must be 0");
    if (sh->ext_size > LVC_SH_MAX_EXT || (sh->ext_size && !sh->ext))
        return lvc_error(LVC_EINVAL, "sequence header: extension of %zu bytes invalid",
                         sh->ext_size);
    size_t total = LVC_SH_FIXED_SIZE + sh->ext_size;
    if (cap < total)
        return lvc_error(LVC_EINVAL, "sequence header: %zu bytes do not fit in %zu", total, cap);

    memcpy(out, LVC_SH_MAGIC, 3);
    out[3] = (uint8_t)sh->bitstream_version;
    out[4] = (uint8_t)sh->opset_version;
    out[5] = (uint8_t)sh->profile;
    memcpy(out + 6, sh->model_id, LVC_MODEL_ID_SIZE);
    lvc_wr16(out + 22, (uint16_t)sh->width);
    lvc_wr16(out + 24, (uint16_t)sh->height);
    out[26] = (uint8_t)sh->bit_depth_code;
    out[27] = (uint8_t)sh->chroma_format;
    out[28] = sh->color.primaries;
    out[29] = sh->color.transfer;
    out[30] = sh->color.matrix;
    out[31] = sh->color.range;
    lvc_wr16(out + 32, (uint16_t)sh->par_num);
    lvc_wr16(out + 34, (uint16_t)sh->par_den);
    lvc_wr32(out + 36, sh->fps_num);
    lvc_wr16(out + 40, (uint16_t)sh->fps_den);
    out[42] = 0;
    out[43] = (uint8_t)sh->ext_size;
    if (sh->ext_size)
        memcpy(out + LVC_SH_FIXED_SIZE, sh->ext, sh->ext_size);
    return (int)total;
}

int lvc_sh_read(LvcSeqHeader *sh, const uint8_t *data, size_t size)
{
    if (!sh || (!data && size))
        return lvc_error(LVC_EINVAL, "sequence header: NULL argument");
    memset(sh, 0, sizeof(*sh));
    if (size < 3 || memcmp(data, LVC_SH_MAGIC, 3) != 0) {
        if (size >= 3)
            return lvc_error(LVC_EDATA, "sequence header: bad magic %02x %02x %02x", data[0],
                             data[1], data[2]);
        if (size > 0 && memcmp(data, LVC_SH_MAGIC, size) != 0)
            return lvc_error(LVC_EDATA, "sequence header: bad magic");
        return lvc_error(LVC_EDATA, "sequence header truncated: %zu of %d bytes", size,
                         LVC_SH_FIXED_SIZE);
    }
    if (size < LVC_SH_FIXED_SIZE)
        return lvc_error(LVC_EDATA, "sequence header truncated: %zu of %d bytes", size,
                         LVC_SH_FIXED_SIZE);
    sh->bitstream_version = data[3];
    sh->opset_version = data[4];
    sh->profile = data[5];
    memcpy(sh->model_id, data + 6, LVC_MODEL_ID_SIZE);
    sh->width = lvc_rd16(data + 22);
    sh->height = lvc_rd16(data + 24);
    sh->bit_depth_code = data[26];
    sh->chroma_format = data[27];
    sh->color.primaries = data[28];
    sh->color.transfer = data[29];
    sh->color.matrix = data[30];
    sh->color.range = data[31];
    sh->par_num = lvc_rd16(data + 32);
    sh->par_den = lvc_rd16(data + 34);
    sh->fps_num = lvc_rd32(data + 36);
    sh->fps_den = lvc_rd16(data + 40);
    sh->flags = data[42];
    sh->ext_size = data[43];

    if (sh->bitstream_version != LVC_BITSTREAM_VERSION)
        return lvc_error(LVC_EUNSUPPORTED, "sequence header: bitstream version %d (this decoder "
                         "reads version %d)", sh->bitstream_version, LVC_BITSTREAM_VERSION);
    if (sh->opset_version != LVC_OPSET_VERSION)
        return lvc_error(LVC_EUNSUPPORTED, "sequence header: op-set version %d (this decoder "
                         "implements version %d)", sh->opset_version, LVC_OPSET_VERSION);
    if (sh->profile != LVC_PROFILE_S)
        return lvc_error(LVC_EUNSUPPORTED, "sequence header: unknown profile %d", sh->profile);
    if (!in_range(sh->width, 1, LVC_MAX_DIM) || !in_range(sh->height, 1, LVC_MAX_DIM))
        return lvc_error(LVC_EDATA, "sequence header: picture size %dx%d outside 1..%d",
                         sh->width, sh->height, LVC_MAX_DIM);
    if (sh->bit_depth_code != 0)
        return lvc_error(LVC_EUNSUPPORTED, "sequence header: bit depth code %d (only 0 = 8 bit "
                         "is supported)", sh->bit_depth_code);
    if (sh->chroma_format != 1)
        return lvc_error(LVC_EUNSUPPORTED, "sequence header: chroma format %d (only 1 = 4:2:0 "
                         "is supported)", sh->chroma_format);
    if (sh->color.range > 2)
        return lvc_error(LVC_EDATA, "sequence header: range %d invalid", sh->color.range);
    if (sh->flags != 0)
        return lvc_error(LVC_EDATA, "sequence header: flags 0x%02x must be 0", sh->flags);
    if (size - LVC_SH_FIXED_SIZE < sh->ext_size)
        return lvc_error(LVC_EDATA, "sequence header: extension of %zu bytes exceeds the %zu "
                         "remaining bytes", sh->ext_size, size - LVC_SH_FIXED_SIZE);
    sh->ext = sh->ext_size ? data + LVC_SH_FIXED_SIZE : NULL;
    return (int)(LVC_SH_FIXED_SIZE + sh->ext_size);
}

int lvc_sh_equal(const LvcSeqHeader *a, const LvcSeqHeader *b)
{
    return a->bitstream_version == b->bitstream_version &&
           a->opset_version == b->opset_version && a->profile == b->profile &&
           memcmp(a->model_id, b->model_id, LVC_MODEL_ID_SIZE) == 0 && a->width == b->width &&
           a->height == b->height && a->bit_depth_code == b->bit_depth_code &&
           a->chroma_format == b->chroma_format && a->color.primaries == b->color.primaries &&
           a->color.transfer == b->color.transfer && a->color.matrix == b->color.matrix &&
           a->color.range == b->color.range && a->par_num == b->par_num &&
           a->par_den == b->par_den && a->fps_num == b->fps_num && a->fps_den == b->fps_den &&
           a->flags == b->flags;
}

static int fh_check(const LvcFrameHeader *fh)
{
    if (fh->type != LVC_FRAME_I && fh->type != LVC_FRAME_P)
        return lvc_error(LVC_EINVAL, "frame unit: type %d invalid", fh->type);
    if (fh->type == LVC_FRAME_I && fh->refresh)
        return lvc_error(LVC_EINVAL, "frame unit: refresh is for P-frames only");
    if (fh->type == LVC_FRAME_I && !fh->qp_present)
        return lvc_error(LVC_EINVAL, "frame unit: an I-frame must carry its qp");
    if (fh->qp_present && !in_range(fh->qp, 0, LVC_QP_MAX))
        return lvc_error(LVC_EINVAL, "frame unit: qp %d outside 0..%d", fh->qp, LVC_QP_MAX);
    return 0;
}

int lvc_fu_write_header(const LvcFrameHeader *fh, int n_slices, const size_t *slice_sizes,
                        uint8_t *out, size_t cap)
{
    if (!fh || !out || (n_slices > 1 && !slice_sizes))
        return lvc_error(LVC_EINVAL, "frame unit: NULL argument");
    int err = fh_check(fh);
    if (err < 0)
        return err;
    if (!in_range(n_slices, 1, LVC_MAX_SLICES))
        return lvc_error(LVC_EINVAL, "frame unit: %d slices outside 1..%d", n_slices,
                         LVC_MAX_SLICES);
    uint8_t tmp[LVC_FU_HEADER_MAX_SIZE];
    size_t n = 0;
    tmp[n++] = (uint8_t)(FU_MARK | (fh->type == LVC_FRAME_P ? FU_TYPE_P : 0) |
                         (fh->refresh ? FU_REFRESH : 0) | (fh->qp_present ? FU_QP : 0));
    if (fh->qp_present)
        tmp[n++] = (uint8_t)fh->qp;
    for (int i = 0; i < n_slices - 1; i++) {
        if (slice_sizes[i] < LVC_SLICE_MIN_SIZE || slice_sizes[i] > 0xffffffffu)
            return lvc_error(LVC_EINVAL, "frame unit: slice %d size %zu invalid", i,
                             slice_sizes[i]);
        n += lvc_leb128_put(tmp + n, (uint32_t)slice_sizes[i]);
    }
    if (cap < n)
        return lvc_error(LVC_EINVAL, "frame unit: header of %zu bytes does not fit in %zu", n,
                         cap);
    memcpy(out, tmp, n);
    return (int)n;
}

int lvc_packet_parse(const uint8_t *data, size_t size, int n_slices, LvcPacketInfo *info)
{
    if (!info || (!data && size))
        return lvc_error(LVC_EINVAL, "packet: NULL argument");
    memset(info, 0, sizeof(*info));
    if (size == 0)
        return lvc_error(LVC_EDATA, "packet: empty");
    size_t pos = 0;
    if (!(data[0] & FU_MARK)) {
        int r = lvc_sh_read(&info->sh, data, size);
        if (r < 0)
            return r;
        info->has_sh = 1;
        pos = (size_t)r;
        n_slices = lvc_slice_count(info->sh.width, info->sh.height);
    }
    info->fu_offset = pos;
    if (pos >= size)
        return lvc_error(LVC_EDATA, "packet: sequence header without a frame unit");

    uint8_t b = data[pos++];
    if (!(b & FU_MARK))
        return lvc_error(LVC_EDATA, "frame unit: header byte 0x%02x lacks bit 7", b);
    if (b & FU_RESERVED)
        return lvc_error(LVC_EDATA, "frame unit: header byte 0x%02x has reserved bits set", b);
    LvcFrameHeader *fh = &info->fh;
    fh->type = (b & FU_TYPE_P) ? LVC_FRAME_P : LVC_FRAME_I;
    fh->refresh = (b & FU_REFRESH) ? 1 : 0;
    fh->qp_present = (b & FU_QP) ? 1 : 0;
    if (fh->type == LVC_FRAME_I && fh->refresh)
        return lvc_error(LVC_EDATA, "frame unit: refresh flag on an I-frame");
    if (fh->type == LVC_FRAME_I && !fh->qp_present)
        return lvc_error(LVC_EDATA, "frame unit: I-frame without qp");
    if (fh->type == LVC_FRAME_I && !info->has_sh)
        return lvc_error(LVC_EDATA, "frame unit: I-frame without a sequence header");
    if (fh->type == LVC_FRAME_P && info->has_sh)
        return lvc_error(LVC_EDATA, "frame unit: P-frame after a sequence header");
    if (fh->qp_present) {
        if (pos >= size)
            return lvc_error(LVC_EDATA, "frame unit: truncated before qp");
        fh->qp = data[pos++];
        if (fh->qp > LVC_QP_MAX)
            return lvc_error(LVC_EDATA, "frame unit: qp %d outside 0..%d", fh->qp, LVC_QP_MAX);
    }
    if (n_slices <= 0)
        return lvc_error(LVC_ENOREF, "frame unit: P-frame without an active sequence (picture "
                         "size unknown)");
    if (n_slices > LVC_MAX_SLICES)
        return lvc_error(LVC_EINVAL, "packet: %d slices exceed %d", n_slices, LVC_MAX_SLICES);
    info->n_slices = n_slices;

    LvcReader r;
    lvc_reader_init(&r, data + pos, size - pos);
    for (int i = 0; i < n_slices - 1; i++) {
        size_t at = pos + (size_t)(r.p - (data + pos));
        uint32_t v = lvc_reader_leb128(&r);
        if (r.err) {
            if (lvc_reader_left(&r) == 0)
                return lvc_error(LVC_EDATA, "frame unit: truncated in the size of slice %d", i);
            return lvc_error(LVC_EDATA, "frame unit: invalid LEB128 size of slice %d at offset "
                             "%zu", i, at);
        }
        info->slice_size[i] = v;
    }
    const uint8_t *p = r.p;
    size_t left = lvc_reader_left(&r);
    for (int i = 0; i < n_slices; i++) {
        size_t s = i < n_slices - 1 ? info->slice_size[i] : left;
        if (i < n_slices - 1 && s > left)
            return lvc_error(LVC_EDATA, "frame unit: slice %d size %zu exceeds the %zu "
                             "remaining bytes", i, s, left);
        if (s < LVC_SLICE_MIN_SIZE)
            return lvc_error(LVC_EDATA, "frame unit: slice %d has %zu bytes (at least %d "
                             "needed)", i, s, LVC_SLICE_MIN_SIZE);
        info->slice[i] = p;
        info->slice_size[i] = s;
        p += s;
        left -= s;
    }
    return 0;
}

int lvc_packet_is_keyframe(const uint8_t *data, size_t size)
{
    LvcSeqHeader sh;
    if (!data || size == 0 || (data[0] & FU_MARK))
        return 0;
    int r = lvc_sh_read(&sh, data, size);
    if (r < 0 || (size_t)r >= size)
        return 0;
    uint8_t b = data[r];
    return (b & (FU_MARK | FU_TYPE_P)) == FU_MARK;
}

int lvc_slice_count(int width, int height)
{
    if (!in_range(width, 1, LVC_MAX_DIM) || !in_range(height, 1, LVC_MAX_DIM))
        return lvc_error(LVC_EINVAL, "slices: picture size %dx%d outside 1..%d", width, height,
                         LVC_MAX_DIM);
    int h1 = lvc_latent_dim(height), w1 = lvc_latent_dim(width);
    int n = (h1 * w1 + 1023) / 1024;
    if (n < 1)
        n = 1;
    if (n > h1)
        n = h1;
    if (n > LVC_MAX_SLICES)
        n = LVC_MAX_SLICES;
    return n;
}

void lvc_slice_rows(int h1, int n, int i, int *r0, int *r1)
{
    *r0 = (int)((int64_t)i * h1 / n);
    *r1 = (int)((int64_t)(i + 1) * h1 / n);
}
