/* lvc — the command-line tool.  Subcommands live in the table `commands`; each has a run
 * function taking its own argv (argv[0] is the subcommand name) and a help text.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvc/lvc.h"
#include "bench.h"
#include "lvc_codec.h"
#include "lvcfile.h"
#include "model.h"
#include "units.h"

typedef struct Command {
    const char *name;
    const char *summary;
    const char *usage; /* full help text */
    int (*run)(int argc, char **argv);
} Command;

static int cmd_info(int argc, char **argv);

static const Command commands[] = {
    {"info", "show what an .lvc stream or .lvcm model file holds",
     "usage: lvc info [--frames N] FILE...\n"
     "\n"
     "Describe each FILE, told apart by its magic:\n"
     "  .lvc  (\"LVCF\")  the file header, then one line per frame (index, pts, size, type I/P,\n"
     "                  qp when coded, refresh flag, slice sizes) and the sequence header of\n"
     "                  key frames (model id, size, colour, aspect ratio, frame rate); closing\n"
     "                  with frame and key-frame counts, bytes and the average bitrate.\n"
     "  .lvcm (\"LVCM\")  the model: it is loaded and validated completely, then summarised.\n"
     "\n"
     "options:\n"
     "  --frames N   list at most N frames (the summary covers those frames)\n"
     "  -h, --help   show this help\n"
     "\n"
     "Exit status: 0 when every file is valid, 1 when a file is damaged or unreadable,\n"
     "2 for a usage error.\n",
     cmd_info},
    {"encode", "encode a y4m file into an .lvc stream", lvc_encode_usage, lvc_cmd_encode},
    {"decode", "decode an .lvc stream into a y4m file", lvc_decode_usage, lvc_cmd_decode},
    {"bench", "compare lvc with x264 and x265: RD table, BD-rate, CSV, SVG plot",
     lvc_bench_usage, lvc_cmd_bench},
    {"compare", "PSNR and MS-SSIM of one y4m file against another", lvc_compare_usage,
     lvc_cmd_compare},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const Command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: lvc COMMAND [OPTIONS] [ARGS]\n"
                 "       lvc help COMMAND | --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'lvc help COMMAND' for a command's options.\n");
}

/* The message of the last liblvc failure, or the code's description. */
static const char *errmsg(int err)
{
    const char *m = lvc_last_error();
    return m && m[0] ? m : lvc_strerror(err);
}

