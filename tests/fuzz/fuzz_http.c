/*
 * fuzz_http.c: libFuzzer target for the HTTP API's parsers
 * (node/http_parse.c, compiled in below): request targets, which come
 * from anyone who can reach --http, and --http addresses. Checks:
 *   - a target that parses has at most HTTP_SEGS_MAX segments and
 *     HTTP_PARAMS_MAX parameters, each a NUL-terminated string inside the
 *     target's buffer, valid UTF-8, no longer than the input, and no empty
 *     segment; one that is refused says why;
 *   - percent-decoding never grows its input, and what it accepts is
 *     UTF-8 without NUL bytes;
 *   - an address that parses becomes "http://HOST:PORT" with the port
 *     at most 65535.
 */
#include "node/http_parse.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_http: %s\n", what);
    abort();
}

static void
check_str(const http_target *t, const char *s, size_t max)
{
    size_t n;

    if (s < t->buf || s >= t->buf + sizeof(t->buf))
        fail("a piece outside the buffer");
    n = strnlen(s, (size_t) (t->buf + sizeof(t->buf) - s));
    if (s + n >= t->buf + sizeof(t->buf))
        fail("a piece without its NUL");
    if (n > max || !http_utf8_ok(s, n))
        fail("a piece longer than the input, or not UTF-8");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static http_target t;
    weft_diag          d = { "" };
    char              *out = malloc(size + 1), addr[300], url[320];
    size_t             n;
    weft_err           err;

    if (out == NULL)
        return 0;
    err = http_target_parse((const char *) data, size, &t, &d);
    if (err != WEFT_OK && d.msg[0] == 0)
        fail("a refusal without a reason");
    if (err == WEFT_OK) {
        if (t.nseg < 0 || t.nseg > HTTP_SEGS_MAX || t.nparam < 0
            || t.nparam > HTTP_PARAMS_MAX)
            fail("too many pieces");
        for (int i = 0; i < t.nseg; i++) {
            check_str(&t, t.seg[i], size);
            if (t.seg[i][0] == 0)
                fail("an empty segment");
        }
        for (int i = 0; i < t.nparam; i++) {
            check_str(&t, t.param[i].key, size);
            check_str(&t, t.param[i].val, size);
            if (http_param(&t, t.param[i].key) == NULL)
                fail("a parameter http_param cannot find");
        }
    }
    for (int plus = 0; plus < 2; plus++) {
        weft_diag e = { "" };

        if (http_pct_decode((const char *) data, size, plus, out, &n, &e)
            == WEFT_OK) {
            if (n > size || strlen(out) != n || !http_utf8_ok(out, n))
                fail("decoding grew, kept a NUL, or made bad UTF-8");
        } else if (e.msg[0] == 0)
            fail("a decoding refusal without a reason");
    }
    n = size < sizeof(addr) - 1 ? size : sizeof(addr) - 1;
    memcpy(addr, data, n);
    addr[n] = 0;
    if (http_addr(addr, url, sizeof(url), &d) == WEFT_OK) {
        const char *colon = strrchr(url, ':');

        if (strncmp(url, "http://", 7) != 0 || colon == NULL
            || strtol(colon + 1, NULL, 10) > 65535)
            fail("an address that is not http://HOST:PORT");
    }
    free(out);
    return 0;
}
