/*
 * http_parse.c: the HTTP API's parsers, kept apart from the server so
 * they can be tested alone (tests/http_test.c): request targets (path
 * segments and query parameters, percent-decoded, bounded) and --http
 * addresses. Pure functions: no allocation, no state, any thread.
 *
 * Everything that reaches the node from a target goes through here, so
 * this is where bytes are refused: control bytes, bad escapes, escaped
 * NULs and text that is not UTF-8 never get past it.
 */
#include "node/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
http_utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i = 0;

    while (i < n) {
        unsigned c = p[i], need, min, cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1, min = 0x80, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, min = 0x800, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, min = 0x10000, cp = c & 0x07;
        } else
            return false; /* a continuation byte, or 0xc0, 0xc1, 0xf5.. */
        if (n - i <= need)
            return false;
        for (unsigned k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

weft_err
http_pct_decode(
    const char *s, size_t n, bool plus, char *out, size_t *outlen, weft_diag *d)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;

        if (s[i] == '+' && plus) {
            out[o++] = ' ';
            continue;
        }
        if (s[i] == 0)
            return weft_diagf(d, WEFT_EINVAL, "byte %zu: a NUL", i + 1);
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (n - i < 3 || (hi = weft_hexval((unsigned char) s[i + 1])) < 0
            || (lo = weft_hexval((unsigned char) s[i + 2])) < 0)
            return weft_diagf(d, WEFT_EINVAL,
                "byte %zu: '%%' must be followed by two hex digits", i + 1);
        if (hi == 0 && lo == 0)
            return weft_diagf(
                d, WEFT_EINVAL, "byte %zu: an escaped NUL (%%00)", i + 1);
        out[o++] = (char) (hi << 4 | lo);
        i += 2;
    }
    out[o] = 0;
    if (!http_utf8_ok(out, o))
        return weft_diagf(d, WEFT_EINVAL, "not UTF-8 once decoded");
    *outlen = o;
    return WEFT_OK;
}

/* put decodes one piece into t->buf at *at; *res is where it starts. */
static weft_err
put(http_target *t, size_t *at, const char *s, size_t n, bool plus,
    const char **res, weft_diag *d)
{
    size_t len;

    /* Decoding never grows a piece, and the buffer holds the whole
     * target plus a NUL for every piece it may have. */
    if (http_pct_decode(s, n, plus, t->buf + *at, &len, d) != WEFT_OK)
        return WEFT_EINVAL;
    *res = t->buf + *at;
    *at += len + 1;
    return WEFT_OK;
}

static weft_err
parse_path(http_target *t, size_t *at, const char *p, size_t n, weft_diag *d)
{
    size_t i = 0;

    while (i < n) {
        size_t    j = i;
        weft_diag why = { "" };

        while (j < n && p[j] != '/')
            j++;
        if (j > i) {
            if (t->nseg == HTTP_SEGS_MAX)
                return weft_diagf(d, WEFT_ETOOBIG,
                    "the path has more than %d segments", HTTP_SEGS_MAX);
            if (put(t, at, p + i, j - i, false, &t->seg[t->nseg], &why))
                return weft_diagf(d, WEFT_EINVAL, "path segment %d: %s",
                    t->nseg + 1, why.msg);
            t->nseg++;
        }
        i = j + 1;
    }
    return WEFT_OK;
}

static weft_err
parse_query(http_target *t, size_t *at, const char *q, size_t n, weft_diag *d)
{
    size_t i = 0;

    while (i < n) {
        size_t      j = i, eq;
        weft_diag   why = { "" };
        const char *k, *v;

        while (j < n && q[j] != '&')
            j++;
        if (j == i) {
            i++;
            continue;
        }
        if (t->nparam == HTTP_PARAMS_MAX)
            return weft_diagf(d, WEFT_ETOOBIG,
                "the query has more than %d parameters", HTTP_PARAMS_MAX);
        for (eq = i; eq < j && q[eq] != '='; eq++)
            ;
        if (put(t, at, q + i, eq - i, true, &k, &why) != WEFT_OK)
            return weft_diagf(d, WEFT_EINVAL, "query parameter %d's name: %s",
                t->nparam + 1, why.msg);
        if (put(t, at, q + eq + (eq < j), j - eq - (eq < j), true, &v, &why))
            return weft_diagf(
                d, WEFT_EINVAL, "query parameter '%.64s': %s", k, why.msg);
        t->param[t->nparam].key = k;
        t->param[t->nparam].val = v;
        t->nparam++;
        i = j + 1;
    }
    return WEFT_OK;
}

