/* `lvc encode` (y4m → .lvc) and `lvc decode` (.lvc → y4m) with progress and summary lines.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lvc_codec.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "lvc/lvc.h"
#include "lvc_config.h"
#include "lvcfile.h"
#include "y4m.h"

const char lvc_encode_usage[] =
    "usage: lvc encode IN.y4m -o OUT.lvc [options]\n"
    "\n"
    "Encode a y4m file (8-bit 4:2:0, progressive; '-' reads standard input) into an .lvc\n"
    "stream at a constant qp, or at a target bitrate (--bitrate).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the .lvc file to write (required)\n"
    "  --qp N             quality 0..63, 0 = best (default 32; with --bitrate the first\n"
    "                     frame's qp is at least qp - 8)\n"
    "  --bitrate K        target bitrate in kbit/s (rate control; 0 = constant qp, default)\n"
    "  --vbv-ms M         rate control's leaky-bucket buffer in ms (default 1000)\n"
    "  --rate-change F:K  before frame F, change the target bitrate to K kbit/s through the\n"
    "                     API (lvc_encoder_set_bitrate; 0 = constant qp); repeatable\n"
    "  --key-int N        frames between key frames, 0 = only the first (default 256)\n"
    "  --refresh N        P-frames between feature refreshes, 0 = never (default 32)\n"
    "  --threads N        worker threads, 0 = one per CPU (default 0)\n"
    "  --backend B        auto (default: Vulkan on a GPU, else the CPU), cpu or vulkan; the\n"
    "                     Vulkan device: $LVC_VULKAN_DEVICE (index or name), else the best\n"
    "  --frames N         encode at most N frames\n"
    "  --seek N           skip the first N frames of the input\n"
    "  --model FILE       the .lvcm model (default: $LVC_MODEL, else models/default.lvcm of\n"
    "                     the source tree or the installed default.lvcm)\n"
    "  --recon FILE.y4m   also write the reconstruction (what a decoder outputs)\n"
    "  --quiet            no progress or summary lines\n"
    "  --verbose          also print the backend, the encoder's memory use and its time by\n"
    "                     stage (networks, transfers, entropy coding) and multiply-add rate\n"
    "  -h, --help         show this help\n"
    "\n"
    "On a terminal a progress line shows frame, fps, kbit/s and PSNR so far; a summary line\n"
    "ends the run (frames, kbit/s, PSNR-Y, PSNR-YUV = (6Y + U + V)/8, fps).\n"
    "Exit status: 0 on success, 1 on an error, 2 for a usage error.\n";

const char lvc_decode_usage[] =
    "usage: lvc decode IN.lvc -o OUT.y4m|- [options]\n"
    "\n"
    "Decode an .lvc stream into a y4m file ('-' writes standard output).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the y4m file to write (may be omitted with --md5)\n"
    "  --md5              print the MD5 of the decoded planes (Y, U, V rows of every frame)\n"
    "  --threads N        worker threads, 0 = one per CPU (default 0)\n"
    "  --backend B        auto (default), cpu or vulkan (as for encode)\n"
    "  --model FILE       the .lvcm model (default: the stream's model, looked up by its id\n"
    "                     along LVC_MODEL_PATH, the source tree's models/ and the install\n"
    "                     directory)\n"
    "  --quiet            no summary line\n"
    "  --verbose          also print the backend, the decoder's memory use and its time by\n"
    "                     stage\n"
    "  -h, --help         show this help\n"
    "\n"
    "Damaged frames are reported and skipped (P-frames after them until the next key frame);\n"
    "the exit status is then 1.\n";

static const char *errmsg(int err)
{
    const char *m = lvc_last_error();
    return m && m[0] ? m : lvc_strerror(err);
}

static int parse_int_arg(const char *cmd, const char *opt, const char *s, long lo, long hi,
                         int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || !*s || errno || *end || v < lo || v > hi) {
        fprintf(stderr, "lvc %s: %s needs an integer in %ld..%ld (got '%s')\n", cmd, opt, lo, hi,
                s ? s : "");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static FILE *open_in(const char *path)
{
    return strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

static int load_model(const char *cmd, const char *path, LvcModel **m)
{
    if (!path)
        path = getenv("LVC_MODEL");
    if (!path && file_exists(LVC_SOURCE_MODELS_DIR "/default.lvcm"))
        path = LVC_SOURCE_MODELS_DIR "/default.lvcm";
    if (!path && file_exists(LVC_MODEL_DIR "/default.lvcm"))
        path = LVC_MODEL_DIR "/default.lvcm";
    if (!path) {
        fprintf(stderr, "lvc %s: no model: give --model FILE or set LVC_MODEL (no "
                "models/default.lvcm was found)\n", cmd);
        return 2;
    }
    int r = lvc_model_load(path, m);
    if (r < 0) {
        fprintf(stderr, "lvc %s: cannot load model %s: %s\n", cmd, path, errmsg(r));
        return 1;
    }
    return 0;
}

int lvc_tool_log_info;

void lvc_tool_log(void *opaque, int level, const char *msg)
{
    (void)opaque;
    if (level <= LVC_LOG_WARNING)
        fprintf(stderr, "lvc: %s: %s\n", level == LVC_LOG_ERROR ? "error" : "warning", msg);
    else if (lvc_tool_log_info)
        fprintf(stderr, "lvc: %s\n", msg);
}

int lvc_parse_backend(const char *cmd, const char *v, int *backend)
{
    if (v && !strcmp(v, "auto"))
        *backend = LVC_BACKEND_AUTO;
    else if (v && !strcmp(v, "cpu"))
        *backend = LVC_BACKEND_CPU;
    else if (v && !strcmp(v, "vulkan"))
        *backend = LVC_BACKEND_VULKAN;
    else {
        fprintf(stderr, "lvc %s: --backend takes auto, cpu or vulkan\n", cmd);
        return -1;
    }
    return 0;
}

void lvc_print_timings(const char *who, int backend, const LvcTimings *t)
{
    const double n = t->frames ? (double)t->frames : 1.0;
    fprintf(stderr, "%s backend: %s\n", who, backend == LVC_BACKEND_VULKAN ? "vulkan" : "cpu");
    fprintf(stderr, "%s time per frame: total %.2f ms, networks %.2f ms (device %.2f ms), "
            "transfers %.2f ms, entropy coding %.2f ms, other %.2f ms; %.1f GMAC/s in the "
            "networks (%.2f GMAC per frame)\n", who, 1e3 * t->total_s / n,
            1e3 * t->network_s / n, 1e3 * t->device_s / n, 1e3 * t->transfer_s / n,
            1e3 * t->entropy_s / n,
            1e3 * (t->total_s - t->network_s - t->transfer_s - t->entropy_s) / n,
            t->network_s > 0 ? t->macs / t->network_s * 1e-9 : 0.0, t->macs / n * 1e-9);
}

int lvc_load_model(const char *cmd, const char *path, LvcModel **m)
{
    return load_model(cmd, path, m);
}

/* Sum of squared differences of one plane. */
static double plane_sse(const LvcPicture *a, const LvcPicture *b, int pl)
{
    int pw = pl ? (a->width + 1) / 2 : a->width, ph = pl ? (a->height + 1) / 2 : a->height;
    double sse = 0;
    for (int y = 0; y < ph; y++) {
        const uint8_t *ra = a->data[pl] + y * a->stride[pl], *rb = b->data[pl] + y * b->stride[pl];
        uint64_t s = 0;
        for (int x = 0; x < pw; x++) {
            int d = ra[x] - rb[x];
            s += (uint64_t)(d * d);
        }
        sse += (double)s;
    }
    return sse;
}

