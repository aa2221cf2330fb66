/* YUV4MPEG2 reading and writing, and MD5.  See y4m.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "y4m.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define Y4M_MAX_LINE 1024

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Read one '\n'-terminated line (without the '\n').  Returns its length, -2 at EOF before any
 * byte, -1 when too long or cut by the end of the file. */
static int read_line(FILE *f, char *line, int cap)
{
    int n = 0;
    for (;;) {
        int ch = getc(f);
        if (ch == EOF)
            return n == 0 ? -2 : -1;
        if (ch == '\n')
            break;
        if (n >= cap - 1)
            return -1;
        line[n++] = (char)ch;
    }
    line[n] = 0;
    return n;
}

/* A decimal integer in 0..max filling all of s. */
static int parse_int(const char *s, long max, int *out)
{
    if (!*s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_ratio(const char *s, int *num, int *den)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon - s > 15)
        return -1;
    char a[16];
    memcpy(a, s, (size_t)(colon - s));
    a[colon - s] = 0;
    return parse_int(a, INT_MAX, num) < 0 || parse_int(colon + 1, INT_MAX, den) < 0 ? -1 : 0;
}

int y4m_read_header(FILE *f, Y4mInfo *info, char *err, size_t en)
{
    char line[Y4M_MAX_LINE];
    memset(info, 0, sizeof(*info));
    int n = read_line(f, line, sizeof(line));
    if (n < 0)
        return fail(err, en, n == -2 ? "empty input" : "y4m header line too long or truncated");
    if (strncmp(line, "YUV4MPEG2", 9) != 0 || (line[9] != ' ' && line[9] != 0))
        return fail(err, en, "not a y4m stream (no YUV4MPEG2 signature)");
    int have_w = 0, have_h = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line + 9, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        const char *v = tok + 1;
        switch (tok[0]) {
        case 'W':
            if (parse_int(v, 8192, &info->width) < 0 || info->width < 1)
                return fail(err, en, "y4m width '%s' outside 1..8192", v);
            have_w = 1;
            break;
        case 'H':
            if (parse_int(v, 8192, &info->height) < 0 || info->height < 1)
                return fail(err, en, "y4m height '%s' outside 1..8192", v);
            have_h = 1;
            break;
        case 'F':
            if (parse_ratio(v, &info->fps_num, &info->fps_den) < 0 || info->fps_num < 1 ||
                info->fps_den < 1 || info->fps_den > 65535)
                return fail(err, en, "invalid y4m frame rate '%s'", v);
            break;
        case 'A':
            if (parse_ratio(v, &info->par_num, &info->par_den) < 0 || info->par_num > 65535 ||
                info->par_den > 65535 || (!info->par_num != !info->par_den))
                return fail(err, en, "invalid y4m pixel aspect ratio '%s'", v);
            break;
        case 'I':
            if (strcmp(v, "p") != 0)
                return fail(err, en, "y4m interlacing '%s' is not supported (only progressive)",
                            v);
            break;
        case 'C':
            if (strcmp(v, "420") && strcmp(v, "420jpeg") && strcmp(v, "420mpeg2") &&
                strcmp(v, "420paldv"))
                return fail(err, en, "y4m colour space C%s is not supported (8-bit 4:2:0 only)",
                            v);
            snprintf(info->chroma, sizeof(info->chroma), "%s", v);
            break;
        case 'X':
            if (strcmp(v, "COLORRANGE=FULL") == 0)
                info->range = 2;
            else if (strcmp(v, "COLORRANGE=LIMITED") == 0)
                info->range = 1;
            break;
        default:
            return fail(err, en, "unknown y4m header tag '%s'", tok);
        }
    }
    if (!have_w || !have_h)
        return fail(err, en, "y4m header without W and H");
    return 0;
}

int y4m_read_frame(FILE *f, const Y4mInfo *info, LvcPicture *pic, char *err, size_t en)
{
    char line[Y4M_MAX_LINE];
    int n = read_line(f, line, sizeof(line));
    if (n == -2)
        return 0;
    if (n < 0)
        return fail(err, en, "y4m frame header too long or truncated");
    if (strncmp(line, "FRAME", 5) != 0 || (line[5] != ' ' && line[5] != 0))
        return fail(err, en, "y4m frame does not start with FRAME");
    for (const char *p = line + 5; *p; p++)
        if (*p == ' ' && p[1] && p[1] != 'X' && p[1] != ' ')
            return fail(err, en, "unknown y4m frame parameter '%s'", p + 1);
    const int w = info->width, h = info->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    static uint8_t skip[8192];
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? cw : w, ph = pl ? ch : h;
        for (int y = 0; y < ph; y++) {
            uint8_t *dst = pic ? pic->data[pl] + y * pic->stride[pl] : skip;
            if (fread(dst, 1, (size_t)pw, f) != (size_t)pw)
                return fail(err, en, "y4m frame truncated");
        }
    }
    return 1;
}

