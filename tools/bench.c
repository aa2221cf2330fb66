/* `lvc bench`: lvc against the x264 / x265 anchors on the same frames (rate-distortion table,
 * BD-rate, CSV, SVG plot), and `lvc compare`: quality of one y4m file against another.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bdrate.h"
#include "lvc_codec.h"
#include "metrics.h"
#include "y4m.h"
#ifdef LVC_HAVE_ANCHORS
#include "anchors.h"
#endif

const char lvc_bench_usage[] =
    "usage: lvc bench IN... [options]\n"
    "\n"
    "Code the same frames of each IN with lvc over a set of qps and with the x264 / x265\n"
    "anchors over a CRF sweep; print a table per clip (codec, qp/CRF, kbit/s, bits per pixel,\n"
    "PSNR-Y, PSNR-YUV = mean of per-frame (6 Y + U + V) / 8, MS-SSIM-Y, encode and decode fps)\n"
    "and the BD-rate (PSNR-YUV) of lvc against each anchor, and its average over the clips.\n"
    "IN is y4m (8-bit 4:2:0) or, when built with libavformat, anything it opens (e.g. the FFV1\n"
    ".mkv evaluation clips), converted to I420.\n"
    "\n"
    "Anchors (low delay): -preset P -tune psnr -crf N, infinite key-frame interval, no scene\n"
    "cut, no B-frames (x264-params keyint=infinite:scenecut=0:bframes=0, x265-params\n"
    "keyint=-1:scenecut=0:bframes=0), decoded by libavcodec.  lvc: one I-frame, then P-frames.\n"
    "\n"
    "options:\n"
    "  --frames N        frames per clip (default 32)\n"
    "  --qps LIST        lvc qps, comma-separated (default 8,16,24,32,40,48,56; extended when\n"
    "                    lvc's PSNR range overlaps the anchors' by less than 2 dB)\n"
    "  --crfs LIST       anchor CRFs (default 20,24,28,32,36,40)\n"
    "  --anchors LIST    x264,x265 (default), a subset, or 'none'\n"
    "  --preset P        anchor preset (default medium)\n"
    "  --intra           every frame an I-frame: lvc key-int 1, anchors keyint=1 (all intra);\n"
    "                    what an intra-only model is benchmarked with\n"
    "  --no-lvc          anchors only\n"
    "  --speed           speed only: lvc at qp 32 and the anchors at CRF 28, no BD-rate\n"
    "  --no-msssim       skip MS-SSIM (faster)\n"
    "  --csv FILE        write every rate-distortion point as CSV\n"
    "  --plot FILE.svg   write the RD plots (PSNR-YUV against kbit/s, log scale; one per clip)\n"
    "  --backend B       backend of lvc's coders: auto (default), cpu or vulkan\n"
    "  --threads N       threads of every coder, 0 = automatic (default 0).  x264 and x265\n"
    "                    with several threads vary slightly from run to run (~0.5 % of the\n"
    "                    bits of a point); --threads 1 gives reproducible anchors, equal to\n"
    "                    the ffmpeg command line's with -threads 1 (tests/test_anchors.sh)\n"
    "  --model FILE      the .lvcm model (default as for lvc encode)\n"
    "  --quiet           no progress lines\n"
    "  -h, --help        show this help\n"
    "\n"
    "Speeds exclude reading, metrics and I/O.  Exit status: 0, 1 on an error, 2 for usage.\n";

const char lvc_compare_usage[] =
    "usage: lvc compare REF.y4m TEST.y4m [--frames N] [--no-msssim]\n"
    "\n"
    "Print the mean per-frame PSNR-Y, PSNR-U, PSNR-V, PSNR-YUV ((6 Y + U + V) / 8) and\n"
    "MS-SSIM-Y of TEST against REF (the metrics of lvc bench), over the frames both have.\n";

#define MAX_POINTS 64
#define MAX_CLIPS 64

void bench_finish_point(RdPoint *p, const BenchClip *clip)
{
    double fps = clip->fps_num > 0 && clip->fps_den > 0 ? (double)clip->fps_num / clip->fps_den
                                                         : 25.0;
    p->kbps = p->frames ? p->bits * fps / p->frames / 1000 : 0;
    p->bpp = p->frames ? p->bits / ((double)p->frames * clip->width * clip->height) : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *errmsg(int err)
{
    const char *m = lvc_last_error();
    return m && m[0] ? m : lvc_strerror(err);
}

static void clip_free(BenchClip *c)
{
    for (int i = 0; c->frames && i < c->n; i++)
        lvc_picture_unref(c->frames[i]);
    free(c->frames);
    memset(c, 0, sizeof(*c));
}

static int chroma_loc_of(const char *tag)
{
    if (!tag[0])
        return 0;
    if (!strcmp(tag, "420mpeg2"))
        return 1;
    if (!strcmp(tag, "420paldv"))
        return 3;
    return 2; /* 420, 420jpeg */
}