static double psnr(double sse, double n)
{
    if (sse <= 0)
        return 100.0;
    double v = 10.0 * log10(255.0 * 255.0 * n / sse);
    return v > 100.0 ? 100.0 : v;
}

int lvc_cmd_encode(int argc, char **argv)
{
    const char *in_path = NULL, *out_path = NULL, *model_path = NULL, *recon_path = NULL;
    int qp = 32, key_int = 256, refresh = 32, threads = 0, max_frames = -1, seek = 0;
    int bitrate = 0, vbv_ms = 1000;
    enum { MAX_RATE_CHANGES = 64 };
    int rc_frame[MAX_RATE_CHANGES], rc_kbps[MAX_RATE_CHANGES], n_rc = 0;
    int quiet = 0, verbose = 0, backend = LVC_BACKEND_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(lvc_encode_usage, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out_path = v;
            i++;
        } else if (!strcmp(a, "--qp")) {
            r = parse_int_arg("encode", a, v, 0, 63, &qp);
            i++;
        } else if (!strcmp(a, "--bitrate")) {
            r = parse_int_arg("encode", a, v, 0, 10000000, &bitrate);
            i++;
        } else if (!strcmp(a, "--rate-change")) {
            int f = -1, k = -1, used = 0;
            if (!v || sscanf(v, "%d:%d%n", &f, &k, &used) != 2 || v[used] || f < 0 || k < 0 ||
                k > 10000000 || n_rc == MAX_RATE_CHANGES) {
                fprintf(stderr, "lvc encode: --rate-change wants FRAME:KBPS (at most %d), "
                        "not '%s'\n", MAX_RATE_CHANGES, v ? v : "");
                return 2;
            }
            rc_frame[n_rc] = f;
            rc_kbps[n_rc++] = k;
            i++;
        } else if (!strcmp(a, "--vbv-ms")) {
            r = parse_int_arg("encode", a, v, 1, 600000, &vbv_ms);
            i++;
        } else if (!strcmp(a, "--key-int")) {
            r = parse_int_arg("encode", a, v, 0, INT_MAX, &key_int);
            i++;
        } else if (!strcmp(a, "--refresh")) {
            r = parse_int_arg("encode", a, v, 0, INT_MAX, &refresh);
            i++;
        } else if (!strcmp(a, "--threads")) {
            r = parse_int_arg("encode", a, v, 0, 64, &threads);
            i++;
        } else if (!strcmp(a, "--backend")) {
            r = lvc_parse_backend("encode", v, &backend);
            i++;
        } else if (!strcmp(a, "--frames")) {
            r = parse_int_arg("encode", a, v, 0, INT_MAX, &max_frames);
            i++;
        } else if (!strcmp(a, "--seek")) {
            r = parse_int_arg("encode", a, v, 0, INT_MAX, &seek);
            i++;
        } else if (!strcmp(a, "--model")) {
            model_path = v;
            i++;
        } else if (!strcmp(a, "--recon")) {
            recon_path = v;
            i++;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--verbose")) {
            verbose = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "lvc encode: unknown option '%s' (see 'lvc help encode')\n", a);
            return 2;
        } else if (!in_path) {
            in_path = a;
        } else {
            fprintf(stderr, "lvc encode: more than one input file\n");
            return 2;
        }
        if (r < 0)
            return 2;
        if (i >= argc) {
            fprintf(stderr, "lvc encode: %s needs a value\n", a);
            return 2;
        }
    }
    if (!in_path || !out_path) {
        fprintf(stderr, "lvc encode: %s (see 'lvc help encode')\n",
                !in_path ? "no input file given" : "no output file given (-o)");
        return 2;
    }
    LvcModel *model = NULL;
    int ret = load_model("encode", model_path, &model);
    if (ret)
        return ret;
    FILE *in = NULL, *out = NULL, *recf = NULL;
    LvcEncoder *enc = NULL;
    LvcFileWriter *fw = NULL;
    LvcPicture *pic = NULL;
    char err[256];
    Y4mInfo yi;
    ret = 1;
    if (!(in = open_in(in_path))) {
        fprintf(stderr, "lvc encode: cannot open %s: %s\n", in_path, strerror(errno));
        goto done;
    }
    if (y4m_read_header(in, &yi, err, sizeof(err)) < 0) {
        fprintf(stderr, "lvc encode: %s: %s\n", in_path, err);
        goto done;
    }
    for (int i = 0; i < seek; i++) {
        int r = y4m_read_frame(in, &yi, NULL, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "lvc encode: %s: %s\n", in_path, err);
            goto done;
        }
        if (r == 0)
            break;
    }
    LvcEncoderSettings es;
    lvc_encoder_settings_default(&es);
    es.width = yi.width;
    es.height = yi.height;
    es.fps_num = yi.fps_num;
    es.fps_den = yi.fps_den;
    es.par_num = yi.par_num;
    es.par_den = yi.par_den;
    es.color.range = (uint8_t)yi.range;
    es.qp = qp;
    es.bitrate_kbps = bitrate;
    es.vbv_ms = vbv_ms;
    es.key_int_max = key_int;
    es.refresh_period = refresh;
    es.threads = threads;
    es.backend = backend;
    es.want_recon = 1;
    lvc_tool_log_info = verbose;
    int r = lvc_encoder_open(&enc, model, &es);
    if (r < 0) {
        fprintf(stderr, "lvc encode: %s\n", errmsg(r));
        goto done;
    }
    if ((r = lvc_picture_alloc(yi.width, yi.height, NULL, &pic)) < 0) {
        fprintf(stderr, "lvc encode: %s\n", errmsg(r));
        goto done;
    }
    if (!(out = fopen(out_path, "wb"))) {
        fprintf(stderr, "lvc encode: cannot create %s: %s\n", out_path, strerror(errno));
        goto done;
    }
    const int fps_known = yi.fps_num > 0 && yi.fps_den > 0;
    LvcFileHeader fh;
    lvc_file_header_init(&fh, yi.width, yi.height, fps_known ? (uint32_t)yi.fps_den : 1u,
                         fps_known ? (uint32_t)yi.fps_num : 25u);
    if ((r = lvc_file_writer_open(&fw, out, &fh)) < 0) {
        fprintf(stderr, "lvc encode: %s: %s\n", out_path, errmsg(r));
        goto done;
    }
    if (recon_path) {
        if (!(recf = fopen(recon_path, "wb")) || y4m_write_header(recf, &yi) < 0) {
            fprintf(stderr, "lvc encode: cannot write %s\n", recon_path);
            goto done;
        }
    }
    const double fps_rate = fps_known ? (double)yi.fps_num / yi.fps_den : 25.0;
    const int tty = !quiet && isatty(fileno(stderr));
    const double n_y = (double)yi.width * yi.height;
    const double n_c = (double)((yi.width + 1) / 2) * ((yi.height + 1) / 2);
    double t0 = now_s(), sum_y = 0, sum_yuv = 0;
    uint64_t bytes = 0;
    int frames = 0;
    for (;;) {
        if (max_frames >= 0 && frames >= max_frames)
            break;
        r = y4m_read_frame(in, &yi, pic, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "%slvc encode: %s: %s\n", tty ? "\n" : "", in_path, err);
            goto done;
        }
        if (r == 0)
            break;
        pic->pts = frames;
        for (int k = 0; k < n_rc; k++)
            if (rc_frame[k] == frames && (r = lvc_encoder_set_bitrate(enc, rc_kbps[k])) < 0) {
                fprintf(stderr, "%slvc encode: frame %d: %s\n", tty ? "\n" : "", frames,
                        errmsg(r));
                goto done;
            }
        LvcPacket pkt;
        if ((r = lvc_encoder_send_picture(enc, pic)) < 0 ||
            (r = lvc_encoder_receive_packet(enc, &pkt)) < 0) {
            fprintf(stderr, "%slvc encode: frame %d: %s\n", tty ? "\n" : "", frames, errmsg(r));
            goto done;
        }
        r = lvc_file_writer_write(fw, pkt.data, pkt.size, pkt.pts);
        bytes += pkt.size;
        lvc_packet_clear(&pkt);
        if (r < 0) {
            fprintf(stderr, "lvc encode: %s: %s\n", out_path, errmsg(r));
            goto done;
        }
        LvcPicture *rec = NULL;
        if ((r = lvc_encoder_receive_recon(enc, &rec)) < 0) {
            fprintf(stderr, "lvc encode: %s\n", errmsg(r));
            goto done;
        }
        double py = psnr(plane_sse(pic, rec, 0), n_y), pu = psnr(plane_sse(pic, rec, 1), n_c),
               pv = psnr(plane_sse(pic, rec, 2), n_c);
        sum_y += py;
        sum_yuv += (6 * py + pu + pv) / 8;
        if (recf && y4m_write_frame(recf, rec) < 0) {
            lvc_picture_unref(rec);
            fprintf(stderr, "lvc encode: cannot write %s\n", recon_path);
            goto done;
        }
        lvc_picture_unref(rec);
        frames++;
        if (tty) {
            double el = now_s() - t0;
            fprintf(stderr, "\rframe %d  %.2f fps  %.1f kbit/s  PSNR-Y %.2f dB   ", frames,
                    el > 0 ? frames / el : 0.0, bytes * 8.0 * fps_rate / frames / 1000.0,
                    sum_y / frames);
        }
    }
    double el = now_s() - t0;
    if (tty)
        fputc('\n', stderr);
    if (!quiet && frames > 0)
        fprintf(stderr, "encoded %d frames, %.1f kbit/s, PSNR-Y %.3f dB, PSNR-YUV %.3f dB, "
                "%.2f fps\n", frames, bytes * 8.0 * fps_rate / frames / 1000.0, sum_y / frames,
                sum_yuv / frames, el > 0 ? frames / el : 0.0);
    else if (!quiet)
        fprintf(stderr, "encoded 0 frames\n");
    if (verbose) {
        LvcTimings t;
        fprintf(stderr, "encoder memory: %zu bytes\n", lvc_encoder_memory(enc));
        if (lvc_encoder_get_timings(enc, &t) == 0)
            lvc_print_timings("encoder", lvc_encoder_get_backend(enc), &t);
    }
    ret = 0;