int y4m_write_header(FILE *f, const Y4mInfo *info)
{
    const char *c = info->chroma[0] && strcmp(info->chroma, "420") ? info->chroma : "420jpeg";
    if (fprintf(f, "YUV4MPEG2 W%d H%d", info->width, info->height) < 0)
        return -1;
    if (info->fps_num > 0 && info->fps_den > 0)
        fprintf(f, " F%d:%d", info->fps_num, info->fps_den);
    fprintf(f, " Ip");
    if (info->par_num > 0 && info->par_den > 0)
        fprintf(f, " A%d:%d", info->par_num, info->par_den);
    fprintf(f, " C%s", c);
    if (info->range == 1 || info->range == 2)
        fprintf(f, " XCOLORRANGE=%s", info->range == 2 ? "FULL" : "LIMITED");
    return fputc('\n', f) == EOF ? -1 : 0;
}

int y4m_write_frame(FILE *f, const LvcPicture *pic)
{
    if (fputs("FRAME\n", f) == EOF)
        return -1;
    const int w = pic->width, h = pic->height;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            if (fwrite(pic->data[pl] + y * pic->stride[pl], 1, (size_t)pw, f) != (size_t)pw)
                return -1;
    }
    return 0;
}

/* ---- MD5 ----------------------------------------------------------------------------------- */

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
    0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
    0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
    0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
    0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391};
static const uint8_t md5_s[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};

static void md5_block(uint32_t h[4], const uint8_t *p)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) |
               ((uint32_t)p[4 * i + 2] << 16) | ((uint32_t)p[4 * i + 3] << 24);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t fv;
        int g;
        switch (i / 16) {
        case 0: fv = (b & c) | (~b & d); g = i; break;
        case 1: fv = (d & b) | (~d & c); g = (5 * i + 1) % 16; break;
        case 2: fv = b ^ c ^ d; g = (3 * i + 5) % 16; break;
        default: fv = c ^ (b | ~d); g = (7 * i) % 16; break;
        }
        fv += a + md5_k[i] + w[g];
        int s = md5_s[(i / 16) * 4 + i % 4];
        a = d;
        d = c;
        c = b;
        b += (fv << s) | (fv >> (32 - s));
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

void y4m_md5_init(Y4mMd5 *m)
{
    m->h[0] = 0x67452301;
    m->h[1] = 0xefcdab89;
    m->h[2] = 0x98badcfe;
    m->h[3] = 0x10325476;
    m->len = 0;
}

void y4m_md5_update(Y4mMd5 *m, const uint8_t *data, size_t n)
{
    size_t have = (size_t)(m->len % 64);
    m->len += n;
    if (have) {
        size_t take = 64 - have < n ? 64 - have : n;
        memcpy(m->buf + have, data, take);
        data += take;
        n -= take;
        if (have + take < 64)
            return;
        md5_block(m->h, m->buf);
    }
    for (; n >= 64; n -= 64, data += 64)
        md5_block(m->h, data);
    memcpy(m->buf, data, n);
}

void y4m_md5_final(Y4mMd5 *m, uint8_t out[16])
{
    uint64_t bits = m->len * 8;
    uint8_t pad[72] = {0x80};
    size_t have = (size_t)(m->len % 64);
    size_t padn = (have < 56 ? 56 - have : 120 - have);
    y4m_md5_update(m, pad, padn);
    uint8_t lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (uint8_t)(bits >> (8 * i));
    y4m_md5_update(m, lenb, 8);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(m->h[i] >> (8 * j));
}

void y4m_md5_picture(Y4mMd5 *m, const LvcPicture *pic)
{
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (pic->width + 1) / 2 : pic->width;
        int ph = pl ? (pic->height + 1) / 2 : pic->height;
        for (int y = 0; y < ph; y++)
            y4m_md5_update(m, pic->data[pl] + y * pic->stride[pl], (size_t)pw);
    }
}
