/* Fuzz target: the whole decoder, bytes in, pictures out.
 *
 * Input: a sequence of packets, each a u16 little-endian length followed by that many bytes
 * (at most 16 packets).  The decoder runs the small random test model of model_write.h (with
 * P-frame graphs); so that mutated streams reach the entropy decoder and the networks instead of
 * stopping at the model lookup, the harness writes that model's id into every sequence header it
 * finds.  The decoder's max_pixels refuses sequences of more than 160×160 samples (LVC_ENOMEM,
 * before allocating), which keeps each run fast.  Seeds: tests/fuzz/make_decoder_corpus.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lvc/lvc.h"
#include "model_write.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PACKETS 16
#define MAX_SAMPLES (160 * 160)

static LvcModel *fuzz_model(void)
{
    static LvcModel *model;
    if (model)
        return model;
    LvcTestModelOptions opt = {.with_inter = 1, .seed = 1, .small = 1};
    LvcModelWriter *w = NULL;
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (lvc_mw_build_test_model(&opt, &w) < 0 || lvc_mw_serialize(w, &bytes, &n) < 0 ||
        lvc_model_load_memory(bytes, n, &model) < 0)
        abort();
    lvc_mw_free(w);
    free(bytes);
    return model;
}

static void drain(LvcDecoder *dec)
{
    LvcPicture *pic = NULL;
    while (lvc_decoder_receive_picture(dec, &pic) == 0) {
        /* touch the corners so a short allocation shows under ASan */
        volatile uint8_t s = pic->data[0][0];
        s ^= pic->data[0][(pic->height - 1) * pic->stride[0] + pic->width - 1];
        s ^= pic->data[2][((pic->height + 1) / 2 - 1) * pic->stride[2] + (pic->width + 1) / 2 - 1];
        (void)s;
        lvc_picture_unref(pic);
        pic = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    LvcModel *model = fuzz_model();
    LvcModelInfo info;
    lvc_model_get_info(model, &info);

    LvcDecoderSettings s;
    lvc_decoder_settings_default(&s);
    s.model = model;
    s.threads = 1;
    s.max_pixels = MAX_SAMPLES;
    LvcDecoder *dec = NULL;
    if (lvc_decoder_open(&dec, &s) < 0)
        abort();

    uint8_t *pkt = malloc(65536);
    if (!pkt)
        abort();
    size_t pos = 0;
    for (int i = 0; i < MAX_PACKETS && size - pos >= 2; i++) {
        size_t len = (size_t)data[pos] | ((size_t)data[pos + 1] << 8);
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        memcpy(pkt, data + pos, len);
        pos += len;
        LvcSeqHeader sh = {0};
        if (len > 0 && pkt[0] == 'L' && lvc_sh_read(&sh, pkt, len) > 0)
            memcpy(pkt + 6, info.id, LVC_MODEL_ID_SIZE); /* FORMAT.md §1.1 offset 6 */
        int r = lvc_decoder_send_packet(dec, pkt, len, i);
        if (r == LVC_EAGAIN) {
            drain(dec);
            r = lvc_decoder_send_packet(dec, pkt, len, i);
        }
        if (r < 0 && r != LVC_EDATA && r != LVC_ENOREF && r != LVC_EUNSUPPORTED &&
            r != LVC_ENOMODEL && r != LVC_EINVAL && r != LVC_ENOMEM)
            abort();
        if (r == LVC_ENOMEM && (!sh.width || (long)sh.width * sh.height <= MAX_SAMPLES))
            abort(); /* only a sequence over max_pixels may run out of memory here */
        if (r < 0 && lvc_last_error()[0] == 0)
            abort(); /* every failure comes with a message */
        drain(dec);
    }
    lvc_decoder_send_packet(dec, NULL, 0, 0);
    drain(dec);
    lvc_decoder_close(dec);
    free(pkt);
    return 0;
}
