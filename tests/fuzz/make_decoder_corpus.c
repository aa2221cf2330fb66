/* Writes the seed corpus of fuzz_decoder: short streams coded with the fuzz target's small
 * random model, as u16-length-prefixed packets.
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -Icodec/include -Icodec/src -Ibuild/codec \
 *      tests/fuzz/make_decoder_corpus.c build/codec/liblvc_internal.a -lm -lpthread \
 *      -o /tmp/make_decoder_corpus && /tmp/make_decoder_corpus tests/fuzz/corpus/fuzz_decoder */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvc/lvc.h"
#include "model_write.h"

static void fill(LvcPicture *pic, int t)
{
    for (int p = 0; p < 3; p++) {
        int w = p ? (pic->width + 1) / 2 : pic->width, h = p ? (pic->height + 1) / 2 : pic->height;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                pic->data[p][y * pic->stride[p] + x] =
                    (uint8_t)(p ? 128 + ((x * 3 + y + t) & 31) : ((x + 2 * t) * 7 + y * 5) & 255);
    }
}

static int write_stream(const char *dir, LvcModel *model, int w, int h, int n, int key_int,
                        int refresh)
{
    LvcEncoderSettings s;
    lvc_encoder_settings_default(&s);
    s.width = w;
    s.height = h;
    s.key_int_max = key_int;
    s.refresh_period = refresh;
    s.threads = 1;
    LvcEncoder *enc = NULL;
    if (lvc_encoder_open(&enc, model, &s) < 0)
        return -1;
    char path[512];
    snprintf(path, sizeof(path), "%s/stream_%dx%d_k%d_r%d", dir, w, h, key_int, refresh);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    for (int t = 0; t < n; t++) {
        LvcPicture *pic = NULL;
        if (lvc_picture_alloc(w, h, NULL, &pic) < 0)
            return -1;
        fill(pic, t);
        if (lvc_encoder_send_picture(enc, pic) < 0)
            return -1;
        lvc_picture_unref(pic);
        LvcPacket pkt;
        while (lvc_encoder_receive_packet(enc, &pkt) == 0) {
            if (pkt.size > 65535)
                return -1;
            uint8_t len[2] = {(uint8_t)pkt.size, (uint8_t)(pkt.size >> 8)};
            fwrite(len, 1, 2, f);
            fwrite(pkt.data, 1, pkt.size, f);
            lvc_packet_clear(&pkt);
        }
    }
    fclose(f);
    lvc_encoder_close(enc);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    LvcTestModelOptions opt = {.with_inter = 1, .seed = 1, .small = 1};
    LvcModelWriter *mw = NULL;
    uint8_t *bytes = NULL;
    size_t n = 0;
    LvcModel *model = NULL;
    if (lvc_mw_build_test_model(&opt, &mw) < 0 || lvc_mw_serialize(mw, &bytes, &n) < 0 ||
        lvc_model_load_memory(bytes, n, &model) < 0) {
        fprintf(stderr, "model: %s\n", lvc_last_error());
        return 1;
    }
    int r = 0;
    r |= write_stream(argv[1], model, 16, 16, 4, 256, 2);
    r |= write_stream(argv[1], model, 33, 17, 5, 3, 0);
    r |= write_stream(argv[1], model, 64, 48, 3, 256, 1);
    r |= write_stream(argv[1], model, 2, 2, 3, 2, 1);
    if (r)
        fprintf(stderr, "failed: %s\n", lvc_last_error());
    lvc_model_unref(model);
    lvc_mw_free(mw);
    free(bytes);
    return r ? 1 : 0;
}
