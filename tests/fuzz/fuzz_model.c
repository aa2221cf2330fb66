/* Fuzz target for the .lvcm model loader (codec/FORMAT.md §3).
 *
 * The footer of a model file is the SHA-256 of everything before it, so almost every random
 * mutation would only ever exercise the checksum test.  To let the fuzzer explore the parser
 * behind it, inputs of at least 96 bytes (the header plus the footer) get their header's file
 * size field (offset 16) set to the input size and their footer recomputed before loading.
 * Shorter inputs are loaded as they are. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"
#include "model_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    if (size >= 96) {
        lvc_wr64(buf + 16, size);
        lvc_mw_fix_footer(buf, size);
    }
    LvcModel *m = NULL;
    if (lvc_model_load_memory(buf, size, &m) == 0) {
        LvcModelInfo info;
        lvc_model_get_info(m, &info);
        char *d = lvc_model_describe(m);
        free(d);
        /* Touch what the engine reads: every node's derived output and the entropy tables. */
        for (int g = 0; g < m->n_graphs; g++)
            for (int k = 0; k < m->graphs[g].n_nodes; k++)
                if (m->graphs[g].nodes[k].out.channels < 1)
                    abort();
        lvc_model_unref(m);
    }
    free(buf);
    return 0;
}