static int is_y4m(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : NULL;
    if (!f)
        return !strcmp(path, "-");
    char m[10] = {0};
    size_t n = fread(m, 1, 9, f);
    fclose(f);
    return n == 9 && !memcmp(m, "YUV4MPEG2", 9);
}

static int read_y4m_clip(const char *path, int max_frames, BenchClip *clip, char *err,
                         size_t n)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        snprintf(err, n, "%s", strerror(errno));
        return -1;
    }
    Y4mInfo yi;
    int ret = -1;
    if (y4m_read_header(f, &yi, err, n) < 0)
        goto done;
    clip->width = yi.width;
    clip->height = yi.height;
    clip->fps_num = yi.fps_num;
    clip->fps_den = yi.fps_den;
    clip->par_num = yi.par_num;
    clip->par_den = yi.par_den;
    clip->chroma_loc = chroma_loc_of(yi.chroma);
    clip->range = yi.range;
    while (max_frames < 0 || clip->n < max_frames) {
        LvcPicture *pic;
        if (lvc_picture_alloc(yi.width, yi.height, NULL, &pic) < 0) {
            snprintf(err, n, "out of memory");
            goto done;
        }
        int r = y4m_read_frame(f, &yi, pic, err, n);
        if (r <= 0) {
            lvc_picture_unref(pic);
            if (r < 0)
                goto done;
            break;
        }
        pic->pts = clip->n;
        LvcPicture **nf = realloc(clip->frames, (size_t)(clip->n + 1) * sizeof(*nf));
        if (!nf) {
            lvc_picture_unref(pic);
            snprintf(err, n, "out of memory");
            goto done;
        }
        clip->frames = nf;
        clip->frames[clip->n++] = pic;
    }
    if (clip->n == 0) {
        snprintf(err, n, "no frames");
        goto done;
    }
    ret = 0;
done:
    if (f != stdin)
        fclose(f);
    return ret;
}

static int read_clip(const char *path, int max_frames, BenchClip *clip, char *err, size_t n)
{
    memset(clip, 0, sizeof(*clip));
    const char *base = strrchr(path, '/');
    snprintf(clip->name, sizeof(clip->name), "%s", base ? base + 1 : path);
    if (is_y4m(path)) {
        int r = read_y4m_clip(path, max_frames, clip, err, n);
#ifdef LVC_HAVE_ANCHORS
        if (r < 0 && strcmp(path, "-")) { /* e.g. 4:2:2 or 10-bit y4m: libavformat converts */
            char name[256];
            memcpy(name, clip->name, sizeof(name));
            clip_free(clip);
            memcpy(clip->name, name, sizeof(name));
            return anchor_read_clip(path, max_frames, clip, err, n);
        }
#endif
        return r;
    }
#ifdef LVC_HAVE_ANCHORS
    return anchor_read_clip(path, max_frames, clip, err, n);
#else
    snprintf(err, n, "not a y4m file (this lvc is built without libavformat input)");
    return -1;
#endif
}

/* ---- lvc ----------------------------------------------------------------------------------- */

static int lvc_backend = LVC_BACKEND_AUTO; /* --backend */

