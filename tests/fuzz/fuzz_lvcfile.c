/* Fuzz target: the `.lvc` readers (codec/FORMAT.md §4).  The memory reader walks every frame
 * and each packet is parsed the way a player would (slice count from the last sequence header);
 * the FILE reader, over the same bytes, must return the same frames and the same end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvcfile.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    LvcFileMemReader m;
    int r = lvc_file_mem_open(&m, data, size);
    FILE *f = size ? fmemopen((void *)data, size, "rb") : NULL;
    LvcFileReader *fr = NULL;
    int rf = f ? lvc_file_reader_open(&fr, f) : LVC_EDATA;
    if ((r < 0) != (rf < 0))
        abort();
    int n_slices = 0;
    while (r == 0) {
        const uint8_t *frame;
        size_t fsize;
        int64_t pts;
        r = lvc_file_mem_next(&m, &frame, &fsize, &pts);
        if (fr) {
            const uint8_t *d2;
            size_t s2;
            int64_t p2;
            rf = lvc_file_reader_read(fr, &d2, &s2, &p2);
            if (rf != r || (r == 0 && (s2 != fsize || p2 != pts || memcmp(d2, frame, fsize))))
                abort();
        }
        if (r < 0)
            break;
        if (frame < data || fsize == 0 || fsize > LVC_FILE_MAX_FRAME || frame + fsize > data + size)
            abort();
        LvcPacketInfo info;
        if (lvc_packet_parse(frame, fsize, n_slices, &info) == 0 && info.has_sh)
            n_slices = info.n_slices;
    }
    if (r != LVC_EOF && r != LVC_EDATA && r != LVC_EUNSUPPORTED)
        abort();
    lvc_file_reader_close(fr);
    if (f)
        fclose(f);
    return 0;
}
