/* SHA-256 against the FIPS 180-2 example vectors, one-shot and incremental. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sha256.h"

static void hex(const uint8_t d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int digest_is(const void *data, size_t size, const char *want)
{
    uint8_t d[32];
    char h[65];
    lvc_sha256(data, size, d);
    hex(d, h);
    if (strcmp(h, want) != 0) {
        fprintf(stderr, "got %s want %s\n", h, want);
        return 0;
    }
    return 1;
}

static void test_abc(void)
{
    CHECK(digest_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
          "abc");
}

static void test_empty(void)
{
    CHECK(digest_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
          "empty");
}

static void test_448(void)
{
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(strlen(m) == 56, "length");
    CHECK(digest_is(m, strlen(m),
                    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
          "448-bit message");
}

static void test_million_a(void)
{
    size_t n = 1000000;
    char *a = malloc(n);
    CHECK(a != NULL, "alloc");
    if (!a)
        return;
    memset(a, 'a', n);
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    CHECK(digest_is(a, n, want), "one million a, one shot");
    /* Incremental with awkward chunk sizes crossing block boundaries. */
    static const size_t chunks[] = {1, 63, 64, 65, 3, 127, 1000, 55, 56, 57};
    LvcSha256 s;
    lvc_sha256_init(&s);
    size_t done = 0;
    for (int i = 0; done < n; i++) {
        size_t c = chunks[i % 10];
        if (c > n - done)
            c = n - done;
        lvc_sha256_update(&s, a + done, c);
        done += c;
    }
    uint8_t d[32];
    char h[65];
    lvc_sha256_final(&s, d);
    hex(d, h);
    CHECK(strcmp(h, want) == 0, "incremental: %s", h);
    free(a);
}

static void test_split_every_point(void)
{
    /* Every split of a 200-byte message gives the one-shot digest. */
    uint8_t m[200], ref[32], d[32];
    for (int i = 0; i < 200; i++)
        m[i] = (uint8_t)(i * 37 + 11);
    lvc_sha256(m, sizeof(m), ref);
    int bad = 0;
    for (size_t k = 0; k <= sizeof(m); k++) {
        LvcSha256 s;
        lvc_sha256_init(&s);
        lvc_sha256_update(&s, m, k);
        lvc_sha256_update(&s, m + k, sizeof(m) - k);
        lvc_sha256_final(&s, d);
        bad += memcmp(d, ref, 32) != 0;
    }
    CHECK(bad == 0, "%d splits differ", bad);
}

int main(void)
{
    RUN(test_abc);
    RUN(test_empty);
    RUN(test_448);
    RUN(test_million_a);
    RUN(test_split_every_point);
    return check_finish();
}