done:
    if (fw && lvc_file_writer_close(fw) < 0 && ret == 0) {
        fprintf(stderr, "lvc encode: %s: %s\n", out_path, errmsg(LVC_EIO));
        ret = 1;
    }
    if (out && fclose(out) != 0 && ret == 0)
        ret = 1;
    if (recf && fclose(recf) != 0 && ret == 0)
        ret = 1;
    if (in && in != stdin)
        fclose(in);
    lvc_picture_unref(pic);
    lvc_encoder_close(enc);
    lvc_model_unref(model);
    return ret;
}

int lvc_cmd_decode(int argc, char **argv)
{
    const char *in_path = NULL, *out_path = NULL, *model_path = NULL;
    int threads = 0, want_md5 = 0, quiet = 0, verbose = 0, backend = LVC_BACKEND_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(lvc_decode_usage, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out_path = v;
            i++;
        } else if (!strcmp(a, "--threads")) {
            r = parse_int_arg("decode", a, v, 0, 64, &threads);
            i++;
        } else if (!strcmp(a, "--backend")) {
            r = lvc_parse_backend("decode", v, &backend);
            i++;
        } else if (!strcmp(a, "--model")) {
            model_path = v;
            i++;
        } else if (!strcmp(a, "--md5")) {
            want_md5 = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--verbose")) {
            verbose = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "lvc decode: unknown option '%s' (see 'lvc help decode')\n", a);
            return 2;
        } else if (!in_path) {
            in_path = a;
        } else {
            fprintf(stderr, "lvc decode: more than one input file\n");
            return 2;
        }
        if (r < 0)
            return 2;
        if (i >= argc) {
            fprintf(stderr, "lvc decode: %s needs a value\n", a);
            return 2;
        }
    }
    if (!in_path || (!out_path && !want_md5)) {
        fprintf(stderr, "lvc decode: %s (see 'lvc help decode')\n",
                !in_path ? "no input file given" : "no output given (-o FILE, or --md5)");
        return 2;
    }
    LvcModel *model = NULL;
    if (!model_path) {
        /* The stream's model is looked up by its id along LVC_MODEL_PATH, then the source
         * tree's models/ (models named <id>.lvcm), then the install directory. */
        const char *mp = getenv("LVC_MODEL_PATH");
        char *path = malloc((mp ? strlen(mp) + 1 : 0) + sizeof(LVC_SOURCE_MODELS_DIR));
        if (!path) {
            fprintf(stderr, "lvc decode: out of memory\n");
            return 1;
        }
        sprintf(path, "%s%s%s", mp ? mp : "", mp && *mp ? ":" : "", LVC_SOURCE_MODELS_DIR);
        setenv("LVC_MODEL_PATH", path, 1);
        free(path);
    }
    if (model_path) {
        int r = lvc_model_load(model_path, &model);
        if (r < 0) {
            fprintf(stderr, "lvc decode: cannot load model %s: %s\n", model_path, errmsg(r));
            return 1;
        }
    }
    int ret = 1, errors = 0;
    FILE *in = NULL, *out = NULL;
    LvcFileReader *fr = NULL;
    LvcDecoder *dec = NULL;
    Y4mMd5 md5;
    y4m_md5_init(&md5);
    const int to_stdout = out_path && !strcmp(out_path, "-");
    if (!(in = open_in(in_path))) {
        fprintf(stderr, "lvc decode: cannot open %s: %s\n", in_path, strerror(errno));
        goto done;
    }
    int r = lvc_file_reader_open(&fr, in);
    if (r < 0) {
        fprintf(stderr, "lvc decode: %s: %s\n", in_path, errmsg(r));
        goto done;
    }
    const LvcFileHeader *fh = lvc_file_reader_header(fr);
    LvcDecoderSettings ds;
    lvc_decoder_settings_default(&ds);
    ds.model = model;
    ds.threads = threads;
    ds.backend = backend;
    lvc_tool_log_info = verbose;
    if ((r = lvc_decoder_open(&dec, &ds)) < 0) {
        fprintf(stderr, "lvc decode: %s\n", errmsg(r));
        goto done;
    }
    if (out_path && !(out = to_stdout ? stdout : fopen(out_path, "wb"))) {
        fprintf(stderr, "lvc decode: cannot create %s: %s\n", out_path, strerror(errno));
        goto done;
    }
    double t0 = now_s();
    uint64_t bytes = 0;
    int frames = 0, index = 0, header_written = 0;
    for (;; index++) {
        const uint8_t *data;
        size_t size;
        int64_t pts;
        r = lvc_file_reader_read(fr, &data, &size, &pts);
        if (r == LVC_EOF)
            break;
        if (r < 0) {
            fprintf(stderr, "lvc decode: %s: %s\n", in_path, errmsg(r));
            errors++;
            break;
        }
        bytes += size;
        r = lvc_decoder_send_packet(dec, data, size, pts);
        if (r < 0) {
            fprintf(stderr, "lvc decode: frame %d: %s\n", index, errmsg(r));
            errors++;
            continue;
        }
        LvcPicture *pic = NULL;
        if ((r = lvc_decoder_receive_picture(dec, &pic)) < 0) {
            fprintf(stderr, "lvc decode: frame %d: %s\n", index, errmsg(r));
            errors++;
            continue;
        }
        if (out && !header_written) {
            Y4mInfo yi;
            memset(&yi, 0, sizeof(yi));
            yi.width = pic->width;
            yi.height = pic->height;
            if (fh->tb_num <= 65535 && fh->tb_den <= INT_MAX) {
                yi.fps_num = (int)fh->tb_den;
                yi.fps_den = (int)fh->tb_num;
            }
            yi.par_num = pic->par_num;
            yi.par_den = pic->par_den;
            yi.range = pic->color.range;
            if (y4m_write_header(out, &yi) < 0) {
                lvc_picture_unref(pic);
                fprintf(stderr, "lvc decode: cannot write %s\n", out_path);
                goto done;
            }
            header_written = 1;
        }
        if (out && y4m_write_frame(out, pic) < 0) {
            lvc_picture_unref(pic);
            fprintf(stderr, "lvc decode: cannot write %s\n", out_path);
            goto done;
        }
        if (want_md5)
            y4m_md5_picture(&md5, pic);
        lvc_picture_unref(pic);
        frames++;
    }
    double el = now_s() - t0;
    if (want_md5) {
        uint8_t dig[16];
        y4m_md5_final(&md5, dig);
        FILE *mo = to_stdout ? stderr : stdout;
        fprintf(mo, "md5 ");
        for (int i = 0; i < 16; i++)
            fprintf(mo, "%02x", dig[i]);
        fprintf(mo, "\n");
    }
    if (!quiet) {
        double secs = (double)index * fh->tb_num / fh->tb_den;
        fprintf(stderr, "decoded %d frames (%d errors), %.1f kbit/s, %.2f fps\n", frames, errors,
                secs > 0 ? bytes * 8.0 / secs / 1000.0 : 0.0, el > 0 ? frames / el : 0.0);
    }
    if (verbose) {
        LvcTimings t;
        fprintf(stderr, "decoder memory: %zu bytes\n", lvc_decoder_memory(dec));
        if (lvc_decoder_get_timings(dec, &t) == 0)
            lvc_print_timings("decoder", lvc_decoder_get_backend(dec), &t);
    }
    ret = errors ? 1 : 0;
done:
    if (out && out != stdout && fclose(out) != 0)
        ret = 1;
    if (out == stdout && fflush(stdout) != 0)
        ret = 1;
    lvc_file_reader_close(fr);
    if (in && in != stdin)
        fclose(in);
    lvc_decoder_close(dec);
    lvc_model_unref(model);
    return ret;
}