weft_err
http_target_parse(const char *uri, size_t len, http_target *t, weft_diag *d)
{
    const char *path = uri, *q;
    size_t      at = 0, plen, qlen = 0;
    weft_err    err;

    if (len > HTTP_URI_MAX)
        return weft_diagf(d, WEFT_ETOOBIG,
            "the request target is %zu bytes, over the %d-byte limit", len,
            HTTP_URI_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) uri[i] <= 0x20 || uri[i] == 0x7f)
            return weft_diagf(d, WEFT_EINVAL,
                "byte %zu of the request target is a control byte or a "
                "space",
                i + 1);
    /* The absolute form names the host too: only its path matters. */
    if (len >= 7
        && (strncasecmp(uri, "http://", 7) == 0
            || (len >= 8 && strncasecmp(uri, "https://", 8) == 0))) {
        const char *host = uri + (uri[4] == ':' ? 7 : 8);

        path = memchr(host, '/', len - (size_t) (host - uri));
        if (path == NULL)
            path = uri + len; /* "http://host" is "/" */
    } else if (len == 0 || uri[0] != '/')
        return weft_diagf(d, WEFT_EINVAL,
            "the request target must start with '/' (or be an absolute URL)");
    plen = len - (size_t) (path - uri);
    if ((q = memchr(path, '#', plen)) != NULL) /* never sent; tolerated */
        plen = (size_t) (q - path);
    if ((q = memchr(path, '?', plen)) != NULL) {
        qlen = plen - (size_t) (q - path) - 1;
        plen = (size_t) (q - path);
        q++;
    }
    t->nseg = t->nparam = 0;
    if ((err = parse_path(t, &at, path, plen, d)) != WEFT_OK)
        return err;
    if (q != NULL && (err = parse_query(t, &at, q, qlen, d)) != WEFT_OK)
        return err;
    return WEFT_OK;
}

const char *
http_param(const http_target *t, const char *key)
{
    for (int i = 0; i < t->nparam; i++)
        if (strcmp(t->param[i].key, key) == 0)
            return t->param[i].val;
    return NULL;
}

/* host_ok accepts a name or IPv4 address, or an IPv6 one in brackets. */
static bool
host_ok(const char *h, size_t n)
{
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
        return n > 2 && strspn(h + 1, "0123456789abcdefABCDEF:.") == n - 2;
    return n > 0 && n <= 253
        && strspn(h,
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789.-")
        == n;
}

weft_err
http_addr(const char *addr, char *url, size_t sz, weft_diag *d)
{
    const char *colon = strrchr(addr, ':'), *port = colon ? colon + 1 : addr;
    const char *rb = strchr(addr, ']');
    size_t      hlen = colon ? (size_t) (colon - addr) : 0;
    char       *end;
    long        p;

    /* "[::1]" has colons inside the brackets: the port's is after ']'. */
    if (colon != NULL && rb != NULL && rb > colon) {
        port = addr + strlen(addr);
        hlen = 0;
    }
    p = strtol(port, &end, 10);
    if (*port == 0 || *end != 0 || port[0] == '-' || port[0] == '+' || p < 0
        || p > 65535)
        return weft_diagf(d, WEFT_EINVAL,
            "--http '%s': expected PORT, :PORT or HOST:PORT (a port from 0 "
            "to 65535)",
            addr);
    if (hlen > 0 && !host_ok(addr, hlen))
        return weft_diagf(d, WEFT_EINVAL,
            "--http '%s': '%.*s' is not a host name or address (an IPv6 "
            "address goes in brackets: [::1]:8080)",
            addr, (int) hlen, addr);
    /* No host: loopback. Serving everyone takes 0.0.0.0 said out loud. */
    if ((size_t) snprintf(url, sz, "http://%.*s:%ld", hlen ? (int) hlen : 9,
            hlen ? addr : "127.0.0.1", p)
        >= sz)
        return weft_diagf(d, WEFT_ETOOBIG, "--http '%s': too long", addr);
    return WEFT_OK;
}