static int lvc_point(LvcModel *model, const BenchClip *clip, int qp, int intra, int threads,
                     int with_msssim, RdPoint *out)
{
    LvcEncoderSettings es;
    lvc_encoder_settings_default(&es);
    es.width = clip->width;
    es.height = clip->height;
    es.fps_num = clip->fps_num;
    es.fps_den = clip->fps_den;
    es.par_num = clip->par_num;
    es.par_den = clip->par_den;
    es.color.range = (uint8_t)clip->range;
    es.qp = qp;
    es.key_int_max = intra ? 1 : 0;
    es.threads = threads;
    es.backend = lvc_backend;
    LvcEncoder *enc = NULL;
    LvcDecoder *dec = NULL;
    LvcPacket *pkts = calloc((size_t)clip->n, sizeof(*pkts));
    int ret = -1, r, n_pkts = 0;
    if (!pkts) {
        fprintf(stderr, "lvc bench: out of memory\n");
        return -1;
    }
    double t0 = now_s(), bits = 0;
    if ((r = lvc_encoder_open(&enc, model, &es)) < 0)
        goto fail;
    for (int i = 0; i < clip->n; i++) {
        if ((r = lvc_encoder_send_picture(enc, clip->frames[i])) < 0 ||
            (r = lvc_encoder_receive_packet(enc, &pkts[i])) < 0)
            goto fail;
        n_pkts++;
        bits += (double)pkts[i].size * 8;
    }
    double t_enc = now_s() - t0;
    LvcDecoderSettings ds;
    lvc_decoder_settings_default(&ds);
    ds.model = model;
    ds.threads = threads;
    ds.backend = lvc_backend;
    double t_dec = 0, sum[5] = {0};
    t0 = now_s();
    if ((r = lvc_decoder_open(&dec, &ds)) < 0)
        goto fail;
    for (int i = 0; i < clip->n; i++) {
        double t1 = now_s();
        LvcPicture *pic = NULL;
        if ((r = lvc_decoder_send_packet(dec, pkts[i].data, pkts[i].size, pkts[i].pts)) < 0 ||
            (r = lvc_decoder_receive_picture(dec, &pic)) < 0)
            goto fail;
        t_dec += now_s() - t1;
        FrameMetrics m;
        r = metrics_frame(clip->frames[i], pic, with_msssim, &m);
        lvc_picture_unref(pic);
        if (r < 0) {
            r = LVC_ENOMEM;
            goto fail;
        }
        sum[0] += m.psnr[0];
        sum[1] += m.psnr[1];
        sum[2] += m.psnr[2];
        sum[3] += m.psnr_yuv;
        sum[4] += m.msssim_y;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->codec, sizeof(out->codec), "lvc");
    out->setting = qp;
    out->frames = clip->n;
    out->bits = bits;
    for (int p = 0; p < 3; p++)
        out->psnr[p] = sum[p] / clip->n;
    out->psnr_yuv = sum[3] / clip->n;
    out->msssim_y = sum[4] / clip->n;
    out->enc_fps = t_enc > 0 ? clip->n / t_enc : 0;
    out->dec_fps = t_dec > 0 ? clip->n / t_dec : 0;
    bench_finish_point(out, clip);
    ret = 0;
    goto done;
fail:
    fprintf(stderr, "lvc bench: %s: lvc at qp %d: %s\n", clip->name, qp, errmsg(r));
done:
    for (int i = 0; i < n_pkts; i++)
        lvc_packet_clear(&pkts[i]);
    free(pkts);
    lvc_encoder_close(enc);
    lvc_decoder_close(dec);
    return ret;
}

/* ---- options ------------------------------------------------------------------------------- */

static int parse_list(const char *s, int *out, int max, int lo, int hi)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < lo || v > hi || n >= max || (*end && *end != ','))
            return -1;
        out[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return n;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || !*s || errno || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

typedef struct ClipResult {
    BenchClip clip; /* frames released after coding; name, size and rate kept */
    RdPoint pts[MAX_POINTS];
    int n;
} ClipResult;

static int cmp_setting(const void *a, const void *b)
{
    const RdPoint *x = a, *y = b;
    int c = strcmp(x->codec, y->codec);
    if (c)
        return c;
    /* lvc qp ascending, anchors CRF ascending: both from high to low quality */
    return x->setting - y->setting;
}

static void psnr_range(const ClipResult *cr, const char *codec, double *lo, double *hi,
                       int *count)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    *count = 0;
    for (int i = 0; i < cr->n; i++) {
        const RdPoint *p = &cr->pts[i];
        int match = codec ? !strcmp(p->codec, codec) : strcmp(p->codec, "lvc") != 0;
        if (!match)
            continue;
        *lo = fmin(*lo, p->psnr_yuv);
        *hi = fmax(*hi, p->psnr_yuv);
        (*count)++;
    }
}

/* BD-rate (PSNR-YUV) of a codec against an anchor; returns 0 with *v, or < 0 (bd_rate's codes,
 * -3 for missing points). */
static int clip_bd_of(const ClipResult *cr, const char *test, const char *anchor, double *v)
{
    double ra[MAX_POINTS], pa[MAX_POINTS], rt[MAX_POINTS], pt[MAX_POINTS];
    int na = 0, nt = 0;
    for (int i = 0; i < cr->n; i++) {
        const RdPoint *p = &cr->pts[i];
        if (!strcmp(p->codec, anchor)) {
            ra[na] = p->kbps;
            pa[na++] = p->psnr_yuv;
        } else if (!strcmp(p->codec, test)) {
            rt[nt] = p->kbps;
            pt[nt++] = p->psnr_yuv;
        }
    }
    if (na < 4 || nt < 4)
        return -3;
    return bd_rate(ra, pa, na, rt, pt, nt, v);
}

static int clip_bd(const ClipResult *cr, const char *anchor, double *v)
{
    return clip_bd_of(cr, "lvc", anchor, v);
}