/* Parse a non-negative integer option value. */
static int parse_count(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* ---- info ---------------------------------------------------------------------------------- */

static const char *chroma_name(int c)
{
    switch (c) {
    case 0: return "4:0:0";
    case 1: return "4:2:0";
    case 2: return "4:2:2";
    case 3: return "4:4:4";
    default: return "?";
    }
}

static const char *range_name(int r)
{
    switch (r) {
    case 0: return "unspecified";
    case 1: return "limited";
    case 2: return "full";
    default: return "?";
    }
}

static void print_sh(const LvcSeqHeader *sh)
{
    char id[2 * LVC_MODEL_ID_SIZE + 1];
    for (int i = 0; i < LVC_MODEL_ID_SIZE; i++)
        snprintf(id + 2 * i, 3, "%02x", sh->model_id[i]);
    printf("         sequence header: model %s, %dx%d, %d-bit %s, profile %d, bitstream v%d, "
           "op-set v%d\n", id, sh->width, sh->height, 8 + 2 * sh->bit_depth_code,
           chroma_name(sh->chroma_format), sh->profile, sh->bitstream_version, sh->opset_version);
    printf("         colour: primaries %d, transfer %d, matrix %d, range %s; PAR ", sh->color.primaries,
           sh->color.transfer, sh->color.matrix, range_name(sh->color.range));
    if (sh->par_num && sh->par_den)
        printf("%d:%d", sh->par_num, sh->par_den);
    else
        printf("unknown");
    printf("; fps ");
    if (sh->fps_num && sh->fps_den)
        printf("%" PRIu32 "/%d (%.3f)", sh->fps_num, sh->fps_den, (double)sh->fps_num / sh->fps_den);
    else
        printf("unknown");
    printf("; extension %zu bytes\n", sh->ext_size);
}

static int info_model(const char *path)
{
    LvcModel *m = NULL;
    int r = lvc_model_load(path, &m);
    if (r < 0) {
        /* The loader's messages may already name the file. */
        const char *msg = errmsg(r);
        size_t n = strlen(path);
        if (strncmp(msg, path, n) == 0 && msg[n] == ':')
            fprintf(stderr, "lvc: %s\n", msg);
        else
            fprintf(stderr, "lvc: %s: %s\n", path, msg);
        return 1;
    }
    char *text = lvc_model_describe(m);
    if (!text) {
        fprintf(stderr, "lvc: %s: out of memory\n", path);
        lvc_model_unref(m);
        return 1;
    }
    printf("%s: lvc model\n%s", path, text);
    if (text[0] && text[strlen(text) - 1] != '\n')
        printf("\n");
    free(text);
    lvc_model_unref(m);
    return 0;
}

static int info_stream(const char *path, FILE *f, long long max_frames)
{
    LvcFileReader *rd;
    int r = lvc_file_reader_open(&rd, f);
    if (r < 0) {
        fprintf(stderr, "lvc: %s: %s\n", path, errmsg(r));
        return 1;
    }
    const LvcFileHeader hdr = *lvc_file_reader_header(rd), *h = &hdr;
    printf("%s: lvc stream, .lvc version %d, header %d bytes\n", path, h->version, h->header_size);
    printf("  size %dx%d, time base %" PRIu32 "/%" PRIu32 " s, ", h->width, h->height, h->tb_num,
           h->tb_den);
    if (h->frame_count)
        printf("%" PRIu32 " frames, ", h->frame_count);
    else
        printf("frame count unknown, ");
    if (h->duration)
        printf("duration %" PRIu64 " ticks (%.3f s)\n", h->duration,
               (double)h->duration * h->tb_num / h->tb_den);
    else
        printf("duration unknown\n");
    printf("  frame          pts       size type  qp refresh  slices\n");

    LvcSeqHeader active;
    int have_active = 0, bad_frames = 0, status = 0;
    uint64_t frames = 0, keys = 0, bytes = 0;
    int64_t pts_min = 0, pts_max = 0, pts_last = 0, pts_prev = 0;
    for (;;) {
        if (max_frames >= 0 && (long long)frames >= max_frames)
            break;
        const uint8_t *data;
        size_t size;
        int64_t pts;
        r = lvc_file_reader_read(rd, &data, &size, &pts);
        if (r == LVC_EOF)
            break;
        if (r < 0) {
            fflush(stdout);
            fprintf(stderr, "lvc: %s: %s\n", path, errmsg(r));
            status = 1;
            break;
        }
        if (frames == 0) {
            pts_min = pts_max = pts;
        } else {
            pts_min = pts < pts_min ? pts : pts_min;
            pts_max = pts > pts_max ? pts : pts_max;
        }
        pts_prev = pts_last;
        pts_last = pts;
        bytes += size;

        int n_slices = 0;
        if (have_active)
            n_slices = lvc_slice_count(active.width, active.height);
        else if (h->width >= 1 && h->width <= 8192 && h->height >= 1 && h->height <= 8192)
            n_slices = lvc_slice_count(h->width, h->height);
        LvcPacketInfo info;
        r = lvc_packet_parse(data, size, n_slices, &info);
        printf("  %5" PRIu64 " %12" PRId64 " %10zu ", frames, pts, size);
        frames++;
        if (r < 0) {
            printf("error: %s\n", errmsg(r));
            bad_frames++;
            continue;
        }
        if (info.has_sh) {
            keys++;
            active = info.sh;
            have_active = 1;
        }
        printf("%-4s ", info.fh.type == LVC_FRAME_I ? "I" : "P");
        if (info.fh.qp_present)
            printf("%3d ", info.fh.qp);
        else
            printf("%3s ", "-");
        printf("%-8s %2d:", info.fh.refresh ? "refresh" : "-", info.n_slices);
        for (int i = 0; i < info.n_slices; i++)
            printf(" %zu", info.slice_size[i]);
        printf("\n");
        if (info.has_sh)
            print_sh(&info.sh);
    }
    uint64_t offset = lvc_file_reader_offset(rd);
    lvc_file_reader_close(rd);

    printf("summary: %" PRIu64 " frames (%" PRIu64 " key frames", frames, keys);
    if (bad_frames)
        printf(", %d damaged", bad_frames);
    printf("), %" PRIu64 " bytes of packets, %" PRIu64 " bytes read", bytes, offset);
    /* Duration: the header's when the whole file was listed, else from the pts. */
    uint64_t dur = 0;
    int whole = status == 0 && (max_frames < 0 || frames < (uint64_t)max_frames);
    if (whole && h->duration)
        dur = h->duration;
    else if (frames >= 2) {
        dur = (uint64_t)pts_max - (uint64_t)pts_min;
        if (pts_last > pts_prev)
            dur += (uint64_t)pts_last - (uint64_t)pts_prev;
    }
    double seconds = (double)dur * h->tb_num / h->tb_den;
    if (seconds > 0)
        printf(", %.3f s, average %.2f kbit/s", seconds, (double)bytes * 8 / seconds / 1000);
    printf("\n");
    if (whole && h->frame_count && h->frame_count != frames)
        printf("note: the header says %" PRIu32 " frames, the file has %" PRIu64 "\n",
               h->frame_count, frames);
    if (bad_frames) {
        fprintf(stderr, "lvc: %s: %d damaged frame%s\n", path, bad_frames, bad_frames > 1 ? "s" : "");
        status = 1;
    }
    return status;
}

static int info_file(const char *path, long long max_frames)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lvc: %s: %s\n", path, strerror(errno));
        return 1;
    }
    uint8_t magic[4];
    errno = 0;
    size_t n = fread(magic, 1, sizeof(magic), f);
    int read_errno = errno;
    int status;
    if (n == 4 && memcmp(magic, "LVCM", 4) == 0) {
        fclose(f);
        return info_model(path);
    }
    if (n == 4 && memcmp(magic, LVC_FILE_MAGIC, 4) == 0) {
        if (fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "lvc: %s: cannot seek: %s\n", path, strerror(errno));
            fclose(f);
            return 1;
        }
        status = info_stream(path, f, max_frames);
    } else if (ferror(f)) {
        fprintf(stderr, "lvc: %s: %s\n", path, read_errno ? strerror(read_errno) : "read error");
        status = 1;
    } else if (n < 4) {
        fprintf(stderr, "lvc: %s: not an lvc file (only %zu bytes)\n", path, n);
        status = 1;
    } else {
        fprintf(stderr, "lvc: %s: not an lvc file (magic %02x %02x %02x %02x; expected \"LVCF\" "
                "or \"LVCM\")\n", path, magic[0], magic[1], magic[2], magic[3]);
        status = 1;
    }
    fclose(f);
    return status;
}

