/*
 * http_test.c: the HTTP API's parsers (node/http_parse.c). Request
 * targets: segments and parameters decoded ('+' a space in the query
 * only), empty segments skipped, the absolute form; and refused with a
 * reason: bad and truncated escapes, escaped NULs, raw control bytes and
 * spaces, text that is not UTF-8 (overlong forms, surrogates, past
 * U+10FFFF), targets at the size bound and one past it, too many
 * segments or parameters. --http addresses: loopback by default, hosts,
 * IPv6 in brackets, bad ports.
 */
#include "node/http.h"
#include "test.h"

static http_target T;

static weft_err
parse(const char *s)
{
    weft_diag d = { "" };

    return http_target_parse(s, strlen(s), &T, &d);
}

static void
test_targets(void)
{
    CHECK_EQ_INT(parse("/"), WEFT_OK);
    CHECK_EQ_INT(T.nseg, 0);
    CHECK_EQ_INT(T.nparam, 0);

    CHECK_EQ_INT(parse("/api//search/?q=a+b%20c&limit=5&&facets"), WEFT_OK);
    CHECK_EQ_INT(T.nseg, 2);
    CHECK(strcmp(T.seg[0], "api") == 0 && strcmp(T.seg[1], "search") == 0);
    CHECK_EQ_INT(T.nparam, 3);
    CHECK(strcmp(http_param(&T, "q"), "a b c") == 0);
    CHECK(strcmp(http_param(&T, "limit"), "5") == 0);
    CHECK(strcmp(http_param(&T, "facets"), "") == 0);
    CHECK(http_param(&T, "all") == NULL);

    /* '+' is a plus in the path; an escaped slash stays in its segment. */
    CHECK_EQ_INT(parse("/api/products/a+b%2Fc/why"), WEFT_OK);
    CHECK_EQ_INT(T.nseg, 4);
    CHECK(strcmp(T.seg[2], "a+b/c") == 0);

    /* A query's '=' after the first is part of the value; the first of
     * a repeated parameter counts. */
    CHECK_EQ_INT(parse("/x?q=a=b&q=second&%71=third"), WEFT_OK);
    CHECK(strcmp(http_param(&T, "q"), "a=b") == 0);
    CHECK_EQ_INT(T.nparam, 3);

    /* UTF-8 escaped and raw (as a browser sends it, escaped). */
    CHECK_EQ_INT(
        parse("/api/search?q=caf%C3%A9%20%E2%82%AC%F0%9F%98%80"), WEFT_OK);
    CHECK(
        strcmp(http_param(&T, "q"), "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80")
        == 0);

    /* The absolute form and the fragment. */
    CHECK_EQ_INT(parse("http://127.0.0.1:8080/api/peers?x=1#frag"), WEFT_OK);
    CHECK_EQ_INT(T.nseg, 2);
    CHECK(strcmp(T.seg[1], "peers") == 0);
    CHECK(strcmp(http_param(&T, "x"), "1") == 0);
    CHECK_EQ_INT(parse("HTTPS://host"), WEFT_OK);
    CHECK_EQ_INT(T.nseg, 0);
}

static void
test_refusals(void)
{
    static const char *const bad[] = {
        "",           /* empty */
        "api/search", /* no leading slash */
        "*",          /* OPTIONS' asterisk */
        "/a%",        /* truncated escapes */
        "/a%4",
        "/a%zz",
        "/a?q=%g0",
        "/a?q=50%",
        "/a%00b", /* an escaped NUL, in the path and the query */
        "/a?q=%00",
        "/a?%00=1",
        "/a?q=%ff",          /* not UTF-8 */
        "/a?q=%c0%af",       /* overlong '/' */
        "/a?q=%ed%a0%80",    /* a surrogate */
        "/a?q=%f4%90%80%80", /* past U+10FFFF */
        "/a?q=%e2%82",       /* cut short */
        "/a?q=%80",          /* a lone continuation byte */
        "/a b",              /* raw space and control bytes */
        "/a\tb",
        "/a\x7f",
        "/a?q=\x01",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        weft_diag d = { "" };
        weft_err  err = http_target_parse(bad[i], strlen(bad[i]), &T, &d);

        CHECK_EQ_INT(err, WEFT_EINVAL);
        CHECK(d.msg[0] != 0);
        if (err != WEFT_EINVAL)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
    }
    {
        /* A raw NUL inside the given length is a control byte. */
        weft_diag d = { "" };

        CHECK_EQ_INT(http_target_parse("/a\0b", 4, &T, &d), WEFT_EINVAL);
    }
    {
        weft_diag d = { "" };

        CHECK_EQ_INT(parse("/a?q=%zz"), WEFT_EINVAL);
        http_target_parse("/a?q=%zz", 8, &T, &d);
        CHECK(strstr(d.msg, "'q'") != NULL);
        CHECK(strstr(d.msg, "hex") != NULL);
    }
}