static void print_table(const ClipResult *cr, const char *const *anchors, int n_anchors,
                        int with_lvc)
{
    const BenchClip *c = &cr->clip;
    printf("\n%s: %dx%d, %d frames at %.3f fps\n", c->name, c->width, c->height, c->n,
           c->fps_num > 0 && c->fps_den > 0 ? (double)c->fps_num / c->fps_den : 25.0);
    printf("  %-5s %6s %10s %8s %8s %9s %9s %9s %9s\n", "codec", "qp/crf", "kbit/s", "bpp",
           "PSNR-Y", "PSNR-YUV", "MS-SSIM-Y", "enc fps", "dec fps");
    for (int i = 0; i < cr->n; i++) {
        const RdPoint *p = &cr->pts[i];
        char ms[16];
        snprintf(ms, sizeof(ms), "-");
        if (!isnan(p->msssim_y))
            snprintf(ms, sizeof(ms), "%.5f", p->msssim_y);
        printf("  %-5s %6d %10.1f %8.4f %8.3f %9.3f %9s %9.2f %9.2f\n", p->codec, p->setting,
               p->kbps, p->bpp, p->psnr[0], p->psnr_yuv, ms, p->enc_fps, p->dec_fps);
    }
    double v;
    if (n_anchors == 2 && clip_bd_of(cr, anchors[1], anchors[0], &v) == 0)
        printf("  BD-rate (PSNR-YUV) %s vs %s: %+.2f %% (for reference)\n", anchors[1], anchors[0],
               v);
    for (int a = 0; with_lvc && a < n_anchors; a++) {
        int r = clip_bd(cr, anchors[a], &v);
        if (r == 0)
            printf("  BD-rate (PSNR-YUV) lvc vs %s: %+.2f %%\n", anchors[a], v);
        else if (r == -2)
            printf("  BD-rate (PSNR-YUV) lvc vs %s: n/a (the PSNR ranges do not overlap)\n",
                   anchors[a]);
        else if (r != -3)
            printf("  BD-rate (PSNR-YUV) lvc vs %s: n/a (the curves cannot be fitted)\n",
                   anchors[a]);
    }
}

static int write_csv(const char *path, const ClipResult *res, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "lvc bench: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "clip,width,height,frames,fps,codec,setting,bits,kbps,bpp,psnr_y,psnr_u,psnr_v,"
               "psnr_yuv,msssim_y,enc_fps,dec_fps\n");
    for (int c = 0; c < n; c++) {
        const BenchClip *cl = &res[c].clip;
        double fps = cl->fps_num > 0 && cl->fps_den > 0 ? (double)cl->fps_num / cl->fps_den : 25;
        for (int i = 0; i < res[c].n; i++) {
            const RdPoint *p = &res[c].pts[i];
            char ms[16];
            ms[0] = 0;
            if (!isnan(p->msssim_y))
                snprintf(ms, sizeof(ms), "%.6f", p->msssim_y);
            fprintf(f, "%s,%d,%d,%d,%.6g,%s,%d,%.0f,%.4f,%.6f,%.6f,%.6f,%.6f,%.6f,%s,%.3f,%.3f\n",
                    cl->name, cl->width, cl->height, p->frames, fps, p->codec, p->setting,
                    p->bits, p->kbps, p->bpp, p->psnr[0], p->psnr[1], p->psnr[2], p->psnr_yuv,
                    ms, p->enc_fps, p->dec_fps);
        }
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "lvc bench: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- SVG plot ------------------------------------------------------------------------------ */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

static const char *codec_color(const char *codec)
{
    if (!strcmp(codec, "lvc"))
        return "#d62728";
    if (!strcmp(codec, "x264"))
        return "#1f77b4";
    if (!strcmp(codec, "x265"))
        return "#2ca02c";
    return "#7f7f7f";
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving about n intervals over span. */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

#define PW 560
#define PH 400
#define ML 70
#define MR 20
#define MT 40
#define MB 56

static void plot_panel(FILE *f, const ClipResult *cr, double ox, double oy)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < cr->n; i++) {
        const RdPoint *p = &cr->pts[i];
        if (!(p->kbps > 0))
            continue;
        xmin = fmin(xmin, p->kbps);
        xmax = fmax(xmax, p->kbps);
        ymin = fmin(ymin, p->psnr_yuv);
        ymax = fmax(ymax, p->psnr_yuv);
    }
    fprintf(f, "<g transform=\"translate(%.0f,%.0f)\">\n", ox, oy);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", PW, PH);
    fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" "
               "font-weight=\"bold\">", PW / 2);
    xml_text(f, cr->clip.name);
    fprintf(f, " (%dx%d, %d frames)</text>\n", cr->clip.width, cr->clip.height, cr->clip.n);
    if (!isfinite(xmin)) {
        fprintf(f, "</g>\n");
        return;
    }
    /* log x and linear y around the data with a margin; y ticks at nice steps */
    double lx0 = log10(xmin), lx1 = log10(xmax);
    if (lx1 - lx0 < 0.3) {
        double mid = (lx0 + lx1) / 2;
        lx0 = mid - 0.15;
        lx1 = mid + 0.15;
    }
    double pad = (lx1 - lx0) * 0.05;
    lx0 -= pad;
    lx1 += pad;
    double ystep = nice_step(fmax(ymax - ymin, 1.0), 6);
    double y0 = floor((ymin - 0.02 * (ymax - ymin)) / ystep) * ystep;
    double y1 = ceil((ymax + 0.02 * (ymax - ymin)) / ystep) * ystep;
    if (y1 - y0 < ystep) {
        y0 -= ystep;
        y1 += ystep;
    }
    const double aw = PW - ML - MR, ah = PH - MT - MB;