static int cmd_info(int argc, char **argv)
{
    long long max_frames = -1;
    int n_files = 0, status = 0;
    char **files = calloc((size_t)argc, sizeof(*files));
    if (!files) {
        fprintf(stderr, "lvc: out of memory\n");
        return 1;
    }
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
            files[n_files++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(find_command("info")->usage, stdout);
            free(files);
            return 0;
        } else if (strcmp(a, "--frames") == 0 || strncmp(a, "--frames=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || parse_count(v, &max_frames) < 0) {
                fprintf(stderr, "lvc info: --frames needs a count >= 0\n");
                free(files);
                return 2;
            }
        } else {
            fprintf(stderr, "lvc info: unknown option '%s' (see 'lvc help info')\n", a);
            free(files);
            return 2;
        }
    }
    if (n_files == 0) {
        fprintf(stderr, "lvc info: no file given (see 'lvc help info')\n");
        free(files);
        return 2;
    }
    for (int i = 0; i < n_files; i++) {
        if (i)
            printf("\n");
        if (info_file(files[i], max_frames))
            status = 1;
        fflush(stdout);
    }
    free(files);
    return status;
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *a = argv[1];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
        printf("lvc %s (bitstream version %d, op-set version %d, model format version %d, "
               ".lvc file version %d)\n", lvc_version(), LVC_BITSTREAM_VERSION,
               LVC_OPSET_VERSION, LVC_MODEL_FORMAT_VERSION, LVC_FILE_VERSION);
        return 0;
    }
    if (strcmp(a, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        const Command *c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "lvc: unknown command '%s'\n", argv[2]);
            return 2;
        }
        fputs(c->usage, stdout);
        return 0;
    }
    lvc_set_log_callback(lvc_tool_log, NULL);
    const Command *c = find_command(a);
    if (!c) {
        fprintf(stderr, "lvc: unknown command '%s' (see 'lvc --help')\n", a);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}