static void
test_bounds(void)
{
    char     *s = malloc(HTTP_URI_MAX + 2);
    weft_diag d = { "" };
    char      many[512];
    size_t    k = 0;

    /* A target of exactly the bound is taken, one byte more is not. */
    memset(s, 'a', HTTP_URI_MAX + 1);
    s[0] = '/';
    s[HTTP_URI_MAX + 1] = 0;
    CHECK_EQ_INT(http_target_parse(s, HTTP_URI_MAX, &T, &d), WEFT_OK);
    CHECK_EQ_INT(T.nseg, 1);
    CHECK_EQ_INT(strlen(T.seg[0]), HTTP_URI_MAX - 1);
    CHECK_EQ_INT(http_target_parse(s, HTTP_URI_MAX + 1, &T, &d), WEFT_ETOOBIG);
    /* The largest number of pieces fits the buffer: every byte its own
     * parameter ("a&a&..."). */
    s[1] = '?';
    for (size_t i = 2; i < HTTP_URI_MAX; i += 2)
        s[i] = '&';
    CHECK_EQ_INT(http_target_parse(s, HTTP_URI_MAX, &T, &d), WEFT_ETOOBIG);
    free(s);

    for (int i = 0; i < HTTP_SEGS_MAX; i++)
        k += (size_t) snprintf(many + k, sizeof(many) - k, "/s%d", i);
    CHECK_EQ_INT(parse(many), WEFT_OK);
    CHECK_EQ_INT(T.nseg, HTTP_SEGS_MAX);
    snprintf(many + k, sizeof(many) - k, "/one-more");
    CHECK_EQ_INT(parse(many), WEFT_ETOOBIG);

    k = (size_t) snprintf(many, sizeof(many), "/x?");
    for (int i = 0; i < HTTP_PARAMS_MAX; i++)
        k += (size_t) snprintf(many + k, sizeof(many) - k, "p%d=%d&", i, i);
    CHECK_EQ_INT(parse(many), WEFT_OK);
    CHECK_EQ_INT(T.nparam, HTTP_PARAMS_MAX);
    CHECK(strcmp(http_param(&T, "p31"), "31") == 0);
    snprintf(many + k, sizeof(many) - k, "extra=1");
    CHECK_EQ_INT(parse(many), WEFT_ETOOBIG);
}

static void
test_utf8(void)
{
    CHECK(http_utf8_ok("", 0));
    CHECK(http_utf8_ok("plain", 5));
    CHECK(http_utf8_ok("\xc2\x80", 2));
    CHECK(http_utf8_ok("\xef\xbf\xbf", 3));
    CHECK(http_utf8_ok("\xf4\x8f\xbf\xbf", 4));
    CHECK(!http_utf8_ok("\xc1\xbf", 2));
    CHECK(!http_utf8_ok("\xe0\x80\x80", 3));
    CHECK(!http_utf8_ok("\xf0\x80\x80\x80", 4));
    CHECK(!http_utf8_ok("\xf5\x80\x80\x80", 4));
    CHECK(!http_utf8_ok("\xc2", 1));
    CHECK(!http_utf8_ok("\xc2\x41", 2));
}

static void
test_addr(void)
{
    static const struct {
        const char *in, *want;
    } good[] = {
        { "8080", "http://127.0.0.1:8080" },
        { ":8080", "http://127.0.0.1:8080" },
        { "0", "http://127.0.0.1:0" },
        { "0.0.0.0:80", "http://0.0.0.0:80" },
        { "localhost:65535", "http://localhost:65535" },
        { "[::1]:8080", "http://[::1]:8080" },
        { "[::]:9", "http://[::]:9" },
    };
    static const char *const bad[]
        = { "", ":", "http", "65536", "-1", "+80", "80x", "host:", "::1:8080",
              "[::1]", "a b:80", "h/st:80", "[]:80", "[zz]:80" };
    char url[64];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        weft_diag d = { "" };

        CHECK_EQ_INT(http_addr(good[i].in, url, sizeof(url), &d), WEFT_OK);
        CHECK(strcmp(url, good[i].want) == 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        weft_diag d = { "" };

        CHECK_EQ_INT(http_addr(bad[i], url, sizeof(url), &d), WEFT_EINVAL);
        CHECK(strstr(d.msg, "--http") != NULL);
    }
}

int
main(void)
{
    test_targets();
    test_refusals();
    test_bounds();
    test_utf8();
    test_addr();
    return test_done("http_test");
}