#define SX(v) (ML + (log10(v) - lx0) / (lx1 - lx0) * aw)
#define SY(v) (MT + (1 - ((v) - y0) / (y1 - y0)) * ah)
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", ML, MT, aw, ah);
    /* x ticks: 1, 2, 5 × 10^k within the range */
    for (int e = (int)floor(lx0); e <= (int)ceil(lx1); e++) {
        static const int mant[3] = {1, 2, 5};
        for (int k = 0; k < 3; k++) {
            double v = mant[k] * pow(10, e), lv = log10(v);
            if (lv < lx0 - 1e-9 || lv > lx1 + 1e-9)
                continue;
            double x = SX(v);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>\n",
                    x, MT, x, MT + ah);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#333\"/>\n",
                    x, MT + ah, x, MT + ah + 5);
            fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"11\">%g"
                       "</text>\n", x, MT + ah + 18, v);
        }
    }
    for (double v = y0; v <= y1 + ystep * 1e-6; v += ystep) {
        double y = SY(v);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ML,
                y, ML + aw, y);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                ML - 5, y, ML, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%g</text>\n",
                ML - 8, y + 4, v);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">bitrate "
               "(kbit/s, log scale)</text>\n", ML + aw / 2, PH - 12);
    fprintf(f, "<text transform=\"translate(18,%.0f) rotate(-90)\" text-anchor=\"middle\" "
               "font-size=\"12\">PSNR-YUV (dB)</text>\n", MT + ah / 2);
    /* one polyline with markers per codec */
    const char *seen[8];
    int n_seen = 0;
    for (int i = 0; i < cr->n; i++) {
        const char *codec = cr->pts[i].codec;
        int dup = 0;
        for (int k = 0; k < n_seen; k++)
            dup |= !strcmp(seen[k], codec);
        if (dup || n_seen == 8)
            continue;
        seen[n_seen++] = codec;
        const char *col = codec_color(codec);
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (int j = 0; j < cr->n; j++)
            if (!strcmp(cr->pts[j].codec, codec) && cr->pts[j].kbps > 0)
                fprintf(f, "%.1f,%.1f ", SX(cr->pts[j].kbps), SY(cr->pts[j].psnr_yuv));
        fprintf(f, "\"/>\n");
        for (int j = 0; j < cr->n; j++)
            if (!strcmp(cr->pts[j].codec, codec) && cr->pts[j].kbps > 0)
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>%s "
                           "%d: %.1f kbit/s, %.2f dB</title></circle>\n", SX(cr->pts[j].kbps),
                        SY(cr->pts[j].psnr_yuv), col, codec, cr->pts[j].setting,
                        cr->pts[j].kbps, cr->pts[j].psnr_yuv);
    }
    /* legend in the corner of the axes with the fewest points */
    const double lw = 100, lh = 18.0 * n_seen + 6;
    double lx = ML + aw - lw - 10, ly = MT + ah - lh - 10;
    int best = INT_MAX;
    for (int corner = 0; corner < 4; corner++) {
        double cx = corner & 1 ? ML + 10 : ML + aw - lw - 10;
        double cy = corner & 2 ? MT + 10 : MT + ah - lh - 10;
        int cnt = 0;
        for (int j = 0; j < cr->n; j++) {
            if (!(cr->pts[j].kbps > 0))
                continue;
            double px = SX(cr->pts[j].kbps), py = SY(cr->pts[j].psnr_yuv);
            cnt += px > cx - 8 && px < cx + lw + 8 && py > cy - 8 && py < cy + lh + 8;
        }
        if (cnt < best) {
            best = cnt;
            lx = cx;
            ly = cy;
        }
    }
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"white\" "
               "stroke=\"#999\"/>\n", lx, ly, lw, lh);
    for (int k = 0; k < n_seen; k++) {
        double y = ly + 14 + 18.0 * k;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" "
                   "stroke-width=\"2\"/><circle cx=\"%.0f\" cy=\"%.0f\" r=\"3.5\" fill=\"%s\"/>\n",
                lx + 8, y - 4, lx + 32, y - 4, codec_color(seen[k]), lx + 20, y - 4,
                codec_color(seen[k]));
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">%s</text>\n", lx + 40, y,
                seen[k]);
    }
