/*
 * http.h: what the files of the HTTP API share, and nothing else does:
 * http.c serves (nng's HTTP server, answered on the loop thread),
 * http_parse.c reads request targets and --http addresses, metrics.c
 * writes /metrics, and the page's files (node/web/) are compiled in as
 * http_assets. tests/http_test.c checks the parsers. The public entry
 * points (http_start, http_stop, http_addr) are in node.h.
 *
 * Thread use: the parsers are pure and reentrant (nng threads may call
 * them); metrics_write runs on the loop thread.
 */
#ifndef WEFT_HTTP_H
#define WEFT_HTTP_H

#include "node/node.h"

#include <stdbool.h>
#include <stddef.h>

#define HTTP_URI_MAX    8192 /* bytes in a request target (414 past it) */
#define HTTP_SEGS_MAX   8    /* path segments */
#define HTTP_PARAMS_MAX 32   /* query parameters */

/*
 * http_target is a request target taken apart: the path's segments (empty
 * ones skipped: "/api//search/" is api, search) and the query's
 * parameters, each percent-decoded ('+' is a space in the query only),
 * NUL-terminated, valid UTF-8 without NUL bytes. The strings live in buf.
 */
typedef struct http_target {
    const char *seg[HTTP_SEGS_MAX];
    int         nseg;
    struct {
        const char *key, *val;
    } param[HTTP_PARAMS_MAX];
    int  nparam;
    char buf[HTTP_URI_MAX + 1 + HTTP_SEGS_MAX + 2 * HTTP_PARAMS_MAX];
} http_target;

/*
 * http_target_parse takes apart the len bytes of a request target (origin
 * form "/path?query", or absolute form "http://host/path?query"). It
 * refuses, with d saying what and where: more than HTTP_URI_MAX bytes,
 * HTTP_SEGS_MAX segments or HTTP_PARAMS_MAX parameters (WEFT_ETOOBIG);
 * control bytes or spaces, a target that does not start with '/', a '%'
 * not followed by two hex digits, an escaped NUL, bytes that are not
 * UTF-8 (WEFT_EINVAL). t is written in full only on success.
 */
weft_err http_target_parse(
    const char *uri, size_t len, http_target *t, weft_diag *d);

/* http_param is the value of the first parameter named key, or NULL. */
const char *http_param(const http_target *t, const char *key);

/* http_pct_decode decodes n bytes of s into out (at least n + 1 bytes):
 * %XX escapes, and with plus '+' as a space; *outlen excludes the NUL
 * written after. WEFT_EINVAL (d: the byte offset) on a bad escape, a NUL
 * (escaped or not), or bytes that are not UTF-8. */
weft_err http_pct_decode(const char *s, size_t n, bool plus, char *out,
    size_t *outlen, weft_diag *d);

/* http_utf8_ok reports whether n bytes of s are UTF-8 (no overlong forms,
 * surrogates or code points past U+10FFFF). */
bool http_utf8_ok(const char *s, size_t n);

/* ---- the page's files (generated from node/web/ at build time) ------ */

typedef struct http_asset {
    const char          *name; /* "index.html"; NULL ends the table */
    const unsigned char *data;
    size_t               len;
} http_asset;

extern const http_asset http_assets[];

/* ---- /metrics (metrics.c) -------------------------------------------- */

#define HTTP_CODES_MAX 600 /* responses are counted by status, 100-599 */

/*
 * metrics_write appends the Prometheus text exposition (format 0.0.4) of
 * the node to out, from the replies of the status, domains, peers and
 * governance_show ops (as decoded maps; any may be NULL), the node's
 * counters (n->stats) and codes, the HTTP responses sent by status.
 */
weft_err metrics_write(node *n, const pv *status, const pv *domains,
    const pv *peers, const pv *gv, const uint64_t *codes, weft_buf *out);

#endif
