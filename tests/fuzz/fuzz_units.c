/* Fuzz target: packet parsing (codec/FORMAT.md §1).  Input: one byte choosing the caller's
 * slice count (byte % 66: 0 = unknown, 1..64, 65 = invalid), then the packet.  A packet that
 * parses must be canonical: writing its sequence header and frame-unit header back gives the
 * same bytes, and its slices tile the rest of the packet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_packet(const uint8_t *p, size_t size, int n_sel)
{
    LvcPacketInfo info;
    int r = lvc_packet_parse(p, size, n_sel, &info);
    int key = lvc_packet_is_keyframe(p, size);
    if (r < 0) {
        if (r != LVC_EDATA && r != LVC_EUNSUPPORTED && r != LVC_ENOREF && r != LVC_EINVAL)
            abort();
        if (lvc_last_error()[0] == 0)
            abort();
        return;
    }
    if (key != info.has_sh || info.has_sh != (info.fh.type == LVC_FRAME_I))
        abort();
    uint8_t buf[LVC_SH_MAX_SIZE + LVC_FU_HEADER_MAX_SIZE];
    size_t pos = 0;
    if (info.has_sh) {
        int w = lvc_sh_write(&info.sh, buf, sizeof(buf));
        if (w < 0 || (size_t)w != info.fu_offset)
            abort();
        pos = (size_t)w;
        if (info.n_slices != lvc_slice_count(info.sh.width, info.sh.height))
            abort();
    } else if (info.fu_offset != 0 || info.n_slices != n_sel) {
        abort();
    }
    int w = lvc_fu_write_header(&info.fh, info.n_slices, info.slice_size, buf + pos,
                                sizeof(buf) - pos);
    if (w < 0)
        abort();
    pos += (size_t)w;
    if (pos > size || memcmp(buf, p, pos) != 0)
        abort();
    const uint8_t *q = p + pos;
    for (int i = 0; i < info.n_slices; i++) {
        if (info.slice[i] != q || info.slice_size[i] < LVC_SLICE_MIN_SIZE)
            abort();
        q += info.slice_size[i];
    }
    if (q != p + size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int n_sel = data[0] % 66;
    const uint8_t *p = data + 1;
    size--;
    /* Copy so that reads past the end are caught by the sanitizers. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, p, size);
    check_packet(copy, size, n_sel);

    LvcSeqHeader sh;
    int r = lvc_sh_read(&sh, copy, size);
    if (r >= 0) {
        uint8_t buf[LVC_SH_MAX_SIZE];
        int w = lvc_sh_write(&sh, buf, sizeof(buf));
        if (w != r || memcmp(buf, copy, (size_t)r) != 0)
            abort();
    }
    free(copy);
    return 0;
}