#undef SX
#undef SY
    fprintf(f, "</g>\n");
}

static int write_svg(const char *path, const ClipResult *res, int n, const char *model_name)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "lvc bench: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    int cols = n < 2 ? 1 : 2, rows = (n + cols - 1) / cols;
    int W = cols * PW, H = rows * PH + 30;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">lvc bench: "
               "PSNR-YUV against bitrate; lvc model ", W / 2);
    xml_text(f, model_name ? model_name : "-");
    fprintf(f, "</text>\n");
    for (int i = 0; i < n; i++)
        plot_panel(f, &res[i], (i % cols) * PW, 30 + (i / cols) * PH);
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "lvc bench: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- the command --------------------------------------------------------------------------- */

static void progress(int on, const char *clip, const char *codec, int setting)
{
    if (on) {
        fprintf(stderr, "\r\033[K%s: %s %d ...", clip, codec, setting);
        fflush(stderr);
    }
}

int lvc_cmd_bench(int argc, char **argv)
{
    int frames = 32, threads = 0, intra = 0, no_lvc = 0, speed = 0, quiet = 0, msssim = 1;
    int qps[MAX_POINTS] = {8, 16, 24, 32, 40, 48, 56}, n_qps = 7, qps_given = 0;
    int crfs[MAX_POINTS] = {20, 24, 28, 32, 36, 40}, n_crfs = 6;
    const char *anchors[2] = {"x264", "x265"};
    int n_anchors = 2;
    const char *csv = NULL, *plot = NULL, *model_path = NULL, *preset = "medium";
    const char *inputs[MAX_CLIPS];
    int n_in = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(lvc_bench_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--frames")) {
            bad = parse_int(v, 1, 1 << 20, &frames);
        } else if (!strcmp(a, "--backend")) {
            bad = lvc_parse_backend("bench", v, &lvc_backend) < 0;
        } else if (!strcmp(a, "--threads")) {
            bad = parse_int(v, 0, 64, &threads);
        } else if (!strcmp(a, "--qps")) {
            bad = (n_qps = parse_list(v ? v : "", qps, MAX_POINTS / 2, 0, 63)) < 1;
            qps_given = 1;
        } else if (!strcmp(a, "--crfs")) {
            bad = (n_crfs = parse_list(v ? v : "", crfs, MAX_POINTS / 4, 0, 51)) < 1;
        } else if (!strcmp(a, "--anchors")) {
            n_anchors = 0;
            if (!v)
                bad = 1;
            else if (strcmp(v, "none") && strcmp(v, "")) {
                if (strstr(v, "x264"))
                    anchors[n_anchors++] = "x264";
                if (strstr(v, "x265"))
                    anchors[n_anchors++] = "x265";
                char tmp[64];
                snprintf(tmp, sizeof(tmp), "%s", v);
                for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ","))
                    bad |= strcmp(t, "x264") && strcmp(t, "x265");
            }
        } else if (!strcmp(a, "--preset")) {
            preset = v;
            bad = !v;
        } else if (!strcmp(a, "--csv")) {
            csv = v;
            bad = !v;
        } else if (!strcmp(a, "--plot")) {
            plot = v;
            bad = !v;
        } else if (!strcmp(a, "--model")) {
            model_path = v;
            bad = !v;
        } else {
            takes = 0;
            if (!strcmp(a, "--intra"))
                intra = 1;
            else if (!strcmp(a, "--no-lvc"))
                no_lvc = 1;
            else if (!strcmp(a, "--speed"))
                speed = 1;
            else if (!strcmp(a, "--no-msssim"))
                msssim = 0;
            else if (!strcmp(a, "--quiet"))
                quiet = 1;
            else if (a[0] == '-' && a[1]) {
                fprintf(stderr, "lvc bench: unknown option '%s' (see 'lvc help bench')\n", a);
                return 2;
            } else if (n_in < MAX_CLIPS) {
                inputs[n_in++] = a;
            } else {
                fprintf(stderr, "lvc bench: more than %d inputs\n", MAX_CLIPS);
                return 2;
            }
        }
        if (bad) {
            fprintf(stderr, "lvc bench: %s needs a valid value (got '%s')\n", a, v ? v : "");
            return 2;
        }
        i += takes;
    }
    if (n_in == 0) {
        fprintf(stderr, "lvc bench: no input given (see 'lvc help bench')\n");
        return 2;
    }
    if (speed) {
        if (!qps_given) {
            qps[0] = 32;
            n_qps = 1;
        }
        crfs[0] = 28;
        n_crfs = 1;
    }
#ifdef LVC_HAVE_ANCHORS
    anchor_quiet();
    for (int a = 0; a < n_anchors; a++)
        if (!anchor_available(anchors[a])) {
            fprintf(stderr, "lvc bench: libavcodec has no lib%s encoder\n", anchors[a]);
            return 1;
        }
#else
    if (n_anchors > 0) {
        fprintf(stderr, "lvc bench: this lvc is built without the x264/x265 anchors "
                "(meson -Danchors=enabled needs libavcodec, libavformat, libavutil, "
                "libswscale); running lvc only\n");
        n_anchors = 0;
    }
#endif
    LvcModel *model = NULL;
    if (!no_lvc) {
        int r = lvc_load_model("bench", model_path, &model);
        if (r)
            return r;
    }
    LvcModelInfo mi;
    memset(&mi, 0, sizeof(mi));
    if (model)
        lvc_model_get_info(model, &mi);
    if (model && !mi.has_inter && !intra) {
        fprintf(stderr, "lvc bench: model %s is intra-only: benchmarking with --intra\n",
                mi.name);
        intra = 1;
    }
    ClipResult *res = calloc((size_t)n_in, sizeof(*res));
    if (!res) {
        lvc_model_unref(model);
        return 1;
    }
    const int tty = !quiet && isatty(fileno(stderr));
    int ret = 1, n_done = 0;
    for (int c = 0; c < n_in; c++) {
        ClipResult *cr = &res[c];
        char err[256];
        if (read_clip(inputs[c], frames, &cr->clip, err, sizeof(err)) < 0) {
            fprintf(stderr, "lvc bench: %s: %s\n", inputs[c], err);
            goto done;
        }
        n_done++;
        BenchClip *clip = &cr->clip;
#ifdef LVC_HAVE_ANCHORS
        for (int a = 0; a < n_anchors; a++)
            for (int k = 0; k < n_crfs && cr->n < MAX_POINTS; k++) {
                progress(tty, clip->name, anchors[a], crfs[k]);
                AnchorConfig ac = {anchors[a], crfs[k], preset, intra, threads};
                if (anchor_run(&ac, clip, msssim, &cr->pts[cr->n], err, sizeof(err)) < 0) {
                    fprintf(stderr, "%slvc bench: %s: %s at CRF %d: %s\n", tty ? "\n" : "",
                            clip->name, anchors[a], crfs[k], err);
                    goto done;
                }
                cr->n++;
            }
#else
        (void)preset;
#endif
        if (model) {
            int done_qp[64] = {0};
            int list[MAX_POINTS], n_list = n_qps;
            memcpy(list, qps, sizeof(int) * (size_t)n_qps);
            for (int round = 0; round < 4; round++) {
                for (int k = 0; k < n_list && cr->n < MAX_POINTS; k++) {
                    if (done_qp[list[k]])
                        continue;
                    done_qp[list[k]] = 1;
                    progress(tty, clip->name, "lvc qp", list[k]);
                    if (lvc_point(model, clip, list[k], intra, threads, msssim,
                                  &cr->pts[cr->n]) < 0)
                        goto done;
                    cr->n++;
                }
                /* Extend the qps until lvc's PSNR range overlaps the anchors' by 2 dB. */
                double alo, ahi, llo, lhi;
                int na, nl;
                psnr_range(cr, NULL, &alo, &ahi, &na);
                psnr_range(cr, "lvc", &llo, &lhi, &nl);
                if (speed || na == 0 || fmin(ahi, lhi) - fmax(alo, llo) >= 2.0)
                    break;
                int qmin = 63, qmax = 0;
                for (int q = 0; q < 64; q++)
                    if (done_qp[q]) {
                        qmin = q < qmin ? q : qmin;
                        qmax = q > qmax ? q : qmax;
                    }
                n_list = 0;
                if (lhi < ahi && qmin > 0) { /* lvc does not reach the anchors' best quality */
                    list[n_list++] = qmin >= 4 ? qmin - 4 : 0;
                    if (qmin >= 8)
                        list[n_list++] = qmin - 8;
                }
                if (llo > alo && qmax < 63) { /* nor their lowest */
                    list[n_list++] = qmax + 4 <= 63 ? qmax + 4 : 63;
                    if (qmax + 8 <= 63)
                        list[n_list++] = qmax + 8;
                }
                if (n_list == 0)
                    break;
            }
        }
        if (tty)
            fprintf(stderr, "\r\033[K");
        for (int i = 0; !msssim && i < cr->n; i++)
            cr->pts[i].msssim_y = NAN;
        qsort(cr->pts, (size_t)cr->n, sizeof(RdPoint), cmp_setting);
        /* keep name, size and rate; release the frames */
        for (int i = 0; i < clip->n; i++)
            lvc_picture_unref(clip->frames[i]);
        free(clip->frames);
        clip->frames = NULL;
        print_table(cr, anchors, n_anchors, !no_lvc);
        fflush(stdout);
    }
    if (model && n_in > 1 && !speed && n_anchors > 0)
        printf("\n");
    if (model && n_in > 1 && !speed)
        for (int a = 0; a < n_anchors; a++) {
            double sum = 0;
            int cnt = 0;
            for (int c = 0; c < n_in; c++) {
                double v;
                if (clip_bd(&res[c], anchors[a], &v) == 0) {
                    sum += v;
                    cnt++;
                }
            }
            if (cnt)
                printf("average BD-rate (PSNR-YUV) lvc vs %s over %d of %d clips: %+.2f %%\n",
                       anchors[a], cnt, n_in, sum / cnt);
            else
                printf("average BD-rate (PSNR-YUV) lvc vs %s: n/a (no clip with overlapping "
                       "PSNR ranges)\n", anchors[a]);
        }
    if (model)
        printf("lvc model: %s (%s)%s\n", mi.name, mi.id_hex, intra ? ", all intra" : "");
    ret = 0;
    if (csv) {
        if (write_csv(csv, res, n_in) < 0)
            ret = 1;
        else if (!quiet)
            printf("CSV: %s\n", csv);
    }
    if (plot) {
        if (write_svg(plot, res, n_in, model ? mi.name : NULL) < 0)
            ret = 1;
        else if (!quiet)
            printf("RD plot: %s\n", plot);
    }
done:
    for (int c = 0; c < n_done; c++)
        clip_free(&res[c].clip);
    free(res);
    lvc_model_unref(model);
    return ret;
}

/* ---- compare ------------------------------------------------------------------------------- */

int lvc_cmd_compare(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    int n = 0, frames = -1, msssim = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(lvc_compare_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--frames")) {
            if (parse_int(i + 1 < argc ? argv[i + 1] : NULL, 0, INT_MAX, &frames) < 0) {
                fprintf(stderr, "lvc compare: --frames needs a count\n");
                return 2;
            }
            i++;
        } else if (!strcmp(argv[i], "--no-msssim")) {
            msssim = 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "lvc compare: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (n < 2) {
            paths[n++] = argv[i];
        } else {
            fprintf(stderr, "lvc compare: two files expected\n");
            return 2;
        }
    }
    if (n != 2) {
        fprintf(stderr, "lvc compare: two y4m files expected (see 'lvc help compare')\n");
        return 2;
    }
    BenchClip a, b;
    char err[256];
    memset(&b, 0, sizeof(b));
    if (read_clip(paths[0], frames, &a, err, sizeof(err)) < 0) {
        fprintf(stderr, "lvc compare: %s: %s\n", paths[0], err);
        return 1;
    }
    if (read_clip(paths[1], frames, &b, err, sizeof(err)) < 0) {
        fprintf(stderr, "lvc compare: %s: %s\n", paths[1], err);
        clip_free(&a);
        return 1;
    }
    int ret = 1;
    if (a.width != b.width || a.height != b.height) {
        fprintf(stderr, "lvc compare: sizes differ (%dx%d, %dx%d)\n", a.width, a.height, b.width,
                b.height);
        goto done;
    }
    int nf = a.n < b.n ? a.n : b.n;
    double sum[5] = {0};
    for (int i = 0; i < nf; i++) {
        FrameMetrics m;
        if (metrics_frame(a.frames[i], b.frames[i], msssim, &m) < 0) {
            fprintf(stderr, "lvc compare: out of memory\n");
            goto done;
        }
        sum[0] += m.psnr[0];
        sum[1] += m.psnr[1];
        sum[2] += m.psnr[2];
        sum[3] += m.psnr_yuv;
        sum[4] += m.msssim_y;
    }
    printf("frames %d psnr_y %.6f psnr_u %.6f psnr_v %.6f psnr_yuv %.6f msssim_y %.6f\n", nf,
           sum[0] / nf, sum[1] / nf, sum[2] / nf, sum[3] / nf, sum[4] / nf);
    ret = 0;
done:
    clip_free(&a);
    clip_free(&b);
    return ret;
}
